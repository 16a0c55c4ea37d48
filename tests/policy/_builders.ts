/**
 * Object builders in the style of the policy controller's tests (`mk_server`,
 * `mk_authorization_policy`, `mk_pause`, ...), and a model over them.
 *
 * @module
 */
import { loadConfig } from "../../src/config.ts";
import { type ClusterState, stateFromObjects } from "../../src/kube/state.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { readMeshConfig } from "../../src/mesh/config.ts";
import { buildPolicyIndex, type PolicyIndex } from "../../src/policy/mod.ts";

/** Namespace used by the builders. */
export const NS = "ns-0";

/** `creationTimestamp` `n` seconds after a fixed instant. */
export function at(n: number): string {
  return new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString().replace(".000", "");
}

/** A meshed pod (`mk_pod`); ports are `[name, number]` pairs of the first container. */
export function mkPod(
  name: string,
  opts: {
    ns?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ports?: Array<[string | undefined, number]>;
    containers?: Array<{ name: string; ports: Array<[string | undefined, number]> }>;
    initContainers?: Array<
      { name: string; ports: Array<[string | undefined, number]>; restartPolicy?: string }
    >;
    sa?: string;
    meshed?: boolean;
    ip?: string;
    probes?: Array<{ port: number | string; path: string }>;
    ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
  } = {},
): KubeObject {
  const toPorts = (list: Array<[string | undefined, number]>) =>
    list.map(([n, containerPort]) => ({ ...(n ? { name: n } : {}), containerPort }));
  const containers = opts.containers?.map((c) => ({ name: c.name, ports: toPorts(c.ports) })) ??
    [{ name: "main", ports: toPorts(opts.ports ?? [["http", 8080]]) }];
  if (opts.probes?.length) {
    const c = containers[0] as Record<string, unknown>;
    c["readinessProbe"] = { httpGet: opts.probes[0] };
    if (opts.probes[1]) c["livenessProbe"] = { httpGet: opts.probes[1] };
  }
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: opts.ns ?? NS,
      labels: {
        ...(opts.labels ?? { app: name }),
        ...(opts.meshed === false ? {} : { "linkerd.io/control-plane-ns": "linkerd" }),
      },
      annotations: opts.annotations ?? {},
      ...(opts.ownerReferences
        ? {
          ownerReferences: opts.ownerReferences.map((o) => ({
            apiVersion: "apps/v1",
            uid: "x",
            controller: true,
            ...o,
          })),
        }
        : {}),
    },
    spec: {
      serviceAccountName: opts.sa ?? "default",
      containers,
      ...(opts.initContainers
        ? {
          initContainers: opts.initContainers.map((c) => ({
            name: c.name,
            ports: toPorts(c.ports),
            ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
          })),
        }
        : {}),
    },
    status: {
      phase: "Running",
      ...(opts.ip ? { podIP: opts.ip, podIPs: [{ ip: opts.ip }] } : {}),
    },
  };
}

/**
 * The upstream policy tests' `mk_pause`: a pod whose injected proxy serves the admin
 * port 4191 with `/live` and `/ready` probes.
 */
export function mkPause(name = "pause", ns = NS): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: ns,
      labels: { app: name, "linkerd.io/control-plane-ns": "linkerd" },
      annotations: {},
    },
    spec: {
      containers: [{ name: "pause", image: "gcr.io/google_containers/pause:3.2" }, {
        name: "linkerd-proxy",
        image: "cr.l5d.io/linkerd/proxy:edge-26.8.3",
        ports: [{ name: "linkerd-proxy", containerPort: 4143 }, {
          name: "linkerd-admin",
          containerPort: 4191,
        }],
        livenessProbe: { httpGet: { path: "/live", port: 4191 } },
        readinessProbe: { httpGet: { path: "/ready", port: 4191 } },
      }],
    },
    status: { phase: "Running" },
  };
}

/** `mk_server`: a Server (selector `matchLabels`, `{}` = every pod). */
export function mkServer(
  name: string,
  opts: {
    ns?: string;
    port: number | string;
    selector?: Record<string, unknown>;
    proxyProtocol?: string;
    accessPolicy?: string;
    created?: string;
    labels?: Record<string, string>;
  },
): KubeObject {
  return {
    apiVersion: "policy.linkerd.io/v1beta3",
    kind: "Server",
    metadata: {
      name,
      namespace: opts.ns ?? NS,
      ...(opts.created ? { creationTimestamp: opts.created } : {}),
      ...(opts.labels ? { labels: opts.labels } : {}),
    },
    spec: {
      podSelector: opts.selector ?? {},
      port: opts.port,
      ...(opts.proxyProtocol ? { proxyProtocol: opts.proxyProtocol } : {}),
      ...(opts.accessPolicy ? { accessPolicy: opts.accessPolicy } : {}),
    },
  };
}

