/**
 * The mesh-wide settings that decide policy: trust domain, cluster networks, the
 * cluster's default inbound policy and the control plane's version. Read from the
 * `linkerd-config` ConfigMap when present, with documented defaults otherwise.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { type Config, DEFAULT_POLICIES, type DefaultPolicy } from "../config.ts";
import { type ClusterState, itemsOf } from "../kube/state.ts";

/** Linkerd's default cluster networks (`clusterNetworks` in the control-plane chart). */
export const DEFAULT_CLUSTER_NETWORKS = [
  "10.0.0.0/8",
  "100.64.0.0/10",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "fd00::/8",
] as const;

/** Mesh-wide settings. */
export interface MeshConfig {
  controlPlaneNamespace: string;
  /** `identityTrustDomain`, default `cluster.local`. */
  trustDomain: string;
  clusterDomain: string;
  clusterNetworks: string[];
  /** The cluster default (`proxy.defaultInboundPolicy`), or the operator's override. */
  defaultInboundPolicy: DefaultPolicy;
  /** The proxy version the control plane injects (`proxy.image.version`), if known. */
  proxyVersion?: string;
  /** `linkerdVersion` of the control plane, if known. */
  linkerdVersion?: string;
  /** Where the values came from. */
  origin: "linkerd-config" | "defaults";
}

/**
 * Reads mesh settings from `linkerd-config` in the state (load `configmaps` first),
 * applying the operator's overrides from `config`.
 */
export function readMeshConfig(
  state: ClusterState,
  config?: Pick<Config, "defaultInboundPolicy" | "clusterNetworks">,
): MeshConfig {
  const cm = itemsOf(state, "configmaps", state.linkerdNamespace).find((c) =>
    c.metadata.name === "linkerd-config"
  );
  let values: Record<string, unknown> = {};
  if (cm?.data?.["values"]) {
    try {
      const parsed = parseYaml(cm.data["values"]);
      if (parsed && typeof parsed === "object") values = parsed as Record<string, unknown>;
    } catch {
      // a corrupt linkerd-config falls back to defaults; check_mesh_health reports it
    }
  }
  const proxy = (values["proxy"] ?? {}) as Record<string, unknown>;
  const image = (proxy["image"] ?? {}) as Record<string, unknown>;
  const policy = [config?.defaultInboundPolicy, proxy["defaultInboundPolicy"]]
    .find((p): p is DefaultPolicy =>
      typeof p === "string" && (DEFAULT_POLICIES as readonly string[]).includes(p)
    ) ??
    "all-unauthenticated";
  const networks = config?.clusterNetworks ??
    (typeof values["clusterNetworks"] === "string"
      ? (values["clusterNetworks"] as string).split(",").map((s) => s.trim()).filter(Boolean)
      : [...DEFAULT_CLUSTER_NETWORKS]);
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  const proxyVersion = str(image["version"]);
  const linkerdVersion = str(values["linkerdVersion"]);
  return {
    controlPlaneNamespace: state.linkerdNamespace,
    trustDomain: str(values["identityTrustDomain"]) ?? "cluster.local",
    clusterDomain: str(values["clusterDomain"]) ?? "cluster.local",
    clusterNetworks: networks,
    defaultInboundPolicy: policy,
    ...(proxyVersion ? { proxyVersion } : {}),
    ...(linkerdVersion ? { linkerdVersion } : {}),
    origin: cm ? "linkerd-config" : "defaults",
  };
}

/** The mTLS identity of a ServiceAccount: `<sa>.<ns>.serviceaccount.identity.<cp-ns>.<trust-domain>`. */
export function serviceAccountIdentity(
  serviceAccount: string,
  namespace: string,
  mesh: MeshConfig,
): string {
  return `${serviceAccount}.${namespace}.serviceaccount.identity.${mesh.controlPlaneNamespace}.${mesh.trustDomain}`;
}

/** The identity suffix shared by every ServiceAccount of a namespace (`*.<ns>.serviceaccount...`). */
export function namespaceIdentitySuffix(namespace: string, mesh: MeshConfig): string {
  return `${namespace}.serviceaccount.identity.${mesh.controlPlaneNamespace}.${mesh.trustDomain}`;
}
