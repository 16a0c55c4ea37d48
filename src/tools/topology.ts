/**
 * `get_mesh_topology`: who talks to whom in the mesh, with the traffic observed on each
 * edge (rate, success, mTLS) and the policy verdict for the pair, as structured data and
 * as a Mermaid flowchart. The graph and the picture are pure (`src/topology/`); this
 * file runs the Prometheus queries (edges from the namespace, edges into it from elsewhere,
 * denials at its workloads) and the policy analysis and hands them over.
 *
 * @module
 */
import { z } from "zod";
import { eq, parseDuration, validateName } from "../metrics/labels.ts";
import { increaseQuery, WORKLOAD_LABELS, workloadOf } from "../metrics/queries.ts";
import { QueryRun } from "../metrics/query_run.ts";
import { workloadOfPod } from "../metrics/workloads.ts";
import { serviceAccountOf } from "../mesh/pods.ts";
import type { PromSample } from "../metrics/prom_client.ts";
import {
  buildTopology,
  type DenySample,
  type EdgeVerdict,
  parseIdentity,
  type Topology,
  type TrafficSample,
  type WorkloadId,
} from "../topology/graph.ts";
import { renderMermaid } from "../topology/mermaid.ts";
import { namespaceArg, timeRangeArg } from "./_args.ts";
import { cursorArg, PAGE_BYTES, paginate } from "./_budget.ts";
import { ok, READ_ONLY, type ToolDeps, type ToolSpec } from "./_spec.ts";

/** The outbound edges of a namespace's (or every) client workload. */
export function topologyTrafficQuery(namespace: string | undefined, windowSeconds: number): string {
  return increaseQuery(
    "response_total",
    eq({ direction: "outbound", namespace }),
    windowSeconds,
    ["namespace", ...WORKLOAD_LABELS, "dst_namespace", "dst_service", "classification", "tls"],
  );
}

/** The edges into a namespace's Services from clients anywhere (their outbound view). */
export function topologyInboundQuery(namespace: string, windowSeconds: number): string {
  return increaseQuery(
    "response_total",
    eq({ direction: "outbound", "dst_namespace": namespace }),
    windowSeconds,
    ["namespace", ...WORKLOAD_LABELS, "dst_namespace", "dst_service", "classification", "tls"],
  );
}

/** Denied inbound requests at a namespace's (or every) workload, by client identity. */
export function topologyDenyQuery(namespace: string | undefined, windowSeconds: number): string {
  return increaseQuery(
    "inbound_http_authz_deny_total",
    eq({ namespace }),
    windowSeconds,
    ["namespace", ...WORKLOAD_LABELS, "client_id"],
  );
}

/**
 * Most edges of a default answer (no `limit`); fewer when they do not fit a page of about
 * 8 KB (with their nodes and the Mermaid lines they add).
 */
export const DEFAULT_TOPOLOGY_LIMIT = 10;

/** Bytes an edge adds to an answer beyond its JSON: its nodes and its Mermaid lines. */
const EDGE_OVERHEAD = 120;

const VERDICT = z.enum(["allowed", "denied", "partial", "audit", "undetermined", "unknown"]);

const OUTPUT = {
  namespace: z.string().optional(),
  timeRange: z.object({ start: z.string(), end: z.string(), window: z.string() }),
  nodes: z.array(z.object({
    id: z.string().describe("The node's id in the Mermaid flowchart"),
    kind: z.enum(["workload", "service", "external"]),
    namespace: z.string(),
    name: z.string().describe('Workload as kind/name ("deployment/web"), or a Service name'),
    workloads: z.array(z.string()).optional().describe(
      "Workloads behind the Service that are in the graph",
    ),
  })),
  edges: z.array(z.object({
    from: z.string(),
    to: z.string(),
    source: z.object({ namespace: z.string(), workload: z.string() }),
    target: z.object({ namespace: z.string(), service: z.string() }),
    observed: z.enum(["traffic", "denied"]).describe(
      "traffic: responses observed; denied: only requests the target denied were observed",
    ),
    requestRate: z.number().describe("Requests per second over the window"),
    successRate: z.number().nullable().describe("Percent classified success"),
    mtlsPercent: z.number().nullable(),
    mtls: z.enum(["all", "partial", "none", "unknown"]),
    deniedRate: z.number().describe("Requests per second the target's proxies denied"),
    verdict: VERDICT.describe(
      "Policy verdict for the pair (analyze_connectivity): allowed, denied, partial (some ports or routes), audit (allowed only by audit mode), undetermined, unknown (the Service is not in the cluster state)",
    ),
    policy: z.string().describe("Policy objects behind the verdict"),
  })).describe("Busiest first; one page: at most `limit`, or as many as fit about 8 KB"),
  verdicts: z.record(z.string(), z.number()).describe("Edges per verdict (all edges)"),
  totalEdges: z.number(),
  total: z.number().describe("Edges over all pages (same as totalEdges)"),
  omitted: z.object({ edges: z.number(), requestRate: z.number(), nodes: z.number() }).describe(
    "Edges (and their rate) and nodes not on this page",
  ),
  nextCursor: z.string().optional().describe(
    "Pass as cursor (same namespace and time_range) for the next, quieter edges",
  ),
  mermaid: z.string().describe(
    "The graph as a Mermaid flowchart; arrows coloured by verdict (green allowed, orange audit, yellow partial, red dashed denied)",
  ),
  prometheus: z.string(),
  partial: z.boolean(),
  warnings: z.array(z.string()),
  notes: z.array(z.string()),
};

