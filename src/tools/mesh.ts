/**
 * mesh tools (placeholder until implemented).
 *
 * @module
 */
import type { ToolSpec } from "./_spec.ts";

/** The mesh family's tools. */
// deno-lint-ignore no-explicit-any
export function meshTools(): ToolSpec<any, any>[] {
  return [];
}
