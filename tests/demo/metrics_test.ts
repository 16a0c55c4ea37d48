/**
 * The metrics tools on the demo: answered from the recorded Prometheus
 * (src/demo/prom.ts) over the demo mesh, their numbers match the traffic generator's
 * known truth (tests/support/demo_traffic.ts), the injected incidents show in the trends,
 * and what the recording does not hold is a clear error.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { loadConfig } from "../../src/config.ts";
import { createDemoSource } from "../../src/demo/mod.ts";
import { createDemoPromClient, DEMO_TRAFFIC_SOURCE } from "../../src/demo/prom.ts";
import { SILENT } from "../../src/log.ts";
import { authzQuery } from "../../src/metrics/queries.ts";
import { runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { allTools } from "../../src/tools/mod.ts";
import {
  CDF,
  DROP,
  edgeTruth,
  histogramQuantile,
  SPIKE,
  tcpTruth,
  type Truth,
  workloadTruth,
} from "../support/demo_traffic.ts";

// deno-lint-ignore no-explicit-any
type Data = any;

/** An arbitrary "now", far from the recording's own clock: every time is relative. */
const NOW = new Date("2027-03-02T09:41:17.250Z");
const tools = new Map(allTools().map((t) => [t.name, t]));

function demoDeps(now = NOW): ToolDeps {
  return {
    cluster: createDemoSource(),
    config: loadConfig({}),
    prom: createDemoPromClient(() => now),
    log: SILENT,
    now: () => now,
  };
}

const deps = demoDeps();

async function call(name: string, args: Record<string, unknown>): Promise<Data> {
  const spec = tools.get(name)!;
  const out = await runTool(spec, args, deps);
  assert.ok(out.ok, `${name} ${JSON.stringify(args)} failed: ${!out.ok && out.error}`);
  // `dataSource` (where the answer comes from) is added to every tool's answer centrally
  const { dataSource, ...data } = out.data as Data;
  if (dataSource !== undefined) assert.equal(dataSource.kind, "demo");
  z.object(spec.outputSchema).strict().parse(data);
  return out.data;
}

async function failure(name: string, args: Record<string, unknown>): Promise<string> {
  const out = await runTool(tools.get(name)!, args, deps);
  assert.equal(out.ok, false, `${name} ${JSON.stringify(args)} should fail`);
  return (out as { error: string }).error;
}

/** Equal within the tools' rounding (3 decimals) and float noise. */
function close(actual: unknown, expected: number | null, what: string, tol = 5e-4) {
  if (expected === null) return assert.equal(actual, null, what);
  assert.equal(typeof actual, "number", `${what} is ${actual}`);
  assert.ok(
    Math.abs((actual as number) - expected) <= tol + 1e-6 * Math.abs(expected),
    `${what}: got ${actual}, want ${expected}`,
  );
}

function sameAsTruth(d: Data, t: Truth, what: string) {
  close(d.requestRate, t.rps, `${what} requestRate`);
  close(d.successRate, t.successRate, `${what} successRate`);
  close(d.errorRate, t.successRate === null ? null : 100 - t.successRate, `${what} errorRate`);
}

