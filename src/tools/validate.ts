/**
 * The validate family: `validate_mesh_config` checks Linkerd policy, route, profile
 * and proxy-annotation configuration for mistakes that break traffic, with a rule
 * catalogue in `src/validate/`.
 *
 * @module
 */
import { z } from "zod";
import { RESOURCE_TYPES } from "../validate/filters.ts";
import { validateMeshConfig } from "../validate/validate_mesh_config.ts";
import { countByRule, worstFirst } from "../validate/run.ts";
import { namespaceArg } from "./_args.ts";
import { cursorArg, limitArg, paginate } from "./_budget.ts";
import { ok, READ_ONLY, type ToolSpec } from "./_spec.ts";

export { RESOURCE_TYPES, validateMeshConfig };
export type { ValidateMeshConfigArgs } from "../validate/validate_mesh_config.ts";

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
  line: z.number().int().optional().describe(
    "Line of the offending field in the manifest (1-based); the resource's first line when the field is absent",
  ),
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
  })).describe(
    "This page of the resources checked, most useful first: with errors, then warnings, then info, then clean; each group sorted by namespace, kind, name",
  ),
  summary: z.object({
    errors: z.number().int(),
    warnings: z.number().int(),
    info: z.number().int(),
  }).describe("Issue counts after filtering, over all pages"),
  byRule: z.array(z.object({
    rule: z.string().describe("Rule id"),
    severity: z.enum(["error", "warning", "info"]),
    count: z.number().int().describe("Issues of this rule over all pages"),
  })).describe("Issue counts per rule and severity over all pages, errors first"),
  totalResources: z.number().int().describe("Resources checked, over all pages"),
  validResources: z.number().int().describe("Resources without errors, over all pages"),
  omitted: z.number().int().describe("Resources after this page (follow nextCursor)"),
  nextCursor: z.string().optional().describe(
    "Pass as cursor (with the same other arguments) for the next page; absent on the last page",
  ),
  source: z.string().describe("Where the cluster state came from"),
  notes: z.array(z.string()).describe("Caveats about what could be checked"),
};

/** Most resources in a default page (fewer when they do not fit the budget). */
const DEFAULT_PAGE = 20;

/** The validate family's tools. */
// deno-lint-ignore no-explicit-any
export function validateTools(): ToolSpec<any, any>[] {
  const tool: ToolSpec<{
    namespace: z.ZodOptional<z.ZodString>;
    resource_type: z.ZodOptional<
      z.ZodPreprocess<z.ZodEnum<{ [K in (typeof RESOURCE_TYPES)[number]]: K }>, unknown>
    >;
    resource_name: z.ZodOptional<z.ZodString>;
    include_warnings: z.ZodOptional<z.ZodBoolean>;
    limit: z.ZodOptional<z.ZodNumber>;
    cursor: z.ZodOptional<z.ZodString>;
  }, typeof validateOutput> = {
    name: "validate_mesh_config",
    title: "Validate: Mesh configuration",
    description:
      'Find Linkerd misconfigurations that Kubernetes accepts but that break or silently change traffic, with zero false alarms: invalid Server, AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication, ServerAuthorization, HTTPRoute, GRPCRoute, ServiceProfile and EgressNetwork fields; policies whose target or authentication does not exist (ignored, so traffic is denied); Servers that select no pods, name a port no pod has, or are shadowed by an older Server; Servers that deny everything; kubelet probes that routes or policies will break; default-deny ports that Services send traffic to; invalid proxy annotations (inject, default-inbound-policy, port lists, resource quantities, log filters); proxy version drift; objects defined twice across files; identities and ServiceAccount refs that name no declared namespace or ServiceAccount (typos, wrong namespace or trust domain); policy on ports that bypass the proxy (skip-inbound-ports) and Service opaque ports the pods do not mark opaque; Prometheus scrapes refused on the proxy admin port. Use it before applying policy, when traffic gets 403/404 or connections are refused after a policy change, or to review a GitOps repository (with --manifests). Each issue has a rule id, severity, message, remediation, docs url and, for manifests, the file and the line of the offending field. The answer counts issues per rule and severity (byRule, summary) over everything checked and lists the resources page by page, errors first (a default page fits about 8 KB): pass nextCursor back as cursor, or a larger limit, for more. Example: {"namespace": "emojivoto"} or {"resource_type": "authpolicy", "include_warnings": false}; {"cursor": "<nextCursor>"}.',
    inputSchema: {
      namespace: namespaceArg().optional().describe(
        'Namespace to validate, e.g. "emojivoto" (omit for all namespaces)',
      ),
      // Case-insensitive, and "" means all, as the original server accepted (a stable argument).
      resource_type: z.preprocess(
        (v) => typeof v === "string" ? (v === "" ? "all" : v.toLowerCase()) : v,
        z.enum(RESOURCE_TYPES),
      ).optional().describe(
        `Resource type to validate: ${RESOURCE_TYPES.join(", ")} (default all; case-insensitive)`,
      ),
      resource_name: z.string().optional().describe(
        'Only report the resource with this name, e.g. "web-http"',
      ),
      include_warnings: z.boolean().optional().describe(
        "Include warnings and info in results (default: true); false keeps errors only",
      ),
      limit: limitArg(1000, "Resources", DEFAULT_PAGE),
      cursor: cursorArg(),
    },
    outputSchema: validateOutput,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const { limit, cursor, ...filters } = args;
      const report = await validateMeshConfig(deps, filters, ctx.signal);
      const page = paginate(worstFirst(report.results), {
        tool: "validate_mesh_config",
        filter: JSON.stringify([
          filters.namespace ?? "",
          filters.resource_type ?? "",
          filters.resource_name ?? "",
          filters.include_warnings ?? true,
        ]),
        limit,
        cursor,
        defaultMax: DEFAULT_PAGE,
      });
      return ok({
        ...report,
        results: page.items,
        byRule: countByRule(report.results),
        omitted: page.omitted,
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      });
    },
  };
  return [tool];
}
