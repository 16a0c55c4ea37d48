/**
 * Safe suggestions: each suggested change is applied to the state and checked by the
 * model — it allows the asked-for call and denies nobody who is allowed today — and the
 * smallest such change is offered.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/kube/types.ts";
import { analyzeAccess, type SourceRef } from "../../src/policy/mod.ts";
import {
  at,
  id,
  indexFor,
  mkAuthorizationPolicy,
  mkHttpRoute,
  mkMeshTls,
  mkPod,
  mkServer,
  mkService,
  NS,
} from "./_builders.ts";
import { yaml } from "./_mesh.ts";

const SERVER_REF = { group: "policy.linkerd.io", kind: "Server", name: "web-http" };
const MTLS = (name: string) => ({
  group: "policy.linkerd.io",
  kind: "MeshTLSAuthentication",
  name,
});

function mesh(): KubeObject[] {
  return [
    mkPod("web", { sa: "web", ip: "10.0.0.10" }),
    mkPod("a", { sa: "a", ip: "10.0.0.11" }),
    mkPod("b", { sa: "b", ip: "10.0.0.12" }),
    mkPod("legacy", { sa: "legacy", meshed: false, ip: "10.0.0.13" }),
    ...["web", "a", "b", "legacy"].map((n) =>
      mkService(n, { ports: [{ name: "http", port: 80, targetPort: "http" }] })
    ),
  ];
}

function verdict(objects: KubeObject[], source: string, env: Record<string, string> = {}) {
  return analyzeAccess(indexFor(objects, env).idx, {
    source: { namespace: NS, service: source } as SourceRef,
    target: { namespace: NS, service: "web" },
  }).verdict;
}

/** Asks `source → web`, applies the suggestion (replacing objects it rewrites) and re-asks. */
function applySuggestion(objects: KubeObject[], source: string, env: Record<string, string> = {}) {
  const r = analyzeAccess(indexFor(objects, env).idx, {
    source: { namespace: NS, service: source },
    target: { namespace: NS, service: "web" },
  });
  const port = r.ports[0]!;
  assert.ok(port.suggestion, r.explanation);
  const docs = yaml(port.suggestion.slice(port.suggestion.indexOf("\n") + 1));
  const same = (a: KubeObject, b: KubeObject) =>
    a.kind === b.kind && a.metadata.name === b.metadata.name &&
    a.metadata.namespace === b.metadata.namespace;
  const applied = [...objects.filter((o) => !docs.some((d) => same(o, d))), ...docs];
  return { before: r, port, docs, applied };
}

Deno.test("safe suggestion: a new Server keeps the default policy for the clients it admits (breaks nobody)", () => {
  const env = { LINKERD_DEFAULT_INBOUND_POLICY: "all-authenticated" };
  const objects = mesh();
  assert.equal(verdict(objects, "a", env), "allowed");
  const { port, applied, docs } = applySuggestion(objects, "legacy", env);
  assert.equal(port.suggestionCheck!.change, "new-server");
  assert.deepEqual(port.suggestionCheck!.breaks, []);
  assert.equal(port.suggestionCheck!.allowsRequest, true);
  const server = docs.find((d) => d.kind === "Server")!;
  assert.equal((server.spec as Record<string, unknown>)["accessPolicy"], "all-authenticated");
  assert.ok(
    port.suggestionCheck!.notes.some((n) => /would deny ns-0\/a, ns-0\/b/.test(n)),
    port.suggestionCheck!.notes.join("\n"),
  );
  assert.equal(verdict(applied, "legacy", env), "allowed");
  assert.equal(verdict(applied, "a", env), "allowed", "a stays allowed");
  assert.equal(verdict(applied, "b", env), "allowed", "b stays allowed");
});

