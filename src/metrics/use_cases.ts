/**
 * The metrics answers, as use cases: each takes validated arguments and the injected
 * Prometheus client and cluster source ({@linkcode MetricsDeps}), runs its queries and
 * returns plain data. The tools in `src/tools/metrics.ts` only declare schemas and
 * call these.
 *
 * Mapping a Service to metrics (see `workloads.ts` and `queries.ts`):
 * - the Service's own numbers (rates, success, latency, TCP) are the **inbound** view of
 *   the workloads behind it: `{direction="inbound", namespace, deployment|statefulset|daemonset}`;
 *   with a readable cluster the workloads come from the Service's selector and pods,
 *   otherwise the Service name is taken as the Deployment name (and the answer says so);
 * - callers of a Service come from the callers' **outbound** series
 *   `{direction="outbound", dst_namespace, dst_service}`;
 * - what a service calls comes from its own outbound series, grouped by `dst_service`.
 *
 * Percentages are 0–100, latencies in milliseconds, rates in requests per second.
 *
 * @module
 */
import {
  assessHealth,
  countByClassification,
  DEFAULT_ANOMALY_RULE,
  finite,
  type HealthThresholds,
  rankServices,
  type RequestCounts,
  type SortBy,
  summarize,
} from "./analysis.ts";
import {
  collectPoints,
  compareTrends,
  countsBy,
  errorsByStatus,
  mtlsOf,
  roundedSum,
  scalar,
  topBy,
} from "./aggregate.ts";
import { formatDuration } from "./labels.ts";
import type { PromSample } from "./prom_client.ts";
import * as Q from "./queries.ts";
import { type MetricsDeps, QueryRun } from "./query_run.ts";
import { resolveNamespace, resolveService } from "./workloads.ts";

/** Most entries of a per-item sub-list (failures by status, mTLS breakdown) in an answer. */
export const SUBLIST_MAX = 10;

/** Most anomalies listed in a trends answer (the strongest; the rest are counted). */
export const ANOMALIES_MAX = 5;

/** Most "has metrics but no Service selects it" notes, one per workload; the rest in one. */
export const STRAY_NOTES_MAX = 3;

/** The `max` largest entries of a count record, and how many were left out. */
export function topEntries(
  rec: Record<string, number>,
  max: number,
): { kept: Record<string, number>; omitted: number } {
  const entries = Object.entries(rec).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return {
    kept: Object.fromEntries(entries.slice(0, max)),
    omitted: Math.max(0, entries.length - max),
  };
}

function workloadOut(w: Q.WorkloadRef) {
  return { kind: w.kind, names: [...w.names] };
}

function deploymentOf(w: Q.WorkloadRef): { deployment?: string } {
  return w.kind === "deployment" && w.names.length === 1 ? { deployment: w.names[0]! } : {};
}

// ---------------------------------------------------------------- one Service

