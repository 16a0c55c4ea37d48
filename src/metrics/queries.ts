/**
 * Named, pure PromQL builders over the metrics Linkerd's proxies export
 * (linkerd-semantics.md §4), modelled on viz's templates in
 * `viz/metrics-api/stat_summary.go`:
 *
 * ```
 * sum(increase(response_total{…}[W])) by (…, classification)
 * histogram_quantile(q, sum(rate(response_latency_ms_bucket{…}[W])) by (le, …))
 * sum(tcp_open_connections{…}) by (…)
 * sum(increase(tcp_read_bytes_total{…}[W])) by (…)
 * sum(increase(inbound_http_authz_allow_total{…}[W])) by (…)
 * ```
 *
 * One deliberate difference: viz computes quantiles with `irate` (the last two
 * samples); these builders use `rate` over the whole window, so a `time_range` of
 * 1h means the latency over that hour.
 *
 * How a workload is selected: Prometheus adds `namespace` and one of
 * `deployment`/`statefulset`/`daemonset` (from the pod's `linkerd.io/proxy-<kind>`
 * label) to every proxy series, so a server-side (inbound) view of a workload is
 * `{direction="inbound", namespace, <kind>}`. Client-side (outbound) series carry the
 * destination Service as `dst_service`/`dst_namespace` (from the destination
 * controller), which is how callers of a Service are found.
 *
 * Values are printed with {@linkcode formatMatchers}, which escapes them; the tools
 * validate them as Kubernetes names before they get here. This module imports
 * nothing from `src/kube/`.
 *
 * @module
 */
import { eq, escapeRegex, formatDuration, formatMatchers, type Matcher } from "./labels.ts";

/** Workload label names Prometheus adds to proxy series (viz's relabelling). */
export const WORKLOAD_LABELS = ["deployment", "statefulset", "daemonset"] as const;

/** A workload kind that has its own label on proxy series. */
export type WorkloadKind = typeof WORKLOAD_LABELS[number];

/** One or more workloads of one kind in one namespace. */
export interface WorkloadRef {
  namespace: string;
  kind: WorkloadKind;
  /** Workload names; more than one becomes an anchored regex of escaped names. */
  names: readonly string[];
}

/** Matchers that select a workload's series (`namespace`, `<kind>`), optionally `dst_`-prefixed. */
export function workloadMatchers(w: WorkloadRef): Matcher[] {
  const names = [...new Set(w.names)];
  const m: Matcher = names.length === 1
    ? { label: w.kind, op: "=", value: names[0]! }
    : { label: w.kind, op: "=~", value: `(${names.map(escapeRegex).join("|")})` };
  return [...eq({ namespace: w.namespace }), m];
}

function win(seconds: number): string {
  return formatDuration(seconds);
}

function by(labels: readonly string[]): string {
  return labels.length ? ` by (${labels.join(", ")})` : "";
}

/** `sum(increase(<metric>{…}[W])) by (…)`. */
export function increaseQuery(
  metric: string,
  matchers: readonly Matcher[],
  windowSeconds: number,
  groupBy: readonly string[] = [],
): string {
  return `sum(increase(${metric}${formatMatchers(matchers)}[${win(windowSeconds)}]))${by(groupBy)}`;
}

/** `histogram_quantile(q, sum(rate(response_latency_ms_bucket{…}[W])) by (le, …))`. */
export function latencyQuantileQuery(
  quantile: number,
  matchers: readonly Matcher[],
  windowSeconds: number,
  groupBy: readonly string[] = [],
): string {
  if (!(quantile > 0 && quantile < 1)) throw new RangeError(`Invalid quantile ${quantile}`);
  return `histogram_quantile(${quantile}, sum(rate(response_latency_ms_bucket${
    formatMatchers(matchers)
  }[${win(windowSeconds)}]))${by(["le", ...groupBy])})`;
}

/** Inbound responses of a workload by classification and status code (the server's view). */
export function inboundResponsesQuery(w: WorkloadRef, windowSeconds: number): string {
  return increaseQuery(
    "response_total",
    [...eq({ direction: "inbound" }), ...workloadMatchers(w)],
    windowSeconds,
    ["classification", "status_code"],
  );
}

/** Inbound latency quantile of a workload, in ms. */
export function inboundLatencyQuery(q: number, w: WorkloadRef, windowSeconds: number): string {
  return latencyQuantileQuery(
    q,
    [...eq({ direction: "inbound" }), ...workloadMatchers(w)],
    windowSeconds,
  );
}

/** Mean inbound latency (ms) from the histogram's `_sum` and `_count`. */
export function inboundMeanLatencyQuery(w: WorkloadRef, windowSeconds: number): string {
  const sel = formatMatchers([...eq({ direction: "inbound" }), ...workloadMatchers(w)]);
  const d = win(windowSeconds);
  return `sum(increase(response_latency_ms_sum${sel}[${d}])) / sum(increase(response_latency_ms_count${sel}[${d}]))`;
}

/** Who calls a Service: outbound responses of every client proxy whose destination is it. */
export function topSourcesQuery(
  dstNamespace: string,
  dstService: string,
  windowSeconds: number,
): string {
  return increaseQuery(
    "response_total",
    eq({ direction: "outbound", dst_namespace: dstNamespace, dst_service: dstService }),
    windowSeconds,
    ["namespace", ...WORKLOAD_LABELS, "classification"],
  );
}

/** What a workload calls: its outbound responses by destination Service. */
export function topDestinationsQuery(w: WorkloadRef, windowSeconds: number): string {
  return increaseQuery(
    "response_total",
    [...eq({ direction: "outbound" }), ...workloadMatchers(w)],
    windowSeconds,
    ["dst_namespace", "dst_service", "classification"],
  );
}

