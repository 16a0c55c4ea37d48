import assert from "node:assert/strict";
import { ManifestError } from "../../src/errors.ts";
import { loadManifests } from "../../src/kube/manifests.ts";
import { type KubeObject, positionOf } from "../../src/kube/types.ts";
import { fieldLine, parseManifestText } from "../../src/kube/yaml_docs.ts";
import { isMeshed, type Pod, proxyContainer, proxyVersionOf } from "../../src/mesh/pods.ts";

const FIXTURES = new URL("../fixtures/manifests/", import.meta.url).pathname;
const GITOPS = `${FIXTURES}gitops`;

/** Invalid YAML (kept out of the fixtures so that `deno fmt --check` passes). */
const BROKEN = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: fine\n---\napiVersion: v1\n" +
  "kind: Service\nmetadata:\n  name: broken\n namespace: shop\nspec: {}\n";

function asPod(o: KubeObject): Pod {
  return o as unknown as Pod;
}

function byName(objects: KubeObject[], prefix: string): KubeObject[] {
  return objects.filter((o) => o.metadata.name.startsWith(prefix));
}

Deno.test("parseManifestText() reads multi-document YAML with each document's line", () => {
  const text = "---\n# a comment\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n" +
    "\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n";
  const { entries, warnings } = parseManifestText(text, "x.yaml");
  assert.deepEqual(entries.map((e) => [e.object.metadata.name, e.line]), [["a", 3], ["b", 10]]);
  assert.deepEqual(warnings, []);
});

Deno.test("parseManifestText() expands List kinds with the line of each item", () => {
  const { entries } = parseManifestText(Deno.readTextFileSync(`${FIXTURES}dump.yaml`), "dump.yaml");
  assert.deepEqual(entries.map((e) => [e.object.kind, e.line]), [["Pod", 6], ["Deployment", 28]]);
});

Deno.test("parseManifestText() reads JSON", () => {
  const text = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "j" } });
  assert.equal(parseManifestText(text, "a.json").entries[0]?.object.metadata.name, "j");
  const tabbed = '{\n\t"apiVersion": "v1",\n\t"kind": "Namespace",\n\t"metadata": {"name": "t"}\n}';
  assert.equal(parseManifestText(tabbed, "t.json").entries[0]?.object.metadata.name, "t");
});

Deno.test("parseManifestText() reports a parse error with its line and keeps the other documents", () => {
  const { entries, problems } = parseManifestText(BROKEN, "broken.yaml");
  assert.deepEqual(entries.map((e) => e.object.metadata.name), ["fine"]);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.file, "broken.yaml");
  assert.equal(problems[0]!.line, 10);
  assert.equal(problems[0]!.severity, "error");
  assert.equal(problems[0]!.rule, "manifest-parse-error");
  assert.match(problems[0]!.message, /line 10, column 1\): All mapping items must start/);
});

Deno.test("loadManifests() turns a parse error into a problem with file and line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/apps`);
    await Deno.writeTextFile(`${dir}/apps/broken.yaml`, BROKEN);
    const src = await loadManifests([dir]);
    assert.ok(await src.get("namespaces", "fine"));
    assert.deepEqual(src.problems.map((p) => [p.file, p.line, p.rule]), [
      [`${dir}/apps/broken.yaml`, 10, "manifest-parse-error"],
    ]);
    assert.match(src.warnings[0]!, /broken\.yaml:10: Cannot parse YAML/);
    assert.match(src.describe(), /; 1 load error\)$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadManifests() reports a missing path", async () => {
  await assert.rejects(() => loadManifests([`${FIXTURES}nope`]), ManifestError);
});

Deno.test("loadManifests() reads folders recursively in name order, skipping hidden entries", async () => {
  const src = await loadManifests([GITOPS]);
  assert.equal(src.kind, "manifests");
  assert.deepEqual(src.files.map((f) => f.slice(GITOPS.length + 1)), [
    "apps/nested/db.json",
    "apps/nested/jobs.yml",
    "apps/web.yaml",
    "linkerd/config.yaml",
    "namespace.yaml",
  ]);
  assert.equal(src.describe(), `manifests: ${GITOPS} (5 files, 8 objects; 1 load warning)`);
  assert.equal(await src.get("namespaces", "hidden"), undefined);
});

Deno.test("loadManifests() records each object's file and line", async () => {
  const src = await loadManifests([GITOPS]);
  const web = await src.get("deployments", "web", "shop");
  assert.deepEqual(positionOf(web!), { file: `${GITOPS}/apps/web.yaml`, line: 16 });
  const db = await src.get("statefulsets", "db", "shop");
  assert.deepEqual(positionOf(db!), { file: `${GITOPS}/apps/nested/db.json`, line: 1 });
});

Deno.test("loadManifests() drops Secrets and warns about incomplete objects", async () => {
  const src = await loadManifests([GITOPS]);
  assert.ok(src.all().every((o) => o.kind !== "Secret"));
  assert.ok(!JSON.stringify(src.all()).includes("hunter2"));
  assert.deepEqual(src.warnings, [
    `${GITOPS}/apps/nested/jobs.yml:26: skipped an object without "metadata.name"`,
  ]);
});

Deno.test("loadManifests() puts namespaced objects without a namespace in default", async () => {
  const src = await loadManifests([GITOPS]);
  assert.ok(await src.get("configmaps", "report-settings", "default"));
  assert.ok(await src.get("cronjobs", "report", "default"));
  assert.equal((await src.get("namespaces", "shop"))?.metadata.namespace, undefined);
});

