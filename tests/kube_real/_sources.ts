/**
 * Helpers for the real-API-server suites: the tools run in-process over a given source,
 * and answers compared without what legitimately differs between sources (where the
 * data came from, ages and timestamps).
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { createLiveSource, type LiveSource } from "../../src/kube/live.ts";
import type { ClusterSource } from "../../src/kube/source.ts";
import { SILENT } from "../../src/log.ts";
import { runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { allTools } from "../../src/tools/mod.ts";
import { NO_PROMETHEUS } from "../_helpers.ts";

// deno-lint-ignore no-explicit-any
export type Data = any;

/** Tool dependencies over `cluster` (no Prometheus). */
export function depsFor(cluster: ClusterSource, env: Record<string, string> = {}): ToolDeps {
  return {
    cluster,
    config: loadConfig(env),
    prom: NO_PROMETHEUS,
    log: SILENT,
    now: () => new Date(),
  };
}

/** A live source over a kubeconfig (no cache, so every call reaches the API server). */
export function liveSource(
  kubeconfigPath: string,
  opts: { pageSize?: number; timeoutMs?: number } = {},
): Promise<LiveSource> {
  return createLiveSource({
    kubeconfigPath,
    env: {},
    timeoutMs: opts.timeoutMs ?? 15_000,
    cacheTtlMs: 0,
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
  });
}

const tools = new Map(allTools().map((t) => [t.name, t]));

/** Runs a tool; the outcome as `{ok, data}` or `{ok: false, error}`. */
export async function call(
  deps: ToolDeps,
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ ok: true; data: Data } | { ok: false; error: string }> {
  const spec = tools.get(name);
  assert.ok(spec, `no tool ${name}`);
  return await runTool(spec, args, deps) as { ok: true; data: Data } | {
    ok: false;
    error: string;
  };
}

/** Runs a tool that must succeed; its structured data. */
export async function ok(
  deps: ToolDeps,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Data> {
  const out = await call(deps, name, args);
  assert.ok(out.ok, `${name} ${JSON.stringify(args)} failed: ${!out.ok ? out.error : ""}`);
  return out.data;
}

/** Keys whose values say where data came from or when: not part of the answer. */
const VOLATILE = new Set([
  "dataSource",
  "source",
  "sourceDescription",
  "generatedAt",
  "checkedAt",
  // Where in the manifest files an object is: only the manifests source knows.
  "file",
  "line",
]);

/** Notes only the manifests source adds (it cannot know that it holds the whole cluster). */
const MANIFEST_NOTE = /^Manifests may not hold the whole cluster/;
/** How much of a message shortened to fit the answer budget is compared. */
const FITTED_PREFIX = 120;

/**
 * The answer without provenance and time: `dataSource`, the source description, ISO
 * timestamps and ages ("3d", "5m") are replaced, so answers from different sources compare.
 */
export function normalized(data: Data, source?: ClusterSource): Data {
  const desc = source?.describe();
  const walk = (v: Data, key?: string): Data => {
    if (Array.isArray(v)) {
      return v.filter((x) => !(key === "notes" && MANIFEST_NOTE.test(String(x)))).map((x) =>
        walk(x)
      );
    }
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (VOLATILE.has(k) && (k !== "source" || typeof x === "string")) continue;
        out[k] = walk(x, k);
      }
      return out;
    }
    if (typeof v === "string") {
      let s = v;
      if (desc) s = s.split(desc).join("<source>");
      s = s.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>");
      if (key && /^age$|Age$|^since$|^uptime$/.test(key)) s = "<age>";
      // check_mesh_health fits its default answer to 8 KB by shortening passed checks'
      // messages to one length, which depends on the whole answer's size (a real server's
      // answer differs in a few bytes elsewhere): compare the start every source keeps.
      if (key === "note" && s.startsWith("To fit the answer")) s = "<fitted to the budget>";
      if (key === "message" && s.length > FITTED_PREFIX) s = `${s.slice(0, FITTED_PREFIX)}…`;
      // Per-pod clauses ("1 pod(s) ... | 1 pod(s) ...") come in the source's list order: a
      // real API server lists by name, the demo and manifests in file order.
      s = s.split("\n").map((line) =>
        line.includes(" | ")
          ? line.replace(
            /^(.*?: )?(.*)$/,
            (_m, head = "", rest: string) =>
              head + rest.replace(/\.$/, "").split(" | ").sort().join(" | ") +
              (rest.endsWith(".") ? "." : ""),
          )
          : line
      ).join("\n");
      return s;
    }
    if (typeof v === "number" && key && /^age|Age$|Seconds$/.test(key)) return 0;
    return v;
  };
  return walk(data);
}
