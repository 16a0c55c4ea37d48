/**
 * Linkerd inbound authorization, computed as the policy controller and proxy do:
 * build a {@linkcode PolicyIndex} once per cluster state, then ask
 * {@linkcode analyzeAccess}, {@linkcode allowedTargets} or {@linkcode allowedSources}.
 * Pure: no I/O, no Kubernetes client.
 *
 * @module
 */
export { buildPolicyIndex } from "./policy_index.ts";
export type { BuildPolicyIndexOptions, PolicyIndex } from "./policy_index.ts";
export { analyzeAccess } from "./analyze.ts";
export type { AccessAnalysis, AnalyzeAccessOptions, PortAnalysis, ServiceRef } from "./analyze.ts";
export { allowedTargets } from "./allowed_targets.ts";
export type { AllowedTargets, TargetEntry } from "./allowed_targets.ts";
export { allowedSources } from "./allowed_sources.ts";
export type { AllowedSources, SourceEntry } from "./allowed_sources.ts";
export { inboundServer } from "./inbound.ts";
export type { Client, Decision, InboundServer } from "./types.ts";
export { inboundPolicy, serverMessage } from "./inbound_api.ts";
export type { InboundPolicyQuery, InboundPolicyView } from "./inbound_api.ts";
export { resolveSource, SOURCE_WORKLOAD_KINDS, workloadKind } from "./sources.ts";
export type { ResolvedSource, SourceRef } from "./sources.ts";
export type { PolicyModel } from "./model/types.ts";
export { policyModel } from "./model/build.ts";
