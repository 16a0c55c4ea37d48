/**
 * What the proxies observed, from Prometheus: the PromQL the lifecycle tools send and
 * the parsing of the answers into flows (one client → one target pod port, optionally
 * one route). Pure: builders return strings, parsers take samples.
 *
 * Series used (linkerd-semantics.md §4.2):
 * - `inbound_http_authz_allow_total` / `inbound_tcp_authz_allow_total` with
 *   `authz_kind="default", authz_name="audit"`: requests and connections allowed only by
 *   audit mode (§2.8, a superset of what enforcement would deny);
 * - inbound `request_total` (HTTP requests by `client_id`) and `tcp_open_total`
 *   (`peer="src"`, connections by `client_id`): every observed inbound flow;
 * - outbound `response_total` with `dst_namespace`: the clients' own view, which names
 *   the Service they addressed.
 *
 * @module
 */
import { eq, formatMatchers, type Matcher } from "../metrics/labels.ts";
import { increaseQuery, WORKLOAD_LABELS, workloadOf } from "../metrics/queries.ts";
import type { PromSample } from "../metrics/prom_client.ts";

/** Labels the inbound flows are grouped by. */
const INBOUND_BY = [
  "namespace",
  "pod",
  ...WORKLOAD_LABELS,
  "target_port",
  "srv_kind",
  "srv_name",
  "tls",
  "client_id",
  "no_tls_reason",
] as const;
const ROUTE_BY = ["route_kind", "route_name"] as const;

const AUDIT: Matcher[] = eq({ authz_kind: "default", authz_name: "audit" });

function scope(namespace: string | undefined): Matcher[] {
  return namespace === undefined ? [] : eq({ namespace });
}

/** HTTP requests allowed only by the `audit` authorization, per client, pod port and route. */
export function auditHttpQuery(namespace: string | undefined, windowSeconds: number): string {
  return increaseQuery(
    "inbound_http_authz_allow_total",
    [...AUDIT, ...scope(namespace)],
    windowSeconds,
    [...INBOUND_BY, ...ROUTE_BY],
  );
}

/** TCP connections allowed only by the `audit` authorization, per client and pod port. */
export function auditTcpQuery(namespace: string | undefined, windowSeconds: number): string {
  return increaseQuery(
    "inbound_tcp_authz_allow_total",
    [...AUDIT, ...scope(namespace)],
    windowSeconds,
    INBOUND_BY,
  );
}

/** Inbound requests credited to `audit` (`request_total`): fills gaps in the authz counter. */
export function auditRequestsQuery(namespace: string | undefined, windowSeconds: number): string {
  return increaseQuery(
    "request_total",
    [...eq({ direction: "inbound" }), ...AUDIT, ...scope(namespace)],
    windowSeconds,
    [...INBOUND_BY, ...ROUTE_BY],
  );
}

/** Every inbound HTTP request of a namespace, per client, pod port, route and authorization. */
export function inboundRequestsQuery(namespace: string, windowSeconds: number): string {
  return increaseQuery(
    "request_total",
    eq({ direction: "inbound", namespace }),
    windowSeconds,
    [...INBOUND_BY, ...ROUTE_BY, "authz_kind", "authz_name"],
  );
}

/** Every inbound TCP connection of a namespace, per client and pod port. */
export function inboundConnectionsQuery(namespace: string, windowSeconds: number): string {
  return increaseQuery(
    "tcp_open_total",
    eq({ direction: "inbound", peer: "src", namespace }),
    windowSeconds,
    INBOUND_BY,
  );
}

/** The clients' outbound requests to a namespace's Services, per client workload. */
export function outboundEdgesQuery(namespace: string, windowSeconds: number): string {
  return increaseQuery(
    "response_total",
    eq({ direction: "outbound", dst_namespace: namespace }),
    windowSeconds,
    [
      "namespace",
      ...WORKLOAD_LABELS,
      "dst_service",
      ...WORKLOAD_LABELS.map((k) => `dst_${k}`),
      "tls",
    ],
  );
}

/** Exposed for tests: the selector text of the audit series. */
export const AUDIT_SELECTOR = formatMatchers(AUDIT);

/** One observed flow: a client to one port of one target pod (and route, for HTTP). */
export interface ObservedFlow {
  protocol: "http" | "tcp";
  /** Target namespace. */
  namespace: string;
  pod?: string;
  workload?: { kind: string; name: string };
  port?: number;
  srv: { kind: string; name: string };
  route?: { kind: string; name: string };
  authz?: { kind: string; name: string };
  /** The client's mTLS identity (`tls="true"`). */
  clientId?: string;
  tls: string;
  noTlsReason?: string;
  /** Requests (http) or connections (tcp) in the window. */
  count: number;
}

