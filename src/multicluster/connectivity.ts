/**
 * Connectivity to a Service the service mirror created (pure): which remote workloads a
 * call to a mirror or federated Service reaches, through which path, and which client
 * the REMOTE target's inbound policy sees, decided by the remote cluster's own policy
 * model ({@linkcode analyzeAccess} over its index, with that client).
 *
 * What each path presents, as upstream implements it:
 *
 * - **Gateway mode** (a mirror such as `books-east`; linkerd2
 *   `multicluster/service-mirror/cluster_watcher.go` gives its Endpoints the Link's
 *   `gatewayAddress`/`gatewayPort` and the annotation `mirror.linkerd.io/remote-gateway-identity`
 *   = `spec.gatewayIdentity`). The client's proxy opens mTLS to the gateway. The gateway's
 *   proxy refuses connections without a client identity and checks the *gateway's own*
 *   inbound policy on its port (linkerd2-proxy `linkerd/app/inbound/src/direct.rs`:
 *   `ClientInfo::try_from` → `RefusedNoIdentity`; "We check the _gateway address's_ policy
 *   (rather than the target address)"). It then hands the request to its **outbound**
 *   stack (`linkerd/app/gateway/src/lib.rs`, "Builds a gateway to the outbound stack"),
 *   which opens a new connection to the target with mTLS as the gateway's own identity;
 *   the original client identity survives only in an informational
 *   `Forwarded: by=<gateway>;for=<client>` header (`linkerd/app/gateway/src/http/gateway.rs`),
 *   which inbound policy does not read. So the target's policy sees the gateway's identity
 *   (its ServiceAccount, e.g.
 *   `linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local`)
 *   and the gateway pod's IP as the client address.
 * - **Pod-to-pod** (`multicluster.linkerd.io/remote-discovery` label; the mirror gets no
 *   Endpoints, `cluster_watcher.go` "For remote discovery services, skip creating gateway
 *   endpoints", and the destination controller serves the remote pods directly) and
 *   **federated** Services (`<name>-federated`, members in the
 *   `multicluster.linkerd.io/remote-discovery` annotation as `svc@cluster`, the local one in
 *   `multicluster.linkerd.io/local-discovery`): the client's proxy connects to the remote
 *   pods itself, so their policy sees the source's own identity and pod IP (flat network).
 *
 * A mirror's remote Service is named by `mirror.linkerd.io/remote-svc-fq-name`
 * (`name.namespace.svc.<domain>`), else `multicluster.linkerd.io/remote-service`, else
 * the mirror's name minus `-<targetClusterName>`; it is in the mirror's namespace.
 *
 * @module
 */
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { KubeObject } from "../kube/types.ts";
import { ownerWorkloadOf } from "../kube/workloads.ts";
import { type Pod, serviceAccountOf } from "../mesh/pods.ts";
import { type AccessAnalysis, analyzeAccess } from "../policy/analyze.ts";
import { clientsOfPods, podIsMeshed } from "../policy/clients.ts";
import type { PolicyIndex } from "../policy/policy_index.ts";
import { combineDecisions } from "../policy/service_ports.ts";
import type { ResolvedSource, ServiceRef } from "../policy/sources.ts";
import type { Client, Decision } from "../policy/types.ts";
import {
  classifyMirror,
  type LinkInfo,
  type MirroredService,
  REMOTE_SERVICE_LABEL,
  REMOTE_SVC_FQ_NAME_ANNOTATION,
} from "./links.ts";

/** The gateway port a Link uses when it names none (the chart's `gateway.port`). */
export const DEFAULT_GATEWAY_PORT = 4143;

/** A verdict across clusters: a policy decision, or `unknown` when it cannot be evaluated. */
export type CrossVerdict = Decision | "unknown";

/** How a member is reached: through the target's gateway, pod-to-pod, or in this cluster. */
export type MemberMode = "gateway" | "remote-discovery" | "local";

/** One cluster a call to the mirror may reach. */
export interface PlannedMember {
  /** The Link's `targetClusterName` (for the local member: the local cluster's name). */
  cluster: string;
  mode: MemberMode;
  /** The Service the call ends at, in `cluster`. */
  remote: ServiceRef;
  /** The Link to `cluster` (absent for the local member and for orphans). */
  link?: LinkInfo;
  /** Why this member cannot be evaluated (no Link targets its cluster). */
  problem?: string;
}

