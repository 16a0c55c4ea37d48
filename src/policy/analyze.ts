/**
 * "Can Service A talk to Service B, and if not, why?": every source pod against every
 * target pod and port, as the target's proxy would decide it.
 *
 * @module
 */
import { NotFoundError } from "../errors.ts";
import { type Pod, type Service } from "../mesh/pods.ts";
import { clientsOfService, describeClient, podIsMeshed } from "./clients.ts";
import { type ClientDecision, decideClient, type RouteDecision } from "./evaluate.ts";
import { inboundServer } from "./inbound.ts";
import type { PolicyIndex } from "./policy_index.ts";
import { combineDecisions, containerPort, servicePorts } from "./service_ports.ts";
import { suggestChange } from "./suggest.ts";
import type { Client, Decision, InboundServer } from "./types.ts";

/** A Service by namespace and name. */
export interface ServiceRef {
  namespace: string;
  service: string;
}

/** Summary of one side of the analysis. */
export interface EndpointSummary extends ServiceRef {
  pods: number;
  meshedPods: number;
  /** mTLS identities of the pods (source only). */
  identities: string[];
}

/** What governs a port: a Server, a default policy, a skipped port or no proxy. */
export interface ServerInForce {
  kind: InboundServer["kind"];
  name: string;
  protocol: InboundServer["protocol"];
}

/** The analysis of one target Service port. */
export interface PortAnalysis {
  port: number;
  name?: string;
  /** Container port(s) the Service port reaches. */
  targetPorts: number[];
  /** The first Server (or default) in force; see `servers` when pods differ. */
  server: ServerInForce;
  servers: ServerInForce[];
  /** Servers that also select the port but lose to the one in force. */
  shadowed: string[];
  routes: RouteDecision[];
  decision: Decision;
  /** The authorization that allowed it (`authorizationpolicy/x`, `default/all-unauthenticated`). */
  authorization: string | null;
  reason: string;
  /** YAML of the smallest change that would allow the denied clients. */
  suggestion: string | null;
  notes: string[];
}

/** The result of {@linkcode analyzeAccess}. */
export interface AccessAnalysis {
  verdict: Decision;
  allowed: boolean;
  source: EndpointSummary;
  target: EndpointSummary;
  ports: PortAnalysis[];
  /** Policy objects involved (`Server/x`, `AuthorizationPolicy/y`, ...), sorted. */
  policies: string[];
  explanation: string;
}

/** Options for {@linkcode analyzeAccess}. */
export interface AnalyzeAccessOptions {
  source: ServiceRef;
  target: ServiceRef;
  /** A Service port number or name (or a container port); all ports when absent. */
  port?: number | string;
  /** Skip building suggestions (bulk queries). */
  suggestions?: boolean;
}

/**
 * Finds a Service in the index.
 *
 * @throws {NotFoundError} when it does not exist.
 */
export function requireService(idx: PolicyIndex, ref: ServiceRef, role: string): Service {
  const svc = idx.services.get(`${ref.namespace}/${ref.service}`);
  if (svc) return svc;
  const inNs = idx.serviceKeys.filter((k) => k.startsWith(`${ref.namespace}/`)).length;
  throw new NotFoundError(
    `Cannot find ${role} Service "${ref.service}" in namespace "${ref.namespace}": ${
      inNs ? `the namespace has ${inNs} other Service(s)` : "the namespace has no Services"
    }; list them with "kubectl get services -n ${ref.namespace}" (or the list_services tool)`,
  );
}

function summary(idx: PolicyIndex, ref: ServiceRef, withIds: boolean): EndpointSummary {
  const pods = idx.servicePods.get(`${ref.namespace}/${ref.service}`) ?? [];
  const ids = withIds
    ? [
      ...new Set(
        clientsOfService(idx, `${ref.namespace}/${ref.service}`).flatMap((c) =>
          c.identity ? [c.identity] : []
        ),
      ),
    ]
      .sort()
    : [];
  return {
    ...ref,
    pods: pods.length,
    meshedPods: pods.filter((p) => podIsMeshed(p)).length,
    identities: ids,
  };
}

