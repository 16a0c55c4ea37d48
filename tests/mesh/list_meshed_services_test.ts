import assert from "node:assert/strict";
import { z } from "zod";
import type { KubeObject } from "../../src/kube/types.ts";
import type { ServicesPage } from "../../src/mesh/services.ts";
import { DATA_SOURCE_SHAPE, runTool } from "../../src/tools/_spec.ts";
import { meshTools } from "../../src/tools/mesh.ts";
import { objectsFromYaml, testDeps, upstreamFixture } from "../_helpers.ts";
import { appPod, service } from "./_fixtures.ts";

const spec = meshTools().find((t) => t.name === "list_meshed_services")!;

async function list(
  objects: KubeObject[],
  args: Record<string, unknown> = {},
): Promise<ServicesPage & { namespace?: string }> {
  const outcome = await runTool(spec, args, testDeps(objects));
  if (!outcome.ok) throw new Error(outcome.error);
  z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE) }).strict()
    .parse(outcome.data);
  return outcome.data as ServicesPage;
}

async function listError(objects: KubeObject[], args: Record<string, unknown>): Promise<string> {
  const outcome = await runTool(spec, args, testDeps(objects));
  assert(!outcome.ok, "expected an error");
  return outcome.error;
}

function replicaSet(namespace: string, name: string, deployment: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace,
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: deployment,
        controller: true,
      }],
    },
  };
}

/** shop: web fully meshed, api partly, db not at all, ext without selector. */
function shop(): KubeObject[] {
  return [
    service("shop", "web", { app: "web" }),
    service("shop", "api", { app: "api" }),
    service("shop", "db", { app: "db" }),
    service("shop", "ext"),
    replicaSet("shop", "web-7d9f8", "web"),
    appPod("shop", "web-7d9f8-a", { app: "web", "pod-template-hash": "7d9f8" }, {
      owner: "web-7d9f8",
    }),
    appPod("shop", "web-7d9f8-b", { app: "web", "pod-template-hash": "7d9f8" }, {
      owner: "web-7d9f8",
      version: "edge-25.1.1",
    }),
    appPod("shop", "api-66c4-a", { app: "api", "pod-template-hash": "66c4" }, {
      owner: "api-66c4",
    }),
    appPod("shop", "api-66c4-b", { app: "api", "pod-template-hash": "66c4" }, {
      owner: "api-66c4",
      meshed: false,
    }),
    appPod("shop", "db-0", { app: "db" }, { meshed: false }),
  ];
}

Deno.test("list_meshed_services lists meshed and partially meshed services, not unmeshed ones", async () => {
  const r = await list(shop());
  assert.deepEqual(r.services.map((s) => s.service), ["api", "web"]);
  assert.deepEqual(r.totalServices, 2);
  assert.equal(r.nextCursor, undefined);
  const [api, web] = r.services;
  assert.deepEqual(api, {
    namespace: "shop",
    service: "api",
    meshedPods: 1,
    totalPods: 2,
    partiallyMeshed: true,
    proxyVersions: ["install-proxy-version"],
    // no ReplicaSet object: the Deployment name comes from the pod-template-hash suffix
    workloads: [{ kind: "Deployment", name: "api" }],
    pods: ["api-66c4-a"],
    unmeshedPods: ["api-66c4-b"],
  });
  assert.equal(web!.partiallyMeshed, false);
  assert.deepEqual(web!.proxyVersions, ["edge-25.1.1", "install-proxy-version"]);
  assert.deepEqual(web!.workloads, [{ kind: "Deployment", name: "web" }]);
  assert.deepEqual(r.summary, {
    servicesScanned: 4,
    fullyMeshed: 1,
    partiallyMeshed: 1,
    unmeshed: 1,
    withoutPods: 1,
    meshedPods: 3,
    selectedPods: 5,
  });
});

