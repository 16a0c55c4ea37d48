import assert from "node:assert/strict";
import {
  collectPoints,
  compareTrends,
  errorsByStatus,
  mtlsOf,
  roundedSum,
  scalar,
  topBy,
} from "../../src/metrics/aggregate.ts";
import type { PromSample, PromSeries } from "../../src/metrics/prom_client.ts";
import {
  namespaceRowsOf,
  serviceRow,
  trendWindows,
  workloadNumbers,
} from "../../src/metrics/use_cases.ts";

function sample(metric: Record<string, string>, value: number): PromSample {
  return { metric, value };
}

Deno.test("errorsByStatus() sums failures by status code, rounds and drops zeros", () => {
  const out = errorsByStatus([
    sample({ classification: "failure", status_code: "503" }, 10.4),
    sample({ classification: "failure", status_code: "503" }, 2.3),
    sample({ classification: "failure" }, 1.6),
    sample({ classification: "failure", status_code: "500" }, 0.2),
    sample({ classification: "success", status_code: "200" }, 99),
    sample({ classification: "failure", status_code: "502" }, Number.NaN),
  ]);
  assert.deepEqual(out, { "503": 13, unknown: 2 });
});

Deno.test("topBy() ranks groups by request rate, drops idle ones and limits", () => {
  const samples = [
    sample({ namespace: "a", deployment: "web", classification: "success" }, 600),
    sample({ namespace: "a", deployment: "web", classification: "failure" }, 0),
    sample({ namespace: "a", deployment: "api", classification: "success" }, 30),
    sample({ namespace: "a", deployment: "api", classification: "failure" }, 30),
    sample({ namespace: "b", deployment: "idle", classification: "success" }, 0),
    sample({ namespace: "b", deployment: "db", classification: "success" }, 1200),
  ];
  const rows = topBy(
    samples,
    ["namespace", "workload"],
    (m) => [m.namespace!, `deployment/${m.deployment}`],
    60,
    2,
  );
  assert.deepEqual(rows, [
    { namespace: "b", workload: "deployment/db", requestRate: 20, successRate: 100 },
    { namespace: "a", workload: "deployment/web", requestRate: 10, successRate: 100 },
  ]);
  const all = topBy(samples, ["namespace", "workload"], (m) => [m.namespace!, m.deployment!], 60);
  assert.deepEqual(all.map((r) => r.workload), ["db", "web", "api"]);
  assert.equal(all[2]!.successRate, 50);
});

Deno.test("mtlsOf() says all, partial, none or unknown with the breakdown", () => {
  assert.deepEqual(mtlsOf([]), { status: "unknown", percent: null, breakdown: [] });
  assert.equal(mtlsOf([sample({ tls: "true" }, 5)]).status, "all");
  const partial = mtlsOf([
    sample({ tls: "true" }, 30),
    sample({ tls: "no_identity", no_tls_reason: "not_provided_by_remote" }, 10),
  ]);
  assert.equal(partial.status, "partial");
  assert.equal(partial.percent, 75);
  assert.deepEqual(partial.breakdown[1], {
    tls: "no_identity",
    no_tls_reason: "not_provided_by_remote",
    requestCount: 10,
  });
  assert.equal(mtlsOf([sample({}, 4)]).status, "none");
  assert.equal(mtlsOf([sample({}, 4)]).breakdown[0]!.tls, "unknown");
});

Deno.test("scalar() and roundedSum() tell a failed query (null) from no series", () => {
  assert.equal(scalar(undefined), null);
  assert.equal(scalar([]), null);
  assert.equal(scalar([sample({}, 1.23456)]), 1.235);
  assert.equal(roundedSum(undefined), null);
  assert.equal(roundedSum([]), 0);
  assert.equal(roundedSum([sample({}, 1.4), sample({}, 2.4), sample({}, Number.NaN)]), 4);
});

