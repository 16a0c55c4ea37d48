/**
 * Rules that follow traffic to pods: kubelet probes against Servers with routes,
 * default-deny ports that Services send traffic to, opaque/protocol mismatches,
 * proxy versions, and best-practice advice.
 *
 * @module
 */
import type { KubeObject } from "../../kube/types.ts";
import { podTemplateOf, podTemplatePath } from "../../kube/workloads.ts";
import { isMeshed, proxyVersionOf, type Service } from "../../mesh/pods.ts";
import type { PodView, ValidationContext } from "../context.ts";
import { DEFAULT_OPAQUE_PORTS } from "../../kube/inject.ts";
import {
  containerPortByName,
  DEFAULT_POLICY_ANNOTATION,
  inPortSet,
  OPAQUE_PORTS_ANNOTATION as OPAQUE_ANNOTATION,
  parsePortSet,
  type PortSet,
  SKIP_INBOUND_ANNOTATION,
} from "../../policy/model/mod.ts";
import { serviceAccountIdentity } from "../../mesh/config.ts";
import { matchAuthentication } from "../../policy/authz.ts";
import type { Authz, Client } from "../../policy/types.ts";
import { listOf, specOf } from "../refs.ts";
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

const PROBE_PROBLEMS = new WeakMap<ValidationContext, ProbeProblem[]>();

/** Probe problems, computed once per context (two rules report them). */
function probeProblems(ctx: ValidationContext): ProbeProblem[] {
  let hit = PROBE_PROBLEMS.get(ctx);
  if (!hit) PROBE_PROBLEMS.set(ctx, hit = computeProbeProblems(ctx));
  return hit;
}

