/**
 * Traffic metrics tools: numbers `linkerd viz stat` would print, from the metrics
 * Linkerd's proxies export, read from Prometheus.
 *
 * Mapping a Service to metrics (see `src/metrics/workloads.ts` and `queries.ts`):
 * - the Service's own numbers (rates, success, latency, TCP) are the **inbound** view of
 *   the workloads behind it: `{direction="inbound", namespace, deployment|statefulset|daemonset}`;
 *   with a readable cluster the workloads come from the Service's selector and pods,
 *   otherwise the Service name is taken as the Deployment name (and the answer says so);
 * - callers of a Service come from the callers' **outbound** series
 *   `{direction="outbound", dst_namespace, dst_service}`;
 * - what a service calls comes from its own outbound series, grouped by `dst_service`.
 *
 * Percentages (`successRate`, `errorRate`) are 0–100, latencies in milliseconds, rates
 * in requests per second. Without traffic they are `null` and `status` is "no traffic".
 *
 * @module
 */
import { z } from "zod";
import { fail, ok, READ_ONLY, type ToolDeps, type ToolSpec } from "./_spec.ts";
import type { PromSample, PromSeries } from "../metrics/prom_client.ts";
import { formatDuration, parseDuration, validateName } from "../metrics/labels.ts";
import * as Q from "../metrics/queries.ts";
import {
  type Anomaly,
  assessHealth,
  countByClassification,
  DEFAULT_ANOMALY_RULE,
  DEFAULT_THRESHOLDS,
  detectAnomalies,
  finite,
  type HealthThresholds,
  median,
  rankServices,
  type RequestCounts,
  type SortBy,
  summarize,
  type TrendMetric,
} from "../metrics/analysis.ts";
import { resolveNamespace, resolveService } from "../metrics/workloads.ts";

// ---------------------------------------------------------------- shared pieces

const namespaceArg = z.string().describe(
  'Kubernetes namespace of the service(s), e.g. "emojivoto"',
);
const timeRangeArg = z.string().default("5m").describe(
  'Window to aggregate over, a Prometheus duration from 1m to 30d, e.g. "5m", "1h", "24h", "7d". Default: 5m',
);

const timeRangeOut = z.object({
  start: z.string().describe("ISO time the window starts"),
  end: z.string().describe("ISO time the window ends (the evaluation time)"),
  window: z.string().describe('Canonical window, e.g. "5m"'),
});

const common = {
  prometheus: z.string().describe("Which Prometheus answered"),
  partial: z.boolean().describe("True when some numbers are missing or Prometheus warned"),
  warnings: z.array(z.string()),
  notes: z.array(z.string()).describe("Assumptions made, e.g. how the Service was mapped"),
};

/** Identity helper that lets TypeScript infer a tool's argument and output types. */
function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  spec: ToolSpec<I, O>,
): ToolSpec<I, O> {
  return spec;
}

/** Runs the queries of one tool call at one evaluation time, collecting warnings. */
class QueryRun {
  readonly warnings: string[] = [];
  partial = false;
  readonly time: Date;
  #deps: ToolDeps;
  #signal: AbortSignal;

  constructor(deps: ToolDeps, signal: AbortSignal) {
    this.#deps = deps;
    this.#signal = signal;
    this.time = deps.now();
  }

