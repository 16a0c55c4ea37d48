/**
 * `main.ts validate`: runs `validate_mesh_config` over the configured source and
 * prints findings for people (file:line, severity, rule, message) or as JSON. Exits
 * non-zero when there are errors, so a GitOps repository can gate pull requests.
 *
 * @module
 */
import type { ToolDeps } from "../tools/_spec.ts";
import { validateMeshConfig } from "../tools/validate.ts";
import type { ValidationReport } from "../validate/run.ts";

/** Options for {@linkcode runValidateCommand}. */
export interface ValidateCommandOptions {
  format: "text" | "json";
  namespace?: string;
}

/** Runs the validation and renders it; exit code 1 when any error was found. */
export async function runValidateCommand(
  deps: ToolDeps,
  opts: ValidateCommandOptions,
): Promise<{ output: string; exitCode: number }> {
  const report = await validateMeshConfig(deps, {
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  });
  const exitCode = report.summary.errors > 0 ? 1 : 0;
  if (opts.format === "json") return { output: JSON.stringify(report, null, 2) + "\n", exitCode };
  return { output: renderText(report), exitCode };
}

/** Renders a report as lines a person reads: `file:line: severity rule: message`. */
export function renderText(report: ValidationReport): string {
  const lines: string[] = [];
  for (const r of report.results) {
    for (const i of r.issues) {
      const where = i.file
        ? `${i.file}:${i.line ?? 1}`
        : `${r.namespace ? r.namespace + "/" : ""}${r.resourceType}/${r.name}`;
      const what = i.file ? ` ${r.resourceType}/${r.name}` : "";
      lines.push(`${where}: ${i.severity} [${i.rule}]${what}: ${i.message}`);
      lines.push(`    fix: ${i.remediation.split("\n").join("\n         ")}`);
      lines.push(`    see: ${i.url}`);
    }
  }
  for (const n of report.notes) lines.push(`note: ${n}`);
  const s = report.summary;
  lines.push(
    `${s.errors} error(s), ${s.warnings} warning(s), ${s.info} info in ${report.totalResources} resources (${report.validResources} valid) from ${report.source}`,
  );
  return lines.join("\n") + "\n";
}
