/**
 * The lifecycle's pure pieces: PromQL text, parsing flows, names, and the analysis and
 * generation on hand-made flows (no Prometheus): the model's re-evaluation, undecidable
 * clients, gone pods, scoping to one Service, and refusals.
 */
import assert from "node:assert/strict";
import { stateFromObjects } from "../../src/kube/state.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { readMeshConfig } from "../../src/mesh/config.ts";
import { policyModel } from "../../src/policy/model/build.ts";
import { analyzeAuditFlows } from "../../src/lifecycle/audit.ts";
import { generatePolicy } from "../../src/lifecycle/generate.ts";
import { dnsLabel } from "../../src/lifecycle/objects.ts";
import {
  auditHttpQuery,
  auditTcpQuery,
  flowsOf,
  inboundConnectionsQuery,
  mergeFlows,
  type ObservedFlow,
  parseIdentity,
  sumFlows,
} from "../../src/lifecycle/observe.ts";
import { selectorFor } from "../../src/lifecycle/scope.ts";
import type { PromSample } from "../../src/metrics/prom_client.ts";
import { objectsFromYaml } from "../_helpers.ts";
import { NS, scenarioObjects, WL } from "./_scenario.ts";

function modelOf(objects: KubeObject[] = scenarioObjects()) {
  const state = stateFromObjects(objects, { source: "test", linkerdNamespace: "linkerd" });
  return policyModel(state, { mesh: readMeshConfig(state) });
}

const id = (sa: string, ns = NS) => `${sa}.${ns}.serviceaccount.identity.linkerd.cluster.local`;

function flow(over: Partial<ObservedFlow>): ObservedFlow {
  return {
    protocol: "http",
    namespace: NS,
    pod: WL.front.pod,
    workload: { kind: "deployment", name: "front" },
    port: 8080,
    srv: { kind: "default", name: "audit" },
    authz: { kind: "default", name: "audit" },
    tls: "true",
    clientId: id("worker"),
    count: 3600,
    ...over,
  };
}

const OPTS = { namespace: NS, windowSeconds: 3600, now: new Date("2026-06-01T00:00:00Z") };

