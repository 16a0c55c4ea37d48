/**
 * Rules that follow traffic to pods: kubelet probes against Servers with routes,
 * default-deny ports that Services send traffic to, opaque/protocol mismatches,
 * proxy versions, and best-practice advice.
 *
 * @module
 */
import type { KubeObject } from "../../kube/types.ts";
import { isMeshed, proxyVersionOf, type Service } from "../../mesh/pods.ts";
import type { PodView, ValidationContext } from "../context.ts";
import { inRanges } from "../parse.ts";
import {
  apAllowsUnauthenticated,
  apTargetsRoute,
  attachedRoutes,
  listOf,
  serverAuthorizations,
  specOf,
} from "../refs.ts";
import type { Hit, Rule } from "../types.ts";
import { DOCS } from "./_docs.ts";

/** Whether a route match certainly matches, certainly does not, or may match a request. */
export type MatchResult = "yes" | "no" | "maybe";

/** How an HTTPRoute match treats `GET <path>` (a kubelet probe). */
export function matchProbe(match: Record<string, unknown>, path: string): MatchResult {
  let result: MatchResult = "yes";
  const p = match["path"] as { type?: string; value?: string } | undefined;
  if (p) {
    const type = p.type ?? "PathPrefix";
    const value = p.value ?? "/";
    if (type === "Exact") {
      if (value !== path) return "no";
    } else if (type === "PathPrefix") {
      const base = value.replace(/\/+$/, "");
      if (base === "" || path === base || path.startsWith(base + "/")) {
        // matches
      } else if (!path.startsWith(base)) return "no";
      else result = "maybe";
    } else result = "maybe";
  }
  const method = match["method"];
  if (typeof method === "string" && method.toUpperCase() !== "GET") return "no";
  if (listOf(match["headers"]).length || listOf(match["queryParams"]).length) result = "maybe";
  return result;
}

/** How a route treats `GET <path>`: the best of its rules' matches (no matches = everything). */
export function routeMatchesProbe(route: KubeObject, path: string): MatchResult {
  const spec = specOf(route);
  const rules = listOf(spec["rules"]);
  const results: MatchResult[] = rules.length === 0 ? ["yes"] : rules.flatMap((r) => {
    const matches = listOf(r["matches"]);
    return matches.length === 0 ? ["yes" as const] : matches.map((m) => matchProbe(m, path));
  });
  const hosts = Array.isArray(spec["hostnames"]) && spec["hostnames"].length > 0;
  if (results.includes("yes")) return hosts ? "maybe" : "yes";
  return results.includes("maybe") ? "maybe" : "no";
}

interface ProbeProblem {
  pv: PodView;
  server: KubeObject;
  port: number;
  path: string;
  kind: "not-found" | "unauthorized";
  routes: KubeObject[];
}