  #onWarning = (w: string) => {
    this.partial = true;
    if (!this.warnings.includes(`Prometheus warned: ${w}`)) {
      this.warnings.push(`Prometheus warned: ${w}`);
    }
  };

  /** A query the answer cannot do without: its failure fails the tool. */
  must(promql: string): Promise<PromSample[]> {
    return this.#deps.prom.query(promql, {
      time: this.time,
      signal: this.#signal,
      onWarning: this.#onWarning,
    });
  }

  /** A query whose failure leaves a gap (`undefined`) and a warning. */
  async may(promql: string, what: string): Promise<PromSample[] | undefined> {
    try {
      return await this.must(promql);
    } catch (err) {
      this.partial = true;
      this.warnings.push(`${what} is missing: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  range(
    promql: string,
    start: Date,
    end: Date,
    stepSeconds: number,
  ): Promise<PromSeries[]> {
    return this.#deps.prom.queryRange(promql, { start, end, stepSeconds }, {
      signal: this.#signal,
      onWarning: this.#onWarning,
    });
  }

  timeRange(windowSeconds: number) {
    return {
      start: new Date(this.time.getTime() - windowSeconds * 1000).toISOString(),
      end: this.time.toISOString(),
      window: formatDuration(windowSeconds),
    };
  }
}

function scalar(samples: PromSample[] | undefined): number | null {
  if (!samples || samples.length === 0) return null;
  return finite(samples[0]!.value, 3);
}

function workloadOut(w: Q.WorkloadRef) {
  return { kind: w.kind, names: [...w.names] };
}

const workloadSchema = z.object({
  kind: z.enum(["deployment", "statefulset", "daemonset"]),
  names: z.array(z.string()),
});

const latencySchema = z.object({
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
  mean: z.number().nullable(),
}).describe("Latency in milliseconds (time to first byte); null without traffic");

const rateFields = {
  status: z.enum(["ok", "no traffic"]).describe('"no traffic" when there were no requests'),
  requestCount: z.number().describe("Requests in the window"),
  requestRate: z.number().describe("Requests per second over the window"),
  successRate: z.number().nullable().describe(
    "Percent of requests classified success; null without traffic",
  ),
  errorRate: z.number().nullable().describe(
    "Percent of requests classified failure; null without traffic",
  ),
};

/** Groups samples by a key and adds their classification counts. */
function countsBy(
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

// ---------------------------------------------------------------- get_service_metrics

const serviceMetricsOutput = {
  ...common,
  service: z.string(),
  namespace: z.string(),
  deployment: z.string().optional().describe("The Deployment whose proxies were read, when one"),
  workload: workloadSchema.describe("Workloads whose proxies' inbound metrics were read"),
  timeRange: timeRangeOut,
  ...rateFields,
  latency: latencySchema,
  errorsByStatus: z.record(z.string(), z.number()).describe(
    "Failed requests in the window by HTTP status code",
  ),
  topSources: z.array(z.object({
    namespace: z.string(),
    workload: z.string().describe('Calling workload, "deployment/web"'),
    requestRate: z.number(),
    successRate: z.number().nullable(),
  })).describe("Meshed callers of this Service, busiest first (from their outbound metrics)"),
  topDestinations: z.array(z.object({
    namespace: z.string(),
    service: z.string(),
    requestRate: z.number(),
    successRate: z.number().nullable(),
  })).describe("Services this workload calls, busiest first"),
  tcp: z.object({
    openConnections: z.number().nullable(),
    readBytes: z.number().nullable().describe("Bytes read from clients in the window"),
    writeBytes: z.number().nullable().describe("Bytes written to clients in the window"),
    readBytesPerSecond: z.number().nullable(),
    writeBytesPerSecond: z.number().nullable(),
  }),
};

function getServiceMetrics() {
  return defineTool({
    name: "get_service_metrics",
    title: "Metrics: Service traffic",
    description:
      "Golden metrics of one service from Linkerd proxy metrics in Prometheus: request rate (rps), " +
      "success and error rate (%), latency p50/p95/p99/mean (ms), failed requests by HTTP status, " +
      "top callers and top destinations, and TCP connections and bytes. Use it for questions like " +
      '"is checkout healthy?" or "who calls payments?". Example: {"namespace": "emojivoto", ' +
      '"service": "web-svc", "time_range": "15m"}. No traffic gives null rates with status "no traffic".',
    inputSchema: {
      namespace: namespaceArg,
      service: z.string().describe('Kubernetes Service name, e.g. "web-svc" or "emoji-svc"'),
      time_range: timeRangeArg,
    },
    outputSchema: serviceMetricsOutput,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const ns = validateName(args.namespace, "namespace");
      const svc = validateName(args.service, "service");
      const w = parseDuration(args.time_range);
      const run = new QueryRun(deps, ctx.signal);
      const resolved = await resolveService(deps.cluster, ns, svc, ctx.signal);
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
      const errorsByStatus: Record<string, number> = {};
      for (const s of responses) {
        if (s.metric.classification !== "failure" || !Number.isFinite(s.value)) continue;
        const code = s.metric.status_code || "unknown";
        errorsByStatus[code] = (errorsByStatus[code] ?? 0) + s.value;
      }
      for (const k of Object.keys(errorsByStatus)) {
        errorsByStatus[k] = Math.round(errorsByStatus[k]!);
        if (errorsByStatus[k] === 0) delete errorsByStatus[k];
      }
      const topSources = [
        ...countsBy(sources ?? [], (m) => {
          const wk = Q.workloadOf(m);
          return wk ? `${m.namespace ?? ""}\u0000${wk.kind}/${wk.name}` : undefined;
        }),
      ].map(([k, c]) => {
        const s = summarize(c, w);
        const [namespace, workload] = k.split("\u0000") as [string, string];
        return { namespace, workload, requestRate: s.requestRate, successRate: s.successRate };
      }).filter((r) => r.requestRate > 0).sort((a, b) => b.requestRate - a.requestRate).slice(
        0,
        10,
      );
      const topDestinations = [
        ...countsBy(
          dests ?? [],
          (m) => m.dst_service ? `${m.dst_namespace ?? ""}\u0000${m.dst_service}` : undefined,
        ),
      ].map(([k, c]) => {
        const s = summarize(c, w);
        const [namespace, service] = k.split("\u0000") as [string, string];
        return { namespace, service, requestRate: s.requestRate, successRate: s.successRate };
      }).filter((r) => r.requestRate > 0).sort((a, b) => b.requestRate - a.requestRate).slice(
        0,
        10,
      );
      const rb = scalar(readB), wb = scalar(writeB);
      const noTraffic = summary.status === "no traffic";
      return ok({
        prometheus: deps.prom.describe(),
        partial: run.partial,
        warnings: run.warnings,
        notes,
        service: svc,
        namespace: ns,
        ...(wl.kind === "deployment" && wl.names.length === 1 ? { deployment: wl.names[0] } : {}),
        workload: workloadOut(wl),
        timeRange: run.timeRange(w),
        ...summary,
        latency: {
          p50: noTraffic ? null : scalar(p50),
          p95: noTraffic ? null : scalar(p95),
          p99: noTraffic ? null : scalar(p99),
          mean: noTraffic ? null : scalar(mean),
        },
        errorsByStatus,
        topSources,
        topDestinations,
        tcp: {
          openConnections: scalar(conns),
          readBytes: rb === null ? null : Math.round(rb),
          writeBytes: wb === null ? null : Math.round(wb),
          readBytesPerSecond: rb === null ? null : finite(rb / w, 2),
          writeBytesPerSecond: wb === null ? null : finite(wb / w, 2),
        },
      });
    },
  });
}

// ---------------------------------------------------------------- analyze_traffic_flow

function analyzeTrafficFlow() {
  return defineTool({
    name: "analyze_traffic_flow",
    title: "Metrics: Traffic between two services",
    description:
      "The edge from a source service to a target service, measured by the source's Linkerd proxies " +
      "(outbound metrics): request rate, success/error rate, latency p50/p95/p99, failures by status, " +
      "bytes, whether the traffic is mTLS (tls, no_tls_reason), and allowed/denied counts from the " +
      "target's inbound authorization metrics. Use it for \"is web talking to voting, and is it " +
      'encrypted/authorized?". Example: {"source_namespace": "emojivoto", "source_service": "web", ' +
      '"target_service": "voting", "time_range": "10m"}.',
    inputSchema: {
      source_namespace: z.string().describe('Namespace of the calling service, e.g. "emojivoto"'),
      source_service: z.string().describe('Calling Service (or Deployment) name, e.g. "web"'),
      target_namespace: z.string().optional().describe(
        "Namespace of the called service; defaults to source_namespace",
      ),
      target_service: z.string().describe('Called Service name, e.g. "voting-svc"'),
      time_range: timeRangeArg,
    },
    outputSchema: {
      ...common,
      source: z.object({
        service: z.string(),
        namespace: z.string(),
        deployment: z.string().optional(),
        workload: workloadSchema,
      }),
      target: z.object({ service: z.string(), namespace: z.string() }),
      timeRange: timeRangeOut,
      ...rateFields,
      errorsByStatus: z.record(z.string(), z.number()),
      latencyP50: z.number().nullable(),
      latencyP95: z.number().nullable(),
      latencyP99: z.number().nullable(),
      bytesSent: z.number().nullable().describe("Bytes the source's proxies wrote to the target"),
      bytesReceived: z.number().nullable().describe("Bytes they read from the target"),
      mtls: z.object({
        status: z.enum(["all", "partial", "none", "unknown"]).describe(
          '"all" when every request was mTLS (tls="true")',
        ),
        percent: z.number().nullable().describe("Percent of requests sent over mTLS"),
        breakdown: z.array(z.object({
          tls: z.string(),
          no_tls_reason: z.string().nullable(),
          requestCount: z.number(),
        })),
      }),
      authorization: z.object({
        available: z.boolean().describe("False when the target exports no inbound authz metrics"),
        clientIdentity: z.string().describe("Identity prefix the source is assumed to use"),
        allowed: z.number().nullable().describe("Requests from the source the target allowed"),
        denied: z.number().nullable().describe("Requests from the source the target denied"),
        targetAllowedTotal: z.number().nullable().describe("All requests the target allowed"),
        targetDeniedTotal: z.number().nullable().describe("All requests the target denied"),
      }),
    },
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const sns = validateName(args.source_namespace, "namespace", "source_namespace");
      const ssvc = validateName(args.source_service, "service", "source_service");
      const tns = validateName(args.target_namespace ?? sns, "namespace", "target_namespace");
      const tsvc = validateName(args.target_service, "service", "target_service");
      const w = parseDuration(args.time_range);
      const run = new QueryRun(deps, ctx.signal);
      const [src, tgt] = await Promise.all([
        resolveService(deps.cluster, sns, ssvc, ctx.signal),
        resolveService(deps.cluster, tns, tsvc, ctx.signal),
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
      const errorsByStatus: Record<string, number> = {};
      const tlsMap = new Map<string, number>();
      for (const s of resp) {
        if (!Number.isFinite(s.value)) continue;
        if (s.metric.classification === "failure") {
          const code = s.metric.status_code || "unknown";
          errorsByStatus[code] = (errorsByStatus[code] ?? 0) + s.value;
        }
        const k = `${s.metric.tls ?? ""}\u0000${s.metric.no_tls_reason ?? ""}`;
        tlsMap.set(k, (tlsMap.get(k) ?? 0) + s.value);
      }
      for (const k of Object.keys(errorsByStatus)) {
        errorsByStatus[k] = Math.round(errorsByStatus[k]!);
        if (errorsByStatus[k] === 0) delete errorsByStatus[k];
      }
      const breakdown = [...tlsMap].map(([k, v]) => {
        const [tls, reason] = k.split("\u0000") as [string, string];
        return {
          tls: tls || "unknown",
          no_tls_reason: reason || null,
          requestCount: Math.round(v),
        };
      }).filter((b) => b.requestCount > 0).sort((a, b) => b.requestCount - a.requestCount);
      const total = breakdown.reduce((a, b) => a + b.requestCount, 0);
      const mtlsCount = breakdown.filter((b) => b.tls === "true").reduce(
        (a, b) => a + b.requestCount,
        0,
      );
      const percent = total > 0 ? finite((mtlsCount / total) * 100, 2) : null;
      const sum = (s: PromSample[] | undefined) =>
        s === undefined
          ? null
          : Math.round(s.reduce((a, x) => a + (Number.isFinite(x.value) ? x.value : 0), 0));
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
      return ok({
        prometheus: deps.prom.describe(),
        partial: run.partial,
        warnings: run.warnings,
        notes,
        source: {
          service: ssvc,
          namespace: sns,
          ...(sw.kind === "deployment" && sw.names.length === 1 ? { deployment: sw.names[0] } : {}),
          workload: workloadOut(sw),
        },
        target: { service: tsvc, namespace: tns },
        timeRange: run.timeRange(w),
        ...summary,
        errorsByStatus,
        latencyP50: noTraffic ? null : scalar(p50),
        latencyP95: noTraffic ? null : scalar(p95),
        latencyP99: noTraffic ? null : scalar(p99),
        bytesSent: sentV === null ? null : Math.round(sentV),
        bytesReceived: recvV === null ? null : Math.round(recvV),
        mtls: {
          status: (total === 0
            ? "unknown"
            : mtlsCount === total
            ? "all"
            : mtlsCount === 0
            ? "none"
            : "partial") as "unknown" | "all" | "none" | "partial",
          percent,
          breakdown,
        },
        authorization: {
          available,
          clientIdentity: identity,
          allowed: available ? sum(allowSrc) : null,
          denied: available ? sum(denySrc) : null,
          targetAllowedTotal: available ? sum(allowAll) : null,
          targetDeniedTotal: available ? sum(denyAll) : null,
        },
      });
    },
  });
}

// ---------------------------------------------------------------- namespace rows

interface ServiceRow {
  service: string;
  namespace: string;
  deployment?: string;
  workload: string;
  hasMetrics: boolean;
  counts: RequestCounts;
  latencyP95: number | null;
  latencyP99: number | null;
}

/**
 * Every service of a namespace with its numbers, from a fixed handful of queries
 * grouped by workload (not one query per service).
 */
async function namespaceRows(
  run: QueryRun,
  deps: ToolDeps,
  ns: string,
  w: number,
  signal: AbortSignal,
  withP99: boolean,
): Promise<{ rows: ServiceRow[]; notes: string[] }> {
  const [resp, p95, p99, cluster] = await Promise.all([
    run.must(Q.namespaceResponsesQuery(ns, w)),
    run.may(Q.namespaceLatencyQuery(0.95, ns, w), "p95 latency"),
    withP99 ? run.may(Q.namespaceLatencyQuery(0.99, ns, w), "p99 latency") : undefined,
    resolveNamespace(deps.cluster, ns, signal),
  ]);
  const counts = countsBy(resp, (m) => {
    const wk = Q.workloadOf(m);
    return wk ? `${wk.kind}/${wk.name}` : undefined;
  });
  const quant = (s: PromSample[] | undefined) => {
    const m = new Map<string, number | null>();
    for (const x of s ?? []) {
      const wk = Q.workloadOf(x.metric);
      if (wk) m.set(`${wk.kind}/${wk.name}`, finite(x.value, 3));
    }
    return m;
  };
  const p95m = quant(p95), p99m = quant(p99);
  const notes: string[] = [];
  const rows: ServiceRow[] = [];
  const rowOf = (service: string, keys: string[]): ServiceRow => {
    const c = { success: 0, failure: 0 };
    let has = false;
    let l95: number | null = null, l99: number | null = null;
    for (const k of keys) {
      const x = counts.get(k);
      if (x) {
        has = true;
        c.success += x.success;
        c.failure += x.failure;
      }
      const a = p95m.get(k), b = p99m.get(k);
      // Quantiles of several workloads cannot be merged: report the worst.
      if (a != null) l95 = Math.max(l95 ?? a, a);
      if (b != null) l99 = Math.max(l99 ?? b, b);
    }
    const dep = keys.length === 1 && keys[0]!.startsWith("deployment/")
      ? keys[0]!.slice("deployment/".length)
      : undefined;
    return {
      service,
      namespace: ns,
      ...(dep ? { deployment: dep } : {}),
      workload: keys.join(", "),
      hasMetrics: has,
      counts: c,
      latencyP95: l95,
      latencyP99: l99,
    };
  };
  if (cluster && cluster.services.length) {
    const used = new Set<string>();
    const svcToKeys = new Map<string, string[]>();
    for (const [k, svcs] of cluster.workloadToServices) {
      for (const s of svcs) svcToKeys.set(s, [...(svcToKeys.get(s) ?? []), k]);
    }
    for (const s of cluster.services) {
      const keys = svcToKeys.get(s) ?? [`deployment/${s}`];
      keys.forEach((k) => used.add(k));
      rows.push(rowOf(s, keys));
    }
    for (const k of counts.keys()) {
      if (used.has(k)) continue;
      rows.push(rowOf(k.slice(k.indexOf("/") + 1), [k]));
      notes.push(`Workload ${k} has metrics but no Service selects it: listed under its own name`);
    }
  } else {
    for (const k of [...counts.keys()].sort()) rows.push(rowOf(k.slice(k.indexOf("/") + 1), [k]));
    notes.push(
      `Services were not read from ${deps.cluster.describe()}: each meshed workload with metrics is listed under its own name (a Service usually shares its Deployment's name)`,
    );
  }
  return { rows, notes };
}

// ---------------------------------------------------------------- get_service_health_summary

function getServiceHealthSummary() {
  const thr = (d: string, def: number) =>
    z.number().min(0).optional().describe(`${d}. Default: ${def}`);
  return defineTool({
    name: "get_service_health_summary",
    title: "Metrics: Namespace health summary",
    description:
      "Health of every service in a namespace from Linkerd proxy metrics: healthStatus is healthy, " +
      "degraded (a warning threshold crossed), unhealthy (a critical threshold crossed), idle (no " +
      "requests in the window) or unknown (no proxy metrics: not meshed or not scraped), with the " +
      "issues behind it. Defaults: error rate warning 5 %, critical 10 %; p95 latency warning " +
      '1000 ms, critical 5000 ms; all overridable. Example: {"namespace": "emojivoto", ' +
      '"time_range": "10m", "error_rate_warning": 1}.',
    inputSchema: {
      namespace: namespaceArg,
      time_range: timeRangeArg,
      error_rate_warning: thr("Error rate (%) at or above which a service is degraded", 5),
      error_rate_critical: thr("Error rate (%) at or above which a service is unhealthy", 10),
      latency_p95_warning_ms: thr("p95 latency (ms) at or above which a service is degraded", 1000),
      latency_p95_critical_ms: thr(
        "p95 latency (ms) at or above which a service is unhealthy",
        5000,
      ),
    },
    outputSchema: {
      ...common,
      namespace: z.string(),
      timeRange: timeRangeOut,
      thresholds: z.object({
        errorRateWarning: z.number(),
        errorRateCritical: z.number(),
        latencyP95WarningMs: z.number(),
        latencyP95CriticalMs: z.number(),
      }),
      counts: z.record(z.string(), z.number()).describe("Services per healthStatus"),
      services: z.array(z.object({
        service: z.string(),
        namespace: z.string(),
        deployment: z.string().optional(),
        workload: z.string().describe('"deployment/web" (several joined by ", ")'),
        healthStatus: z.enum(["healthy", "degraded", "unhealthy", "unknown", "idle"]),
        requestRate: z.number(),
        successRate: z.number().nullable(),
        errorRate: z.number().nullable(),
        latencyP95: z.number().nullable(),
        issues: z.array(z.object({
          severity: z.enum(["critical", "warning", "info"]),
          description: z.string(),
          metric: z.string(),
          value: z.number().nullable(),
          threshold: z.number().nullable(),
        })),
      })).describe("Unhealthy first, then degraded, unknown, healthy, idle"),
    },
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const ns = validateName(args.namespace, "namespace");
      const w = parseDuration(args.time_range);
      const t: HealthThresholds = {
        errorRateWarning: args.error_rate_warning ?? DEFAULT_THRESHOLDS.errorRateWarning,
        errorRateCritical: args.error_rate_critical ?? DEFAULT_THRESHOLDS.errorRateCritical,
        latencyP95WarningMs: args.latency_p95_warning_ms ?? DEFAULT_THRESHOLDS.latencyP95WarningMs,
        latencyP95CriticalMs: args.latency_p95_critical_ms ??
          DEFAULT_THRESHOLDS.latencyP95CriticalMs,
      };
      if (t.errorRateWarning > t.errorRateCritical) {
        return fail("error_rate_warning must not be greater than error_rate_critical");
      }
      if (t.latencyP95WarningMs > t.latencyP95CriticalMs) {
        return fail("latency_p95_warning_ms must not be greater than latency_p95_critical_ms");
      }
      const run = new QueryRun(deps, ctx.signal);
      const { rows, notes } = await namespaceRows(run, deps, ns, w, ctx.signal, false);
      const order = { unhealthy: 0, degraded: 1, unknown: 2, healthy: 3, idle: 4 };
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
        order[a.healthStatus] - order[b.healthStatus] || a.service.localeCompare(b.service)
      );
      const counts: Record<string, number> = {};
      for (const s of services) counts[s.healthStatus] = (counts[s.healthStatus] ?? 0) + 1;
      return ok({
        prometheus: deps.prom.describe(),
        partial: run.partial,
        warnings: run.warnings,
        notes,
        namespace: ns,
        timeRange: run.timeRange(w),
        thresholds: t,
        counts,
        services,
      });
    },
  });
}

