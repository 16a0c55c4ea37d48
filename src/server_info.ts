/**
 * What the MCP server says of itself in its `initialize` result (serverInfo, capabilities,
 * instructions) and the protocol versions it negotiates, without the SDK: src/server.ts
 * builds the SDK `Server` from these, and the stdio fast path (src/fast_start.ts) answers
 * `initialize` from them before the SDK is loaded. No SDK, zod or tool module is imported
 * here (tests/fast_start_test.ts checks the versions against the SDK's own).
 *
 * @module
 */
import type { ClusterSource } from "./kube/source.ts";
import type { ToolDeps } from "./tools/_spec.ts";
import { VERSION } from "./version.ts";

/** The SDK's (1.32.2) `LATEST_PROTOCOL_VERSION`: the answer to a version it does not know. */
export const LATEST_PROTOCOL_VERSION = "2025-11-25";

/** The SDK's (1.32.2) `SUPPORTED_PROTOCOL_VERSIONS`: a requested one of these is echoed. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = [
  LATEST_PROTOCOL_VERSION,
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  "2024-10-07",
];

/** The version the SDK's `Server` answers to an `initialize` asking for `requested`. */
export function negotiatedVersion(requested: unknown): string {
  return typeof requested === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
    ? requested
    : LATEST_PROTOCOL_VERSION;
}

/** The `serverInfo` of the `initialize` result (a fresh object). */
export function serverInfo(): { name: string; version: string; title: string } {
  return { name: "linkerd-mcp", version: VERSION, title: "Linkerd service mesh" };
}

/**
 * Every capability the server advertises, in the order the SDK lists them: tools and
 * logging, then what src/mcp_extras/register.ts adds (prompts, resources, completions;
 * the SDK merges its `EXTRA_CAPABILITIES` into these, which leaves them as they are).
 */
export function serverCapabilities(): Record<string, Record<string, unknown>> {
  return {
    tools: {},
    logging: {},
    prompts: { listChanged: false },
    resources: { listChanged: false, subscribe: false },
    completions: {},
  };
}

/** Whether `cluster` is the embedded demo mesh (the kind `sourceInfoOf` reports). */
export function isDemoSource(cluster: ClusterSource): boolean {
  return (cluster.sourceInfo?.()?.kind ?? cluster.kind) === "demo";
}

/** What the instructions say about choosing a cluster, when the server serves a set. */
function clustersNote(deps: Pick<ToolDeps, "clusters">): string {
  if (!deps.clusters) return "";
  return ' Every tool takes an optional "cluster" argument to read another cluster than the default; list_clusters names the clusters this server serves and the Links between them.';
}

/** The `instructions` of the `initialize` result for a server over `deps`. */
export function serverInstructions(
  deps: Pick<ToolDeps, "cluster" | "clusters" | "config">,
  notice?: string,
): string {
  const writes = deps.config.allowWrites === true;
  return "Inspect and explain a Linkerd service mesh: control-plane health (check_mesh_health), meshed services (list_meshed_services), whether one service may call another and why (analyze_connectivity, get_allowed_targets, get_allowed_sources), configuration mistakes (validate_mesh_config), and live traffic from Prometheus (get_service_metrics, analyze_traffic_flow, get_service_health_summary, get_top_services, get_traffic_trends), and who talks to whom with the policy verdict per edge and a Mermaid picture (get_mesh_topology). Prompts diagnose_denied_traffic, mesh_health_review and pre_upgrade_check gather the evidence first; resources linkerd://mesh/summary, linkerd://namespaces/{namespace}/policy and linkerd://validation/report give context." +
    (writes
      ? " Writes are ENABLED: apply_policies, enforce_policies and rollback_policies change policy resources (dry run by default; dry_run: false writes); every other tool is read-only."
      : " All tools are read-only.") +
    ` Cluster state comes from: ${deps.cluster.describe()}.` +
    clustersNote(deps) +
    (isDemoSource(deps.cluster) && !notice
      ? " NOTE: this is the embedded DEMO mesh, not a real cluster."
      : "") +
    (notice ? ` NOTE: ${notice}` : "");
}
