/**
 * The `resource_type` values of validate_mesh_config and the kinds each selects. Kept
 * apart from the rules so that the tool table can describe them without loading the
 * catalogue.
 *
 * @module
 */

/** Resource-type filters: the original values and one per kind. */
export const RESOURCE_TYPE_FILTERS: Record<string, readonly string[] | undefined> = {
  "": undefined,
  all: undefined,
  server: ["Server"],
  serverauthorization: ["ServerAuthorization"],
  authpolicy: ["AuthorizationPolicy"],
  authorizationpolicy: ["AuthorizationPolicy"],
  meshtls: ["MeshTLSAuthentication"],
  meshtlsauthentication: ["MeshTLSAuthentication"],
  networkauthentication: ["NetworkAuthentication"],
  httproute: ["HTTPRoute"],
  grpcroute: ["GRPCRoute"],
  serviceprofile: ["ServiceProfile"],
  egressnetwork: ["EgressNetwork"],
  proxy: [
    "Namespace",
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
  ],
  namespace: [
    "Namespace",
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
  ],
  workload: ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"],
  pod: ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"],
};