/** The topology use case: queries, policy verdicts, graph, picture. */
export async function meshTopology(
  deps: ToolDeps,
  args: {
    namespace?: string;
    windowSeconds: number;
    limit?: number | undefined;
    cursor?: string | undefined;
  },
  signal: AbortSignal,
) {
  // A cursor is refused with other arguments (namespace, window) than the call that issued it.
  const filter = JSON.stringify([args.namespace ?? "", args.windowSeconds]);
  let nextCursor: string | undefined;
  // Validate the cursor before any query runs.
  if (args.cursor !== undefined) {
    paginate([], { tool: "get_mesh_topology", filter, cursor: args.cursor, defaultMax: 1 });
  }
  const { loadPolicyIndex, missingNote } = await import("../policy/load.ts");
  const { analyzeAccess } = await import("../policy/analyze.ts");
  const run = new QueryRun({ prom: deps.prom, now: deps.now(), signal });
  const ns = args.namespace;
  const [outbound, inbound, denies, loaded] = await Promise.all([
    run.must(topologyTrafficQuery(ns, args.windowSeconds)),
    ns
      ? run.may(topologyInboundQuery(ns, args.windowSeconds), "callers from other namespaces")
      : Promise.resolve([]),
    run.may(topologyDenyQuery(ns, args.windowSeconds), "denied requests"),
    loadPolicyIndex(deps, {
      signal,
      ...(args.namespace ? { fallbackNamespaces: [args.namespace] } : {}),
    }),
  ]);
  // Callers in the namespace itself are in `outbound` already.
  const traffic = [...outbound, ...(inbound ?? []).filter((s) => s.metric.namespace !== ns)];
  const { idx, state } = loaded;
  const notes = [...loaded.notes];
  const missing = missingNote(state).trim();
  if (missing) notes.push(missing);

  const podsOfWorkload = (w: WorkloadId) =>
    (idx.podsByNs.get(w.namespace) ?? []).filter((p) => {
      const o = workloadOfPod(p);
      return o?.kind === w.kind && o.name === w.name;
    });
  const memoVerdict = new Map<string, { verdict: EdgeVerdict; policy: string }>();
  const topology: Topology = buildTopology({
    ...(args.namespace ? { namespace: args.namespace } : {}),
    windowSeconds: args.windowSeconds,
    traffic: traffic.map(trafficSample).filter((s): s is TrafficSample => s !== undefined),
    denies: (denies ?? []).map(denySample).filter((s): s is DenySample => s !== undefined),
    page(all) {
      const p = paginate(all, {
        tool: "get_mesh_topology",
        filter,
        limit: args.limit,
        cursor: args.cursor,
        defaultMax: DEFAULT_TOPOLOGY_LIMIT,
        bytes: PAGE_BYTES,
        size: (e) => JSON.stringify(e).length + EDGE_OVERHEAD,
      });
      nextCursor = p.nextCursor;
      return p.items;
    },
    workloadsOfIdentity(clientId) {
      const id = parseIdentity(clientId);
      if (!id) return [];
      const out = new Map<string, WorkloadId>();
      for (const p of idx.podsByNs.get(id.namespace) ?? []) {
        if (serviceAccountOf(p) !== id.serviceAccount) continue;
        const w = workloadOfPod(p);
        if (w) out.set(`${w.kind}/${w.name}`, { namespace: id.namespace, ...w });
      }
      return [...out.values()];
    },
    servicesOfWorkload(w) {
      const keys = new Set<string>();
      for (const p of podsOfWorkload(w)) {
        for (const k of idx.podServices.get(`${w.namespace}/${p.metadata.name}`) ?? []) keys.add(k);
      }
      return [...keys].map((k) => k.slice(k.indexOf("/") + 1)).sort();
    },
    verdict(source, target) {
      const key =
        `${source.namespace}/${source.kind}/${source.name}>${target.namespace}/${target.service}`;
      let v = memoVerdict.get(key);
      if (!v) {
        v = verdictOf(() =>
          analyzeAccess(idx, {
            source: {
              namespace: source.namespace,
              workload: { kind: source.kind, name: source.name },
            },
            target,
            suggestions: false,
          })
        );
        memoVerdict.set(key, v);
      }
      return v;
    },
  });
  if (topology.omitted.edges > 0) {
    notes.push(
      `${topology.omitted.edges} edges (${topology.omitted.requestRate} rps) are not on this page; ${
        nextCursor ? "pass nextCursor for the next, quieter ones, " : ""
      }raise limit or name a namespace to see more at once`,
    );
  }
  if (topology.totalEdges === 0) {
    notes.push(
      `No meshed traffic in ${
        args.namespace ? `namespace "${args.namespace}"` : "the mesh"
      } over the window: no client proxy reported outbound responses (are the workloads meshed, scraped, and busy?)`,
    );
  }
  return {
    ...run.report(),
    ...(args.namespace ? { namespace: args.namespace } : {}),
    timeRange: run.timeRange(args.windowSeconds),
    ...topology,
    total: topology.totalEdges,
    ...(nextCursor ? { nextCursor } : {}),
    mermaid: renderMermaid(topology),
    notes,
  };
}

