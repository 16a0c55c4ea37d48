/**
 * HTTPRoutes (both API groups) and GRPCRoutes as the inbound index reads them
 * (`inbound/routes.rs`, `inbound/index/http.rs`, `grpc.rs`): Server parent refs (a
 * Server ref in another namespace, by port or by section name makes the whole route
 * invalid), filters the inbound index does not support (URLRewrite, RequestMirror,
 * ExtensionRef: the route is not used), relative path matches, the controller's status,
 * and precedence (oldest first, then name; an identical match in a newer route is never
 * selected).
 *
 * @module
 */
import type { KubeObject } from "../../kube/types.ts";
import { POLICY_CONTROLLER, routeMatches } from "../routes.ts";
import { canonicalKind, GATEWAY_GROUP, POLICY_GROUP, targetsKind } from "./policies.ts";
import type { Problem, RefSpec, RouteMatch, RouteModel, RouteParent, RouteRule } from "./types.ts";

type RawParent = RefSpec;

const UNSUPPORTED_FILTERS = ["URLRewrite", "RequestMirror", "ExtensionRef"];

/** The API group of an object (`""` for core). */
export function groupOf(obj: KubeObject): string {
  return obj.apiVersion.includes("/")
    ? obj.apiVersion.slice(0, obj.apiVersion.lastIndexOf("/"))
    : "";
}

function parseMatches(kind: string, raw: unknown): RouteMatch[] {
  const list = Array.isArray(raw) ? raw as Array<Record<string, unknown>> : [];
  if (list.length === 0) {
    return kind === "GRPCRoute" ? [{}] : [{ path: { type: "PathPrefix", value: "/" } }];
  }
  return list.map((m) => {
    const out: RouteMatch = {};
    const kv = (v: unknown) =>
      (Array.isArray(v) ? v as Array<Record<string, string>> : []).map((h) => ({
        type: h["type"] ?? "Exact",
        name: h["name"] ?? "",
        value: h["value"] ?? "",
      }));
    if (kind === "GRPCRoute") {
      const method = m["method"] as
        | { type?: string; service?: string; method?: string }
        | undefined;
      if (method) {
        out.grpc = {
          type: method.type ?? "Exact",
          ...(method.service ? { service: method.service } : {}),
          ...(method.method ? { method: method.method } : {}),
        };
      }
    } else {
      const path = m["path"] as { type?: string; value?: string } | undefined;
      out.path = { type: path?.type ?? "PathPrefix", value: path?.value ?? "/" };
      if (typeof m["method"] === "string") out.method = m["method"];
      if (Array.isArray(m["queryParams"]) && m["queryParams"].length) {
        out.queryParams = kv(m["queryParams"]);
      }
    }
    if (Array.isArray(m["headers"]) && m["headers"].length) out.headers = kv(m["headers"]);
    return out;
  });
}

