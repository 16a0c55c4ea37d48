/**
 * Server rules: the fields the admission webhook and CRD check, and how Servers
 * select pods and ports, shadow each other and authorize traffic.
 *
 * @module
 */
import { DEFAULT_POLICIES } from "../../config.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { ValidationContext } from "../context.ts";
import { isPortName, isPortNumber } from "../parse.ts";
import { apTargetsRoute, attachedRoutes, serverAuthorizations, specOf } from "../refs.ts";
import type { Hit, Rule } from "../types.ts";
import { DOCS } from "./_docs.ts";

const PROTOCOLS = ["unknown", "HTTP/1", "HTTP/2", "gRPC", "opaque", "TLS"];

function versionOf(obj: KubeObject): string {
  return obj.apiVersion.slice(obj.apiVersion.lastIndexOf("/") + 1);
}

function each(ctx: ValidationContext, fn: (s: KubeObject, spec: Record<string, unknown>) => Hit[]) {
  return ctx.items("servers").flatMap((s) => fn(s, specOf(s)));
}

/** Server rules. */
export const SERVER_RULES: Rule[] = [
  {
    id: "server-port-invalid",
    severity: "error",
    kind: "Server",
    field: "spec.port",
    summary: "Server port is missing, out of range, or not a valid port name",
    remediation: "Set spec.port to a number 1-65535 or to a container port name (e.g. http)",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      each(ctx, (s, spec) => {
        const p = spec["port"];
        if (isPortNumber(p) || (typeof p === "string" && isPortName(p))) return [];
        const what = p === undefined ? "has no port" : `has port ${JSON.stringify(p)}`;
        return [{
          obj: s,
          message: `Server "${s.metadata.name}" ${what}; the API server rejects it`,
        }];
      }),
  },
  {
    id: "server-selector-invalid",
    severity: "error",
    kind: "Server",
    field: "spec.podSelector",
    summary: "Server must set exactly one of podSelector and externalWorkloadSelector",
    remediation:
      "Set spec.podSelector (podSelector: {} selects every pod in the namespace) or spec.externalWorkloadSelector, not both",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      each(ctx, (s, spec) => {
        const pod = spec["podSelector"] !== undefined && spec["podSelector"] !== null;
        const ext = spec["externalWorkloadSelector"] !== undefined &&
          spec["externalWorkloadSelector"] !== null;
        if (pod !== ext) return [];
        return [{
          obj: s,
          message: pod
            ? `Server "${s.metadata.name}" sets both podSelector and externalWorkloadSelector`
            : `Server "${s.metadata.name}" has no podSelector or externalWorkloadSelector, so it selects nothing`,
        }];
      }),
  },
  {
    id: "server-proxy-protocol-invalid",
    severity: "error",
    kind: "Server",
    field: "spec.proxyProtocol",
    summary: "proxyProtocol is not one Linkerd accepts",
    remediation: `Set spec.proxyProtocol to one of: ${PROTOCOLS.join(", ")} (case matters)`,
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      each(ctx, (s, spec) => {
        const p = spec["proxyProtocol"];
        if (p === undefined || (typeof p === "string" && PROTOCOLS.includes(p))) return [];
        return [{
          obj: s,
          message: `Server "${s.metadata.name}" has proxyProtocol ${
            JSON.stringify(p)
          }; the admission webhook rejects it`,
        }];
      }),
  },
  {
    id: "server-access-policy-invalid",
    severity: "error",
    kind: "Server",
    field: "spec.accessPolicy",
    summary: "accessPolicy is not a default-policy name",
    remediation: `Set spec.accessPolicy to one of: ${DEFAULT_POLICIES.join(", ")}`,
    docs: DOCS.serverPolicy,
    check: (ctx) =>
      each(ctx, (s, spec) => {
        const p = spec["accessPolicy"];
        if (p === undefined || (DEFAULT_POLICIES as readonly unknown[]).includes(p)) return [];
        return [{
          obj: s,
          message: `Server "${s.metadata.name}" has accessPolicy ${
            JSON.stringify(p)
          }; the admission webhook rejects it`,
        }];
      }),
  },
  {
    id: "server-access-policy-ignored",
    severity: "warning",
    kind: "Server",
    field: "spec.accessPolicy",
    summary:
      "accessPolicy exists only in policy.linkerd.io/v1beta3 and is dropped in older versions",
    remediation: "Use apiVersion: policy.linkerd.io/v1beta3 for a Server with accessPolicy",
    docs: DOCS.serverPolicy,
    check: (ctx) =>
      each(ctx, (s, spec) =>
        spec["accessPolicy"] !== undefined && versionOf(s) !== "v1beta3"
          ? [{
            obj: s,
            message:
              `Server "${s.metadata.name}" is ${s.apiVersion}, which has no accessPolicy field; ` +
              `the API server drops it and the Server denies traffic it does not authorize`,
          }]
          : []),
  },
  {
    id: "server-api-deprecated",
    severity: "info",
    kind: "Server",
    field: "apiVersion",
    summary: "Server uses a deprecated API version",
    remediation: "Use apiVersion: policy.linkerd.io/v1beta3",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      each(
        ctx,
        (s) =>
          ["v1alpha1", "v1beta1"].includes(versionOf(s))
            ? [{ obj: s, message: `Server "${s.metadata.name}" uses deprecated ${s.apiVersion}` }]
            : [],
      ),
  },
  {
    id: "server-selects-no-pods",
    severity: "warning",
    kind: "Server",
    field: "spec.podSelector",
    summary: "Server's podSelector matches no pod in its namespace",
    remediation: "Fix spec.podSelector to match the labels of the pods it should govern",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      each(ctx, (s, spec) => {
        const ns = s.metadata.namespace ?? "";
        if (!spec["podSelector"] || ctx.pods(ns).length === 0) return [];
        if (ctx.claims(s).selected.length > 0) return [];
        return [{
          obj: s,
          message: `Server "${s.metadata.name}" selects none of the ${
            ctx.pods(ns).length
          } pods/workloads in namespace "${ns}"; it has no effect`,
        }];
      }),
  },
  {
    id: "server-port-not-found",
    severity: "error",
    kind: "Server",
    field: "spec.port",
    summary: "Server names a port that no selected pod declares",
    remediation:
      "Use a containerPort name the selected pods declare (TCP), or a port number (numbers need not be declared)",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      each(ctx, (s, spec) => {
        const port = spec["port"];
        const c = ctx.claims(s);
        if (typeof port !== "string" || c.selected.length === 0 || c.resolved.length > 0) return [];
        return [{
          obj: s,
          message:
            `Server "${s.metadata.name}" names port "${port}", but none of the ${c.selected.length} pods it selects has a TCP containerPort named "${port}"; it governs no traffic`,
        }];
      }),
  },
  {
    id: "server-shadowed",
    severity: "error",
    kind: "Server",
    field: "spec.podSelector",
    summary: "An older Server already claims every pod port this Server selects",
    remediation:
      "Narrow one Server's podSelector or port so that each pod port has one Server, or merge them",
    docs: DOCS.authzPolicy,
    check: (ctx) => shadowHits(ctx, true),
  },
  {
    id: "server-overlap",
    severity: "warning",
    kind: "Server",
    field: "spec.podSelector",
    summary: "Servers overlap on some pod ports; only the oldest one applies there",
    remediation:
      "Narrow one Server's podSelector or port so that each pod port has one Server, or merge them",
    docs: DOCS.authzPolicy,
    check: (ctx) => shadowHits(ctx, false),
  },
  {
    id: "server-no-authorization",
    severity: "error",
    kind: "Server",
    field: "spec.accessPolicy",
    summary: "Server with accessPolicy deny and no authorization denies all traffic",
    remediation:
      "Add an AuthorizationPolicy targeting the Server (or its routes), or set accessPolicy: audit while you write one",
    docs: DOCS.serverPolicy,
    check: (ctx) =>
      each(ctx, (s) => {
        if (serverAuthorizations(ctx, s).length > 0) return [];
        const routes = attachedRoutes(ctx, s);
        const ns = s.metadata.namespace;
        const routeAuthz = [...routes.http, ...routes.grpc].some((r) =>
          ctx.items("authorizationpolicies", ns).some((ap) => apTargetsRoute(ap, r))
        );
        if (routeAuthz) return [];
        return [{
          obj: s,
          message:
            `Server "${s.metadata.name}" has no authorization and its accessPolicy is deny, ` +
            `so it refuses every connection and request except from localhost` +
            (routes.http.length ? "" : " and kubelet httpGet probes"),
          unresolved: !ctx.complete(ns ?? ""),
        }];
      }),
  },
];

