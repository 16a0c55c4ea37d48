/**
 * The Kubernetes resources linkerd-mcp reads, with their API groups and versions.
 *
 * This table is the single list of what the server may ask the API server for; the
 * Helm chart's ClusterRole is tested against it. Secrets are deliberately absent.
 *
 * @module
 */

/** One resource type the server reads. */
export interface ResourceType {
  /** API group; `""` is the core group. */
  group: string;
  /** Served versions, preferred first; a live source falls back in this order. */
  versions: readonly string[];
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** Every resource the server reads, keyed by a stable name. */
export const RESOURCES = {
  namespaces: {
    group: "",
    versions: ["v1"],
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
  },
  pods: { group: "", versions: ["v1"], plural: "pods", kind: "Pod", namespaced: true },
  services: { group: "", versions: ["v1"], plural: "services", kind: "Service", namespaced: true },
  /**
   * Only the Endpoints of multicluster mirror Services (by label) and of the Services they
   * mirror (by name, in a linked cluster): the service mirror writes core Endpoints.
   */
  endpoints: {
    group: "",
    versions: ["v1"],
    plural: "endpoints",
    kind: "Endpoints",
    namespaced: true,
  },
  serviceaccounts: {
    group: "",
    versions: ["v1"],
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
  },
  /** Only the Linkerd ConfigMaps (`linkerd-config`, `linkerd-identity-trust-roots`) are read. */
  configmaps: {
    group: "",
    versions: ["v1"],
    plural: "configmaps",
    kind: "ConfigMap",
    namespaced: true,
  },
  deployments: {
    group: "apps",
    versions: ["v1"],
    plural: "deployments",
    kind: "Deployment",
    namespaced: true,
  },
  statefulsets: {
    group: "apps",
    versions: ["v1"],
    plural: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
  },
  daemonsets: {
    group: "apps",
    versions: ["v1"],
    plural: "daemonsets",
    kind: "DaemonSet",
    namespaced: true,
  },
  replicasets: {
    group: "apps",
    versions: ["v1"],
    plural: "replicasets",
    kind: "ReplicaSet",
    namespaced: true,
  },
  jobs: { group: "batch", versions: ["v1"], plural: "jobs", kind: "Job", namespaced: true },
  cronjobs: {
    group: "batch",
    versions: ["v1"],
    plural: "cronjobs",
    kind: "CronJob",
    namespaced: true,
  },
  crds: {
    group: "apiextensions.k8s.io",
    versions: ["v1"],
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
  },
  servers: {
    group: "policy.linkerd.io",
    versions: ["v1beta3", "v1beta2", "v1beta1"],
    plural: "servers",
    kind: "Server",
    namespaced: true,
  },
  serverauthorizations: {
    group: "policy.linkerd.io",
    versions: ["v1beta1"],
    plural: "serverauthorizations",
    kind: "ServerAuthorization",
    namespaced: true,
  },
  authorizationpolicies: {
    group: "policy.linkerd.io",
    versions: ["v1alpha1"],
    plural: "authorizationpolicies",
    kind: "AuthorizationPolicy",
    namespaced: true,
  },
  meshtlsauthentications: {
    group: "policy.linkerd.io",
    versions: ["v1alpha1"],
    plural: "meshtlsauthentications",
    kind: "MeshTLSAuthentication",
    namespaced: true,
  },
  networkauthentications: {
    group: "policy.linkerd.io",
    versions: ["v1alpha1"],
    plural: "networkauthentications",
    kind: "NetworkAuthentication",
    namespaced: true,
  },
  /** HTTPRoute in Linkerd's own API group. */
  httproutes: {
    group: "policy.linkerd.io",
    versions: ["v1beta3", "v1beta2", "v1beta1"],
    plural: "httproutes",
    kind: "HTTPRoute",
    namespaced: true,
  },
  /** HTTPRoute in the Gateway API group. */
  gatewayhttproutes: {
    group: "gateway.networking.k8s.io",
    versions: ["v1", "v1beta1"],
    plural: "httproutes",
    kind: "HTTPRoute",
    namespaced: true,
  },
  grpcroutes: {
    group: "gateway.networking.k8s.io",
    versions: ["v1", "v1alpha2"],
    plural: "grpcroutes",
    kind: "GRPCRoute",
    namespaced: true,
  },
  serviceprofiles: {
    group: "linkerd.io",
    versions: ["v1alpha2", "v1alpha1"],
    plural: "serviceprofiles",
    kind: "ServiceProfile",
    namespaced: true,
  },
  egressnetworks: {
    group: "policy.linkerd.io",
    versions: ["v1alpha1"],
    plural: "egressnetworks",
    kind: "EgressNetwork",
    namespaced: true,
  },
  links: {
    group: "multicluster.linkerd.io",
    versions: ["v1alpha3", "v1alpha2", "v1alpha1"],
    plural: "links",
    kind: "Link",
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;

/** A key of {@linkcode RESOURCES}. */
export type ResourceKey = keyof typeof RESOURCES;

/** All resource keys, in table order. */
export const RESOURCE_KEYS = Object.keys(RESOURCES) as ResourceKey[];

/** Finds the resource key for an object's `apiVersion` and `kind`, if the server reads it. */
export function resourceKeyFor(apiVersion: string, kind: string): ResourceKey | undefined {
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.lastIndexOf("/")) : "";
  for (const key of RESOURCE_KEYS) {
    const r: ResourceType = RESOURCES[key];
    if (r.kind === kind && r.group === group) return key;
  }
  return undefined;
}

/** Linkerd's inbound policy resources: Servers, authorizations, authentications and routes. */
export const POLICY_KEYS: readonly ResourceKey[] = [
  "servers",
  "serverauthorizations",
  "authorizationpolicies",
  "meshtlsauthentications",
  "networkauthentications",
  "httproutes",
  "gatewayhttproutes",
  "grpcroutes",
];