Deno.test("list_meshed_services includes unmeshed services on request", async () => {
  const r = await list(shop(), { includeUnmeshed: true });
  assert.deepEqual(r.services.map((s) => `${s.service}:${s.meshedPods}/${s.totalPods}`), [
    "api:1/2",
    "db:0/1",
    "web:2/2",
  ]);
  assert.deepEqual(r.services[1]!.workloads, [{ kind: "Pod", name: "db-0" }]);
});

Deno.test("list_meshed_services explains an empty answer", async () => {
  const unmeshed = await list([
    service("db", "db", { app: "db" }),
    appPod("db", "db-0", { app: "db" }, { meshed: false }),
  ]);
  assert.deepEqual(unmeshed.services, []);
  assert.match(
    unmeshed.note!,
    /1 Service\(s\) in the cluster select pods but none is meshed; pass include_unmeshed: true/,
  );
  const none = await list(shop(), { namespace: "nowhere" });
  assert.equal(none.note, 'No Services found in namespace "nowhere"; check the namespace name');
  assert.equal((await list(shop())).note, undefined);
});

Deno.test("list_meshed_services filters by namespace", async () => {
  const objects = [
    ...shop(),
    service("other", "web", { app: "web" }),
    appPod("other", "web-1", { app: "web" }),
  ];
  const all = await list(objects);
  assert.deepEqual(all.services.map((s) => `${s.namespace}/${s.service}`), [
    "other/web",
    "shop/api",
    "shop/web",
  ]);
  const one = await list(objects, { namespace: "other" });
  assert.deepEqual(one.services.map((s) => `${s.namespace}/${s.service}`), ["other/web"]);
  assert.equal(one.namespace, "other");
  assert.equal(one.summary.servicesScanned, 1);
  // a Service never selects pods of another namespace
  assert.equal(all.services[0]!.totalPods, 1);
});

Deno.test("list_meshed_services skips terminated pods", async () => {
  const done = appPod("shop", "web-old", { app: "web" }, { meshed: false });
  (done.status as { phase: string }).phase = "Succeeded";
  const r = await list([...shop(), done]);
  const web = r.services.find((s) => s.service === "web")!;
  assert.equal(web.totalPods, 2);
  assert.equal(web.partiallyMeshed, false);
});

Deno.test("list_meshed_services pages through many services with a cursor", async () => {
  const objects: KubeObject[] = [];
  for (let i = 0; i < 25; i++) {
    const name = `svc-${String(i).padStart(2, "0")}`;
    objects.push(service(i % 2 ? "a" : "b", name, { app: name }));
    objects.push(appPod(i % 2 ? "a" : "b", `${name}-pod`, { app: name }));
  }
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const r = await list(objects, { limit: 10, ...(cursor ? { cursor } : {}) });
    assert.equal(r.totalServices, 25);
    assert(r.services.length <= 10);
    seen.push(...r.services.map((s) => `${s.namespace}/${s.service}`));
    cursor = r.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.equal(seen.length, 25);
  assert.equal(new Set(seen).size, 25);
  assert.deepEqual(seen, [...seen].sort());
});

Deno.test("list_meshed_services rejects bad cursors and arguments", async (t) => {
  const objects = shop();
  await t.step("garbage cursor", async () => {
    assert.match(
      await listError(objects, { cursor: "not-a-cursor" }),
      /Cursor "not-a-cursor" is not valid/,
    );
  });
  await t.step("cursor from another namespace filter", async () => {
    const first = await list(objects, { limit: 1 });
    assert(first.nextCursor);
    assert.match(
      await listError(objects, { namespace: "shop", cursor: first.nextCursor }),
      /Cursor was issued for different arguments/,
    );
  });
  await t.step("limit out of range", async () => {
    assert.match(
      await listError(objects, { limit: 0 }),
      /Invalid arguments for list_meshed_services: limit/,
    );
    assert.match(await listError(objects, { limit: 1001 }), /limit/);
    assert.match(await listError(objects, { limit: 2.5 }), /limit/);
  });
  await t.step("namespace not a DNS-1123 label", async () => {
    assert.match(
      await listError(objects, { namespace: "Shop" }),
      /namespace: Cannot use namespace .*: a Kubernetes namespace name must be a DNS-1123 label/,
    );
    assert.match(await listError(objects, { namespace: "-x" }), /namespace/);
  });
  await t.step("unknown argument", async () => {
    assert.match(await listError(objects, { namespaces: "shop" }), /Invalid arguments/);
  });
});

