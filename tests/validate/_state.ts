/**
 * Helpers for validator tests: a state from YAML text and the findings for it.
 *
 * @module
 */
import { stateFromObjects } from "../../src/kube/state.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { readMeshConfig } from "../../src/mesh/config.ts";
import type { Finding } from "../../src/validate/types.ts";
import { validate } from "../../src/validate/run.ts";
import { objectsFromYaml } from "../_helpers.ts";

/** Options for {@linkcode findingsFor}. */
export interface FindingsOptions {
  /** Treat the objects as a partial manifests set (default false: a complete view). */
  partial?: boolean;
}

/** Runs the validator over objects (or YAML text). */
export function findingsFor(
  input: string | readonly KubeObject[],
  opts: FindingsOptions = {},
): Finding[] {
  const objects = typeof input === "string" ? objectsFromYaml(input) : input;
  const state = stateFromObjects(objects, { source: "test", linkerdNamespace: "linkerd" });
  return validate(state, { mesh: readMeshConfig(state), partial: opts.partial ?? false });
}

/** Rule ids of the findings, sorted and de-duplicated. */
export function ruleIds(findings: readonly Finding[]): string[] {
  return [...new Set(findings.map((f) => f.rule))].sort();
}
