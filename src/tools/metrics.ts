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
import { namespaceArg, serviceArg, timeRangeArg } from "./_args.ts";
import { parseDuration, validateName } from "../metrics/labels.ts";
import { DEFAULT_THRESHOLDS, type HealthThresholds, type SortBy } from "../metrics/analysis.ts";
import type { MetricsDeps } from "../metrics/query_run.ts";
import * as M from "../metrics/use_cases.ts";
import { cursorArg, limitArg, PAGE_BYTES, paginate } from "./_budget.ts";

// ---------------------------------------------------------------- shared pieces

const NAMESPACE = namespaceArg('Kubernetes namespace of the service(s), e.g. "emojivoto"');

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

/** Default page's most services (the page is also cut to fit the byte budget). */
const DEFAULT_PAGE = 50;

const pageOut = {
  total: z.number().int().describe("Services over all pages"),
  omitted: z.number().int().describe("Services after this page (follow nextCursor)"),
  nextCursor: z.string().optional().describe(
    "Pass back as cursor, with the same other arguments, for the next page",
  ),
};

function pageFields(page: { total: number; omitted: number; nextCursor?: string }) {
  return {
    total: page.total,
    omitted: page.omitted,
    ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
  };
}

/** Identity helper that lets TypeScript infer a tool's argument and output types. */
function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  spec: ToolSpec<I, O>,
): ToolSpec<I, O> {
  return spec;
}

