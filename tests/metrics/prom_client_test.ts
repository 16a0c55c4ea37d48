import assert from "node:assert/strict";
import { PrometheusUnavailableError } from "../../src/errors.ts";
import {
  buildPromClient,
  FallbackPromClient,
  HttpPromClient,
  PromQueryError,
  ProxyPromClient,
  RecordingPromClient,
  type ServiceProxy,
} from "../../src/metrics/prom_client.ts";

interface Seen {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

function fakeFetch(
  respond: (seen: Seen) => Response | Promise<Response>,
): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const f = async (input: RequestInfo | URL, init?: RequestInit) => {
    const s = {
      url: String(input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: String(init?.body ?? ""),
    };
    seen.push(s);
    init?.signal?.throwIfAborted();
    return await respond(s);
  };
  return { fetch: f as typeof fetch, seen };
}

const vector = (result: unknown[], extra: Record<string, unknown> = {}) =>
  Response.json({ status: "success", data: { resultType: "vector", result }, ...extra });

Deno.test("HttpPromClient.query() POSTs a form with query and time, and parses samples", async () => {
  const { fetch, seen } = fakeFetch(() =>
    vector([
      { metric: { a: "1" }, value: [1, "2.5"] },
      { metric: {}, value: [1, "NaN"] },
      { metric: {}, value: [1, "+Inf"] },
    ])
  );
  const c = new HttpPromClient({ url: "http://prom:9090/", timeoutMs: 1000, fetch });
  const r = await c.query('up{a="b"}', { time: new Date(1_700_000_000_500) });
  assert.equal(seen[0]!.url, "http://prom:9090/api/v1/query");
  assert.equal(seen[0]!.method, "POST");
  assert.equal(seen[0]!.headers.get("content-type"), "application/x-www-form-urlencoded");
  const form = new URLSearchParams(seen[0]!.body);
  assert.equal(form.get("query"), 'up{a="b"}');
  assert.equal(form.get("time"), "1700000000.500");
  assert.equal(r[0]!.value, 2.5);
  assert.ok(Number.isNaN(r[1]!.value));
  assert.equal(r[2]!.value, Infinity);
  assert.equal(c.describe(), "http://prom:9090");
});

Deno.test("HttpPromClient sends a bearer token or basic auth", async () => {
  const { fetch, seen } = fakeFetch(() => vector([]));
  await new HttpPromClient({ url: "http://p", timeoutMs: 1000, bearerToken: "t0k", fetch }).query(
    "up",
  );
  await new HttpPromClient({
    url: "http://p",
    timeoutMs: 1000,
    basicAuth: { username: "u", password: "pä" },
    fetch,
  }).query("up");
  assert.equal(seen[0]!.headers.get("authorization"), "Bearer t0k");
  const basic = seen[1]!.headers.get("authorization")!;
  assert.equal(
    new TextDecoder().decode(Uint8Array.from(atob(basic.slice(6)), (c) => c.charCodeAt(0))),
    "u:pä",
  );
});

Deno.test("HttpPromClient.queryRange() sends start, end and step and parses matrices", async () => {
  const { fetch, seen } = fakeFetch(() =>
    Response.json({
      status: "success",
      data: {
        resultType: "matrix",
        result: [{ metric: { x: "y" }, values: [[10, "1"], [70, "2"]] }],
      },
    })
  );
  const c = new HttpPromClient({ url: "http://p", timeoutMs: 1000, fetch });
  const r = await c.queryRange("up", {
    start: new Date(0),
    end: new Date(60_000),
    stepSeconds: 60,
  });
  const form = new URLSearchParams(seen[0]!.body);
  assert.equal(seen[0]!.url, "http://p/api/v1/query_range");
  assert.deepEqual([form.get("start"), form.get("end"), form.get("step")], [
    "0.000",
    "60.000",
    "60",
  ]);
  assert.deepEqual(r, [{ metric: { x: "y" }, values: [[10, 1], [70, 2]] }]);
});

Deno.test("HttpPromClient maps Prometheus errors, HTTP errors and warnings", async () => {
  const cases: Array<[Response, RegExp]> = [
    [
      Response.json({ status: "error", errorType: "bad_data", error: "parse error at char 3" }, {
        status: 400,
      }),
      /rejected the query \(bad_data\): parse error at char 3/,
    ],
    [
      new Response("upstream broke", { status: 502, statusText: "Bad Gateway" }),
      /HTTP 502 Bad Gateway: upstream broke/,
    ],
    [
      new Response("", { status: 401, statusText: "Unauthorized" }),
      /HTTP 401.*LINKERD_PROMETHEUS_TOKEN/,
    ],
    [
      new Response("<html>login</html>", { status: 200 }),
      /unexpected answer from Prometheus at http:\/\/p: not JSON/,
    ],
  ];
  for (const [res, re] of cases) {
    const { fetch } = fakeFetch(() => res);
    const c = new HttpPromClient({ url: "http://p", timeoutMs: 1000, fetch });
    await assert.rejects(c.query("up"), (e: unknown) => {
      assert.ok(e instanceof PrometheusUnavailableError);
      assert.match((e as Error).message, re);
      return true;
    });
  }
  const { fetch } = fakeFetch(() => vector([], { warnings: ["partial response: store x down"] }));
  const warnings: string[] = [];
  await new HttpPromClient({ url: "http://p", timeoutMs: 1000, fetch }).query("up", {
    onWarning: (w) => warnings.push(w),
  });
  assert.deepEqual(warnings, ["partial response: store x down"]);
});

Deno.test("HttpPromClient reports unreachable, timeout and cancel distinctly", async () => {
  const down = fakeFetch(() => Promise.reject(new TypeError("Connection refused (os error 111)")));
  await assert.rejects(
    new HttpPromClient({ url: "http://p", timeoutMs: 1000, fetch: down.fetch }).query("up"),
    (e: unknown) =>
      e instanceof PromQueryError && e.reason === "unreachable" &&
      /Cannot reach Prometheus at http:\/\/p: Connection refused/.test(e.message),
  );
  const hang: typeof fetch = (_i, init) =>
    new Promise((_r, reject) =>
      init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))
    );
  const t0 = Date.now();
  await assert.rejects(
    new HttpPromClient({ url: "http://p", timeoutMs: 100, fetch: hang }).query("up"),
    (e: unknown) =>
      e instanceof PromQueryError && e.reason === "timeout" && /within 100 ms/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 1000);
  const ac = new AbortController();
  const p = new HttpPromClient({ url: "http://p", timeoutMs: 5000, fetch: hang }).query("up", {
    signal: ac.signal,
  });
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof PromQueryError && e.reason === "cancelled");
});