function shadowHits(ctx: ValidationContext, full: boolean): Hit[] {
  return each(ctx, (s) => {
    const c = ctx.claims(s);
    if (c.shadowed.length === 0) return [];
    const winners = [...new Set(c.shadowed.map((x) => x.winner))];
    const known = [s, ...winners].every((x) => x.metadata.creationTimestamp);
    const isFull = c.claimed.length === 0 && known;
    if (isFull !== full) return [];
    const names = winners.map((w) => `"${w.metadata.name}"`).join(", ");
    const ports = [...new Set(c.shadowed.map((x) => x.port))].sort((a, b) => a - b).join(", ");
    const why = known
      ? "the policy controller gives each pod port to the oldest Server (creationTimestamp, then name)"
      : "the policy controller gives each pod port to the oldest Server (creationTimestamp, then name); " +
        "creation times are not known here, so which one wins depends on apply order (by name: " +
        `"${[s, ...winners].map((x) => x.metadata.name).sort()[0]}")`;
    return [{
      obj: s,
      message: full
        ? `Server "${s.metadata.name}" never applies: ${names} already claims port ${ports} on all ${c.selected.length} pods it selects; ${why}. Authorizations and routes attached only to "${s.metadata.name}" have no effect`
        : `Server "${s.metadata.name}" overlaps ${names} on port ${ports} (${c.shadowed.length} pod ports); ${why}`,
    }];
  });
}
