/**
 * Real MCP clients for tests: in-process (linked in-memory transports) and as a
 * subprocess launched exactly as `deno task start` launches the server.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { createServer, type CreateServerOptions } from "../src/server.ts";
import type { ToolDeps } from "../src/tools/_spec.ts";

/** A connected client and a way to close both ends. */
export interface Connected {
  client: Client;
  close(): Promise<void>;
}

/** Connects a real MCP client to an in-process server over `deps`. */
export async function connectInProcess(
  deps: ToolDeps,
  opts: CreateServerOptions = {},
): Promise<Connected> {
  const server = createServer(deps, opts);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "linkerd-mcp-tests", version: "0.0.0" });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return {
    client,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

/** The permission flags of `deno task start`, read from deno.json (the product's truth). */
export function startFlags(): string[] {
  const cfg = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  const task: string = cfg.tasks.start;
  const words = task.split(/\s+/);
  assertWord(words[0] === "deno" && words[1] === "run", `unexpected start task: ${task}`);
  return words.slice(2).filter((w) => w.startsWith("--"));
}

function assertWord(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Launches `main.ts` as `deno task start` does, with extra arguments and environment. */
export async function connectSubprocess(
  args: string[],
  env: Record<string, string> = {},
  opts: { entry?: string; flags?: string[] } = {},
): Promise<Connected & { stderr: () => string }> {
  const entry = opts.entry ?? new URL("../main.ts", import.meta.url).pathname;
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", ...(opts.flags ?? startFlags()), entry, ...args],
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      DENO_DIR: denoDir(),
      HOME: Deno.env.get("HOME") ?? "/tmp",
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      ...env,
    },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => {
    stderr += new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: "linkerd-mcp-tests", version: "0.0.0" });
  await client.connect(transport);
  return {
    client,
    stderr: () => stderr,
    close: async () => {
      await client.close();
    },
  };
}

/** This Deno's module cache, so a child with another HOME still finds its npm packages. */
export function denoDir(): string {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${cache}/deno`;
}
