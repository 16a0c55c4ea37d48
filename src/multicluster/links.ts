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
import type { LabelSelector } from "../kube/selectors.ts";

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
  if (labels[REMOTE_DISCOVERY_LABEL] !== undefined) {
    return { ...base, kind: "remote-discovery", ...withCluster };
  }
  return { ...base, kind: "gateway", ...withCluster };
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