// ---------------------------------------------------------------- get_top_services

function getTopServices() {
  return defineTool({
    name: "get_top_services",
    title: "Metrics: Top services",
    description:
      "Services of a namespace ranked by a traffic metric from Linkerd proxy metrics. sort_by: " +
      "request_rate (busiest first), error_rate (highest first), success_rate (lowest first), " +
      "latency_p95 or latency_p99 (slowest first). Services without a value (idle) come last. " +
      'Example: {"namespace": "emojivoto", "sort_by": "latency_p95", "limit": 5}.',
    inputSchema: {
      namespace: namespaceArg,
      sort_by: z.enum(["request_rate", "error_rate", "success_rate", "latency_p95", "latency_p99"])
        .default("request_rate").describe(
          "Metric to rank by: request_rate, error_rate, success_rate, latency_p95, latency_p99. Default: request_rate",
        ),
      time_range: timeRangeArg,
      limit: z.number().int().min(1).max(1000).default(10).describe(
        "How many services to return, 1 to 1000. Default: 10",
      ),
    },
    outputSchema: {
      ...common,
      namespace: z.string(),
      sortBy: z.string(),
      order: z.string().describe("How the list is ordered, in words"),
      timeRange: timeRangeOut,
      totalServices: z.number(),
      services: z.array(z.object({
        rank: z.number(),
        service: z.string(),
        namespace: z.string(),
        deployment: z.string().optional(),
        status: z.enum(["ok", "no traffic", "no metrics"]),
        requestRate: z.number(),
        successRate: z.number().nullable(),
        errorRate: z.number().nullable(),
        latencyP95: z.number().nullable(),
        latencyP99: z.number().nullable(),
      })),
    },
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const ns = validateName(args.namespace, "namespace");
      const w = parseDuration(args.time_range);
      const sortBy = args.sort_by as SortBy;
      const run = new QueryRun(deps, ctx.signal);
      const { rows, notes } = await namespaceRows(run, deps, ns, w, ctx.signal, true);
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
      const ranked = rankServices(table, sortBy).slice(0, args.limit).map((r, i) => ({
        rank: i + 1,
        ...r,
      }));
      const order = {
        request_rate: "request rate, highest first",
        error_rate: "error rate, highest first",
        success_rate: "success rate, lowest first",
        latency_p95: "p95 latency, slowest first",
        latency_p99: "p99 latency, slowest first",
      }[sortBy];
      return ok({
        prometheus: deps.prom.describe(),
        partial: run.partial,
        warnings: run.warnings,
        notes,
        namespace: ns,
        sortBy,
        order: `${order}; services without a value (no traffic) last`,
        timeRange: run.timeRange(w),
        totalServices: rows.length,
        services: ranked,
      });
    },
  });
}

