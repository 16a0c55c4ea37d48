/**
 * One target Service port against a set of clients: the Server (or default) in force on
 * each backing pod, each client's decision, and the combined result with a suggestion.
 *
 * @module
 */
import { itemsOf } from "../kube/state.ts";
import type { Pod, Service } from "../mesh/pods.ts";
import { describeClient } from "./clients.ts";
import { type ClientDecision, decideClient, type RouteDecision } from "./evaluate.ts";
import { inboundServer } from "./inbound.ts";
import type { PolicyIndex } from "./policy_index.ts";
import { combineDecisions, containerPort, type ServicePort } from "./service_ports.ts";
import { safeSuggestion, type SuggestionCheck } from "./safe_suggest.ts";
import type { Client, Decision, InboundServer } from "./types.ts";

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
  /** YAML of the smallest change that would allow the denied clients, checked by the model. */
  suggestion: string | null;
  /** The model's check of `suggestion`: it allows the request, and whom else it would deny. */
  suggestionCheck: SuggestionCheck | null;
  notes: string[];
}

/** One target Service port against a set of clients. */
export function analyzePort(
  idx: PolicyIndex,
  target: { svc: Service; pods: readonly Pod[] },
  opts: {
    port: ServicePort;
    clients: readonly Client[];
    sourceService?: string;
    /** `Service`, a workload kind, `Pod`, `ServiceAccount` or `IP`. */
    sourceKind?: string;
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
  const undef = sp.undefined ? undefinedPortRule(idx, target.svc, sp.port) : undefined;
  if (undef) notes.add(undef.note);
  for (const pod of target.pods) {
    const cp = containerPort(pod, sp);
    if (cp === undefined) {
      notes.add(`pod "${pod.metadata.name}" has no container port named "${sp.targetPort}"`);
      continue;
    }
    targetPorts.add(cp);
    const server = inboundServer(idx, { pod, port: cp });
    firstServer ??= server;
    servers.set(`${server.kind}/${server.name}/${server.protocol}`, {
      kind: server.kind,
      name: server.name,
      protocol: server.protocol,
    });
    server.shadowed.forEach((s) => shadowed.add(s));
    server.notes.forEach((n) => notes.add(n));
    for (const client of clients) {
      const d: ClientDecision = undef?.refused && client.meshed
        ? { decision: "denied", reason: undef.reason, routes: [] }
        : decideClient(server, client, { clusterNetworks: idx.clusterNetworks });
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
    reason = `the source ${
      opts.sourceKind && opts.sourceKind !== "Service" ? opts.sourceKind : "Service"
    } has no pods, so there is no client to evaluate`;
  } else if (target.pods.length === 0) reason = "the target Service selects no pods";
  else if (targetPorts.size === 0) reason = `no target pod declares port "${sp.targetPort}"`;
  const server = firstServer
    ? { kind: firstServer.kind, name: firstServer.name, protocol: firstServer.protocol }
    : { kind: "default" as const, name: "none", protocol: "detect" as const };
  const wantSuggestion = opts.suggestions !== false && firstServer &&
    (decision === "denied" || decision === "partial" || decision === "audit");
  const suggestion = wantSuggestion
    ? safeSuggestion(idx, {
      namespace: target.svc.metadata.namespace ?? "",
      server: firstServer!,
      targetPods: target.pods,
      targetSelector: target.svc.spec?.selector ?? {},
      port: sp,
      clients: decision === "audit" ? clients : [...denied.values()],
      sourceName: opts.sourceService ?? "source",
      deniedRoutes: [...deniedRoutes].sort(),
    })
    : null;
  return {
    port: sp.port,
    ...(sp.name ? { name: sp.name } : {}),
    targetPorts: [...targetPorts].sort((a, b) => a - b),
    server,
    servers: [...servers.values()].sort((a, b) =>
      cmp(`${a.kind}/${a.name}`, `${b.kind}/${b.name}`)
    ),
    shadowed: [...shadowed].sort(),
    routes,
    decision,
    authorization,
    reason,
    suggestion: suggestion?.text ?? null,
    suggestionCheck: suggestion?.check ?? null,
    notes: [...notes].sort(),
  };
}

/**
 * A port the Service does not define: since edge-25.7.1 (#14149) the policy controller
 * gives a meshed client an `undefined-port` route that refuses the connection (with a
 * ServiceProfile only since edge-26.7.1, #15473); before, the proxy forwarded it.
 */
function undefinedPortRule(
  idx: PolicyIndex,
  svc: Service,
  port: number,
): { refused: boolean; reason: string; note: string } {
  const ns = svc.metadata.namespace ?? "";
  const name = svc.metadata.name;
  const f = idx.model.features;
  const profile = itemsOf(idx.model.state, "serviceprofiles").some((p) =>
    p.metadata.name === `${name}.${ns}.svc.${idx.mesh.clusterDomain}`
  );
  const refused = f.undefinedPortsForbidden && (!profile || f.undefinedPortsForbiddenWithProfile);
  const v = idx.model.version.text;
  const reason =
    `port ${port} is not defined on Service "${ns}/${name}": the meshed client's proxy refuses the connection (route "undefined-port", error forbidden) — ${v}`;
  const note = refused
    ? `${reason}; unmeshed clients reach port ${port} only on a pod IP (kube-proxy forwards only the Service's ports)`
    : `port ${port} is not defined on Service "${ns}/${name}"; ${
      profile && f.undefinedPortsForbidden
        ? "it has a ServiceProfile, so before edge-26.7.1 (#15473) the meshed client's proxy still forwards it"
        : "before edge-25.7.1 (#14149) the meshed client's proxy still forwards it"
    }, and it is analysed on the pods' inbound policy — ${v}`;
  return { refused, reason, note };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
