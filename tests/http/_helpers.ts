/**
 * Helpers for the HTTP transport tests: a small MCP server with controllable tools,
 * a connected SDK client, and raw HTTP requests (Deno's fetch always sets `Host`).
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { z } from "zod";

/** A gate a tool waits on, so tests can hold a request in flight. */
export class Gate {
  #open!: () => void;
  readonly opened: Promise<void> = new Promise((resolve) => (this.#open = resolve));
  entered = 0;
  #entered: (() => void)[] = [];
  open(): void {
    this.#open();
  }
  /** Resolves once `n` calls are waiting on the gate. */
  waitForEntered(n = 1): Promise<void> {
    if (this.entered >= n) return Promise.resolve();
    return new Promise((resolve) => this.#entered.push(() => this.entered >= n && resolve()));
  }
  enter(): void {
    this.entered++;
    for (const f of this.#entered) f();
  }
}

/** What the test tools saw of the HTTP request. */
export interface Seen {
  headers: Record<string, string>[];
}

/** An MCP server factory with `echo`, `wait` (blocks on the gate) and `headers` tools. */
export function testServerFactory(gate = new Gate(), seen: Seen = { headers: [] }) {
  return () => {
    const server = new McpServer({ name: "http-test", version: "0.0.0" });
    server.registerTool(
      "echo",
      { description: "Echo", inputSchema: { text: z.string() } },
      ({ text }) => ({ content: [{ type: "text" as const, text }] }),
    );
    server.registerTool("wait", { description: "Waits on the gate" }, async () => {
      gate.enter();
      await gate.opened;
      return { content: [{ type: "text" as const, text: "done" }] };
    });
    server.registerTool("headers", { description: "Records request headers" }, (extra) => {
      const h = extra.requestInfo?.headers ?? {};
      seen.headers.push(
        Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)])),
      );
      return { content: [{ type: "text" as const, text: "ok" }] };
    });
    return server;
  };
}

/** Connects an SDK client to `url`, optionally with a bearer token and extra headers. */
export async function connect(
  url: string,
  opts: { token?: string; headers?: Record<string, string> } = {},
): Promise<Client> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers["Authorization"] = `Bearer ${opts.token}`;
  const client = new Client({ name: "http-test-client", version: "0.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }),
  );
  return client;
}

/** An `initialize` request body. */
export const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "raw", version: "0" },
  },
});

/** Headers a Streamable HTTP POST needs. */
export const POST_HEADERS = {
  "Content-Type": "application/json",
  "Accept": "application/json, text/event-stream",
};

/** Sends one raw HTTP/1.1 request (so `Host` can be set) and returns the status code. */
export async function rawStatus(
  port: number,
  opts: { method?: string; path?: string; headers: Record<string, string>; body?: string },
): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const body = opts.body ?? "";
    const lines = [
      `${opts.method ?? "POST"} ${opts.path ?? "/mcp"} HTTP/1.1`,
      ...Object.entries({
        ...opts.headers,
        "Content-Length": String(new TextEncoder().encode(body).length),
        "Connection": "close",
      }).map(([k, v]) => `${k}: ${v}`),
      "",
      body,
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n")));
    const buf = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
    if (!m) throw new Error(`No HTTP status line in: ${text.slice(0, 80)}`);
    return Number(m[1]);
  } finally {
    conn.close();
  }
}