Deno.test("demo metrics: the recording carries its provenance", () => {
  assert.match(DEMO_TRAFFIC_SOURCE.generator, /gen_demo_traffic\.ts/);
  assert.match(DEMO_TRAFFIC_SOURCE.prometheus, /^Prometheus \d+\.\d+/);
  assert.ok(!Number.isNaN(Date.parse(DEMO_TRAFFIC_SOURCE.generated)));
  assert.match(DEMO_TRAFFIC_SOURCE.inputsHash, /^[0-9a-f]{64}$/);
  assert.match(deps.prom.describe(), /embedded demo recording of viz's Prometheus \(Prometheus/);
});

Deno.test("demo metrics: get_service_metrics matches the generator's truth", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["emojivoto", "web-svc", "emojivoto/web"],
    ["emojivoto", "emoji-svc", "emojivoto/emoji"],
    ["emojivoto", "voting-svc", "emojivoto/voting"],
    ["booksapp", "webapp", "booksapp/webapp"],
    ["booksapp", "books", "booksapp/books"],
    ["booksapp", "authors", "booksapp/authors"],
    ["linkerd", "linkerd-dst", "linkerd/linkerd-destination"],
    ["linkerd-viz", "prometheus", "linkerd-viz/prometheus"],
  ];
  for (const [namespace, service, workload] of cases) {
    await t.step(`${namespace}/${service}`, async () => {
      const d = await call("get_service_metrics", { namespace, service, time_range: "5m" });
      const truth = workloadTruth(workload);
      assert.ok(truth.rps > 0, "the generator sends traffic there");
      assert.equal(d.status, "ok");
      assert.equal(d.partial, false, JSON.stringify(d.warnings));
      assert.deepEqual(d.workload, { kind: "deployment", names: [workload.split("/")[1]] });
      sameAsTruth(d, truth, service);
      assert.equal(d.requestCount, Math.round(truth.rps * 300));
      close(d.latency.p50, truth.p50, "p50");
      close(d.latency.p95, truth.p95, "p95");
      close(d.latency.p99, truth.p99, "p99");
      const tcp = tcpTruth(workload);
      close(d.tcp.openConnections, tcp.open, "open connections");
      close(d.tcp.readBytesPerSecond, tcp.readBps, "read B/s", 5e-3);
      close(d.tcp.writeBytesPerSecond, tcp.writeBps, "write B/s", 5e-3);
      // 5 minutes back from "now", whatever "now" is
      assert.equal(d.timeRange.end, NOW.toISOString());
    });
  }

  await t.step("web: the failing doughnut votes, its caller and its destinations", async () => {
    const d = await call("get_service_metrics", { namespace: "emojivoto", service: "web-svc" });
    close(d.latency.p95, histogramQuantile(0.95, CDF.web), "p95 truth");
    close(d.latency.p95, 150, "p95");
    assert.deepEqual(d.errorsByStatus, { "500": 120 });
    assert.deepEqual(d.topSources, [{
      namespace: "emojivoto",
      workload: "deployment/vote-bot",
      requestRate: 10,
      successRate: 96,
    }]);
    assert.deepEqual(
      d.topDestinations.map((x: Data) => [x.service, x.requestRate, x.successRate]),
      [["emoji-svc", 6, 100], ["voting-svc", 4, 90]],
    );
    // gRPC failures are HTTP 200 with grpc-status 2: errorsByStatus says 200
    const v = await call("get_service_metrics", { namespace: "emojivoto", service: "voting" });
    assert.deepEqual(v.errorsByStatus, { "200": 120 });
    assert.match(v.notes.join("\n"), /assumed its pods belong to Deployment "voting"/);
  });

  await t.step("a longer window sees the incidents", async () => {
    const e = await call("get_service_metrics", {
      namespace: "emojivoto",
      service: "emoji-svc",
      time_range: "1h",
    });
    close(e.requestRate, 6, "emoji 1h rate");
    assert.ok(e.latency.p99 > 100, `emoji 1h p99 ${e.latency.p99}`);
    const v = await call("get_service_metrics", {
      namespace: "emojivoto",
      service: "voting-svc",
      time_range: "1h",
    });
    // 10 of 60 minutes at 40 % success, 50 at 90 %
    close(v.successRate, (50 * 90 + 10 * 40) / 60, "voting 1h success", 0.2);
    const day = await call("get_service_metrics", {
      namespace: "booksapp",
      service: "webapp",
      time_range: "24h",
    });
    close(day.requestRate, 8, "webapp 24h rate", 1e-3);
  });
});

