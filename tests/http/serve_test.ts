import assert from "node:assert/strict";
import { createServer } from "../../src/server.ts";
import { SILENT } from "../../src/log.ts";
import { allTools } from "../../src/tools/mod.ts";
import {
  HttpConfigError,
  type HttpServer,
  serveHttp,
  type ServeHttpOptions,
} from "../../src/http/serve.ts";
import { testDeps } from "../_helpers.ts";
import {
  connect,
  Gate,
  INITIALIZE,
  POST_HEADERS,
  rawStatus,
  type Seen,
  testServerFactory,
} from "./_helpers.ts";

const TOKEN = "test-token-0123456789abcdef";

function start(opts: Partial<ServeHttpOptions> = {}): HttpServer & { url: string } {
  const server = serveHttp({
    createMcpServer: testServerFactory(),
    hostname: "127.0.0.1",
    port: 0,
    log: SILENT,
    ...opts,
  });
  return Object.assign(server, { url: `http://127.0.0.1:${server.addr.port}/mcp` });
}

function post(url: string, headers: Record<string, string> = {}, body = INITIALIZE) {
  return fetch(url, { method: "POST", headers: { ...POST_HEADERS, ...headers }, body });
}

Deno.test("serveHttp() serves initialize, tools/list and tool calls to a real MCP client", async () => {
  const deps = testDeps([]);
  const server = start({ createMcpServer: () => createServer(deps) });
  try {
    const client = await connect(server.url);
    assert.equal(client.getServerVersion()?.name, "linkerd-mcp");
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), allTools().map((t) => t.name));
    // A real tool over the in-memory cluster, when the table has one that takes no arguments.
    const noArgs = tools.find((t) => !(t.inputSchema.required ?? []).length);
    if (noArgs) {
      const result = await client.callTool({ name: noArgs.name, arguments: {} });
      assert.ok(Array.isArray(result.content));
    }
    await client.close();

    const echo = start();
    try {
      const c = await connect(echo.url);
      const r = await c.callTool({ name: "echo", arguments: { text: "hello" } });
      assert.deepEqual(r.content, [{ type: "text", text: "hello" }]);
      await c.close();
    } finally {
      await echo.shutdown();
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() refuses a non-loopback address without a token", () => {
  assert.throws(
    () =>
      serveHttp({
        createMcpServer: testServerFactory(),
        hostname: "0.0.0.0",
        port: 0,
        log: SILENT,
      }),
    (err: unknown) => err instanceof HttpConfigError && /without a bearer token/.test(err.message),
  );
});