Deno.test("namespaceRowsOf() maps Services to workloads, keeps the worst quantile, lists strays", () => {
  const n = workloadNumbers(
    [
      sample({ deployment: "web-v1", classification: "success" }, 90),
      sample({ deployment: "web-v2", classification: "failure" }, 10),
      sample({ deployment: "stray", classification: "success" }, 5),
    ],
    [sample({ deployment: "web-v1" }, 40), sample({ deployment: "web-v2" }, 900)],
    undefined,
  );
  const { rows, notes } = namespaceRowsOf("shop", n, {
    services: ["db", "web"],
    workloadToServices: new Map([["deployment/web-v1", ["web"]], ["deployment/web-v2", ["web"]]]),
  }, "test cluster");
  assert.deepEqual(rows.map((r) => [r.service, r.workload, r.hasMetrics]), [
    ["db", "deployment/db", false],
    ["web", "deployment/web-v1, deployment/web-v2", true],
    ["stray", "deployment/stray", true],
  ]);
  assert.deepEqual(rows[1]!.counts, { success: 90, failure: 10 });
  assert.equal(rows[1]!.latencyP95, 900, "quantiles cannot be merged: the worst");
  assert.equal(rows[1]!.deployment, undefined, "two workloads: no single deployment");
  assert.equal(rows[0]!.deployment, "db");
  assert.match(notes[0]!, /deployment\/stray has metrics but no Service selects it/);
  const blind = namespaceRowsOf("shop", n, undefined, "manifests: ./x");
  assert.deepEqual(blind.rows.map((r) => r.service), ["stray", "web-v1", "web-v2"]);
  assert.match(blind.notes[0]!, /Services were not read from manifests: \.\/x/);
  assert.equal(serviceRow("shop", "x", [], n).hasMetrics, false);
});

Deno.test("trendWindows() picks about 60 steps and the baseline span", () => {
  const now = new Date("2026-11-24T12:00:00.750Z");
  const t = trendWindows(now, 3600, "previous");
  assert.equal(t.stepSeconds, 60);
  assert.equal(t.rateWindowSeconds, 60);
  assert.equal(t.end.toISOString(), "2026-11-24T12:00:00.000Z");
  assert.equal(t.baselineEnd.toISOString(), "2026-11-24T11:00:00.000Z");
  assert.equal(t.baselineStart.toISOString(), "2026-11-24T10:00:00.000Z");
  const week = trendWindows(now, 600, "7d");
  assert.equal(week.stepSeconds, 15);
  assert.equal(week.baselineEnd.toISOString(), "2026-11-17T12:00:00.000Z");
  assert.match(week.baselineDescription, /the same 10m window one week earlier/);
});

Deno.test("compareTrends() summarises each metric and flags a latency spike", () => {
  const series = (labels: Record<string, string>, values: number[]): PromSeries => ({
    metric: labels,
    values: values.map((v, i) => [1_700_000_000 + i * 60, v]),
  });
  const flat = Array.from({ length: 10 }, () => 10);
  const spike = [...flat.slice(0, 5), 10, 10, 10, 10, 10];
  const base = collectPoints(
    [series({ deployment: "web", classification: "success" }, flat)],
    [series({ deployment: "web" }, flat.map(() => 40))],
    (m) => m.deployment,
  );
  const cur = collectPoints(
    [series({ deployment: "web", classification: "success" }, spike)],
    [series({ deployment: "web" }, [40, 40, 40, 40, 40, 400, 410, 40, 40, 40])],
    (m) => m.deployment,
  );
  const { rows, anomalies } = compareTrends(cur, base);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.latency_p95.baselineMedian, 40);
  assert.equal(rows[0]!.latency_p95.max, 410);
  assert.equal(rows[0]!.request_rate.changePercent, 0);
  assert.deepEqual(anomalies.map((a) => [a.metric, a.direction]), [["latency_p95", "rose"]]);
  assert.match(anomalies[0]!.sentence, /p95 latency of web rose from 40 ms to 410 ms/);
});
