/**
 * Pure arithmetic over query results: rates, success rates, health, ranking and
 * anomaly detection. No I/O; every number that can be undefined (no traffic, empty
 * histogram) is `null`, never `NaN`, `0 %` or `100 %`.
 *
 * @module
 */

/** Rounds to `digits` decimals; `null` for `NaN`/infinite/undefined. */
export function finite(v: number | undefined | null, digits = 3): number | null {
  if (v === undefined || v === null || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Request counts in a window. */
export interface RequestCounts {
  success: number;
  failure: number;
}

/** Adds samples of a query grouped by `classification` into success and failure counts. */
export function countByClassification(
  samples: ReadonlyArray<{ metric: Record<string, string>; value: number }>,
): RequestCounts {
  const c = { success: 0, failure: 0 };
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    if (s.metric.classification === "failure") c.failure += s.value;
    else if (s.metric.classification === "success") c.success += s.value;
  }
  return c;
}

/** Traffic status of a window. */
export type TrafficStatus = "ok" | "no traffic";

/** Derived request numbers, as `linkerd viz stat` computes them. */
export interface RequestSummary {
  status: TrafficStatus;
  /** Requests in the window (rounded). */
  requestCount: number;
  /** Requests per second: (success + failure) / window. */
  requestRate: number;
  /** Percent, success / (success + failure) × 100; `null` without traffic. */
  successRate: number | null;
  /** Percent, 100 − successRate; `null` without traffic. */
  errorRate: number | null;
}

/** Success rate = success/(success+failure), rate = total/window (viz's `getSuccessRate`/`getRequestRate`). */
export function summarize(c: RequestCounts, windowSeconds: number): RequestSummary {
  const total = c.success + c.failure;
  // increase() extrapolates, so an idle counter can give a tiny positive number.
  if (!(total > 1e-9)) {
    return {
      status: "no traffic",
      requestCount: 0,
      requestRate: 0,
      successRate: null,
      errorRate: null,
    };
  }
  const sr = (c.success / total) * 100;
  return {
    status: "ok",
    requestCount: Math.round(total),
    requestRate: finite(total / windowSeconds, 4)!,
    successRate: finite(sr, 3),
    errorRate: finite(100 - sr, 3),
  };
}

/** Health thresholds (percent and milliseconds). A service is judged by error rate and p95. */
export interface HealthThresholds {
  errorRateWarning: number;
  errorRateCritical: number;
  latencyP95WarningMs: number;
  latencyP95CriticalMs: number;
}

/** The original server's defaults: 5 % / 10 % errors, 1 s / 5 s p95. */
export const DEFAULT_THRESHOLDS: HealthThresholds = {
  errorRateWarning: 5,
  errorRateCritical: 10,
  latencyP95WarningMs: 1000,
  latencyP95CriticalMs: 5000,
};

/** Health of one service. */
export type HealthStatus = "healthy" | "degraded" | "unhealthy" | "unknown" | "idle";

/** One reason behind a health status. */
export interface HealthIssue {
  severity: "critical" | "warning" | "info";
  description: string;
  metric: "error_rate" | "latency_p95" | "traffic";
  value: number | null;
  threshold: number | null;
}

/**
 * Judges a service: no metrics at all → `unknown`; zero requests → `idle`; error rate
 * or p95 at or above a critical threshold → `unhealthy`; at or above a warning
 * threshold → `degraded`; otherwise `healthy`. Error and success rate are complements,
 * so only the error rate is checked (one issue per problem).
 */
export function assessHealth(
  s: { hasMetrics: boolean; summary: RequestSummary; latencyP95: number | null },
  t: HealthThresholds,
): { healthStatus: HealthStatus; issues: HealthIssue[] } {
  if (!s.hasMetrics) {
    return {
      healthStatus: "unknown",
      issues: [{
        severity: "info",
        description:
          "No proxy metrics found for this service: it may not be meshed, its pods may not be scraped by Prometheus, or it may not exist",
        metric: "traffic",
        value: null,
        threshold: null,
      }],
    };
  }
  if (s.summary.status === "no traffic") {
    return {
      healthStatus: "idle",
      issues: [{
        severity: "info",
        description: "No requests in the time range",
        metric: "traffic",
        value: 0,
        threshold: null,
      }],
    };
  }
  const issues: HealthIssue[] = [];
  const er = s.summary.errorRate;
  if (er !== null && er >= t.errorRateCritical) {
    issues.push({
      severity: "critical",
      description: `Error rate ${
        er.toFixed(1)
      } % is at or above the critical threshold of ${t.errorRateCritical} %`,
      metric: "error_rate",
      value: er,
      threshold: t.errorRateCritical,
    });
  } else if (er !== null && er >= t.errorRateWarning) {
    issues.push({
      severity: "warning",
      description: `Error rate ${
        er.toFixed(1)
      } % is at or above the warning threshold of ${t.errorRateWarning} %`,
      metric: "error_rate",
      value: er,
      threshold: t.errorRateWarning,
    });
  }
  const p95 = s.latencyP95;
  if (p95 !== null && p95 >= t.latencyP95CriticalMs) {
    issues.push({
      severity: "critical",
      description: `p95 latency ${
        Math.round(p95)
      } ms is at or above the critical threshold of ${t.latencyP95CriticalMs} ms`,
      metric: "latency_p95",
      value: p95,
      threshold: t.latencyP95CriticalMs,
    });
  } else if (p95 !== null && p95 >= t.latencyP95WarningMs) {
    issues.push({
      severity: "warning",
      description: `p95 latency ${
        Math.round(p95)
      } ms is at or above the warning threshold of ${t.latencyP95WarningMs} ms`,
      metric: "latency_p95",
      value: p95,
      threshold: t.latencyP95WarningMs,
    });
  }
  const healthStatus = issues.some((i) => i.severity === "critical")
    ? "unhealthy"
    : issues.length
    ? "degraded"
    : "healthy";
  return { healthStatus, issues };
}

/** Sort keys of `get_top_services`. */
export type SortBy = "request_rate" | "error_rate" | "success_rate" | "latency_p95" | "latency_p99";

/** What a ranked row needs. */
export interface Rankable {
  service: string;
  requestRate: number;
  successRate: number | null;
  errorRate: number | null;
  latencyP95: number | null;
  latencyP99: number | null;
}

/**
 * Sorts worst/busiest first: request rate, error rate and latency descending, success
 * rate ascending (lowest first). Rows without a value for the key (idle, no latency)
 * go last, then ties break by request rate and name.
 */
export function rankServices<T extends Rankable>(rows: readonly T[], sortBy: SortBy): T[] {
  const key = (r: T): number | null => {
    switch (sortBy) {
      case "request_rate":
        return r.requestRate > 0 ? r.requestRate : null;
      case "error_rate":
        return r.errorRate;
      case "success_rate":
        return r.successRate === null ? null : -r.successRate;
      case "latency_p95":
        return r.latencyP95;
      case "latency_p99":
        return r.latencyP99;
    }
  };
  return [...rows].sort((a, b) => {
    const ka = key(a), kb = key(b);
    if (ka === null && kb !== null) return 1;
    if (kb === null && ka !== null) return -1;
    if (ka !== null && kb !== null && ka !== kb) return kb - ka;
    if (a.requestRate !== b.requestRate) return b.requestRate - a.requestRate;
    return a.service.localeCompare(b.service);
  });
}

/** Median of finite values; `null` when there are none. */
export function median(values: readonly number[]): number | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Median absolute deviation. */
export function mad(values: readonly number[], med: number): number {
  return median(values.map((v) => Math.abs(v - med))) ?? 0;
}

/** A metric tracked by the trend tool. */
export type TrendMetric = "request_rate" | "success_rate" | "latency_p95";

/** One detected anomaly. */
export interface Anomaly {
  service: string;
  metric: TrendMetric;
  direction: "rose" | "fell";
  /** The baseline's median. */
  from: number;
  /** The most extreme value of the anomalous run. */
  to: number;
  /** ISO time of the first anomalous point. */
  at: string;
  /** ISO time of the last anomalous point. */
  until: string;
  /** Robust z-score of the most extreme point. */
  zScore: number;
  sentence: string;
}

/** How anomalies are judged. */
export interface AnomalyRule {
  /** |z| at or above this is anomalous (3.5, Iglewicz & Hoaglin). */
  zThreshold: number;
  /** Scale floor as a fraction of the baseline median, so flat baselines do not flag noise. */
  relativeFloor: number;
  /** Scale floor in the metric's unit (rps, percentage points, ms). */
  absoluteFloor: Record<TrendMetric, number>;
}

/** The default rule. */
export const DEFAULT_ANOMALY_RULE: AnomalyRule = {
  zThreshold: 3.5,
  relativeFloor: 0.05,
  absoluteFloor: { request_rate: 0.05, success_rate: 0.5, latency_p95: 2 },
};

const LABEL: Record<TrendMetric, string> = {
  "request_rate": "request rate",
  "success_rate": "success rate",
  "latency_p95": "p95 latency",
};

/** Formats a value with its unit. */
export function formatMetric(metric: TrendMetric, v: number): string {
  if (metric === "latency_p95") return `${Math.round(v)} ms`;
  if (metric === "success_rate") return `${v.toFixed(1)} %`;
  return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} rps`;
}

function hhmm(t: number): string {
  return new Date(t * 1000).toISOString().slice(11, 16);
}

/**
 * Flags runs of points whose robust z-score against the baseline is at least
 * `rule.zThreshold`: z = (x − median) / max(1.4826·MAD, relativeFloor·|median|, absoluteFloor).
 */
export function detectAnomalies(
  service: string,
  metric: TrendMetric,
  baseline: readonly number[],
  current: ReadonlyArray<[number, number]>,
  rule: AnomalyRule = DEFAULT_ANOMALY_RULE,
): Anomaly[] {
  const med = median(baseline);
  if (med === null) return [];
  const scale = Math.max(
    1.4826 * mad(baseline.filter(Number.isFinite), med),
    rule.relativeFloor * Math.abs(med),
    rule.absoluteFloor[metric],
  );
  const out: Anomaly[] = [];
  let run: Array<[number, number, number]> = [];
  const flush = () => {
    if (!run.length) return;
    const dir = run[0]![2] > 0 ? "rose" : "fell";
    const peak = run.reduce((a, b) => (Math.abs(b[2]) > Math.abs(a[2]) ? b : a));
    out.push({
      service,
      metric,
      direction: dir,
      from: finite(med, 3)!,
      to: finite(peak[1], 3)!,
      at: new Date(run[0]![0] * 1000).toISOString(),
      until: new Date(run[run.length - 1]![0] * 1000).toISOString(),
      zScore: finite(peak[2], 2)!,
      sentence: `${LABEL[metric]} of ${service} ${dir} from ${formatMetric(metric, med)} to ${
        formatMetric(metric, peak[1])
      } at ${hhmm(run[0]![0])} UTC${
        run.length > 1 ? ` (until ${hhmm(run[run.length - 1]![0])} UTC)` : ""
      }`,
    });
    run = [];
  };
  for (const [t, v] of current) {
    if (!Number.isFinite(v)) {
      flush();
      continue;
    }
    const z = (v - med) / scale;
    if (Math.abs(z) >= rule.zThreshold) {
      if (run.length && Math.sign(run[0]![2]) !== Math.sign(z)) flush();
      run.push([t, v, z]);
    } else flush();
  }
  flush();
  return out;
}