/** What a mirror or federated Service leads to. */
export interface MirrorPlan {
  mirror: MirroredService;
  kind: "gateway" | "remote-discovery" | "federated";
  members: PlannedMember[];
}

/**
 * The remote Service a mirror stands for: from `remote-svc-fq-name`, else the
 * `remote-service` label, else the mirror's name minus `-<cluster>`.
 */
export function remoteServiceOf(svc: KubeObject, cluster: string): ServiceRef {
  const ns = svc.metadata.namespace ?? "";
  const fq = svc.metadata.annotations?.[REMOTE_SVC_FQ_NAME_ANNOTATION];
  if (fq) {
    const parts = fq.split(".");
    const at = parts.indexOf("svc");
    // `name.ns.svc.domain` (a headless endpoint mirror: `host.name.ns.svc.domain`)
    if (at >= 2) return { namespace: parts[at - 1]!, service: parts[at - 2]! };
  }
  const label = svc.metadata.labels?.[REMOTE_SERVICE_LABEL];
  if (label) return { namespace: ns, service: label };
  const name = svc.metadata.name;
  const suffix = `-${cluster}`;
  return {
    namespace: ns,
    service: cluster && name.endsWith(suffix) && name.length > suffix.length
      ? name.slice(0, -suffix.length)
      : name,
  };
}

/**
 * What calling `svc` leads to, given this cluster's Links; `undefined` when `svc` is not
 * a Service a client calls across clusters (not a mirror, or a gateway probe Service).
 * `localCluster` names the local member of a federated Service.
 */
export function planMirror(
  svc: KubeObject,
  links: readonly LinkInfo[],
  localCluster = "local",
): MirrorPlan | undefined {
  const mirror = classifyMirror(svc);
  if (!mirror || mirror.kind === "probe-gateway") return undefined;
  const byTarget = new Map(links.map((l) => [l.targetClusterName, l]));
  const orphan = (cluster: string) =>
    `no Link in this cluster targets "${cluster}" (a mirror left over from a removed Link, or a Link not readable here): its endpoints are no longer kept up to date`;
  if (mirror.kind === "federated") {
    const members: PlannedMember[] = (mirror.members ?? []).map((m) => {
      const link = byTarget.get(m.cluster);
      return {
        cluster: m.cluster,
        mode: "remote-discovery",
        remote: { namespace: mirror.namespace, service: m.service },
        ...(link ? { link } : { problem: orphan(m.cluster) }),
      };
    });
    if (mirror.localMember) {
      members.push({
        cluster: localCluster,
        mode: "local",
        remote: { namespace: mirror.namespace, service: mirror.localMember },
      });
    }
    return { mirror, kind: "federated", members };
  }
  const cluster = mirror.cluster ?? "";
  const link = byTarget.get(cluster);
  const member: PlannedMember = {
    cluster,
    mode: mirror.kind,
    remote: remoteServiceOf(svc, cluster),
    ...(link ? { link } : { problem: orphan(cluster) }),
  };
  if (link && mirror.kind === "gateway" && link.mode !== "gateway") {
    member.problem =
      `it is a gateway mirror but Link ${link.namespace}/${link.name} has no gatewayAddress, so its Endpoints lead nowhere`;
  }
  return { mirror, kind: mirror.kind, members: [member] };
}

/** A workload behind the remote Service. */
export interface RemoteTarget {
  /** `deployment/books` (or `pod/x` for a pod without a controller). */
  workload: string;
  pods: number;
  meshedPods: number;
}

/** The gateway hop of a gateway-mode member. */
export interface GatewayHop {
  /** The Link's `gatewayAddress`. */
  address?: string;
  port: number;
  /** The identity the source's proxy expects of the gateway (the Link's `gatewayIdentity`). */
  identity?: string;
  /** The gateway's own inbound policy for the source (its Server on the gateway port). */
  verdict?: CrossVerdict;
  reason?: string;
}

/** A port decision, compact. */
export interface MemberPort {
  port: number;
  name?: string;
  decision: Decision;
  /** `server/linkerd-gateway`, `default/all-unauthenticated`. */
  server: string;
}

