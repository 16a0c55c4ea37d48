/**
 * Pain points operators report upstream, each as the validator should see it: the
 * case from the issue breaks the rule, its fix passes.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/kube/types.ts";
import { objectsFromYaml, upstreamFixture } from "../_helpers.ts";
import { findingsFor } from "./_state.ts";

const broken = (file: string) =>
  Deno.readTextFileSync(new URL(`../fixtures/broken/${file}`, import.meta.url));
const clean = (file: string) => Deno.readTextFileSync(new URL(`./clean/${file}`, import.meta.url));

function hits(input: string | readonly KubeObject[], rule: string): string[] {
  return findingsFor(input, { partial: true }).filter((f) => f.rule === rule).map((f) =>
    `${f.object.kind}/${f.object.metadata.name}`
  ).sort();
}

const APP = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations: {linkerd.io/inject: enabled}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: example/web:1
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: "/ready?full=1", port: http}}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}, port: http, proxyProtocol: HTTP/1}
---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: web-api, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: web-http}]
  rules: [{matches: [{path: {type: PathPrefix, value: /api}}]}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-api, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: web-api}
  requiredAuthenticationRefs: []
`;

const PROBE_ROUTE = `
---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: web-probe, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: web-http}]
  rules: [{matches: [{path: {type: Exact, value: /ready}, method: GET}]}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-probe, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: web-probe}
  requiredAuthenticationRefs: []
`;

Deno.test("linkerd2#8945: once a route is attached, the probe needs its own route (404), then an authorization (403)", () => {
  assert.deepEqual(hits(APP, "probe-route-not-found"), ["Deployment/web"]);
  const routeOnly = APP +
    PROBE_ROUTE.replace(/---\napiVersion: policy.linkerd.io\/v1alpha1[\s\S]*$/, "");
  assert.deepEqual(hits(routeOnly, "probe-route-not-found"), []);
  assert.deepEqual(hits(routeOnly, "probe-not-authorized"), ["Deployment/web"]);
  assert.deepEqual(hits(APP + PROBE_ROUTE, "probe-not-authorized"), []);
});

Deno.test("linkerd2#10877: before edge-23.5.3 a probe path's query string broke the probe route", () => {
  assert.deepEqual(hits(broken("probe-query-string.yaml"), "probe-query-string"), [
    "Deployment/web",
  ]);
  assert.deepEqual(hits(clean("probe-query-string.yaml"), "probe-query-string"), []);
});

Deno.test("linkerd2#10877: a probe path's query string is not part of the route match", () => {
  // The probe is GET /ready?full=1: the Exact /ready route matches it and authorizes it.
  const all = findingsFor(APP + PROBE_ROUTE, { partial: true });
  assert.deepEqual(all.filter((f) => f.rule.startsWith("probe-")).map((f) => f.message), []);
});

Deno.test("linkerd2#15188: audit mode with opaque-ports and an HTTP/1 Server denies connections", () => {
  assert.deepEqual(hits(broken("opaque-port-audit-denied.yaml"), "opaque-port-audit-denied"), [
    "Server/db-sql",
  ]);
  assert.deepEqual(hits(clean("opaque-port-audit-denied.yaml"), "opaque-port-audit-denied"), []);
});

Deno.test("linkerd2#13013: Prometheus is refused on the admin port of default-deny pods", () => {
  assert.deepEqual(hits(broken("prometheus-scrape-denied.yaml"), "prometheus-scrape-denied"), [
    "Deployment/worker",
  ]);
  assert.deepEqual(hits(clean("prometheus-scrape-denied.yaml"), "prometheus-scrape-denied"), []);
});

Deno.test("linkerd2#12491: viz's own components under a cluster default of deny", () => {
  const objects = ["control-plane/install_default.golden.yaml", "viz/install_default.golden.yaml"]
    .flatMap((f) => objectsFromYaml(upstreamFixture(f)));
  const config = objects.find((o) =>
    o.kind === "ConfigMap" && o.metadata.name === "linkerd-config"
  )!;
  config.data!["values"] = config.data!["values"]!.replace(
    /defaultInboundPolicy: .*/,
    "defaultInboundPolicy: deny",
  );
  const findings = findingsFor(objects);
  const of = (rule: string) =>
    findings.filter((f) => f.rule === rule).map((f) =>
      `${f.object.metadata.namespace}/${f.object.metadata.name}`
    );
  // The dashboard and tap ports have no Server, so the deny default refuses them...
  assert.deepEqual([...new Set(of("default-deny-port-unserved"))].sort(), [
    "linkerd-viz/tap",
    "linkerd-viz/web",
  ]);
  // ...and viz's Prometheus can no longer scrape viz's own proxies.
  assert.ok(
    of("prometheus-scrape-denied").includes("linkerd-viz/web"),
    of("prometheus-scrape-denied").join(),
  );
  // With the shipped default (all-unauthenticated) none of this is reported.
  const shipped = ["control-plane/install_default.golden.yaml", "viz/install_default.golden.yaml"]
    .flatMap((f) => objectsFromYaml(upstreamFixture(f)));
  assert.deepEqual(
    findingsFor(shipped).filter((f) => f.severity !== "info").map((f) => f.rule),
    [],
  );
});