Deno.test("safe suggestion: widen the MeshTLSAuthentication an existing policy uses", () => {
  const objects = [
    ...mesh(),
    mkServer("web-http", { port: "http", selector: { matchLabels: { app: "web" } } }),
    mkMeshTls("web-clients", { identityRefs: [{ kind: "ServiceAccount", name: "a" }] }),
    mkAuthorizationPolicy("web-clients", SERVER_REF, [MTLS("web-clients")]),
  ];
  assert.equal(verdict(objects, "b"), "denied");
  const { port, docs, applied } = applySuggestion(objects, "b");
  assert.equal(port.suggestionCheck!.change, "widen-authentication");
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), [
    "MeshTLSAuthentication/web-clients",
  ]);
  assert.equal(verdict(applied, "b"), "allowed");
  assert.equal(verdict(applied, "a"), "allowed");
  assert.equal(verdict(applied, "legacy"), "denied");
});

Deno.test("safe suggestion: reuse an authentication that already names the source", () => {
  const objects = [
    ...mesh(),
    mkServer("web-http", { port: "http", selector: { matchLabels: { app: "web" } } }),
    mkMeshTls("b-only", { identities: [id("b")] }),
  ];
  const { port, docs, applied } = applySuggestion(objects, "b");
  assert.equal(port.suggestionCheck!.change, "reuse-authentication");
  assert.deepEqual(docs.map((d) => d.kind), ["AuthorizationPolicy"]);
  assert.equal(verdict(applied, "b"), "allowed");
  assert.equal(verdict(applied, "a"), "denied");
});

Deno.test("safe suggestion: the real cause is an ignored policy (MeshTLSAuthentication ref without its group)", () => {
  const objects = [
    ...mesh(),
    mkServer("web-http", { port: "http", selector: { matchLabels: { app: "web" } } }),
    mkMeshTls("a-authn", { identities: [id("a")] }),
    mkAuthorizationPolicy("a-to-web", SERVER_REF, [{
      kind: "MeshTLSAuthentication",
      name: "a-authn",
    }]),
  ];
  const { port, docs, applied } = applySuggestion(objects, "a");
  assert.equal(port.suggestionCheck!.change, "fix-policy");
  assert.match(port.suggestion!, /AuthorizationPolicy "a-to-web" is ignored/);
  assert.equal(docs[0]!.kind, "AuthorizationPolicy");
  assert.equal(verdict(applied, "a"), "allowed");
});

Deno.test("safe suggestion: the real cause is a Server whose quoted port names nothing", () => {
  const env = { LINKERD_DEFAULT_INBOUND_POLICY: "deny" };
  const objects = [
    ...mesh(),
    mkServer("web-http", { port: "8080", selector: { matchLabels: { app: "web" } } }),
    mkAuthorizationPolicy("a-to-web", SERVER_REF, [{ kind: "ServiceAccount", name: "a" }]),
  ];
  const { port, applied } = applySuggestion(objects, "a", env);
  assert.equal(port.suggestionCheck!.change, "fix-server-port");
  assert.ok(port.suggestionCheck!.notes.some((n) => /port "8080" names no container port/.test(n)));
  assert.equal(verdict(applied, "a", env), "allowed");
});

Deno.test("safe suggestion: an unreachable route is said, and the reachable one is authorized", () => {
  const srv = { group: "policy.linkerd.io", kind: "Server", name: "web-http" };
  const rules = [{ matches: [{ path: { type: "PathPrefix", value: "/api" } }] }];
  const objects = [
    ...mesh(),
    mkServer("web-http", {
      port: "http",
      selector: { matchLabels: { app: "web" } },
      proxyProtocol: "HTTP/1",
    }),
    mkHttpRoute("api", { parents: [srv], rules, created: at(1) }),
    mkHttpRoute("api-copy", { parents: [srv], rules, created: at(2) }),
    mkAuthorizationPolicy("a-to-copy", {
      group: "policy.linkerd.io",
      kind: "HTTPRoute",
      name: "api-copy",
    }, [
      { kind: "ServiceAccount", name: "a" },
    ]),
  ];
  const { before, applied } = applySuggestion(objects, "a");
  assert.equal(
    before.verdict,
    "denied",
    "the route-level policy is on a route that is never selected",
  );
  assert.ok(before.ports[0]!.notes.some((n) => /"api-copy" is never selected/.test(n)));
  assert.deepEqual(before.ports[0]!.routes.map((r) => r.route), ["HTTPRoute/api"]);
  assert.equal(verdict(applied, "a"), "allowed");
  assert.equal(verdict(applied, "b"), "denied");
});
