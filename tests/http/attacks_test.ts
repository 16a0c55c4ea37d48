/**
 * The HTTP transport under attack: slow bodies, random tokens against TokenReview, a
 * hanging TokenReview, malformed Host headers, a busy port. Each test fails on the
 * transport as it was before issue 9 (slot taken before the body was read, no body
 * timeout, no rejected-token cache or rate limit, 500 on a malformed Host, a stack
 * trace on a busy port).
 *
 * `HTTP_ATTACK_SERVE` (a module path) runs the in-process tests against another
 * `serveHttp`, e.g. a copy of the old transport, to see them fail there.
 */
import assert from "node:assert/strict";
import { SILENT } from "../../src/log.ts";
import * as current from "../../src/http/serve.ts";
import { startFlags } from "../_mcp.ts";
import { INITIALIZE, POST_HEADERS, rawStatus, testServerFactory } from "./_helpers.ts";

const alt = Deno.env.get("HTTP_ATTACK_SERVE");
const { serveHttp } = (alt ? await import(alt) : current) as typeof current;

const TOKEN = "attack-test-token-0123456789";

/** Opens a socket that sends a POST's headers and one byte of a 4 KiB body, then waits. */
async function slowBody(port: number, token?: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = [
    "POST /mcp HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "Content-Type: application/json",
    "Accept: application/json, text/event-stream",
    ...(token ? [`Authorization: Bearer ${token}`] : []),
    "Content-Length: 4096",
    "",
    "{",
  ].join("\r\n");
  await conn.write(new TextEncoder().encode(head));
  return conn;
}

/** Reads a socket's first line (the status line); "" when it closes first or after 4 s. */
async function statusLine(conn: Deno.TcpConn): Promise<string> {
  const buf = new Uint8Array(1024);
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 4000)));
  try {
    while (!text.includes("\r\n")) {
      const n = await Promise.race([conn.read(buf).catch(() => null), late]);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  return text.split("\r\n")[0] ?? "";
}

function post(url: string, token: string, body = INITIALIZE) {
  return fetch(url, {
    method: "POST",
    headers: { ...POST_HEADERS, Authorization: `Bearer ${token}` },
    body,
    signal: AbortSignal.timeout(5000),
  });
}

Deno.test("40 sockets dribbling a body do not make /mcp answer 503 to a legitimate client", async () => {
  const server = serveHttp({
    createMcpServer: testServerFactory(),
    hostname: "127.0.0.1",
    port: 0,
    token: TOKEN,
    log: SILENT,
    maxConcurrent: 32,
  });
  const url = `http://127.0.0.1:${server.addr.port}/mcp`;
  const slow: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 40; i++) slow.push(await slowBody(server.addr.port, TOKEN));
    await new Promise((r) => setTimeout(r, 100)); // the server has seen them all
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const res = await post(url, TOKEN);
      await res.body?.cancel();
      latencies.push(performance.now() - started);
      assert.equal(res.status, 200, `request ${i} with 40 slow bodies open got ${res.status}`);
    }
    latencies.sort((a, b) => a - b);
    // deno-lint-ignore no-console
    console.error(
      `latency of a legitimate initialize with 40 slow-body sockets open: median ${
        latencies[2]!.toFixed(1)
      } ms, max ${latencies[4]!.toFixed(1)} ms`,
    );
    assert.ok(latencies[4]! < 2000, `too slow: ${latencies.join(", ")} ms`);
  } finally {
    for (const c of slow) c.close();
    await server.shutdown();
  }
});

Deno.test("a body that stalls gets 408 after the idle timeout, one that dribbles after the body timeout", async () => {
  const server = serveHttp({
    createMcpServer: testServerFactory(),
    hostname: "127.0.0.1",
    port: 0,
    log: SILENT,
    bodyIdleTimeoutMs: 300,
    bodyTimeoutMs: 800,
  });
  const stalled = await slowBody(server.addr.port);
  const dribbling = await slowBody(server.addr.port);
  const timer = setInterval(() => {
    dribbling.write(new TextEncoder().encode(" ")).catch(() => {});
  }, 100);
  try {
    const started = performance.now();
    const first = await statusLine(stalled);
    const stalledMs = performance.now() - started;
    assert.match(first, /^HTTP\/1\.1 408/, `stalled body: ${first || "connection closed"}`);
    assert.ok(stalledMs < 2000, `stalled body answered after ${stalledMs} ms`);
    const second = await statusLine(dribbling);
    const dribbleMs = performance.now() - started;
    assert.match(second, /^HTTP\/1\.1 408/, `dribbling body: ${second || "connection closed"}`);
    assert.ok(
      dribbleMs >= 700 && dribbleMs < 3000,
      `dribbling body answered after ${dribbleMs} ms`,
    );
  } finally {
    clearInterval(timer);
    stalled.close();
    dribbling.close();
    await server.shutdown();
  }
});

