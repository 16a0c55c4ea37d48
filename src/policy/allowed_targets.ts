/**
 * Which Services a source may reach: every Service in every namespace, decided as the
 * target's proxy would (denied ones are only counted).
 *
 * @module
 */
import type { Pod } from "../mesh/pods.ts";
import { requireService, type ServiceRef } from "./analyze.ts";
import { clientsOfService } from "./clients.ts";
import { decideQuick } from "./evaluate.ts";
import { inboundServer } from "./inbound.ts";
import type { PolicyIndex } from "./policy_index.ts";
import {
  combineDecisions,
  containerPort,
  type ServicePort,
  servicePorts,
} from "./service_ports.ts";
import type { Client, Decision } from "./types.ts";

/** One port's decision in a bulk answer. */
export interface PortDecision {
  port: number;
  name?: string;
  decision: Decision;
}

/** A target the source may reach. */
export interface TargetEntry extends ServiceRef {
  verdict: Decision;
  ports: PortDecision[];
}

/** The result of {@linkcode allowedTargets}. */
export interface AllowedTargets {
  source: ServiceRef;
  /** Targets not denied on every port, sorted by namespace then name. */
  allowedTargets: TargetEntry[];
  deniedTargets: number;
  totalTargets: number;
}

/**
 * Every Service (in every namespace, except the source itself) and whether the source
 * may reach it; denied targets are only counted.
 *
 * @throws {NotFoundError} when the source does not exist.
 */
export function allowedTargets(idx: PolicyIndex, source: ServiceRef): AllowedTargets {
  requireService(idx, { ...source, role: "source" });
  const selfKey = `${source.namespace}/${source.service}`;
  const clients = clientsOfService(idx, selfKey);
  const out: TargetEntry[] = [];
  let denied = 0;
  let total = 0;
  for (const key of idx.serviceKeys) {
    if (key === selfKey) continue;
    const svc = idx.services.get(key)!;
    const pods = idx.servicePods.get(key) ?? [];
    const ports = servicePorts(svc, { pods });
    if (ports.length === 0) continue;
    total++;
    const decisions = ports.map((port) => {
      const decision = quickPortDecision(idx, pods, { port, clients });
      return { port: port.port, ...(port.name ? { name: port.name } : {}), decision };
    });
    const verdict = combineDecisions(decisions.map((d) => d.decision));
    if (verdict === "denied") {
      denied++;
      continue;
    }
    const [namespace, service] = key.split("/") as [string, string];
    out.push({ namespace, service, verdict, ports: decisions });
  }
  return { source, allowedTargets: out, deniedTargets: denied, totalTargets: total };
}

/** The decision `analyzePort` reaches for one Service port, without explanations. */
function quickPortDecision(
  idx: PolicyIndex,
  pods: readonly Pod[],
  opts: { port: ServicePort; clients: readonly Client[] },
): Decision {
  const ds: Decision[] = [];
  for (const pod of pods) {
    const cp = containerPort(pod, opts.port);
    if (cp === undefined) continue;
    const s = inboundServer(idx, { pod, port: cp });
    for (const c of opts.clients) {
      ds.push(decideQuick(s, c, { clusterNetworks: idx.clusterNetworks }).decision);
    }
  }
  return opts.clients.length && ds.length ? combineDecisions(ds) : "undetermined";
}