/** A stable key of a flow's client, target and route. */
export function flowKey(f: ObservedFlow): string {
  return [
    f.protocol,
    f.namespace,
    f.pod ?? "",
    f.workload ? `${f.workload.kind}/${f.workload.name}` : "",
    f.port ?? "",
    f.srv.kind,
    f.srv.name,
    f.route ? `${f.route.kind}/${f.route.name}` : "",
    f.tls,
    f.clientId ?? "",
  ].join("|");
}

/** Flows from the samples of one of the inbound queries (zero-valued groups dropped). */
export function flowsOf(samples: readonly PromSample[], protocol: "http" | "tcp"): ObservedFlow[] {
  const out: ObservedFlow[] = [];
  for (const s of samples) {
    if (!Number.isFinite(s.value) || s.value <= 0) continue;
    const m = s.metric;
    const port = m["target_port"] ? Number(m["target_port"]) : undefined;
    const wl = workloadOf(m);
    out.push({
      protocol,
      namespace: m["namespace"] ?? "",
      ...(m["pod"] ? { pod: m["pod"] } : {}),
      ...(wl ? { workload: wl } : {}),
      ...(port !== undefined && Number.isInteger(port) && port > 0 ? { port } : {}),
      srv: { kind: m["srv_kind"] ?? "", name: m["srv_name"] ?? "" },
      ...(m["route_kind"] || m["route_name"]
        ? { route: { kind: m["route_kind"] ?? "", name: m["route_name"] ?? "" } }
        : {}),
      ...(m["authz_kind"] || m["authz_name"]
        ? { authz: { kind: m["authz_kind"] ?? "", name: m["authz_name"] ?? "" } }
        : {}),
      ...(m["tls"] === "true" && m["client_id"] ? { clientId: m["client_id"] } : {}),
      tls: m["tls"] ?? "",
      ...(m["no_tls_reason"] ? { noTlsReason: m["no_tls_reason"] } : {}),
      count: s.value,
    });
  }
  return out;
}

/**
 * Merges flows of the same key; the larger count wins (two counters of the same
 * requests, e.g. the authz counter and `request_total`, are not added up).
 */
export function mergeFlows(...lists: ReadonlyArray<readonly ObservedFlow[]>): ObservedFlow[] {
  const by = new Map<string, ObservedFlow>();
  for (const list of lists) {
    for (const f of list) {
      const k = flowKey(f);
      const cur = by.get(k);
      if (!cur || f.count > cur.count) by.set(k, f);
    }
  }
  return [...by.values()];
}

/** An outbound edge: client workload → Service of the namespace. */
export interface OutboundEdge {
  clientNamespace: string;
  clientWorkload?: { kind: string; name: string };
  service: string;
  targetWorkload?: { kind: string; name: string };
  tls: string;
  count: number;
}

/** Edges from the samples of {@linkcode outboundEdgesQuery}. */
export function edgesOf(samples: readonly PromSample[]): OutboundEdge[] {
  const out: OutboundEdge[] = [];
  for (const s of samples) {
    if (!Number.isFinite(s.value) || s.value <= 0 || !s.metric["dst_service"]) continue;
    const c = workloadOf(s.metric);
    const t = workloadOf(s.metric, "dst_");
    out.push({
      clientNamespace: s.metric["namespace"] ?? "",
      ...(c ? { clientWorkload: c } : {}),
      service: s.metric["dst_service"]!,
      ...(t ? { targetWorkload: t } : {}),
      tls: s.metric["tls"] ?? "",
      count: s.value,
    });
  }
  return out;
}

/** The ServiceAccount and namespace of a Linkerd identity (`sa.ns.serviceaccount.identity.…`). */
export function parseIdentity(
  id: string,
): { serviceAccount: string; namespace: string } | undefined {
  const m =
    /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.serviceaccount\.identity\./
      .exec(id);
  // a ServiceAccount name may contain dots; the namespace may not
  if (!m) return undefined;
  return { serviceAccount: m[1]!, namespace: m[3]! };
}

/** Adds up flows of the same key (series that differ only by labels the key ignores). */
export function sumFlows(flows: readonly ObservedFlow[]): ObservedFlow[] {
  const by = new Map<string, ObservedFlow>();
  for (const f of flows) {
    const k = flowKey(f);
    const cur = by.get(k);
    if (!cur) by.set(k, { ...f });
    else {
      cur.count += f.count;
      // a probe's authorization is what marks it: keep it if any series has it
      if (f.authz?.name === "probe") cur.authz = f.authz;
    }
  }
  return [...by.values()];
}