function computeProbeProblems(ctx: ValidationContext): ProbeProblem[] {
  const out: ProbeProblem[] = [];
  // (Server, probe path) → the routes that may match it and whether one admits the kubelet
  const byServerPath = new Map<string, { candidates: KubeObject[]; allowed: boolean }>();
  const seen = new Set<string>();
  for (const pv of ctx.pods()) {
    if (!pv.meshed) continue;
    for (const probe of pv.httpProbes) {
      if (inPortSet(pv.skipInboundPorts, probe.port)) continue;
      const server = ctx.serverFor(pv, probe.port);
      if (!server) continue;
      const proto = ctx.server(server)!.protocol;
      if (proto === "grpc" || proto === "opaque" || proto === "tls") continue;
      const { http, grpc } = ctx.routesOf(server);
      if (http.length === 0 || grpc.length > 0) continue;
      const key =
        `${pv.report.kind}/${pv.report.metadata.namespace}/${pv.report.metadata.name}|${probe.port}|${probe.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const memoKey = `${server.metadata.namespace}/${server.metadata.name}|${probe.path}`;
      let verdict = byServerPath.get(memoKey);
      if (!verdict) {
        const matching = http.filter((r) => routeMatchesProbe(r.obj, probe.path) !== "no");
        verdict = {
          candidates: matching.map((r) => r.obj),
          allowed: ctx.serverAuthz(server).some(unauthenticated) ||
            matching.some((r) => r.authorizations.some(unauthenticated)),
        };
        byServerPath.set(memoKey, verdict);
      }
      const base = { pv, server, port: probe.port, path: probe.path, routes: verdict.candidates };
      if (verdict.candidates.length === 0) {
        out.push({ ...base, kind: "not-found", routes: http.map((r) => r.obj) });
      } else if (!verdict.allowed) out.push({ ...base, kind: "unauthorized" });
    }
  }
  return out;
}

const names = (objs: KubeObject[]) => objs.map((o) => `"${o.metadata.name}"`).join(", ");

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;

/** Where the report object's pod spec is (`spec` for a Pod, the template's for a workload). */
function podSpecPath(report: KubeObject): string {
  return report.kind === "Pod" ? "spec" : `${podTemplatePath(report)}.spec`;
}

/** The field of the first probe of the report object on `port` (`...containers[1].readinessProbe.httpGet`). */
function probeField(pv: PodView, port: number, type: "httpGet" | "grpc"): string {
  const spec = pv.report.kind === "Pod" ? pv.pod.spec : podTemplateOf(pv.report)?.spec;
  const base = podSpecPath(pv.report);
  for (const [i, c] of (spec?.containers ?? []).entries()) {
    for (const name of PROBES) {
      const probe = c[name];
      const p = type === "grpc" ? probe?.grpc?.port : probe?.httpGet?.port;
      const n = typeof p === "string" ? c.ports?.find((x) => x.name === p)?.containerPort : p;
      if (n === port) return `${base}.containers[${i}].${name}.${type}`;
    }
  }
  return `${base}.containers`;
}

/** True for an authorization that admits clients without mesh identity (kubelet, outside clients). */
function unauthenticated(a: Authz): boolean {
  return a.authentication.type === "unauthenticated";
}

/** The container port a Service port reaches on the pod (Kubernetes' `FindPort`). */
function targetPort(p: { port: number; targetPort?: number | string }, pv: PodView) {
  const t = p.targetPort ?? p.port;
  if (typeof t === "number") return t;
  return /^\d+$/.test(t) ? Number(t) : containerPortByName(pv.pod, t);
}

function serviceTargets(svc: Service, pv: PodView): number[] {
  const out: number[] = [];
  for (const p of svc.spec?.ports ?? []) {
    if (p.protocol && p.protocol !== "TCP") continue;
    const t = targetPort(p, pv);
    if (t !== undefined) out.push(t);
  }
  return out;
}

/** The default policy on a pod port when no Server claims it and the proxy sees it. */
function defaultPolicyOn(ctx: ValidationContext, pv: PodView, port: number): string | undefined {
  const ib = ctx.model.inbound(pv.pod, port);
  return ib.kind === "default" ? ib.name : undefined;
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
        if (!pv.meshed) continue;
        // cheap test first: require-identity ports only turn unauthenticated into authenticated
        if (!policies.includes(pv.ports.defaultPolicy) && !pv.ports.requireIdentity.length) {
          continue;
        }
        if (!Object.entries(sel).every(([k, v]) => pv.pod.metadata.labels?.[k] === v)) continue;
        for (const port of serviceTargets(svc, pv)) {
          if (PROXY_PORTS.has(port)) continue;
          const policy = defaultPolicyOn(ctx, pv, port);
          if (policy && policies.includes(policy)) found.set(port, policy);
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

/** The ports a pod treats as opaque: its annotation, else the control plane's defaults. */
function podOpaquePorts(pv: PodView): PortSet {
  return pv.annotations[OPAQUE_ANNOTATION] === undefined
    ? parsePortSet(DEFAULT_OPAQUE_PORTS)
    : pv.opaquePorts;
}

/** Servers that claim a port the pod skips (`skip-inbound-ports`): no proxy sees that traffic. */
function skippedServerHits(ctx: ValidationContext): Hit[] {
  const out: Hit[] = [];
  for (const s of ctx.items("servers")) {
    const skipped = ctx.claims(s).claimed.map(({ pod, port }) => ({ pv: ctx.view(pod), port }))
      .filter(({ pv, port }) => pv.meshed && inPortSet(pv.skipInboundPorts, port));
    if (!skipped.length) continue;
    const ports = [...new Set(skipped.map((x) => x.port))].sort((a, b) => a - b).join(", ");
    const workloads = [
      ...new Set(skipped.map((x) => `${x.pv.report.kind} "${x.pv.report.metadata.name}"`)),
    ];
    const authz = ctx.serverAuthz(s).filter((a) => a.kind !== "default").length;
    out.push({
      obj: s,
      message: `Server "${s.metadata.name}" governs port ${ports}, which ${
        workloads.slice(0, 3).join(", ")
      }${workloads.length > 3 ? ` and ${workloads.length - 3} more` : ""} list${
        workloads.length === 1 ? "s" : ""
      } in ${SKIP_INBOUND_ANNOTATION}: that traffic bypasses the proxy, so the Server${
        authz ? ` and its ${authz} authorization(s)` : ""
      } are never enforced and the port accepts every client, without mTLS`,
    });
  }
  return out;
}

/** Service `opaque-ports` entries whose target port the selected pods do not mark opaque. */
function serviceOpaqueHits(ctx: ValidationContext): Hit[] {
  const out: Hit[] = [];
  for (const ns of ctx.podNamespaces()) {
    for (const svc of ctx.items("services", ns) as Service[]) {
      const listed = parsePortSet(svc.metadata.annotations?.[OPAQUE_ANNOTATION]);
      const sel = svc.spec?.selector;
      if (!listed.length || !sel || !Object.keys(sel).length) continue;
      const problems = new Map<string, string>();
      for (const pv of ctx.pods(ns)) {
        if (!pv.meshed) continue;
        if (!Object.entries(sel).every(([k, v]) => pv.pod.metadata.labels?.[k] === v)) continue;
        const podOpaque = podOpaquePorts(pv);
        for (const sp of svc.spec?.ports ?? []) {
          if (sp.protocol && sp.protocol !== "TCP") continue;
          if (!inPortSet(listed, sp.port)) continue;
          const target = targetPort(sp, pv);
          if (target !== undefined && !inPortSet(podOpaque, target)) {
            const key = `${sp.port}->${target}`;
            if (!problems.has(key)) {
              problems.set(key, `${pv.report.kind} "${pv.report.metadata.name}"`);
            }
          }
        }
      }
      for (const [key, who] of problems) {
        const [port, target] = key.split("->");
        out.push({
          obj: svc,
          field: `metadata.annotations[${OPAQUE_ANNOTATION}]`,
          message:
            `Service "${svc.metadata.name}" marks port ${port} opaque, but ${who}, which it targets on port ${target}, does not list ${target} in its ${OPAQUE_ANNOTATION} annotation: clients skip protocol detection while the server proxy still detects, so the two sides disagree (linkerd check --proxy reports this)`,
          remediation:
            `Add ${target} to ${OPAQUE_ANNOTATION} on the pod template (or its Namespace), or remove ${port} from the Service's annotation`,
        });
      }
    }
  }
  return out;
}

