/**
 * The policy index: every object the inbound model needs, resolved once per state
 * (Servers sorted, authorizations built and linked, routes attached, pods grouped
 * by Service) so that per-request lookups are map reads.
 *
 * @module
 */
import type { LabelSelector } from "../kube/selectors.ts";
import { matchesSelector, serviceSelects } from "../kube/selectors.ts";
import { type ClusterState, itemsOf } from "../kube/state.ts";
import type { KubeObject } from "../kube/types.ts";
import type { MeshConfig } from "../mesh/config.ts";
import { isTerminated, type Pod, type Service } from "../mesh/pods.ts";
import {
  authorizationPolicyAuthz,
  clusterNetworkMatches,
  serverAuthorizationAuthz,
} from "./authz.ts";
import { attachFailure, routeMatches, serverParents } from "./routes.ts";
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

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function byCreation(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  // objects with a timestamp come first (as the controller orders routes)
  if (ta !== tb) return ta === "" ? 1 : tb === "" ? -1 : ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
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
  idx.serviceKeys = [...idx.services.keys()].sort();
  for (const list of idx.podServices.values()) list.sort();
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

function indexAuthorizations(idx: PolicyIndex, state: ClusterState): void {
  const { mesh, clusterNetworks } = idx;
  for (const saz of itemsOf(state, "serverauthorizations")) {
    const ns = saz.metadata.namespace ?? "";
    const authz = serverAuthorizationAuthz(saz, { mesh, clusterNetworks });
    if (typeof authz === "string") {
      push(idx.namespaceNotes, ns, authz);
      continue;
    }
    const target = ((saz.spec ?? {})["server"] ?? {}) as {
      name?: string;
      selector?: LabelSelector;
    };
    for (const srv of idx.serversByNs.get(ns) ?? []) {
      const hit = target.name !== undefined
        ? target.name === srv.name
        : target.selector !== undefined &&
          matchesSelector(target.selector, srv.obj.metadata.labels);
      if (hit) push(idx.serverAuthz, `${ns}/${srv.name}`, authz);
    }
  }
  const meshTls = new Map(
    itemsOf(state, "meshtlsauthentications").map((
      o,
    ) => [`${o.metadata.namespace}/${o.metadata.name}`, o]),
  );
  const networks = new Map(
    itemsOf(state, "networkauthentications").map((
      o,
    ) => [`${o.metadata.namespace}/${o.metadata.name}`, o]),
  );
  const lookup = {
    meshTls: (ns: string, name: string) => meshTls.get(`${ns}/${name}`),
    network: (ns: string, name: string) => networks.get(`${ns}/${name}`),
  };
  for (const ap of itemsOf(state, "authorizationpolicies")) {
    const ns = ap.metadata.namespace ?? "";
    const ref = ((ap.spec ?? {})["targetRef"] ?? {}) as {
      group?: string;
      kind?: string;
      name?: string;
    };
    const kind = (ref.kind ?? "").toLowerCase();
    const group = (ref.group ?? "").toLowerCase();
    let key: string;
    let map: Map<string, Authz[]>;
    if (kind === "server" && group === "policy.linkerd.io") {
      key = `${ns}/${ref.name}`;
      map = idx.serverAuthz;
    } else if (kind === "namespace" && (group === "" || group === "core")) {
      if (ref.name !== ns) {
        push(
          idx.namespaceNotes,
          ns,
          `AuthorizationPolicy "${ap.metadata.name}" targets another namespace "${ref.name}": it is rejected`,
        );
        continue;
      }
      key = ns;
      map = idx.namespaceAuthz;
    } else if (
      (kind === "httproute" &&
        (group === "policy.linkerd.io" || group === "gateway.networking.k8s.io")) ||
      (kind === "grpcroute" && group === "gateway.networking.k8s.io")
    ) {
      key = routeKey(ns, group, kind, ref.name ?? "");
      map = idx.routeAuthz;
    } else {
      push(
        idx.namespaceNotes,
        ns,
        `AuthorizationPolicy "${ap.metadata.name}" targets unsupported kind "${
          ref.group ?? ""
        }/${ref.kind}": it is rejected`,
      );
      continue;
    }
    const authz = authorizationPolicyAuthz(ap, { mesh, lookup });
    if (typeof authz === "string") {
      if (map === idx.serverAuthz) push(idx.serverNotes, key, authz);
      else push(idx.namespaceNotes, ns, authz);
      continue;
    }
    push(map, key, authz);
  }
}

function routeKey(ns: string, group: string, kind: string, name: string): string {
  return `${ns}/${group.toLowerCase()}/${kind.toLowerCase()}/${name}`;
}

function groupOf(obj: KubeObject): string {
  return obj.apiVersion.includes("/")
    ? obj.apiVersion.slice(0, obj.apiVersion.lastIndexOf("/"))
    : "";
}

function indexRoutes(idx: PolicyIndex, state: ClusterState): void {
  const grpc = itemsOf(state, "grpcroutes");
  const http = [...itemsOf(state, "httproutes"), ...itemsOf(state, "gatewayhttproutes")];
  const servers = new Set(
    [...idx.serversByNs.values()].flat().map((s) => `${s.namespace}/${s.name}`),
  );
  const attach = (routes: readonly KubeObject[], target: Map<string, InboundRoute[]>) => {
    for (const route of [...routes].sort(byCreation)) {
      const ns = route.metadata.namespace ?? "";
      for (const server of new Set(serverParents(route))) {
        const key = `${ns}/${server}`;
        if (!servers.has(key)) continue;
        const failure = attachFailure(route, server);
        if (failure) {
          push(idx.serverNotes, key, failure);
          continue;
        }
        const group = groupOf(route);
        push(target, key, {
          kind: route.kind,
          group,
          name: route.metadata.name,
          matches: routeMatches(route),
          authorizations:
            idx.routeAuthz.get(routeKey(ns, group, route.kind, route.metadata.name)) ?? [],
          ...(route.metadata.creationTimestamp
            ? { creationTimestamp: route.metadata.creationTimestamp }
            : {}),
        });
      }
    }
  };
  attach(grpc, idx.grpcRoutes);
  attach(http, idx.httpRoutes);
  // GEP-1426: an HTTPRoute on a Server that also has a GRPCRoute is conflicted
  for (const key of idx.grpcRoutes.keys()) {
    const conflicted = idx.httpRoutes.get(key);
    if (!conflicted) continue;
    idx.httpRoutes.delete(key);
    for (const r of conflicted) {
      push(
        idx.serverNotes,
        key,
        `HTTPRoute "${r.name}" is not accepted: a GRPCRoute is attached to the same Server (RouteReasonConflicted)`,
      );
    }
  }
}
