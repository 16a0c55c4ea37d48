/**
 * Reading references as written in a spec (`targetRef`, `parentRefs[]`, auth refs),
 * for the validator's shape checks. How the policy controller resolves them (which
 * route attaches to which Server, which authorizations apply) is the policy model's
 * (`src/policy/model`).
 *
 * @module
 */
import type { KubeObject } from "../kube/types.ts";
import { GATEWAY_GROUP, groupOf, POLICY_GROUP, type RefSpec } from "../policy/model/mod.ts";

export { GATEWAY_GROUP, groupOf, POLICY_GROUP };

/** A reference as written in a spec (`targetRef`, `parentRefs[]`, auth refs): the model's `RefSpec`. */
export type Ref = RefSpec;

/** The spec of an object as a plain record. */
export function specOf(obj: KubeObject): Record<string, unknown> {
  const s = obj.spec;
  return s && typeof s === "object" ? s as Record<string, unknown> : {};
}

/** `obj.spec[field]` as an array of records (empty when absent or malformed). */
export function listOf(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((x) => x && typeof x === "object") : [];
}

const eq = (a: string | undefined, b: string) => (a ?? "").toLowerCase() === b.toLowerCase();

/**
 * The group of a parentRef once the API server has applied the CRD default: an
 * omitted group is `policy.linkerd.io` in a `policy.linkerd.io` HTTPRoute and
 * `gateway.networking.k8s.io` in a Gateway API route.
 */
export function parentGroup(route: KubeObject, ref: Ref): string {
  if (ref.group !== undefined && ref.group !== null) return ref.group;
  return groupOf(route) === POLICY_GROUP ? POLICY_GROUP : GATEWAY_GROUP;
}

/** True when a parentRef names a Linkerd Server (kind and defaulted group, case-insensitively). */
export function isServerParent(ref: Ref, route: KubeObject): boolean {
  return eq(ref.kind, "Server") && eq(parentGroup(route, ref), POLICY_GROUP);
}

/** True when a parentRef names a core Service (group `""` or `core`, as Linkerd reads it). */
export function isServiceParent(ref: Ref, route: KubeObject): boolean {
  const group = parentGroup(route, ref).toLowerCase();
  return eq(ref.kind, "Service") && (group === "" || group === "core");
}

/** Parent refs of a route. */
export function parentRefs(route: KubeObject): Ref[] {
  return listOf(specOf(route)["parentRefs"]) as Ref[];
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
