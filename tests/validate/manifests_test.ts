/**
 * The validator on manifests as the loader reads them from disk: findings point at the
 * offending field's line, and an object defined in two files is "defined twice", not
 * two objects.
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadManifests } from "../../src/kube/manifests.ts";
import { runTool } from "../../src/tools/_spec.ts";
import { validateTools } from "../../src/tools/validate.ts";
import { fieldPath } from "../../src/validate/run.ts";
import type { ReportResult } from "../../src/validate/run.ts";
import { testDeps } from "../_helpers.ts";

const tool = validateTools()[0]!;

const NAMESPACE = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations:
    linkerd.io/inject: enabled
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        config.linkerd.io/proxy-cpu-request: "lots"
    spec:
      containers:
        - name: web
          image: example/web:1
          ports: [{name: http, containerPort: 8080}]
`;

const SERVER = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: web-http
  namespace: shop
spec:
  podSelector: {matchLabels: {app: web}}
  port: http
  proxyProtocol: HTTP/9
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: web-authz
  namespace: shop
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: web-http
  requiredAuthenticationRefs:
    - group: policy.linkerd.io
      kind: NetworkAuthentication
      name: everyone
    - group: policy.linkerd.io
      kind: MeshTLSAuthentication
      name: missing
`;

/** The same Server as `SERVER`'s, edited in another file (another port). */
const SERVER_AGAIN = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: web-http
  namespace: shop
spec:
  podSelector: {matchLabels: {app: web}}
  port: 8080
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata:
  name: everyone
  namespace: shop
spec:
  networks: [{cidr: 0.0.0.0/0}]
`;

async function validateFiles(files: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "validate-manifests-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const source = await loadManifests([dir]);
    // every resource on one page (a default page holds what fits the answer budget)
    const out = await runTool(tool, { limit: 1000 }, testDeps([], { cluster: source }));
    assert.ok(out.ok, out.ok ? "" : out.error);
    const results = (out.data as { results: ReportResult[] }).results;
    const issues = results.flatMap((r) =>
      r.issues.map((i) => ({
        ...i,
        kind: r.resourceType,
        name: r.name,
        file: i.file?.slice(dir.length + 1),
      }))
    );
    return { results, issues };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("fieldPath() splits dotted paths, list indexes and annotation keys", () => {
  assert.deepEqual(fieldPath("spec.parentRefs[1].group"), ["spec", "parentRefs", 1, "group"]);
  assert.deepEqual(
    fieldPath("spec.template.metadata.annotations[config.linkerd.io/opaque-ports]"),
    [
      "spec",
      "template",
      "metadata",
      "annotations",
      "config.linkerd.io/opaque-ports",
    ],
  );
  assert.deepEqual(fieldPath("spec.containers[].readinessProbe"), ["spec", "containers"]);
  assert.deepEqual(fieldPath("*"), []);
});

Deno.test("findings point at the offending field's line, not the object's first line", async () => {
  const { issues } = await validateFiles({ "a-base.yaml": NAMESPACE, "b-server.yaml": SERVER });
  const at = (rule: string) => issues.find((i) => i.rule === rule);
  // b-server.yaml: "proxyProtocol: HTTP/9" is line 9; the two refs start on lines 22 and 25
  assert.deepEqual([
    at("server-proxy-protocol-invalid")?.file,
    at("server-proxy-protocol-invalid")?.line,
  ], [
    "b-server.yaml",
    9,
  ]);
  const missing = issues.filter((i) => i.rule === "authz-policy-authn-missing");
  assert.deepEqual(missing.map((i) => [i.field, i.file, i.line]), [
    ["spec.requiredAuthenticationRefs[0]", "b-server.yaml", 22],
    ["spec.requiredAuthenticationRefs[1]", "b-server.yaml", 25],
  ]);
  // a-base.yaml: the annotation on the pod template, line 19
  const quantity = at("annotation-quantity-invalid")!;
  assert.deepEqual([quantity.file, quantity.line, quantity.kind], [
    "a-base.yaml",
    19,
    "Deployment",
  ]);
  assert.match(
    quantity.message,
    /ignores the value and injects the proxy with the default resources/,
  );
});

Deno.test("an object defined in two files is 'defined twice', not two overlapping Servers", async () => {
  const { issues } = await validateFiles({
    "a-base.yaml": NAMESPACE,
    "b-server.yaml": SERVER,
    "c-server-again.yaml": SERVER_AGAIN,
  });
  const rules = issues.map((i) => i.rule);
  assert.ok(!rules.includes("server-overlap"), rules.join(", "));
  assert.ok(!rules.includes("server-shadowed"), rules.join(", "));
  const twice = issues.filter((i) => i.rule === "object-defined-twice");
  assert.equal(twice.length, 1);
  assert.equal(twice[0]!.severity, "warning");
  assert.equal(twice[0]!.file, "b-server.yaml");
  assert.match(twice[0]!.message, /c-server-again\.yaml:1/);
  // The kept definition (applied last) is the one checked: port 8080, no invalid proxyProtocol.
  assert.ok(!rules.includes("server-proxy-protocol-invalid"), rules.join(", "));
});
