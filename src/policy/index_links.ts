/**
 * Links policy objects to Servers in the index: ServerAuthorizations (by name or
 * label), AuthorizationPolicies (Server, Namespace, HTTPRoute, GRPCRoute targets) and
 * attached routes with their route-level authorizations.
 *
 * @module
 */
import type { LabelSelector } from "../kube/selectors.ts";
import { matchesSelector } from "../kube/selectors.ts";
import { type ClusterState, itemsOf } from "../kube/state.ts";
import type { KubeObject } from "../kube/types.ts";
import { byCreation, push } from "./_order.ts";
import { authorizationPolicyAuthz, serverAuthorizationAuthz } from "./authz.ts";
import type { PolicyIndex } from "./policy_index.ts";
import { attachFailure, routeMatches, serverParents } from "./routes.ts";
import type { Authz, InboundRoute } from "./types.ts";

/** Builds authorizations from ServerAuthorizations and AuthorizationPolicies and links them. */
export function indexAuthorizations(idx: PolicyIndex, state: ClusterState): void {
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

/** Attaches HTTPRoutes and GRPCRoutes to Servers (see `routes.ts` for the status rule). */
export function indexRoutes(idx: PolicyIndex, state: ClusterState): void {
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