Deno.test("list_meshed_services resolves workloads from ownerRefs and proxy labels", async () => {
  const sts = appPod("data", "kafka-0", { app: "kafka", "linkerd.io/proxy-statefulset": "kafka" });
  const rs = appPod("data", "etl-x1", { app: "etl" }, { owner: "etl-x1" });
  const objects = [
    service("data", "kafka", { app: "kafka" }),
    service("data", "etl", { app: "etl" }),
    sts,
    rs,
    // a bare ReplicaSet without a Deployment owner
    { ...replicaSet("data", "etl-x1", "unused"), metadata: { name: "etl-x1", namespace: "data" } },
  ];
  const r = await list(objects);
  assert.deepEqual(
    Object.fromEntries(r.services.map((s) => [s.service, s.workloads])),
    {
      etl: [{ kind: "ReplicaSet", name: "etl-x1" }],
      kafka: [{ kind: "StatefulSet", name: "kafka" }],
    },
  );
});

Deno.test("list_meshed_services reads the upstream emojivoto injection golden", async () => {
  // linkerd inject output: a Deployment, not pods; turn its template into a pod
  const docs = objectsFromYaml(upstreamFixture("inject/inject_emojivoto_deployment.golden.yml"));
  const dep = docs.find((d) => d.kind === "Deployment")!;
  const tpl =
    (dep.spec as { template: { metadata: KubeObject["metadata"]; spec: unknown } }).template;
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...tpl.metadata,
      name: "web-abc",
      namespace: dep.metadata.namespace ?? "emojivoto",
    },
    spec: tpl.spec as Record<string, unknown>,
  };
  const svc = service(pod.metadata.namespace!, "web-svc", { app: "web-svc" });
  const r = await list([svc, pod]);
  assert.equal(r.services.length, 1);
  assert.equal(r.services[0]!.meshedPods, 1);
  assert.deepEqual(r.services[0]!.workloads, [{ kind: "Deployment", name: "web" }]);
  assert.equal(r.services[0]!.proxyVersions.length, 1);
});

Deno.test("list_meshed_services stays bounded and fast on 10,000 pods", async () => {
  const objects: KubeObject[] = [];
  for (let s = 0; s < 2000; s++) {
    const ns = `ns-${s % 20}`;
    objects.push(service(ns, `svc-${s}`, { app: `svc-${s}`, tier: "backend" }));
    for (let p = 0; p < 5; p++) {
      objects.push(appPod(ns, `svc-${s}-${p}`, { app: `svc-${s}`, tier: "backend" }, {
        meshed: p !== 4 || s % 3 !== 0,
      }));
    }
  }
  const started = performance.now();
  const r = await list(objects, { limit: 100 });
  const ms = performance.now() - started;
  assert.equal(r.services.length, 100);
  assert.equal(r.totalServices, 2000);
  assert.equal(r.summary.selectedPods, 10_000);
  assert.equal(r.summary.partiallyMeshed, 667);
  assert(r.nextCursor);
  assert(JSON.stringify(r).length < 60_000, "one page must stay small");
  assert(ms < 3000, `took ${ms} ms`);
  // the default page fits the answer budget (JSON twice: structuredContent and text)
  const d = await list(objects);
  assert(d.services.length > 1 && d.services.length < 100, `${d.services.length} services`);
  assert(JSON.stringify(d).length * 2 < 8192, `${JSON.stringify(d).length} B`);
  assert.equal(d.totalServices, 2000);
  assert(d.services.every((s) => s.pods.length <= 3));
});

