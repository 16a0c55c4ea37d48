/**
 * Load problems of a manifests source (files that could not be parsed, were skipped, or
 * passed a limit). `src/validate/load_problems.ts` turns them into `validate_mesh_config`
 * findings, so that a bad file never hides silently and every other file is still validated.
 *
 * @module
 */
import type { ClusterSource } from "./source.ts";
import type { LoadProblem } from "./yaml_docs.ts";

export type { LoadProblem } from "./yaml_docs.ts";

/** The `resourceType` of report results that stand for a manifest file. */
export const MANIFEST_RESULT_TYPE = "ManifestFile";

/** The load problems of a source; none for sources that do not read files. */
export function loadProblemsOf(source: ClusterSource): readonly LoadProblem[] {
  const s = source as Partial<{ loadProblems(): readonly LoadProblem[] }>;
  return typeof s.loadProblems === "function" ? s.loadProblems() : [];
}
