/**
 * HTTPRoute (both API groups) and GRPCRoute rules: how routes attach to Servers and
 * EgressNetworks, match syntax and timeouts.
 *
 * @module
 */
import type { KubeObject } from "../../kube/types.ts";
import type { ValidationContext } from "../context.ts";
import { isGatewayDuration } from "../parse.ts";
import {
  groupOf,
  isServerParent,
  isServiceParent,
  listOf,
  parentGroup,
  parentRefs,
  type Ref,
  specOf,
} from "../refs.ts";
import type { Hit, Rule } from "../types.ts";
import { DOCS } from "./_docs.ts";

function routes(ctx: ValidationContext): KubeObject[] {
  return [...ctx.httpRoutes(), ...ctx.items("grpcroutes")];
}

function docsFor(route: KubeObject): string {
  return route.kind === "GRPCRoute" ? DOCS.grpcRoute : DOCS.httpRoute;
}

/** The model's reasons (by code) for ignoring routes, as findings on the field concerned. */
function routeProblems(ctx: ValidationContext, codes: readonly string[]): Hit[] {
  return ctx.model.routes.flatMap((r) => {
    const all = [...r.ignored, ...r.parents.flatMap((p) => p.problem ? [p.problem] : [])];
    const seen = new Set<string>();
    return all.filter((p) => {
      const key = `${p.code}|${p.field}`;
      if (!codes.includes(p.code) || seen.has(key)) return false;
      seen.add(key);
      return true;
    }).map((p) => ({ obj: r.obj, ...(p.field ? { field: p.field } : {}), message: p.message }));
  });
}

/** The parentRef's group for messages, saying when it is the CRD default. */
function groupText(route: KubeObject, ref: Ref): string {
  return ref.group !== undefined && ref.group !== null
    ? `"${ref.group}"`
    : `"${parentGroup(route, ref)}" (the default when group is omitted)`;
}

const lc = (s: unknown) => (typeof s === "string" ? s.toLowerCase() : "");

