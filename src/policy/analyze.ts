/**
 * "Can Service A talk to Service B, and if not, why?": every source pod against every
 * target pod and port, as the target's proxy would decide it.
 *
 * @module
 */
import type { Pod } from "../mesh/pods.ts";
import { podIsMeshed } from "./clients.ts";
import { requireService, type ResolvedSource, resolveSource, type SourceRef } from "./sources.ts";

export { requireService };
import { inboundServer } from "./inbound.ts";
import { analyzePort, type PortAnalysis } from "./port_analysis.ts";
import type { PolicyIndex } from "./policy_index.ts";
import { combineDecisions, servicePorts } from "./service_ports.ts";
import type { Decision } from "./types.ts";

export type { PortAnalysis, ServerInForce } from "./port_analysis.ts";

export type { ServiceRef } from "./sources.ts";
import type { ServiceRef } from "./sources.ts";

/** Summary of one side of the analysis. */
export interface EndpointSummary extends ServiceRef {
  /** `Service`, or the source's kind (a workload kind, `Pod`, `ServiceAccount`, `IP`). */
  kind?: string;
  pods: number;
  meshedPods: number;
  /** mTLS identities of the pods (source only). */
  identities: string[];
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
  /** The control-plane version the answer assumes, in a sentence. */
  assumes: string;
}

/** Options for {@linkcode analyzeAccess}. */
export interface AnalyzeAccessOptions {
  /**
   * A Service, workload, pod, ServiceAccount or IP; or a source already resolved to the
   * clients the target's proxy sees (a synthetic client, e.g. a multicluster gateway
   * presenting its own identity: `src/multicluster/connectivity.ts`).
   */
  source: SourceRef | ResolvedSource;
  target: ServiceRef;
  /** A Service port number or name (or a container port); all ports when absent. */
  port?: number | string;
  /** Skip building suggestions (bulk queries). */
  suggestions?: boolean;
}

function summary(idx: PolicyIndex, ref: ServiceRef, withIds: boolean): EndpointSummary {
  const pods = idx.servicePods.get(`${ref.namespace}/${ref.service}`) ?? [];
  return {
    ...ref,
    pods: pods.length,
    meshedPods: pods.filter((p) => podIsMeshed(p)).length,
    identities: withIds ? [] : [],
  };
}

/** The summary of a resolved source. */
export function sourceSummary(src: ResolvedSource): EndpointSummary {
  const pods = src.clients.reduce((n, c) => n + c.pods.length, 0);
  const meshed = src.clients.reduce((n, c) => n + (c.meshed ? c.pods.length : 0), 0);
  return {
    namespace: src.namespace,
    service: src.kind === "Service" ? src.name : `${src.kind.toLowerCase()}/${src.name}`,
    ...(src.kind !== "Service" ? { kind: src.kind } : {}),
    pods,
    meshedPods: meshed,
    identities: [...new Set(src.clients.flatMap((c) => (c.identity ? [c.identity] : [])))].sort(),
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
        const s = inboundServer(idx, { pod, port: cp });
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
  const src = "clients" in opts.source ? opts.source : resolveSource(idx, opts.source);
  const svc = requireService(idx, { ...opts.target, role: "target" });
  const pods = idx.servicePods.get(`${opts.target.namespace}/${opts.target.service}`) ?? [];
  const clients = src.clients;
  const ports = servicePorts(svc, {
    pods,
    ...(opts.port !== undefined ? { wanted: opts.port } : {}),
  })
    .map((port) =>
      analyzePort(idx, { svc, pods }, {
        port,
        clients,
        sourceService: src.name,
        sourceKind: src.kind,
        ...(opts.suggestions !== undefined ? { suggestions: opts.suggestions } : {}),
      })
    );
  const verdict = ports.length ? combineDecisions(ports.map((p) => p.decision)) : "undetermined";
  const source = sourceSummary(src);
  const target = summary(idx, opts.target, false);
  const assumes = idx.model.version.text;
  return {
    verdict,
    allowed: verdict === "allowed" || verdict === "audit",
    source,
    target,
    ports,
    policies: policiesOf(idx, pods, ports),
    explanation: `${explain(verdict, { source, target, ports })}\n(${assumes}.)`,
    assumes,
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
      lines.push(
        `To allow it: ${
          p.suggestion.split("\n")[0]!.replace(/:$/, "")
        } (YAML in ports[].suggestion).`,
      );
    }
  }
  return lines.join("\n");
}
