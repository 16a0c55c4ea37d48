/**
 * Every metrics tool when Prometheus is down, slow, failing or partial, and when the
 * arguments are hostile: a clear error or a partial answer, within the timeout.
 */
import assert from "node:assert/strict";
import {
  FallbackPromClient,
  HttpPromClient,
  ProxyPromClient,
  RecordingPromClient,
  type ServiceProxy,
} from "../../src/metrics/prom_client.ts";
import { runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { metricsTools } from "../../src/tools/metrics.ts";
import { testDeps } from "../_helpers.ts";
import { HOSTILE } from "./_promql.ts";

const tools = metricsTools();
const ARGS: Record<string, Record<string, unknown>> = {
  "get_service_metrics": { namespace: "emojivoto", service: "web" },
  "analyze_traffic_flow": {
    source_namespace: "emojivoto",
    source_service: "web",
    target_service: "voting",
  },
  "get_service_health_summary": { namespace: "emojivoto" },
  "get_top_services": { namespace: "emojivoto" },
  "get_traffic_trends": { namespace: "emojivoto", window: "1h" },
};

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A tiny Prometheus stand-in on 127.0.0.1. */
function serve(handler: (req: Request, body: URLSearchParams) => Response | Promise<Response>) {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => handler(req, new URLSearchParams(await req.text())),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => ac.abort(),
    done: server.finished,
  };
}

function depsFor(url: string, timeoutMs: number): ToolDeps {
  return testDeps([], { prom: new HttpPromClient({ url, timeoutMs }) });
}

async function eachTool(
  deps: ToolDeps,
  check: (name: string, out: Awaited<ReturnType<typeof runTool>>, ms: number) => void,
) {
  for (const t of tools) {
    const t0 = Date.now();
    const out = await runTool(t, ARGS[t.name], deps, { timeoutMs: 10_000 });
    check(t.name, out, Date.now() - t0);
  }
}

Deno.test("metrics tools: Prometheus down (closed port) gives a clear error fast", async () => {
  const url = `http://127.0.0.1:${freePort()}`;
  await eachTool(depsFor(url, 2000), (name, out, ms) => {
    assert.ok(!out.ok, `${name} succeeded`);
    assert.match(out.error, new RegExp(`Cannot reach Prometheus at ${url}`), name);
    assert.match(out.error, /set LINKERD_PROMETHEUS_URL/, name);
    assert.ok(ms < 2000, `${name} took ${ms} ms`);
  });
});

Deno.test({
  name: "metrics tools: slow Prometheus times out within the configured timeout",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const release: Array<() => void> = [];
    const srv = serve(async () => {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 3000);
        release.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      return Response.json({ status: "success", data: { resultType: "vector", result: [] } });
    });
    try {
      await eachTool(depsFor(srv.url, 300), (name, out, ms) => {
        assert.ok(!out.ok, `${name} succeeded`);
        assert.match(out.error, /did not answer within 300 ms/, name);
        assert.ok(ms < 1500, `${name} took ${ms} ms`);
      });
    } finally {
      release.forEach((r) => r());
      srv.close();
      await srv.done;
    }
  },
});

Deno.test("metrics tools: Prometheus query errors and HTTP errors are reported", async () => {
  for (
    const [res, re] of [
      [
        () =>
          Response.json({
            status: "error",
            errorType: "execution",
            error: "query processing would load too many samples into memory",
          }, { status: 422 }),
        /rejected the query \(execution\): query processing would load too many samples/,
      ],
      [
        () =>
          new Response("no healthy upstream", { status: 503, statusText: "Service Unavailable" }),
        /HTTP 503 Service Unavailable: no healthy upstream/,
      ],
    ] as const
  ) {
    const srv = serve(res);
    try {
      await eachTool(depsFor(srv.url, 2000), (name, out) => {
        assert.ok(!out.ok, `${name} succeeded`);
        assert.match(out.error, re, name);
      });
    } finally {
      srv.close();
      await srv.done;
    }
  }
});

Deno.test("metrics tools: partial data is surfaced, not hidden", async () => {
  // Warnings on every answer; latency (histogram_quantile) queries fail outright.
  const srv = serve((_req, body) => {
    const q = body.get("query") ?? "";
    if (q.startsWith("histogram_quantile")) {
      return Response.json({ status: "error", errorType: "timeout", error: "query timed out" }, {
        status: 503,
      });
    }
    const range = body.has("step");
    return Response.json({
      status: "success",
      warnings: ["remote store eu-west unavailable: results may be incomplete"],
      data: range ? { resultType: "matrix", result: [] } : {
        resultType: "vector",
        result: [
          { metric: { classification: "success", deployment: "web" }, value: [1, "95"] },
          { metric: { classification: "failure", deployment: "web" }, value: [1, "5"] },
        ],
      },
    });
  });
  try {
    const deps = depsFor(srv.url, 2000);
    const sm = await runTool(
      tools.find((t) => t.name === "get_service_metrics")!,
      ARGS.get_service_metrics,
      deps,
    );
    assert.ok(sm.ok);
    // deno-lint-ignore no-explicit-any
    const d = sm.data as any;
    assert.equal(d.partial, true);
    assert.equal(d.successRate, 95);
    assert.equal(d.latency.p95, null);
    assert.ok(d.warnings.some((w: string) => /p95 latency is missing: .*query timed out/.test(w)));
    assert.ok(
      d.warnings.some((w: string) => /Prometheus warned: remote store eu-west unavailable/.test(w)),
    );
    const hs = await runTool(
      tools.find((t) => t.name === "get_service_health_summary")!,
      ARGS.get_service_health_summary,
      deps,
    );
    assert.ok(hs.ok);
    // deno-lint-ignore no-explicit-any
    assert.equal((hs.data as any).partial, true);
  } finally {
    srv.close();
    await srv.done;
  }
});