function fakeProxy(
  answer: () => unknown,
): ServiceProxy & { calls: Array<[string, Record<string, string>]> } {
  const calls: Array<[string, Record<string, string>]> = [];
  return {
    calls,
    describe: () => "API server https://10.0.0.1:6443",
    get(path, params) {
      calls.push([path, params]);
      return Promise.resolve(answer());
    },
  };
}

Deno.test("ProxyPromClient queries through the API server's service proxy path", async () => {
  const proxy = fakeProxy(() => ({
    status: "success",
    data: { resultType: "vector", result: [] },
  }));
  const c = new ProxyPromClient({ proxy, timeoutMs: 1000 });
  await c.query("up", { time: new Date(1000) });
  assert.deepEqual(proxy.calls[0], [
    "/api/v1/namespaces/linkerd-viz/services/prometheus:9090/proxy/api/v1/query",
    { query: "up", time: "1.000" },
  ]);
  assert.match(c.describe(), /services\/prometheus:9090\/proxy via the Kubernetes API server/);
});

Deno.test("FallbackPromClient uses the proxy when the URL is unreachable and says so", async () => {
  const down = fakeFetch(() => Promise.reject(new TypeError("dns error: no such host")));
  const http = new HttpPromClient({
    url: "http://prometheus.linkerd-viz.svc.cluster.local:9090",
    timeoutMs: 500,
    fetch: down.fetch,
  });
  const proxy = fakeProxy(() => ({
    status: "success",
    data: { resultType: "vector", result: [{ metric: {}, value: [1, "7"] }] },
  }));
  let now = 0;
  const c = new FallbackPromClient(http, new ProxyPromClient({ proxy, timeoutMs: 500 }), {
    now: () => now,
  });
  assert.match(c.describe(), /falling back to/);
  assert.equal((await c.query("up"))[0]!.value, 7);
  assert.match(
    c.describe(),
    /via the Kubernetes API server .*\(http:\/\/prometheus\.linkerd-viz.*was not reachable\)/,
  );
  await c.query("up");
  assert.equal(down.seen.length, 1, "sticks to the proxy for a while");
  now = 120_000;
  await c.query("up");
  assert.equal(down.seen.length, 2, "retries the URL later");
  // Query errors are not connectivity errors: no fallback.
  const bad = fakeFetch(() =>
    Response.json({ status: "error", errorType: "bad_data", error: "x" }, { status: 400 })
  );
  const c2 = new FallbackPromClient(
    new HttpPromClient({ url: "http://p", timeoutMs: 500, fetch: bad.fetch }),
    new ProxyPromClient({ proxy, timeoutMs: 500 }),
  );
  const before = proxy.calls.length;
  await assert.rejects(c2.query("up"), /rejected the query/);
  assert.equal(proxy.calls.length, before);
});

