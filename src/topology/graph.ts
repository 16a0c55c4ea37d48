/**
 * The mesh topology as a graph: workload and Service nodes, and request edges
 * (client workload → destination Service) with the traffic observed on them and the
 * policy verdict for the pair. Pure: the caller runs the queries and the policy
 * analysis and hands in plain data ({@linkcode TopologyInput}).
 *
 * Edges come from the clients' outbound `response_total` series (rate, success,
 * mTLS from the `tls` label), plus denied-but-attempted edges from the targets'
 * `inbound_http_authz_deny_total` series (client identity → the workloads running as
 * that ServiceAccount). Large graphs are bounded: the busiest {@linkcode TopologyInput.limit}
 * edges are kept, the rest are counted.
 *
 * @module
 */

/** The policy verdict for a (client workload, destination Service) pair. */
export type EdgeVerdict = "allowed" | "denied" | "partial" | "audit" | "undetermined" | "unknown";

/** A workload as proxy series name it (`deployment`, `statefulset`, `daemonset`). */
export interface WorkloadId {
  namespace: string;
  kind: string;
  name: string;
}

/** Outbound responses of one client workload to one Service, one label combination. */
export interface TrafficSample {
  source: WorkloadId;
  dstNamespace: string;
  dstService: string;
  classification: string;
  /** The `tls` label: `"true"` when the request went over mTLS. */
  tls: string;
  /** Responses in the window. */
  count: number;
}

/** Inbound requests a target workload's proxies denied, by client identity. */
export interface DenySample {
  target: WorkloadId;
  /** The mTLS client identity; absent for an unauthenticated client. */
  clientId?: string;
  count: number;
}

/** One node of the graph. */
export interface TopologyNode {
  /** Mermaid-safe id (`n0`, `n1`, ...), stable for one answer. */
  id: string;
  kind: "workload" | "service" | "external";
  namespace: string;
  /** `deployment/web`, a Service name, or `unauthenticated`. */
  name: string;
  /** For a Service: the workloads behind it that appear in the graph, as kind/name. */
  workloads?: string[];
}

/** One request edge: a client workload calling a Service. */
export interface TopologyEdge {
  from: string;
  to: string;
  source: { namespace: string; workload: string };
  target: { namespace: string; service: string };
  /** `traffic`: responses observed; `denied`: only denied attempts were observed. */
  observed: "traffic" | "denied";
  requestRate: number;
  /** Percent of responses classified success; null without responses. */
  successRate: number | null;
  /** Percent of requests sent over mTLS; null without responses. */
  mtlsPercent: number | null;
  mtls: "all" | "partial" | "none" | "unknown";
  /** Requests per second the target's proxies denied from this client. */
  deniedRate: number;
  verdict: EdgeVerdict;
  /** Why the verdict is what it is, in a few words (policy objects involved). */
  policy: string;
}

/** What {@linkcode buildTopology} needs. */
export interface TopologyInput {
  /** Only this namespace's clients and targets; all when absent. */
  namespace?: string;
  windowSeconds: number;
  traffic: readonly TrafficSample[];
  denies: readonly DenySample[];
  /** The workloads running as a mesh identity (`sa.ns.serviceaccount.identity.<domain>`). */
  workloadsOfIdentity(clientId: string): WorkloadId[];
  /** The Services that select a workload's pods (names, same namespace). */
  servicesOfWorkload(w: WorkloadId): string[];
  /** The policy verdict for a client workload calling a Service. */
  verdict(source: WorkloadId, target: { namespace: string; service: string }): {
    verdict: EdgeVerdict;
    policy: string;
  };
  /** Keep at most this many edges (busiest first); ignored when `page` is given. */
  limit?: number;
  /**
   * Picks the edges of this answer out of all of them (busiest first), e.g. one page of
   * a cursor; the rest are counted in `omitted`. Default: the first `limit`.
   */
  page?: (all: readonly TopologyEdge[]) => TopologyEdge[];
}

/** The graph. */
export interface Topology {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
  /** Edges per verdict (all edges, kept or not). */
  verdicts: Record<string, number>;
  totalEdges: number;
  /** Edges left out by the limit, and their request rate. */
  omitted: { edges: number; requestRate: number; nodes: number };
}

const round = (v: number, digits = 2) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** `kind/name` of a workload. */
export function workloadName(w: WorkloadId): string {
  return `${w.kind}/${w.name}`;
}

interface Acc {
  source: WorkloadId;
  dstNamespace: string;
  dstService: string;
  total: number;
  success: number;
  tls: number;
  denied: number;
  unauthenticated?: boolean;
}

