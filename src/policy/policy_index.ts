/**
 * The policy index: every object the inbound model needs, resolved once per state
 * (Servers sorted, authorizations built and linked, routes attached, pods grouped
 * by Service) so that per-request lookups are map reads.
 *
 * @module
 */
import type { LabelSelector } from "../kube/selectors.ts";
import { serviceSelects } from "../kube/selectors.ts";
import { type ClusterState, itemsOf } from "../kube/state.ts";
import type { KubeObject } from "../kube/types.ts";
import type { MeshConfig } from "../mesh/config.ts";
import { isTerminated, type Pod, type Service } from "../mesh/pods.ts";
import { clusterNetworkMatches } from "./authz.ts";
import { byCreation, compareKeys, push } from "./_order.ts";
import { indexAuthorizations, indexRoutes } from "./index_links.ts";
import type { Authz, Client, InboundRoute, InboundServer, NetworkMatch } from "./types.ts";

/** A Server, parsed. */
export interface ServerEntry {
  obj: KubeObject;
  name: string;
  namespace: string;
  port: number | string;
  selector: LabelSelector | undefined;
  /** Only pods are analysed; a Server with `externalWorkloadSelector` selects no pods. */
  selectsPods: boolean;
  proxyProtocol: string;
  accessPolicy: string;
}

/** The resolved policy state. */
export interface PolicyIndex {
  mesh: MeshConfig;
  clusterNetworks: NetworkMatch[];
  namespaces: Map<string, KubeObject>;
  podsByNs: Map<string, Pod[]>;
  /** `ns/name` → Service. */
  services: Map<string, Service>;
  /** Service keys, sorted. */
  serviceKeys: string[];
  /** `ns/name` of a Service → the pods it selects. */
  servicePods: Map<string, Pod[]>;
  /** `ns/name` of a pod → keys of the Services that select it. */
  podServices: Map<string, string[]>;
  /** Servers per namespace, by creation time then name. */
  serversByNs: Map<string, ServerEntry[]>;
  /** `ns/server` → server-level authorizations from ServerAuthorizations and APs on the Server. */
  serverAuthz: Map<string, Authz[]>;
  /** Namespace → authorizations from APs targeting the Namespace (every Server in it). */
  namespaceAuthz: Map<string, Authz[]>;
  /** `ns/group/kind/name` of a route → authorizations from APs targeting it. */
  routeAuthz: Map<string, Authz[]>;
  /** `ns/server` → attached HTTPRoutes (both groups). */
  httpRoutes: Map<string, InboundRoute[]>;
  /** `ns/server` → attached GRPCRoutes. */
  grpcRoutes: Map<string, InboundRoute[]>;
  /** `ns/server` → notes about routes and authorizations that do not apply. */
  serverNotes: Map<string, string[]>;
  /** Namespace → notes about ignored policy objects. */
  namespaceNotes: Map<string, string[]>;
  /** Memo of client profiles per Service key. */
  clients: Map<string, Client[]>;
  /** Memo of computed inbound servers (`ns/pod:port`). */
  cache: Map<string, InboundServer>;
}

/** Options for {@linkcode buildPolicyIndex}. */
export interface BuildPolicyIndexOptions {
  /** Mesh settings (trust domain, cluster networks, default policy) from `readMeshConfig`. */
  mesh: MeshConfig;
}

/** Builds the index once per state; pure. */
export function buildPolicyIndex(state: ClusterState, opts: BuildPolicyIndexOptions): PolicyIndex {
  const mesh = opts.mesh;
  const clusterNetworks = clusterNetworkMatches(mesh);
  const idx: PolicyIndex = {
    mesh,
    clusterNetworks,
    namespaces: new Map(itemsOf(state, "namespaces").map((n) => [n.metadata.name, n])),
    podsByNs: new Map(),
    services: new Map(),
    serviceKeys: [],
    servicePods: new Map(),
    podServices: new Map(),
    serversByNs: new Map(),
    serverAuthz: new Map(),
    namespaceAuthz: new Map(),
    routeAuthz: new Map(),
    httpRoutes: new Map(),
    grpcRoutes: new Map(),
    serverNotes: new Map(),
    namespaceNotes: new Map(),
    clients: new Map(),
    cache: new Map(),
  };
  for (const pod of itemsOf(state, "pods") as readonly Pod[]) {
    if (!isTerminated(pod)) push(idx.podsByNs, pod.metadata.namespace ?? "", pod);
  }
  indexServices(idx, itemsOf(state, "services") as readonly Service[]);
  indexServers(idx, itemsOf(state, "servers"));
  indexAuthorizations(idx, state);
  indexRoutes(idx, state);
  return idx;
}

function indexServices(idx: PolicyIndex, services: readonly Service[]): void {
  for (const svc of services) {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    idx.services.set(key, svc);
    const pods = (idx.podsByNs.get(svc.metadata.namespace ?? "") ?? []).filter((p) =>
      serviceSelects(svc.spec?.selector, p.metadata.labels)
    );
    idx.servicePods.set(key, pods);
    for (const p of pods) push(idx.podServices, `${p.metadata.namespace}/${p.metadata.name}`, key);
  }
  idx.serviceKeys = [...idx.services.keys()].sort(compareKeys);
  for (const list of idx.podServices.values()) list.sort(compareKeys);
}

function indexServers(idx: PolicyIndex, servers: readonly KubeObject[]): void {
  for (const obj of [...servers].sort(byCreation)) {
    const spec = (obj.spec ?? {}) as {
      podSelector?: LabelSelector;
      externalWorkloadSelector?: LabelSelector;
      port?: number | string;
      proxyProtocol?: string;
      accessPolicy?: string;
    };
    if (spec.port === undefined) continue;
    push(idx.serversByNs, obj.metadata.namespace ?? "", {
      obj,
      name: obj.metadata.name,
      namespace: obj.metadata.namespace ?? "",
      port: typeof spec.port === "string" && /^\d+$/.test(spec.port)
        ? Number(spec.port)
        : spec.port,
      selector: spec.podSelector ?? undefined,
      selectsPods: spec.podSelector !== undefined && spec.podSelector !== null,
      proxyProtocol: spec.proxyProtocol ?? "unknown",
      accessPolicy: spec.accessPolicy ?? "deny",
    });
  }
}
