/**
 * `main.ts validate`: runs `validate_mesh_config` over the configured source and
 * prints findings for people (file:line, severity, rule, message) or as JSON, so a
 * GitOps repository can gate pull requests. Exit codes ({@linkcode VALIDATE_EXIT}):
 * 0 no errors, 1 configuration errors found (manifest files that cannot be parsed
 * included), 2 the validation could not run (bad usage, unreadable path, no or
 * unreachable cluster).
 *
 * @module
 */
import { KubeApiError, KubeconfigError, ManifestError } from "../errors.ts";
import { MANIFEST_RESULT_TYPE } from "../kube/load_problems.ts";
import { type ValidateDeps, validateMeshConfig } from "../validate/validate_mesh_config.ts";
import type { ValidationReport } from "../validate/run.ts";

/** The exit codes of `validate` (a stable interface, named in `--help`). */
export const VALIDATE_EXIT = Object.freeze({
  /** No error found (warnings and info may have been). */
  clean: 0,
  /** Configuration errors found, including manifest files that cannot be parsed. */
  errors: 1,
  /** Bad usage, or the validation could not run (unreadable path, no or unreachable cluster). */
  cannotRun: 2,
});

/** Options for {@linkcode runValidateCommand}. */
export interface ValidateCommandOptions {
  format: "text" | "json";
  namespace?: string;
}

/** What {@linkcode runValidateCommand} prints and returns. */
export interface ValidateCommandResult {
  /** For stdout (empty when the validation could not run). */
  output: string;
  exitCode: number;
  /** For stderr: why the validation could not run, in one line without a stack trace. */
  error?: string;
}

/**
 * Runs the validation and renders it: exit code 1 when any error was found, 2 when the
 * validation could not run. Never throws.
 */
export async function runValidateCommand(
  deps: ValidateDeps,
  opts: ValidateCommandOptions,
): Promise<ValidateCommandResult> {
  let report: ValidationReport;
  try {
    report = await validateMeshConfig(deps, {
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
    });
  } catch (err) {
    return {
      output: "",
      exitCode: VALIDATE_EXIT.cannotRun,
      error: `linkerd-mcp: validate could not run: ${cannotRunReason(err)}`,
    };
  }
  const exitCode = report.summary.errors > 0 ? VALIDATE_EXIT.errors : VALIDATE_EXIT.clean;
  if (opts.format === "json") return { output: JSON.stringify(report, null, 2) + "\n", exitCode };
  return { output: renderText(report), exitCode };
}

/**
 * Why the validation could not run, in plain words. Only network failures are said to
 * be about reaching the API server; a kubeconfig that cannot be read or parsed, or
 * refused credentials, keep their own message.
 */
export function cannotRunReason(err: unknown): string {
  if (err instanceof KubeconfigError) return err.message;
  if (err instanceof KubeApiError) {
    if (err.status === 0 && /^(E[A-Z0-9_]+|Timeout|NetworkError)$/.test(err.reason)) {
      return `${err.message}: the Kubernetes API server could not be reached; check KUBECONFIG, the current context and your network, or validate files with --manifests PATH`;
    }
    if (err.status === 401) {
      return `${err.message}: the Kubernetes API server rejected the credentials (401); refresh them`;
    }
    if (err.status === 403) {
      return `${err.message}: forbidden by RBAC (403); grant get and list on the resources validated`;
    }
    return err.message;
  }
  if (err instanceof ManifestError) return err.message;
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return "timed out before the cluster state was read";
  }
  return err instanceof Error ? err.message : String(err);
}

/** Renders a report as lines a person reads: `file:line: severity rule: message`. */
export function renderText(report: ValidationReport): string {
  const lines: string[] = [];
  for (const r of report.results) {
    for (const i of r.issues) {
      const where = i.file
        ? `${i.file}:${i.line ?? 1}`
        : `${r.namespace ? r.namespace + "/" : ""}${r.resourceType}/${r.name}`;
      const what = i.file && r.resourceType !== MANIFEST_RESULT_TYPE
        ? ` ${r.resourceType}/${r.name}`
        : "";
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
