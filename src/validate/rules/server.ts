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
import { specOf } from "../refs.ts";
import type { Hit, Rule } from "../types.ts";
import { DOCS } from "./_docs.ts";

/** Container ports the injected proxy declares. */
const PROXY_PORT_NAMES = new Set(["linkerd-proxy", "linkerd-admin"]);

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
    summary:
      "Server port is missing, out of range, or not a valid port name (a quoted number is a name)",
    remediation: "Set spec.port to a number 1-65535 or to a container port name (e.g. http)",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      each(ctx, (s, spec) => {
        const p = spec["port"];
        if (isPortNumber(p) || (typeof p === "string" && isPortName(p))) return [];
        const n = `Server "${s.metadata.name}"`;
        let message: string;
        if (p === undefined || p === null) message = `${n} has no port; the API server rejects it`;
        else if (typeof p === "string" && /^\d+$/.test(p)) {
          // int-or-string: a quoted number is a port NAME, and no container port can be named so
          message =
            `${n} has port "${p}", a string: Linkerd reads a quoted number as a port name, not the port number ${
              Number(p)
            }, and no container port can carry that name, so the Server governs no traffic (write port: ${
              Number(p)
            } without quotes)`;
        } else if (typeof p === "string") {
          message =
            `${n} has port "${p}", which is not a valid port name (IANA service name: at most 15 lower-case letters, digits and "-"), so no container port carries it and the Server governs no traffic`;
        } else {
          message = `${n} has port ${
            JSON.stringify(p)
          }, which is not a port between 1 and 65535; the policy controller cannot use the Server`;
        }
        return [{ obj: s, message }];
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
        // The proxy declares these itself once the pods are injected (`linkerd inject` later).
        if (PROXY_PORT_NAMES.has(port) && c.selected.every((pod) => !ctx.view(pod).meshed)) {
          return [];
        }
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
        if (ctx.serverAuthz(s).length > 0) return [];
        const routes = ctx.routesOf(s);
        if ([...routes.http, ...routes.grpc].some((r) => r.authorizations.length)) return [];
        const ns = s.metadata.namespace ?? "";
        // Policies that target the Server (or its routes) but that the controller ignores.
        const routeNames = new Set([...routes.http, ...routes.grpc].map((r) => r.name));
        const ignored = ctx.model.policies.filter((p) =>
          p.namespace === ns && p.ignored.length && p.target &&
          ((p.target.kind === "Server" && p.target.name === s.metadata.name) ||
            p.target.kind === "Namespace" || routeNames.has(p.target.name))
        );
        return [{
          obj: s,
          message: `Server "${s.metadata.name}" has no authorization${
            ignored.length
              ? ` in force (${
                ignored.map((p) => `${p.kind} "${p.name}" is ignored: ${p.ignored[0]!.message}`)
                  .join("; ")
              })`
              : ""
          } and its accessPolicy is deny, ` +
            `so it refuses every connection and request except from localhost` +
            (routes.http.length ? "" : " and kubelet httpGet probes"),
          unresolved: !ctx.complete(ns),
        }];
      }),
  },
];

function shadowHits(ctx: ValidationContext, full: boolean): Hit[] {
  return each(ctx, (s) => {
    const c = ctx.claims(s);
    if (c.shadowed.length === 0) return [];
    const winners = [...new Set(c.shadowed.map((x) => x.winner.obj))];
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
    // Before 2.18 the admission webhook refused a Server whose port is written like an
    // existing one's on overlapping pods ("identical server spec already exists").
    const port = JSON.stringify(specOf(s)["port"]);
    const refused = !ctx.model.features.overlappingServers &&
      winners.some((w) => JSON.stringify(specOf(w)["port"]) === port);
    const admission = refused
      ? `. This control plane (${ctx.model.version.text}) predates overlapping Servers (2.18): its admission webhook refuses the newer of two Servers that write the same port for overlapping pods, so one of them cannot even be applied`
      : "";
    return [{
      obj: s,
      message: (full
        ? `Server "${s.metadata.name}" never applies: ${names} already claims port ${ports} on all ${c.selected.length} pods it selects; ${why}. Authorizations and routes attached only to "${s.metadata.name}" have no effect`
        : `Server "${s.metadata.name}" overlaps ${names} on port ${ports} (${c.shadowed.length} pod ports); ${why}`) +
        admission,
    }];
  });
}