function verdictOf(
  analyse: () => { verdict: string; policies: string[] },
): { verdict: EdgeVerdict; policy: string } {
  try {
    const r = analyse();
    // The authorizing objects only (routes and authentications are in analyze_connectivity).
    const main = r.policies.filter((p) =>
      /^(Server|ServerAuthorization|AuthorizationPolicy)\//.test(p)
    );
    const shown = main.slice(0, 4).join(", ") +
      (main.length > 4 ? `, +${main.length - 4} more` : "");
    return { verdict: r.verdict as EdgeVerdict, policy: shown || "default policy" };
  } catch (err) {
    return { verdict: "unknown", policy: err instanceof Error ? err.message : String(err) };
  }
}

function trafficSample(s: PromSample): TrafficSample | undefined {
  const w = workloadOf(s.metric);
  const m = s.metric;
  if (!w || !m.dst_service || !m.namespace) return undefined;
  return {
    source: { namespace: m.namespace, ...w },
    dstNamespace: m.dst_namespace ?? m.namespace,
    dstService: m.dst_service,
    classification: m.classification ?? "",
    tls: m.tls ?? "",
    count: Number.isFinite(s.value) ? s.value : 0,
  };
}

function denySample(s: PromSample): DenySample | undefined {
  const w = workloadOf(s.metric);
  if (!w || !s.metric.namespace) return undefined;
  return {
    target: { namespace: s.metric.namespace, ...w },
    ...(s.metric.client_id ? { clientId: s.metric.client_id } : {}),
    count: Number.isFinite(s.value) ? s.value : 0,
  };
}

function getMeshTopology(): ToolSpec<
  {
    namespace: z.ZodOptional<z.ZodString>;
    time_range: z.ZodDefault<z.ZodString>;
    limit: z.ZodOptional<z.ZodNumber>;
    cursor: z.ZodOptional<z.ZodString>;
  },
  typeof OUTPUT
> {
  return {
    name: "get_mesh_topology",
    title: "Topology: Who talks to whom",
    description:
      'The mesh as a graph: client workloads and the Services they call, each edge with the traffic Linkerd\'s proxies observed (requests per second, success %, mTLS) and the policy verdict for the pair (allowed, denied, partial, audit, as analyze_connectivity decides it), plus edges where only denied requests were seen. Returned as nodes and edges and as a Mermaid flowchart (`mermaid`, arrows coloured by verdict) a client can render. Busiest edges first, one page: as many as fit about 8 KB (at most 10) or `limit`; the rest are counted, and `nextCursor` pages through them. A namespace limits it to edges from or into that namespace (and denials at its workloads). Example: {"namespace": "booksapp", "time_range": "5m"}.',
    inputSchema: {
      namespace: namespaceArg().optional().describe(
        'Only edges from or into this namespace (and denials at its workloads), e.g. "emojivoto"; the whole mesh when absent',
      ),
      time_range: timeRangeArg(),
      limit: z.number().int().min(1).max(200).optional().describe(
        `Edges per page, busiest first, 1 to 200. Default: as many as fit an answer of about 8 KB, at most ${DEFAULT_TOPOLOGY_LIMIT}`,
      ),
      cursor: cursorArg(),
    },
    outputSchema: OUTPUT,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      return ok(
        await meshTopology(deps, {
          ...(args.namespace ? { namespace: validateName(args.namespace, "namespace") } : {}),
          windowSeconds: parseDuration(args.time_range),
          limit: args.limit,
          cursor: args.cursor,
        }, ctx.signal),
      );
    },
  };
}

/** The topology family's tools. */
// deno-lint-ignore no-explicit-any
export function topologyTools(): ToolSpec<any, any>[] {
  return [getMeshTopology()];
}
