/**
 * Malformed MCP / JSON-RPC 2.0 messages: each gets the error the specification
 * requires (-32700 parse error, -32600 invalid request, -32602 invalid params) and
 * the server keeps serving. Over stdio (a subprocess launched with exactly the flags
 * of `deno task start`) and in process (linked in-memory transports).
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { createServer } from "../../src/server.ts";
import { createDemoSource } from "../../src/demo/mod.ts";
import { runTool } from "../../src/tools/_spec.ts";
import { allTools } from "../../src/tools/mod.ts";
import { testDeps } from "../_helpers.ts";
import { denoDir, startFlags } from "../_mcp.ts";

type Reply = {
  jsonrpc?: string;
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
};

const INIT = {
  jsonrpc: "2.0",
  id: "init",
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "hostile", version: "0" },
  },
};

/** A stdio server subprocess spoken to line by line. */
class StdioPeer {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: string[] = [];
  #waiters: (() => void)[] = [];
  stderr = "";
  readonly done: Promise<void>;

  constructor(args: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...startFlags(), new URL("../../main.ts", import.meta.url).pathname, ...args],
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_DIR: denoDir() },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    const read = async (stream: ReadableStream<Uint8Array>, onText: (t: string) => void) => {
      const dec = new TextDecoder();
      for await (const chunk of stream) onText(dec.decode(chunk, { stream: true }));
    };
    let pending = "";
    this.done = Promise.all([
      read(this.#child.stdout, (t) => {
        pending += t;
        let nl;
        while ((nl = pending.indexOf("\n")) !== -1) {
          this.#lines.push(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
          for (const w of this.#waiters.splice(0)) w();
        }
      }),
      read(this.#child.stderr, (t) => (this.stderr += t)),
    ]).then(() => {});
  }

  async send(text: string | Uint8Array): Promise<void> {
    await this.#writer.write(typeof text === "string" ? new TextEncoder().encode(text) : text);
  }

  /** The next line of stdout as JSON, or a failure after `ms`. */
  async next(ms = 10_000): Promise<Reply> {
    const deadline = Date.now() + ms;
    while (this.#lines.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${ms} ms; stderr: ${this.stderr}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return JSON.parse(this.#lines.shift()!);
  }

  async close(): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch(() => {});
    const status = await this.#child.status;
    await this.done;
    return status;
  }
}

/** Asserts a JSON-RPC error reply with `code` and `id`, whose message is readable. */
function assertError(reply: Reply, code: number, id: unknown, what: string): void {
  assert.equal(reply.jsonrpc, "2.0", what);
  assert.equal(reply.error?.code, code, `${what}: ${JSON.stringify(reply)}`);
  assert.deepEqual(reply.id, id, `${what}: id`);
  const msg = reply.error!.message;
  assert.ok(msg.length > 10 && msg.length < 600, `${what}: message ${msg}`);
  assert.doesNotMatch(msg, /ZodError|"code":|TypeError|Cannot read properties|\n\s+at /, what);
}

