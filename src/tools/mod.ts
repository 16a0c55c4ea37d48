/**
 * The tool table: every family's tools, in a stable order.
 *
 * @module
 */
import type { ToolSpec } from "./_spec.ts";
import { meshTools } from "./mesh.ts";
import { policyTools } from "./policy.ts";
import { validateTools } from "./validate.ts";
import { metricsTools } from "./metrics.ts";
import { topologyTools } from "./topology.ts";
import { lifecycleTools } from "./lifecycle.ts";
import { clusterTools } from "./clusters.ts";
import { WRITE_TOOL_NAMES, writesDisabledMessage, writeTools } from "./writes.ts";
import { analyzeAudit } from "../lifecycle/use_cases.ts";
import { TOOL_GROUP_NAMES, type ToolGroup } from "./table.ts";

export { WRITE_TOOL_NAMES, writesDisabledMessage };

/**
 * The tool families, in the table's order; each builds its specs. `table.ts` loads them one
 * by one (only the family of the tool called), and `listing.gen.ts` says which family
 * holds which tool (`TOOL_GROUP_OF`, written by scripts/gen_listing.ts from this table).
 */
// deno-lint-ignore no-explicit-any
export const TOOL_GROUPS: Record<ToolGroup, () => ToolSpec<any, any>[]> = {
  mesh: meshTools,
  policy: policyTools,
  validate: validateTools,
  metrics: metricsTools,
  topology: topologyTools,
  lifecycle: lifecycleTools,
  clusters: clusterTools,
  writes: () => writeTools({ analyzeAudit }),
};

/** Every tool spec, in a stable order (the write tools only with `writes`). */
// deno-lint-ignore no-explicit-any
export function allTools(opts: { writes?: boolean } = {}): ToolSpec<any, any>[] {
  return TOOL_GROUP_NAMES.filter((g) => g !== "writes" || opts.writes)
    .flatMap((g) => TOOL_GROUPS[g]());
}

export function isWriteTool(name: string): boolean {
  return (WRITE_TOOL_NAMES as readonly string[]).includes(name);
}