/** Parses one route; `order` is set by the caller. */
export function parseRoute(route: KubeObject): RouteModel {
  const ns = route.metadata.namespace ?? "";
  const name = route.metadata.name;
  const kind = route.kind === "GRPCRoute" ? "GRPCRoute" : "HTTPRoute";
  const group = groupOf(route);
  const spec = (route.spec ?? {}) as {
    parentRefs?: RawParent[];
    hostnames?: string[];
    rules?: Array<{ matches?: unknown; filters?: Array<{ type?: string }> }>;
  };
  const ignored: Problem[] = [];
  const parents: RouteParent[] = [];
  // CRD defaulting: an omitted parentRef group is the route's own group, an omitted kind Gateway
  const defaultGroup = group === POLICY_GROUP ? POLICY_GROUP : GATEWAY_GROUP;
  for (const [i, raw] of (Array.isArray(spec.parentRefs) ? spec.parentRefs : []).entries()) {
    const field = `spec.parentRefs[${i}]`;
    const ref: RawParent = {
      ...raw,
      group: raw?.group ?? defaultGroup,
      kind: raw?.kind ?? "Gateway",
    };
    if (!targetsKind(ref, POLICY_GROUP, "Server")) {
      if ((ref.kind ?? "").toLowerCase() === "server") {
        // not a Server to the controller: filtered out (not an error), so the route does
        // not attach through this parent; other parents still count (inbound/routes.rs)
        const problem = {
          code: "parent-group",
          field: `${field}.group`,
          message: `${kind} "${name}" parentRef "${
            canonicalKind(ref)
          }" is not a Linkerd Server (group must be ${POLICY_GROUP}): the route does not attach to Server "${ref.name}"`,
        };
        parents.push({
          field,
          ...(ref.name ? { server: ref.name } : {}),
          accepted: false,
          problem,
        });
      }
      continue;
    }
    if (!ref.name) continue;
    let problem: Problem | undefined;
    if (ref.namespace && ref.namespace !== ns) {
      problem = {
        code: "parent-other-namespace",
        field: `${field}.namespace`,
        message:
          `${kind} "${name}" references Server "${ref.name}" in another namespace ("${ref.namespace}"): the policy controller ignores the route`,
      };
    } else if (ref.port !== undefined) {
      problem = {
        code: "parent-port",
        field: `${field}.port`,
        message:
          `${kind} "${name}" references a Server parent by port: the policy controller ignores the route`,
      };
    } else if (ref.sectionName !== undefined) {
      problem = {
        code: "parent-section",
        field: `${field}.sectionName`,
        message:
          `${kind} "${name}" references a Server parent by section name: the policy controller ignores the route`,
      };
    }
    if (problem) ignored.push(problem);
    parents.push({ field, server: ref.name, accepted: !problem, ...(problem ? { problem } : {}) });
  }
  const rules: RouteRule[] = [];
  for (const [r, rule] of (Array.isArray(spec.rules) ? spec.rules : [{}]).entries()) {
    const filters = (Array.isArray(rule.filters) ? rule.filters : []).map((f) => f?.type ?? "");
    for (const [f, type] of filters.entries()) {
      if (UNSUPPORTED_FILTERS.includes(type)) {
        ignored.push({
          code: "unsupported-filter",
          field: `spec.rules[${r}].filters[${f}]`,
          message:
            `${kind} "${name}" uses a ${type} filter, which the inbound policy index does not support: the route is not used for inbound policy`,
        });
      }
    }
    const matches = parseMatches(kind, rule.matches);
    for (const [m, match] of matches.entries()) {
      if (
        match.path && !match.path.value.startsWith("/") && match.path.type !== "RegularExpression"
      ) {
        ignored.push({
          code: "relative-path",
          field: `spec.rules[${r}].matches[${m}].path.value`,
          message:
            `${kind} "${name}" has a relative path match "${match.path.value}": paths must be absolute, and the policy controller ignores the route`,
        });
      }
    }
    rules.push({ matches, filters });
  }
  // status written by the controller (manifests carry none: a valid parent counts as accepted)
  const statusParents =
    (((route.status ?? {}) as Record<string, unknown>)["parents"] ?? []) as Array<{
      controllerName?: string;
      parentRef?: RawParent;
      conditions?: Array<{ type?: string; status?: string; reason?: string }>;
    }>;
  for (const p of parents) {
    if (!p.accepted || !p.server) continue;
    const entry = (Array.isArray(statusParents) ? statusParents : []).find((s) =>
      s.controllerName === POLICY_CONTROLLER && s.parentRef?.name === p.server &&
      (s.parentRef?.kind ?? "").toLowerCase() === "server"
    );
    const accepted = entry?.conditions?.find((c) => c.type === "Accepted");
    if (accepted && accepted.status !== "True") {
      p.accepted = false;
      p.problem = {
        code: "not-accepted",
        field: "status.parents",
        message: `${kind} "${name}" is not accepted by Server "${p.server}" (${
          accepted.reason ?? "Accepted=False"
        })`,
      };
    }
  }
  return {
    obj: route,
    kind,
    group,
    name,
    namespace: ns,
    order: 0,
    hostnames: Array.isArray(spec.hostnames) ? [...spec.hostnames].sort() : [],
    parents,
    ignored,
    rules,
    matches: routeMatches(route),
    authorizations: [],
    unreachable: [],
  };
}

/** True for the groups whose HTTPRoutes the inbound index reads. */
export function isInboundRouteGroup(kind: string, group: string): boolean {
  return kind === "GRPCRoute"
    ? group === GATEWAY_GROUP
    : group === POLICY_GROUP || group === GATEWAY_GROUP;
}

/**
 * Marks matches that an older route (or an earlier rule) with the identical match and
 * hostnames always wins: the proxy keeps list order among equal matches.
 */
export function markUnreachable(routes: readonly RouteModel[]): void {
  const seen = new Map<string, string>();
  for (const route of routes) {
    for (const [r, rule] of route.rules.entries()) {
      for (const [m, match] of rule.matches.entries()) {
        const key = JSON.stringify([route.kind, route.hostnames, normalise(match)]);
        const by = seen.get(key);
        if (by === undefined) {
          seen.set(key, `${route.kind}/${route.name}`);
          continue;
        }
        if (route.unreachable.some((u) => u.rule === r && u.match === m)) continue;
        route.unreachable.push({
          rule: r,
          match: m,
          by,
          message: `${route.kind} "${route.name}" rule ${r + 1} match ${
            m + 1
          } is unreachable: ${by} is older (or earlier) and has the identical match, and the proxy always selects it first`,
        });
      }
    }
  }
}

function normalise(m: RouteMatch): unknown {
  const sortKv = (l?: Array<{ type: string; name: string; value: string }>) =>
    (l ?? []).map((h) => `${h.type}|${h.name.toLowerCase()}|${h.value}`).sort();
  return [
    m.path?.type ?? "",
    m.path?.value ?? "",
    m.method ?? "",
    sortKv(m.headers),
    sortKv(m.queryParams),
    m.grpc?.type ?? "",
    m.grpc?.service ?? "",
    m.grpc?.method ?? "",
  ];
}