Deno.test("loadManifests() synthesises pods from workloads, meshed as the injector would", async () => {
  const src = await loadManifests([GITOPS]);
  const web = byName(await src.list("pods", { namespace: "shop" }), "web-");
  assert.equal(web.length, 2, "one pod per replica");
  for (const pod of web) {
    assert.match(pod.metadata.name, /^web-[a-z0-9]{10}-[a-z0-9]{5}$/);
    assert.deepEqual(pod.metadata.ownerReferences, [
      { apiVersion: "apps/v1", kind: "Deployment", name: "web", controller: true },
    ]);
    assert.ok(isMeshed(pod, "linkerd"));
    assert.equal(pod.metadata.labels?.["app"], "web");
    assert.equal(pod.metadata.labels?.["linkerd.io/proxy-deployment"], "web");
    assert.equal(pod.metadata.labels?.["linkerd.io/workload-ns"], "shop");
    assert.equal(proxyVersionOf(asPod(pod)), "v2.366.0", "from linkerd-config");
    const proxy = proxyContainer(asPod(pod));
    assert.equal(proxy?.nativeSidecar, true);
    assert.equal(proxy?.container.image, "cr.l5d.io/linkerd/proxy:v2.366.0");
    assert.deepEqual(proxy?.container.ports, [
      { containerPort: 4143, name: "linkerd-proxy" },
      { containerPort: 4191, name: "linkerd-admin" },
    ]);
    assert.equal(pod.status, undefined, "no status or IPs from manifests");
    const ann = pod.metadata.annotations ?? {};
    assert.equal(ann["config.linkerd.io/default-inbound-policy"], "deny", "the pod's own wins");
    assert.equal(ann["config.alpha.linkerd.io/proxy-wait-before-exit-seconds"], "5");
    assert.equal(ann["example.com/owner"], undefined, "only config annotations are copied");
    assert.ok(positionOf(pod)?.file.endsWith("apps/web.yaml"));
  }
  assert.notEqual(web[0]!.metadata.name, web[1]!.metadata.name);
});

Deno.test("loadManifests() honours proxy-enable-native-sidecar false", async () => {
  const src = await loadManifests([GITOPS]);
  const [legacy] = (await src.list("pods", { labelSelector: "app=legacy" })).map(asPod);
  assert.equal(proxyContainer(legacy!)?.nativeSidecar, false);
  assert.equal(legacy!.spec?.containers?.[0]?.name, "linkerd-proxy");
  assert.equal(
    legacy!.metadata.annotations?.["config.linkerd.io/default-inbound-policy"],
    "all-authenticated",
    "inherited from the namespace",
  );
});

Deno.test("loadManifests() leaves template opt-outs and unannotated namespaces unmeshed", async () => {
  const src = await loadManifests([GITOPS]);
  const db = await src.list("pods", { labelSelector: "app=db" });
  assert.deepEqual(db.map((p) => p.metadata.name), ["db-0", "db-1"]);
  assert.ok(db.every((p) => !isMeshed(p)), "linkerd.io/inject: disabled on the template");
  const [report] = await src.list("pods", { namespace: "default" });
  assert.match(report!.metadata.name, /^report-\d{8}-[a-z0-9]{5}$/);
  assert.ok(!isMeshed(report!), "namespace default has no injection annotation");
});

Deno.test("loadManifests() keeps given pods and does not synthesise in their namespace", async () => {
  const src = await loadManifests([`${FIXTURES}dump.yaml`]);
  const pods = await src.list("pods");
  assert.deepEqual(pods.map((p) => p.metadata.name), ["api-7d9f8-abcde"]);
  assert.equal(proxyVersionOf(asPod(pods[0]!)), "v2.300.0", "already injected: untouched");
  assert.equal(src.synthesizedPods, 0);
});

Deno.test("loadManifests() is deterministic", async () => {
  const a = await loadManifests([GITOPS, `${FIXTURES}dump.yaml`]);
  const b = await loadManifests([GITOPS, `${FIXTURES}dump.yaml`]);
  assert.deepEqual(a.all(), b.all());
  assert.equal(
    a.describe(),
    `manifests: ${GITOPS}, ${FIXTURES}dump.yaml (6 files, 10 objects; 1 load warning)`,
  );
});

Deno.test("fieldLine() gives the line of a field's key in YAML, List items and JSON", () => {
  const dump = parseManifestText(Deno.readTextFileSync(`${FIXTURES}dump.yaml`), "dump.yaml");
  const [pod, deploy] = dump.entries.map((e) => e.object);
  assert.equal(fieldLine(pod!, []), 6);
  assert.equal(fieldLine(pod!, ["metadata", "annotations", "linkerd.io/proxy-version"]), 16);
  assert.equal(fieldLine(pod!, ["spec", "containers", 0, "image"]), 24);
  assert.equal(fieldLine(deploy!, ["spec", "template", "spec", "containers", 0, "name"]), 43);
  assert.equal(fieldLine(deploy!, ["spec", "nope", "deeper"]), 33, "deepest ancestor: spec");

  const text = "---\n# c\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n" +
    "    - port: 80\n      targetPort: http\n";
  const [svc] = parseManifestText(text, "s.yaml").entries.map((e) => e.object);
  assert.equal(fieldLine(svc!, ["spec", "ports", 0, "targetPort"]), 10);

  const json = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "a" } });
  const list = JSON.stringify(
    { apiVersion: "v1", kind: "List", items: [JSON.parse(json), JSON.parse(json)] },
    null,
    2,
  );
  const entries = parseManifestText(`${json}\n${list}`, "l.json").entries.map((e) => e.object);
  assert.equal(fieldLine(entries[0]!, ["metadata", "name"]), 1);
  assert.equal(fieldLine(entries[2]!, []), 13);
  assert.equal(fieldLine(entries[2]!, ["metadata", "name"]), 17);
  assert.equal(
    fieldLine({ apiVersion: "v1", kind: "Pod", metadata: { name: "x" } }, []),
    undefined,
  );
});
