/**
 * Runs the rule catalogue over a cluster state and shapes the findings into the
 * `validate_mesh_config` report (the original server's shape, plus rule, url, file, line).
 *
 * @module
 */
import { POLICY_KEYS, type ResourceKey } from "../kube/resources.ts";
import type { ClusterState } from "../kube/state.ts";
import { type KubeObject, positionOf } from "../kube/types.ts";
import { fieldLine } from "../kube/yaml_docs.ts";
import type { MeshConfig } from "../mesh/config.ts";
import { RULES, UNRESOLVED } from "./catalogue.ts";
import { deduplicate } from "./duplicates.ts";
import { ValidationContext, WORKLOAD_KEYS } from "./context.ts";
import type { Finding, Rule, Severity } from "./types.ts";
import { kindsFor, RESOURCE_TYPE_FILTERS } from "./filters.ts";

export { RESOURCE_TYPE_FILTERS };

/** Resource types `validate_mesh_config` loads. */
export const VALIDATE_RESOURCES: readonly ResourceKey[] = [
  "namespaces",
  "pods",
  "services",
  "configmaps",
  ...WORKLOAD_KEYS,
  ...POLICY_KEYS,
  "serviceprofiles",
  "egressnetworks",
];

/**
 * Resource types the identity rules read when they may (listing them can be forbidden
 * by RBAC; the rules that need them then stay silent).
 */
export const OPTIONAL_VALIDATE_RESOURCES: readonly ResourceKey[] = ["serviceaccounts"];

