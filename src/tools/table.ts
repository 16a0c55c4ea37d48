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
import { TOOL_GROUP_OF, TOOL_LISTING_JSON, WRITE_TOOL_NAMES } from "./listing.gen.ts";

/** A tool spec of any arguments and result. */
// deno-lint-ignore no-explicit-any
type AnySpec = ToolSpec<any, any>;

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

/** The tool families, in the table's order (`TOOL_GROUPS` in `mod.ts` builds them). */
export const TOOL_GROUP_NAMES = [
  "mesh",
  "policy",
  "validate",
  "metrics",
  "topology",
  "lifecycle",
  "clusters",
  "writes",
] as const;

/** A tool family: the tools of one module of `src/tools/`. */
export type ToolGroup = typeof TOOL_GROUP_NAMES[number];

/**
 * Each family's specs from its own module, so that a call loads the module (and domain) of
 * its tool only: `check_mesh_health` never loads the validation rules or the write tools.
 */
// deno-lint-ignore no-explicit-any
const GROUP_LOADERS: Record<ToolGroup, () => Promise<ToolSpec<any, any>[]>> = {
  mesh: () => import("./mesh.ts").then((m) => m.meshTools()),
  policy: () => import("./policy.ts").then((m) => m.policyTools()),
  validate: () => import("./validate.ts").then((m) => m.validateTools()),
  metrics: () => import("./metrics.ts").then((m) => m.metricsTools()),
  topology: () => import("./topology.ts").then((m) => m.topologyTools()),
  lifecycle: () => import("./lifecycle.ts").then((m) => m.lifecycleTools()),
  clusters: () => import("./clusters.ts").then((m) => m.clusterTools()),
  writes: async () => {
    const [w, l] = await Promise.all([import("./writes.ts"), import("../lifecycle/use_cases.ts")]);
    return w.writeTools({ analyzeAudit: l.analyzeAudit });
  },
};

// deno-lint-ignore no-explicit-any
const groups = new Map<ToolGroup, Promise<ToolSpec<any, any>[]>>();

/** Whether a tool was looked up (a call came): {@linkcode preloadTools} then stops. */
let called = false;

/** Whether a tool call has come (warm-ups stop then: the call loads what it needs). */
export function toolCalled(): boolean {
  return called;
}

/**
 * The spec of tool `name` (a write tool only with `writes`), loading its family's module on
 * first use; undefined for a name that is not a tool.
 */
export async function loadTool(name: string, writes = false): Promise<AnySpec | undefined> {
  called = true;
  const group = Object.hasOwn(TOOL_GROUP_OF, name)
    ? (TOOL_GROUP_OF as Record<string, ToolGroup>)[name]
    : undefined;
  if (!group || (!writes && isWriteTool(name))) return undefined;
  return (await loadGroup(group)).find((s) => s.name === name);
}

function loadGroup(group: ToolGroup): Promise<AnySpec[]> {
  let loaded = groups.get(group);
  if (!loaded) {
    loaded = GROUP_LOADERS[group]();
    // A failed import is not kept: the next call tries again.
    loaded.catch(() => groups.delete(group));
    groups.set(group, loaded);
  }
  return loaded;
}

/**
 * Loads the tool families' modules one by one while the client has not called a tool yet
 * (it is reading the listing, or its model is thinking), so that the first call finds its
 * code ready. Stops at the first call: from then on each family loads on its own first use,
 * and a call never waits behind the loading of families it does not need.
 */
export async function preloadTools(
  writes = false,
  hooks: { load?: (group: ToolGroup) => Promise<unknown>; stopped?: () => boolean } = {},
): Promise<void> {
  const load = hooks.load ?? loadGroup;
  const stopped = hooks.stopped ?? (() => called);
  for (const group of TOOL_GROUP_NAMES) {
    if (stopped()) return;
    if (group === "writes" && !writes) continue;
    await load(group).catch(() => {});
    // A macrotask between families: a call that came in is read before the next one.
    await new Promise((r) => setTimeout(r, 0));
  }
}
