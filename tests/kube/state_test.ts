/**
 * `loadState` and the per-namespace fallback `loadStateInNamespaces` over a source whose
 * RBAC forbids all-namespace lists.
 *
 * @module
 */
import assert from "node:assert/strict";
import { KubeApiError } from "../../src/errors.ts";
import type { ResourceKey } from "../../src/kube/resources.ts";
import {
  isForbidden,
  itemsOf,
  loadState,
  loadStateInNamespaces,
  mergeStates,
} from "../../src/kube/state.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { RbacSource } from "../support/rbac_source.ts";

function obj(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject {
  return { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } };
}

const OBJECTS: KubeObject[] = [
  ...["a", "b", "c", "linkerd"].map((n) => obj("v1", "Namespace", n)),
  ...["a", "b", "c"].flatMap((n) => [
    obj("v1", "Pod", `pod-${n}`, n),
    obj("v1", "Service", `svc-${n}`, n),
    obj("policy.linkerd.io/v1beta3", "Server", `srv-${n}`, n),
  ]),
  obj("v1", "ConfigMap", "linkerd-config", "linkerd"),
  obj("v1", "ConfigMap", "unrelated", "linkerd"),
];

const RESOURCES: ResourceKey[] = ["namespaces", "pods", "services", "configmaps", "servers"];
const OPTS = { linkerdNamespace: "linkerd" };

function names(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort();
}

Deno.test("loadState fails with 403 when RBAC forbids all-namespace lists", async () => {
  const source = new RbacSource(OBJECTS);
  const err = await loadState(source, RESOURCES, OPTS).catch((e) => e);
  assert.ok(err instanceof KubeApiError, String(err));
  assert.equal(err.status, 403);
  assert.ok(isForbidden(err));
  assert.ok(!isForbidden(new KubeApiError("gone", { status: 404, reason: "NotFound" })));
  assert.ok(!isForbidden(new Error("403")));
});

Deno.test("loadStateInNamespaces lists namespaced types per namespace and merges", async () => {
  const source = new RbacSource(OBJECTS);
  const state = await loadStateInNamespaces(source, RESOURCES, ["a", "b", "a"], OPTS);
  assert.deepEqual(names(itemsOf(state, "pods")), ["a/pod-a", "b/pod-b"]);
  assert.deepEqual(names(itemsOf(state, "services")), ["a/svc-a", "b/svc-b"]);
  assert.deepEqual(names(itemsOf(state, "servers")), ["a/srv-a", "b/srv-b"]);
  assert.deepEqual(names(itemsOf(state, "namespaces")), ["/a", "/b", "/c", "/linkerd"]);
  // ConfigMaps: only Linkerd's own, by name, in the control-plane namespace.
  assert.deepEqual(names(itemsOf(state, "configmaps")), ["linkerd/linkerd-config"]);
  assert.deepEqual(state.missing, []);
  assert.deepEqual(state.forbidden, []);
  assert.equal(state.source, "rbac test cluster");
  assert.equal(state.linkerdNamespace, "linkerd");
  // Every namespaced list named a namespace; each (type, namespace) once.
  const lists = source.calls.filter((c) => c.startsWith("list ") && c !== "list namespaces");
  assert.ok(lists.every((c) => / -n (a|b)$/.test(c)), lists.join(", "));
  assert.equal(new Set(lists).size, lists.length, lists.join(", "));
  assert.equal(lists.length, 3 * 2);
  assert.ok(!source.calls.some((c) => c.includes("configmaps") && c.startsWith("list")));
});

Deno.test("loadStateInNamespaces records forbidden cluster-scoped types and reads them as empty", async () => {
  const source = new RbacSource(OBJECTS, { resources: ["namespaces"] });
  const state = await loadStateInNamespaces(source, RESOURCES, ["c"], OPTS);
  assert.deepEqual(state.forbidden, ["namespaces"]);
  assert.deepEqual(itemsOf(state, "namespaces"), []);
  assert.deepEqual(names(itemsOf(state, "pods")), ["c/pod-c"]);
});

Deno.test("loadStateInNamespaces propagates a 403 in one of the namespaces", async () => {
  const source = new RbacSource(OBJECTS, { namespaces: ["b"] });
  const err = await loadStateInNamespaces(source, RESOURCES, ["a", "b"], OPTS).catch((e) => e);
  assert.ok(isForbidden(err), String(err));
  assert.match(err.message, /in the namespace "b"/);
});

Deno.test("loadStateInNamespaces propagates a forbidden ConfigMap read", async () => {
  const source = new RbacSource(OBJECTS, { namespaces: ["linkerd"] });
  const err = await loadStateInNamespaces(source, RESOURCES, ["a"], OPTS).catch((e) => e);
  assert.ok(isForbidden(err), String(err));
});

Deno.test("loadStateInNamespaces records a CRD that is not served once, as missing", async () => {
  const source = new RbacSource(OBJECTS, { unserved: ["servers"] });
  const state = await loadStateInNamespaces(source, RESOURCES, ["a", "b"], OPTS);
  assert.deepEqual(state.missing, ["servers"]);
  assert.deepEqual(itemsOf(state, "servers"), []);
  assert.deepEqual(names(itemsOf(state, "pods")), ["a/pod-a", "b/pod-b"]);
});

Deno.test("loadStateInNamespaces with no namespaces reads only cluster-scoped types", async () => {
  const source = new RbacSource(OBJECTS);
  const state = await loadStateInNamespaces(source, ["namespaces", "pods"], [], OPTS);
  assert.equal(itemsOf(state, "namespaces").length, 4);
  assert.deepEqual(itemsOf(state, "pods"), []);
  assert.deepEqual(source.calls, ["list namespaces"]);
});

Deno.test("mergeStates concatenates objects and unites missing and forbidden", () => {
  const a = {
    source: "x",
    linkerdNamespace: "linkerd",
    objects: { pods: [obj("v1", "Pod", "p", "a")] },
    missing: ["servers"] as ResourceKey[],
    forbidden: ["namespaces"] as ResourceKey[],
  };
  const b = {
    source: "y",
    linkerdNamespace: "other",
    objects: { pods: [obj("v1", "Pod", "q", "b")], services: [] },
    missing: ["servers", "httproutes"] as ResourceKey[],
  };
  const m = mergeStates("x", "linkerd", [a, b]);
  assert.deepEqual(names(itemsOf(m, "pods")), ["a/p", "b/q"]);
  assert.deepEqual(itemsOf(m, "services"), []);
  assert.deepEqual(m.missing, ["httproutes", "servers"]);
  assert.deepEqual(m.forbidden, ["namespaces"]);
  assert.equal(m.source, "x");
  assert.equal(mergeStates("x", "linkerd", [b]).forbidden, undefined);
});
