/**
 * Who may reach a target: every source Service whose pods the target's proxy admits,
 * the workloads whose pods no Service selects, plus principals that are not Services
 * (unauthenticated clients, networks, identities that no pod here has).
 *
 * @module
 */
import { type Pod, serviceAccountOf } from "../mesh/pods.ts";
import { isWholeFamily } from "./cidr.ts";
import { authzLabel } from "./authz.ts";
import { requireService, type ServiceRef } from "./analyze.ts";
import { ownerWorkloadOf } from "../kube/workloads.ts";
import { clientsOfPods, clientsOfService, podIsMeshed } from "./clients.ts";
import { decideQuick } from "./evaluate.ts";
import { inboundServer } from "./inbound.ts";
import type { PolicyIndex } from "./policy_index.ts";
import {
  combineDecisions,
  containerPort,
  type ServicePort,
  servicePorts,
} from "./service_ports.ts";
import type { Authz, Client, Decision, InboundServer } from "./types.ts";

/** A principal that may connect to the target. */
export interface SourceEntry {
  /**
   * - `service`: a Service's pods;
   * - `unauthenticated`: any client, meshed or not;
   * - `network`: clients from the listed networks;
   * - `identity`: mesh identities no pod here has (`*`, `*.suffix`, other trust domains);
   * - `workload`: the pods of a workload that no Service selects (`deployment/traffic`).
   */
  kind: "service" | "workload" | "unauthenticated" | "network" | "identity";
  /** `ns/svc`, a network list or an identity pattern. */
  principal: string;
  namespace?: string;
  service?: string;
  /** `kind/name` of a workload source. */
  workload?: string;
  verdict: Decision;
  /** Target Service ports this principal may reach. */
  ports: number[];
  /** Authorizations that admit it. */
  authorizations: string[];
}

/** The result of {@linkcode allowedSources}. */
export interface AllowedSources {
  target: ServiceRef;
  /** Servers (or defaults) in force on the target's ports (`Server/x`, `default/deny`). */
  matchingServers: string[];
  allowedSources: SourceEntry[];
  totalSources: number;
  /** The control-plane version the answer assumes. */
  assumes: string;
}

