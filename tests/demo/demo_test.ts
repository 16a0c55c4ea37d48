import assert from "node:assert/strict";
import { readAssets, renderDataModule } from "../../scripts/gen_demo.ts";
import { createDemoSource, DEMO_DEFAULT_NOW, demoObjects } from "../../src/demo/mod.ts";
import { RESOURCE_KEYS } from "../../src/kube/resources.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { loadState } from "../../src/kube/state.ts";
import { readMeshConfig } from "../../src/mesh/config.ts";
import { isMeshed, type Pod, podIPs, proxyContainer, proxyVersionOf } from "../../src/mesh/pods.ts";

function pods(objects = demoObjects()): Pod[] {
  return objects.filter((o) => o.kind === "Pod") as unknown as Pod[];
}

Deno.test("createDemoSource() describes the demo mesh", () => {
  const src = createDemoSource();
  assert.equal(src.kind, "demo");
  assert.equal(
    src.describe(),
    "embedded demo mesh, west cluster (linkerd edge-26.8.3 control plane, viz, emojivoto, booksapp, Link to east)",
  );
});

Deno.test("createDemoSource() has the control plane, viz and both apps", async () => {
  const src = createDemoSource();
  const namespaces = (await src.list("namespaces")).map((n) => n.metadata.name);
  assert.deepEqual(namespaces, [
    "linkerd",
    "linkerd-viz",
    "emojivoto",
    "booksapp",
    "linkerd-multicluster",
    "test",
  ]);
  const deployments = (await src.list("deployments")).map((d) =>
    `${d.metadata.namespace}/${d.metadata.name}`
  );
  for (
    const d of [
      "linkerd/linkerd-identity",
      "linkerd/linkerd-destination",
      "linkerd/linkerd-proxy-injector",
      "linkerd-viz/metrics-api",
      "linkerd-viz/prometheus",
      "emojivoto/web",
      "booksapp/authors",
    ]
  ) assert.ok(deployments.includes(d), d);
  assert.equal((await src.list("servers", { namespace: "emojivoto" })).length, 5);
  assert.equal((await src.list("httproutes", { namespace: "booksapp" })).length, 3);
  assert.ok(await src.get("configmaps", "linkerd-identity-trust-roots", "linkerd"));
  const crds = (await src.list("crds")).map((c) => c.metadata.name);
  assert.ok(crds.includes("servers.policy.linkerd.io"));
  assert.ok(crds.includes("httproutes.gateway.networking.k8s.io"));
});

Deno.test("createDemoSource() has a Server in audit mode with no policy yet", async () => {
  const src = createDemoSource();
  const srv = await src.get("servers", "webapp-server", "booksapp");
  assert.equal((srv?.spec as { accessPolicy?: string }).accessPolicy, "audit");
  const policies = await src.list("authorizationpolicies", { namespace: "booksapp" });
  assert.ok(
    policies.every((p) =>
      (p.spec as { targetRef: { name: string } }).targetRef.name !== "webapp-server"
    ),
  );
});

Deno.test("createDemoSource() runs every pod ready and meshed", () => {
  const all = pods();
  // 18 of the control plane, viz and the apps; the gateway, the local service mirror and
  // the controller of the Link to east; frontend
  assert.equal(all.length, 22);
  const ips = new Set<string>();
  for (const pod of all) {
    const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
    assert.equal(pod.status?.phase, "Running", name);
    assert.ok(isMeshed(pod as unknown as KubeObject, "linkerd"), name);
    assert.equal(proxyVersionOf(pod), "v2.366.0", name);
    assert.ok(proxyContainer(pod), name);
    const statuses = [
      ...(pod.status?.containerStatuses ?? []),
      ...(pod.status?.initContainerStatuses ?? []),
    ];
    assert.ok(statuses.length >= 2, name);
    assert.ok(statuses.every((s) => s.ready && s.restartCount === 0), name);
    assert.ok(pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    const [ip] = podIPs(pod);
    assert.match(ip!, /^10\.42\.\d+\.\d+$/);
    assert.ok(!ips.has(ip!), `unique IP ${ip}`);
    ips.add(ip!);
  }
  const native = all.find((p) =>
    p.metadata.name.startsWith("web-") && p.metadata.namespace === "emojivoto"
  );
  const sidecar = native?.status?.initContainerStatuses?.find((s) => s.name === "linkerd-proxy");
  assert.ok(sidecar?.ready && sidecar.state?.running, "native sidecar proxy running");
  const identity = all.find((p) => p.metadata.name.startsWith("linkerd-identity-"));
  assert.equal(proxyContainer(identity!)?.nativeSidecar, false, "as in the golden");
});

Deno.test("createDemoSource() reports available workloads", async () => {
  const src = createDemoSource();
  for (const d of await src.list("deployments")) {
    const status = d.status as { availableReplicas?: number; replicas?: number };
    assert.equal(status.availableReplicas, status.replicas, d.metadata.name);
  }
  const webapp = await src.get("deployments", "webapp", "booksapp");
  assert.equal((webapp?.status as { readyReplicas?: number }).readyReplicas, 3);
});

Deno.test("createDemoSource() holds no Secrets", () => {
  const objects = demoObjects();
  assert.ok(objects.every((o) => o.kind !== "Secret"));
  const text = JSON.stringify(objects);
  assert.ok(!text.includes("PRIVATE KEY"));
  assert.ok(!text.includes('linkerd-identity-issuer","namespace'));
});

Deno.test("createDemoSource() is deterministic", () => {
  assert.deepEqual(demoObjects(), demoObjects());
  assert.deepEqual(demoObjects({ now: DEMO_DEFAULT_NOW }), demoObjects());
  const later = new Date(DEMO_DEFAULT_NOW.getTime() + 3_600_000);
  const [pod] = pods(demoObjects({ now: later }));
  assert.equal(pod?.metadata.creationTimestamp, "2026-08-22T13:00:00Z");
});

Deno.test("createDemoSource() has a consistent linkerd-config", async () => {
  const state = await loadState(createDemoSource(), RESOURCE_KEYS, { linkerdNamespace: "linkerd" });
  const mesh = readMeshConfig(state);
  assert.equal(mesh.origin, "linkerd-config");
  assert.equal(mesh.proxyVersion, "v2.366.0");
  assert.equal(mesh.linkerdVersion, "edge-26.8.3");
  assert.ok(
    !JSON.stringify(state.objects).match(/install-(proxy|control-plane)-version|dev-undefined/),
  );
});

Deno.test("data.gen.ts is up to date with src/demo/assets", async () => {
  const current = await Deno.readTextFile(new URL("../../src/demo/data.gen.ts", import.meta.url));
  assert.equal(
    current,
    renderDataModule(await readAssets()),
    "run deno run -A scripts/gen_demo.ts",
  );
});
