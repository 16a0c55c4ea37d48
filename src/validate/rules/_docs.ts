/**
 * Linkerd documentation pages the rules link to (the `2-edge` doc set).
 *
 * @module
 */
const BASE = "https://linkerd.io/2-edge";

/** Docs pages by topic. */
export const DOCS = {
  authzPolicy: `${BASE}/reference/authorization-policy/`,
  serverPolicy: `${BASE}/features/server-policy/`,
  perRoute: `${BASE}/tasks/configuring-per-route-policy/`,
  restricting: `${BASE}/tasks/restricting-access/`,
  httpRoute: `${BASE}/reference/httproute/`,
  grpcRoute: `${BASE}/reference/grpcroute/`,
  serviceProfiles: `${BASE}/reference/service-profiles/`,
  egress: `${BASE}/reference/egress-network/`,
  proxyConfig: `${BASE}/reference/proxy-configuration/`,
  injection: `${BASE}/features/proxy-injection/`,
  protocolDetection: `${BASE}/features/protocol-detection/`,
  upgrade: `${BASE}/tasks/upgrade/`,
  logLevel: `${BASE}/tasks/modifying-proxy-log-level/`,
  gitops: `${BASE}/tasks/gitops/`,
  identity: `${BASE}/features/automatic-mtls/`,
  viz: `${BASE}/features/dashboard/`,
} as const;
