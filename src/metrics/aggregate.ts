/**
 * Pure aggregation of Prometheus samples into the numbers the metrics answers give:
 * grouping by a key, failures by status, top-N callers and destinations, the mTLS
 * breakdown of an edge, and the per-step points and summaries of a trend.
 *
 * @module
 */
import {
  type Anomaly,
  countByClassification,
  detectAnomalies,
  finite,
  median,
  type RequestCounts,
  summarize,
  type TrendMetric,
} from "./analysis.ts";
import type { PromSample, PromSeries } from "./prom_client.ts";

/** The first sample's value (3 decimals), or `null` when there is none. */
export function scalar(samples: readonly PromSample[] | undefined): number | null {
  if (!samples || samples.length === 0) return null;
  return finite(samples[0]!.value, 3);
}

/** The sum of the finite sample values, rounded; `null` when the query failed (`undefined`). */
export function roundedSum(samples: readonly PromSample[] | undefined): number | null {
  return samples === undefined
    ? null
    : Math.round(samples.reduce((a, x) => a + (Number.isFinite(x.value) ? x.value : 0), 0));
}

/** Classification counts grouped by a key, with the labels of the group's first sample. */
export function countsBy(
  samples: readonly PromSample[],
  key: (m: Record<string, string>) => string | undefined,
): Map<string, RequestCounts & { labels: Record<string, string> }> {
  const out = new Map<string, RequestCounts & { labels: Record<string, string> }>();
  for (const s of samples) {
    const k = key(s.metric);
    if (k === undefined) continue;
    const cur = out.get(k) ?? { success: 0, failure: 0, labels: s.metric };
    const c = countByClassification([s]);
    cur.success += c.success;
    cur.failure += c.failure;
    out.set(k, cur);
  }
  return out;
}

/** Failed requests by HTTP status code (`unknown` without one), rounded, zeros dropped. */
export function errorsByStatus(samples: readonly PromSample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.metric.classification !== "failure" || !Number.isFinite(s.value)) continue;
    const code = s.metric.status_code || "unknown";
    out[code] = (out[code] ?? 0) + s.value;
  }
  for (const k of Object.keys(out)) {
    out[k] = Math.round(out[k]!);
    if (out[k] === 0) delete out[k];
  }
  return out;
}

/** One row of a top-N list: the group's parts, its request rate and success rate. */
export type TopRow<K extends string> = Record<K, string> & {
  requestRate: number;
  successRate: number | null;
};

/**
 * The busiest groups (at most `limit`, default 10) with traffic in the window: samples
 * grouped by a composite key whose parts are named by `fields`.
 */
export function topBy<K extends string>(
  samples: readonly PromSample[],
  fields: readonly K[],
  key: (m: Record<string, string>) => readonly string[] | undefined,
  windowSeconds: number,
  limit = 10,
): Array<TopRow<K>> {
  const groups = countsBy(samples, (m) => key(m)?.join("\u0000"));
  return [...groups].map(([k, c]) => {
    const s = summarize(c, windowSeconds);
    const parts = k.split("\u0000");
    const row: Record<string, unknown> = {};
    fields.forEach((f, i) => (row[f] = parts[i] ?? ""));
    row.requestRate = s.requestRate;
    row.successRate = s.successRate;
    return row as TopRow<K>;
  }).filter((r) => r.requestRate > 0).sort((a, b) => b.requestRate - a.requestRate)
    .slice(0, limit);
}

/** Requests of an edge by `tls` and `no_tls_reason`. */
export interface TlsBreakdown {
  tls: string;
  "no_tls_reason": string | null;
  requestCount: number;
}

/** Whether an edge's requests were mTLS. */
export interface MtlsSummary {
  status: "all" | "partial" | "none" | "unknown";
  percent: number | null;
  breakdown: TlsBreakdown[];
}

/** The mTLS status of an edge from its response series (`tls`, `no_tls_reason` labels). */
export function mtlsOf(samples: readonly PromSample[]): MtlsSummary {
  const tlsMap = new Map<string, number>();
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    const k = `${s.metric.tls ?? ""}\u0000${s.metric.no_tls_reason ?? ""}`;
    tlsMap.set(k, (tlsMap.get(k) ?? 0) + s.value);
  }
  const breakdown = [...tlsMap].map(([k, v]) => {
    const [tls, reason] = k.split("\u0000") as [string, string];
    return { tls: tls || "unknown", no_tls_reason: reason || null, requestCount: Math.round(v) };
  }).filter((b) => b.requestCount > 0).sort((a, b) => b.requestCount - a.requestCount);
  const total = breakdown.reduce((a, b) => a + b.requestCount, 0);
  const mtls = breakdown.filter((b) => b.tls === "true").reduce((a, b) => a + b.requestCount, 0);
  return {
    status: total === 0 ? "unknown" : mtls === total ? "all" : mtls === 0 ? "none" : "partial",
    percent: total > 0 ? finite((mtls / total) * 100, 2) : null,
    breakdown,
  };
}