/** Pods that no Service selects, by owner workload (`ns/Kind/name` → pods). */
function workloadsWithoutService(
  idx: PolicyIndex,
): Map<string, { namespace: string; kind: string; name: string; pods: Pod[] }> {
  const out = new Map<string, { namespace: string; kind: string; name: string; pods: Pod[] }>();
  for (const [namespace, pods] of idx.podsByNs) {
    for (const pod of pods) {
      if (idx.podServices.has(`${namespace}/${pod.metadata.name}`)) continue;
      const owner = ownerWorkloadOf(pod);
      const key = `${namespace}/${owner.kind}/${owner.name}`;
      const hit = out.get(key);
      if (hit) hit.pods.push(pod);
      else out.set(key, { namespace, kind: owner.kind, name: owner.name, pods: [pod] });
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function distinctServers(
  idx: PolicyIndex,
  pods: readonly Pod[],
  ports: readonly ServicePort[],
): Map<number, InboundServer[]> {
  const out = new Map<number, InboundServer[]>();
  for (const sp of ports) {
    const seen = new Map<string, InboundServer>();
    for (const pod of pods) {
      const cp = containerPort(pod, sp);
      if (cp === undefined) continue;
      const s = inboundServer(idx, { pod, port: cp });
      seen.set(`${s.kind}|${s.name}|${s.protocol}|${s.port}|${s.probePaths.join(",")}`, s);
    }
    out.set(sp.port, [...seen.values()]);
  }
  return out;
}

function netsText(a: Authz): string {
  return a.networks.map((n) =>
    n.except.length ? `${n.net.text} except ${n.except.map((e) => e.text).join(",")}` : n.net.text
  ).join(", ");
}

/** Whether an exact identity belongs to a meshed pod in the index (parsed, not enumerated). */
function knownIdentities(idx: PolicyIndex): { has(id: string): boolean } {
  const tail = `.serviceaccount.identity.${idx.mesh.controlPlaneNamespace}.${idx.mesh.trustDomain}`;
  return {
    has(id: string): boolean {
      if (!id.endsWith(tail)) return false;
      const head = id.slice(0, -tail.length);
      const dot = head.lastIndexOf(".");
      if (dot < 0) return false;
      const sa = head.slice(0, dot);
      const ns = head.slice(dot + 1);
      return (idx.podsByNs.get(ns) ?? []).some((p) => podIsMeshed(p) && serviceAccountOf(p) === sa);
    },
  };
}

function principalsOf(
  a: Authz,
  known: { has(id: string): boolean },
): Array<Pick<SourceEntry, "kind" | "principal">> {
  const whole =
    a.networks.some((n) => isWholeFamily(n.net) && n.net.family === 4 && !n.except.length) &&
    a.networks.some((n) => isWholeFamily(n.net) && n.net.family === 6 && !n.except.length);
  const from = whole ? "" : ` from ${netsText(a)}`;
  const auth = a.authentication;
  if (auth.type === "unauthenticated") {
    return [
      whole
        ? { kind: "unauthenticated", principal: "any client, meshed or not" }
        : { kind: "network", principal: `any client${from}` },
    ];
  }
  if (auth.type === "tls-unauthenticated") {
    return [{ kind: "identity", principal: `any meshed client (identity not checked)${from}` }];
  }
  return [
    ...auth.suffixes.map((s) => ({
      kind: "identity" as const,
      principal: `${s === "" ? "* (any meshed identity)" : `*.${s}`}${from}`,
    })),
    ...auth.identities.filter((id) => !known.has(id)).map((id) => ({
      kind: "identity" as const,
      principal: `${id}${from}`,
    })),
  ];
}

/**
 * Every source Service whose pods may connect to the target, plus the principals that
 * are not Services.
 *
 * @throws {NotFoundError} when the target does not exist.
 */
export function allowedSources(idx: PolicyIndex, target: ServiceRef): AllowedSources {
  const svc = requireService(idx, { ...target, role: "target" });
  const selfKey = `${target.namespace}/${target.service}`;
  const pods = idx.servicePods.get(selfKey) ?? [];
  const ports = servicePorts(svc, { pods });
  const servers = distinctServers(idx, pods, ports);
  const opts = { clusterNetworks: idx.clusterNetworks };
  const entries: SourceEntry[] = [];
  const judge = (clients: readonly Client[]) => {
    const perPort: Array<{ port: number; decision: Decision }> = [];
    const authzs = new Set<string>();
    for (const [port, list] of servers) {
      const ds: Decision[] = [];
      for (const s of list) {
        for (const c of clients) {
          const d = decideQuick(s, c, opts);
          ds.push(d.decision);
          if (d.authorization) authzs.add(d.authorization);
        }
      }
      if (ds.length) perPort.push({ port, decision: combineDecisions(ds) });
    }
    const open = perPort.filter((p) => p.decision !== "denied");
    if (open.length === 0) return undefined;
    return {
      verdict: combineDecisions(perPort.map((p) => p.decision)),
      ports: open.map((p) => p.port),
      authorizations: [...authzs].sort(),
    };
  };
  for (const key of idx.serviceKeys) {
    if (key === selfKey) continue;
    const clients = clientsOfService(idx, key);
    if (clients.length === 0) continue;
    const j = judge(clients);
    if (!j) continue;
    const [namespace, service] = key.split("/") as [string, string];
    entries.push({ kind: "service", principal: key, namespace, service, ...j });
  }
  // clients no Service selects (traffic generators, jobs, ingress controllers): by workload
  for (const [key, w] of workloadsWithoutService(idx)) {
    const j = judge(clientsOfPods(idx, w.pods));
    if (!j) continue;
    entries.push({
      kind: "workload",
      principal: key,
      namespace: w.namespace,
      workload: `${w.kind.toLowerCase()}/${w.name}`,
      ...j,
    });
  }
  entries.push(...otherPrincipals(idx, servers));
  const matching = new Set<string>();
  for (const list of servers.values()) {
    for (const s of list) {
      matching.add(s.kind === "server" ? `Server/${s.name}` : `${s.kind}/${s.name}`);
    }
  }
  return {
    target,
    matchingServers: [...matching].sort(),
    allowedSources: entries,
    totalSources: entries.length,
    assumes: idx.model.version.text,
  };
}

function otherPrincipals(idx: PolicyIndex, servers: Map<number, InboundServer[]>): SourceEntry[] {
  const known = knownIdentities(idx);
  const byKey = new Map<string, SourceEntry & { decisions: Decision[] }>();
  const add = (
    p: Pick<SourceEntry, "kind" | "principal">,
    port: number,
    label: string,
    d: Decision,
  ) => {
    const k = `${p.kind}|${p.principal}`;
    let e = byKey.get(k);
    if (!e) byKey.set(k, e = { ...p, verdict: d, ports: [], authorizations: [], decisions: [] });
    if (!e.ports.includes(port)) e.ports.push(port);
    if (!e.authorizations.includes(label)) e.authorizations.push(label);
    e.decisions.push(d);
  };
  for (const [port, list] of servers) {
    for (const s of list) {
      if (s.kind === "skipped" || s.kind === "unmeshed") {
        add(
          { kind: "unauthenticated", principal: "any client, meshed or not" },
          port,
          s.kind,
          "allowed",
        );
        continue;
      }
      const routeLevel = s.routes.flatMap((r) => r.authorizations);
      for (const a of [...s.authorizations, ...routeLevel]) {
        const d: Decision = a.kind === "default" && a.name === "audit"
          ? "audit"
          : s.authorizations.includes(a)
          ? "allowed"
          : "partial";
        for (const p of principalsOf(a, known)) add(p, port, authzLabel(a), d);
      }
    }
  }
  return [...byKey.values()]
    .map(({ decisions, ...e }) => ({
      ...e,
      verdict: combineDecisions(decisions),
      ports: e.ports.sort((a, b) => a - b),
      authorizations: e.authorizations.sort(),
    }))
    .sort((a, b) =>
      a.kind !== b.kind
        ? (a.kind < b.kind ? -1 : 1)
        : a.principal < b.principal
        ? -1
        : a.principal > b.principal
        ? 1
        : 0
    );
}
