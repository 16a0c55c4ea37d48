/**
 * An audit-mode namespace whose truth the lifecycle tests know: the cluster state
 * (namespace `shop`) and its traffic as demo-traffic edges, backfilled into a real
 * Prometheus with the demo generator's OpenMetrics writer.
 *
 * Policy state:
 * - `front` (port 8080) has no Server; its pods default to `audit`
 *   (`config.linkerd.io/default-inbound-policy`), with an httpGet probe `/healthz`;
 * - `api` (port 9000): Server `api-http` in audit mode with two HTTPRoutes, `api-read`
 *   (GET /items, no authorization) and `api-write` (POST /items, authorized for `front`
 *   only, route-level AuthorizationPolicy);
 * - `db` (port 5432, opaque): Server `db-tcp` in audit mode with a server-level
 *   AuthorizationPolicy for `api`.
 *
 * Traffic (steady unless said), and whether enforcement would deny it:
 * | client → target | series | would be denied |
 * |---|---|---|
 * | worker → front:8080 (2 rps) | audit | yes: no policy names worker |
 * | legacy (unmeshed) → front:8080 (1 rps) | audit | yes: unauthenticated |
 * | kubelet → front:8080 probe (0.1 rps) | default/probe | no |
 * | batch → front:8080 (1 rps, only 3 h → 2 h before the end) | audit | yes, in a window reaching back 2 h |
 * | front → api:9000 api-write (1 rps) | route AP | no: authorized |
 * | front → api:9000 api-read (3 rps) | audit | yes: route without authorization |
 * | worker → api:9000 api-write (0.5 rps) | audit | yes |
 * | api → db:5432 TCP (0.2 conn/s) | audit (the superset: AP db-api allows it) | no |
 * | worker → db:5432 TCP (0.05 conn/s) | audit | yes |
 *
 * @module
 */
import type { KubeObject } from "../../src/kube/types.ts";
import type { Edge, Workload } from "../support/demo_traffic.ts";
import { CDF } from "../support/demo_traffic.ts";
import { objectsFromYaml } from "../_helpers.ts";

export const NS = "shop";

function w(name: string, serviceAccount = name): Workload {
  return {
    namespace: NS,
    kind: "deployment",
    name,
    pod: `${name}-7d9c8f6b5-abcde`,
    serviceAccount,
  };
}

export const WL = {
  front: w("front"),
  api: w("api"),
  db: w("db"),
  worker: w("worker"),
  batch: w("batch"),
  legacy: w("legacy"),
} as const;

function pod(
  wl: Workload,
  opts: {
    meshed?: boolean;
    port?: { n: number; name: string };
    probe?: string;
    annotations?: Record<string, string>;
  },
): string {
  const meshed = opts.meshed ?? true;
  const labels = [
    `app: ${wl.name}`,
    "pod-template-hash: 7d9c8f6b5",
    ...(meshed
      ? ["linkerd.io/control-plane-ns: linkerd", `linkerd.io/proxy-deployment: ${wl.name}`]
      : []),
  ];
  const ann = Object.entries(opts.annotations ?? {}).map(([k, v]) => `    ${k}: "${v}"`);
  return `
apiVersion: v1
kind: Pod
metadata:
  name: ${wl.pod}
  namespace: ${NS}
  creationTimestamp: "2026-01-01T00:00:00Z"
  labels:
${labels.map((l) => `    ${l}`).join("\n")}
${ann.length ? `  annotations:\n${ann.join("\n")}` : ""}
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: ${wl.name}-7d9c8f6b5, controller: true}
spec:
  serviceAccountName: ${wl.serviceAccount}
  containers:
    - name: app
      image: example/${wl.name}:1
${
    opts.port
      ? `      ports:\n        - {name: ${opts.port.name}, containerPort: ${opts.port.n}}`
      : ""
  }
${
    opts.probe && opts.port
      ? `      readinessProbe:\n        httpGet: {path: ${opts.probe}, port: ${opts.port.n}}`
      : ""
  }
${
    meshed
      ? `    - name: linkerd-proxy
      image: cr.l5d.io/linkerd/proxy:edge-26.8.3
      ports:
        - {name: linkerd-proxy, containerPort: 4143}
        - {name: linkerd-admin, containerPort: 4191}
      livenessProbe:
        httpGet: {path: /live, port: 4191}
      readinessProbe:
        httpGet: {path: /ready, port: 4191}`
      : ""
  }
status:
  phase: Running
`;
}

function service(name: string, port: number, targetPort: string): string {
  return `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${NS}}
spec:
  selector: {app: ${name}}
  ports:
    - {name: ${targetPort}, port: ${port}, targetPort: ${targetPort}}
`;
}

