/**
 * The rule catalogue: every rule the validator runs, in a stable order, plus the
 * rule that carries findings which depend on objects a manifests set may not hold.
 *
 * @module
 */
import { ANNOTATION_RULES } from "./rules/annotations.ts";
import { AUTHZ_RULES } from "./rules/authz.ts";
import { DOCS } from "./rules/_docs.ts";
import { IDENTITY_RULES } from "./rules/identity.ts";
import { OBJECT_RULES } from "./rules/objects.ts";
import { PROFILE_RULES } from "./rules/profiles.ts";
import { ROUTE_RULES } from "./rules/routes.ts";
import { SERVER_RULES } from "./rules/server.ts";
import { TRAFFIC_RULES } from "./rules/traffic.ts";
import type { Rule, RuleMeta } from "./types.ts";

/** Findings that rest on an object being absent from a manifests set that may be partial. */
export const UNRESOLVED: RuleMeta = {
  id: "unresolved-in-manifests",
  severity: "warning",
  kind: "*",
  field: "*",
  summary:
    "A reference or authorization is missing from the manifests given; it breaks traffic unless it exists in the cluster",
  remediation:
    "Add the missing object to the manifests (include the Namespace object so that the set is taken as complete)",
  docs: DOCS.authzPolicy,
};

/** Every rule, in catalogue order. */
export const RULES: readonly Rule[] = [
  ...OBJECT_RULES,
  ...SERVER_RULES,
  ...AUTHZ_RULES,
  ...IDENTITY_RULES,
  ...ROUTE_RULES,
  ...PROFILE_RULES,
  ...ANNOTATION_RULES,
  ...TRAFFIC_RULES,
];

/** Rule metadata by id (including {@linkcode UNRESOLVED}). */
export const RULES_BY_ID: ReadonlyMap<string, RuleMeta> = new Map<string, RuleMeta>(
  [...RULES.map((r) => [r.id, r] as const), [UNRESOLVED.id, UNRESOLVED] as const],
);