Deno.test("demo metrics: analyze_traffic_flow measures the edges and their authorization", async () => {
  const d = await call("analyze_traffic_flow", {
    source_namespace: "emojivoto",
    source_service: "web",
    target_service: "voting-svc",
    time_range: "10m",
  });
  const truth = edgeTruth("emojivoto/web", "emojivoto", "voting-svc");
  sameAsTruth(d, truth, "web → voting-svc");
  close(d.latencyP50, truth.p50, "p50");
  close(d.latencyP95, truth.p95, "p95");
  close(d.latencyP99, truth.p99, "p99");
  assert.deepEqual(d.errorsByStatus, { "200": 240 });
  assert.equal(d.mtls.status, "all");
  assert.equal(d.authorization.available, true);
  assert.equal(d.authorization.allowed, 2400);
  assert.equal(d.authorization.denied, 0);

  // booksapp's per-route policy: books may GET authors but not modify them
  const b = await call("analyze_traffic_flow", {
    source_namespace: "booksapp",
    source_service: "books",
    target_service: "authors",
  });
  const bt = edgeTruth("booksapp/books", "booksapp", "authors");
  sameAsTruth(b, bt, "books → authors");
  close(b.latencyP95, bt.p95, "p95");
  assert.equal(b.authorization.clientIdentity, "books.booksapp.serviceaccount.identity.");
  assert.equal(b.authorization.allowed, 600);
  assert.equal(b.authorization.denied, Math.round(bt.deniedRps * 300));
  assert.ok(b.authorization.denied > 0);
  const authorsIn = workloadTruth("booksapp/authors");
  assert.equal(b.authorization.targetAllowedTotal, Math.round(authorsIn.rps * 300));
  assert.equal(b.authorization.targetDeniedTotal, Math.round(authorsIn.deniedRps * 300));

  // audit mode: webapp-server allows traffic's requests only through the `audit` authorization
  const a = await call("analyze_traffic_flow", {
    source_namespace: "booksapp",
    source_service: "traffic",
    target_service: "webapp",
  });
  const at = edgeTruth("booksapp/traffic", "booksapp", "webapp");
  sameAsTruth(a, at, "traffic → webapp");
  assert.equal(a.authorization.allowed, Math.round(at.rps * 300));
  assert.equal(a.authorization.denied, 0);
  const webapp = { namespace: "booksapp", kind: "deployment" as const, names: ["webapp"] };
  const audit = await deps.prom.query(authzQuery("allow", webapp, 300), { time: NOW });
  assert.deepEqual(audit.map((s) => [s.metric, s.value]), [[
    { "srv_name": "webapp-server", "authz_kind": "default", "authz_name": "audit" },
    at.rps * 300,
  ]]);

  // no traffic on an edge that does not exist: said, with nulls
  const none = await call("analyze_traffic_flow", {
    source_namespace: "emojivoto",
    source_service: "emoji",
    target_service: "web-svc",
  });
  assert.equal(none.status, "no traffic");
  assert.equal(none.successRate, null);
});

Deno.test("demo metrics: health summary and top services rank by the truth", async () => {
  const h = await call("get_service_health_summary", { namespace: "emojivoto", time_range: "10m" });
  const status = Object.fromEntries(h.services.map((s: Data) => [s.service, s.healthStatus]));
  // voting at 90 % (10 % errors) is critical; web at 96 % and emoji at 100 % are healthy
  assert.deepEqual(status, {
    "voting-svc": "unhealthy",
    "emoji-svc": "healthy",
    "web-svc": "healthy",
  });
  const b = await call("get_service_health_summary", { namespace: "booksapp" });
  for (const s of b.services) {
    sameAsTruth(s, workloadTruth(`booksapp/${s.service}`), s.service);
  }
  assert.equal(b.services[0].service, "authors");

  const top = await call("get_top_services", { namespace: "emojivoto", sort_by: "latency_p95" });
  assert.deepEqual(top.services.map((s: Data) => [s.service, s.latencyP95]), [
    ["web-svc", 150],
    ["emoji-svc", 40],
    ["voting-svc", Number(workloadTruth("emojivoto/voting").p95!.toFixed(3))],
  ]);
  const busiest = await call("get_top_services", { namespace: "booksapp", limit: 2 });
  assert.deepEqual(busiest.services.map((s: Data) => s.service), ["webapp", "authors"]);
});