Deno.test("serveHttp() requires the bearer token (401 without it or with a wrong one)", async () => {
  const server = start({ hostname: "0.0.0.0", token: TOKEN });
  try {
    const missing = await post(server.url);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
    await missing.body?.cancel();
    const wrong = await post(server.url, { Authorization: `Bearer ${TOKEN}x` });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const basic = await post(server.url, { Authorization: `Basic ${btoa("a:" + TOKEN)}` });
    assert.equal(basic.status, 401);
    await basic.body?.cancel();
    await assert.rejects(connect(server.url, { token: "wrong-token-0123456789" }));

    const client = await connect(server.url, { token: TOKEN });
    const r = await client.callTool({ name: "echo", arguments: { text: "authorized" } });
    assert.deepEqual(r.content, [{ type: "text", text: "authorized" }]);
    await client.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() requires a configured token on loopback too", async () => {
  const server = start({ token: TOKEN });
  try {
    const res = await post(server.url);
    assert.equal(res.status, 401);
    await res.body?.cancel();
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() accepts tokens approved by the TokenReview hook", async () => {
  const reviewed: string[] = [];
  const server = start({
    hostname: "0.0.0.0",
    token: TOKEN,
    tokenReview: (t) => {
      reviewed.push(t);
      return Promise.resolve(t === "service-account-token-abcdef");
    },
  });
  try {
    const client = await connect(server.url, { token: "service-account-token-abcdef" });
    await client.listTools();
    await client.close();
    const denied = await post(server.url, { Authorization: "Bearer some-other-token-123456" });
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    assert.ok(reviewed.includes("service-account-token-abcdef"));
    // The static token never goes to the TokenReview API.
    const ok = await post(server.url, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    assert.ok(!reviewed.includes(TOKEN));
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() never hands the caller's Authorization header to the MCP layer", async () => {
  const seen: Seen = { headers: [] };
  const server = start({ token: TOKEN, createMcpServer: testServerFactory(new Gate(), seen) });
  try {
    const client = await connect(server.url, { token: TOKEN, headers: { Cookie: "a=b" } });
    await client.callTool({ name: "headers", arguments: {} });
    await client.close();
    assert.equal(seen.headers.length, 1);
    assert.equal(seen.headers[0]!["authorization"], undefined);
    assert.equal(seen.headers[0]!["cookie"], undefined);
    assert.ok(seen.headers[0]!["content-type"]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() refuses a foreign Origin with 403 and accepts local and listed ones", async () => {
  const server = start({ allowedOrigins: ["https://app.example.com"] });
  try {
    const evil = await post(server.url, { Origin: "http://evil.example.com" });
    assert.equal(evil.status, 403);
    await evil.body?.cancel();
    const opaque = await post(server.url, { Origin: "null" });
    assert.equal(opaque.status, 403);
    await opaque.body?.cancel();
    for (const origin of [`http://127.0.0.1:${server.addr.port}`, "https://app.example.com"]) {
      const res = await post(server.url, { Origin: origin });
      assert.equal(res.status, 200, origin);
      assert.equal(res.headers.get("access-control-allow-origin"), origin);
      await res.body?.cancel();
    }
    await assert.rejects(connect(server.url, { headers: { Origin: "http://evil.example.com" } }));
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() refuses a foreign Host with 403 (DNS rebinding)", async () => {
  const server = start();
  try {
    const port = server.addr.port;
    const headers = { ...POST_HEADERS, Host: "evil.example.com" };
    assert.equal(await rawStatus(port, { headers, body: INITIALIZE }), 403);
    const good = { ...POST_HEADERS, Host: `localhost:${port}` };
    assert.equal(await rawStatus(port, { headers: good, body: INITIALIZE }), 200);
  } finally {
    await server.shutdown();
  }
  const listed = start({ hostname: "0.0.0.0", token: TOKEN, allowedHosts: ["mcp.example.com"] });
  try {
    const auth = { ...POST_HEADERS, Authorization: `Bearer ${TOKEN}` };
    const port = listed.addr.port;
    const evil = { ...auth, Host: "evil.example.com" };
    assert.equal(await rawStatus(port, { headers: evil, body: INITIALIZE }), 403);
    const ok = { ...auth, Host: "mcp.example.com:443" };
    assert.equal(await rawStatus(port, { headers: ok, body: INITIALIZE }), 200);
  } finally {
    await listed.shutdown();
  }
});

Deno.test("serveHttp() refuses a body over the limit with 413", async () => {
  const server = start({ maxBodyBytes: 4096 });
  try {
    const big = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "x".repeat(10_000) } },
    });
    const declared = await post(server.url, {}, big);
    assert.equal(declared.status, 413);
    await declared.body?.cancel();
    // Without Content-Length (a stream), the limit applies while reading.
    const stream = ReadableStream.from([new TextEncoder().encode(big)]);
    const streamed = await fetch(server.url, {
      method: "POST",
      headers: POST_HEADERS,
      body: stream,
    });
    assert.equal(streamed.status, 413);
    await streamed.body?.cancel();
    const client = await connect(server.url);
    const r = await client.callTool({ name: "echo", arguments: { text: "small" } });
    assert.deepEqual(r.content, [{ type: "text", text: "small" }]);
    await client.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() serves concurrent calls and refuses those over the limit with 503", async () => {
  const gate = new Gate();
  const server = start({ createMcpServer: testServerFactory(gate), maxConcurrent: 4 });
  try {
    const clients = await Promise.all([0, 1, 2, 3].map(() => connect(server.url)));
    const calls = clients.map((c) => c.callTool({ name: "wait", arguments: {} }));
    await gate.waitForEntered(4);
    const over = await post(server.url);
    assert.equal(over.status, 503);
    assert.equal(over.headers.get("retry-after"), "1");
    await over.body?.cancel();
    gate.open();
    const results = await Promise.all(calls);
    for (const r of results) assert.deepEqual(r.content, [{ type: "text", text: "done" }]);
    // Many quick calls at once, within the limit over time.
    const echoes = await Promise.all(
      Array.from(
        { length: 12 },
        (_, i) => clients[i % 4]!.callTool({ name: "echo", arguments: { text: `n${i}` } }),
      ),
    );
    assert.deepEqual(
      echoes.map((r) => (r.content as { text: string }[])[0]!.text),
      Array.from({ length: 12 }, (_, i) => `n${i}`),
    );
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() answers /healthz and /readyz without a token and GET /mcp with 405", async () => {
  let ready = false;
  const server = start({ hostname: "0.0.0.0", token: TOKEN, isReady: () => ready });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503);
    await notReady.body?.cancel();
    ready = true;
    const isReady = await fetch(`${base}/readyz`);
    assert.equal(isReady.status, 200);
    await isReady.body?.cancel();
    const get = await fetch(server.url, {
      headers: { Accept: "text/event-stream", Authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(get.status, 405);
    await get.body?.cancel();
    const other = await fetch(`${base}/other`);
    assert.equal(other.status, 404);
    await other.body?.cancel();
  } finally {
    await server.shutdown();
  }
});

Deno.test("shutdown() drains an in-flight request before stopping", async () => {
  const gate = new Gate();
  const server = start({ createMcpServer: testServerFactory(gate) });
  const client = await connect(server.url);
  const call = client.callTool({ name: "wait", arguments: {} });
  await gate.waitForEntered(1);
  let stopped = false;
  const stopping = server.shutdown().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(stopped, false, "shutdown must wait for the in-flight call");
  gate.open();
  const result = await call;
  assert.deepEqual(result.content, [{ type: "text", text: "done" }]);
  await stopping;
  await server.finished;
  await assert.rejects(
    fetch(server.url, { method: "POST", headers: POST_HEADERS, body: INITIALIZE }),
  );
});

Deno.test("shutdown() cancels requests that outlive the drain timeout", async () => {
  const gate = new Gate();
  const server = start({ createMcpServer: testServerFactory(gate), drainTimeoutMs: 200 });
  const client = await connect(server.url);
  const call = client.callTool({ name: "wait", arguments: {} }).then(
    () => "answered",
    () => "failed",
  );
  await gate.waitForEntered(1);
  const t0 = performance.now();
  await server.shutdown();
  assert.ok(performance.now() - t0 < 5_000);
  await server.finished;
  gate.open();
  assert.ok(["answered", "failed"].includes(await call));
});

Deno.test({
  name: "a server process drains an in-flight request on SIGTERM, then exits 0",
  ignore: Deno.build.os === "windows",
  async fn() {
    const script = new URL("./_sigterm_server.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net=127.0.0.1", script],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const port = Number(out.trim());
    assert.ok(port > 0, `child printed no port: ${out}`);
    const client = await connect(`http://127.0.0.1:${port}/mcp`);
    const call = client.callTool({ name: "slow", arguments: {} });
    await new Promise((r) => setTimeout(r, 200)); // the call is now in flight (it takes 800 ms)
    child.kill("SIGTERM");
    const result = await call;
    assert.deepEqual(result.content, [{ type: "text", text: "slow done" }]);
    const status = await child.status;
    assert.equal(status.code, 0);
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
  },
});

Deno.test("serveHttp() answers malformed JSON-RPC with 400 and the JSON-RPC error, and refuses unknown arguments", async () => {
  const deps = testDeps([]);
  const server = start({ createMcpServer: () => createServer(deps) });
  try {
    const cases: [string, number, unknown][] = [
      ['{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}', -32600, 1],
      ['{"id":2,"method":"ping"}', -32600, 2],
      ['{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600, null],
      ['{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":7}}', -32602, 3],
    ];
    for (const [body, code, id] of cases) {
      const res = await post(server.url, { "Mcp-Protocol-Version": "2025-11-25" }, body);
      const reply = await res.json();
      assert.equal(res.status, 400, body);
      assert.equal(reply.error?.code, code, `${body}: ${JSON.stringify(reply)}`);
      assert.deepEqual(reply.id, id, body);
      assert.doesNotMatch(reply.error.message, /ZodError|"code":/);
    }
    const client = await connect(server.url);
    const r = await client.callTool({
      name: "list_meshed_services",
      arguments: { namespace: "x", namespcae: "y" },
    });
    assert.equal(r.isError, true);
    assert.match(JSON.stringify(r.content), /namespcae/);
    await client.close();
  } finally {
    await server.shutdown();
  }
});
