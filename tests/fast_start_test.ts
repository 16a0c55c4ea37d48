/**
 * The stdio fast path (src/fast_start.ts) answers the opening before the SDK is loaded and
 * must be invisible: every line a client reads is what the SDK path
 * (LINKERD_MCP_FAST_START=0) gives, byte for byte, and the session goes on after the
 * handover (tools/call, elicitation, malformed input, requests before initialize).
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  LATEST_PROTOCOL_VERSION as SDK_LATEST,
  SUPPORTED_PROTOCOL_VERSIONS as SDK_SUPPORTED,
} from "@modelcontextprotocol/sdk/types.js";
import { denoDir, startFlags } from "./_mcp.ts";
import {
  LATEST_PROTOCOL_VERSION,
  serverCapabilities,
  serverInfo,
  serverInstructions,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "../src/server_info.ts";
import { Buffer } from "node:buffer";
import { PassThrough } from "node:stream";
import { startFastStdio } from "../src/fast_start.ts";
import { createServer } from "../src/server.ts";
import { createStdioTransport } from "../src/protocol_guard.ts";
import { listedTools } from "../src/tools/table.ts";
import { SILENT } from "../src/log.ts";
import { testDeps } from "./_helpers.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** `deno task start`'s flags, with LINKERD_MCP_FAST_START granted (it is not, there). */
const flags = () =>
  startFlags().map((f) => f.startsWith("--allow-env=") ? `${f},LINKERD_MCP_FAST_START` : f);

const init = (id: number | string, version = "2025-06-18", capabilities: unknown = {}) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: version, capabilities, clientInfo: { name: "t", version: "0" } },
  });
const INITIALIZED = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
const LIST = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/list" });
const CALL = (id: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "list_meshed_services", arguments: { namespace: "emojivoto" } },
  });

/**
 * Runs the server on the demo mesh, writes `lines` at once, and collects stdout lines until
 * `expect` replies arrived (stdin stays open meanwhile). Returns them and stderr.
 */
/** The server under the product's flags, with the fast path on or off (`LINKERD_MCP_FAST_START=0`). */
function spawnServer(fast: boolean, args: string[], stderr: "piped" | "null"): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags(), MAIN, ...args],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      DENO_DIR: denoDir(),
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      ...(fast ? {} : { LINKERD_MCP_FAST_START: "0" }),
    },
    stdin: "piped",
    stdout: "piped",
    stderr,
  }).spawn();
}

async function session(
  lines: string[],
  expect: number,
  fast: boolean,
  args: string[] = ["--demo"],
): Promise<{ out: string[]; err: string }> {
  const child = spawnServer(fast, [...args, "--log-level", "debug"], "piped");
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(lines.map((l) => l + "\n").join("")));
  const out: string[] = [];
  let buffered = "";
  const decoder = new TextDecoder();
  const timeout = setTimeout(() => child.kill(), 30_000);
  const reader = child.stdout.getReader();
  while (out.length < expect) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    out.push(...parts.filter((p) => p !== ""));
  }
  clearTimeout(timeout);
  reader.releaseLock();
  await writer.close().catch(() => {});
  const rest = await child.output().catch(() => undefined);
  const err = new TextDecoder().decode(rest?.stderr ?? new Uint8Array());
  return { out, err };
}

/** How many messages the fast path answered, from its debug line (0 when it did not hand over). */
function fastAnswered(stderr: string): number {
  const m = stderr.match(/fast start: handed the session to the SDK[^\n]*answered\W+(\d+)/);
  return m ? Number(m[1]) : 0;
}

const byId = (lines: string[]) =>
  new Map(lines.map((l) => [JSON.stringify((JSON.parse(l) as { id?: unknown }).id ?? null), l]));

Deno.test("the fast path's protocol versions are the SDK's", () => {
  assert.equal(LATEST_PROTOCOL_VERSION, SDK_LATEST);
  assert.deepEqual([...SUPPORTED_PROTOCOL_VERSIONS], [...SDK_SUPPORTED]);
});

for (const version of ["2025-06-18", "2024-11-05", "1999-01-01"]) {
  Deno.test(`initialize (${version}) and tools/list are byte for byte the SDK's, and a tools/call sent at once is answered`, async () => {
    const lines = [init(1, version), INITIALIZED, LIST(2), CALL(3)];
    const fast = await session(lines, 3, true);
    const slow = await session(lines, 3, false);
    assert.equal(fastAnswered(fast.err), 2, `the fast path answered the opening: ${fast.err}`);
    assert.equal(fastAnswered(slow.err), 0);
    const f = byId(fast.out);
    const s = byId(slow.out);
    assert.equal(f.get("1"), s.get("1"));
    assert.equal(f.get("2"), s.get("2"));
    assert.equal(
      (JSON.parse(f.get("1")!) as { result: { protocolVersion: string } }).result.protocolVersion,
      version === "1999-01-01" ? SDK_LATEST : version,
    );
    const call = JSON.parse(f.get("3")!) as {
      result: { isError?: boolean; structuredContent: { services: unknown[] } };
    };
    assert.notEqual(call.result.isError, true);
    assert.ok(call.result.structuredContent.services.length > 0);
    assert.deepEqual(call.result, (JSON.parse(s.get("3")!) as { result: unknown }).result);
    assert.doesNotMatch(fast.err, /differs from the one sent/);
  });
}