/** Golden metrics of one Service (`get_service_metrics`). */
export async function serviceMetrics(
  deps: MetricsDeps,
  args: { namespace: string; service: string; windowSeconds: number },
) {
  const { namespace: ns, service: svc, windowSeconds: w } = args;
  const run = new QueryRun(deps);
  const resolved = await resolveService(deps.cluster, ns, svc, deps.signal);
  const wl = resolved.workload;
  const [responses, p50, p95, p99, mean, sources, dests, conns, readB, writeB] = await Promise
    .all([
      run.must(Q.inboundResponsesQuery(wl, w)),
      run.may(Q.inboundLatencyQuery(0.5, wl, w), "p50 latency"),
      run.may(Q.inboundLatencyQuery(0.95, wl, w), "p95 latency"),
      run.may(Q.inboundLatencyQuery(0.99, wl, w), "p99 latency"),
      run.may(Q.inboundMeanLatencyQuery(wl, w), "mean latency"),
      run.may(Q.topSourcesQuery(ns, svc, w), "top sources"),
      run.may(Q.topDestinationsQuery(wl, w), "top destinations"),
      run.may(Q.tcpOpenConnectionsQuery(wl), "TCP open connections"),
      run.may(Q.tcpBytesQuery("tcp_read_bytes_total", wl, w), "TCP read bytes"),
      run.may(Q.tcpBytesQuery("tcp_write_bytes_total", wl, w), "TCP write bytes"),
    ]);
  const summary = summarize(countByClassification(responses), w);
  const notes = resolved.note ? [resolved.note] : [];
  if (responses.length === 0) {
    notes.push(
      `No inbound response_total series for ${wl.kind} ${
        wl.names.join(", ")
      } in "${ns}": the workload may not be meshed, not scraped, or named differently`,
    );
  }
  const topSources = topBy(sources ?? [], ["namespace", "workload"], (m) => {
    const wk = Q.workloadOf(m);
    return wk ? [m.namespace ?? "", `${wk.kind}/${wk.name}`] : undefined;
  }, w);
  const topDestinations = topBy(
    dests ?? [],
    ["namespace", "service"],
    (m) => m.dst_service ? [m.dst_namespace ?? "", m.dst_service] : undefined,
    w,
  );
  const rb = scalar(readB), wb = scalar(writeB);
  const noTraffic = summary.status === "no traffic";
  return {
    ...run.report(),
    notes,
    service: svc,
    namespace: ns,
    ...deploymentOf(wl),
    workload: workloadOut(wl),
    timeRange: run.timeRange(w),
    ...summary,
    latency: {
      p50: noTraffic ? null : scalar(p50),
      p95: noTraffic ? null : scalar(p95),
      p99: noTraffic ? null : scalar(p99),
      mean: noTraffic ? null : scalar(mean),
    },
    errorsByStatus: errorsByStatus(responses),
    topSources,
    topDestinations,
    tcp: {
      openConnections: scalar(conns),
      readBytes: rb === null ? null : Math.round(rb),
      writeBytes: wb === null ? null : Math.round(wb),
      readBytesPerSecond: rb === null ? null : finite(rb / w, 2),
      writeBytesPerSecond: wb === null ? null : finite(wb / w, 2),
    },
  };
}

// ---------------------------------------------------------------- one edge