Deno.test("demo metrics: get_traffic_trends finds the latency spike and the success drop", async () => {
  const d = await call("get_traffic_trends", { namespace: "emojivoto", window: "1h" });
  assert.equal(d.partial, false);
  const found = d.anomalies.map((a: Data) => `${a.service}/${a.metric}/${a.direction}`).sort();
  assert.deepEqual(found, [
    "emoji/latency_p95/rose",
    "voting/success_rate/fell",
    "web/success_rate/fell",
  ]);
  const now = NOW.getTime() / 1000;
  const spike = d.anomalies.find((a: Data) => a.service === "emoji");
  close(spike.from, 40, "spike from");
  close(spike.to, histogramQuantile(0.95, CDF.emojiSpike), "spike to");
  const at = Date.parse(spike.at) / 1000;
  assert.ok(at >= now - SPIKE.from - 1 && at <= now - SPIKE.from + 120, `spike at ${spike.at}`);
  const until = Date.parse(spike.until) / 1000;
  assert.ok(until >= now - SPIKE.to - 61 && until <= now - SPIKE.to + 60, `until ${spike.until}`);
  assert.match(spike.sentence, /^p95 latency of emoji rose from 40 ms to 450 ms at \d\d:\d\d UTC/);
  const drop = d.anomalies.find((a: Data) => a.service === "voting");
  close(drop.from, 90, "drop from");
  close(drop.to, 40, "drop to");
  const dat = Date.parse(drop.at) / 1000;
  assert.ok(dat >= now - DROP.from - 1 && dat <= now - DROP.from + 120, `drop at ${drop.at}`);
  const web = d.anomalies.find((a: Data) => a.service === "web");
  close(web.from, workloadTruth("emojivoto/web").successRate, "web from");
  close(web.to, workloadTruth("emojivoto/web", DROP.from - 60).successRate, "web to");
  const row = d.services.find((s: Data) => s.service === "emoji");
  close(row.request_rate.baselineMedian, 6, "emoji baseline rate");

  // the tool's own example (a day against the same day a week earlier) has data too
  const week = await call("get_traffic_trends", {
    namespace: "emojivoto",
    service: "voting",
    window: "24h",
    compare_to: "7d",
  });
  assert.deepEqual(week.notes.filter((n: string) => /no data/.test(n)), []);
  close(week.services[0].request_rate.baselineMedian, 4, "voting last week");
  const quiet = await call("get_traffic_trends", {
    namespace: "booksapp",
    window: "1h",
    compare_to: "1d",
  });
  assert.deepEqual(quiet.anomalies, []);
  assert.match(quiet.summary[0], /No anomalies in booksapp/);
});

Deno.test("demo metrics: what the recording does not hold is a clear error", async () => {
  const odd = await failure("get_service_metrics", {
    namespace: "emojivoto",
    service: "web-svc",
    time_range: "7m",
  });
  assert.match(odd, /^The demo has no data for this query \(time_range 7m was not recorded\)/);
  assert.match(odd, /emojivoto \(emoji, emoji-svc, vote-bot, voting, voting-svc, web, web-svc\)/);
  assert.match(odd, /time_range 1m, 5m, 10m, 15m, 30m, 1h, 6h, 24h/);
  assert.doesNotMatch(odd, /LINKERD_PROMETHEUS_URL/, "no advice to configure a Prometheus");

  const ns = await failure("get_top_services", { namespace: "default" });
  assert.match(ns, /namespace "default" is not in the demo mesh/);

  const trend = await failure("get_traffic_trends", { namespace: "emojivoto", window: "2h" });
  assert.match(trend, /range queries were recorded only for the get_traffic_trends windows/);
  assert.match(trend, /1h \(compare_to previous, 1d, 7d\)/);

  // asked at another time than "now" (the client's clock), directly
  const prom = createDemoPromClient(() => NOW);
  await assert.rejects(
    prom.query('sum(tcp_open_connections{direction="inbound", namespace="emojivoto"})', {
      time: new Date(NOW.getTime() - 3 * 3600_000),
    }),
    /The demo has no data for this query \(.*asked 180 minutes from now/,
  );
});

Deno.test("demo metrics: a clock a few seconds off still gets the recorded answers", async () => {
  const now = new Date();
  const skewed: ToolDeps = { ...demoDeps(), prom: createDemoPromClient(), now: () => now };
  const out = await runTool(
    tools.get("get_service_metrics")!,
    { namespace: "booksapp", service: "books", time_range: "15m" },
    skewed,
  );
  assert.ok(out.ok, !out.ok ? out.error : "");
  close((out.data as Data).requestRate, workloadTruth("booksapp/books").rps, "books rate");
});
