/**
 * The metrics tools against a real Prometheus backfilled with the generator's
 * scenario (tests/support/openmetrics_gen.ts): the numbers they return match the
 * generator's true values, and every query they send parses as PromQL.
 */
import assert from "node:assert/strict";
import { HttpPromClient, RecordingPromClient } from "../../src/metrics/prom_client.ts";
import { inboundResponsesQuery } from "../../src/metrics/queries.ts";
import { resultSchema, runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { metricsTools } from "../../src/tools/metrics.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { testDeps } from "../_helpers.ts";
import { connectInProcess } from "../_mcp.ts";
import {
  BURST,
  NS,
  openMetrics,
  quantileBucket,
  scenario,
  SPIKE,
  TRUTH,
  WEB_CDF,
} from "../support/openmetrics_gen.ts";
import { SKIP_REASON, startPrometheus, type TestPrometheus } from "../support/prometheus.ts";
import { parseErrors } from "./_promql.ts";

const tools = new Map(metricsTools().map((t) => [t.name, t]));
/** Evaluation time: a whole minute, one minute in the past. */
const END = Math.floor(Date.now() / 60_000) * 60 - 60;

function close(actual: unknown, expected: number, what: string, tol = 1e-6) {
  assert.equal(typeof actual, "number", `${what} is ${actual}`);
  assert.ok(
    Math.abs((actual as number) - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: got ${actual}, want ${expected}`,
  );
}

// deno-lint-ignore no-explicit-any
type Data = any;

async function call(
  deps: ToolDeps,
  name: string,
  args: Record<string, unknown>,
): Promise<Data> {
  const spec = tools.get(name)!;
  const out = await runTool(spec, args, deps);
  assert.ok(out.ok, `${name} failed: ${!out.ok && out.error}`);
  // The answer matches the declared output schema.
  resultSchema(spec).strict().parse(out.data);
  return out.data;
}

const CLUSTER: KubeObject[] = [
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "redis", namespace: NS },
    spec: { selector: { app: "redis" } },
  },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "redis-0",
      namespace: NS,
      labels: { app: "redis" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "redis" }],
    },
    spec: { containers: [{ name: "redis" }] },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web-svc", namespace: NS },
    spec: { selector: { app: "web" } },
  },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web-7d9c8-abcde",
      namespace: NS,
      labels: { app: "web", "linkerd.io/proxy-deployment": "web" },
    },
    spec: { serviceAccountName: "web", containers: [{ name: "web" }] },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "ghost", namespace: NS },
    spec: { selector: { app: "ghost" } },
  },
];

Deno.test({
  name: "metrics tools against a real Prometheus",
  ignore: SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const prom: TestPrometheus = await startPrometheus(openMetrics(scenario(), END, 3 * 3600));
    const rec = new RecordingPromClient(new HttpPromClient({ url: prom.url, timeoutMs: 10_000 }));
    const deps = testDeps([], { prom: rec, now: () => new Date(END * 1000) });
    const withCluster = testDeps(CLUSTER, { prom: rec, now: () => new Date(END * 1000) });
    try {
      await t.step("get_service_metrics: web's golden metrics match the generator", async () => {
        const d = await call(deps, "get_service_metrics", {
          namespace: NS,
          service: "web",
          time_range: "5m",
        });
        assert.equal(d.prometheus, prom.url);
        assert.equal(d.status, "ok");
        assert.equal(d.deployment, "web");
        close(d.requestRate, TRUTH.web.rps, "requestRate");
        assert.equal(d.requestCount, 3000);
        close(d.successRate, TRUTH.web.successRate, "successRate");
        close(d.errorRate, 5, "errorRate");
        close(d.latency.p50, TRUTH.web.p50, "p50");
        close(d.latency.p95, TRUTH.web.p95, "p95");
        close(d.latency.p99, TRUTH.web.p99, "p99");
        [10, 150, 190].forEach((v, i) =>
          close([TRUTH.web.p50, TRUTH.web.p95, TRUTH.web.p99][i], v, "truth")
        );
        const [lo, hi] = quantileBucket(0.95, WEB_CDF);
        assert.ok(d.latency.p95 >= lo && d.latency.p95 <= hi, "p95 within its bucket");
        close(d.latency.mean, TRUTH.web.mean, "mean");
        assert.deepEqual(d.errorsByStatus, { "500": 150 });
        assert.deepEqual(d.topSources, [
          { namespace: NS, workload: "deployment/vote-bot", requestRate: 10, successRate: 95 },
        ]);
        assert.deepEqual(d.topDestinations.map((x: Data) => [x.service, x.requestRate]), [
          ["emoji", 6],
          ["voting", 4],
          ["legacy-api", 0.5],
        ]);
        close(d.topDestinations[1].successRate, 90, "voting successRate");
        assert.equal(d.tcp.openConnections, TRUTH.web.openConnections);
        assert.equal(d.tcp.readBytes, TRUTH.web.readBps * 300);
        assert.equal(d.tcp.writeBytes, TRUTH.web.writeBps * 300);
        close(d.tcp.readBytesPerSecond, 1000, "readBytesPerSecond");
        assert.equal(d.partial, false);
        assert.match(d.notes.join("\n"), /not found .*assumed its pods belong to Deployment "web"/);
      });

      await t.step("get_service_metrics: a longer window, voting, emoji", async () => {
        const v = await call(deps, "get_service_metrics", {
          namespace: NS,
          service: "voting",
          time_range: "5m",
        });
        close(v.successRate, 90, "voting successRate");
        assert.deepEqual(v.errorsByStatus, { "503": 120 });
        close(v.latency.p95, TRUTH.voting.p95, "voting p95");
        const e = await call(deps, "get_service_metrics", {
          namespace: NS,
          service: "emoji",
          time_range: "5m",
        });
        close(e.latency.p95, TRUTH.emoji.p95, "emoji p95");
        close(TRUTH.emoji.p95, 40, "emoji truth");
        // Over 1h the emoji spike (10 of 60 minutes at 450 ms p95) shows in p99.
        const e1h = await call(deps, "get_service_metrics", {
          namespace: NS,
          service: "emoji",
          time_range: "1h",
        });
        close(e1h.requestRate, 6, "emoji 1h rate");
        assert.ok(e1h.latency.p99 > 100, `emoji 1h p99 ${e1h.latency.p99}`);
      });

      await t.step(
        "get_service_metrics: idle and unknown services give null, not 0 %",
        async () => {
          for (const service of ["idle-svc", "nothing-here"]) {
            const d = await call(deps, "get_service_metrics", { namespace: NS, service });
            assert.equal(d.status, "no traffic");
            assert.equal(d.requestRate, 0);
            assert.equal(d.successRate, null);
            assert.equal(d.errorRate, null);
            assert.deepEqual(d.latency, { p50: null, p95: null, p99: null, mean: null });
            assert.deepEqual(d.errorsByStatus, {});
          }
        },
      );

      await t.step("get_service_metrics: Service → StatefulSet via the cluster", async () => {
        const d = await call(withCluster, "get_service_metrics", {
          namespace: NS,
          service: "redis",
        });
        assert.deepEqual(d.workload, { kind: "statefulset", names: ["redis"] });
        assert.equal(d.deployment, undefined);
        close(d.requestRate, TRUTH.redis.rps, "redis rate");
        close(d.successRate, 100, "redis success");
        assert.deepEqual(d.notes, []);
        const w = await call(withCluster, "get_service_metrics", {
          namespace: NS,
          service: "web-svc",
        });
        assert.equal(w.deployment, "web");
        close(w.requestRate, 10, "web-svc rate");
      });

      await t.step("analyze_traffic_flow: web → voting edge, mTLS and authz", async () => {
        const d = await call(deps, "analyze_traffic_flow", {
          source_namespace: NS,
          source_service: "web",
          target_service: "voting",
          time_range: "5m",
        });
        assert.equal(d.target.namespace, NS);
        close(d.requestRate, TRUTH.edgeWebVoting.rps, "edge rate");
        assert.equal(d.requestCount, 1200);
        close(d.successRate, 90, "edge success");
        close(d.errorRate, 10, "edge errors");
        assert.deepEqual(d.errorsByStatus, { "503": 120 });
        close(d.latencyP50, TRUTH.edgeWebVoting.p50, "edge p50");
        close(d.latencyP95, TRUTH.edgeWebVoting.p95, "edge p95");
        close(d.latencyP99, TRUTH.edgeWebVoting.p99, "edge p99");
        assert.equal(d.bytesSent, 300 * 300);
        assert.equal(d.bytesReceived, 800 * 300);
        assert.equal(d.mtls.status, "all");
        assert.equal(d.mtls.percent, 100);
        assert.deepEqual(d.authorization, {
          available: true,
          clientIdentity: "web.emojivoto.serviceaccount.identity.",
          allowed: 1200,
          denied: 60,
          targetAllowedTotal: 1200,
          targetDeniedTotal: 210,
        });
      });

      await t.step("analyze_traffic_flow: source Service resolved via the cluster", async () => {
        const d = await call(withCluster, "analyze_traffic_flow", {
          source_namespace: NS,
          source_service: "web-svc",
          target_service: "voting",
        });
        assert.equal(d.source.deployment, "web");
        close(d.requestRate, 4, "edge rate");
        assert.equal(d.authorization.allowed, 1200);
        assert.match(d.notes.join("\n"), /ServiceAccount of the source's pods/);
      });

      await t.step("analyze_traffic_flow: plaintext edge and no authz metrics", async () => {
        const d = await call(deps, "analyze_traffic_flow", {
          source_namespace: NS,
          source_service: "web",
          target_namespace: NS,
          target_service: "legacy-api",
        });
        close(d.requestRate, 0.5, "legacy rate");
        assert.equal(d.mtls.status, "none");
        assert.deepEqual(d.mtls.breakdown, [
          {
            tls: "no_identity",
            no_tls_reason: "not_provided_by_service_discovery",
            requestCount: 150,
          },
        ]);
        assert.equal(d.authorization.available, false);
        assert.equal(d.authorization.allowed, null);
        const none = await call(deps, "analyze_traffic_flow", {
          source_namespace: NS,
          source_service: "emoji",
          target_service: "web",
        });
        assert.equal(none.status, "no traffic");
        assert.equal(none.successRate, null);
        assert.equal(none.errorRate, null);
        assert.equal(none.mtls.status, "unknown");
      });

      await t.step("get_service_health_summary: statuses, issues, few queries", async () => {
        const before = rec.queries.length;
        const d = await call(deps, "get_service_health_summary", { namespace: NS });
        assert.ok(rec.queries.length - before <= 3, `sent ${rec.queries.length - before} queries`);
        const status = Object.fromEntries(d.services.map((s: Data) => [s.service, s.healthStatus]));
        assert.deepEqual(status, {
          voting: "unhealthy",
          web: "degraded",
          emoji: "healthy",
          redis: "healthy",
          "idle-svc": "idle",
        });
        assert.deepEqual(d.services.map((s: Data) => s.service).slice(0, 2), ["voting", "web"]);
        const voting = d.services.find((s: Data) => s.service === "voting");
        assert.equal(voting.issues.length, 1);
        assert.equal(voting.issues[0].metric, "error_rate");
        assert.equal(voting.issues[0].severity, "critical");
        close(voting.issues[0].value, 10, "voting error rate");
        const idle = d.services.find((s: Data) => s.service === "idle-svc");
        assert.equal(idle.successRate, null);
        assert.equal(idle.errorRate, null);
        assert.deepEqual(d.counts, { unhealthy: 1, degraded: 1, healthy: 2, idle: 1 });

        const strict = await call(deps, "get_service_health_summary", {
          namespace: NS,
          error_rate_warning: 20,
          error_rate_critical: 50,
          latency_p95_warning_ms: 100,
        });
        const st = Object.fromEntries(strict.services.map((s: Data) => [s.service, s]));
        assert.equal(st.voting.healthStatus, "healthy");
        assert.equal(st.web.healthStatus, "degraded");
        assert.equal(st.web.issues[0].metric, "latency_p95");
        assert.equal(strict.thresholds.latencyP95WarningMs, 100);

        const c = await call(withCluster, "get_service_health_summary", { namespace: NS });
        const cs = Object.fromEntries(c.services.map((s: Data) => [s.service, s.healthStatus]));
        assert.equal(cs.ghost, "unknown");
        assert.equal(cs["web-svc"], "degraded");
        assert.equal(cs.redis, "healthy");
        assert.equal(cs.voting, "unhealthy"); // metrics without a Service: listed by workload
      });

      await t.step("get_top_services: actually sorted, idle last, limited", async () => {
        const order = async (sort_by: string, limit = 10) =>
          (await call(deps, "get_top_services", { namespace: NS, sort_by, limit })).services
            .map((s: Data) => s.service);
        assert.deepEqual(await order("request_rate"), [
          "web",
          "emoji",
          "voting",
          "redis",
          "idle-svc",
        ]);
        assert.deepEqual(await order("error_rate"), [
          "voting",
          "web",
          "emoji",
          "redis",
          "idle-svc",
        ]);
        assert.deepEqual(await order("success_rate"), [
          "voting",
          "web",
          "emoji",
          "redis",
          "idle-svc",
        ]);
        assert.deepEqual(await order("latency_p95"), [
          "web",
          "emoji",
          "voting",
          "redis",
          "idle-svc",
        ]);
        assert.deepEqual(await order("latency_p99"), [
          "web",
          "emoji",
          "voting",
          "redis",
          "idle-svc",
        ]);
        assert.deepEqual(await order("request_rate", 2), ["web", "emoji"]);
        const d = await call(deps, "get_top_services", { namespace: NS, sort_by: "latency_p95" });
        close(d.services[0].latencyP95, 150, "top p95");
        assert.equal(d.services[0].rank, 1);
        assert.equal(d.totalServices, 5);
      });

      await t.step("get_traffic_trends: finds the latency spike and the error burst", async () => {
        const d = await call(deps, "get_traffic_trends", { namespace: NS, window: "1h" });
        assert.equal(d.stepSeconds, 60);
        assert.match(d.method, /Robust z-score/);
        const found = d.anomalies.map((a: Data) => `${a.service}/${a.metric}/${a.direction}`);
        assert.deepEqual(found.sort(), ["emoji/latency_p95/rose", "voting/success_rate/fell"]);
        const spike = d.anomalies.find((a: Data) => a.service === "emoji");
        close(spike.from, 40, "spike from");
        close(spike.to, TRUTH.emoji.spikeP95, "spike to", 1e-3);
        const at = Date.parse(spike.at) / 1000;
        assert.ok(at >= END - SPIKE.from && at <= END - SPIKE.from + 120, `spike at ${spike.at}`);
        const until = Date.parse(spike.until) / 1000;
        assert.ok(
          until >= END - SPIKE.to - 60 && until <= END - SPIKE.to + 60,
          `until ${spike.until}`,
        );
        assert.match(
          spike.sentence,
          /^p95 latency of emoji rose from 40 ms to 450 ms at \d\d:\d\d UTC/,
        );
        const burst = d.anomalies.find((a: Data) => a.service === "voting");
        close(burst.from, 90, "burst from");
        close(burst.to, TRUTH.voting.burstSuccessRate, "burst to", 1e-3);
        const bat = Date.parse(burst.at) / 1000;
        assert.ok(bat >= END - BURST.from && bat <= END - BURST.from + 120, `burst at ${burst.at}`);
        assert.match(burst.sentence, /^success rate of voting fell from 90\.0 % to 40\.0 % at/);
        const web = d.services.find((s: Data) => s.service === "web");
        close(web.request_rate.baselineMedian, 10, "web baseline rate");
        close(web.latency_p95.currentMedian, 150, "web current p95");
        const idle = d.services.find((s: Data) => s.service === "idle-svc");
        assert.equal(idle.success_rate.currentMedian, null);

        const one = await call(deps, "get_traffic_trends", {
          namespace: NS,
          service: "emoji",
          window: "1h",
        });
        assert.deepEqual(one.services.map((s: Data) => s.service), ["emoji"]);
        assert.equal(one.anomalies.length, 1);
        // A baseline a week back has no data here: said, not guessed.
        const week = await call(deps, "get_traffic_trends", {
          namespace: NS,
          window: "1h",
          compare_to: "7d",
        });
        assert.deepEqual(week.anomalies, []);
        assert.match(week.notes.join("\n"), /baseline window has no data/);
        assert.equal(week.services[0].request_rate.baselineMedian, null);
        // A window that does not contain the incidents: nothing to report.
        const quiet = await call(deps, "get_traffic_trends", {
          namespace: NS,
          service: "web",
          window: "10m",
        });
        assert.deepEqual(quiet.anomalies, []);
        assert.match(quiet.summary[0], /No anomalies/);
      });

      await t.step(
        "a hostile value that reached a builder is a literal, never structure",
        async () => {
          const q = inboundResponsesQuery(
            { namespace: NS, kind: "deployment", names: ['x"}) or vector(1) or foo{a="'] },
            300,
          );
          const r = await rec.query(q, { time: new Date(END * 1000) });
          assert.deepEqual(r, []); // `vector(1)` would have answered with a sample
        },
      );

      await t.step("over MCP: structured answers pass the SDK's output validation", async () => {
        const { client, close: closeMcp } = await connectInProcess(deps);
        try {
          const calls: Array<[string, Record<string, unknown>]> = [
            ["get_service_metrics", { namespace: NS, service: "web" }],
            ["analyze_traffic_flow", {
              source_namespace: NS,
              source_service: "web",
              target_service: "voting",
            }],
            ["get_service_health_summary", { namespace: NS }],
            ["get_top_services", { namespace: NS, sort_by: "error_rate" }],
            ["get_traffic_trends", { namespace: NS, window: "1h" }],
          ];
          for (const [name, args] of calls) {
            const r = await client.callTool({ name, arguments: args });
            assert.ok(!r.isError, `${name}: ${JSON.stringify(r.content)}`);
            const sc = r.structuredContent as Data;
            assert.equal(sc.prometheus, prom.url, name);
          }
        } finally {
          await closeMcp();
        }
        // Prometheus down: an isError answer, and the next call is served.
        const downDeps = testDeps([], {
          prom: new HttpPromClient({ url: "http://127.0.0.1:9", timeoutMs: 1000 }),
        });
        const down = await connectInProcess(downDeps);
        try {
          const r = await down.client.callTool({
            name: "get_top_services",
            arguments: { namespace: NS },
          });
          assert.equal(r.isError, true);
          assert.match(
            JSON.stringify(r.content),
            /Cannot reach Prometheus at http:\/\/127\.0\.0\.1:9/,
          );
          const again = await down.client.callTool({
            name: "get_service_metrics",
            arguments: { namespace: NS, service: "bad name" },
          });
          assert.equal(again.isError, true);
          assert.match(JSON.stringify(again.content), /Cannot use service/);
        } finally {
          await down.close();
        }
      });

      await t.step("every query the tools sent parses as PromQL", () => {
        assert.ok(rec.queries.length > 40, `only ${rec.queries.length} queries recorded`);
        for (const q of rec.queries) assert.equal(parseErrors(q.promql), 0, q.promql);
        assert.ok(rec.queries.some((q) => q.kind === "query_range"));
        assert.ok(
          rec.queries.every((q) => q.kind === "query_range" || q.time?.getTime() === END * 1000),
        );
      });
    } finally {
      await prom.stop();
    }
  },
});