Deno.test("audit queries select the audit authorization, by client, pod port and route", () => {
  const q = auditHttpQuery(NS, 3600);
  assert.match(q, /^sum\(increase\(inbound_http_authz_allow_total\{/);
  assert.match(q, /authz_kind="default", authz_name="audit", namespace="shop"/);
  assert.match(q, /\[1h\]\)\) by \(.*target_port.*client_id.*route_name\)$/);
  assert.doesNotMatch(auditTcpQuery(undefined, 600), /namespace=|route_name/);
  assert.match(
    inboundConnectionsQuery(NS, 86_400),
    /tcp_open_total\{direction="inbound", namespace="shop", peer="src"\}\[1d\]/,
  );
});

Deno.test("flows: zero and NaN groups dropped; the same flow merged (max) or summed", () => {
  const samples: PromSample[] = [
    {
      metric: {
        namespace: NS,
        pod: "p",
        target_port: "80",
        tls: "true",
        client_id: id("a"),
        srv_kind: "server",
        srv_name: "s",
      },
      value: 5,
    },
    {
      metric: {
        namespace: NS,
        pod: "p",
        target_port: "80",
        tls: "true",
        client_id: id("a"),
        srv_kind: "server",
        srv_name: "s",
        authz_name: "x",
      },
      value: 2,
    },
    { metric: { namespace: NS, pod: "q" }, value: 0 },
    { metric: { namespace: NS, pod: "r" }, value: Number.NaN },
  ];
  const f = flowsOf(samples, "http");
  assert.equal(f.length, 2);
  assert.equal(f[0]!.port, 80);
  assert.equal(f[0]!.clientId, id("a"));
  assert.deepEqual(mergeFlows(f).map((x) => x.count), [5]);
  assert.deepEqual(sumFlows(f).map((x) => x.count), [7]);
  // an unauthenticated client has no identity, whatever client_id says
  assert.equal(
    flowsOf([{ metric: { tls: "no_identity", client_id: "x" }, value: 1 }], "tcp")[0]!.clientId,
    undefined,
  );
});

Deno.test("identities and names", () => {
  assert.deepEqual(
    parseIdentity("my.dotted.sa.prod.serviceaccount.identity.linkerd.cluster.local"),
    {
      serviceAccount: "my.dotted.sa",
      namespace: "prod",
    },
  );
  assert.equal(parseIdentity("spiffe://example.org/web"), undefined);
  const long = dnsLabel("a".repeat(40), "b".repeat(40));
  assert.ok(long.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(long), long);
  assert.notEqual(long, dnsLabel("a".repeat(40), "c".repeat(40)));
  assert.equal(dnsLabel("Web_App", "8080"), "web-app-8080");
});

Deno.test("selectorFor: a Service's selector when it picks exactly the workload, else shared labels", () => {
  const model = modelOf();
  const pod = model.podsIn(NS).find((p) => p.metadata.name === WL.api.pod)!;
  assert.deepEqual(selectorFor(model, pod), { app: "api" });
  // a Service selecting two workloads is not used
  const objects = scenarioObjects().filter((o) =>
    !(o.kind === "Service" && o.metadata.name === "api")
  );
  objects.push(...objectsFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: api, namespace: ${NS}}
spec: {selector: {pod-template-hash: 7d9c8f6b5}, ports: [{port: 9000}]}
`));
  const m2 = modelOf(objects);
  const p2 = m2.podsIn(NS).find((p) => p.metadata.name === WL.api.pod)!;
  assert.deepEqual(selectorFor(m2, p2), { app: "api" });
});

Deno.test("analyzeAuditFlows re-evaluates each flow with the model", () => {
  const model = modelOf();
  const r = analyzeAuditFlows(model, [
    // allowed by the route-level policy: the metric's superset, not reported
    flow({
      pod: WL.api.pod,
      workload: { kind: "deployment", name: "api" },
      port: 9000,
      srv: { kind: "server", name: "api-http" },
      route: { kind: "HTTPRoute", name: "api-write" },
      clientId: id("front"),
    }),
    // localhost: always allowed
    flow({ tls: "no_identity", noTlsReason: "loopback", clientId: undefined }),
    // would be denied
    flow({}),
    // a pod and workload that are gone: reported from the metrics alone
    flow({
      pod: "gone-1",
      workload: { kind: "deployment", name: "gone" },
      srv: { kind: "server", name: "gone-srv" },
    }),
  ], OPTS);
  assert.deepEqual(
    r.wouldBeDenied.map((e) => `${e.client.serviceAccount}:${e.target.workload}:${e.fixChecked}`),
    [
      "worker:deployment/front:true",
      "worker:deployment/gone:false",
    ],
  );
  assert.match(r.notes.join(" "), /superset/);
  assert.match(r.notes.join(" "), /no longer in the cluster state/);
  // the default-policy port's fix creates a Server kept in audit mode
  const fix = r.wouldBeDenied[0]!.fix;
  const docs = objectsFromYaml(fix.slice(fix.indexOf(":\n") + 2));
  assert.deepEqual(docs.map((d) => d.kind), [
    "Server",
    "MeshTLSAuthentication",
    "AuthorizationPolicy",
  ]);
  assert.equal((docs[0]!.spec as { accessPolicy?: string }).accessPolicy, "audit");
  // the server filter (enforce_policies)
  const only = analyzeAuditFlows(model, [flow({})], { ...OPTS, server: "api-http" });
  assert.deepEqual(only.wouldBeDenied, []);
});

Deno.test("analyzeAuditFlows: a network-only authorization cannot be decided without the client IP", () => {
  const objects = [
    ...scenarioObjects(),
    ...objectsFromYaml(`
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: office, namespace: ${NS}}
spec: {networks: [{cidr: 192.0.2.0/24}]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: db-office, namespace: ${NS}}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: db-tcp}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: NetworkAuthentication, name: office}]
`),
  ];
  const r = analyzeAuditFlows(modelOf(objects), [
    flow({
      protocol: "tcp",
      pod: WL.db.pod,
      workload: { kind: "deployment", name: "db" },
      port: 5432,
      srv: { kind: "server", name: "db-tcp" },
      tls: "no_identity",
      noTlsReason: "no_tls_from_remote",
      clientId: undefined,
    }),
  ], OPTS);
  assert.equal(r.wouldBeDenied.length, 0);
  assert.equal(r.undetermined.length, 1);
  assert.equal(r.undetermined[0]!.client.unauthenticated, true);
  assert.match(r.undetermined[0]!.reason, /depends on its IP/);
});

Deno.test("analyzeAuditFlows: no audit mode in scope says so", () => {
  const objects = scenarioObjects().filter((o) => o.kind !== "Server").map((o) =>
    o.kind === "Pod" ? { ...o, metadata: { ...o.metadata, annotations: {} } } : o
  );
  const r = analyzeAuditFlows(modelOf(objects), [], OPTS);
  assert.deepEqual(r.auditedServers, []);
  assert.match(r.notes.join(" "), /audit mode is off/);
});

Deno.test("generatePolicy: scoped to one Service; refuses the control plane and unknown Services", () => {
  const model = modelOf();
  const flows = [
    flow({}),
    flow({
      pod: WL.api.pod,
      workload: { kind: "deployment", name: "api" },
      port: 9000,
      srv: { kind: "server", name: "api-http" },
      route: { kind: "HTTPRoute", name: "api-read" },
      clientId: id("front"),
    }),
  ];
  const g = generatePolicy(model, { flows, edges: [] }, {
    namespace: NS,
    targetService: "front",
    accessPolicy: "deny",
    windowSeconds: 3600,
  });
  const docs = objectsFromYaml(g.yaml);
  assert.deepEqual(
    docs.filter((d) => d.kind === "Server").map((d) => d.metadata.name),
    ["front-http", "linkerd-admin"],
  );
  assert.doesNotMatch(g.yaml, /api-read|api-http/);
  // the admin-port Server covers only the Service's pods
  const admin = docs.find((d) => d.kind === "Server" && d.metadata.name === "linkerd-admin")!;
  assert.deepEqual((admin.spec as { podSelector: unknown }).podSelector, {
    matchLabels: { app: "front" },
  });
  assert.equal(g.selfCheck.passed, true, JSON.stringify(g.selfCheck.failures));
  assert.throws(
    () =>
      generatePolicy(model, { flows, edges: [] }, {
        namespace: "linkerd",
        accessPolicy: "audit",
        windowSeconds: 3600,
      }),
    /control plane/,
  );
  assert.throws(
    () =>
      generatePolicy(model, { flows, edges: [] }, {
        namespace: NS,
        targetService: "nope",
        accessPolicy: "audit",
        windowSeconds: 3600,
      }),
    /does not exist/,
  );
  const none = generatePolicy(model, { flows: [], edges: [] }, {
    namespace: NS,
    accessPolicy: "audit",
    windowSeconds: 3600,
  });
  assert.equal(none.yaml, "");
  assert.match(none.notes.join(" "), /No inbound traffic/);
});

Deno.test("generatePolicy: the self-check catches an unobserved pair an existing policy still allows", () => {
  const objects = [
    ...scenarioObjects(),
    ...objectsFromYaml(`
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: db-anyone, namespace: ${NS}}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: db-tcp}
  requiredAuthenticationRefs: []
`),
  ];
  const g = generatePolicy(modelOf(objects), {
    flows: [
      flow({
        protocol: "tcp",
        pod: WL.db.pod,
        workload: { kind: "deployment", name: "db" },
        port: 5432,
        srv: { kind: "server", name: "db-tcp" },
        clientId: id("api"),
      }),
    ],
    edges: [],
  }, { namespace: NS, accessPolicy: "deny", windowSeconds: 3600 });
  assert.equal(g.selfCheck.passed, false);
  assert.ok(
    g.selfCheck.failures.some((f) => f.check === "unobserved-pair" && /db-anyone/.test(f.message)),
    JSON.stringify(g.selfCheck.failures),
  );
});
