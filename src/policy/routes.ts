/**
 * Route text for people. Attachment (parent refs, status, filters, precedence) lives
 * in `model/routes.ts`.
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