/** One member, evaluated. */
export interface MemberResult {
  targetCluster: string;
  /** This server reads that cluster (a ClusterSet member). */
  served: boolean;
  mode: MemberMode;
  /** `namespace/name` in `targetCluster`. */
  remoteService: string;
  /** The mTLS identity the target's policy sees; `null` when the client has none. */
  clientIdentity: string | null;
  /** The client addresses the target's policy sees (network authorizations); absent when unknown. */
  clientIps?: string[];
  gateway?: GatewayHop;
  remoteTargets: RemoteTarget[];
  verdict: CrossVerdict;
  ports?: MemberPort[];
  reason: string;
}

/** A member's result plus the full analysis behind it (not part of tool output). */
export interface EvaluatedMember {
  result: MemberResult;
  /** The target's analysis in its cluster, when one ran. */
  analysis?: AccessAnalysis;
}

/** Input of {@linkcode evaluateMember}. */
export interface MemberInput {
  member: PlannedMember;
  /** The source, resolved in the local cluster. */
  source: ResolvedSource;
  /** The policy index of the member's cluster (the local one for `local`); absent when not served. */
  idx?: PolicyIndex;
  /** Why the member's cluster is not served or could not be read (for the reason). */
  unserved?: string;
  /**
   * This server serves the member's cluster (even when reading it failed); default:
   * whether `idx` is given.
   */
  served?: boolean;
  /** A Service port number or name; every port when absent. */
  port?: number | string;
}

const MAX_IPS = 4;
const MAX_TARGETS = 4;

/** Evaluates one member with the client its target's proxy sees. */
export function evaluateMember(input: MemberInput): EvaluatedMember {
  const { member, source, idx } = input;
  const link = member.link;
  const meshed = source.clients.filter((c) => c.meshed);
  const sourceIds = idsOf(meshed);
  const base = {
    targetCluster: member.cluster,
    served: input.served ?? idx !== undefined,
    mode: member.mode,
    remoteService: `${member.remote.namespace}/${member.remote.service}`,
  };
  const gatewayBase = (): GatewayHop | undefined =>
    member.mode === "gateway"
      ? {
        ...(link?.gatewayAddress ? { address: link.gatewayAddress } : {}),
        port: gatewayPort(link),
        ...(link?.gatewayIdentity ? { identity: link.gatewayIdentity } : {}),
      }
      : undefined;
  const presented = member.mode === "gateway"
    ? { clientIdentity: link?.gatewayIdentity ?? null }
    : {
      clientIdentity: sourceIds || null,
      ...withIps(ipsOf(meshed)),
    };
  const gw = gatewayBase();
  const unknown = (reason: string, targets: RemoteTarget[] = []): EvaluatedMember => ({
    result: {
      ...base,
      ...presented,
      ...(gw ? { gateway: gw } : {}),
      remoteTargets: targets,
      verdict: "unknown",
      reason,
    },
  });
  if (member.problem) return unknown(`Cannot evaluate: ${member.problem}.`);
  if (!idx && input.served) {
    return unknown(
      `Cannot evaluate: ${
        input.unserved ?? `cluster "${member.cluster}" could not be read`
      }; the identity its policy would see is shown, the verdict needs that cluster's state: check that cluster (list_clusters shows whether it is reachable) and try again.`,
    );
  }
  if (!idx) {
    return unknown(
      `Cannot evaluate: ${
        input.unserved ?? `this server does not serve cluster "${member.cluster}"`
      }; the identity its policy would see is shown, the verdict needs that cluster's state: start the server with the other cluster too (its kubeconfig context, or --manifests ${member.cluster}=PATH of its manifests).`,
    );
  }
  const targets = remoteTargets(idx, member.remote);
  if (!idx.services.has(`${member.remote.namespace}/${member.remote.service}`)) {
    return unknown(
      `Cluster "${member.cluster}" has no Service ${base.remoteService}: the mirror is stale or the Service was renamed (check it there with list_meshed_services and cluster "${member.cluster}").`,
    );
  }
  if (meshed.length === 0) {
    const why = member.mode === "gateway"
      ? "the source has no Linkerd proxy: the gateway accepts only mTLS connections with a client identity (it refuses others), so an unmeshed client cannot use a gateway mirror"
      : member.mode === "remote-discovery"
      ? "the source has no Linkerd proxy: a pod-to-pod mirror has no Endpoints of its own, only a meshed client's proxy discovers the remote pods"
      : undefined;
    if (why) {
      return {
        result: {
          ...base,
          clientIdentity: null,
          ...(gw ? { gateway: gw } : {}),
          remoteTargets: targets,
          verdict: "denied",
          reason: `Not reached: ${why}.`,
        },
      };
    }
  }
  let clients: Client[];
  let label: ResolvedSource;
  const notes: string[] = [];
  let hop: GatewayHop | undefined;
  if (member.mode === "gateway") {
    const g = gatewayClients(idx, link!);
    clients = g.clients;
    if (g.note) notes.push(g.note);
    label = {
      kind: "Gateway",
      namespace: g.namespace,
      name: g.serviceAccount,
      key: `gateway:${member.cluster}`,
      clients,
    };
    hop = { ...gw!, ...gatewayHop(idx, g.pods, gatewayPort(link), source, meshed) };
  } else {
    clients = member.mode === "local" ? source.clients : meshed;
    label = { ...source, clients };
  }
  let analysis: AccessAnalysis;
  try {
    analysis = analyzeAccess(idx, {
      source: label,
      target: member.remote,
      ...(input.port !== undefined ? { port: input.port } : {}),
    });
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof InvalidArgumentError) {
      return unknown(`Cannot evaluate in "${member.cluster}": ${err.message}`, targets);
    }
    throw err;
  }
  const verdict = hop?.verdict && hop.verdict !== "unknown"
    ? serial(hop.verdict, analysis.verdict)
    : analysis.verdict;
  const ids = idsOf(clients);
  const reasons = [
    `${
      member.mode === "gateway"
        ? `through the gateway of "${member.cluster}"`
        : member.mode === "local"
        ? "in this cluster"
        : `pod-to-pod into "${member.cluster}"`
    }, ${base.remoteService}'s policy sees ${ids ? `identity "${ids}"` : "an unmeshed client"}${
      ipsOf(clients).length ? ` from ${ipsOf(clients).slice(0, MAX_IPS).join(", ")}` : ""
    }: ${analysis.verdict}`,
  ];
  if (hop?.verdict && hop.verdict !== "allowed") {
    reasons.push(`the gateway's own policy for the source: ${hop.verdict}`);
  }
  const first = analysis.ports.find((p) => p.decision !== "allowed") ?? analysis.ports[0];
  if (first) reasons.push(first.reason);
  reasons.push(...notes);
  return {
    result: {
      ...base,
      clientIdentity: ids || null,
      ...withIps(ipsOf(clients)),
      ...(hop ? { gateway: hop } : {}),
      remoteTargets: targets,
      verdict,
      ports: analysis.ports.map((p) => ({
        port: p.port,
        ...(p.name ? { name: p.name } : {}),
        decision: p.decision,
        server: `${p.server.kind}/${p.server.name}`,
      })),
      reason: `${reasons.join("; ")}.`.replace(/\.\.$/, "."),
    },
    analysis,
  };
}