Deno.test("malformed input, batches and requests before initialize are answered as the SDK path answers them", async () => {
  // [lines, replies expected, messages the fast path answers before handing over]
  const cases: Array<[string[], number, number]> = [
    // Before initialize: everything goes to the SDK path.
    [[LIST(1), "not json", "[]", init(2), LIST(3)], 5, 0],
    [[`{"jsonrpc":"2.0","id":null,"method":"initialize"}`, init(2), LIST(3)], 3, 0],
    // After a fast initialize: the first line it cannot serve hands over, in order.
    [[init(1), "{oops", LIST(2), `[${LIST(3)}]`, `{"jsonrpc":"2.0","id":4,"method":"nope"}`], 5, 1],
    [[init(1), INITIALIZED, `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":7}`], 2, 1],
    // An initialize the fast path leaves to the SDK (bad params), then a good one.
    [[`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`, init(2), LIST(3)], 3, 0],
    // Over the stdio limit (10 MiB): the guard's error reply; the session goes on.
    [[init(1), "x".repeat(11 * 1024 * 1024), LIST(2)], 3, 1],
    // An initialize longer than the fast path reads (1 MiB), and CRLF framing.
    [
      [init(1, "2025-06-18", { experimental: { big: { pad: "p".repeat(1100 * 1024) } } }), LIST(2)],
      2,
      0,
    ],
    [[init(1) + "\r", LIST(2) + "\r", CALL(3)], 3, 2],
  ];
  for (const [lines, expect, answered] of cases) {
    const fast = await session(lines, expect, true);
    assert.equal(fastAnswered(fast.err), answered, `${lines.join(" | ")}: ${fast.err}`);
    const slow = await session(lines, expect, false);
    assert.equal(fast.out.length, expect, `${lines.join(" | ")}: ${fast.err}`);
    assert.deepEqual(byId(fast.out), byId(slow.out), lines.join(" | "));
  }
});

/** `stream` as a `Deno.Reader` (what the fast path reads). */
function readerOf(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  let rest: Uint8Array = new Uint8Array();
  return {
    async read(p: Uint8Array): Promise<number | null> {
      if (!rest.length) {
        const r = await reader.read();
        if (r.done) return null;
        rest = r.value;
      }
      const n = Math.min(p.length, rest.length);
      p.set(rest.subarray(0, n));
      rest = rest.subarray(n);
      return n;
    },
  };
}

/** The fast path and the SDK server over in-memory stdio, as main.ts joins them. */
async function inMemory(capabilities = serverCapabilities()) {
  const deps = testDeps([], { env: { LINKERD_MCP_ALLOW_WRITES: "1" } });
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const writer = input.writable.getWriter();
  const send = (text: string) => writer.write(new TextEncoder().encode(text));
  const out: string[] = [];
  let buffered = "";
  const collect = (text: string) => {
    buffered += text;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    out.push(...parts);
  };
  const stdout = new PassThrough();
  stdout.on("data", (c: Buffer) => collect(c.toString("utf8")));
  const errors: string[] = [];
  const log = { ...SILENT, error: (m: string) => void errors.push(m) };
  const fast = startFastStdio({
    serverInfo: serverInfo(),
    capabilities,
    instructions: serverInstructions(deps),
    tools: () => listedTools(true),
    log,
    stdin: readerOf(input.readable),
    write: (b) => collect(new TextDecoder().decode(b)),
  });
  const caps = { elicitation: {}, roots: { listChanged: true } };
  await send(init(7, "2025-06-18", caps) + "\n" + INITIALIZED + "\n" + LIST(8) + "\n");
  await fast.wanted;
  const answeredBefore = fast.answered;
  const server = createServer(deps);
  const transport = fast.adopt(
    createStdioTransport({ log: SILENT, stdin: await fast.handover(), stdout }),
  );
  await server.connect(transport);
  await send(`{"jsonrpc":"2.0","id":9,"method":"ping"}\n`);
  for (let i = 0; i < 200 && !out.some((l) => l.includes('"id":9')); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const close = async () => {
    await writer.close();
    await fast.ended;
    await server.close();
  };
  return { server, out, errors, caps, answeredBefore, close, send };
}

Deno.test("after the handover the SDK server knows the client's capabilities (elicitation) and serves the session", async () => {
  const { server, out, errors, caps, answeredBefore, close, send } = await inMemory();
  try {
    assert.equal(answeredBefore, 2);
    assert.deepEqual(server.getClientCapabilities(), { ...caps, elicitation: { form: {} } });
    assert.deepEqual(server.getClientVersion(), { name: "t", version: "0" });
    // One reply each: the SDK's reply to the replayed initialize was dropped.
    assert.deepEqual(out.map((l) => JSON.parse(l).id), [7, 8, 9]);
    assert.deepEqual(JSON.parse(out[2]!), { jsonrpc: "2.0", id: 9, result: {} });
    assert.deepEqual(errors, []);
    // An elicitation round trip (the SDK refuses it for a client it does not know can).
    const asked = server.elicitInput({
      message: "Write?",
      requestedSchema: {
        type: "object",
        properties: { confirm: { type: "boolean" } },
        required: ["confirm"],
      },
    });
    for (let i = 0; i < 200 && out.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    const request = JSON.parse(out[3]!) as { id: number; method: string };
    assert.equal(request.method, "elicitation/create");
    await send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: request.id,
        result: { action: "accept", content: { confirm: true } },
      }) + "\n",
    );
    assert.deepEqual(await asked, { action: "accept", content: { confirm: true } });
  } finally {
    await close();
  }
});