/** The edge from one Service to another, measured by the source (`analyze_traffic_flow`). */
export async function trafficFlow(
  deps: MetricsDeps,
  args: {
    sourceNamespace: string;
    sourceService: string;
    targetNamespace: string;
    targetService: string;
    windowSeconds: number;
  },
) {
  const { sourceNamespace: sns, sourceService: ssvc, windowSeconds: w } = args;
  const { targetNamespace: tns, targetService: tsvc } = args;
  const run = new QueryRun(deps);
  const [src, tgt] = await Promise.all([
    resolveService(deps.cluster, sns, ssvc, deps.signal),
    resolveService(deps.cluster, tns, tsvc, deps.signal),
  ]);
  const sw = src.workload;
  // Identity is <serviceaccount>.<namespace>.serviceaccount.identity.<...>: the
  // ServiceAccount of the source's pods when the cluster says, else the workload name
  // (as in emojivoto and booksapp).
  const sa = src.serviceAccounts?.[0] ?? sw.names[0]!;
  const identity = `${sa}.${sns}.serviceaccount.identity.`;
  const [resp, p50, p95, p99, sent, recv, allowSrc, denySrc, allowAll, denyAll] = await Promise
    .all([
      run.must(Q.edgeResponsesQuery(sw, tns, tsvc, w)),
      run.may(Q.edgeLatencyQuery(0.5, sw, tns, tsvc, w), "p50 latency"),
      run.may(Q.edgeLatencyQuery(0.95, sw, tns, tsvc, w), "p95 latency"),
      run.may(Q.edgeLatencyQuery(0.99, sw, tns, tsvc, w), "p99 latency"),
      run.may(Q.edgeTcpBytesQuery("tcp_write_bytes_total", sw, tns, tsvc, w), "bytes sent"),
      run.may(Q.edgeTcpBytesQuery("tcp_read_bytes_total", sw, tns, tsvc, w), "bytes received"),
      run.may(Q.authzQuery("allow", tgt.workload, w, identity), "authz allowed"),
      run.may(Q.authzQuery("deny", tgt.workload, w, identity), "authz denied"),
      run.may(Q.authzQuery("allow", tgt.workload, w), "authz allowed (all)"),
      run.may(Q.authzQuery("deny", tgt.workload, w), "authz denied (all)"),
    ]);
  const summary = summarize(countByClassification(resp), w);
  const noTraffic = summary.status === "no traffic";
  const available = (allowAll?.length ?? 0) + (denyAll?.length ?? 0) > 0;
  const notes = [src.note, tgt.note].filter((n): n is string => !!n);
  if (resp.length === 0) {
    notes.push(
      `No outbound response_total series from ${sw.kind} ${
        sw.names.join(", ")
      } in "${sns}" to Service "${tns}/${tsvc}"`,
    );
  }
  notes.push(
    src.serviceAccounts?.length
      ? `Allowed/denied counts are for the client identity "${identity}..." (ServiceAccount of the source's pods${
        src.serviceAccounts.length > 1
          ? `; other ServiceAccounts ${src.serviceAccounts.slice(1).join(", ")} not counted`
          : ""
      })`
      : `Allowed/denied counts assume the source's client identity starts with "${identity}" (ServiceAccount named after the workload)`,
  );
  const sentV = scalar(sent), recvV = scalar(recv);
  const errors = topEntries(errorsByStatus(resp), SUBLIST_MAX);
  const mtls = mtlsOf(resp);
  return {
    ...run.report(),
    notes,
    source: { service: ssvc, namespace: sns, ...deploymentOf(sw), workload: workloadOut(sw) },
    target: { service: tsvc, namespace: tns },
    timeRange: run.timeRange(w),
    ...summary,
    errorsByStatus: errors.kept,
    errorsByStatusOmitted: errors.omitted,
    latencyP50: noTraffic ? null : scalar(p50),
    latencyP95: noTraffic ? null : scalar(p95),
    latencyP99: noTraffic ? null : scalar(p99),
    bytesSent: sentV === null ? null : Math.round(sentV),
    bytesReceived: recvV === null ? null : Math.round(recvV),
    mtls: {
      ...mtls,
      breakdown: mtls.breakdown.slice(0, SUBLIST_MAX),
      breakdownOmitted: Math.max(0, mtls.breakdown.length - SUBLIST_MAX),
    },
    authorization: {
      available,
      clientIdentity: identity,
      allowed: available ? roundedSum(allowSrc) : null,
      denied: available ? roundedSum(denySrc) : null,
      targetAllowedTotal: available ? roundedSum(allowAll) : null,
      targetDeniedTotal: available ? roundedSum(denyAll) : null,
    },
  };
}

// ---------------------------------------------------------------- a namespace's services

/** One Service of a namespace with its numbers over the window. */
export interface ServiceRow {
  service: string;
  namespace: string;
  deployment?: string;
  /** `kind/name` of its workloads, joined by ", ". */
  workload: string;
  hasMetrics: boolean;
  counts: RequestCounts;
  latencyP95: number | null;
  latencyP99: number | null;
}

/** Per workload (`kind/name`): its counts and quantiles, as grouped from namespace queries. */
export interface WorkloadNumbers {
  counts: ReadonlyMap<string, RequestCounts>;
  p95: ReadonlyMap<string, number | null>;
  p99: ReadonlyMap<string, number | null>;
}

/** Groups namespace-wide response and latency samples by workload (`kind/name`). */
export function workloadNumbers(
  responses: readonly PromSample[],
  p95: readonly PromSample[] | undefined,
  p99: readonly PromSample[] | undefined,
): WorkloadNumbers {
  const keyOf = (m: Record<string, string>) => {
    const wk = Q.workloadOf(m);
    return wk ? `${wk.kind}/${wk.name}` : undefined;
  };
  const quant = (s: readonly PromSample[] | undefined) => {
    const m = new Map<string, number | null>();
    for (const x of s ?? []) {
      const k = keyOf(x.metric);
      if (k) m.set(k, finite(x.value, 3));
    }
    return m;
  };
  return { counts: countsBy(responses, keyOf), p95: quant(p95), p99: quant(p99) };
}

