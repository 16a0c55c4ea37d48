/**
 * The policy lifecycle's read-only use cases: load the policy state through the
 * {@linkcode ClusterSource}, query Prometheus through the {@linkcode PromClient}, and
 * hand both to the pure analysis ({@linkcode analyzeAuditFlows}, {@linkcode generatePolicy}).
 * No I/O of their own: both clients are injected.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { ClusterSource } from "../kube/source.ts";
import type { PromClient } from "../metrics/prom_client.ts";
import { QueryRun, type RunReport, type TimeRange } from "../metrics/query_run.ts";
import { loadPolicyIndex } from "../policy/load.ts";
import { analyzeAuditFlows, type AuditFindings } from "./audit.ts";
import { type GeneratedPolicy, generatePolicy } from "./generate.ts";
import {
  auditHttpQuery,
  auditRequestsQuery,
  auditTcpQuery,
  edgesOf,
  flowsOf,
  inboundConnectionsQuery,
  inboundRequestsQuery,
  mergeFlows,
  outboundEdgesQuery,
  sumFlows,
} from "./observe.ts";

/** What the lifecycle use cases use (the tool's dependencies for one call). */
export interface LifecycleDeps {
  cluster: ClusterSource;
  config: Config;
  prom: PromClient;
  /** The evaluation time. */
  now: Date;
  signal: AbortSignal;
}

/** The answer of {@linkcode analyzeAudit}. */
export type AuditAnalysis = AuditFindings & RunReport & { timeRange: TimeRange };

/**
 * Which observed traffic enforcement would deny: the audit-credited requests and
 * connections of the window, re-evaluated with the policy model, each with a checked fix.
 *
 * @throws {KubeApiError} when the cluster cannot be read.
 * @throws {PrometheusUnavailableError} when Prometheus cannot answer.
 */
export async function analyzeAudit(
  deps: LifecycleDeps,
  opts: { namespace?: string; windowSeconds: number; server?: string },
): Promise<AuditAnalysis> {
  const run = new QueryRun(deps);
  const [loaded, http, tcp, requests] = await Promise.all([
    loadPolicyIndex(deps, {
      signal: deps.signal,
      ...(opts.namespace ? { fallbackNamespaces: [opts.namespace] } : {}),
    }),
    run.must(auditHttpQuery(opts.namespace, opts.windowSeconds)),
    run.must(auditTcpQuery(opts.namespace, opts.windowSeconds)),
    run.may(auditRequestsQuery(opts.namespace, opts.windowSeconds), "audit-credited request_total"),
  ]);
  const flows = mergeFlows(
    flowsOf(http, "http"),
    flowsOf(requests ?? [], "http"),
    flowsOf(tcp, "tcp"),
  );
  const findings = analyzeAuditFlows(loaded.idx.model, flows, {
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
    ...(opts.server !== undefined ? { server: opts.server } : {}),
    windowSeconds: opts.windowSeconds,
    now: deps.now,
  });
  return {
    ...findings,
    notes: [...loaded.notes, ...findings.notes],
    timeRange: run.timeRange(opts.windowSeconds),
    ...run.report(),
  };
}

/** The answer of {@linkcode generatePolicies}. */
export type GeneratedPolicies = Omit<GeneratedPolicy, "docs"> & RunReport & {
  timeRange: TimeRange;
};

/**
 * Least-privilege policy for a namespace (or one Service) from the window's traffic and
 * the current state, self-checked with the policy model.
 *
 * @throws {NotFoundError} when `targetService` does not exist.
 * @throws {KubeApiError} / {PrometheusUnavailableError} as above.
 */
export async function generatePolicies(
  deps: LifecycleDeps,
  opts: {
    namespace: string;
    targetService?: string;
    accessPolicy: "audit" | "deny";
    windowSeconds: number;
  },
): Promise<GeneratedPolicies & { docs: Record<string, unknown>[] }> {
  const run = new QueryRun(deps);
  const ns = opts.namespace;
  const [loaded, http, tcp, edges] = await Promise.all([
    loadPolicyIndex(deps, { signal: deps.signal, fallbackNamespaces: [ns] }),
    run.must(inboundRequestsQuery(ns, opts.windowSeconds)),
    run.must(inboundConnectionsQuery(ns, opts.windowSeconds)),
    run.may(outboundEdgesQuery(ns, opts.windowSeconds), "the clients' outbound edges"),
  ]);
  const flows = [...sumFlows(flowsOf(http, "http")), ...sumFlows(flowsOf(tcp, "tcp"))];
  const out = generatePolicy(loaded.idx.model, { flows, edges: edgesOf(edges ?? []) }, opts);
  return {
    ...out,
    notes: [...loaded.notes, ...out.notes],
    timeRange: run.timeRange(opts.windowSeconds),
    ...run.report(),
  };
}