/** The use cases' dependencies for one call. */
function metricsDeps(deps: ToolDeps, signal: AbortSignal): MetricsDeps {
  return { prom: deps.prom, cluster: deps.cluster, now: deps.now(), signal };
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
      namespace: NAMESPACE,
      service: serviceArg('Kubernetes Service name, e.g. "web-svc" or "emoji-svc"'),
      time_range: timeRangeArg(),
    },
    outputSchema: serviceMetricsOutput,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      return ok(
        await M.serviceMetrics(metricsDeps(deps, ctx.signal), {
          namespace: validateName(args.namespace, "namespace"),
          service: validateName(args.service, "service"),
          windowSeconds: parseDuration(args.time_range),
        }),
      );
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
      source_namespace: namespaceArg(
        'Namespace of the calling service, e.g. "emojivoto"',
        "source_namespace",
      ),
      source_service: serviceArg(
        'Calling Service (or Deployment) name, e.g. "web"',
        "source_service",
      ),
      target_namespace: namespaceArg("", "target_namespace").optional().describe(
        "Namespace of the called service; defaults to source_namespace",
      ),
      target_service: serviceArg('Called Service name, e.g. "voting-svc"', "target_service"),
      time_range: timeRangeArg(),
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
      errorsByStatus: z.record(z.string(), z.number()).describe(
        `Failed requests by HTTP status code, the ${M.SUBLIST_MAX} largest`,
      ),
      errorsByStatusOmitted: z.number().int().describe("Status codes left out of errorsByStatus"),
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
        })).describe(`Requests by tls and no_tls_reason, the ${M.SUBLIST_MAX} largest`),
        breakdownOmitted: z.number().int().describe("Breakdown entries left out"),
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
      const sourceNamespace = validateName(args.source_namespace, "namespace", "source_namespace");
      return ok(
        await M.trafficFlow(metricsDeps(deps, ctx.signal), {
          sourceNamespace,
          sourceService: validateName(args.source_service, "service", "source_service"),
          targetNamespace: validateName(
            args.target_namespace ?? sourceNamespace,
            "namespace",
            "target_namespace",
          ),
          targetService: validateName(args.target_service, "service", "target_service"),
          windowSeconds: parseDuration(args.time_range),
        }),
      );
    },
  });
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
      '"time_range": "10m", "error_rate_warning": 1}. The services are paged (a default page fits ' +
      "about 8 KB, worst first; counts, total and omitted cover all): pass nextCursor back as cursor, " +
      "or a larger limit, for more.",
    inputSchema: {
      namespace: NAMESPACE,
      time_range: timeRangeArg(),
      error_rate_warning: thr("Error rate (%) at or above which a service is degraded", 5),
      error_rate_critical: thr("Error rate (%) at or above which a service is unhealthy", 10),
      latency_p95_warning_ms: thr("p95 latency (ms) at or above which a service is degraded", 1000),
      latency_p95_critical_ms: thr(
        "p95 latency (ms) at or above which a service is unhealthy",
        5000,
      ),
      limit: limitArg(1000, "Services", DEFAULT_PAGE),
      cursor: cursorArg(),
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
      counts: z.record(z.string(), z.number()).describe(
        "Services per healthStatus, over all pages",
      ),
      ...pageOut,
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
      })).describe(
        "One page: unhealthy first, then degraded, unknown, healthy, idle (total and omitted count the rest)",
      ),
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
      const r = await M.healthSummary(metricsDeps(deps, ctx.signal), {
        namespace: ns,
        windowSeconds: w,
        thresholds: t,
      });
      const page = paginate(r.services, {
        tool: "get_service_health_summary",
        filter: JSON.stringify([ns, w, t]),
        limit: args.limit,
        cursor: args.cursor,
        defaultMax: DEFAULT_PAGE,
      });
      return ok({ ...r, services: page.items, ...pageFields(page) });
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
      'Example: {"namespace": "emojivoto", "sort_by": "latency_p95", "limit": 5}. Default: the top 10; ' +
      "pass nextCursor back as cursor for the next ranks.",
    inputSchema: {
      namespace: NAMESPACE,
      sort_by: z.enum(["request_rate", "error_rate", "success_rate", "latency_p95", "latency_p99"])
        .default("request_rate").describe(
          "Metric to rank by: request_rate, error_rate, success_rate, latency_p95, latency_p99. Default: request_rate",
        ),
      time_range: timeRangeArg(),
      limit: limitArg(1000, "Services", 10),
      cursor: cursorArg(),
    },
    outputSchema: {
      ...common,
      namespace: z.string(),
      sortBy: z.string(),
      order: z.string().describe("How the list is ordered, in words"),
      timeRange: timeRangeOut,
      totalServices: z.number(),
      ...pageOut,
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
      const r = await M.topServices(metricsDeps(deps, ctx.signal), {
        namespace: ns,
        windowSeconds: w,
        sortBy: args.sort_by as SortBy,
      });
      const page = paginate(r.services, {
        tool: "get_top_services",
        filter: JSON.stringify([ns, w, args.sort_by]),
        limit: args.limit,
        cursor: args.cursor,
        defaultMax: 10,
      });
      return ok({ ...r, services: page.items, ...pageFields(page) });
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

function getTrafficTrends() {
  return defineTool({
    name: "get_traffic_trends",
    title: "Metrics: Traffic trends and anomalies",
    description:
      "How request rate, success rate and p95 latency of a namespace's services (or one service) " +
      "moved over a window, compared with a baseline, with anomalies in plain sentences such as " +
      '"p95 latency of emoji rose from 40 ms to 310 ms at 14:05 UTC". Use it for "what changed in ' +
      'the last hour?". Example: {"namespace": "emojivoto", "window": "1h", "compare_to": "previous"} ' +
      'or {"namespace": "emojivoto", "service": "voting", "window": "24h", "compare_to": "7d"}. ' +
      `The ${M.ANOMALIES_MAX} strongest anomalies are listed (anomaliesTotal counts all); the ` +
      "services are paged (pass nextCursor back as cursor, or a larger limit).",
    inputSchema: {
      namespace: NAMESPACE,
      service: serviceArg().optional().describe(
        'Only this Service, e.g. "emoji-svc"; all when absent',
      ),
      window: z.string().default("1h").describe(
        'Window to analyse, a Prometheus duration from 10m to 7d, e.g. "1h", "24h", "7d". Default: 1h',
      ),
      compare_to: z.enum(["previous", "1d", "7d"]).default("previous").describe(
        'Baseline: "previous" (the window just before), "1d" or "7d" (the same window a day or a week earlier). Default: previous',
      ),
      limit: limitArg(1000, "Services", DEFAULT_PAGE),
      cursor: cursorArg(),
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
      })).describe("One page of services, by name (total and omitted count the rest)"),
      ...pageOut,
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
      })).describe(
        `The ${M.ANOMALIES_MAX} strongest anomalies of all services (|zScore| highest first)`,
      ),
      anomaliesTotal: z.number().int().describe("Anomalies found over all services"),
      anomaliesOmitted: z.number().int().describe("Weaker anomalies not listed"),
      summary: z.array(z.string()).describe("The anomalies as sentences, or a no-anomaly sentence"),
    },
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const ns = validateName(args.namespace, "namespace");
      const svc = args.service === undefined ? undefined : validateName(args.service, "service");
      const w = parseDuration(args.window, "window", { min: 600, max: 7 * 86_400 });
      const r = await M.trafficTrends(metricsDeps(deps, ctx.signal), {
        namespace: ns,
        ...(svc === undefined ? {} : { service: svc }),
        windowSeconds: w,
        compareTo: args.compare_to,
      });
      const page = paginate(r.services, {
        tool: "get_traffic_trends",
        filter: JSON.stringify([ns, svc ?? null, w, args.compare_to]),
        limit: args.limit,
        cursor: args.cursor,
        defaultMax: DEFAULT_PAGE,
        // the anomalies and their sentences share the page's room
        bytes: Math.max(
          600,
          PAGE_BYTES - JSON.stringify(r.anomalies).length - JSON.stringify(r.summary).length,
        ),
      });
      return ok({ ...r, services: page.items, ...pageFields(page) });
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
