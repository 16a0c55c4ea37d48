/**
 * A child process for the SIGTERM test: serves one slow tool over HTTP, prints its
 * port on stdout, and exits 0 after a graceful shutdown.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { serveHttp, shutdownOnSignals } from "../../src/http/serve.ts";
import { SILENT } from "../../src/log.ts";

const server = serveHttp({
  createMcpServer: () => {
    const s = new McpServer({ name: "sigterm-test", version: "0.0.0" });
    s.registerTool("slow", { description: "Takes 800 ms" }, async () => {
      await new Promise((r) => setTimeout(r, 800));
      return { content: [{ type: "text" as const, text: "slow done" }] };
    });
    return s;
  },
  hostname: "127.0.0.1",
  port: 0,
  log: SILENT,
  onListen: ({ port }) => Deno.stdout.writeSync(new TextEncoder().encode(`${port}\n`)),
});
const remove = shutdownOnSignals(server, SILENT);
await server.finished;
remove();
Deno.exit(0);
