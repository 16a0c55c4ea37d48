/**
 * Load problems of a manifests source (files that could not be parsed, were skipped, or
 * passed a limit) as `validate_mesh_config` results, so that a bad file never hides
 * silently and every other file is still validated. (Moved here from `src/kube` so that
 * it shapes the validator's own report types.)
 *
 * @module
 */
import { MANIFEST_RESULT_TYPE } from "../kube/load_problems.ts";
import type { LoadProblem } from "../kube/yaml_docs.ts";
import type { ReportResult, ValidationReport } from "./run.ts";

const DOCS_URL = "https://kubernetes.io/docs/concepts/overview/working-with-objects/";

const REMEDIATION: Record<LoadProblem["rule"], string> = {
  "manifest-parse-error":
    'Fix the YAML or JSON at that line (try "kubectl apply --dry-run=client -f FILE"); until then the objects of that document are not validated',
  "manifest-limit":
    "Split the file or validate the folders separately (see MAX_MANIFEST_* in src/kube/manifests.ts for the limits)",
  "manifest-unreadable": "Make the file or folder readable by the user running linkerd-mcp",
  "manifest-skipped":
    "Nothing to do if this is intended; otherwise name the target path with --manifests, or make the document a Kubernetes object",
};

/**
 * Adds load problems to a validation report: one result per file (resourceType
 * `ManifestFile`, name the file), first, whatever the filters, since a file that was
 * not read may hold any resource. Warnings are left out when `includeWarnings` is
 * false. Counts and a note are updated.
 */
export function withLoadProblems(
  report: ValidationReport,
  problems: readonly LoadProblem[],
  opts: { includeWarnings?: boolean } = {},
): ValidationReport {
  const kept = problems.filter((p) => opts.includeWarnings !== false || p.severity === "error");
  if (!kept.length) return report;
  const byFile = new Map<string, ReportResult>();
  const summary = { ...report.summary };
  for (const p of kept) {
    const at = p.line !== undefined ? { line: p.line } : {};
    let r = byFile.get(p.file);
    if (!r) {
      r = {
        resourceType: MANIFEST_RESULT_TYPE,
        name: p.file,
        namespace: "",
        valid: true,
        file: p.file,
        ...at,
        issues: [],
      };
      byFile.set(p.file, r);
    }
    r.issues.push({
      severity: p.severity,
      message: p.message,
      field: "",
      remediation: REMEDIATION[p.rule],
      code: p.rule,
      rule: p.rule,
      url: DOCS_URL,
      file: p.file,
      ...at,
    });
    if (p.severity === "error") {
      r.valid = false;
      summary.errors++;
    } else summary.warnings++;
  }
  const added = [...byFile.values()];
  for (const r of added) {
    r.issues.sort((a, b) => (a.severity === "error" ? 0 : 1) - (b.severity === "error" ? 0 : 1));
  }
  const errorFiles = added.filter((r) => !r.valid).length;
  const notes = errorFiles
    ? [
      `${errorFiles} manifest ${
        errorFiles === 1 ? "file" : "files"
      } could not be fully read (see the ${MANIFEST_RESULT_TYPE} results): objects in what was not read are not validated, and references to them may be reported as missing`,
    ]
    : [];
  return {
    ...report,
    totalResources: report.totalResources + added.length,
    validResources: report.validResources + added.filter((r) => r.valid).length,
    results: [...added, ...report.results],
    summary,
    notes: [...notes, ...report.notes],
  };
}
