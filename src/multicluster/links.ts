/**
 * Linkerd multicluster Links and mirrored Services, read from their objects (pure).
 *
 * A Link (`links.multicluster.linkerd.io`, v1alpha1..v1alpha3) names a target cluster
 * and how its Services are mirrored here: through the target's gateway (`selector`,
 * `gatewayAddress`, `probeSpec`), pod-to-pod (`remoteDiscoverySelector`) and as members
 * of federated Services (`federatedServiceSelector`). Its `clusterCredentialsSecret`
 * is a Secret and is never read. Labels and annotations follow linkerd2's
 * `pkg/k8s/labels.go` and the service mirror's `cluster_watcher.go`.
 *
 * @module
 */
import type { KubeObject } from "../kube/types.ts";
import { type LabelSelector, matchesSelector, parseSelector } from "../kube/selectors.ts";

/** `mirror.linkerd.io/mirrored-service`: on every Service the mirror creates (mirrors and federated). */
export const MIRRORED_SERVICE_LABEL = "mirror.linkerd.io/mirrored-service";
/** `mirror.linkerd.io/mirrored-gateway`: on the probe Service of a linked gateway. */
export const MIRRORED_GATEWAY_LABEL = "mirror.linkerd.io/mirrored-gateway";
/** `mirror.linkerd.io/cluster-name`: the Link's target cluster, on mirrors and controllers. */
export const CLUSTER_NAME_LABEL = "mirror.linkerd.io/cluster-name";
/** `multicluster.linkerd.io/remote-discovery`: label of a pod-to-pod mirror (value: the cluster). */
export const REMOTE_DISCOVERY_LABEL = "multicluster.linkerd.io/remote-discovery";
/** Annotation of a federated Service: its remote members as `svc@cluster,...`. */
export const REMOTE_DISCOVERY_ANNOTATION = "multicluster.linkerd.io/remote-discovery";
/** Annotation of a federated Service: its member in this cluster. */
export const LOCAL_DISCOVERY_ANNOTATION = "multicluster.linkerd.io/local-discovery";
/** Annotation of a mirror: the remote Service's FQDN (`name.namespace.svc.domain`). */
export const REMOTE_SVC_FQ_NAME_ANNOTATION = "mirror.linkerd.io/remote-svc-fq-name";
/** Label of a pod-to-pod mirror: the remote Service's name. */
export const REMOTE_SERVICE_LABEL = "multicluster.linkerd.io/remote-service";

/** How a Link reaches the target's workloads. */
export type LinkMode = "gateway" | "remote-discovery";

/** The gateway health probe of a Link (`spec.probeSpec`). */
export interface GatewayProbeSpec {
  path?: string;
  port?: string;
  period?: string;
  timeout?: string;
  failureThreshold?: string;
}

/** What a Link says, without its credentials Secret. */
export interface LinkInfo {
  name: string;
  namespace: string;
  /** `spec.targetClusterName`; the Link's name when absent (an invalid Link). */
  targetClusterName: string;
  /** `gateway` when the Link has a gateway address, else pod-to-pod `remote-discovery`. */
  mode: LinkMode;
  gatewayAddress?: string;
  gatewayPort?: string;
  gatewayIdentity?: string;
  probe?: GatewayProbeSpec;
  /** Label selectors as `kubectl` prints them; absent when the Link has none. */
  selectors: { gateway?: string; remoteDiscovery?: string; federated?: string };
  /** The `apiVersion` the object was read in. */
  apiVersion: string;
}

/** Reads a Link object. */
export function parseLink(link: KubeObject): LinkInfo {
  const spec = (link.spec ?? {}) as Record<string, unknown>;
  const str = (k: string) =>
    typeof spec[k] === "string" && spec[k] !== "" ? spec[k] as string : undefined;
  const gatewayAddress = str("gatewayAddress");
  const probe = probeOf(spec["probeSpec"]);
  const selectors: LinkInfo["selectors"] = {};
  const gw = selectorText(spec["selector"]);
  const rd = selectorText(spec["remoteDiscoverySelector"]);
  const fed = selectorText(spec["federatedServiceSelector"]);
  if (gw !== undefined) selectors.gateway = gw;
  if (rd !== undefined) selectors.remoteDiscovery = rd;
  if (fed !== undefined) selectors.federated = fed;
  const out: LinkInfo = {
    name: link.metadata.name,
    namespace: link.metadata.namespace ?? "",
    targetClusterName: str("targetClusterName") ?? link.metadata.name,
    mode: gatewayAddress ? "gateway" : "remote-discovery",
    selectors,
    apiVersion: link.apiVersion ?? "",
  };
  if (gatewayAddress) out.gatewayAddress = gatewayAddress;
  const port = str("gatewayPort");
  if (port) out.gatewayPort = port;
  const identity = str("gatewayIdentity");
  if (identity) out.gatewayIdentity = identity;
  if (probe) out.probe = probe;
  return out;
}

