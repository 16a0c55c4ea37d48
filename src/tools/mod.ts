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

/** All tools the server offers. */
// deno-lint-ignore no-explicit-any
export function allTools(): ToolSpec<any, any>[] {
  return [...meshTools(), ...policyTools(), ...validateTools(), ...metricsTools()];
}