Deno.test("list_meshed_services takes include_unmeshed, and includeUnmeshed as its deprecated alias", async () => {
  const names = (r: ServicesPage) => r.services.map((s) => s.service);
  assert.deepEqual(names(await list(shop(), { include_unmeshed: true })), ["api", "db", "web"]);
  assert.deepEqual(names(await list(shop(), { includeUnmeshed: true })), ["api", "db", "web"]);
  assert.deepEqual(names(await list(shop(), { include_unmeshed: false })), ["api", "web"]);
  assert.match(
    await listError(shop(), { include_unmeshed: true, includeUnmeshed: false }),
    /Cannot use both include_unmeshed and includeUnmeshed/,
  );
  const desc = (spec.inputSchema as Record<string, { description?: string }>)["includeUnmeshed"];
  assert.match(desc?.description ?? "", /Deprecated: use include_unmeshed/);
});

Deno.test("list_meshed_services lists mirrored and federated Services with the cluster they come from", async () => {
  const { eastMirrors } = await import("../multicluster/_fixtures.ts");
  const booksapp = [
    service("booksapp", "books", { app: "books" }),
    appPod("booksapp", "books-1", { app: "books" }),
    ...eastMirrors(),
  ];
  const r = await list(booksapp);
  assert.deepEqual(
    r.services.map((s) => [s.service, s.meshedPods, s.mirror ?? null]),
    [
      // sorted by name as ever; the probe Service of the gateway is not a service of the mesh
      ["authors-east", 0, { kind: "remote-discovery", cluster: "east", remoteService: "authors" }],
      ["books", 1, null],
      ["books-east", 0, { kind: "gateway", cluster: "east", remoteService: "books" }],
      ["webapp-federated", 0, {
        kind: "federated",
        members: ["webapp@east"],
        localMember: "webapp",
      }],
    ],
  );
  assert.equal(r.summary.mirrored, 3);
  assert.equal(r.totalServices, 4);
  // the existing counts keep their meaning: mirrors select no local pod
  assert.equal(r.summary.withoutPods, 4);
  assert.equal(r.summary.fullyMeshed, 1);
  // a namespace without mirrors has no mirrored count
  const plain = await list(shop());
  assert.equal(plain.summary.mirrored, undefined);
  assert.ok(plain.services.every((s) => s.mirror === undefined));
});

Deno.test("listMeshedServices: one state's scan serves every page and filter, and a new state is scanned again", async () => {
  const { listMeshedServices } = await import("../../src/mesh/services.ts");
  const { stateFromObjects } = await import("../../src/kube/state.ts");
  const objects: KubeObject[] = [];
  for (let i = 0; i < 30; i++) {
    objects.push(service("shop", `svc-${String(i).padStart(2, "0")}`, { app: `a${i}` }));
    objects.push(appPod("shop", `pod-${i}`, { app: `a${i}` }, { meshed: i % 3 !== 0 }));
  }
  const state = stateFromObjects(objects, { source: "test", linkerdNamespace: "linkerd" });
  // Every page of the meshed filter, then the other filter, on the same state object.
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = listMeshedServices(state, { limit: 7, ...(cursor ? { cursor } : {}) });
    seen.push(...page.services.map((s) => s.service));
    assert.equal(page.totalServices, 20);
    assert.equal(page.summary.unmeshed, 10);
    page.summary.unmeshed = -1; // a caller changing its copy changes no other page
    cursor = page.nextCursor;
  } while (cursor);
  assert.deepEqual(seen, [...new Set(seen)].sort());
  assert.equal(seen.length, 20);
  assert.equal(listMeshedServices(state, { limit: 100, includeUnmeshed: true }).totalServices, 30);
  assert.equal(listMeshedServices(state, { limit: 100 }).summary.unmeshed, 10);
  // A changed cluster is a new state: scanned afresh.
  const next = stateFromObjects(
    [...objects, appPod("shop", "pod-0b", { app: "a0" }, { meshed: true })],
    { source: "test", linkerdNamespace: "linkerd" },
  );
  assert.equal(listMeshedServices(next, { limit: 100 }).totalServices, 21);
});
