/**
 * The validate family: `validate_mesh_config` checks Linkerd policy, route, profile
 * and proxy-annotation configuration for mistakes that break traffic, with a rule
 * catalogue in `src/validate/`.
 *
 * @module
 */
import { z } from "zod";
import { loadState } from "../kube/state.ts";
import { RESOURCE_TYPE_FILTERS } from "../validate/filters.ts";
import type { ValidationReport } from "../validate/run.ts";
import { fail, ok, READ_ONLY, type ToolDeps, type ToolSpec } from "./_spec.ts";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The accepted `resource_type` values. */
export const RESOURCE_TYPES = Object.keys(RESOURCE_TYPE_FILTERS).filter((k) => k !== "");

/** Arguments of {@linkcode validateMeshConfig}. */
export interface ValidateMeshConfigArgs {
  namespace?: string | undefined;
  "resource_type"?: string | undefined;
  "resource_name"?: string | undefined;
  "include_warnings"?: boolean | undefined;
}

/** Loads the state, runs every rule and builds the report (shared by the tool and the CLI). */
export async function validateMeshConfig(
  deps: ToolDeps,
  args: ValidateMeshConfigArgs,
  signal?: AbortSignal,
): Promise<ValidationReport> {
  const namespace = args.namespace || undefined;
  // The rule catalogue is loaded on first use so that the server starts fast.
  const { buildReport, validate, VALIDATE_RESOURCES } = await import("../validate/run.ts");
  const { readMeshConfig } = await import("../mesh/config.ts");
  const state = await loadState(deps.cluster, VALIDATE_RESOURCES, {
    linkerdNamespace: deps.config.linkerdNamespace,
    ...(namespace ? { namespace } : {}),
    ...(signal ? { signal } : {}),
  });
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
  if (state.missing.length) {
    notes.push(`Not served by the cluster (CRD missing): ${state.missing.join(", ")}`);
  }
  return buildReport(state, findings, {
    ...(args.resource_type ? { resourceType: args.resource_type } : {}),
    ...(args.resource_name ? { resourceName: args.resource_name } : {}),
    includeWarnings: args.include_warnings ?? true,
    ...(namespace ? { namespace } : {}),
    notes,
  });
}

const issueOut = z.object({
  severity: z.enum(["error", "warning", "info"]).describe(
    "error: traffic or config breaks; warning: risky or surprising; info: advice",
  ),
  message: z.string().describe("What is wrong and what happens to traffic, in plain words"),
  field: z.string().describe('The field concerned, e.g. "spec.port"'),
  remediation: z.string().describe("How to fix it"),
  code: z.string().describe("The rule id (same as rule), e.g. server-port-not-found"),
  rule: z.string().describe("Stable kebab-case rule id"),
  url: z.string().describe("Linkerd docs page for the rule"),
  file: z.string().optional().describe("Manifest file the resource was read from"),
  line: z.number().int().optional().describe("Line of the resource's YAML document (1-based)"),
});

const validateOutput = {
  results: z.array(z.object({
    resourceType: z.string().describe('Kind, e.g. "Server", "AuthorizationPolicy", "Deployment"'),
    name: z.string(),
    namespace: z.string().describe('"" for cluster-scoped resources'),
    valid: z.boolean().describe("False when the resource has an error"),
    file: z.string().optional().describe("Manifest file, for manifests"),
    line: z.number().int().optional().describe("Manifest line, for manifests"),
    issues: z.array(issueOut).describe("Errors first, then warnings, then info"),
  })).describe("One entry per resource checked, sorted by namespace, kind, name"),
  summary: z.object({
    errors: z.number().int(),
    warnings: z.number().int(),
    info: z.number().int(),
  }).describe("Issue counts after filtering"),
  totalResources: z.number().int().describe("Resources in results"),
  validResources: z.number().int().describe("Resources without errors"),
  source: z.string().describe("Where the cluster state came from"),
  notes: z.array(z.string()).describe("Caveats about what could be checked"),
};

/** The validate family's tools. */
// deno-lint-ignore no-explicit-any
export function validateTools(): ToolSpec<any, any>[] {
  const tool: ToolSpec<{
    namespace: z.ZodOptional<z.ZodString>;
    resource_type: z.ZodOptional<z.ZodString>;
    resource_name: z.ZodOptional<z.ZodString>;
    include_warnings: z.ZodOptional<z.ZodBoolean>;
  }, typeof validateOutput> = {
    name: "validate_mesh_config",
    title: "Validate: Mesh configuration",
    description:
      'Find Linkerd misconfigurations that Kubernetes accepts but that break or silently change traffic, with zero false alarms: invalid Server, AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication, ServerAuthorization, HTTPRoute, GRPCRoute, ServiceProfile and EgressNetwork fields; policies whose target or authentication does not exist (ignored, so traffic is denied); Servers that select no pods, name a port no pod has, or are shadowed by an older Server; Servers that deny everything; kubelet probes that routes or policies will break; default-deny ports that Services send traffic to; invalid proxy annotations (inject, default-inbound-policy, port lists, resource quantities, log filters); proxy version drift. Use it before applying policy, when traffic gets 403/404 or connections are refused after a policy change, or to review a GitOps repository (with --manifests). Each issue has a rule id, severity, message, remediation, docs url and, for manifests, file and line. Example: {"namespace": "emojivoto"} or {"resource_type": "authpolicy", "include_warnings": false}.',
    inputSchema: {
      namespace: z.string().max(63).regex(DNS1123_LABEL, "must be a Kubernetes namespace name")
        .optional().describe('Namespace to validate, e.g. "emojivoto" (empty for all namespaces)'),
      resource_type: z.string().optional().describe(
        `Resource type to validate: ${RESOURCE_TYPES.join(", ")} (default all)`,
      ),
      resource_name: z.string().optional().describe(
        'Only report the resource with this name, e.g. "web-http"',
      ),
      include_warnings: z.boolean().optional().describe(
        "Include warnings and info in results (default: true); false keeps errors only",
      ),
    },
    outputSchema: validateOutput,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const type = (args.resource_type ?? "").toLowerCase();
      if (!(type in RESOURCE_TYPE_FILTERS)) {
        return fail(
          `Invalid resource_type "${args.resource_type}": must be one of ${
            RESOURCE_TYPES.join(", ")
          }`,
        );
      }
      return ok(await validateMeshConfig(deps, args, ctx.signal));
    },
  };
  return [tool];
}