/** Namespace of the viz extension, whose Prometheus scrapes every proxy's admin port. */
const VIZ_NAMESPACE = "linkerd-viz";

/** Pods whose proxy metrics viz's Prometheus may not scrape (admin port policy refuses it). */
function scrapeDeniedHits(ctx: ValidationContext): Hit[] {
  // Only when viz is in the view: without it, nothing scrapes the proxies.
  const viz = ctx.pods(VIZ_NAMESPACE).find((pv) =>
    pv.pod.metadata.labels?.["component"] === "prometheus" ||
    pv.report.metadata.name === "prometheus"
  );
  if (!viz) return [];
  const prometheus: Client = {
    pods: [],
    namespace: VIZ_NAMESPACE,
    serviceAccount: "prometheus",
    meshed: viz.meshed,
    identity: serviceAccountIdentity("prometheus", VIZ_NAMESPACE, ctx.mesh),
    ips: [],
  };
  const admits = (a: Authz) => matchAuthentication(a.authentication, prometheus);
  const out: Hit[] = [];
  const seen = new Set<KubeObject>();
  for (const pv of ctx.pods()) {
    if (!pv.meshed || seen.has(pv.report)) continue;
    const port = Number(pv.annotations["config.linkerd.io/admin-port"] ?? 4191) || 4191;
    const ib = ctx.model.inbound(pv.pod, port);
    if (ib.kind !== "server" && ib.kind !== "default") continue;
    if (ib.authorizations.some(admits) || ib.routes.some((r) => r.authorizations.some(admits))) {
      continue;
    }
    seen.add(pv.report);
    const why = ib.kind === "server"
      ? `Server "${ib.name}" governs the proxy's admin port ${port} and none of its authorizations admits ${prometheus.identity}`
      : `the admin port ${port} has the default policy ${ib.name}, which admits no client`;
    out.push({
      obj: pv.report,
      field: `${podSpecPath(pv.report).replace(/spec$/, "metadata")}.annotations`,
      message:
        `viz's Prometheus cannot scrape the proxy metrics of ${pv.report.kind} "${pv.report.metadata.name}": ${why}; scrapes get 403 and linkerd viz stat, top and the dashboard show no traffic for it (linkerd2#13013)`,
    });
  }
  return out;
}

