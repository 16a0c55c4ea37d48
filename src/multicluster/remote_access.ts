/**
 * The loading step of a cross-cluster connectivity question: this cluster's Links, and
 * for each member of a mirror or federated Service the policy index of the cluster it
 * lives in, reached through the server's {@linkcode ClusterSet} (by the Link's
 * `targetClusterName`). Reads only through {@linkcode ClusterSource}s, like
 * `src/policy/load.ts`; the decisions are in `./connectivity.ts`.
 *
 * @module
 */
import type { ClusterSet } from "../clusters/set.ts";
import type { Config } from "../config.ts";
import { KubeApiError } from "../errors.ts";
import type { ClusterSource } from "../kube/source.ts";
import type { KubeObject } from "../kube/types.ts";
import { type AccessAnalysis, type EndpointSummary, sourceSummary } from "../policy/analyze.ts";
import { loadPolicyIndex } from "../policy/load.ts";
import type { PolicyIndex } from "../policy/policy_index.ts";
import { resolveSource, type ServiceRef, type SourceRef } from "../policy/sources.ts";
import {
  combineMembers,
  type CrossVerdict,
  evaluateMember,
  gatewayAccountOf,
  type MemberResult,
  planMirror,
} from "./connectivity.ts";
import { classifyMirror, parseLink } from "./links.ts";

/** The `crossCluster` part of an analyze_connectivity answer. */
export interface CrossCluster {
  /** The mirror or federated Service called, `namespace/name`. */
  mirror: string;
  kind: "gateway" | "remote-discovery" | "federated";
  verdict: CrossVerdict;
  members: MemberResult[];
  notes?: string[];
}

/** What {@linkcode crossClusterAccess} found. */
export interface CrossClusterAccess {
  crossCluster: CrossCluster;
  source: EndpointSummary;
  /** The analysis of the first member that could be evaluated, in its cluster. */
  primary?: { cluster: string; analysis: AccessAnalysis };
}

/** What the loader needs of the tool's deps. */
export interface CrossClusterDeps {
  cluster: ClusterSource;
  config: Config;
  clusters?: ClusterSet;
  /** The local cluster's name in `clusters`. */
  clusterName?: string;
}

/**
 * Answers for a target that is a mirror or federated Service; `undefined` when the
 * target is not one (or not in the local state: the ordinary analysis says so).
 *
 * @throws {NotFoundError} when the source does not exist locally.
 */
export async function crossClusterAccess(
  deps: CrossClusterDeps,
  opts: {
    idx: PolicyIndex;
    source: SourceRef;
    target: ServiceRef;
    port?: number | string;
    signal?: AbortSignal;
  },
): Promise<CrossClusterAccess | undefined> {
  const svc = opts.idx.services.get(`${opts.target.namespace}/${opts.target.service}`);
  const mirror = svc ? classifyMirror(svc as unknown as KubeObject) : undefined;
  if (!svc || !mirror || mirror.kind === "probe-gateway") return undefined;
  const notes: string[] = [];
  const links = await readLinks(deps.cluster, opts.signal, notes);
  const local = await localName(deps);
  const plan = planMirror(svc as unknown as KubeObject, links.map(parseLink), local);
  if (!plan) return undefined;
  const source = resolveSource(opts.idx, opts.source);
  const remote = new Map<
    string,
    Promise<{ idx?: PolicyIndex; unserved?: string; served?: boolean; notes?: string[] }>
  >();
  const results: MemberResult[] = [];
  let primary: CrossClusterAccess["primary"];
  for (const member of plan.members) {
    let idx: PolicyIndex | undefined;
    let unserved: string | undefined;
    let served: boolean | undefined;
    if (member.mode === "local") idx = opts.idx;
    else if (!member.problem) {
      const p = remote.get(member.cluster) ??
        remoteIndex(deps, member.cluster, [
          member.remote.namespace,
          ...(member.link && member.mode === "gateway"
            ? [gatewayAccountOf(member.link).namespace]
            : []),
        ], opts);
      const first = !remote.has(member.cluster);
      if (first) remote.set(member.cluster, p);
      const got = await p;
      ({ idx, unserved, served } = got);
      if (first && got.notes) notes.push(...got.notes);
    }
    const evaluated = evaluateMember({
      member,
      source,
      ...(idx ? { idx } : {}),
      ...(unserved ? { unserved } : {}),
      ...(served !== undefined ? { served } : {}),
      ...(opts.port !== undefined ? { port: opts.port } : {}),
    });
    results.push(evaluated.result);
    if (!primary && evaluated.analysis) {
      primary = { cluster: member.cluster, analysis: evaluated.analysis };
    }
  }
  if (plan.members.length === 0) {
    notes.push("the federated Service names no member (no remote-discovery annotation)");
  }
  return {
    crossCluster: {
      mirror: `${plan.mirror.namespace}/${plan.mirror.name}`,
      kind: plan.kind,
      verdict: combineMembers(results),
      members: results,
      ...(notes.length ? { notes } : {}),
    },
    source: sourceSummary(source),
    ...(primary ? { primary } : {}),
  };
}