Deno.test("random bearer tokens cost a bounded number of TokenReviews (rejections cached, rate limited)", async () => {
  let reviews = 0;
  const server = serveHttp({
    createMcpServer: testServerFactory(),
    hostname: "127.0.0.1",
    port: 0,
    log: SILENT,
    tokenReview: (token: string) => {
      reviews++;
      return Promise.resolve(token === "valid-service-account-token");
    },
    tokenReviewLimits: { reviewsPerSecond: 5, reviewBurst: 10 },
  });
  const url = `http://127.0.0.1:${server.addr.port}/mcp`;
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const res = await post(url, `random-token-${crypto.randomUUID()}`);
      await res.body?.cancel();
      statuses.push(res.status);
    }
    // The same bad token again and again: reviewed once.
    for (let i = 0; i < 20; i++) {
      const res = await post(url, "the-same-bad-token-every-time");
      await res.body?.cancel();
    }
    assert.ok(reviews <= 13, `60 random and 20 repeated tokens caused ${reviews} TokenReviews`);
    assert.ok(statuses.includes(429), "over the rate limit, a client is told to retry (429)");
    assert.ok(statuses.every((s) => s === 401 || s === 429), `statuses: ${statuses}`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("concurrent TokenReviews are bounded, and a hanging one is aborted", async () => {
  let running = 0;
  let peak = 0;
  const aborted: boolean[] = [];
  const server = serveHttp({
    createMcpServer: testServerFactory(),
    hostname: "127.0.0.1",
    port: 0,
    log: SILENT,
    tokenReview: (_token: string, signal?: AbortSignal) => {
      running++;
      peak = Math.max(peak, running);
      // Hangs (for 2 s, far beyond the 300 ms review limit), unless the signal ends it.
      return new Promise<boolean>((resolve, reject) => {
        setTimeout(() => resolve(false), 2000);
        signal?.addEventListener("abort", () => {
          running--;
          aborted.push(true);
          reject(signal.reason);
        });
      });
    },
    tokenReviewLimits: { maxConcurrentReviews: 2, reviewTimeoutMs: 300, reviewBurst: 50 },
  });
  const url = `http://127.0.0.1:${server.addr.port}/mcp`;
  try {
    const started = performance.now();
    const all = await Promise.all(
      Array.from({ length: 6 }, (_, i) => post(url, `hanging-token-${i}-0123456789`)),
    );
    for (const r of all) await r.body?.cancel();
    const elapsed = performance.now() - started;
    assert.deepEqual(all.map((r) => r.status), [401, 401, 401, 401, 401, 401]);
    assert.ok(peak <= 2, `${peak} TokenReviews ran at once`);
    assert.equal(aborted.length, 6, "every hanging TokenReview got its abort signal");
    assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a malformed Host header is answered 400, not 500", async () => {
  const server = serveHttp({
    createMcpServer: testServerFactory(),
    hostname: "127.0.0.1",
    port: 0,
    log: SILENT,
  });
  try {
    for (const host of ["exa mple", "[::1", "a:b:c", "host:99999", "x/y", "@evil"]) {
      const status = await rawStatus(server.addr.port, {
        headers: { Host: host, ...POST_HEADERS },
        body: INITIALIZE,
      });
      assert.equal(status, 400, `Host: ${host}`);
    }
    const ok = await rawStatus(server.addr.port, {
      headers: { Host: `127.0.0.1:${server.addr.port}`, ...POST_HEADERS },
      body: INITIALIZE,
    });
    assert.equal(ok, 200);
  } finally {
    await server.shutdown();
  }
});

Deno.test("--http on a busy port prints one clean line and exits 2", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (busy.addr as Deno.NetAddr).port;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...startFlags(),
        new URL("../../main.ts", import.meta.url).pathname,
        "--demo",
        "--http",
        String(port),
      ],
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, /already in use/);
    assert.doesNotMatch(stderr, /AddrInUse|\n\s+at |unexpected error/);
    const errors = stderr.split("\n").filter((l) => / error /.test(l));
    assert.equal(errors.length, 1, stderr);
  } finally {
    busy.close();
  }
});
