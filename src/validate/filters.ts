/**
 * The `resource_type` values of validate_mesh_config and the kinds each selects. Kept
 * apart from the rules so that the tool table can describe them without loading the
 * catalogue.
 *
 * @module
 */

import { WORKLOAD_KINDS as KUBE_WORKLOAD_KINDS } from "../kube/workloads.ts";

const WORKLOAD_KINDS = ["Pod", ...KUBE_WORKLOAD_KINDS];

/** The accepted `resource_type` values, in the order the tool describes them. */
export const RESOURCE_TYPES = [
  "all",
  "server",
  "serverauthorization",
  "authpolicy",
  "authorizationpolicy",
  "meshtls",
  "meshtlsauthentication",
  "networkauthentication",
  "httproute",
  "grpcroute",
  "serviceprofile",
  "egressnetwork",
  "proxy",
  "namespace",
  "workload",
  "pod",
] as const;

/** One `resource_type` value. */
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/**
 * The kinds each `resource_type` selects (`undefined`: every kind). A Map, so that a
 * user string such as `constructor` or `__proto__` is never looked up in an object.
 */
export const RESOURCE_TYPE_FILTERS: ReadonlyMap<string, readonly string[] | undefined> = new Map<
  string,
  readonly string[] | undefined
>([
  ["", undefined],
  ["all", undefined],
  ["server", ["Server"]],
  ["serverauthorization", ["ServerAuthorization"]],
  ["authpolicy", ["AuthorizationPolicy"]],
  ["authorizationpolicy", ["AuthorizationPolicy"]],
  ["meshtls", ["MeshTLSAuthentication"]],
  ["meshtlsauthentication", ["MeshTLSAuthentication"]],
  ["networkauthentication", ["NetworkAuthentication"]],
  ["httproute", ["HTTPRoute"]],
  ["grpcroute", ["GRPCRoute"]],
  ["serviceprofile", ["ServiceProfile"]],
  ["egressnetwork", ["EgressNetwork"]],
  ["proxy", ["Namespace", ...WORKLOAD_KINDS]],
  ["namespace", ["Namespace", ...WORKLOAD_KINDS]],
  ["workload", WORKLOAD_KINDS],
  ["pod", WORKLOAD_KINDS],
]);

/**
 * The kinds a `resource_type` selects: `undefined` for all kinds; throws a
 * `RangeError` naming the valid values for an unknown one (the tool's schema rejects
 * those first).
 */
export function kindsFor(resourceType: string | undefined): readonly string[] | undefined {
  const key = (resourceType ?? "").toLowerCase();
  if (!RESOURCE_TYPE_FILTERS.has(key)) {
    throw new RangeError(
      `Invalid resource_type "${resourceType}": must be one of ${RESOURCE_TYPES.join(", ")}`,
    );
  }
  return RESOURCE_TYPE_FILTERS.get(key);
}
