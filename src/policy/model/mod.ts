/**
 * The single policy model: cluster state as Linkerd's policy controller sees it, built
 * once per state snapshot ({@linkcode policyModel}). Both the connectivity analysis and
 * the validator query it. Pure: no I/O.
 *
 * @module
 */
export { buildPolicyModel, policyModel } from "./build.ts";
export type { PolicyModelOptions } from "./build.ts";
export { illegalExpression, matchesLinkerdSelector } from "./labels.ts";
export {
  canonicalKind,
  GATEWAY_GROUP,
  meshTlsMatches,
  POLICY_GROUP,
  resolveAuthorizationPolicy,
  resolveServerAuthorization,
  targetsKind,
} from "./policies.ts";
export { groupOf, markUnreachable, parseRoute } from "./routes.ts";
export {
  byCreation,
  containerPortByName,
  DEFAULT_POLICY_ANNOTATION,
  isDefaultPolicy,
  OPAQUE_PORTS_ANNOTATION,
  parseServer,
  protocolOf,
  readPodPorts,
  REQUIRE_IDENTITY_ANNOTATION,
  SKIP_INBOUND_ANNOTATION,
} from "./servers.ts";
export { detectVersion, featuresOf, NEWEST_STABLE, parseVersion } from "./version.ts";
export type { ControlPlaneVersion, Features } from "./version.ts";
export { inPortSet, parsePortSet, type PortSet, probePaths } from "../ports.ts";
export type * from "./types.ts";