/** A reference, as written in a manifest (`group` left out when `undefined`). */
export interface Ref {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** `mk_authorization_policy`. */
export function mkAuthorizationPolicy(
  name: string,
  target: Ref,
  refs: Ref[],
  ns = NS,
): KubeObject {
  return {
    apiVersion: "policy.linkerd.io/v1alpha1",
    kind: "AuthorizationPolicy",
    metadata: { name, namespace: ns },
    spec: { targetRef: target, requiredAuthenticationRefs: refs },
  };
}

/** `mk_meshtls_authentication`. */
export function mkMeshTls(
  name: string,
  spec: { identities?: string[]; identityRefs?: Ref[] },
  ns = NS,
): KubeObject {
  return {
    apiVersion: "policy.linkerd.io/v1alpha1",
    kind: "MeshTLSAuthentication",
    metadata: { name, namespace: ns },
    spec,
  };
}

/** `mk_network_authentication`. */
export function mkNetworkAuthn(
  name: string,
  networks: Array<{ cidr: string; except?: string[] }>,
  ns = NS,
): KubeObject {
  return {
    apiVersion: "policy.linkerd.io/v1alpha1",
    kind: "NetworkAuthentication",
    metadata: { name, namespace: ns },
    spec: { networks },
  };
}

/** `mk_server_authorization`. */
export function mkServerAuthorization(
  name: string,
  server: { name?: string; selector?: Record<string, unknown> },
  client: Record<string, unknown>,
  ns = NS,
): KubeObject {
  return {
    apiVersion: "policy.linkerd.io/v1beta1",
    kind: "ServerAuthorization",
    metadata: { name, namespace: ns },
    spec: { server, client },
  };
}

/** `mk_http_route` (policy.linkerd.io by default; `gateway: true` for the Gateway API group). */
export function mkHttpRoute(
  name: string,
  opts: {
    ns?: string;
    parents: Array<Partial<Ref> & { port?: number; sectionName?: string }>;
    rules?: Array<{ matches?: unknown[]; filters?: unknown[] }>;
    created?: string;
    gateway?: boolean;
    status?: Record<string, unknown>;
  },
): KubeObject {
  return {
    apiVersion: opts.gateway ? "gateway.networking.k8s.io/v1" : "policy.linkerd.io/v1beta3",
    kind: "HTTPRoute",
    metadata: {
      name,
      namespace: opts.ns ?? NS,
      ...(opts.created ? { creationTimestamp: opts.created } : {}),
    },
    spec: {
      parentRefs: opts.parents,
      rules: opts.rules ?? [{ matches: [{ path: { type: "PathPrefix", value: "/" } }] }],
    },
    ...(opts.status ? { status: opts.status } : {}),
  };
}

/** A Service (`targetPort` as given: number or name). */
export function mkService(
  name: string,
  opts: {
    ns?: string;
    selector?: Record<string, string>;
    ports: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string }>;
  },
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: opts.ns ?? NS },
    spec: { selector: opts.selector ?? { app: name }, ports: opts.ports },
  };
}

/** `linkerd-config` with a control-plane version. */
export function linkerdConfig(version: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "linkerd-config", namespace: "linkerd" },
    data: { values: `linkerdVersion: ${version}\nidentityTrustDomain: cluster.local\n` },
  };
}

/** The state and index over objects. */
export function indexFor(
  objects: readonly KubeObject[],
  env: Record<string, string> = {},
): { state: ClusterState; idx: PolicyIndex } {
  const state = stateFromObjects(objects, { source: "test", linkerdNamespace: "linkerd" });
  const idx = buildPolicyIndex(state, { mesh: readMeshConfig(state, loadConfig(env)) });
  return { state, idx };
}

/** The mTLS identity of a ServiceAccount in the test trust domain. */
export function id(sa: string, ns = NS): string {
  return `${sa}.${ns}.serviceaccount.identity.linkerd.cluster.local`;
}
