/**
 * validate tools (placeholder until implemented).
 *
 * @module
 */
import type { ToolSpec } from "./_spec.ts";

/** The validate family's tools. */
// deno-lint-ignore no-explicit-any
export function validateTools(): ToolSpec<any, any>[] {
  return [];
}
