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

export { WRITE_TOOL_NAMES, writesDisabledMessage };

/**
 * All tools the server offers. The write tools only with `writes: true` (`--allow-writes`):
 * otherwise they are neither listed nor callable.
 */
// deno-lint-ignore no-explicit-any
export function allTools(opts: { writes?: boolean } = {}): ToolSpec<any, any>[] {
  return [
    ...meshTools(),
    ...policyTools(),
    ...validateTools(),
    ...metricsTools(),
    ...topologyTools(),
    ...lifecycleTools(),
    ...clusterTools(),
    ...(opts.writes ? writeTools({ analyzeAudit }) : []),
  ];
}

/** Whether `name` is a write tool (refused with {@linkcode writesDisabledMessage} when off). */
export function isWriteTool(name: string): boolean {
  return (WRITE_TOOL_NAMES as readonly string[]).includes(name);
}