/** One target Service port against a set of clients. */
export function analyzePort(
  idx: PolicyIndex,
  target: { svc: Service; pods: readonly Pod[] },
  opts: {
    port: ReturnType<typeof servicePorts>[number];
    clients: readonly Client[];
    sourceService?: string;
    suggestions?: boolean;
  },
): PortAnalysis {
  const { port: sp, clients } = opts;
  const decisions: Decision[] = [];
  const servers = new Map<string, ServerInForce>();
  const targetPorts = new Set<number>();
  const reasons = new Set<string>();
  const notes = new Set<string>();
  const shadowed = new Set<string>();
  let authorization: string | null = null;
  let routes: RouteDecision[] = [];
  let firstServer: InboundServer | undefined;
  const denied = new Map<string, Client>();
  const deniedRoutes = new Set<string>();
  for (const pod of target.pods) {
    const cp = containerPort(pod, sp);
    if (cp === undefined) {
      notes.add(`pod "${pod.metadata.name}" has no container port named "${sp.targetPort}"`);
      continue;
    }
    targetPorts.add(cp);
    const server = inboundServer(idx, pod, cp);
    firstServer ??= server;
    servers.set(`${server.kind}/${server.name}/${server.protocol}`, {
      kind: server.kind,
      name: server.name,
      protocol: server.protocol,
    });
    server.shadowed.forEach((s) => shadowed.add(s));
    server.notes.forEach((n) => notes.add(n));
    for (const client of clients) {
      const d: ClientDecision = decideClient(server, client, {
        clusterNetworks: idx.clusterNetworks,
      });
      decisions.push(d.decision);
      reasons.add(clients.length > 1 ? `${describeClient(client)}: ${d.reason}` : d.reason);
      if (d.authorization && authorization === null) authorization = d.authorization;
      if (routes.length === 0) routes = d.routes;
      if (d.decision !== "allowed" && d.decision !== "audit") {
        denied.set(client.pods.join(","), client);
        d.routes.filter((r) => r.decision === "denied").forEach((r) => deniedRoutes.add(r.route));
      }
    }
  }
  const decision = clients.length === 0 || targetPorts.size === 0
    ? "undetermined"
    : combineDecisions(decisions);
  let reason = [...reasons].slice(0, 4).join(" | ");
  if (clients.length === 0) {
    reason = "the source Service selects no pods, so there is no client to evaluate";
  } else if (target.pods.length === 0) reason = "the target Service selects no pods";
  else if (targetPorts.size === 0) reason = `no target pod declares port "${sp.targetPort}"`;
  const server = firstServer
    ? { kind: firstServer.kind, name: firstServer.name, protocol: firstServer.protocol }
    : { kind: "default" as const, name: "none", protocol: "detect" as const };
  const wantSuggestion = opts.suggestions !== false && firstServer &&
    (decision === "denied" || decision === "partial" || decision === "audit");
  return {
    port: sp.port,
    ...(sp.name ? { name: sp.name } : {}),
    targetPorts: [...targetPorts].sort((a, b) => a - b),
    server,
    servers: [...servers.values()].sort((a, b) =>
      `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`)
    ),
    shadowed: [...shadowed].sort(),
    routes,
    decision,
    authorization,
    reason,
    suggestion: wantSuggestion
      ? suggestChange(firstServer!, {
        namespace: target.svc.metadata.namespace ?? "",
        sourceService: opts.sourceService ?? "source",
        targetSelector: target.svc.spec?.selector ?? {},
        clients: decision === "audit" ? clients : [...denied.values()],
        deniedRoutes: [...deniedRoutes].sort(),
      })
      : null,
    notes: [...notes].sort(),
  };
}

function policiesOf(
  idx: PolicyIndex,
  pods: readonly Pod[],
  ports: readonly PortAnalysis[],
): string[] {
  const out = new Set<string>();
  for (const pod of pods) {
    for (const p of ports) {
      for (const cp of p.targetPorts) {
        const s = inboundServer(idx, pod, cp);
        if (s.kind === "server") out.add(`Server/${s.name}`);
        s.shadowed.forEach((x) => out.add(`Server/${x}`));
        for (const a of [...s.authorizations, ...s.routes.flatMap((r) => r.authorizations)]) {
          a.objects.forEach((o) => out.add(o));
        }
        s.routes.forEach((r) => out.add(`${r.kind}/${r.name}`));
      }
    }
  }
  return [...out].sort();
}

/**
 * Analyses whether the source Service's pods may reach the target Service's ports.
 *
 * @throws {NotFoundError} when either Service does not exist.
 * @throws {InvalidArgumentError} when `port` is not a port of the target.
 */
export function analyzeAccess(idx: PolicyIndex, opts: AnalyzeAccessOptions): AccessAnalysis {
  requireService(idx, opts.source, "source");
  const svc = requireService(idx, opts.target, "target");
  const pods = idx.servicePods.get(`${opts.target.namespace}/${opts.target.service}`) ?? [];
  const clients = clientsOfService(idx, `${opts.source.namespace}/${opts.source.service}`);
  const ports = servicePorts(svc, {
    pods,
    ...(opts.port !== undefined ? { wanted: opts.port } : {}),
  })
    .map((port) =>
      analyzePort(idx, { svc, pods }, {
        port,
        clients,
        sourceService: opts.source.service,
        ...(opts.suggestions !== undefined ? { suggestions: opts.suggestions } : {}),
      })
    );
  const verdict = ports.length ? combineDecisions(ports.map((p) => p.decision)) : "undetermined";
  const source = summary(idx, opts.source, true);
  const target = summary(idx, opts.target, false);
  return {
    verdict,
    allowed: verdict === "allowed" || verdict === "audit",
    source,
    target,
    ports,
    policies: policiesOf(idx, pods, ports),
    explanation: explain(verdict, { source, target, ports }),
  };
}

function explain(
  verdict: Decision,
  r: { source: EndpointSummary; target: EndpointSummary; ports: PortAnalysis[] },
): string {
  const from = `${r.source.namespace}/${r.source.service}`;
  const to = `${r.target.namespace}/${r.target.service}`;
  const head: Record<Decision, string> = {
    allowed: `${from} may connect to ${to} on every analysed port.`,
    audit:
      `${from} reaches ${to} only because of audit mode: the traffic is allowed and logged now, and would be denied once the policy is enforced.`,
    denied: `${from} is denied by ${to}'s inbound policy.`,
    partial: `${from} may reach ${to} only in part (some ports, routes or pods are denied).`,
    undetermined: `Whether ${from} may reach ${to} cannot be decided from the available data.`,
  };
  const lines = [head[verdict]];
  if (r.ports.length === 0) lines.push(`${to} exposes no TCP ports to analyse.`);
  for (const p of r.ports) {
    const srv = p.server.kind === "server"
      ? `Server "${p.server.name}"`
      : p.server.kind === "default"
      ? `default policy "${p.server.name}"`
      : p.server.kind === "skipped"
      ? "no policy (port skipped by the proxy)"
      : "no proxy";
    lines.push(
      `Port ${p.port}${p.name ? ` (${p.name})` : ""} → ${srv}: ${p.decision}; ${p.reason}.`,
    );
    if (p.suggestion) {
      lines.push(`To allow it: ${p.suggestion.split("\n")[0]} (YAML in ports[].suggestion).`);
    }
  }
  return lines.join("\n");
}
