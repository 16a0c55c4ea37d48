/**
 * Evidence for prompts and resources: runs the server's own tools (the same
 * {@linkcode runTool} as `tools/call`) and keeps the fields a reader needs, so that a
 * prompt embeds facts, not a request to go and fetch them.
 *
 * @module
 */
import { runTool, type ToolDeps } from "../tools/_spec.ts";
import { loadTool } from "../tools/table.ts";

/** The outcome of one tool run as evidence: its data, or the error it gave. */
export type Evidence = { ok: true; data: Record<string, unknown> } | { ok: false; error: string };

/** Runs the read-only tool `name` with `args`; never throws. */
export async function evidence(
  name: string,
  args: Record<string, unknown>,
  deps: ToolDeps,
  signal?: AbortSignal,
): Promise<Evidence> {
  const spec = await loadTool(name);
  if (!spec) return { ok: false, error: `no tool named ${name}` };
  const out = await runTool(spec, args, deps, signal ? { signal } : {});
  return out.ok
    ? { ok: true, data: out.data as Record<string, unknown> }
    : { ok: false, error: out.error };
}

/** A fenced block titled `title`: the picked data as JSON, or the tool's error. */
export function block(
  title: string,
  e: Evidence,
  pick: (d: Record<string, unknown>) => unknown = (d) => d,
): string {
  if (!e.ok) return `### ${title}\nNot available: ${e.error}\n`;
  return `### ${title}\n\`\`\`json\n${JSON.stringify(pick(e.data), null, 1)}\n\`\`\`\n`;
}

/** `a/b` → `{namespace: a, name: b}`; `a/kind/name` → a workload. */
export function parseEndpoint(
  text: string,
): { namespace: string; service?: string; workload?: string } | undefined {
  const parts = text.trim().split("/");
  if (parts.length === 2 && parts[0] && parts[1]) {
    return { namespace: parts[0], service: parts[1] };
  }
  if (parts.length === 3 && parts[0] && parts[1] && parts[2]) {
    return { namespace: parts[0], workload: `${parts[1]}/${parts[2]}` };
  }
  return undefined;
}

type Rec = Record<string, unknown>;
const arr = (v: unknown): Rec[] => (Array.isArray(v) ? v as Rec[] : []);

/** check_mesh_health, compact: the summary, versions and every check that is not ok. */
export function pickHealth(d: Rec) {
  const checks = arr(d.checks);
  return {
    summary: d.summary,
    healthy: d.healthy,
    controlPlaneVersion: d.controlPlaneVersion,
    proxyVersion: d.proxyVersion,
    checksOk: checks.filter((c) => c.status === "ok").length,
    notOk: checks.filter((c) => c.status !== "ok").map((c) => ({
      status: c.status,
      name: c.name,
      message: c.message,
      hint: c.hint,
    })),
    pods: {
      total: d.totalPods,
      healthy: d.healthyPods,
      unhealthy: d.unhealthyPods,
      unknown: d.unknownPods,
    },
  };
}

/** validate_mesh_config, compact: counts, and every error and warning. */
export function pickValidation(d: Rec, withInfo = false) {
  const issues: Rec[] = [];
  for (const r of arr(d.results)) {
    for (const i of arr(r.issues)) {
      if (!withInfo && i.severity === "info") continue;
      issues.push({
        severity: i.severity,
        resource: `${r.resourceType}/${r.namespace ? `${r.namespace}/` : ""}${r.name}`,
        code: i.code,
        message: i.message,
        remediation: i.remediation,
      });
    }
  }
  return { summary: d.summary, totalResources: d.totalResources, issues, notes: d.notes };
}