/** Route rules. */
export const ROUTE_RULES: Rule[] = [
  {
    id: "route-server-parent-invalid",
    severity: "error",
    kind: "HTTPRoute",
    field: "spec.parentRefs",
    summary:
      "A Server parentRef sets port or sectionName, or names another namespace: the route is ignored",
    remediation:
      "Reference the Server by name only (kind: Server, group: policy.linkerd.io), in the route's own namespace",
    docs: DOCS.httpRoute,
    check: (ctx) => routeProblems(ctx, ["parent-port", "parent-section", "parent-other-namespace"]),
  },
  {
    id: "route-server-parent-group",
    severity: "error",
    kind: "HTTPRoute",
    field: "spec.parentRefs[].group",
    summary: "A parentRef of kind Server without group policy.linkerd.io does not attach",
    remediation: "Add group: policy.linkerd.io to the parentRef",
    docs: DOCS.httpRoute,
    check: (ctx) => routeProblems(ctx, ["parent-group"]),
  },
  {
    id: "route-service-parent-group",
    severity: "error",
    kind: "HTTPRoute",
    field: "spec.parentRefs[].group",
    summary:
      "A parentRef of kind Service must use the core group; otherwise it names no Service and the route is ignored",
    remediation: 'Set group: core (or group: "") on the Service parentRef',
    docs: DOCS.httpRoute,
    check: (ctx) =>
      routes(ctx).flatMap((r) =>
        parentRefs(r).flatMap((p, i) =>
          lc(p.kind) === "service" && !isServiceParent(p, r)
            ? [{
              obj: r,
              field: `spec.parentRefs[${i}].group`,
              message: `${r.kind} "${r.metadata.name}" references Service "${p.name}" with group ${
                groupText(r, p)
              }; a Service is in the core group, so Linkerd finds no such parent and the route does not apply to traffic to the Service`,
            }]
            : []
        )
      ),
  },
  {
    id: "route-parent-missing",
    severity: "error",
    kind: "HTTPRoute",
    field: "spec.parentRefs",
    summary: "Route's parent Server does not exist, so the route is not used",
    remediation: "Create the Server or fix the parentRef name",
    docs: DOCS.httpRoute,
    check: (ctx) =>
      routes(ctx).flatMap((r) =>
        parentRefs(r).flatMap((p, i) => {
          const ns = p.namespace ?? r.metadata.namespace ?? "";
          if (!isServerParent(p, r) || !p.name || ns !== r.metadata.namespace) return [];
          if (ctx.find("servers", ns, p.name)) return [];
          return [{
            obj: r,
            field: `spec.parentRefs[${i}]`,
            message:
              `${r.kind} "${r.metadata.name}" references Server "${p.name}", which does not exist in namespace "${ns}"; the route is not accepted and policies targeting it authorize nothing`,
            unresolved: !ctx.complete(ns),
          }];
        })
      ),
  },
  {
    id: "route-egress-parent-no-port",
    severity: "error",
    kind: "HTTPRoute",
    field: "spec.parentRefs[].port",
    summary: "A route attached to an EgressNetwork must set a port",
    remediation: "Set port on the EgressNetwork parentRef (e.g. 80 or 443)",
    docs: DOCS.egress,
    check: (ctx) =>
      [...routes(ctx)].flatMap((r) =>
        parentRefs(r).flatMap((p, i) =>
          lc(p.kind) === "egressnetwork" && p.port === undefined
            ? [{
              obj: r,
              field: `spec.parentRefs[${i}].port`,
              message:
                `${r.kind} "${r.metadata.name}" attaches to EgressNetwork "${p.name}" without a port; the admission webhook rejects it`,
            }]
            : []
        )
      ),
  },
  {
    id: "route-match-invalid",
    severity: "error",
    kind: "HTTPRoute",
    field: "spec.rules[].matches[].path",
    summary: "Path match value is not an absolute path",
    remediation: "Start Exact and PathPrefix path values with /",
    docs: DOCS.httpRoute,
    check: (ctx) => routeProblems(ctx, ["relative-path"]),
  },
  {
    id: "route-filter-unsupported",
    severity: "error",
    kind: "HTTPRoute",
    field: "spec.rules[].filters[].type",
    summary:
      "A route on a Server uses a filter the inbound policy index does not support (URLRewrite, RequestMirror, ExtensionRef): the route is not used",
    remediation:
      "Remove the filter from routes attached to Servers (inbound policy supports header modifiers and redirects only)",
    docs: DOCS.httpRoute,
    check: (ctx) =>
      routeProblems(ctx, ["unsupported-filter"]).filter((h) =>
        ctx.model.routeOf(h.obj)!.parents.some((p) => p.server !== undefined)
      ),
  },
  {
    id: "route-unreachable",
    severity: "warning",
    kind: "HTTPRoute",
    field: "spec.rules[].matches[]",
    summary:
      "A route match is identical to one of an older route on the same Server: the older always wins, so this one is never selected",
    remediation:
      "Delete the duplicate match, or make it more specific (method, headers) than the older route's",
    docs: DOCS.httpRoute,
    check: (ctx) =>
      ctx.model.servers.flatMap((s) =>
        ctx.model.routesOf(s).flatMap((r) =>
          r.unreachable.map((u) => ({
            obj: r.obj,
            field: `spec.rules[${u.rule}].matches[${u.match}]`,
            message:
              `${u.message}; policies targeting "${r.name}" never apply to those requests (precedence: oldest route first, then name)`,
          }))
        )
      ),
  },
  {
    id: "route-timeout-invalid",
    severity: "error",
    kind: "HTTPRoute",
    field: "spec.rules[].timeouts",
    summary: "Route timeouts are not Gateway API durations",
    remediation: "Write timeouts like 10s, 500ms or 1m30s",
    docs: DOCS.httpRoute,
    check: (ctx) =>
      ctx.httpRoutes().flatMap((r) =>
        listOf(specOf(r)["rules"]).flatMap((rule, i) => {
          const t = rule["timeouts"] as Record<string, unknown> | undefined;
          if (!t || typeof t !== "object") return [];
          return ["request", "backendRequest"].flatMap((k) =>
            t[k] !== undefined && !(typeof t[k] === "string" && isGatewayDuration(t[k] as string))
              ? [{
                obj: r,
                field: `spec.rules[${i}].timeouts.${k}`,
                message: `HTTPRoute "${r.metadata.name}" has timeouts.${k} ${
                  JSON.stringify(t[k])
                }, which is not a duration like 10s`,
              }]
              : []
          );
        })
      ),
  },
  {
    id: "route-timeouts-ignored",
    severity: "warning",
    kind: "HTTPRoute",
    field: "spec.rules[].timeouts",
    summary:
      "timeouts exist only in policy.linkerd.io/v1beta3 HTTPRoutes and are dropped in older versions",
    remediation: "Use apiVersion policy.linkerd.io/v1beta3 (or gateway.networking.k8s.io/v1)",
    docs: DOCS.httpRoute,
    check: (ctx) =>
      ctx.items("httproutes").flatMap((r) =>
        !r.apiVersion.endsWith("/v1beta3") &&
          listOf(specOf(r)["rules"]).some((rule) => rule["timeouts"] !== undefined)
          ? [{
            obj: r,
            message:
              `HTTPRoute "${r.metadata.name}" is ${r.apiVersion}, which has no timeouts field; the API server drops them`,
          }]
          : []
      ),
  },
  {
    id: "route-protocol-mismatch",
    severity: "warning",
    kind: "HTTPRoute",
    field: "spec.parentRefs",
    summary: "Route kind does not fit the Server's protocol, so the route is not used",
    remediation:
      "Attach GRPCRoutes to Servers with proxyProtocol gRPC and HTTPRoutes to HTTP or detected Servers; do not mix both on one Server",
    docs: DOCS.serverPolicy,
    check: (ctx) =>
      ctx.items("servers").flatMap((s) => {
        const proto = (specOf(s)["proxyProtocol"] as string | undefined) ?? "unknown";
        const named = ctx.routesNaming(s);
        const http = named.http.map((r) => r.obj);
        const grpc = named.grpc.map((r) => r.obj);
        const out: Hit[] = [];
        const n = `Server "${s.metadata.name}"`;
        if (proto === "opaque" || proto === "TLS") {
          for (const r of [...http, ...grpc]) {
            out.push({
              obj: r,
              message:
                `${r.kind} "${r.metadata.name}" is attached to ${n}, whose proxyProtocol is ${proto}: no HTTP is seen there, so the route and policies targeting it never apply`,
            });
          }
          return out;
        }
        for (const r of grpc) {
          if (proto !== "gRPC") {
            out.push({
              obj: r,
              message:
                `GRPCRoute "${r.metadata.name}" is attached to ${n}, whose proxyProtocol is ${proto}; Linkerd uses GRPCRoutes only on gRPC Servers`,
            });
          }
        }
        if (grpc.length) {
          for (const r of http) {
            out.push({
              obj: r,
              message:
                `HTTPRoute "${r.metadata.name}" is attached to ${n}, which also has GRPCRoute "${
                  grpc[0]!.metadata.name
                }"; GRPCRoute takes precedence and the HTTPRoute is not accepted`,
            });
          }
        }
        return out;
      }),
  },
];

/** The API group of a route, for messages. */
export function routeGroup(route: KubeObject): string {
  return groupOf(route);
}

export { docsFor };