Deno.test("stdio: malformed JSON-RPC gets the error the specification requires, and serving goes on", async () => {
  const peer = new StdioPeer(["--demo"]);
  try {
    // Before initialize: only initialize and ping are served.
    await peer.send(
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x" } }) +
        "\n",
    );
    assertError(await peer.next(), -32600, 1, "tools/call before initialize");
    await peer.send(JSON.stringify(INIT) + "\n");
    const init = await peer.next();
    assert.equal(init.id, "init");
    assert.ok(init.result?.["protocolVersion"], JSON.stringify(init));
    await peer.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");

    const cases: [string, number, unknown, string][] = [
      ["this is not json", -32700, null, "not JSON"],
      ['{"jsonrpc":"2.0","id":2,"method":', -32700, null, "truncated JSON"],
      ['{"id":3,"method":"ping"}', -32600, 3, "missing jsonrpc"],
      ['{"jsonrpc":"1.0","id":4,"method":"ping"}', -32600, 4, "jsonrpc 1.0"],
      ['{"jsonrpc":"2.0","id":5,"method":"ping","params":"x"}', -32600, 5, 'params:"x"'],
      ['{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600, null, "id null"],
      ['{"jsonrpc":"2.0","id":true,"method":"ping"}', -32600, null, "id true"],
      ['{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', -32600, null, "id object"],
      ['{"jsonrpc":"2.0","id":1.5,"method":"ping"}', -32600, null, "id fraction"],
      ['{"jsonrpc":"2.0","id":6,"method":42}', -32600, 6, "method number"],
      ['[{"jsonrpc":"2.0","id":7,"method":"ping"}]', -32600, null, "batch"],
      ["[]", -32600, null, "empty batch"],
      ["42", -32600, null, "a number"],
      ['{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":5}}', -32602, 8, "name 5"],
      [
        '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"check_mesh_health","arguments":"x"}}',
        -32602,
        9,
        "arguments string",
      ],
      [
        '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"nope"}}',
        -32602,
        10,
        "unknown tool",
      ],
      ['{"jsonrpc":"2.0","id":11,"method":"ping","params":[1,2]}', -32602, 11, "array params"],
    ];
    for (const [line, code, id, what] of cases) {
      await peer.send(line + "\n");
      assertError(await peer.next(), code, id, what);
    }

    // A line over 10 MiB: answered with an error, logged with the reason, session goes on.
    const huge = new Uint8Array(11 * 1024 * 1024).fill(0x61);
    huge[0] = 0x22; // '"'
    await peer.send(huge);
    await peer.send('"\n');
    assertError(await peer.next(), -32600, null, "11 MiB line");
    assert.match(peer.stderr, /larger than 10485760 bytes/);

    // Unknown arguments are refused, with the same text as the `call` command gives.
    await peer.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 12,
        method: "tools/call",
        params: { name: "list_meshed_services", arguments: { namespcae: "emojivoto" } },
      }) + "\n",
    );
    const bad = await peer.next();
    const result = bad.result as { isError?: boolean; content: { text: string }[] };
    assert.equal(result.isError, true, JSON.stringify(bad));
    const spec = allTools().find((t) => t.name === "list_meshed_services")!;
    const viaCall = await runTool(spec, { namespcae: "emojivoto" }, testDeps([]));
    assert.equal(viaCall.ok, false);
    assert.equal(result.content[0]!.text, viaCall.ok ? "" : viaCall.error);
    assert.match(result.content[0]!.text, /namespcae/);

    // A prototype key is an own key on the wire, and is refused as an unknown argument.
    await peer.send(
      '{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"list_meshed_services","arguments":{"__proto__":{"namespace":"x"}}}}\n',
    );
    const proto = (await peer.next()).result as { isError?: boolean; content: { text: string }[] };
    assert.equal(proto.isError, true, JSON.stringify(proto));
    assert.match(proto.content[0]!.text, /__proto__/);

    // Still serving.
    await peer.send('{"jsonrpc":"2.0","id":"last","method":"ping"}\n');
    const pong = await peer.next();
    assert.equal(pong.id, "last");
    assert.deepEqual(pong.result, {});
  } finally {
    const status = await peer.close();
    assert.equal(status.code, 0, peer.stderr);
  }
});

/** An in-process server with a raw client end: messages are objects, replies collected. */
async function rawInProcess() {
  const server = createServer(testDeps([], { cluster: createDemoSource() }));
  const [client, serverSide] = InMemoryTransport.createLinkedPair();
  const replies: Reply[] = [];
  let wake: (() => void) | undefined;
  client.onmessage = (m: unknown) => {
    replies.push(m as Reply);
    wake?.();
  };
  await server.connect(serverSide);
  await client.start();
  return {
    async call(message: unknown): Promise<Reply> {
      // deno-lint-ignore no-explicit-any
      await client.send(message as any);
      const deadline = Date.now() + 5000;
      while (replies.length === 0) {
        if (Date.now() > deadline) throw new Error(`no reply to ${JSON.stringify(message)}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return replies.shift()!;
    },
    close: () => server.close(),
  };
}

Deno.test("in process: the same screening on an unframed transport", async () => {
  const peer = await rawInProcess();
  try {
    assertError(
      await peer.call({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      -32600,
      1,
      "tools/list before initialize",
    );
    const ping = await peer.call({ jsonrpc: "2.0", id: "p", method: "ping" });
    assert.deepEqual(ping.result, {}, "ping is allowed before initialize");
    assert.ok((await peer.call(INIT)).result);
    const cases: [unknown, number, unknown, string][] = [
      [{ id: 2, method: "ping" }, -32600, 2, "missing jsonrpc"],
      [{ jsonrpc: "2.0", id: 3, method: "ping", params: "x" }, -32600, 3, 'params:"x"'],
      [{ jsonrpc: "2.0", id: null, method: "ping" }, -32600, null, "id null"],
      [[{ jsonrpc: "2.0", id: 4, method: "ping" }], -32600, null, "batch"],
      [{ jsonrpc: "2.0", id: 5, method: "ping", extra: 1 }, -32600, 5, "extra member"],
      [{ jsonrpc: "2.0", id: 6, method: "tools/call", params: {} }, -32602, 6, "no tool name"],
      [
        { jsonrpc: "2.0", id: 7, method: "logging/setLevel", params: { level: "loud" } },
        -32602,
        7,
        "bad log level",
      ],
      [
        { jsonrpc: "2.0", id: 8, method: "tools/list", params: { cursor: 5 } },
        -32602,
        8,
        "cursor number",
      ],
    ];
    for (const [message, code, id, what] of cases) {
      assertError(await peer.call(message), code, id, what);
    }
    const list = await peer.call({ jsonrpc: "2.0", id: 9, method: "tools/list" });
    const tools = (list.result as { tools: { inputSchema: Record<string, unknown> }[] }).tools;
    assert.ok(tools.length >= 11);
    for (const t of tools) assert.equal(t.inputSchema["additionalProperties"], false);
  } finally {
    await peer.close();
  }
});
