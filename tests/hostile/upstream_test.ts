/**
 * Hostile upstreams: a Kubernetes API server (the stand-in, over HTTPS with the real
 * client-node) and a Prometheus that hang, answer garbage, answer huge bodies, never stop
 * paginating, or throttle. Each case asserts the bound it must meet: the time to a clear
 * error, the requests made (none after the call ends), the bytes read.
 *
 * Set `UPSTREAM_REPORT=1` to print the measured bounds.
 *
 * @module
 */
import assert from "node:assert/strict";
import { KubeApiError, PrometheusUnavailableError } from "../../src/errors.ts";
import { createLiveSource, type LiveSource, MAX_LIST_PAGES } from "../../src/kube/live.ts";
import { MAX_RESPONSE_BYTES } from "../../src/kube/_live_http.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { HttpPromClient, MAX_PROM_RESPONSE_BYTES } from "../../src/metrics/prom_client.ts";
import { allTools } from "../../src/tools/mod.ts";
import { runTool } from "../../src/tools/_spec.ts";
import { testDeps } from "../_helpers.ts";
import { type Standin, startStandin } from "../support/kube_standin.ts";

const MiB = 1024 * 1024;
const REPORT = Deno.env.get("UPSTREAM_REPORT") === "1";

function report(what: string, fields: Record<string, unknown>): void {
  if (!REPORT) return;
  // deno-lint-ignore no-console
  console.error(`[bound] ${what}: ${JSON.stringify(fields)}`);
}

