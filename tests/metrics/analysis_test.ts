import assert from "node:assert/strict";
import {
  assessHealth,
  DEFAULT_THRESHOLDS,
  detectAnomalies,
  mad,
  median,
  rankServices,
  summarize,
} from "../../src/metrics/analysis.ts";
import { workloadOfPod } from "../../src/metrics/workloads.ts";

Deno.test("summarize() computes viz's success rate and rate, and null without traffic", () => {
  assert.deepEqual(summarize({ success: 285, failure: 15 }, 300), {
    status: "ok",
    requestCount: 300,
    requestRate: 1,
    successRate: 95,
    errorRate: 5,
  });
  for (const c of [{ success: 0, failure: 0 }, { success: 1e-12, failure: 0 }]) {
    const s = summarize(c, 300);
    assert.equal(s.status, "no traffic");
    assert.equal(s.successRate, null);
    assert.equal(s.errorRate, null);
    assert.equal(s.requestRate, 0);
  }
  assert.equal(summarize({ success: 0, failure: 10 }, 10).successRate, 0);
  assert.ok(!JSON.stringify(summarize({ success: Number.NaN, failure: 0 }, 1)).includes("NaN"));
});

Deno.test("assessHealth() applies thresholds: one issue per problem; idle and unknown", () => {
  const h = (errorRate: number | null, p95: number | null, status: "ok" | "no traffic" = "ok") =>
    assessHealth({
      hasMetrics: true,
      summary: {
        status,
        requestCount: 1,
        requestRate: 1,
        successRate: errorRate === null ? null : 100 - errorRate,
        errorRate,
      },
      latencyP95: p95,
    }, DEFAULT_THRESHOLDS);
  assert.equal(h(0, 10).healthStatus, "healthy");
  assert.equal(h(5, 10).healthStatus, "degraded");
  assert.equal(h(5, 10).issues.length, 1);
  assert.equal(h(10, 10).healthStatus, "unhealthy");
  assert.equal(h(0, 1000).healthStatus, "degraded");
  assert.equal(h(0, 5000).healthStatus, "unhealthy");
  assert.equal(h(6, 6000).issues.length, 2);
  assert.equal(h(null, null, "no traffic").healthStatus, "idle");
  const unknown = assessHealth({
    hasMetrics: false,
    summary: summarize({ success: 0, failure: 0 }, 1),
    latencyP95: null,
  }, DEFAULT_THRESHOLDS);
  assert.equal(unknown.healthStatus, "unknown");
  assert.match(unknown.issues[0]!.description, /not be meshed/);
});

Deno.test("rankServices() sorts by the key, missing values last", () => {
  const row = (
    service: string,
    requestRate: number,
    errorRate: number | null,
    p95: number | null,
  ) => ({
    service,
    requestRate,
    errorRate,
    successRate: errorRate === null ? null : 100 - errorRate,
    latencyP95: p95,
    latencyP99: p95,
  });
  const rows = [
    row("a", 1, 0, 10),
    row("idle", 0, null, null),
    row("b", 5, 20, 5),
    row("c", 3, 1, 50),
  ];
  assert.deepEqual(rankServices(rows, "request_rate").map((r) => r.service), [
    "b",
    "c",
    "a",
    "idle",
  ]);
  assert.deepEqual(rankServices(rows, "error_rate").map((r) => r.service), ["b", "c", "a", "idle"]);
  assert.deepEqual(rankServices(rows, "success_rate").map((r) => r.service), [
    "b",
    "c",
    "a",
    "idle",
  ]);
  assert.deepEqual(rankServices(rows, "latency_p95").map((r) => r.service), [
    "c",
    "a",
    "b",
    "idle",
  ]);
});

Deno.test("median() and mad() are robust", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), null);
  assert.equal(median([Number.NaN, 1]), 1);
  assert.equal(mad([1, 2, 3, 4, 100], 3), 1);
});

Deno.test("detectAnomalies() flags a spike run with a sentence, not noise", () => {
  const base = [40, 41, 39, 40, 42, 38, 40, 40];
  const t0 = Date.parse("2026-11-24T14:00:00Z") / 1000;
  const cur: Array<[number, number]> = [40, 41, 39, 310, 305, 40, 42].map((
    v,
    i,
  ) => [t0 + i * 60, v]);
  const a = detectAnomalies("emoji-svc", "latency_p95", base, cur);
  assert.equal(a.length, 1);
  assert.equal(
    a[0]!.sentence,
    "p95 latency of emoji-svc rose from 40 ms to 310 ms at 14:03 UTC (until 14:04 UTC)",
  );
  assert.equal(a[0]!.direction, "rose");
  assert.ok(a[0]!.zScore > 3.5);
  // A flat baseline (MAD 0) does not turn tiny wiggles into anomalies.
  assert.deepEqual(
    detectAnomalies("x", "latency_p95", [40, 40, 40, 40, 40], [[t0, 41], [t0 + 60, 39]]),
    [],
  );
  const sr = detectAnomalies("voting", "success_rate", [99, 99, 99, 99, 99], [[t0, 99], [
    t0 + 60,
    60,
  ], [t0 + 120, Number.NaN]]);
  assert.equal(sr[0]!.sentence, "success rate of voting fell from 99.0 % to 60.0 % at 14:01 UTC");
  assert.deepEqual(detectAnomalies("x", "request_rate", [], [[t0, 5]]), []);
});

Deno.test("workloadOfPod() reads the proxy label or the owner", () => {
  const pod = (labels: Record<string, string>, owner?: [string, string]) => ({
    metadata: {
      name: "p",
      labels,
      ...(owner
        ? { ownerReferences: [{ apiVersion: "apps/v1", kind: owner[0], name: owner[1] }] }
        : {}),
    },
  });
  assert.deepEqual(workloadOfPod(pod({ "linkerd.io/proxy-deployment": "web" })), {
    kind: "deployment",
    name: "web",
  });
  assert.deepEqual(
    workloadOfPod(pod({ "pod-template-hash": "5d8f7c9b6" }, ["ReplicaSet", "web-v2-5d8f7c9b6"])),
    { kind: "deployment", name: "web-v2" },
  );
  assert.deepEqual(workloadOfPod(pod({}, ["StatefulSet", "redis"])), {
    kind: "statefulset",
    name: "redis",
  });
  assert.deepEqual(workloadOfPod(pod({}, ["DaemonSet", "agent"])), {
    kind: "daemonset",
    name: "agent",
  });
  assert.equal(workloadOfPod(pod({})), undefined);
});

Deno.test("pure metrics modules do not import src/kube or the MCP SDK", async () => {
  for (const f of ["queries.ts", "labels.ts", "analysis.ts"]) {
    const text = await Deno.readTextFile(new URL(`../../src/metrics/${f}`, import.meta.url));
    assert.doesNotMatch(text, /from "[^"]*(\/kube\/|@modelcontextprotocol)/, f);
  }
});
