/** The pure parts of the write tools: YAML allow-list, field diff, change ids, rollback plans. */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/kube/types.ts";
import { diffObjects, formatChange } from "../../src/writes/diff.ts";
import {
  applyBody,
  applyJsonPatch,
  CHANGE_ID_LABEL,
  CREATED_BY_ANNOTATION,
  enforcePatch,
  isChangeId,
  MANAGED_BY_LABEL,
  newChangeId,
  previousAnnotation,
  rollbackPlan,
  TOUCHED_LABEL,
} from "../../src/writes/plan.ts";
import { parsePolicyYaml } from "../../src/writes/policy_yaml.ts";

const SERVER = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: shop, resourceVersion: "12", uid: abc}
spec: {podSelector: {matchLabels: {app: web}}, port: http, accessPolicy: audit}
status: {x: 1}
`;

Deno.test("parsePolicyYaml accepts policy kinds and drops server-owned fields", () => {
  const r = parsePolicyYaml(
    SERVER + "---\n" + `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec: {parentRefs: [{name: web-http, kind: Server, group: policy.linkerd.io}]}
---
`,
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.objects.map((o) => [o.key, o.version, o.namespace, o.name]), [
    ["servers", "v1beta3", "shop", "web-http"],
    ["gatewayhttproutes", "v1", "shop", "r"],
  ]);
  const s = r.objects[0]!.object as KubeObject & { status?: unknown };
  assert.equal(s.metadata.resourceVersion, undefined);
  assert.equal(s.metadata.uid, undefined);
  assert.equal(s.status, undefined);
});

Deno.test("parsePolicyYaml refuses Secrets, other kinds, missing namespaces, duplicates: whole request", () => {
  const secret = parsePolicyYaml(
    SERVER + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\n",
  );
  assert.equal(secret.ok, false);
  assert.match(
    !secret.ok ? secret.problems.join() : "",
    /document 2: Secret \(v1\) cannot be written/,
  );
  const deploy = parsePolicyYaml(
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: a}\n",
  );
  assert.equal(deploy.ok, false);
  const saz = parsePolicyYaml(
    "apiVersion: policy.linkerd.io/v1beta1\nkind: ServerAuthorization\nmetadata: {name: d, namespace: a}\n",
  );
  assert.equal(saz.ok, false, "ServerAuthorization is not in the allow-list");
  const nons = parsePolicyYaml(
    "apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: d}\n",
  );
  assert.match(!nons.ok ? nons.problems[0]! : "", /needs metadata.namespace/);
  const dup = parsePolicyYaml(SERVER + "---\n" + SERVER);
  assert.match(!dup.ok ? dup.problems[0]! : "", /appears twice/);
  assert.equal(parsePolicyYaml("---\n").ok, false);
  assert.equal(parsePolicyYaml("kind: [").ok, false);
});

Deno.test("diffObjects lists field changes and ignores server-maintained metadata", () => {
  const before = {
    metadata: { name: "a", resourceVersion: "1", labels: { x: "1" } },
    spec: { accessPolicy: "audit", port: 8080, list: [1, 2] },
  };
  const after = {
    metadata: { name: "a", resourceVersion: "2", labels: { x: "1", y: "2" } },
    spec: { accessPolicy: "deny", list: [1] },
    status: { changed: true },
  };
  const changes = diffObjects(before, after);
  assert.deepEqual(changes, [
    { path: "metadata.labels.y", op: "add", after: "2" },
    { path: "spec.accessPolicy", op: "change", before: "audit", after: "deny" },
    { path: "spec.list[1]", op: "remove", before: 2 },
    { path: "spec.port", op: "remove", before: 8080 },
  ]);
  assert.equal(formatChange(changes[1]!), '~ spec.accessPolicy: "audit" -> "deny"');
  // A created object is listed leaf by leaf.
  const created = diffObjects({}, { spec: { port: 80, sel: { a: "b" } } });
  assert.deepEqual(created.map((c) => c.path), ["spec.port", "spec.sel.a"]);
  assert.deepEqual(diffObjects(before, structuredClone(before)), []);
});

Deno.test("change ids are label values ordered by time", () => {
  const a = newChangeId(new Date("2026-12-01T09:15:00Z"), () => "a1b2c3");
  assert.equal(a, "c20261201-091500-a1b2c3");
  assert.ok(isChangeId(a));
  assert.ok(a.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(a));
  const b = newChangeId(new Date("2026-12-01T09:16:00Z"), () => "000000");
  assert.ok(b > a);
  assert.equal(isChangeId("c2026-x"), false);
});

const ID = "c20261201-091500-a1b2c3";
const LATER = "c20261202-000000-ffffff";
const obj = (labels: Record<string, string>, annotations: Record<string, string>, spec: unknown) =>
  ({
    apiVersion: "policy.linkerd.io/v1beta3",
    kind: "Server",
    metadata: {
      name: "web",
      namespace: "shop",
      resourceVersion: "5",
      uid: "u1",
      labels,
      annotations,
    },
    spec,
  }) as unknown as KubeObject;

Deno.test("applyBody marks created objects and keeps the previous version of changed ones", () => {
  const doc = parsePolicyYaml(SERVER);
  assert.ok(doc.ok);
  const created = applyBody(doc.objects[0]!.object, ID);
  assert.equal(created.metadata.labels?.[MANAGED_BY_LABEL], "linkerd-mcp");
  assert.equal(created.metadata.labels?.[CHANGE_ID_LABEL], ID);
  assert.equal(created.metadata.annotations?.[CREATED_BY_ANNOTATION], ID);
  const current = obj({ team: "a", [MANAGED_BY_LABEL]: "Helm" }, { note: "n" }, { port: "http" });
  const changed = applyBody(doc.objects[0]!.object, ID, current);
  assert.equal(
    changed.metadata.labels?.[MANAGED_BY_LABEL],
    undefined,
    "someone else's object is not claimed",
  );
  assert.equal(changed.metadata.annotations?.[CREATED_BY_ANNOTATION], undefined);
  const prev = JSON.parse(changed.metadata.annotations![previousAnnotation(ID)]!);
  assert.deepEqual(prev, {
    labels: { team: "a", [MANAGED_BY_LABEL]: "Helm" },
    annotations: { note: "n" },
    spec: { port: "http" },
  });
});

Deno.test("rollbackPlan deletes what a change created, restores what it changed, blocks later ones", () => {
  const created = obj({ [TOUCHED_LABEL]: "true", [CHANGE_ID_LABEL]: ID }, {
    [CREATED_BY_ANNOTATION]: ID,
  }, {
    port: 1,
  });
  const prev = {
    labels: { team: "a" },
    annotations: {},
    spec: { port: "http", accessPolicy: "audit" },
  };
  const changed = obj(
    { team: "a", [TOUCHED_LABEL]: "true", [CHANGE_ID_LABEL]: ID },
    { [previousAnnotation(ID)]: JSON.stringify(prev) },
    { port: "http", accessPolicy: "deny" },
  );
  const unrelated = obj({ [TOUCHED_LABEL]: "true" }, {
    [CREATED_BY_ANNOTATION]: "c20200101-000000-000000",
  }, {});
  const steps = rollbackPlan(ID, [created, changed, unrelated]);
  assert.deepEqual(steps.map((s) => s.action), ["delete", "restore"]);
  const restore = steps[1]!;
  assert.ok(restore.action === "restore");
  assert.deepEqual(restore.restored.metadata.labels, { team: "a" });
  assert.deepEqual(restore.restored.metadata.annotations, {});
  assert.deepEqual((restore.restored as unknown as { spec: unknown }).spec, prev.spec);
  assert.equal(
    restore.restored.metadata.resourceVersion,
    "5",
    "the replace is guarded by the version read",
  );
  // A later change touched the object too: blocked.
  const twice = obj({}, { [CREATED_BY_ANNOTATION]: ID, [previousAnnotation(LATER)]: "{}" }, {});
  const blocked = rollbackPlan(ID, [twice]);
  assert.equal(blocked[0]!.action, "blocked");
  assert.match(blocked[0]!.action === "blocked" ? blocked[0]!.reason : "", new RegExp(LATER));
  assert.deepEqual(rollbackPlan("c20300101-000000-000000", [created, changed]), []);
});

Deno.test("enforcePatch switches audit to deny, guarded by tests", () => {
  const server = obj({}, {}, { port: "http", accessPolicy: "audit" });
  delete (server.metadata as { labels?: unknown }).labels;
  const ops = enforcePatch(server, ID);
  const out = applyJsonPatch(server, ops) as unknown as KubeObject & {
    spec: { accessPolicy: string };
  };
  assert.equal(out.spec.accessPolicy, "deny");
  assert.equal(out.metadata.labels?.[CHANGE_ID_LABEL], ID);
  const prev = JSON.parse(out.metadata.annotations![previousAnnotation(ID)]!);
  assert.equal(prev.spec.accessPolicy, "audit");
  // Already deny (or changed since it was read): the test op refuses.
  assert.throws(() => applyJsonPatch(out, ops), /test failed/);
  // And the rollback of that change restores audit.
  const steps = rollbackPlan(ID, [out]);
  assert.equal(steps[0]!.action, "restore");
  assert.equal(
    steps[0]!.action === "restore"
      ? (steps[0]!.restored as unknown as { spec: { accessPolicy: string } }).spec.accessPolicy
      : "",
    "audit",
  );
});