/** Options for {@linkcode validate}. */
export interface ValidateOptions {
  mesh: MeshConfig;
  /** The state may hold only part of the cluster (manifests). */
  partial: boolean;
  /** The state was loaded for this namespace only. */
  namespace?: string;
  /** Rules to run; all by default. */
  rules?: readonly Rule[];
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Findings of the whole catalogue per state and options (a state reused while unchanged). */
const memo = new WeakMap<ClusterState, { key: string; findings: readonly Finding[] }>();

/**
 * Runs the rules and returns findings in a deterministic order. With the whole catalogue,
 * the findings are computed once per state object and options (mesh settings by value).
 */
export function validate(state: ClusterState, opts: ValidateOptions): Finding[] {
  if (opts.rules) return run(state, opts);
  const key = JSON.stringify([opts.mesh, opts.partial, opts.namespace ?? null]);
  const hit = memo.get(state);
  if (hit?.key === key) return [...hit.findings];
  const findings = run(state, opts);
  memo.set(state, { key, findings: [...findings] });
  return findings;
}

function run(state: ClusterState, opts: ValidateOptions): Finding[] {
  const unique = deduplicate(state);
  const ctx = new ValidationContext(unique.state, {
    mesh: opts.mesh,
    partial: opts.partial,
    duplicates: unique.duplicates,
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
  });
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const rule of opts.rules ?? RULES) {
    for (const hit of rule.check(ctx)) {
      const meta = hit.unresolved ? UNRESOLVED : rule;
      const f: Finding = {
        rule: meta.id,
        severity: meta.severity,
        message: hit.unresolved
          ? `${hit.message} — unless it exists outside the manifests given (${rule.id})`
          : hit.message,
        field: hit.field ?? rule.field,
        remediation: hit.remediation ?? rule.remediation,
        url: rule.docs,
        object: hit.obj,
      };
      const key = `${f.rule}|${objectId(f.object)}|${f.field}|${f.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(f);
    }
  }
  return out.sort(compareFindings);
}

/**
 * A finding's field as a path of map keys and list indexes:
 * `metadata.annotations[config.linkerd.io/opaque-ports]` → `["metadata", "annotations",
 * "config.linkerd.io/opaque-ports"]`, `spec.parentRefs[1].group` → `["spec", "parentRefs", 1,
 * "group"]`. The path stops at an unknown list index (`[]`) or a wildcard (`*`).
 */
export function fieldPath(field: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) {
    const key = m[1] ?? m[2] ?? "";
    if (key === "" || key === "*") break;
    out.push(m[2] !== undefined && /^\d+$/.test(key) ? Number(key) : key);
  }
  return out;
}

function objectId(o: KubeObject): string {
  return `${o.metadata.namespace ?? ""}/${o.kind}/${o.metadata.name}`;
}

function compareFindings(a: Finding, b: Finding): number {
  return cmp(objectId(a.object), objectId(b.object)) ||
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || cmp(a.rule, b.rule) ||
    cmp(a.field, b.field) || cmp(a.message, b.message);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One issue as reported. */
export interface ReportIssue {
  severity: Severity;
  message: string;
  field: string;
  remediation: string;
  /** The rule id (kept under the original `code` name too). */
  code: string;
  rule: string;
  url: string;
  file?: string;
  /** Line of the offending field when the manifest has it, else of the object. */
  line?: number;
}

/** The result for one resource. */
export interface ReportResult {
  resourceType: string;
  name: string;
  namespace: string;
  valid: boolean;
  file?: string;
  line?: number;
  issues: ReportIssue[];
}

/** The report `validate_mesh_config` returns. */
export interface ValidationReport {
  totalResources: number;
  validResources: number;
  results: ReportResult[];
  summary: { errors: number; warnings: number; info: number };
  source: string;
  notes: string[];
}

/** Options for {@linkcode buildReport}. */
export interface BuildReportOptions {
  resourceType?: string;
  resourceName?: string;
  includeWarnings?: boolean;
  namespace?: string;
  notes?: string[];
}

/** Objects the validator reports on even when they have no findings. */
function validatedObjects(state: ClusterState): KubeObject[] {
  const out: KubeObject[] = [];
  const keys: ResourceKey[] = [
    "namespaces",
    ...WORKLOAD_KEYS,
    ...POLICY_KEYS,
    "serviceprofiles",
    "egressnetworks",
  ];
  for (const key of keys) {
    for (const o of state.objects[key] ?? []) {
      if ((key === "replicasets" || key === "jobs") && o.metadata.ownerReferences?.length) continue;
      out.push(o);
    }
  }
  for (const p of state.objects.pods ?? []) if (!p.metadata.ownerReferences?.length) out.push(p);
  return out;
}

/** Shapes findings into the report, applying the tool's filters. */
export function buildReport(
  state: ClusterState,
  findings: readonly Finding[],
  opts: BuildReportOptions = {},
): ValidationReport {
  const kinds = kindsFor(opts.resourceType);
  const byObj = new Map<KubeObject, Finding[]>();
  for (const o of validatedObjects(state)) byObj.set(o, []);
  for (const f of findings) {
    const list = byObj.get(f.object);
    if (list) list.push(f);
    else byObj.set(f.object, [f]);
  }
  const results: ReportResult[] = [];
  const summary = { errors: 0, warnings: 0, info: 0 };
  for (const [obj, fs] of byObj) {
    const ns = obj.metadata.namespace ?? "";
    if (opts.namespace !== undefined) {
      const inNs = obj.kind === "Namespace"
        ? obj.metadata.name === opts.namespace
        : ns === opts.namespace;
      if (!inNs) continue;
    }
    if (kinds && !kinds.includes(obj.kind)) continue;
    if (opts.resourceName && obj.metadata.name !== opts.resourceName) continue;
    const pos = positionOf(obj);
    const issues = fs
      .filter((f) => opts.includeWarnings !== false || f.severity === "error")
      .map((f): ReportIssue => ({
        severity: f.severity,
        message: f.message,
        field: f.field,
        remediation: f.remediation,
        code: f.rule,
        rule: f.rule,
        url: f.url,
        ...(pos ? { file: pos.file, line: fieldLine(obj, fieldPath(f.field)) ?? pos.line } : {}),
      }));
    for (const i of issues) {
      if (i.severity === "error") summary.errors++;
      else if (i.severity === "warning") summary.warnings++;
      else summary.info++;
    }
    results.push({
      resourceType: obj.kind,
      name: obj.metadata.name,
      namespace: ns,
      valid: !issues.some((i) => i.severity === "error"),
      ...(pos ? { file: pos.file, line: pos.line } : {}),
      issues,
    });
  }
  results.sort((a, b) =>
    cmp(a.namespace, b.namespace) || cmp(a.resourceType, b.resourceType) || cmp(a.name, b.name) ||
    cmp(a.file ?? "", b.file ?? "") || (a.line ?? 0) - (b.line ?? 0)
  );
  return {
    totalResources: results.length,
    validResources: results.filter((r) => r.valid).length,
    results,
    summary,
    source: state.source,
    notes: opts.notes ?? [],
  };
}

/** Findings of one rule at one severity, over a whole report. */
export interface RuleCount {
  rule: string;
  severity: Severity;
  count: number;
}

/** Issue counts per rule and severity: errors first, then the most frequent. */
export function countByRule(results: readonly ReportResult[]): RuleCount[] {
  const counts = new Map<string, RuleCount>();
  for (const r of results) {
    for (const i of r.issues) {
      const key = `${i.severity}|${i.rule}`;
      const c = counts.get(key);
      if (c) c.count++;
      else counts.set(key, { rule: i.rule, severity: i.severity, count: 1 });
    }
  }
  return [...counts.values()].sort((a, b) =>
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.count - a.count ||
    cmp(a.rule, b.rule)
  );
}

/**
 * The report's results, most useful first: resources with errors, then with warnings,
 * then with info, then clean ones; each group in the report's order. Stable.
 */
export function worstFirst(results: readonly ReportResult[]): ReportResult[] {
  const rank = (r: ReportResult) =>
    r.issues.length === 0 ? 3 : Math.min(...r.issues.map((i) => SEVERITY_ORDER[i.severity]));
  return results.map((r, i) => ({ r, i, k: rank(r) })).sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.r);
}
