/**
 * Inbound route attachment: which HTTPRoutes (both API groups) and GRPCRoutes a
 * Server uses for authorization.
 *
 * A route attaches through a `parentRef` of kind `Server` (group `policy.linkerd.io`)
 * in its own namespace, with no `port` or `sectionName`. On a cluster the policy
 * controller must also have accepted it (`status.parents[]` entry of
 * `linkerd.io/policy-controller` with `Accepted=True`). Manifests carry no status, and
 * the controller accepts a valid route once it is applied, so a parent with no status
 * entry is treated as accepted; an explicit `Accepted=False` is respected.
 *
 * @module
 */
import type { KubeObject } from "../kube/types.ts";

/** The controller that writes inbound route status. */
export const POLICY_CONTROLLER = "linkerd.io/policy-controller";

/** Why a route does not attach to a Server it names (`undefined` = attached). */
export type AttachFailure = string | undefined;

interface ParentRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  port?: number;
  sectionName?: string;
}

function isServerRef(ref: ParentRef): boolean {
  return (ref.kind ?? "").toLowerCase() === "server" &&
    (ref.group ?? "").toLowerCase() === "policy.linkerd.io";
}

/** The Server names a route's parentRefs point at (same namespace only). */
export function serverParents(route: KubeObject): string[] {
  const refs = ((route.spec ?? {})["parentRefs"] ?? []) as ParentRef[];
  return refs.filter((r) =>
    isServerRef(r) && r.name && (!r.namespace || r.namespace === route.metadata.namespace)
  ).map((r) => r.name!);
}

/**
 * Whether the route attaches to Server `server`: parentRef rules, then status.
 * Returns the reason it does not, or `undefined` when it does.
 */
export function attachFailure(route: KubeObject, server: string): AttachFailure {
  const refs = ((route.spec ?? {})["parentRefs"] ?? []) as ParentRef[];
  const serverRefs = refs.filter(isServerRef);
  if (serverRefs.some((r) => r.port !== undefined || r.sectionName !== undefined)) {
    return `${route.kind} "${route.metadata.name}" references a Server parent by port or section name: the policy controller ignores the route`;
  }
  const ref = serverRefs.find((r) => r.name === server);
  if (!ref) return `${route.kind} "${route.metadata.name}" does not reference Server "${server}"`;
  if (ref.namespace && ref.namespace !== route.metadata.namespace) {
    return `${route.kind} "${route.metadata.name}" references Server "${server}" in another namespace`;
  }
  const parents = (((route.status ?? {}) as Record<string, unknown>)["parents"] ?? []) as Array<{
    controllerName?: string;
    parentRef?: ParentRef;
    conditions?: Array<{ type?: string; status?: string; reason?: string }>;
  }>;
  const entry = parents.find((p) =>
    p.controllerName === POLICY_CONTROLLER && p.parentRef?.name === server &&
    (p.parentRef.kind ?? "").toLowerCase() === "server"
  );
  const accepted = entry?.conditions?.find((c) => c.type === "Accepted");
  if (accepted && accepted.status !== "True") {
    return `${route.kind} "${route.metadata.name}" is not accepted by Server "${server}" (${
      accepted.reason ?? "Accepted=False"
    })`;
  }
  return undefined;
}

/** One short line per rule match, for people (`GET /authors.json`, `PathPrefix /authors/`). */
export function routeMatches(route: KubeObject): string[] {
  const rules = ((route.spec ?? {})["rules"] ?? []) as Array<{ matches?: unknown[] }>;
  const out: string[] = [];
  for (const rule of rules) {
    const matches = (rule.matches ?? []) as Array<Record<string, unknown>>;
    if (matches.length === 0) out.push("any request");
    for (const m of matches) {
      const parts: string[] = [];
      if (typeof m["method"] === "string") parts.push(m["method"]);
      const path = m["path"] as { type?: string; value?: string } | undefined;
      if (path) parts.push(`${path.type ?? "PathPrefix"} ${path.value ?? "/"}`);
      const grpc = m["method"] as { service?: string; method?: string } | undefined;
      if (grpc && typeof grpc === "object") {
        parts.push(`${grpc.service ?? "*"}/${grpc.method ?? "*"}`);
      }
      if (Array.isArray(m["headers"]) && m["headers"].length) {
        parts.push(`${m["headers"].length} header match(es)`);
      }
      out.push(parts.length ? parts.join(" ") : "any request");
    }
  }
  return out;
}
