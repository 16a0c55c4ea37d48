/**
 * The `validate_mesh_config` use case, shared by the tool and the `validate` command:
 * load the state the rules need through the cluster source, run the catalogue and
 * shape the report.
 *
 * @module
 */
import type { Config } from "../config.ts";
import { loadProblemsOf } from "../kube/load_problems.ts";
import type { ClusterSource } from "../kube/source.ts";
import { isForbidden, loadState, mergeStates } from "../kube/state.ts";
import type { ResourceType } from "./filters.ts";
import { withLoadProblems } from "./load_problems.ts";
import type { ValidationReport } from "./run.ts";

/** What the use case needs from its caller (a subset of the tools' dependencies). */
export interface ValidateDeps {
  cluster: ClusterSource;
  config: Config;
}

/** Arguments of {@linkcode validateMeshConfig}. */
export interface ValidateMeshConfigArgs {
  namespace?: string | undefined;
  "resource_type"?: ResourceType | "" | undefined;
  "resource_name"?: string | undefined;
  "include_warnings"?: boolean | undefined;
}

/** Loads the state, runs every rule and builds the report. */
export async function validateMeshConfig(
  deps: ValidateDeps,
  args: ValidateMeshConfigArgs,
  signal?: AbortSignal,
): Promise<ValidationReport> {
  const namespace = args.namespace || undefined;
  // The rule catalogue is loaded on first use so that the server starts fast.
  const { buildReport, OPTIONAL_VALIDATE_RESOURCES, validate, VALIDATE_RESOURCES } = await import(
    "./run.ts"
  );
  const { readMeshConfig } = await import("../mesh/config.ts");
  const { detectVersion } = await import("../policy/model/mod.ts");
  const loadOpts = {
    linkerdNamespace: deps.config.linkerdNamespace,
    ...(namespace ? { namespace } : {}),
    ...(signal ? { signal } : {}),
  };
  const [required, optional] = await Promise.all([
    loadState(deps.cluster, VALIDATE_RESOURCES, loadOpts),
    loadState(deps.cluster, OPTIONAL_VALIDATE_RESOURCES, loadOpts).catch((err) => {
      if (isForbidden(err)) return undefined;
      throw err;
    }),
  ]);
  const state = optional
    ? mergeStates(required.source, required.linkerdNamespace, [required, optional])
    : required;
  const mesh = readMeshConfig(state, deps.config);
  const partial = deps.cluster.kind === "manifests";
  const findings = validate(state, { mesh, partial, ...(namespace ? { namespace } : {}) });
  const notes: string[] = [];
  if (partial) {
    notes.push(
      "Manifests may not hold the whole cluster: a missing Server, route, authentication or authorization is reported as a warning (unresolved-in-manifests) unless the manifests also declare that Namespace",
    );
  }
  if (mesh.origin === "defaults") {
    notes.push(
      `No linkerd-config found: assumed trust domain ${mesh.trustDomain}, default inbound policy ${mesh.defaultInboundPolicy}; proxy versions were not compared`,
    );
  }
  // Where Linkerd's behaviour changed between releases, the rules follow the model's version.
  notes.push(
    `Policy checks follow the policy controller's behaviour, ${detectVersion(state, mesh).text}`,
  );
  if (state.missing.length) {
    notes.push(`Not served by the cluster (CRD missing): ${state.missing.join(", ")}`);
  }
  const report = buildReport(state, findings, {
    ...(args.resource_type ? { resourceType: args.resource_type } : {}),
    ...(args.resource_name ? { resourceName: args.resource_name } : {}),
    includeWarnings: args.include_warnings ?? true,
    ...(namespace ? { namespace } : {}),
    notes,
  });
  // Manifest files that could not be parsed or were skipped are findings too (loader).
  return withLoadProblems(report, loadProblemsOf(deps.cluster), {
    includeWarnings: args.include_warnings ?? true,
  });
}