Deno.test("FallbackPromClient reports both failures", async () => {
  const down = fakeFetch(() => Promise.reject(new TypeError("connection refused")));
  const proxy: ServiceProxy = {
    describe: () => "API server x",
    get: () => Promise.reject(new Error("403 Forbidden: services/proxy")),
  };
  const c = buildPromClient(
    { url: "http://p", isDefault: true, timeoutMs: 500 },
    { fetch: down.fetch, serviceProxy: proxy },
  );
  await assert.rejects(
    c.query("up"),
    /Cannot reach Prometheus at http:\/\/p.*the fallback failed too: .*403 Forbidden/,
  );
});

Deno.test("RecordingPromClient records every query", async () => {
  const { fetch } = fakeFetch(() => vector([]));
  const rec = new RecordingPromClient(
    new HttpPromClient({ url: "http://p", timeoutMs: 500, fetch }),
  );
  await rec.query("a", { time: new Date(5) });
  await rec.queryRange("b", { start: new Date(0), end: new Date(1), stepSeconds: 1 }).catch(
    () => {},
  );
  assert.deepEqual(rec.queries.map((q) => [q.kind, q.promql]), [["query", "a"], [
    "query_range",
    "b",
  ]]);
});

Deno.test("createPromClient() falls back through a live cluster's proxyGet", async () => {
  const { createPromClient, HttpPromClient: Http } = await import("../../src/metrics/mod.ts");
  const { loadConfig } = await import("../../src/config.ts");
  const config = loadConfig({
    LINKERD_PROMETHEUS_URL: "http://127.0.0.1:9",
    LINKERD_VIZ_NAMESPACE: "viz",
  });
  const down = fakeFetch(() => Promise.reject(new TypeError("connection refused")));
  const calls: string[] = [];
  let answer = { status: 200, contentType: "application/json", body: "" };
  const live = {
    kind: "live" as const,
    server: "https://10.0.0.1:6443",
    describe: () => "cluster",
    list: () => Promise.resolve([]),
    get: () => Promise.resolve(undefined),
    proxyGet(path: string) {
      calls.push(path);
      return Promise.resolve(answer);
    },
  };
  answer.body = JSON.stringify({
    status: "success",
    data: { resultType: "vector", result: [{ metric: {}, value: [1, "3"] }] },
  });
  const c = createPromClient(config, { cluster: live, fetch: down.fetch });
  assert.equal((await c.query("up"))[0]!.value, 3);
  assert.deepEqual(calls, ["/api/v1/namespaces/viz/services/prometheus:9090/proxy/api/v1/query"]);
  assert.match(
    c.describe(),
    /via the Kubernetes API server https:\/\/10\.0\.0\.1:6443 \(http:\/\/127\.0\.0\.1:9 was not reachable\)/,
  );
  answer = {
    status: 403,
    contentType: "application/json",
    body: '{"kind":"Status","reason":"Forbidden"}',
  };
  const c2 = createPromClient(config, { cluster: live, fetch: down.fetch });
  await assert.rejects(c2.query("up"), /fallback failed too: .*answered HTTP 403/);
  // Manifests or demo sources: the URL only.
  const manifests = { ...live, kind: "manifests" as const };
  assert.ok(createPromClient(config, { cluster: manifests }) instanceof Http);
});

Deno.test("HttpPromClient turns URL userinfo into basic auth and never shows it", async () => {
  const { fetch, seen } = fakeFetch(() => new Response("down", { status: 502 }));
  const c = new HttpPromClient({
    url: "https://ops:s3cr%40t-pass@prom.example:9090/prefix/",
    timeoutMs: 1000,
    fetch,
  });
  assert.equal(c.url, "https://prom.example:9090/prefix");
  assert.equal(c.describe(), "https://prom.example:9090/prefix");
  const err = await c.query("up").then(() => undefined, (e: Error) => e);
  assert.ok(err instanceof PromQueryError);
  assert.match(
    err.message,
    /^Prometheus at https:\/\/prom\.example:9090\/prefix answered HTTP 502/,
  );
  assert.ok(!err.message.includes("s3cr"), err.message);
  assert.equal(seen[0]!.url, "https://prom.example:9090/prefix/api/v1/query");
  assert.equal(seen[0]!.headers.get("authorization"), `Basic ${btoa("ops:s3cr@t-pass")}`);
  // Explicit credentials win over the URL's.
  new HttpPromClient({ url: "http://a:b@p", timeoutMs: 1000, bearerToken: "tok", fetch })
    .query("up").catch(() => {});
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(seen[1]!.headers.get("authorization"), "Bearer tok");
});