const OBJECTS: KubeObject[] = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "emojivoto" } },
  ...["web", "emoji", "voting"].map((n): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${n}-1`, namespace: "emojivoto", labels: { app: n } },
  })),
];

async function withLive(
  fn: (api: Standin, live: LiveSource) => Promise<void>,
  opts: { timeoutMs?: number; cacheTtlMs?: number; pageSize?: number } = {},
): Promise<void> {
  const api = await startStandin({ objects: OBJECTS });
  const live = await createLiveSource({
    kubeconfigPath: api.kubeconfigPath,
    env: {},
    timeoutMs: opts.timeoutMs ?? 5_000,
    ...(opts.cacheTtlMs !== undefined ? { cacheTtlMs: opts.cacheTtlMs } : {}),
    ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
  });
  try {
    await fn(api, live);
  } finally {
    await live.close();
    await api.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The rejection of `p`; fails when it resolves, or when it has not settled within `boundMs`
 * (so that an unbounded upstream fault fails the test instead of hanging it).
 */
async function rejection(p: Promise<unknown>, boundMs = 20_000): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<"unbounded">((resolve) => {
    timer = setTimeout(() => resolve("unbounded"), boundMs);
  });
  try {
    const r = await Promise.race([p.then(() => "resolved" as const), bound]);
    assert.fail(r === "unbounded" ? `not settled within ${boundMs} ms` : "expected a rejection");
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("hostile API server: a hang is bounded by the call's signal, and the socket is closed", async () => {
  await withLive(async (api, live) => {
    api.fault({ hang: true });
    const started = performance.now();
    const err = await rejection(live.list("pods", { signal: AbortSignal.timeout(300) }));
    const ms = performance.now() - started;
    assert.ok(err instanceof DOMException && err.name === "TimeoutError", String(err));
    assert.ok(ms < 1_500, `took ${ms} ms`);
    for (let i = 0; i < 20 && api.inFlight > 0; i++) await sleep(50);
    assert.equal(api.inFlight, 0, "the hung request was abandoned (socket closed)");
    report("API hang, signal 300 ms", { ms: Math.round(ms), requests: api.received });
  });
});

Deno.test("hostile API server: a hang without a signal ends at the request timeout", async () => {
  await withLive(async (api, live) => {
    api.fault({ hang: true });
    const started = performance.now();
    const err = await rejection(live.list("pods"));
    const ms = performance.now() - started;
    assert.ok(err instanceof KubeApiError);
    assert.match(err.message, /did not answer within 400 ms/);
    assert.ok(ms < 2_000, `took ${ms} ms`);
    report("API hang, request timeout 400 ms", { ms: Math.round(ms), requests: api.received });
  }, { timeoutMs: 400 });
});

Deno.test("hostile API server: garbage is an unexpected answer, never a TypeError", async () => {
  await withLive(async (api, live) => {
    const cases: Array<[string, RegExp]> = [
      ["{not json", /unexpected answer from the Kubernetes API server: not JSON/],
      ["", /unexpected answer from the Kubernetes API server: not JSON \(an empty body\)/],
      [
        '{"items":[null]}',
        /unexpected answer from the Kubernetes API server: items\[0\]: expected object/,
      ],
      [
        '{"items":"pods"}',
        /unexpected answer from the Kubernetes API server: items: expected array/,
      ],
      [
        '{"items":[{"metadata":{"name":7}}]}',
        /unexpected answer from the Kubernetes API server: items\[0\]\.metadata\.name: expected string/,
      ],
      [
        '{"items":[{"metadata":{"name":"a","labels":{"x":1}}}]}',
        /items\[0\]\.metadata\.labels\.x: expected string/,
      ],
      ["null", /unexpected answer from the Kubernetes API server: the answer: expected object/],
      ['{"items":[],"metadata":{"continue":5}}', /metadata\.continue: expected string/],
    ];
    for (const [body, re] of cases) {
      api.fault({ garbage: body });
      const err = await rejection(live.list("pods", { namespace: "emojivoto" }));
      assert.ok(err instanceof KubeApiError, String(err));
      assert.match(err.message, re, `for ${JSON.stringify(body)}`);
      assert.doesNotMatch(err.message, /Cannot read properties|is not a function|undefined/);
      assert.notEqual(err.status, 0, "not reported as 'could not be reached'");
    }
    api.fault({ garbage: '{"metadata":null}' });
    const err = await rejection(live.get("pods", "web-1", "emojivoto"));
    assert.ok(err instanceof KubeApiError);
    assert.match(
      err.message,
      /unexpected answer from the Kubernetes API server: metadata: expected object/,
    );
  }, { cacheTtlMs: 0 });
});

Deno.test("hostile API server: a huge body is cut off at the cap, memory stays bounded", async () => {
  await withLive(async (api, live) => {
    api.fault({ hugeBytes: 200 * MiB });
    const rss0 = Deno.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
    const started = performance.now();
    const err = await rejection(live.list("pods"));
    clearInterval(sampler);
    const ms = performance.now() - started;
    assert.ok(err instanceof KubeApiError, String(err));
    assert.match(
      err.message,
      new RegExp(
        `response from the Kubernetes API server at https://127\\.0\\.0\\.1:\\d+ larger than ${
          MAX_RESPONSE_BYTES / MiB
        } MiB`,
      ),
    );
    await sleep(100);
    // Reading stopped at the cap: the stand-in could not push much past it.
    assert.ok(
      api.hugeBytesSent < MAX_RESPONSE_BYTES + 16 * MiB,
      `the client read ${api.hugeBytesSent} bytes`,
    );
    report("API huge body (200 MiB offered)", {
      ms: Math.round(ms),
      bytesSent: api.hugeBytesSent,
      rssGrowthMiB: Math.round((peak - rss0) / MiB),
    });
  }, { cacheTtlMs: 0 });
});

Deno.test("hostile API server: endless continue pages stop at the page cap", async () => {
  await withLive(async (api, live) => {
    api.fault({ endlessContinue: true });
    const started = performance.now();
    const err = await rejection(live.list("pods", { namespace: "emojivoto" }));
    const ms = performance.now() - started;
    assert.ok(err instanceof KubeApiError, String(err));
    assert.match(err.message, new RegExp(`stopped after ${MAX_LIST_PAGES} pages`));
    assert.match(err.message, /kept returning a continue token/);
    assert.equal(api.received, MAX_LIST_PAGES);
    await sleep(300);
    assert.equal(api.received, MAX_LIST_PAGES, "nothing continues after the error");
    report("API endless continue, no signal", { ms: Math.round(ms), requests: api.received });
  });
});

for (const cacheTtlMs of [3_000, 0]) {
  Deno.test(`hostile API server: endless pages stop when the call is aborted (cache ${cacheTtlMs} ms)`, async () => {
    await withLive(async (api, live) => {
      api.fault({ endlessContinue: true });
      api.setLatency(5); // about 100-200 pages a second
      const controller = new AbortController();
      const listing = live.list("pods", { signal: controller.signal });
      await sleep(250);
      const before = api.received;
      controller.abort(new DOMException("cancelled by the test", "AbortError"));
      const err = await rejection(listing);
      assert.ok(err instanceof DOMException && err.name === "AbortError", String(err));
      const atAbort = api.received;
      await sleep(150); // the one request on the wire at the abort may still arrive
      const settled = api.received;
      await sleep(600);
      const after = api.received - settled;
      assert.ok(before > 5, `the list was running (${before} requests)`);
      assert.ok(settled - atAbort <= 1, `${settled - atAbort} requests right after the abort`);
      assert.equal(after, 0, `${after} requests well after the abort`);
      report(`API endless continue, aborted at 250 ms (cache ${cacheTtlMs} ms)`, {
        requestsBefore: before,
        requestsAfterAbort: api.received - atAbort,
      });
    }, { cacheTtlMs });
  });
}

Deno.test("hostile API server: a shared list keeps running while one caller still waits", async () => {
  await withLive(async (api, live) => {
    api.setLatency(100);
    const a = new AbortController();
    const first = live.list("pods", { signal: a.signal });
    const second = live.list("pods", { signal: AbortSignal.timeout(5_000) });
    a.abort(new DOMException("first caller gone", "AbortError"));
    await assert.rejects(first, (e: unknown) => e instanceof DOMException);
    const pods = await second;
    assert.equal(pods.length, 3);
    assert.equal(api.requests.filter((r) => r.path === "/api/v1/pods").length, 1);
  });
});

Deno.test("hostile tool call: endless pages stop when the tool call times out", async () => {
  await withLive(async (api, live) => {
    api.fault({ endlessContinue: true });
    api.setLatency(5);
    const spec = allTools().find((t) => t.name === "list_meshed_services")!;
    const deps = testDeps([], { cluster: live });
    const started = performance.now();
    const outcome = await runTool(spec, {}, deps, { timeoutMs: 400 });
    const ms = performance.now() - started;
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.match(outcome.error, /did not finish within 0\.4 s/);
    const atTimeout = api.received;
    // Requests already on the wire when the call timed out (one per concurrent list) may
    // still arrive; after that, nothing may be sent.
    await sleep(200);
    const settled = api.received;
    await sleep(600);
    const after = api.received - settled;
    assert.equal(after, 0, `${after} requests well after the tool call timed out`);
    assert.equal(api.inFlight, 0, "no request is left open");
    report("tool call over endless continue, timeout 400 ms", {
      ms: Math.round(ms),
      requestsBefore: atTimeout,
      inFlightAtTimeout: settled - atTimeout,
      requestsAfter: after,
    });
  });
});

Deno.test("hostile API server: 429 and 503 with Retry-After are honoured within the budget", async () => {
  await withLive(async (api, live) => {
    for (const status of [429, 503] as const) {
      api.fault({ throttle: { status, retryAfter: "1", times: 1 } });
      const n0 = api.received;
      const started = performance.now();
      const pods = await live.list("pods", { namespace: "emojivoto" });
      const ms = performance.now() - started;
      assert.equal(pods.length, 3);
      assert.equal(api.received - n0, 2, "one throttled try and one retry");
      assert.ok(ms >= 950, `waited ${ms} ms`);
      report(`API ${status} Retry-After 1 s`, { ms: Math.round(ms), requests: api.received - n0 });
    }
    // A wait longer than the budget is not waited for: a clear error at once.
    api.fault({ throttle: { status: 429, retryAfter: "120", times: 1 } });
    const started = performance.now();
    const err = await rejection(live.list("pods", { namespace: "emojivoto" }));
    const ms = performance.now() - started;
    assert.ok(err instanceof KubeApiError);
    assert.equal(err.status, 429);
    assert.match(err.message, /asked to retry after 120 s, more than the time left/);
    assert.match(err.message, /overloaded/);
    assert.ok(ms < 1_000, `took ${ms} ms`);
    // Throttled for good: at most MAX_RETRIES retries, then the error.
    api.fault({ throttle: { status: 503, retryAfter: "0", times: 1_000 } });
    const n0 = api.received;
    const e2 = await rejection(live.list("pods", { namespace: "emojivoto" }));
    assert.ok(e2 instanceof KubeApiError);
    assert.equal(e2.status, 503);
    assert.equal(api.received - n0, 4);
    // A retry wait is cut short by the signal.
    api.fault({ throttle: { status: 429, retryAfter: "3", times: 1 } });
    const t0 = performance.now();
    const e3 = await rejection(
      live.list("pods", { namespace: "emojivoto", signal: AbortSignal.timeout(300) }),
    );
    assert.ok(e3 instanceof DOMException, String(e3));
    assert.ok(performance.now() - t0 < 1_000);
  }, { cacheTtlMs: 0, timeoutMs: 5_000 });
});

// --- Prometheus ------------------------------------------------------------------------------

/** A Prometheus stand-in answering every query with `answer`. */
function promStandin(answer: (req: Request) => Response | Promise<Response>) {
  let received = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      received++;
      return answer(req);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    get received() {
      return received;
    },
    close: () => server.shutdown(),
  };
}

function vectorBody(result: unknown): string {
  return JSON.stringify({ status: "success", data: { resultType: "vector", result } });
}

Deno.test("hostile Prometheus: wrong shapes are unexpected answers, never TypeErrors", async () => {
  const cases: Array<[string, RegExp]> = [
    [
      vectorBody([null]),
      /unexpected answer from Prometheus at http:\/\/127\.0\.0\.1:\d+: data\.result\[0\]: expected object/,
    ],
    [vectorBody([{ metric: {}, value: [1, 5] }]), /data\.result\[0\]\.value\[1\]: expected string/],
    [vectorBody([{ metric: null, value: [1, "5"] }]), /data\.result\[0\]\.metric: expected record/],
    [vectorBody("x"), /data\.result: expected array/],
    [
      JSON.stringify({ status: "success", data: null }),
      /unexpected answer from Prometheus.*data: expected object/,
    ],
    [JSON.stringify({ status: "maybe" }), /unexpected answer from Prometheus.*status/],
    ["not json at all", /unexpected answer from Prometheus at .*: not JSON/],
    [
      JSON.stringify({ status: "success", data: { resultType: "string", result: [1, "x"] } }),
      /resultType: expected "vector" or "scalar"/,
    ],
  ];
  for (const [body, re] of cases) {
    const prom = promStandin(() => new Response(body));
    try {
      const c = new HttpPromClient({ url: prom.url, timeoutMs: 2_000 });
      const err = await rejection(c.query("up"));
      assert.ok(err instanceof PrometheusUnavailableError, String(err));
      assert.match(err.message, re, body);
      assert.doesNotMatch(err.message, /Cannot read properties|is not a function/);
    } finally {
      await prom.close();
    }
  }
});

Deno.test("hostile Prometheus: down, slow and huge are bounded", async () => {
  // Down: a closed port.
  const closed = promStandin(() => new Response(""));
  const downUrl = closed.url;
  await closed.close();
  let t0 = performance.now();
  let err = await rejection(new HttpPromClient({ url: downUrl, timeoutMs: 2_000 }).query("up"));
  assert.ok(err instanceof PrometheusUnavailableError);
  assert.match(err.message, /Cannot reach Prometheus/);
  report("Prometheus down", { ms: Math.round(performance.now() - t0) });

  // Slow: never answers.
  const slow = promStandin((req) =>
    new Promise((resolve) =>
      req.signal.addEventListener("abort", () => resolve(new Response("")), { once: true })
    )
  );
  try {
    t0 = performance.now();
    err = await rejection(new HttpPromClient({ url: slow.url, timeoutMs: 300 }).query("up"));
    const ms = performance.now() - t0;
    assert.ok(err instanceof PrometheusUnavailableError);
    assert.match(err.message, /did not answer within 300 ms/);
    assert.ok(ms < 1_500, `took ${ms} ms`);
    report("Prometheus hang, timeout 300 ms", { ms: Math.round(ms) });
    // And the caller's signal wins when it is earlier.
    t0 = performance.now();
    err = await rejection(
      new HttpPromClient({ url: slow.url, timeoutMs: 10_000 }).query("up", {
        signal: AbortSignal.timeout(200),
      }),
    );
    assert.match((err as Error).message, /was cancelled/);
    assert.ok(performance.now() - t0 < 1_500);
  } finally {
    await slow.close();
  }

  // Huge: 200 MiB offered, streamed.
  let sent = 0;
  const chunk = new TextEncoder().encode(
    `{"metric":{"a":"${"y".repeat(65_000)}"},"value":[1,"1"]},`,
  );
  const huge = promStandin(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(
            new TextEncoder().encode(
              '{"status":"success","data":{"resultType":"vector","result":[',
            ),
          );
        },
        pull(c) {
          if (sent >= 200 * MiB) return c.close();
          c.enqueue(chunk);
          sent += chunk.length;
        },
      }, { highWaterMark: 1 }),
    )
  );
  try {
    const rss0 = Deno.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
    t0 = performance.now();
    err = await rejection(new HttpPromClient({ url: huge.url, timeoutMs: 10_000 }).query("up"));
    clearInterval(sampler);
    const ms = performance.now() - t0;
    assert.ok(err instanceof PrometheusUnavailableError, String(err));
    assert.match(
      err.message,
      new RegExp(
        `response from Prometheus at http://127\\.0\\.0\\.1:\\d+ larger than ${
          MAX_PROM_RESPONSE_BYTES / MiB
        } MiB`,
      ),
    );
    await sleep(100);
    assert.ok(sent < MAX_PROM_RESPONSE_BYTES + 16 * MiB, `${sent} bytes were read`);
    report("Prometheus huge body (200 MiB offered)", {
      ms: Math.round(ms),
      bytesSent: sent,
      rssGrowthMiB: Math.round((peak - rss0) / MiB),
    });
  } finally {
    await huge.close();
  }
});

Deno.test("hostile Prometheus: 429 with Retry-After is honoured within the query timeout", async () => {
  let n = 0;
  const prom = promStandin(() =>
    ++n === 1
      ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
      : new Response(vectorBody([{ metric: { a: "b" }, value: [1, "2"] }]))
  );
  try {
    const t0 = performance.now();
    const samples = await new HttpPromClient({ url: prom.url, timeoutMs: 5_000 }).query("up");
    const ms = performance.now() - t0;
    assert.deepEqual(samples, [{ metric: { a: "b" }, value: 2 }]);
    assert.equal(prom.received, 2);
    assert.ok(ms >= 950, `waited ${ms} ms`);
    report("Prometheus 429 Retry-After 1 s", { ms: Math.round(ms), requests: prom.received });
    // Longer than the timeout: a clear error at once.
    n = 0;
    const t1 = performance.now();
    const err = await rejection(
      new HttpPromClient({ url: prom.url, timeoutMs: 500 }).query("up"),
    );
    assert.match((err as Error).message, /HTTP 429.*retry after 1 s, more than the time left/);
    assert.ok(performance.now() - t1 < 500);
  } finally {
    await prom.close();
  }
});