Deno.test("a fast initialize reply that the SDK would not give is reported on the handover", async () => {
  const { out, errors, close } = await inMemory({ ...serverCapabilities(), extra: {} });
  try {
    assert.deepEqual(out.map((l) => JSON.parse(l).id), [7, 8, 9]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /initialize reply differs/);
  } finally {
    await close();
  }
});

/** `npx`, where it is installed (the Inspector CLI test needs it and its package cache). */
const NPX = (() => {
  try {
    const found = new Deno.Command("sh", { args: ["-c", "command -v npx"], stdout: "piped" })
      .outputSync();
    return found.success ? new TextDecoder().decode(found.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
})();

Deno.test({
  name: "the MCP Inspector CLI lists and calls tools as it does on the SDK path",
  ignore: !NPX,
  fn: async () => {
    const inspector = async (fast: boolean, method: string[]) => {
      const out = await new Deno.Command(NPX!, {
        args: [
          "-y",
          "--prefer-offline",
          "@modelcontextprotocol/inspector@2.12.0",
          "--cli",
          Deno.execPath(),
          "run",
          ...flags(),
          MAIN,
          "--demo",
          ...method,
        ],
        env: {
          NO_COLOR: "1",
          DENO_NO_UPDATE_CHECK: "1",
          ...(fast ? {} : { LINKERD_MCP_FAST_START: "0" }),
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      return JSON.parse(text);
    };
    const list = ["--method", "tools/list"];
    const listed = await inspector(true, list);
    assert.ok(listed.tools.length >= 11);
    assert.deepEqual(listed, await inspector(false, list));
    const call = ["--method", "tools/call", "--tool-name", "check_mesh_health"];
    const called = await inspector(true, call);
    assert.equal(called.structuredContent.healthy, true);
    assert.deepEqual(called.structuredContent, (await inspector(false, call)).structuredContent);
  },
});

Deno.test("after an initialize alone the SDK is wanted soon, and stdin's end is seen", async () => {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const writer = input.writable.getWriter();
  const written: string[] = [];
  const fast = startFastStdio({
    serverInfo: serverInfo(),
    capabilities: serverCapabilities(),
    tools: () => listedTools(false),
    log: SILENT,
    stdin: readerOf(input.readable),
    write: (b) => void written.push(new TextDecoder().decode(b)),
    idleMs: 5,
  });
  let wanted = false;
  fast.wanted.then(() => wanted = true);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(wanted, false, "nothing asked for the SDK before the first message");
  await writer.write(new TextEncoder().encode(init(1) + "\n"));
  await fast.wanted;
  assert.equal(written.length, 1);
  assert.equal(JSON.parse(written[0]!).id, 1);
  const stream = await fast.handover();
  const replayed: string[] = [];
  stream.on("data", (c: Buffer) => replayed.push(c.toString("utf8")));
  await writer.close();
  await fast.ended;
  await new Promise((r) => stream.on("end", r));
  assert.equal(replayed.join(""), init(1) + "\n");
});

Deno.test("a client that writes and closes stdin at once gets the same answers, and the server exits", async () => {
  const run = async (fast: boolean, lines: string[]) => {
    const out = spawnServer(fast, ["--demo"], "null");
    const writer = out.stdin.getWriter();
    await writer.write(new TextEncoder().encode(lines.map((l) => l + "\n").join("")));
    await writer.close();
    const done = await out.output();
    const text = new TextDecoder().decode(done.stdout);
    return { code: done.code, lines: text.split("\n").filter((l) => l !== "") };
  };
  for (const lines of [[init(1), INITIALIZED, LIST(2)], [LIST(1), init(2), "{bad"]]) {
    const fast = await run(true, lines);
    const slow = await run(false, lines);
    assert.equal(fast.code, 0);
    assert.equal(slow.code, 0);
    assert.ok(fast.lines.length >= 2, fast.lines.join("\n"));
    assert.deepEqual(byId(fast.lines), byId(slow.lines), lines.join(" | "));
  }
});
