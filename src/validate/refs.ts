/**
 * How Linkerd links policy objects to each other: parentRefs of routes to Servers,
 * AuthorizationPolicy targets, and the authorizations that reach a Server or route.
 * A simplified, pure reading of the policy controller's index.
 *
 * @module
 */
import { type LabelSelector, matchesSelector } from "../kube/selectors.ts";
import type { KubeObject } from "../kube/types.ts";
import type { ValidationContext } from "./context.ts";

/** Linkerd's policy API group. */
export const POLICY_GROUP = "policy.linkerd.io";
/** The Gateway API group. */
export const GATEWAY_GROUP = "gateway.networking.k8s.io";

/** A reference as written in a spec (`targetRef`, `parentRefs[]`, auth refs). */
export interface Ref {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  port?: number;
  sectionName?: string;
}

/** The spec of an object as a plain record. */
export function specOf(obj: KubeObject): Record<string, unknown> {
  const s = obj.spec;
  return s && typeof s === "object" ? s as Record<string, unknown> : {};
}

/** `obj.spec[field]` as an array of records (empty when absent or malformed). */
export function listOf(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((x) => x && typeof x === "object") : [];
}

/** The API group of an object (`""` for core). */
export function groupOf(obj: KubeObject): string {
  const i = obj.apiVersion.lastIndexOf("/");
  return i < 0 ? "" : obj.apiVersion.slice(0, i);
}

const eq = (a: string | undefined, b: string) => (a ?? "").toLowerCase() === b.toLowerCase();

/** True when a parentRef names a Linkerd Server (kind and group, case-insensitively). */
export function isServerParent(ref: Ref): boolean {
  return eq(ref.kind, "Server") && eq(ref.group, POLICY_GROUP);
}

/** Parent refs of a route. */
export function parentRefs(route: KubeObject): Ref[] {
  return listOf(specOf(route)["parentRefs"]) as Ref[];
}

/**
 * True when the route attaches to `server` for inbound policy: a same-namespace Server
 * parent without port or sectionName, not rejected in the controller's status.
 */
export function attachesTo(route: KubeObject, server: KubeObject): boolean {
  const ns = route.metadata.namespace;
  const ok = parentRefs(route).some((r) =>
    isServerParent(r) && r.name === server.metadata.name &&
    (r.namespace ?? ns) === server.metadata.namespace && r.port === undefined &&
    r.sectionName === undefined
  );
  return ok && !rejectedByLinkerd(route, server.metadata.name);
}

function rejectedByLinkerd(route: KubeObject, server: string): boolean {
  const parents = listOf((route.status as Record<string, unknown> | undefined)?.["parents"]);
  return parents.some((p) => {
    const ref = (p["parentRef"] ?? {}) as Ref;
    if (p["controllerName"] !== "linkerd.io/policy-controller" || ref.name !== server) {
      return false;
    }
    return listOf(p["conditions"]).some((c) => c["type"] === "Accepted" && c["status"] === "False");
  });
}

/** Routes attached to a Server: HTTPRoutes (both groups) and GRPCRoutes. */
export function attachedRoutes(
  ctx: ValidationContext,
  server: KubeObject,
): { http: KubeObject[]; grpc: KubeObject[] } {
  const ns = server.metadata.namespace;
  return {
    http: ctx.httpRoutes(ns).filter((r) => attachesTo(r, server)),
    grpc: ctx.items("grpcroutes", ns).filter((r) => attachesTo(r, server)),
  };
}

/** An AuthorizationPolicy's target. */
export function targetOf(ap: KubeObject): Ref {
  const t = specOf(ap)["targetRef"];
  return t && typeof t === "object" ? t as Ref : {};
}

/** The AP's authentication refs. */
export function authnRefs(ap: KubeObject): Ref[] {
  return listOf(specOf(ap)["requiredAuthenticationRefs"]) as Ref[];
}

/** True when the AP requires no client identity (no MeshTLSAuthentication or ServiceAccount). */
export function apAllowsUnauthenticated(ap: KubeObject): boolean {
  return !authnRefs(ap).some((r) =>
    eq(r.kind, "MeshTLSAuthentication") || eq(r.kind, "ServiceAccount")
  );
}

/** True when the AP targets this Server, or the Server's namespace. */
export function apTargetsServer(ap: KubeObject, server: KubeObject): boolean {
  const t = targetOf(ap);
  if (ap.metadata.namespace !== server.metadata.namespace) return false;
  if (eq(t.kind, "Namespace") && (t.group ?? "") === "") {
    return t.name === server.metadata.namespace;
  }
  return eq(t.kind, "Server") && eq(t.group, POLICY_GROUP) && t.name === server.metadata.name;
}

/** True when the AP targets this route (kind, group and name). */
export function apTargetsRoute(ap: KubeObject, route: KubeObject): boolean {
  const t = targetOf(ap);
  return ap.metadata.namespace === route.metadata.namespace && eq(t.kind, route.kind) &&
    eq(t.group, groupOf(route)) && t.name === route.metadata.name;
}

/** One authorization that applies to every route of a Server. */
export interface ServerAuthz {
  source: KubeObject | string;
  unauthenticated: boolean;
}

/** Server-level authorizations: ServerAuthorizations, APs on the Server or namespace, accessPolicy. */
export function serverAuthorizations(ctx: ValidationContext, server: KubeObject): ServerAuthz[] {
  const ns = server.metadata.namespace;
  const out: ServerAuthz[] = [];
  for (const saz of ctx.items("serverauthorizations", ns)) {
    if (sazSelectsServer(saz, server)) {
      const client = (specOf(saz)["client"] ?? {}) as Record<string, unknown>;
      out.push({ source: saz, unauthenticated: client["unauthenticated"] === true });
    }
  }
  for (const ap of ctx.items("authorizationpolicies", ns)) {
    if (apTargetsServer(ap, server)) {
      out.push({ source: ap, unauthenticated: apAllowsUnauthenticated(ap) });
    }
  }
  const access = specOf(server)["accessPolicy"];
  if (typeof access === "string" && access !== "deny") {
    out.push({
      source: `accessPolicy: ${access}`,
      unauthenticated: access === "all-unauthenticated" || access === "cluster-unauthenticated" ||
        access === "audit",
    });
  }
  return out;
}

/** True when a ServerAuthorization's `server` names or selects the Server. */
export function sazSelectsServer(saz: KubeObject, server: KubeObject): boolean {
  const s = (specOf(saz)["server"] ?? {}) as { name?: string; selector?: LabelSelector };
  if (saz.metadata.namespace !== server.metadata.namespace) return false;
  if (typeof s.name === "string") return s.name === server.metadata.name;
  if (s.selector && typeof s.selector === "object") {
    return matchesSelector(s.selector, server.metadata.labels);
  }
  return false;
}