function probeOf(value: unknown): GatewayProbeSpec | undefined {
  if (!value || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  const out: GatewayProbeSpec = {};
  for (const k of ["path", "port", "period", "timeout", "failureThreshold"] as const) {
    const x = v[k];
    if ((typeof x === "string" && x !== "") || typeof x === "number") out[k] = String(x);
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * A label selector in `kubectl`'s string form (`a=b,c in (d,e),!f`); `undefined` when
 * there is no selector, `""` for the empty selector (which selects everything).
 */
export function selectorText(value: unknown): string | undefined {
  if (!value || typeof value !== "object") return undefined;
  const sel = value as LabelSelector;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const req of sel.matchExpressions ?? []) {
    const values = (req.values ?? []).join(",");
    switch (req.operator) {
      case "In":
        parts.push(`${req.key} in (${values})`);
        break;
      case "NotIn":
        parts.push(`${req.key} notin (${values})`);
        break;
      case "Exists":
        parts.push(req.key);
        break;
      case "DoesNotExist":
        parts.push(`!${req.key}`);
        break;
      default:
        parts.push(`${req.key} ${req.operator} (${values})`);
    }
  }
  return parts.join(",");
}

/** What a Service created by the service mirror is. */
export type MirrorKind = "gateway" | "remote-discovery" | "federated" | "probe-gateway";

/** One Service created by the service mirror. */
export interface MirroredService {
  namespace: string;
  name: string;
  kind: MirrorKind;
  /** The cluster it mirrors (`mirror.linkerd.io/cluster-name`); absent on federated Services. */
  cluster?: string;
  /** Federated Services: remote members as `{service, cluster}` (from the annotation). */
  members?: Array<{ service: string; cluster: string }>;
  /** Federated Services: the local member, when one joined. */
  localMember?: string;
  /**
   * Gateway and remote-discovery mirrors: the name of the Service it mirrors, in the same
   * namespace of the target cluster (`books` for `books-east`).
   */
  remoteService?: string;
}

/**
 * Classifies a Service the mirror created; `undefined` for any other Service.
 * Federated Services carry the remote-discovery or local-discovery annotation; pod-to-pod
 * mirrors the remote-discovery label; probe Services the mirrored-gateway label.
 */
export function classifyMirror(svc: KubeObject): MirroredService | undefined {
  const labels = svc.metadata.labels ?? {};
  const ann = svc.metadata.annotations ?? {};
  const base = { namespace: svc.metadata.namespace ?? "", name: svc.metadata.name };
  const cluster = labels[CLUSTER_NAME_LABEL];
  const withCluster = cluster ? { cluster } : {};
  if (labels[MIRRORED_GATEWAY_LABEL] !== undefined) {
    return { ...base, kind: "probe-gateway", ...withCluster };
  }
  if (labels[MIRRORED_SERVICE_LABEL] === undefined) return undefined;
  const remote = ann[REMOTE_DISCOVERY_ANNOTATION];
  const local = ann[LOCAL_DISCOVERY_ANNOTATION];
  if (remote !== undefined || local !== undefined) {
    const members = (remote ?? "").split(",").map((s) => s.trim()).filter(Boolean).map((m) => {
      const at = m.lastIndexOf("@");
      return at < 0
        ? { service: m, cluster: "" }
        : { service: m.slice(0, at), cluster: m.slice(at + 1) };
    });
    return {
      ...base,
      kind: "federated",
      members,
      ...(local ? { localMember: local } : {}),
    };
  }
  const remoteName = remoteNameOf(svc, cluster);
  const withRemote = remoteName ? { remoteService: remoteName } : {};
  if (labels[REMOTE_DISCOVERY_LABEL] !== undefined) {
    return { ...base, kind: "remote-discovery", ...withCluster, ...withRemote };
  }
  return { ...base, kind: "gateway", ...withCluster, ...withRemote };
}

/**
 * The mirrored Service's name in the target cluster: the remote-service label, else the
 * first part of the remote FQDN annotation, else the mirror's name without `-<cluster>`
 * (as the service mirror names mirrors, `cluster_watcher.go` `mirrorServiceName`).
 */
function remoteNameOf(svc: KubeObject, cluster: string | undefined): string | undefined {
  const label = svc.metadata.labels?.[REMOTE_SERVICE_LABEL];
  if (label) return label;
  const fq = svc.metadata.annotations?.[REMOTE_SVC_FQ_NAME_ANNOTATION];
  if (fq && fq.includes(".")) return fq.slice(0, fq.indexOf("."));
  const suffix = cluster ? `-${cluster}` : "";
  const name = svc.metadata.name;
  return suffix && name.endsWith(suffix) && name.length > suffix.length
    ? name.slice(0, -suffix.length)
    : undefined;
}

/** Counts of a Link's mirrored Services by kind. */
export interface MirrorCounts {
  gateway: number;
  remoteDiscovery: number;
  /** Federated Services that have a member in the Link's cluster. */
  federated: number;
}

/** How many of `mirrors` belong to the Link whose target is `cluster`. */
export function mirrorCounts(mirrors: readonly MirroredService[], cluster: string): MirrorCounts {
  const out: MirrorCounts = { gateway: 0, remoteDiscovery: 0, federated: 0 };
  for (const m of mirrors) {
    if (m.kind === "gateway" && m.cluster === cluster) out.gateway++;
    else if (m.kind === "remote-discovery" && m.cluster === cluster) out.remoteDiscovery++;
    else if (m.kind === "federated" && m.members?.some((x) => x.cluster === cluster)) {
      out.federated++;
    }
  }
  return out;
}

/**
 * Where mirrored Services disagree with the Links: mirrors of a cluster no Link targets
 * (`orphans`), and mirrors a Link's settings cannot explain (`inconsistent`): gateway
 * mirrors of a Link without a gateway, pod-to-pod mirrors of a Link without a
 * remote-discovery selector, federated members of a Link without a federated selector.
 */
export function mirrorConsistency(
  links: readonly LinkInfo[],
  mirrors: readonly MirroredService[],
): { orphans: string[]; inconsistent: string[] } {
  const byTarget = new Map(links.map((l) => [l.targetClusterName, l]));
  const orphans: string[] = [];
  const inconsistent: string[] = [];
  for (const m of mirrors) {
    const ref = `${m.namespace}/${m.name}`;
    if (m.kind === "federated") {
      for (const member of m.members ?? []) {
        const link = byTarget.get(member.cluster);
        if (!link) orphans.push(`${ref} (member ${member.service}@${member.cluster})`);
        else if (link.selectors.federated === undefined) {
          inconsistent.push(
            `${ref} has a member in "${member.cluster}" but Link ${link.namespace}/${link.name} has no federatedServiceSelector`,
          );
        }
      }
      continue;
    }
    if (!m.cluster) continue;
    const link = byTarget.get(m.cluster);
    if (!link) {
      orphans.push(`${ref} (cluster "${m.cluster}")`);
      continue;
    }
    if ((m.kind === "gateway" || m.kind === "probe-gateway") && link.mode !== "gateway") {
      inconsistent.push(
        `${ref} is a gateway mirror but Link ${link.namespace}/${link.name} has no gateway address`,
      );
    } else if (m.kind === "remote-discovery" && link.selectors.remoteDiscovery === undefined) {
      inconsistent.push(
        `${ref} is a remote-discovery mirror but Link ${link.namespace}/${link.name} has no remoteDiscoverySelector`,
      );
    }
  }
  return { orphans, inconsistent };
}

/** The addresses of an Endpoints object (core v1, as the service mirror writes them). */
export interface EndpointAddresses {
  /** IPs of `subsets[].addresses`. */
  ready: string[];
  /** IPs of `subsets[].notReadyAddresses` (the mirror moves them here while its gateway is down). */
  notReady: string[];
}

/** Reads the ready and not-ready addresses of an Endpoints object. */
export function endpointAddresses(endpoints: KubeObject): EndpointAddresses {
  const subsets = (endpoints as { subsets?: unknown }).subsets;
  const out: EndpointAddresses = { ready: [], notReady: [] };
  if (!Array.isArray(subsets)) return out;
  const ips = (list: unknown) =>
    Array.isArray(list)
      ? list.map((a) => String((a as { ip?: unknown } | null)?.ip ?? "")).filter(Boolean)
      : [];
  for (const s of subsets as Array<Record<string, unknown> | null>) {
    out.ready.push(...ips(s?.["addresses"]));
    out.notReady.push(...ips(s?.["notReadyAddresses"]));
  }
  return out;
}

/** `namespace/name`, the key of the maps below. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The verdict on one gateway mirror's Endpoints. */
export interface MirrorEndpointsVerdict {
  /** `namespace/name` of the mirror. */
  ref: string;
  cluster: string;
  /**
   * `ready`: addresses to send to; `missing`: no Endpoints object; `empty`: no address
   * (the exported Service has no ready endpoint in its cluster); `not-ready`: only
   * not-ready addresses (the mirror's gateway probe is failing).
   */
  state: "ready" | "missing" | "empty" | "not-ready";
  addresses: string[];
  /**
   * Ready addresses that are not the Link's gateway address (when that address is a list
   * of IPs, which can be compared without DNS): a stale mirror.
   */
  strayAddresses?: string[];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Judges the Endpoints of gateway mirrors, which the service mirror writes pointing at the
 * Link's gateway (`createGatewayEndpoints` in `cluster_watcher.go`): ready addresses when
 * the exported Service has ready endpoints and the gateway is alive. Remote-discovery and
 * federated Services get no Endpoints by design (the destination controller resolves them
 * in the remote cluster), so only `kind: "gateway"` mirrors are judged.
 */
export function judgeMirrorEndpoints(
  links: readonly LinkInfo[],
  mirrors: readonly MirroredService[],
  endpoints: ReadonlyMap<string, KubeObject>,
): MirrorEndpointsVerdict[] {
  const byTarget = new Map(links.map((l) => [l.targetClusterName, l]));
  const out: MirrorEndpointsVerdict[] = [];
  for (const m of mirrors) {
    if (m.kind !== "gateway") continue;
    const ref = objectKey(m.namespace, m.name);
    const cluster = m.cluster ?? "";
    const ep = endpoints.get(ref);
    if (!ep) {
      out.push({ ref, cluster, state: "missing", addresses: [] });
      continue;
    }
    const a = endpointAddresses(ep);
    const state = a.ready.length ? "ready" : a.notReady.length ? "not-ready" : "empty";
    const v: MirrorEndpointsVerdict = {
      ref,
      cluster,
      state,
      addresses: a.ready.length ? a.ready : a.notReady,
    };
    const gw = byTarget.get(cluster)?.gatewayAddress?.split(",").map((s) => s.trim()).filter(
      Boolean,
    );
    if (gw?.length && gw.every((g) => IPV4.test(g) || g.includes(":"))) {
      const stray = a.ready.filter((ip) => !gw.includes(ip));
      if (stray.length) v.strayAddresses = stray;
    }
    out.push(v);
  }
  return out;
}

/** What the loader read of a linked cluster for {@linkcode judgeRemoteServices}. */
export interface RemoteServices {
  /** Services by `namespace/name`; `null` when read and not found. */
  services: ReadonlyMap<string, KubeObject | null>;
  /** Endpoints by `namespace/name`, when they exist there. */
  endpoints: ReadonlyMap<string, KubeObject>;
  /** Pods of the namespaces read, to judge readiness where no Endpoints exist. */
  pods: readonly KubeObject[];
  /** True for a live cluster: a Service without Endpoints or pods has none. */
  live: boolean;
}

/** The verdict on one Service a Link mirrors, in the cluster it comes from. */
export interface RemoteServiceVerdict {
  /** The local mirror or federated Service, `namespace/name`. */
  mirror: string;
  kind: "gateway" | "remote-discovery" | "federated";
  /** The Service in the target cluster, `namespace/name`. */
  remote: string;
  /**
   * `missing`: no such Service there (a stale mirror); `unexported`: it exists but its
   * labels no longer match the Link's selector for this kind; otherwise it is exported.
   */
  exported: "yes" | "missing" | "unexported";
  /** Ready endpoints there; `undefined` when they cannot be known (no status). */
  ready?: number;
  /** The Link selector the Service must match (`kubectl` form). */
  selector?: string;
}

/**
 * Checks each of the Link's mirrors, and each federated Service with a member in the
 * Link's cluster, against the target cluster: the Service exists there, carries the labels
 * the Link's selector for its kind asks for (`selector`, `remoteDiscoverySelector`,
 * `federatedServiceSelector`), and has ready endpoints (its Endpoints, else the ready pods
 * its selector picks).
 */
export function judgeRemoteServices(
  link: LinkInfo,
  mirrors: readonly MirroredService[],
  remote: RemoteServices,
): RemoteServiceVerdict[] {
  const out: RemoteServiceVerdict[] = [];
  for (const w of remoteWanted(link, mirrors)) {
    const svc = remote.services.get(w.remote);
    const text = w.kind === "gateway"
      ? link.selectors.gateway
      : w.kind === "remote-discovery"
      ? link.selectors.remoteDiscovery
      : link.selectors.federated;
    const v: RemoteServiceVerdict = {
      mirror: w.mirror,
      kind: w.kind,
      remote: w.remote,
      exported: "yes",
      ...(text !== undefined ? { selector: text } : {}),
    };
    if (svc === undefined) continue; // not read
    if (svc === null) v.exported = "missing";
    else if (selected(text, svc.metadata.labels) === false) v.exported = "unexported";
    if (svc) {
      const ready = readyEndpoints(svc, remote);
      if (ready !== undefined) v.ready = ready;
    }
    out.push(v);
  }
  return out;
}

/**
 * The Services of the target cluster that `link`'s mirrors stand for, `namespace/name`
 * (what a loader reads there before {@linkcode judgeRemoteServices}).
 */
export function remoteWanted(
  link: LinkInfo,
  mirrors: readonly MirroredService[],
): Array<{ mirror: string; kind: RemoteServiceVerdict["kind"]; remote: string }> {
  const out: Array<{ mirror: string; kind: RemoteServiceVerdict["kind"]; remote: string }> = [];
  for (const m of mirrors) {
    const mirror = objectKey(m.namespace, m.name);
    if (m.kind === "federated") {
      for (const member of m.members ?? []) {
        if (member.cluster !== link.targetClusterName || !member.service) continue;
        out.push({ mirror, kind: "federated", remote: objectKey(m.namespace, member.service) });
      }
    } else if (
      (m.kind === "gateway" || m.kind === "remote-discovery") &&
      m.cluster === link.targetClusterName && m.remoteService
    ) {
      out.push({ mirror, kind: m.kind, remote: objectKey(m.namespace, m.remoteService) });
    }
  }
  return out;
}

/**
 * As the service mirror's `isExported`: an absent or empty selector selects nothing;
 * `undefined` for a selector this server cannot parse.
 */
function selected(text: string | undefined, labels: Record<string, string> | undefined) {
  if (text === undefined || text.trim() === "") return false;
  let sel: LabelSelector;
  try {
    sel = parseSelector(text);
  } catch {
    return undefined;
  }
  return matchesSelector(sel, labels);
}

function readyEndpoints(svc: KubeObject, remote: RemoteServices): number | undefined {
  const key = objectKey(svc.metadata.namespace ?? "", svc.metadata.name);
  const ep = remote.endpoints.get(key);
  if (ep) return endpointAddresses(ep).ready.length;
  const sel = (svc.spec as { selector?: Record<string, string> } | undefined)?.selector;
  if (!sel || Object.keys(sel).length === 0) return remote.live ? 0 : undefined;
  const pods = remote.pods.filter((p) =>
    p.metadata.namespace === svc.metadata.namespace &&
    matchesSelector({ matchLabels: sel }, p.metadata.labels)
  );
  const withStatus = pods.filter((p) => podStatusOf(p) !== undefined);
  if (withStatus.length === 0) return remote.live ? 0 : undefined;
  return withStatus.filter((p) => podReady(podStatusOf(p)!)).length;
}

interface PodStatusLike {
  phase?: string;
  conditions?: Array<{ type?: string; status?: string }>;
  containerStatuses?: Array<{ ready?: boolean }>;
}

function podStatusOf(pod: KubeObject): PodStatusLike | undefined {
  const st = (pod as { status?: PodStatusLike }).status;
  return st && (st.phase !== undefined || st.conditions || st.containerStatuses) ? st : undefined;
}

/** Ready as an Endpoints controller sees it: the Ready condition, else running with every container ready. */
function podReady(st: PodStatusLike): boolean {
  const cond = st.conditions?.find((c) => c.type === "Ready");
  if (cond) return cond.status === "True";
  return st.phase === "Running" && (st.containerStatuses ?? []).length > 0 &&
    (st.containerStatuses ?? []).every((c) => c.ready === true);
}