function probeProblems(ctx: ValidationContext): ProbeProblem[] {
  const out: ProbeProblem[] = [];
  const seen = new Set<string>();
  for (const pv of ctx.pods()) {
    if (!pv.meshed) continue;
    for (const probe of pv.httpProbes) {
      if (probe.scheme.toUpperCase() !== "HTTP" || inRanges(pv.skipInboundPorts, probe.port)) {
        continue;
      }
      const server = ctx.serverFor(pv, probe.port);
      if (!server) continue;
      const proto = (specOf(server)["proxyProtocol"] as string | undefined) ?? "unknown";
      if (proto === "gRPC" || proto === "opaque" || proto === "TLS") continue;
      const { http, grpc } = attachedRoutes(ctx, server);
      if (http.length === 0 || grpc.length > 0) continue;
      const key =
        `${pv.report.kind}/${pv.report.metadata.namespace}/${pv.report.metadata.name}|${probe.port}|${probe.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const candidates = http.filter((r) => routeMatchesProbe(r, probe.path) !== "no");
      const base = { pv, server, port: probe.port, path: probe.path, routes: candidates };
      if (candidates.length === 0) {
        out.push({ ...base, kind: "not-found", routes: http });
        continue;
      }
      if (serverAuthorizations(ctx, server).some((a) => a.unauthenticated)) continue;
      const aps = ctx.items("authorizationpolicies", server.metadata.namespace);
      const allowed = candidates.some((r) =>
        aps.some((ap) => apTargetsRoute(ap, r) && apAllowsUnauthenticated(ap))
      );
      if (!allowed) out.push({ ...base, kind: "unauthorized" });
    }
  }
  return out;
}

const names = (objs: KubeObject[]) => objs.map((o) => `"${o.metadata.name}"`).join(", ");

function serviceTargets(svc: Service, pv: PodView): number[] {
  const out: number[] = [];
  for (const p of svc.spec?.ports ?? []) {
    if (p.protocol && p.protocol !== "TCP") continue;
    const t = p.targetPort ?? p.port;
    if (typeof t === "number") out.push(t);
    else if (/^\d+$/.test(t)) out.push(Number(t));
    else out.push(...(pv.portsByName.get(t) ?? []));
  }
  return out;
}

const PROXY_PORTS = new Set([4143, 4190, 4191]);

/**
 * Services that take traffic from outside the cluster (LoadBalancer, NodePort) and the
 * default policy of the pod ports they reach, when no Server covers the port.
 * `authenticated`: policies that refuse every client without mesh identity;
 * `cluster`: cluster-unauthenticated, which refuses sources outside clusterNetworks.
 */
function externalHits(ctx: ValidationContext, which: "authenticated" | "cluster"): Hit[] {
  const policies = which === "authenticated"
    ? ["all-authenticated", "cluster-authenticated"]
    : ["cluster-unauthenticated"];
  const out: Hit[] = [];
  for (const ns of ctx.podNamespaces()) {
    for (const svc of ctx.items("services", ns) as Service[]) {
      const type = svc.spec?.type;
      if (type !== "LoadBalancer" && type !== "NodePort") continue;
      // A multicluster gateway's clients are remote meshed proxies with identities.
      if (svc.metadata.annotations?.["mirror.linkerd.io/multicluster-gateway"] === "true") continue;
      const sel = svc.spec?.selector;
      if (!sel || !Object.keys(sel).length) continue;
      const found = new Map<number, string>();
      for (const pv of ctx.pods(ns)) {
        if (!pv.meshed || !policies.includes(pv.defaultPolicy)) continue;
        if (!Object.entries(sel).every(([k, v]) => pv.pod.metadata.labels?.[k] === v)) continue;
        for (const port of serviceTargets(svc, pv)) {
          if (PROXY_PORTS.has(port) || inRanges(pv.skipInboundPorts, port)) continue;
          if (!ctx.serverFor(pv, port)) found.set(port, pv.defaultPolicy);
        }
      }
      if (!found.size) continue;
      const ports = [...found].map(([p, pol]) => `${p} (${pol})`).join(", ");
      out.push({
        obj: svc,
        message: which === "authenticated"
          ? `${type} Service "${svc.metadata.name}" sends traffic from outside the mesh to port ${ports} of meshed pods with no Server; those clients have no mesh identity and are refused`
          : `${type} Service "${svc.metadata.name}" sends traffic to port ${ports} of meshed pods with no Server; node IPs and external clients outside clusterNetworks (${
            ctx.mesh.clusterNetworks.join(", ")
          }) are refused`,
      });
    }
  }
  return out;
}

/** Traffic rules. */
export const TRAFFIC_RULES: Rule[] = [
  {
    id: "probe-route-not-found",
    severity: "error",
    kind: "Workload",
    field: "spec.containers[].readinessProbe.httpGet",
    summary:
      "HTTP routes are attached to the Server on a probe port but none matches the probe: 404",
    remediation:
      "Add an HTTPRoute for the probe path (GET) on this Server and authorize it for unauthenticated clients",
    docs: DOCS.perRoute,
    check: (ctx) =>
      probeProblems(ctx).filter((p) => p.kind === "not-found").map((p) => ({
        obj: p.pv.report,
        message:
          `Kubelet probe GET ${p.path} on port ${p.port} of ${p.pv.report.kind} "${p.pv.report.metadata.name}" matches none of the routes attached to Server "${p.server.metadata.name}" (${
            names(p.routes)
          }); once routes are attached Linkerd stops adding its probe route, so the probe gets 404 and fails`,
      })),
  },
  {
    id: "probe-not-authorized",
    severity: "error",
    kind: "Workload",
    field: "spec.containers[].readinessProbe.httpGet",
    summary: "No authorization admits kubelet probes to a Server with HTTP routes: 403",
    remediation:
      "Authorize the probe route for unauthenticated clients: an AuthorizationPolicy targeting it with only a NetworkAuthentication (or no authentication refs)",
    docs: DOCS.perRoute,
    check: (ctx) =>
      probeProblems(ctx).filter((p) => p.kind === "unauthorized").map((p) => ({
        obj: p.pv.report,
        message:
          `Kubelet probe GET ${p.path} on port ${p.port} of ${p.pv.report.kind} "${p.pv.report.metadata.name}" matches route ${
            names(p.routes)
          } of Server "${p.server.metadata.name}", but no authorization there admits unauthenticated clients (kubelet is never meshed); the probe gets 403 and fails`,
        unresolved: !ctx.complete(p.server.metadata.namespace ?? ""),
      })),
  },
  {
    id: "grpc-probe-denied",
    severity: "error",
    kind: "Workload",
    field: "spec.containers[].livenessProbe.grpc",
    summary:
      "gRPC probes are not covered by Linkerd's probe route and the port's policy refuses them",
    remediation:
      "Authorize unauthenticated clients on the probe port, add the port to config.linkerd.io/skip-inbound-ports, or use an httpGet probe",
    docs: DOCS.serverPolicy,
    check: (ctx) => {
      const out: Hit[] = [];
      const seen = new Set<string>();
      for (const pv of ctx.pods()) {
        if (!pv.meshed) continue;
        for (const port of pv.grpcProbePorts) {
          if (inRanges(pv.skipInboundPorts, port)) continue;
          const key =
            `${pv.report.kind}/${pv.report.metadata.namespace}/${pv.report.metadata.name}|${port}`;
          if (seen.has(key)) continue;
          const server = ctx.serverFor(pv, port);
          let why: string | undefined;
          let unresolved = false;
          if (server) {
            const { http, grpc } = attachedRoutes(ctx, server);
            if (http.length || grpc.length) continue;
            if (serverAuthorizations(ctx, server).some((a) => a.unauthenticated)) continue;
            why =
              `Server "${server.metadata.name}" has no authorization for unauthenticated clients`;
            unresolved = !ctx.complete(server.metadata.namespace ?? "");
          } else if (
            ["deny", "all-authenticated", "cluster-authenticated"].includes(pv.defaultPolicy)
          ) {
            why = `the port's default policy is ${pv.defaultPolicy}`;
          }
          if (!why) continue;
          seen.add(key);
          out.push({
            obj: pv.report,
            message:
              `gRPC probe on port ${port} of ${pv.report.kind} "${pv.report.metadata.name}" comes from the kubelet without mesh identity and ${why}; the probe is refused and the pod never becomes ready`,
            unresolved,
          });
        }
      }
      return out;
    },
  },
  {
    id: "default-deny-port-unserved",
    severity: "error",
    kind: "Workload",
    field: `metadata.annotations[config.linkerd.io/default-inbound-policy]`,
    summary: "A Service sends traffic to a port of a default-deny pod that no Server covers",
    remediation:
      "Create a Server for the port with an AuthorizationPolicy for its clients, or change the default policy",
    docs: DOCS.restricting,
    check: (ctx) => {
      const out: Hit[] = [];
      const seen = new Set<string>();
      for (const ns of ctx.podNamespaces()) {
        const services = ctx.items("services", ns) as Service[];
        for (const pv of ctx.pods(ns)) {
          if (!pv.meshed || pv.defaultPolicy !== "deny") continue;
          for (const svc of services) {
            const sel = svc.spec?.selector;
            if (!sel || !Object.keys(sel).length) continue;
            if (!Object.entries(sel).every(([k, v]) => pv.pod.metadata.labels?.[k] === v)) continue;
            for (const port of serviceTargets(svc, pv)) {
              if (PROXY_PORTS.has(port) || inRanges(pv.skipInboundPorts, port)) continue;
              if (ctx.serverFor(pv, port)) continue;
              const key = `${pv.report.kind}/${ns}/${pv.report.metadata.name}|${port}`;
              if (seen.has(key)) continue;
              seen.add(key);
              out.push({
                obj: pv.report,
                message:
                  `Service "${svc.metadata.name}" sends traffic to port ${port} of ${pv.report.kind} "${pv.report.metadata.name}", whose default inbound policy is deny, and no Server selects that port; every connection except kubelet httpGet probes is refused`,
                unresolved: !ctx.complete(ns),
              });
            }
          }
        }
      }
      return out;
    },
  },
  {
    id: "external-traffic-refused",
    severity: "error",
    kind: "Service",
    field: "spec.type",
    summary:
      "A LoadBalancer or NodePort Service sends outside traffic to a port whose policy requires mesh identity",
    remediation:
      "Create a Server for the port with an AuthorizationPolicy that admits unauthenticated clients (optionally limited by a NetworkAuthentication), or use an all-unauthenticated default for it",
    docs: DOCS.serverPolicy,
    check: (ctx) => externalHits(ctx, "authenticated"),
  },
  {
    id: "cluster-policy-external-traffic",
    severity: "warning",
    kind: "Service",
    field: "spec.type",
    summary:
      "A LoadBalancer or NodePort Service sends traffic to a port with a cluster-* policy; sources outside clusterNetworks are refused",
    remediation:
      "Make sure node IPs and external client IPs fall inside clusterNetworks, or authorize them with a Server, AuthorizationPolicy and NetworkAuthentication",
    docs: DOCS.serverPolicy,
    check: (ctx) => externalHits(ctx, "cluster"),
  },
  {
    id: "opaque-port-protocol-mismatch",
    severity: "warning",
    kind: "Server",
    field: "spec.proxyProtocol",
    summary: "A Server declares HTTP or gRPC on a port the pods mark opaque",
    remediation:
      "Remove the port from config.linkerd.io/opaque-ports if it carries HTTP, or set the Server's proxyProtocol to opaque",
    docs: DOCS.protocolDetection,
    check: (ctx) => {
      const out: Hit[] = [];
      const seen = new Set<KubeObject>();
      for (const pv of ctx.pods()) {
        for (const r of pv.opaquePorts) {
          for (let port = r.from; port <= r.to && port - r.from < 1024; port++) {
            const server = ctx.serverFor(pv, port);
            if (!server || seen.has(server)) continue;
            const proto = specOf(server)["proxyProtocol"];
            if (proto !== "HTTP/1" && proto !== "HTTP/2" && proto !== "gRPC") continue;
            seen.add(server);
            out.push({
              obj: server,
              message:
                `Server "${server.metadata.name}" declares ${proto} on port ${port}, which ${pv.report.kind} "${pv.report.metadata.name}" marks opaque (config.linkerd.io/opaque-ports); meshed clients are told the port is opaque and send raw TCP, so HTTP metrics, retries and route-level policy may not apply to their traffic`,
            });
          }
        }
      }
      return out;
    },
  },
  {
    id: "proxy-version-mismatch",
    severity: "warning",
    kind: "Pod",
    field: "metadata.annotations[linkerd.io/proxy-version]",
    summary: "Meshed pods run a proxy version other than the control plane's",
    remediation:
      "Restart the workload (kubectl rollout restart) so that the injector gives it the current proxy",
    docs: DOCS.upgrade,
    check: (ctx) => {
      const want = ctx.mesh.proxyVersion;
      if (!want) return [];
      const byReport = new Map<KubeObject, { versions: Set<string>; count: number }>();
      for (const pv of ctx.pods()) {
        if (!isMeshed(pv.pod)) continue;
        const v = proxyVersionOf(pv.pod);
        if (!v || v === want) continue;
        const e = byReport.get(pv.report) ?? { versions: new Set(), count: 0 };
        e.versions.add(v);
        e.count++;
        byReport.set(pv.report, e);
      }
      return [...byReport].map(([obj, e]) => ({
        obj,
        message: `${e.count} meshed pod(s) of ${obj.kind} "${obj.metadata.name}" run proxy ${
          [...e.versions].sort().join(", ")
        } while the control plane is ${want}`,
      }));
    },
  },
  {
    id: "namespace-no-policy",
    severity: "info",
    kind: "Namespace",
    field: "metadata",
    summary: "Namespace has meshed workloads and no Server or authorization policy",
    remediation:
      "Add Servers and AuthorizationPolicies (try accessPolicy: audit first) to restrict who can call these workloads",
    docs: DOCS.restricting,
    check: (ctx) =>
      ctx.items("namespaces").flatMap((ns) => {
        const name = ns.metadata.name;
        const meshed = ctx.pods(name).filter((p) => p.meshed);
        if (!meshed.length || !ctx.complete(name)) return [];
        const any = ["servers", "authorizationpolicies", "serverauthorizations"] as const;
        if (any.some((k) => ctx.items(k, name).length)) return [];
        const policies = [...new Set(meshed.map((p) => p.defaultPolicy))].sort().join(", ");
        return [{
          obj: ns,
          message:
            `Namespace "${name}" has ${meshed.length} meshed pods/workloads and no Server or authorization policy; every port uses the default policy (${policies})`,
        }];
      }),
  },
  {
    id: "audit-mode-enabled",
    severity: "info",
    kind: "Server",
    field: "spec.accessPolicy",
    summary: "Audit mode allows everything and only logs; do not leave it on",
    remediation:
      'Once the authz_name="audit" metrics show only expected clients, switch to deny with AuthorizationPolicies',
    docs: DOCS.serverPolicy,
    check: (ctx) => [
      ...ctx.items("servers").filter((s) => specOf(s)["accessPolicy"] === "audit").map((s) => ({
        obj: s,
        field: "spec.accessPolicy",
        message:
          `Server "${s.metadata.name}" is in audit mode: it allows all traffic and only logs what would be denied`,
      })),
      ...[...new Set([...ctx.items("namespaces"), ...ctx.pods().map((p) => p.report)])]
        .filter((o) => {
          const ann = o.kind === "Namespace" || o.kind === "Pod"
            ? o.metadata.annotations
            : (((o.spec as Record<string, unknown> | undefined)?.["template"] as
              | { metadata?: { annotations?: Record<string, string> } }
              | undefined)?.metadata?.annotations);
          return ann?.["config.linkerd.io/default-inbound-policy"] === "audit";
        })
        .map((o) => ({
          obj: o,
          field: "metadata.annotations[config.linkerd.io/default-inbound-policy]",
          message:
            `${o.kind} "${o.metadata.name}" sets default-inbound-policy audit: ports without a Server allow all traffic and only log`,
        })),
    ],
  },
];