/**
 * The verdict over all members. A federated Service balances over its members, so
 * verdicts combine as for pods of one Service; members that cannot be evaluated make an
 * otherwise uniform answer `undetermined`, and `unknown` when none could be.
 */
export function combineMembers(results: readonly MemberResult[]): CrossVerdict {
  const known = results.filter((r) => r.verdict !== "unknown").map((r) => r.verdict as Decision);
  if (known.length === 0) return "unknown";
  const combined = combineDecisions(known);
  if (known.length === results.length) return combined;
  return combined === "denied" ? "denied" : combined === "allowed" ? "undetermined" : combined;
}

/** Two hops in series: both must allow. */
function serial(a: CrossVerdict, b: Decision): Decision {
  const set = new Set([a, b]);
  if (set.has("denied")) return "denied";
  if (set.has("undetermined") || set.has("unknown")) return "undetermined";
  if (set.has("partial")) return "partial";
  if (set.has("audit")) return "audit";
  return "allowed";
}

function gatewayPort(link: LinkInfo | undefined): number {
  const n = Number(link?.gatewayPort);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : DEFAULT_GATEWAY_PORT;
}

function idsOf(clients: readonly Client[]): string {
  return [...new Set(clients.flatMap((c) => (c.identity ? [c.identity] : [])))].sort().join(", ");
}

function ipsOf(clients: readonly Client[]): string[] {
  return [...new Set(clients.flatMap((c) => c.ips))];
}

function withIps(ips: readonly string[]): { clientIps?: string[] } {
  return ips.length ? { clientIps: ips.slice(0, MAX_IPS) } : {};
}