/** Traffic rules. */
export const TRAFFIC_RULES: Rule[] = [
  {
    id: "probe-query-string",
    severity: "error",
    kind: "Workload",
    field: "spec.containers[].readinessProbe.httpGet.path",
    summary:
      "Before edge-23.5.3 the automatic probe route kept a probe path's query string, so such probes get 403 (linkerd2#10877)",
    remediation:
      "Upgrade the control plane (edge-23.5.3, 2.14 or later), drop the query string from the probe path, or authorize unauthenticated clients on the port",
    docs: DOCS.serverPolicy,
    check: (ctx) => {
      const { features, version } = ctx.model;
      if (!features.probeRoutes || features.probeQueryStripped) return [];
      const out: Hit[] = [];
      const seen = new Set<string>();
      for (const pv of ctx.pods()) {
        if (!pv.meshed) continue;
        for (const probe of pv.queryProbes) {
          const ib = ctx.model.inbound(pv.pod, probe.port);
          if (ib.kind !== "server" && ib.kind !== "default") continue;
          // with routes attached, the probe rules above decide; an open port admits the kubelet anyway
          if (ib.routes.length || ib.authorizations.some(unauthenticated)) continue;
          const key = `${pv.report.kind}/${pv.report.metadata.name}|${probe.port}|${probe.path}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({
            obj: pv.report,
            field: `${probeField(pv, probe.port, "httpGet")}.path`,
            message:
              `Kubelet probe GET ${probe.path} on port ${probe.port} of ${pv.report.kind} "${pv.report.metadata.name}" gets 403 and fails: this control plane's policy controller (${version.text}) builds the probe route from the path with its query string, which no request path matches, and the port admits no unauthenticated client (linkerd2#10877, fixed in edge-23.5.3)`,
          });
        }
      }
      return out;
    },
  },
  {
    id: "prometheus-scrape-denied",
    severity: "warning",
    kind: "Workload",
    field: "metadata.annotations",
    summary:
      "viz's Prometheus is not authorized on a meshed pod's proxy admin port, so its metrics are missing",
    remediation:
      "Authorize Prometheus on the admin port: `linkerd viz allow-scrapes --namespace <ns> | kubectl apply -f -` (a Server on linkerd-admin with an AuthorizationPolicy for the prometheus ServiceAccount)",
    docs: DOCS.viz,
    check: scrapeDeniedHits,
  },
  {
    id: "server-port-skipped",
    severity: "warning",
    kind: "Server",
    field: "spec.port",
    summary:
      "A Server governs a port the pods list in skip-inbound-ports: the proxy never sees that traffic, so its policy is not enforced",
    remediation:
      "Remove the port from config.linkerd.io/skip-inbound-ports so that the proxy enforces the Server, or delete the Server and protect the port another way (NetworkPolicy)",
    docs: DOCS.proxyConfig,
    check: skippedServerHits,
  },
  {
    id: "service-opaque-port-mismatch",
    severity: "warning",
    kind: "Service",
    field: `metadata.annotations[config.linkerd.io/opaque-ports]`,
    summary: "A Service marks a port opaque whose target port the selected pods do not mark opaque",
    remediation:
      "Mark the target port opaque on the pods too (config.linkerd.io/opaque-ports on the pod template or Namespace)",
    docs: DOCS.protocolDetection,
    check: serviceOpaqueHits,
  },
  {
    id: "opaque-port-audit-denied",
    severity: "error",
    kind: "Server",
    field: "spec.proxyProtocol",
    summary:
      "An audit-mode Server declares HTTP on a port the pods mark opaque: connections are checked as opaque TCP and denied (linkerd2#15188)",
    remediation:
      "Set the Server's proxyProtocol to opaque (audit then logs per connection), or remove the port from config.linkerd.io/opaque-ports if it carries HTTP",
    docs: DOCS.protocolDetection,
    check: (ctx) => {
      const out: Hit[] = [];
      for (const s of ctx.items("servers")) {
        const spec = specOf(s);
        const proto = spec["proxyProtocol"];
        if (spec["accessPolicy"] !== "audit") continue;
        if (proto !== "HTTP/1" && proto !== "HTTP/2" && proto !== "gRPC") continue;
        const hit = ctx.claims(s).claimed.map(({ pod, port }) => ({ pv: ctx.view(pod), port }))
          .find(({ pv, port }) => pv.meshed && inPortSet(pv.opaquePorts, port));
        if (!hit) continue;
        out.push({
          obj: s,
          message:
            `Server "${s.metadata.name}" is in audit mode with proxyProtocol ${proto}, but ${hit.pv.report.kind} "${hit.pv.report.metadata.name}" marks port ${hit.port} opaque (${OPAQUE_ANNOTATION}): meshed clients send opaque TCP, the proxy authorizes the connection, not HTTP requests, and denies it instead of auditing it — even for clients an AuthorizationPolicy allows (linkerd2#15188)`,
        });
      }
      return out;
    },
  },
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
        field: probeField(p.pv, p.port, "httpGet"),
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
        field: probeField(p.pv, p.port, "httpGet"),
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
          const key =
            `${pv.report.kind}/${pv.report.metadata.namespace}/${pv.report.metadata.name}|${port}`;
          if (seen.has(key)) continue;
          const server = ctx.serverFor(pv, port);
          let why: string | undefined;
          let unresolved = false;
          const policy = defaultPolicyOn(ctx, pv, port);
          if (server) {
            const { http, grpc } = ctx.routesOf(server);
            if (http.length || grpc.length) continue;
            if (ctx.serverAuthz(server).some(unauthenticated)) continue;
            why =
              `Server "${server.metadata.name}" has no authorization for unauthenticated clients`;
            unresolved = !ctx.complete(server.metadata.namespace ?? "");
          } else if (
            policy && ["deny", "all-authenticated", "cluster-authenticated"].includes(policy)
          ) {
            why = `the port's default policy is ${policy}`;
          }
          if (!why) continue;
          seen.add(key);
          out.push({
            obj: pv.report,
            field: probeField(pv, port, "grpc"),
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
          // The pod's default policy is the only way to deny (require-identity never does).
          if (!pv.meshed || pv.ports.defaultPolicy !== "deny") continue;
          for (const svc of services) {
            const sel = svc.spec?.selector;
            if (!sel || !Object.keys(sel).length) continue;
            if (!Object.entries(sel).every(([k, v]) => pv.pod.metadata.labels?.[k] === v)) continue;
            for (const port of serviceTargets(svc, pv)) {
              if (PROXY_PORTS.has(port) || defaultPolicyOn(ctx, pv, port) !== "deny") continue;
              const key = `${pv.report.kind}/${ns}/${pv.report.metadata.name}|${port}`;
              if (seen.has(key)) continue;
              seen.add(key);
              out.push({
                obj: pv.report,
                field: pv.report.kind === "Pod" ||
                    podTemplateOf(pv.report)?.metadata?.annotations?.[DEFAULT_POLICY_ANNOTATION]
                  ? `${
                    podSpecPath(pv.report).replace(/spec$/, "metadata")
                  }.annotations[${DEFAULT_POLICY_ANNOTATION}]`
                  : `${podSpecPath(pv.report)}.containers`,
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
        for (const [from, to] of pv.opaquePorts) {
          for (let port = from; port <= to && port - from < 1024; port++) {
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
        const policies = [...new Set(meshed.map((p) => p.ports.defaultPolicy))].sort().join(", ");
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
            : podTemplateOf(o)?.metadata?.annotations;
          return ann?.[DEFAULT_POLICY_ANNOTATION] === "audit";
        })
        .map((o) => ({
          obj: o,
          field: o.kind === "Namespace" || o.kind === "Pod"
            ? `metadata.annotations[${DEFAULT_POLICY_ANNOTATION}]`
            : `${podTemplatePath(o)}.metadata.annotations[${DEFAULT_POLICY_ANNOTATION}]`,
          message:
            `${o.kind} "${o.metadata.name}" sets default-inbound-policy audit: ports without a Server allow all traffic and only log`,
        })),
    ],
  },
];