Deno.test("metrics tools: the API server proxy answers when the URL is unreachable", async () => {
  const srv = serve(() =>
    Response.json({ status: "success", data: { resultType: "vector", result: [] } })
  );
  const paths: string[] = [];
  const proxy: ServiceProxy = {
    describe: () => "API server https://kind:6443",
    async get(path, params, signal) {
      paths.push(path);
      // Stand-in for the live client: forward to the fake Prometheus.
      const res = await fetch(`${srv.url}${path.replace(/^.*\/proxy/, "")}`, {
        method: "POST",
        body: new URLSearchParams(params),
        ...(signal ? { signal } : {}),
      });
      return await res.json();
    },
  };
  try {
    const url = `http://127.0.0.1:${freePort()}`;
    const prom = new FallbackPromClient(
      new HttpPromClient({ url, timeoutMs: 1000 }),
      new ProxyPromClient({ proxy, timeoutMs: 1000 }),
    );
    const out = await runTool(tools[0]!, ARGS.get_service_metrics, testDeps([], { prom }));
    assert.ok(out.ok, !out.ok ? out.error : "");
    // deno-lint-ignore no-explicit-any
    const d = out.data as any;
    assert.match(d.prometheus, /proxy via the Kubernetes API server https:\/\/kind:6443/);
    assert.match(d.prometheus, new RegExp(`${url} was not reachable`));
    assert.equal(d.status, "no traffic");
    assert.ok(
      paths.every((p) =>
        p === "/api/v1/namespaces/linkerd-viz/services/prometheus:9090/proxy/api/v1/query"
      ),
    );
  } finally {
    srv.close();
    await srv.done;
  }
});

Deno.test("metrics tools: hostile arguments are rejected before any query is sent", async () => {
  const rec = new RecordingPromClient(
    new HttpPromClient({ url: "http://127.0.0.1:9", timeoutMs: 100 }),
  );
  const deps = testDeps([], { prom: rec });
  const stringArgs: Record<string, string[]> = {
    "get_service_metrics": ["namespace", "service", "time_range"],
    "analyze_traffic_flow": [
      "source_namespace",
      "source_service",
      "target_namespace",
      "target_service",
      "time_range",
    ],
    "get_service_health_summary": ["namespace", "time_range"],
    "get_top_services": ["namespace", "time_range"],
    "get_traffic_trends": ["namespace", "service", "window"],
  };
  for (const t of tools) {
    for (const arg of stringArgs[t.name]!) {
      for (const v of HOSTILE) {
        const out = await runTool(t, { ...ARGS[t.name], [arg]: v }, deps);
        assert.ok(!out.ok, `${t.name} accepted ${arg}=${JSON.stringify(v.slice(0, 30))}`);
        assert.match(
          out.error,
          /Cannot (use|parse) |Invalid arguments/,
          `${t.name}.${arg}: ${out.error}`,
        );
        assert.ok(out.error.length < 600, "the error does not echo a 10 kB value");
      }
    }
  }
  assert.equal(rec.queries.length, 0);
  const bad = await runTool(tools[2]!, {
    namespace: "emojivoto",
    error_rate_warning: 20,
    error_rate_critical: 10,
  }, deps);
  assert.ok(!bad.ok && /must not be greater/.test(bad.error));
  const range = await runTool(tools[0]!, { ...ARGS.get_service_metrics, time_range: "31d" }, deps);
  assert.ok(!range.ok && /between 1m and 30d/.test(range.error));
});

Deno.test("metrics tools: unexpected Prometheus shapes, huge answers and throttling are clear errors", async () => {
  const MiB = 1024 * 1024;
  const cases: Array<[() => Response, RegExp]> = [
    [
      () => Response.json({ status: "success", data: { resultType: "vector", result: [null] } }),
      // Range queries (trends) are told they got a vector.
      /unexpected answer from Prometheus at http:\/\/127\.0\.0\.1:\d+: data\.(result\[0\]: expected object|resultType: expected "matrix", got "vector")/,
    ],
    [
      () =>
        Response.json({
          status: "success",
          data: { resultType: "matrix", result: [{ metric: {}, values: [[1, null]] }] },
        }),
      /unexpected answer from Prometheus at .*: data\.result(Type: expected "vector"|\[0\]\.values\[0\]\[1\]: expected string)/,
    ],
    [() => new Response("<<<garbage>>>"), /unexpected answer from Prometheus at .*: not JSON/],
    [
      () =>
        new Response(new Uint8Array(20 * MiB).fill(32), {
          headers: { "content-type": "application/json" },
        }),
      /response from Prometheus at http:\/\/127\.0\.0\.1:\d+ larger than 16 MiB/,
    ],
    [
      () => new Response("busy", { status: 429, headers: { "retry-after": "3600" } }),
      /HTTP 429 .*retry after 3600 s, more than the time left/,
    ],
  ];
  for (const [res, re] of cases) {
    const srv = serve(res);
    try {
      await eachTool(depsFor(srv.url, 2000), (name, out, ms) => {
        assert.ok(!out.ok, `${name} succeeded`);
        assert.match(out.error, re, `${name}: ${out.error}`);
        assert.doesNotMatch(
          out.error,
          /Cannot read properties|failed unexpectedly|TypeError/,
          name,
        );
        assert.ok(ms < 5_000, `${name} took ${ms} ms`);
      });
    } finally {
      srv.close();
      await srv.done;
    }
  }
});