// ---------------------------------------------------------------- get_traffic_trends

const metricSummary = z.object({
  baselineMedian: z.number().nullable(),
  currentMedian: z.number().nullable(),
  first: z.number().nullable(),
  last: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  changePercent: z.number().nullable().describe("currentMedian vs baselineMedian"),
});

type Points = Map<string, Map<number, { s: number; f: number; p95: number }>>;

function collectPoints(
  rate: PromSeries[],
  lat: PromSeries[],
  key: (m: Record<string, string>) => string | undefined,
): Points {
  const out: Points = new Map();
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

function seriesOf(
  points: Map<number, { s: number; f: number; p95: number }> | undefined,
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

function getTrafficTrends() {
  return defineTool({
    name: "get_traffic_trends",
    title: "Metrics: Traffic trends and anomalies",
    description:
      "How request rate, success rate and p95 latency of a namespace's services (or one service) " +
      "moved over a window, compared with a baseline, with anomalies in plain sentences such as " +
      '"p95 latency of emoji rose from 40 ms to 310 ms at 14:05 UTC". Use it for "what changed in ' +
      'the last hour?". Example: {"namespace": "emojivoto", "window": "1h", "compare_to": "previous"} ' +
      'or {"namespace": "emojivoto", "service": "voting", "window": "24h", "compare_to": "7d"}.',
    inputSchema: {
      namespace: namespaceArg,
      service: z.string().optional().describe(
        'Only this Service, e.g. "emoji-svc"; all when absent',
      ),
      window: z.string().default("1h").describe(
        'Window to analyse, a Prometheus duration from 10m to 7d, e.g. "1h", "24h", "7d". Default: 1h',
      ),
      compare_to: z.enum(["previous", "1d", "7d"]).default("previous").describe(
        'Baseline: "previous" (the window just before), "1d" or "7d" (the same window a day or a week earlier). Default: previous',
      ),
    },
    outputSchema: {
      ...common,
      namespace: z.string(),
      service: z.string().optional(),
      window: z.string(),
      stepSeconds: z.number(),
      current: z.object({ start: z.string(), end: z.string() }),
      baseline: z.object({ start: z.string(), end: z.string(), description: z.string() }),
      method: z.string().describe("How anomalies were judged"),
      services: z.array(z.object({
        service: z.string(),
        request_rate: metricSummary,
        success_rate: metricSummary,
        latency_p95: metricSummary,
      })),
      anomalies: z.array(z.object({
        service: z.string(),
        metric: z.enum(["request_rate", "success_rate", "latency_p95"]),
        direction: z.enum(["rose", "fell"]),
        from: z.number(),
        to: z.number(),
        at: z.string(),
        until: z.string(),
        zScore: z.number(),
        sentence: z.string(),
      })),
      summary: z.array(z.string()).describe("The anomalies as sentences, or a no-anomaly sentence"),
    },
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const ns = validateName(args.namespace, "namespace");
      const svc = args.service === undefined ? undefined : validateName(args.service, "service");
      const w = parseDuration(args.window, "window", { min: 600, max: 7 * 86_400 });
      const run = new QueryRun(deps, ctx.signal);
      const step = Math.max(15, Math.round(w / 60));
      const rateWindow = Math.max(60, step);
      const end = new Date(Math.floor(run.time.getTime() / 1000) * 1000);
      const start = new Date(end.getTime() - w * 1000);
      const shift = args.compare_to === "previous"
        ? w
        : args.compare_to === "1d"
        ? 86_400
        : 604_800;
      const bEnd = new Date(end.getTime() - shift * 1000);
      const bStart = new Date(bEnd.getTime() - w * 1000);
      const notes: string[] = [];
      let wl: Q.WorkloadRef | undefined;
      if (svc) {
        const r = await resolveService(deps.cluster, ns, svc, ctx.signal);
        wl = r.workload;
        if (r.note) notes.push(r.note);
      }
      const rateQ = Q.rangeRequestRateQuery(ns, wl, rateWindow);
      const latQ = Q.rangeLatencyQuery(0.95, ns, wl, rateWindow);
      const [cr, cl, br, bl] = await Promise.all([
        run.range(rateQ, start, end, step),
        run.range(latQ, start, end, step),
        run.range(rateQ, bStart, bEnd, step).catch((e) => {
          run.partial = true;
          run.warnings.push(`baseline request rate is missing: ${String(e?.message ?? e)}`);
          return [] as PromSeries[];
        }),
        run.range(latQ, bStart, bEnd, step).catch((e) => {
          run.partial = true;
          run.warnings.push(`baseline latency is missing: ${String(e?.message ?? e)}`);
          return [] as PromSeries[];
        }),
      ]);
      const key = (m: Record<string, string>) => {
        const x = Q.workloadOf(m);
        return x ? (svc ?? x.name) : undefined;
      };
      const cur = collectPoints(cr, cl, key), base = collectPoints(br, bl, key);
      const metrics: TrendMetric[] = ["request_rate", "success_rate", "latency_p95"];
      const anomalies: Anomaly[] = [];
      const services = [...new Set([...cur.keys(), ...base.keys()])].sort().map((name) => {
        const row: Record<string, unknown> = { service: name };
        for (const m of metrics) {
          const c = seriesOf(cur.get(name), m);
          const b = seriesOf(base.get(name), m).map((p) => p[1]).filter(Number.isFinite);
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
          };
          if (b.length >= 5) anomalies.push(...detectAnomalies(name, m, b, c));
        }
        return row as {
          service: string;
          request_rate: z.infer<typeof metricSummary>;
          success_rate: z.infer<typeof metricSummary>;
          latency_p95: z.infer<typeof metricSummary>;
        };
      });
      anomalies.sort((a, b) => a.at.localeCompare(b.at) || a.service.localeCompare(b.service));
      if (!services.length) {
        notes.push(`No inbound traffic series found in "${ns}" in either window`);
      } else if (br.length === 0 && bl.length === 0) {
        notes.push(
          "The baseline window has no data (Prometheus retention, or the service is new): no anomalies were judged",
        );
      }
      const r = DEFAULT_ANOMALY_RULE;
      const baselineDesc = args.compare_to === "previous"
        ? `the ${formatDuration(w)} before the window`
        : `the same ${formatDuration(w)} window ${
          args.compare_to === "1d" ? "one day" : "one week"
        } earlier`;
      return ok({
        prometheus: deps.prom.describe(),
        partial: run.partial,
        warnings: run.warnings,
        notes,
        namespace: ns,
        ...(svc ? { service: svc } : {}),
        window: formatDuration(w),
        stepSeconds: step,
        current: { start: start.toISOString(), end: end.toISOString() },
        baseline: {
          start: bStart.toISOString(),
          end: bEnd.toISOString(),
          description: baselineDesc,
        },
        method: `Robust z-score against ${baselineDesc}: z = (x - median) / max(1.4826 * MAD, ${
          r.relativeFloor * 100
        } % of the median, a floor of ${r.absoluteFloor.request_rate} rps / ${r.absoluteFloor.success_rate} percentage points / ${r.absoluteFloor.latency_p95} ms); points with |z| >= ${r.zThreshold} are anomalous, consecutive ones form one anomaly. Points are ${step} s apart, each a rate over ${
          formatDuration(rateWindow)
        }; baselines with fewer than 5 points are not judged.`,
        services,
        anomalies,
        summary: anomalies.length ? anomalies.map((a) => a.sentence) : [
          `No anomalies in ${ns} over the last ${formatDuration(w)} compared with ${baselineDesc}`,
        ],
      });
    },
  });
}

/** The metrics family's tools. */
// deno-lint-ignore no-explicit-any
export function metricsTools(): ToolSpec<any, any>[] {
  // deno-lint-ignore no-explicit-any
  return <ToolSpec<any, any>[]> [
    getServiceMetrics(),
    analyzeTrafficFlow(),
    getServiceHealthSummary(),
    getTopServices(),
    getTrafficTrends(),
  ];
}
