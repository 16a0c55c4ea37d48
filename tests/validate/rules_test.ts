/**
 * Rule details the corpus does not pin down: messages, hints, and user strings that
 * name Object.prototype members.
 *
 * @module
 */
import assert from "node:assert/strict";
import { findingsFor } from "./_state.ts";

const MTLS = (identity: string) => `
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: clients, namespace: shop}
spec:
  identities: ["${identity}"]
`;

Deno.test("meshtls-identity-foreign without linkerd-config: compares with the defaults and says so", () => {
  const [f, ...rest] = findingsFor(
    MTLS("web.shop.serviceaccount.identity.linkerd.example.org"),
    { partial: true },
  ).filter((x) => x.rule === "meshtls-identity-foreign");
  assert.equal(rest.length, 0);
  assert.equal(f?.field, "spec.identities[0]");
  assert.match(f!.message, /does not end in "\.serviceaccount\.identity\.linkerd\.cluster\.local"/);
  assert.match(
    f!.message,
    /no linkerd-config in the view: assuming .*"cluster\.local", the defaults/,
  );
  const ok = findingsFor(MTLS("web.shop.serviceaccount.identity.linkerd.cluster.local"), {
    partial: true,
  });
  assert.ok(!ok.some((x) => x.rule === "meshtls-identity-foreign"));
});

Deno.test("kinds and groups named like Object.prototype members are findings, not crashes", () => {
  for (const kind of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    const text = `
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: odd, namespace: shop}
spec:
  targetRef: {group: "${kind}", kind: "${kind}", name: x}
  requiredAuthenticationRefs: [{group: "${kind}", kind: "${kind}", name: y}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: odd, namespace: shop}
spec:
  parentRefs: [{group: "${kind}", kind: "${kind}", name: z}]
`;
    const rules = findingsFor(text, { partial: true }).map((f) => f.rule);
    assert.ok(rules.includes("authz-policy-target-invalid"), `${kind}: ${rules.join(", ")}`);
    assert.ok(rules.includes("authz-policy-authn-invalid"), `${kind}: ${rules.join(", ")}`);
  }
});

Deno.test("an unresolvable or unsupported authentication ref: the whole policy is ignored, as an error", () => {
  const text = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web}
  requiredAuthenticationRefs:
    - {kind: MeshTLSAuthentication, name: clients}
`;
  const f = findingsFor(text, { partial: true }).find((x) =>
    x.rule === "authz-policy-authn-invalid"
  );
  assert.equal(f?.severity, "error");
  assert.equal(f?.field, "spec.requiredAuthenticationRefs[0]");
  assert.match(f!.message, /needs group policy\.linkerd\.io/);
  assert.match(f!.message, /rejects the whole policy/);
});

Deno.test("a bare Pod in a namespace does not stop its workloads standing in for their pods", () => {
  const text = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, annotations: {linkerd.io/inject: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {app: debug}}
spec: {containers: [{name: sh, image: busybox}]}
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
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}, port: http}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-grpc, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}, port: grpc}
`;
  const rules = findingsFor(text, { partial: true }).map((f) =>
    `${f.rule} ${f.object.metadata.name}`
  );
  assert.ok(!rules.includes("server-selects-no-pods web-http"), rules.join("; "));
  // pod-based rules still see the Deployment's pod: the grpc port does not exist there
  assert.ok(rules.includes("server-port-not-found web-grpc"), rules.join("; "));
});

Deno.test("overlapping Servers: before 2.18 the admission webhook refuses the newer one, and the message says so", () => {
  const servers = (version: string) => `
apiVersion: v1
kind: ConfigMap
metadata: {name: linkerd-config, namespace: linkerd}
data:
  values: |
    linkerdVersion: ${version}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: example/web:1, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: a-old, namespace: shop, creationTimestamp: "2026-01-01T00:00:00Z"}
spec: {podSelector: {matchLabels: {app: web}}, port: http}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: b-new, namespace: shop, creationTimestamp: "2026-02-01T00:00:00Z"}
spec: {podSelector: {}, port: http}
`;
  const shadowed = (v: string) =>
    findingsFor(servers(v)).find((f) =>
      f.rule === "server-shadowed" && f.object.metadata.name === "b-new"
    );
  assert.match(shadowed("stable-2.14.10")?.message ?? "", /predates overlapping Servers \(2\.18\)/);
  assert.doesNotMatch(shadowed("edge-26.8.3")?.message ?? "missing", /predates/);
  assert.ok(shadowed("edge-26.8.3"));
});