/** One row from the numbers of several workloads (quantiles cannot be merged: the worst). */
export function serviceRow(
  namespace: string,
  service: string,
  keys: readonly string[],
  n: WorkloadNumbers,
): ServiceRow {
  const c = { success: 0, failure: 0 };
  let has = false;
  let l95: number | null = null, l99: number | null = null;
  for (const k of keys) {
    const x = n.counts.get(k);
    if (x) {
      has = true;
      c.success += x.success;
      c.failure += x.failure;
    }
    const a = n.p95.get(k), b = n.p99.get(k);
    if (a != null) l95 = Math.max(l95 ?? a, a);
    if (b != null) l99 = Math.max(l99 ?? b, b);
  }
  const dep = keys.length === 1 && keys[0]!.startsWith("deployment/")
    ? keys[0]!.slice("deployment/".length)
    : undefined;
  return {
    service,
    namespace,
    ...(dep ? { deployment: dep } : {}),
    workload: keys.join(", "),
    hasMetrics: has,
    counts: c,
    latencyP95: l95,
    latencyP99: l99,
  };
}

/**
 * The rows of a namespace: one per Service (its workloads' numbers), then workloads
 * with metrics that no Service selects; without Services, one per workload with metrics.
 */
export function namespaceRowsOf(
  namespace: string,
  n: WorkloadNumbers,
  cluster: {
    services: readonly string[];
    workloadToServices: ReadonlyMap<string, readonly string[]>;
  } | undefined,
  clusterDescription: string,
): { rows: ServiceRow[]; notes: string[] } {
  const notes: string[] = [];
  const rows: ServiceRow[] = [];
  if (cluster && cluster.services.length) {
    const used = new Set<string>();
    const svcToKeys = new Map<string, string[]>();
    for (const [k, svcs] of cluster.workloadToServices) {
      for (const s of svcs) svcToKeys.set(s, [...(svcToKeys.get(s) ?? []), k]);
    }
    for (const s of cluster.services) {
      const keys = svcToKeys.get(s) ?? [`deployment/${s}`];
      keys.forEach((k) => used.add(k));
      rows.push(serviceRow(namespace, s, keys, n));
    }
    const stray: string[] = [];
    for (const k of n.counts.keys()) {
      if (used.has(k)) continue;
      rows.push(serviceRow(namespace, k.slice(k.indexOf("/") + 1), [k], n));
      stray.push(k);
    }
    for (const k of stray.slice(0, STRAY_NOTES_MAX)) {
      notes.push(`Workload ${k} has metrics but no Service selects it: listed under its own name`);
    }
    if (stray.length > STRAY_NOTES_MAX) {
      notes.push(
        `${
          stray.length - STRAY_NOTES_MAX
        } more workloads have metrics but no Service selects them: listed under their own names`,
      );
    }
  } else {
    for (const k of [...n.counts.keys()].sort()) {
      rows.push(serviceRow(namespace, k.slice(k.indexOf("/") + 1), [k], n));
    }
    notes.push(
      `Services were not read from ${clusterDescription}: each meshed workload with metrics is listed under its own name (a Service usually shares its Deployment's name)`,
    );
  }
  return { rows, notes };
}

/**
 * Every service of a namespace with its numbers, from a fixed handful of queries
 * grouped by workload (not one query per service).
 */
async function namespaceRows(
  run: QueryRun,
  deps: MetricsDeps,
  ns: string,
  w: number,
  withP99: boolean,
): Promise<{ rows: ServiceRow[]; notes: string[] }> {
  const [resp, p95, p99, cluster] = await Promise.all([
    run.must(Q.namespaceResponsesQuery(ns, w)),
    run.may(Q.namespaceLatencyQuery(0.95, ns, w), "p95 latency"),
    withP99 ? run.may(Q.namespaceLatencyQuery(0.99, ns, w), "p99 latency") : undefined,
    resolveNamespace(deps.cluster, ns, deps.signal),
  ]);
  return namespaceRowsOf(ns, workloadNumbers(resp, p95, p99), cluster, deps.cluster.describe());
}

const HEALTH_ORDER = { unhealthy: 0, degraded: 1, unknown: 2, healthy: 3, idle: 4 };