/** The state: namespaces, Services, pods, the audit-mode policy, and viz's Prometheus. */
export function scenarioObjects(): KubeObject[] {
  const docs = [
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}`,
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: linkerd-viz}`,
    pod(WL.front, {
      port: { n: 8080, name: "http" },
      probe: "/healthz",
      annotations: { "config.linkerd.io/default-inbound-policy": "audit" },
    }),
    pod(WL.api, { port: { n: 9000, name: "http" } }),
    pod(WL.db, {
      port: { n: 5432, name: "pg" },
      annotations: { "config.linkerd.io/opaque-ports": "5432" },
    }),
    pod(WL.worker, { port: { n: 8000, name: "http" } }),
    pod(WL.batch, { port: { n: 8000, name: "http" } }),
    pod(WL.legacy, { meshed: false, port: { n: 8000, name: "http" } }),
    service("front", 80, "http"),
    service("api", 9000, "http"),
    service("db", 5432, "pg"),
    service("worker", 8000, "http"),
    service("batch", 8000, "http"),
    service("legacy", 8000, "http"),
    `
apiVersion: v1
kind: Pod
metadata:
  name: prometheus-5d8f7c9b6-xyz12
  namespace: linkerd-viz
  labels: {component: prometheus, linkerd.io/extension: viz, linkerd.io/control-plane-ns: linkerd}
spec:
  serviceAccountName: prometheus
  containers: [{name: prometheus, image: prom/prometheus}]
status: {phase: Running}
`,
    `
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api-http, namespace: ${NS}, creationTimestamp: "2026-01-02T00:00:00Z"}
spec:
  podSelector: {matchLabels: {app: api}}
  port: 9000
  proxyProtocol: HTTP/1
  accessPolicy: audit
`,
    `
apiVersion: policy.linkerd.io/v1beta1
kind: HTTPRoute
metadata: {name: api-read, namespace: ${NS}, creationTimestamp: "2026-01-02T00:00:00Z"}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: api-http}]
  rules:
    - matches: [{method: GET, path: {type: PathPrefix, value: /items}}]
`,
    `
apiVersion: policy.linkerd.io/v1beta1
kind: HTTPRoute
metadata: {name: api-write, namespace: ${NS}, creationTimestamp: "2026-01-02T00:00:01Z"}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: api-http}]
  rules:
    - matches: [{method: POST, path: {type: PathPrefix, value: /items}}]
`,
    `
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: front-only, namespace: ${NS}}
spec:
  identityRefs: [{kind: ServiceAccount, name: front}]
`,
    `
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api-write-front, namespace: ${NS}}
spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: api-write}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: front-only}]
`,
    `
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: db-tcp, namespace: ${NS}, creationTimestamp: "2026-01-02T00:00:00Z"}
spec:
  podSelector: {matchLabels: {app: db}}
  port: 5432
  proxyProtocol: opaque
  accessPolicy: audit
`,
    `
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: api-only, namespace: ${NS}}
spec:
  identityRefs: [{kind: ServiceAccount, name: api}]
`,
    `
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: db-api, namespace: ${NS}}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: db-tcp}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: api-only}]
`,
  ];
  return objectsFromYaml(docs.join("\n---\n"));
}

const AUDIT = { kind: "default", name: "audit" };
const FRONT_DEFAULT = { kind: "default", name: "audit" };
const steady = (rps: number) => () => ({ rps, success: 1, cdf: CDF.books, mean: 20 });

/** Seconds before the end during which batch calls front (quiet since). */
export const BATCH_ACTIVE = { from: 3 * 3600, to: 2 * 3600 } as const;

/** The scenario's traffic. */
export function scenarioEdges(): Edge[] {
  const http = (from: Edge["from"], to: Edge["to"], rps: number): Edge => ({
    from,
    to,
    grpc: false,
    failStatus: "500",
    behaviour: steady(rps),
    bytes: { sent: 100, received: 1000 },
  });
  const front = (
    authz: { kind: string; name: string },
    route?: { kind: string; name: string },
  ) => ({
    workload: WL.front,
    service: "front",
    port: 8080,
    srv: FRONT_DEFAULT,
    authz,
    ...(route ? { route } : {}),
  });
  const api = (authz: { kind: string; name: string }, route: string) => ({
    workload: WL.api,
    service: "api",
    port: 9000,
    srv: { kind: "server", name: "api-http" },
    authz,
    route: { kind: "HTTPRoute", name: route },
  });
  const db = {
    workload: WL.db,
    service: "db",
    port: 5432,
    srv: { kind: "server", name: "db-tcp" },
    authz: AUDIT,
  };
  return [
    http(WL.worker, front(AUDIT), 2),
    http({ unmeshed: "legacy" }, front(AUDIT), 1),
    http(
      { unmeshed: "kubelet" },
      front({ kind: "default", name: "probe" }, { kind: "default", name: "probe" }),
      0.1,
    ),
    {
      ...http(WL.batch, front(AUDIT), 1),
      behaviour: (t) => ({
        rps: t < BATCH_ACTIVE.from && t >= BATCH_ACTIVE.to ? 1 : 0,
        success: 1,
        cdf: CDF.books,
        mean: 20,
      }),
    },
    http(WL.front, api({ kind: "authorizationpolicy", name: "api-write-front" }, "api-write"), 1),
    http(WL.front, api(AUDIT, "api-read"), 3),
    http(WL.worker, api(AUDIT, "api-write"), 0.5),
    { ...http(WL.api, db, 0.2), tcp: true },
    { ...http(WL.worker, db, 0.05), tcp: true },
  ];
}
