/**
 * The suggested change, once applied, allows the traffic.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/kube/types.ts";
import { analyzeAccess } from "../../src/policy/mod.ts";
import { indexOf, mkPod, mkService, yaml } from "./_mesh.ts";

const BASE = [
  mkPod("web-0", { app: "web" }),
  mkPod("client-0", { app: "client" }),
  mkPod("other-0", { app: "other" }),
  mkService("web", {}),
  mkService("client", {}),
  mkService("other", {}),
];

const SERVER = `
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: ns}
spec: {podSelector: {matchLabels: {app: web}}, port: 8080}
`;

const ROUTES = SERVER + `---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: books, namespace: ns}
spec:
  parentRefs: [{name: web-http, kind: Server, group: policy.linkerd.io}]
  rules: [{matches: [{path: {value: /books}}]}]
`;

function check(objects: KubeObject[], env: Record<string, string> = {}) {
  const req = {
    source: { namespace: "ns", service: "client" },
    target: { namespace: "ns", service: "web" },
  };
  const before = analyzeAccess(indexOf(objects, env), req);
  assert.equal(before.verdict, "denied");
  const suggestion = before.ports[0]!.suggestion!;
  assert.ok(suggestion, "a suggestion is given");
  const applied = yaml(suggestion.slice(suggestion.indexOf("\n") + 1));
  const after = analyzeAccess(indexOf([...objects, ...applied], env), req);
  assert.equal(after.verdict, "allowed", after.explanation);
  // the change does not open the port to another client
  const other = analyzeAccess(indexOf([...objects, ...applied], env), {
    ...req,
    source: { namespace: "ns", service: "other" },
  });
  assert.equal(other.verdict, "denied");
}

Deno.test("suggestChange() YAML allows the source on a Server that denies it", () => {
  check([...BASE, ...yaml(SERVER)]);
});

Deno.test("suggestChange() YAML allows the source on the denied route", () => {
  check([...BASE, ...yaml(ROUTES)]);
});

Deno.test("suggestChange() YAML adds a Server and policy when the default policy is deny", () => {
  check(BASE, { LINKERD_DEFAULT_INBOUND_POLICY: "deny" });
});