/** Health of every service of a namespace (`get_service_health_summary`). */
export async function healthSummary(
  deps: MetricsDeps,
  args: { namespace: string; windowSeconds: number; thresholds: HealthThresholds },
) {
  const { namespace: ns, windowSeconds: w, thresholds: t } = args;
  const run = new QueryRun(deps);
  const { rows, notes } = await namespaceRows(run, deps, ns, w, false);
  const services = rows.map((r) => {
    const s = summarize(r.counts, w);
    const p95 = s.status === "ok" ? r.latencyP95 : null;
    const h = assessHealth({ hasMetrics: r.hasMetrics, summary: s, latencyP95: p95 }, t);
    return {
      service: r.service,
      namespace: r.namespace,
      ...(r.deployment ? { deployment: r.deployment } : {}),
      workload: r.workload,
      healthStatus: h.healthStatus,
      requestRate: s.requestRate,
      successRate: s.successRate,
      errorRate: s.errorRate,
      latencyP95: p95,
      issues: h.issues,
    };
  }).sort((a, b) =>
    HEALTH_ORDER[a.healthStatus] - HEALTH_ORDER[b.healthStatus] ||
    a.service.localeCompare(b.service)
  );
  const counts: Record<string, number> = {};
  for (const s of services) counts[s.healthStatus] = (counts[s.healthStatus] ?? 0) + 1;
  return {
    ...run.report(),
    notes,
    namespace: ns,
    timeRange: run.timeRange(w),
    thresholds: t,
    counts,
    services,
  };
}

const SORT_ORDER: Record<SortBy, string> = {
  "request_rate": "request rate, highest first",
  "error_rate": "error rate, highest first",
  "success_rate": "success rate, lowest first",
  "latency_p95": "p95 latency, slowest first",
  "latency_p99": "p99 latency, slowest first",
};

/** Every service of a namespace ranked by a metric, rank 1 first (`get_top_services` pages it). */
export async function topServices(
  deps: MetricsDeps,
  args: { namespace: string; windowSeconds: number; sortBy: SortBy },
) {
  const { namespace: ns, windowSeconds: w, sortBy } = args;
  const run = new QueryRun(deps);
  const { rows, notes } = await namespaceRows(run, deps, ns, w, true);
  const table = rows.map((r) => {
    const s = summarize(r.counts, w);
    const live = s.status === "ok";
    return {
      service: r.service,
      namespace: r.namespace,
      ...(r.deployment ? { deployment: r.deployment } : {}),
      status: r.hasMetrics ? s.status : "no metrics" as const,
      requestRate: s.requestRate,
      successRate: s.successRate,
      errorRate: s.errorRate,
      latencyP95: live ? r.latencyP95 : null,
      latencyP99: live ? r.latencyP99 : null,
    };
  });
  const ranked = rankServices(table, sortBy).map((r, i) => ({
    rank: i + 1,
    ...r,
  }));
  return {
    ...run.report(),
    notes,
    namespace: ns,
    sortBy,
    order: `${SORT_ORDER[sortBy]}; services without a value (no traffic) last`,
    timeRange: run.timeRange(w),
    totalServices: rows.length,
    services: ranked,
  };
}

// ---------------------------------------------------------------- trends

/** Which baseline a trend is compared with. */
export type CompareTo = "previous" | "1d" | "7d";

/** The windows of a trend: step, rate window, current and baseline spans. */
export interface TrendWindows {
  stepSeconds: number;
  rateWindowSeconds: number;
  start: Date;
  end: Date;
  baselineStart: Date;
  baselineEnd: Date;
  baselineDescription: string;
}

/** The step (about 60 points), rate window and the two spans of a trend ending at `now`. */
export function trendWindows(now: Date, windowSeconds: number, compareTo: CompareTo): TrendWindows {
  const w = windowSeconds;
  const step = Math.max(15, Math.round(w / 60));
  const end = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const start = new Date(end.getTime() - w * 1000);
  const shift = compareTo === "previous" ? w : compareTo === "1d" ? 86_400 : 604_800;
  const baselineEnd = new Date(end.getTime() - shift * 1000);
  return {
    stepSeconds: step,
    rateWindowSeconds: Math.max(60, step),
    start,
    end,
    baselineStart: new Date(baselineEnd.getTime() - w * 1000),
    baselineEnd,
    baselineDescription: compareTo === "previous"
      ? `the ${formatDuration(w)} before the window`
      : `the same ${formatDuration(w)} window ${
        compareTo === "1d" ? "one day" : "one week"
      } earlier`,
  };
}