/**
 * The ServiceAccount and namespace of a Link's gateway, read from its `gatewayIdentity`
 * (`<sa>.<ns>.serviceaccount.identity.<linkerd-ns>.<trust-domain>`); the chart's
 * `linkerd-gateway` in the Link's namespace when it names none.
 */
export function gatewayAccountOf(link: LinkInfo): { serviceAccount: string; namespace: string } {
  const m = (link.gatewayIdentity ?? "").match(/^([^.]+)\.([^.]+)\.serviceaccount\.identity\./);
  return { serviceAccount: m?.[1] ?? "linkerd-gateway", namespace: m?.[2] ?? link.namespace };
}

/**
 * The gateway's pods and client profiles in its cluster: the pods of the ServiceAccount
 * the Link's `gatewayIdentity` names (`<sa>.<ns>.serviceaccount.identity.<...>`); when
 * none is there, one profile with the Link's identity and no known IP.
 */
function gatewayClients(idx: PolicyIndex, link: LinkInfo): {
  clients: Client[];
  pods: Pod[];
  namespace: string;
  serviceAccount: string;
  note?: string;
} {
  const identity = link.gatewayIdentity ?? "";
  const { serviceAccount, namespace } = gatewayAccountOf(link);
  const pods = (idx.podsByNs.get(namespace) ?? []).filter((p) =>
    serviceAccountOf(p) === serviceAccount &&
    podIsMeshed(p)
  );
  if (pods.length) {
    const clients = clientsOfPods(idx, pods);
    const actual = idsOf(clients);
    const note = identity && actual !== identity
      ? `the Link expects the gateway identity "${identity}" but the gateway's pods there have "${actual}": the source's proxy would refuse the gateway's certificate`
      : undefined;
    return { clients, pods, namespace, serviceAccount, ...(note ? { note } : {}) };
  }
  return {
    clients: [{
      pods: [],
      namespace,
      serviceAccount,
      meshed: true,
      ...(identity ? { identity } : {}),
      ips: [],
    }],
    pods: [],
    namespace,
    serviceAccount,
    note:
      `no meshed gateway pod of ServiceAccount "${serviceAccount}" in namespace "${namespace}" there: the Link's gateway identity is used and the gateway's IP is unknown`,
  };
}

/**
 * The gateway hop: the source's clients against the gateway's own inbound policy on the
 * gateway port. The address the gateway sees is the source's after the load balancer
 * (often a node's), so only identities are checked, not IPs.
 */
function gatewayHop(
  idx: PolicyIndex,
  pods: readonly Pod[],
  port: number,
  source: ResolvedSource,
  meshed: readonly Client[],
): Pick<GatewayHop, "verdict" | "reason"> {
  const names = new Set(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  const selecting = [...idx.servicePods.entries()]
    .filter(([, sel]) => sel.some((p) => names.has(`${p.metadata.namespace}/${p.metadata.name}`)))
    .map(([k]) => k);
  const gatewaySvc = selecting.find((k) =>
    (idx.services.get(k)?.spec?.ports ?? []).some((p) => p.port === port)
  );
  if (!gatewaySvc) return {};
  const [namespace, service] = gatewaySvc.split("/") as [string, string];
  const clients = meshed.map((c) => ({ ...c, ips: [], addrs: [] }));
  try {
    const r = analyzeAccess(idx, {
      source: { ...source, clients },
      target: { namespace, service },
      port,
      suggestions: false,
    });
    return { verdict: r.verdict, reason: r.ports[0]?.reason ?? r.explanation.split("\n")[0]! };
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof InvalidArgumentError) {
      return { verdict: "unknown", reason: err.message };
    }
    throw err;
  }
}

/** The workloads behind a Service, busiest first (at most a few). */
function remoteTargets(idx: PolicyIndex, ref: ServiceRef): RemoteTarget[] {
  const pods = idx.servicePods.get(`${ref.namespace}/${ref.service}`) ?? [];
  const by = new Map<string, RemoteTarget>();
  for (const pod of pods) {
    const owner = ownerWorkloadOf(pod);
    const workload = `${owner.kind.toLowerCase()}/${owner.name}`;
    const t = by.get(workload) ?? { workload, pods: 0, meshedPods: 0 };
    t.pods++;
    if (podIsMeshed(pod)) t.meshedPods++;
    by.set(workload, t);
  }
  return [...by.values()].sort((a, b) => b.pods - a.pods || (a.workload < b.workload ? -1 : 1))
    .slice(0, MAX_TARGETS);
}