/** Success and failure rates and the p95 latency of one group at one step. */
export interface TrendPoint {
  s: number;
  f: number;
  p95: number;
}

/** Per group, per step time: a trend's points. */
export type TrendPoints = Map<string, Map<number, TrendPoint>>;

/** Collects the points of request-rate and latency range series, grouped by a key. */
export function collectPoints(
  rate: readonly PromSeries[],
  lat: readonly PromSeries[],
  key: (m: Record<string, string>) => string | undefined,
): TrendPoints {
  const out: TrendPoints = new Map();
  const at = (k: string, t: number) => {
    if (!out.has(k)) out.set(k, new Map());
    const m = out.get(k)!;
    if (!m.has(t)) m.set(t, { s: 0, f: 0, p95: Number.NaN });
    return m.get(t)!;
  };
  for (const s of rate) {
    const k = key(s.metric);
    if (!k) continue;
    for (const [t, v] of s.values) {
      if (!Number.isFinite(v)) continue;
      const p = at(k, t);
      if (s.metric.classification === "failure") p.f += v;
      else if (s.metric.classification === "success") p.s += v;
    }
  }
  for (const s of lat) {
    const k = key(s.metric);
    if (!k) continue;
    for (const [t, v] of s.values) at(k, t).p95 = v;
  }
  return out;
}

/** One metric of a group over time, as `[time, value]` (NaN where undefined). */
export function seriesOf(
  points: ReadonlyMap<number, TrendPoint> | undefined,
  metric: TrendMetric,
): Array<[number, number]> {
  if (!points) return [];
  return [...points].sort((a, b) => a[0] - b[0]).map(([t, p]) => {
    const total = p.s + p.f;
    if (metric === "request_rate") return [t, total];
    if (metric === "success_rate") return [t, total > 0 ? (p.s / total) * 100 : Number.NaN];
    return [t, total > 0 ? p.p95 : Number.NaN];
  });
}

/** How one metric of one group moved over the window, against its baseline. */
export interface MetricSummary {
  baselineMedian: number | null;
  currentMedian: number | null;
  first: number | null;
  last: number | null;
  min: number | null;
  max: number | null;
  changePercent: number | null;
}

/** The metrics a trend follows. */
export const TREND_METRICS: readonly TrendMetric[] = [
  "request_rate",
  "success_rate",
  "latency_p95",
];

/** One group's trend: a summary per metric. */
export type TrendRow = { service: string } & Record<TrendMetric, MetricSummary>;

/** Minimum baseline points for anomalies to be judged. */
export const MIN_BASELINE_POINTS = 5;

/**
 * Each group's metric summaries (current window against baseline), sorted by name, and
 * the anomalies of the current window (judged when the baseline has at least
 * {@linkcode MIN_BASELINE_POINTS} points), sorted by time then name.
 */
export function compareTrends(
  current: TrendPoints,
  baseline: TrendPoints,
): { rows: TrendRow[]; anomalies: Anomaly[] } {
  const anomalies: Anomaly[] = [];
  const rows = [...new Set([...current.keys(), ...baseline.keys()])].sort().map((name) => {
    const row: Record<string, unknown> = { service: name };
    for (const m of TREND_METRICS) {
      const c = seriesOf(current.get(name), m);
      const b = seriesOf(baseline.get(name), m).map((p) => p[1]).filter(Number.isFinite);
      const cv = c.map((p) => p[1]).filter(Number.isFinite);
      const bm = median(b), cm = median(cv);
      row[m] = {
        baselineMedian: finite(bm, 3),
        currentMedian: finite(cm, 3),
        first: finite(cv[0], 3),
        last: finite(cv[cv.length - 1], 3),
        min: cv.length ? finite(Math.min(...cv), 3) : null,
        max: cv.length ? finite(Math.max(...cv), 3) : null,
        changePercent: bm !== null && cm !== null && bm !== 0
          ? finite(((cm - bm) / Math.abs(bm)) * 100, 1)
          : null,
      } satisfies MetricSummary;
      if (b.length >= MIN_BASELINE_POINTS) anomalies.push(...detectAnomalies(name, m, b, c));
    }
    return row as TrendRow;
  });
  anomalies.sort((a, b) => a.at.localeCompare(b.at) || a.service.localeCompare(b.service));
  return { rows, anomalies };
}