async function localName(deps: CrossClusterDeps): Promise<string> {
  if (!deps.clusters) return deps.clusterName ?? "local";
  const all = await deps.clusters.list();
  const entry = all.find((c) => deps.clusterName ? c.name === deps.clusterName : c.default);
  return entry?.linkName ?? deps.clusterName ?? "local";
}

async function readLinks(
  cluster: ClusterSource,
  signal: AbortSignal | undefined,
  notes: string[],
): Promise<KubeObject[]> {
  try {
    return await cluster.list("links", signal ? { signal } : {});
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return [];
    if (err instanceof KubeApiError && err.status === 403) {
      notes.push(
        "RBAC forbids reading Links (links.multicluster.linkerd.io) here, so every mirror counts as having no Link: grant get/list on them",
      );
      return [];
    }
    throw err;
  }
}

async function remoteIndex(
  deps: CrossClusterDeps,
  cluster: string,
  namespaces: string[],
  opts: { signal?: AbortSignal },
): Promise<{ idx?: PolicyIndex; unserved?: string; served?: boolean; notes?: string[] }> {
  const known = deps.clusters ? (await deps.clusters.list()).map((c) => c.linkName) : [];
  let handle: Awaited<ReturnType<ClusterSet["forLinkTarget"]>>;
  try {
    handle = deps.clusters ? await deps.clusters.forLinkTarget(cluster) : undefined;
  } catch (err) {
    if (err instanceof DOMException) throw err;
    return {
      served: true,
      unserved: `cluster "${cluster}" is known to this server but could not be opened${
        err instanceof KubeApiError ? ` (${err.message})` : ""
      }`,
    };
  }
  if (!handle) {
    return {
      unserved: `this server does not serve cluster "${cluster}" (${
        known.length
          ? `it serves ${known.map((n) => `"${n}"`).join(", ")}`
          : "it serves one cluster only"
      })`,
    };
  }
  try {
    const loaded = await loadPolicyIndex({ cluster: handle.source, config: handle.config }, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      fallbackNamespaces: [...new Set(namespaces)],
    });
    return {
      served: true,
      idx: loaded.idx,
      ...(loaded.notes.length ? { notes: loaded.notes.map((n) => `In "${cluster}": ${n}`) } : {}),
    };
  } catch (err) {
    if (err instanceof DOMException) throw err;
    if (err instanceof KubeApiError) {
      return { served: true, unserved: `cluster "${cluster}" could not be read (${err.message})` };
    }
    throw err;
  }
}

/** The analyze_connectivity answer for a mirror or federated target (pure). */
export function crossClusterAnswer(
  access: CrossClusterAccess,
  target: ServiceRef,
  assumesLocally: string,
) {
  const cc = access.crossCluster;
  const verdict = cc.verdict === "unknown" ? "undetermined" : cc.verdict;
  const a = access.primary?.analysis;
  const sum = (f: (t: MemberResult["remoteTargets"][number]) => number) =>
    cc.members.reduce((n, m) => n + m.remoteTargets.reduce((k, t) => k + f(t), 0), 0);
  const from = `${access.source.namespace}/${access.source.service}`;
  const what = cc.kind === "federated"
    ? "a federated Service (pod-to-pod to every member)"
    : cc.kind === "gateway"
    ? "a gateway mirror"
    : "a pod-to-pod (remote-discovery) mirror";
  const lines = [
    `${cc.mirror} is ${what}; ${from} → ${cc.mirror}: ${
      cc.verdict === "unknown" ? "unknown (no member could be evaluated)" : cc.verdict
    }.`,
    ...cc.members.map((m) =>
      `- ${m.targetCluster} (${m.mode}${
        m.served ? "" : ", not served"
      }) ${m.remoteService}: ${m.verdict}. ${m.reason}`
    ),
  ];
  if (a && access.primary) {
    const fix = a.explanation.split("\n").filter((l) => l.startsWith("To allow"));
    if (fix.length) {
      lines.push(
        `In "${access.primary.cluster}" (its policy, for the client it sees${
          cc.members.find((m) => m.targetCluster === access.primary!.cluster)?.mode === "gateway"
            ? ": the gateway"
            : ""
        }):`,
        ...fix,
      );
    }
  }
  const gwDenied = cc.members.some((m) =>
    m.mode === "gateway" && m.served && (m.verdict === "denied" || m.verdict === "partial")
  );
  if (gwDenied) {
    lines.push(
      "In gateway mode the remote policy sees the gateway's identity, not the source's: authorize the gateway's identity there (which admits every client the gateway admits), or export the Service pod-to-pod (label mirror.linkerd.io/exported=remote-discovery) so that the source's own identity is checked.",
    );
  }
  if (a) lines.push(`(${a.assumes}.)`);
  return {
    verdict,
    allowed: verdict === "allowed" || verdict === "audit",
    source: access.source,
    target: {
      namespace: target.namespace,
      service: target.service,
      pods: sum((t) => t.pods),
      meshedPods: sum((t) => t.meshedPods),
      identities: [] as string[],
    },
    explanation: lines.join("\n"),
    ports: a?.ports ?? [],
    policies: a?.policies ?? [],
    assumes: a?.assumes ?? assumesLocally,
    crossCluster: cc,
  };
}
