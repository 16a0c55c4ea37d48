/**
 * Which Services a source may reach: every Service in every namespace, decided as the
 * target's proxy would (denied ones are only counted).
 *
 * @module
 */
import type { Pod } from "../mesh/pods.ts";
import type { ServiceRef } from "./analyze.ts";
import { resolveSource, type SourceRef } from "./sources.ts";
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
  /** The control-plane version the answer assumes. */
  assumes: string;
}

/**
 * Every Service (in every namespace, except the source itself) and whether the source
 * may reach it; denied targets are only counted.
 *
 * The source may be a Service, a workload, a pod, a ServiceAccount or an IP.
 *
 * @throws {NotFoundError} when the source does not exist.
 */
export function allowedTargets(idx: PolicyIndex, source: SourceRef): AllowedTargets {
  const src = resolveSource(idx, source);
  const selfKey = src.key;
  const clients = src.clients;
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
  const named: ServiceRef = {
    namespace: src.namespace,
    service: src.kind === "Service" ? src.name : `${src.kind.toLowerCase()}/${src.name}`,
  };
  return {
    source: named,
    allowedTargets: out,
    deniedTargets: denied,
    totalTargets: total,
    assumes: idx.model.version.text,
  };
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