/** Open inbound TCP connections of a workload (a gauge). */
export function tcpOpenConnectionsQuery(w: WorkloadRef): string {
  return `sum(tcp_open_connections${
    formatMatchers([...eq({ direction: "inbound" }), ...workloadMatchers(w)])
  })`;
}

/** Inbound TCP bytes of a workload (`peer="src"`, as viz). */
export function tcpBytesQuery(
  metric: "tcp_read_bytes_total" | "tcp_write_bytes_total",
  w: WorkloadRef,
  windowSeconds: number,
): string {
  return increaseQuery(
    metric,
    [...eq({ direction: "inbound", peer: "src" }), ...workloadMatchers(w)],
    windowSeconds,
  );
}

/** Matchers for the edge source workload → destination Service (the source's outbound view). */
export function edgeMatchers(src: WorkloadRef, dstNamespace: string, dstService: string) {
  return [
    ...eq({ direction: "outbound", dst_namespace: dstNamespace, dst_service: dstService }),
    ...workloadMatchers(src),
  ];
}

/** Edge responses by classification, status code and TLS state. */
export function edgeResponsesQuery(
  src: WorkloadRef,
  dstNamespace: string,
  dstService: string,
  windowSeconds: number,
): string {
  return increaseQuery(
    "response_total",
    edgeMatchers(src, dstNamespace, dstService),
    windowSeconds,
    ["classification", "status_code", "tls", "no_tls_reason"],
  );
}

/** Edge latency quantile (ms), measured by the client proxy. */
export function edgeLatencyQuery(
  q: number,
  src: WorkloadRef,
  dstNamespace: string,
  dstService: string,
  windowSeconds: number,
): string {
  return latencyQuantileQuery(q, edgeMatchers(src, dstNamespace, dstService), windowSeconds);
}

/** Edge TCP bytes (`peer="dst"`: the client proxy's connections to the destination). */
export function edgeTcpBytesQuery(
  metric: "tcp_read_bytes_total" | "tcp_write_bytes_total",
  src: WorkloadRef,
  dstNamespace: string,
  dstService: string,
  windowSeconds: number,
): string {
  return increaseQuery(
    metric,
    [...edgeMatchers(src, dstNamespace, dstService), ...eq({ peer: "dst" })],
    windowSeconds,
  );
}

/**
 * Inbound HTTP authorization decisions at a workload (`inbound_http_authz_allow_total` /
 * `inbound_http_authz_deny_total`, which have no `direction` label). With
 * `clientIdentityPrefix`, only requests whose mTLS client identity starts with it
 * (e.g. `web.emojivoto.serviceaccount.identity.`).
 */
export function authzQuery(
  decision: "allow" | "deny",
  target: WorkloadRef,
  windowSeconds: number,
  clientIdentityPrefix?: string,
): string {
  const m: Matcher[] = workloadMatchers(target);
  if (clientIdentityPrefix !== undefined) {
    m.push({ label: "client_id", op: "=~", value: `${escapeRegex(clientIdentityPrefix)}.*` });
  }
  return increaseQuery(
    `inbound_http_authz_${decision}_total`,
    m,
    windowSeconds,
    decision === "allow" ? ["srv_name", "authz_kind", "authz_name"] : ["srv_name"],
  );
}

/** Every workload of a namespace: inbound responses by workload and classification (one query). */
export function namespaceResponsesQuery(namespace: string, windowSeconds: number): string {
  return increaseQuery(
    "response_total",
    eq({ direction: "inbound", namespace }),
    windowSeconds,
    [...WORKLOAD_LABELS, "classification"],
  );
}

/** Every workload of a namespace: an inbound latency quantile by workload (one query). */
export function namespaceLatencyQuery(q: number, namespace: string, windowSeconds: number): string {
  return latencyQuantileQuery(q, eq({ direction: "inbound", namespace }), windowSeconds, [
    ...WORKLOAD_LABELS,
  ]);
}

/** Inbound traffic of one workload, or of a whole namespace when `w` is absent. */
function inboundScope(namespace: string, w: WorkloadRef | undefined) {
  return w ? [...eq({ direction: "inbound" }), ...workloadMatchers(w)] : eq({
    direction: "inbound",
    namespace,
  });
}

/** Range query: inbound request rate (rps) by workload and classification. */
export function rangeRequestRateQuery(
  namespace: string,
  w: WorkloadRef | undefined,
  rateWindowSeconds: number,
): string {
  const m = inboundScope(namespace, w);
  return `sum(rate(response_total${formatMatchers(m)}[${win(rateWindowSeconds)}]))${
    by([...WORKLOAD_LABELS, "classification"])
  }`;
}

/** Range query: an inbound latency quantile (ms) by workload. */
export function rangeLatencyQuery(
  q: number,
  namespace: string,
  w: WorkloadRef | undefined,
  rateWindowSeconds: number,
): string {
  const m = inboundScope(namespace, w);
  return latencyQuantileQuery(q, m, rateWindowSeconds, [...WORKLOAD_LABELS]);
}

/** The workload a series belongs to, from its `deployment`/`statefulset`/`daemonset` label. */
export function workloadOf(
  labels: Record<string, string>,
  prefix = "",
): { kind: WorkloadKind; name: string } | undefined {
  for (const kind of WORKLOAD_LABELS) {
    const v = labels[prefix + kind];
    if (v) return { kind, name: v };
  }
  return undefined;
}
