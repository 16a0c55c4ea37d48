/**
 * metrics tools (placeholder until implemented).
 *
 * @module
 */
import type { ToolSpec } from "./_spec.ts";

/** The metrics family's tools. */
// deno-lint-ignore no-explicit-any
export function metricsTools(): ToolSpec<any, any>[] {
  return [];
}
