/**
 * The tool table as the server needs it before the first call, without loading a single
 * tool module: the names and the advertised `tools/list` entries come from
 * `listing.gen.ts` (written from {@linkcode toolListing} in `listing.ts`, kept equal by
 * `tests/tools_listing_test.ts`); the specs themselves (`mod.ts`, with every handler's
 * domain) are imported on the first call. This keeps `initialize` and `tools/list` off the
 * cost of the tools (see `bench/cold_start.ts`).
 *
 * @module
 */
import type { ToolSpec } from "./_spec.ts";
import { TOOL_LISTING_JSON, WRITE_TOOL_NAMES } from "./listing.gen.ts";

/** One entry of `tools/list`, as JSON. */
export interface ToolListing {
  name: string;
  title: string;
  description: string;
  inputSchema: { type: "object"; [k: string]: unknown };
  outputSchema: { type: "object"; [k: string]: unknown };
  annotations: Record<string, unknown>;
}

let all: ToolListing[] | undefined;
const listings = new Map<boolean, ToolListing[]>();

/**
 * The advertised tool table, equal to {@linkcode toolListing}`(writes)` (the write tools
 * only with `writes`). The same array on every call.
 */
export function listedTools(writes = false): ToolListing[] {
  const cached = listings.get(writes);
  if (cached) return cached;
  all ??= JSON.parse(TOOL_LISTING_JSON) as ToolListing[];
  const listing = writes ? all : all.filter((t) => !isWriteTool(t.name));
  listings.set(writes, listing);
  return listing;
}

/** The tool names, in the table's order (the write tools only with `writes`). */
export function toolNames(writes = false): string[] {
  return listedTools(writes).map((t) => t.name);
}

/** Whether `name` is a write tool (callable only with `--allow-writes`). */
export function isWriteTool(name: string): boolean {
  return (WRITE_TOOL_NAMES as readonly string[]).includes(name);
}

/** The tool table module (`mod.ts`), imported on first use. */
export function loadToolModule(): Promise<typeof import("./mod.ts")> {
  return import("./mod.ts");
}

// deno-lint-ignore no-explicit-any
const specs = new Map<boolean, Promise<Map<string, ToolSpec<any, any>>>>();

/** The tool specs by name (the write tools only with `writes`), loaded on the first call. */
// deno-lint-ignore no-explicit-any
export function loadTools(writes = false): Promise<Map<string, ToolSpec<any, any>>> {
  let loaded = specs.get(writes);
  if (!loaded) {
    loaded = loadToolModule().then((m) => new Map(m.allTools({ writes }).map((t) => [t.name, t])));
    // A failed import is not kept: the next call tries again.
    loaded.catch(() => specs.delete(writes));
    specs.set(writes, loaded);
  }
  return loaded;
}