/** Builds the bounded graph from the observed traffic and the verdicts. */
export function buildTopology(input: TopologyInput): Topology {
  const acc = new Map<string, Acc>();
  const keyOf = (s: WorkloadId, ns: string, svc: string) =>
    `${s.namespace}\u0000${s.kind}\u0000${s.name}\u0000${ns}\u0000${svc}`;
  const get = (s: WorkloadId, ns: string, svc: string): Acc => {
    const k = keyOf(s, ns, svc);
    let a = acc.get(k);
    if (!a) {
      a = { source: s, dstNamespace: ns, dstService: svc, total: 0, success: 0, tls: 0, denied: 0 };
      acc.set(k, a);
    }
    return a;
  };
  for (const t of input.traffic) {
    if (!(t.count > 0) || !t.dstService) continue;
    const a = get(t.source, t.dstNamespace, t.dstService);
    a.total += t.count;
    if (t.classification === "success") a.success += t.count;
    if (t.tls === "true") a.tls += t.count;
  }
  for (const d of input.denies) {
    if (!(d.count > 0)) continue;
    const services = input.servicesOfWorkload(d.target);
    if (!services.length) continue;
    const clients: WorkloadId[] = d.clientId
      ? input.workloadsOfIdentity(d.clientId)
      : [{ namespace: "", kind: "external", name: "unauthenticated" }];
    for (const c of clients) {
      // One denied request is counted once: on the first Service of the target.
      const a = get(c, d.target.namespace, services[0]!);
      a.denied += d.count / clients.length;
      if (!d.clientId) a.unauthenticated = true;
    }
  }
  const w = input.windowSeconds;
  const all: TopologyEdge[] = [...acc.values()].map((a) => {
    const v = a.unauthenticated
      ? { verdict: "denied" as const, policy: "unauthenticated clients are not authorized" }
      : input.verdict(a.source, { namespace: a.dstNamespace, service: a.dstService });
    const mtlsPercent = a.total > 0 ? round((100 * a.tls) / a.total, 1) : null;
    return {
      from: "",
      to: "",
      source: {
        namespace: a.source.namespace,
        workload: a.unauthenticated ? "unauthenticated" : workloadName(a.source),
      },
      target: { namespace: a.dstNamespace, service: a.dstService },
      observed: a.total > 0 ? "traffic" as const : "denied" as const,
      requestRate: round(a.total / w, 3),
      successRate: a.total > 0 ? round((100 * a.success) / a.total, 1) : null,
      mtlsPercent,
      mtls: mtlsPercent === null
        ? "unknown" as const
        : mtlsPercent >= 100
        ? "all" as const
        : mtlsPercent <= 0
        ? "none" as const
        : "partial" as const,
      deniedRate: round(a.denied / w, 3),
      verdict: v.verdict,
      policy: v.policy,
    };
  });
  all.sort((x, y) =>
    (y.requestRate + y.deniedRate) - (x.requestRate + x.deniedRate) ||
    x.source.namespace.localeCompare(y.source.namespace) ||
    x.source.workload.localeCompare(y.source.workload) ||
    x.target.namespace.localeCompare(y.target.namespace) ||
    x.target.service.localeCompare(y.target.service)
  );
  const kept = input.page ? input.page(all) : all.slice(0, Math.max(0, input.limit ?? 0));
  const keptSet = new Set(kept);
  const dropped = all.filter((e) => !keptSet.has(e));
  const verdicts: Record<string, number> = {};
  for (const e of all) verdicts[e.verdict] = (verdicts[e.verdict] ?? 0) + 1;

  // Nodes, in a stable order: the edges' order.
  const nodes = new Map<string, TopologyNode>();
  const node = (kind: TopologyNode["kind"], namespace: string, name: string): TopologyNode => {
    const k = `${kind}\u0000${namespace}\u0000${name}`;
    let n = nodes.get(k);
    if (!n) {
      n = { id: `n${nodes.size}`, kind, namespace, name };
      nodes.set(k, n);
    }
    return n;
  };
  for (const e of kept) {
    const src = e.source.workload === "unauthenticated"
      ? node("external", e.source.namespace, "unauthenticated")
      : node("workload", e.source.namespace, e.source.workload);
    e.from = src.id;
    e.to = node("service", e.target.namespace, e.target.service).id;
  }
  // A Service's workloads that are themselves in the graph (so the picture connects).
  const workloadNodes = [...nodes.values()].filter((n) => n.kind === "workload");
  for (const wn of workloadNodes) {
    const [kind, name] = wn.name.split("/") as [string, string];
    for (const svc of input.servicesOfWorkload({ namespace: wn.namespace, kind, name })) {
      const sn = nodes.get(`service\u0000${wn.namespace}\u0000${svc}`);
      if (sn) (sn.workloads ??= []).push(wn.name);
    }
  }
  const allNodes = new Set<string>();
  for (const e of all) {
    allNodes.add(`${e.source.namespace}/${e.source.workload}`);
    allNodes.add(`svc:${e.target.namespace}/${e.target.service}`);
  }
  return {
    nodes: [...nodes.values()],
    edges: kept,
    verdicts,
    totalEdges: all.length,
    omitted: {
      edges: dropped.length,
      requestRate: round(dropped.reduce((s, e) => s + e.requestRate, 0), 3),
      nodes: Math.max(0, allNodes.size - nodes.size),
    },
  };
}

/** The client's workloads for a mesh identity `sa.ns.serviceaccount.identity.<domain>`. */
export function parseIdentity(
  clientId: string,
): { serviceAccount: string; namespace: string } | undefined {
  const m = /^(.+)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.serviceaccount\.identity\./.exec(clientId);
  return m ? { serviceAccount: m[1]!, namespace: m[2]! } : undefined;
}
