/**
 * policy tools (placeholder until implemented).
 *
 * @module
 */
import type { ToolSpec } from "./_spec.ts";

/** The policy family's tools. */
// deno-lint-ignore no-explicit-any
export function policyTools(): ToolSpec<any, any>[] {
  return [];
}