/** How anomalies were judged, in words. */
export function anomalyMethod(t: TrendWindows): string {
  const r = DEFAULT_ANOMALY_RULE;
  return `Robust z-score against ${t.baselineDescription}: z = (x - median) / max(1.4826 * MAD, ${
    r.relativeFloor * 100
  } % of the median, a floor of ${r.absoluteFloor.request_rate} rps / ${r.absoluteFloor.success_rate} percentage points / ${r.absoluteFloor.latency_p95} ms); points with |z| >= ${r.zThreshold} are anomalous, consecutive ones form one anomaly. Points are ${t.stepSeconds} s apart, each a rate over ${
    formatDuration(t.rateWindowSeconds)
  }; baselines with fewer than 5 points are not judged.`;
}

/** How a namespace's services (or one) moved against a baseline (`get_traffic_trends`). */
export async function trafficTrends(
  deps: MetricsDeps,
  args: { namespace: string; service?: string; windowSeconds: number; compareTo: CompareTo },
) {
  const { namespace: ns, service: svc, windowSeconds: w } = args;
  const run = new QueryRun(deps);
  const t = trendWindows(run.time, w, args.compareTo);
  const notes: string[] = [];
  let wl: Q.WorkloadRef | undefined;
  if (svc) {
    const r = await resolveService(deps.cluster, ns, svc, deps.signal);
    wl = r.workload;
    if (r.note) notes.push(r.note);
  }
  const rateQ = Q.rangeRequestRateQuery(ns, wl, t.rateWindowSeconds);
  const latQ = Q.rangeLatencyQuery(0.95, ns, wl, t.rateWindowSeconds);
  const step = t.stepSeconds;
  const [cr, cl, br, bl] = await Promise.all([
    run.range(rateQ, t.start, t.end, step),
    run.range(latQ, t.start, t.end, step),
    run.mayRange(rateQ, t.baselineStart, t.baselineEnd, step, "baseline request rate"),
    run.mayRange(latQ, t.baselineStart, t.baselineEnd, step, "baseline latency"),
  ]);
  const key = (m: Record<string, string>) => {
    const x = Q.workloadOf(m);
    return x ? (svc ?? x.name) : undefined;
  };
  const { rows: services, anomalies: all } = compareTrends(
    collectPoints(cr, cl, key),
    collectPoints(br, bl, key),
  );
  if (!services.length) {
    notes.push(`No inbound traffic series found in "${ns}" in either window`);
  } else if (br.length === 0 && bl.length === 0) {
    notes.push(
      "The baseline window has no data (Prometheus retention, or the service is new): no anomalies were judged",
    );
  }
  // the strongest anomalies (|z| highest first), the rest counted
  const anomalies = [...all].sort((a, b) =>
    Math.abs(b.zScore) - Math.abs(a.zScore) || a.at.localeCompare(b.at) ||
    a.service.localeCompare(b.service)
  ).slice(0, ANOMALIES_MAX);
  const omitted = all.length - anomalies.length;
  return {
    ...run.report(),
    notes,
    namespace: ns,
    ...(svc ? { service: svc } : {}),
    window: formatDuration(w),
    stepSeconds: step,
    current: { start: t.start.toISOString(), end: t.end.toISOString() },
    baseline: {
      start: t.baselineStart.toISOString(),
      end: t.baselineEnd.toISOString(),
      description: t.baselineDescription,
    },
    method: anomalyMethod(t),
    services,
    anomalies,
    anomaliesTotal: all.length,
    anomaliesOmitted: omitted,
    summary: anomalies.length
      ? [
        ...anomalies.map((a) => a.sentence),
        ...(omitted ? [`${omitted} more anomalies (weaker |z|) not listed`] : []),
      ]
      : [
        `No anomalies in ${ns} over the last ${
          formatDuration(w)
        } compared with ${t.baselineDescription}`,
      ],
  };
}
