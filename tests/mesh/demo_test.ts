import assert from "node:assert/strict";
import { qosClassOf } from "../../src/demo/_status.ts";
import { createDemoSource } from "../../src/demo/mod.ts";
import type { KubeObject, PodSpec } from "../../src/kube/types.ts";
import type { HealthReport } from "../../src/mesh/health.ts";
import type { ServicesPage } from "../../src/mesh/services.ts";
import { connectInProcess } from "../_mcp.ts";
import { testDeps } from "../_helpers.ts";

interface CallResult {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
  structuredContent?: Record<string, unknown>;
}

Deno.test("the demo mesh is healthy and its services are meshed, over MCP", async () => {
  const { client, close } = await connectInProcess(
    testDeps([], { cluster: createDemoSource() }),
  );
  try {
    const health = await client.callTool({
      name: "check_mesh_health",
      arguments: {},
    }) as CallResult;
    assert.notEqual(health.isError, true, health.content[0]?.text);
    const r = health.structuredContent as unknown as HealthReport;
    // the text block is linkerd check's summary, not a copy of the JSON
    assert.ok(health.content[0]!.text.startsWith(r.summary), health.content[0]!.text);
    assert.equal(r.healthy, true);
    assert.equal(r.installed, true);
    assert.deepEqual(r.checks.filter((c) => c.status === "error"), []);
    assert(r.totalPods >= 3);
    assert.equal(r.unhealthyPods, 0);
    assert(r.checks.some((c) => c.name === "viz extension pods are running" && c.status === "ok"));

    const list = await client.callTool({
      name: "list_meshed_services",
      arguments: { namespace: "emojivoto" },
    }) as CallResult;
    assert.notEqual(list.isError, true, list.content[0]?.text);
    const page = list.structuredContent as unknown as ServicesPage;
    assert.deepEqual(
      page.services.map((s) => s.service),
      ["emoji-svc", "voting-svc", "web-svc"],
    );
    assert(page.services.every((s) => s.meshedPods === s.totalPods && s.totalPods > 0));

    const bad = await client.callTool({
      name: "list_meshed_services",
      arguments: { cursor: "bogus" },
    }) as CallResult;
    assert.equal(bad.isError, true);
    assert.match(bad.content[0]!.text, /not valid/);
  } finally {
    await close();
  }
});

Deno.test("demo pods carry what a real API server would store: QoS class and service account", async () => {
  const pods = await createDemoSource().list("pods");
  const byApp = (prefix: string) => pods.find((p) => p.metadata.name.startsWith(prefix))!;
  const qos = (p: KubeObject) => (p.status as { qosClass?: string }).qosClass;
  // No container of the control plane (proxy included) requests or limits anything.
  assert.equal(qos(byApp("linkerd-identity-")), "BestEffort");
  assert.equal(qos(byApp("authors-")), "BestEffort");
  // emojivoto's containers request CPU.
  assert.equal(qos(byApp("emoji-")), "Burstable");
  assert.equal(qos(byApp("vote-bot-")), "Burstable");
  for (const p of pods) {
    assert.equal(qos(p), qosClassOf(p.spec as PodSpec), p.metadata.name);
  }
  // vote-bot's template names no service account: admission sets "default" (a projected
  // token volume without one is rejected with 422).
  assert.equal((byApp("vote-bot-").spec as PodSpec).serviceAccountName, "default");
  assert.deepEqual(pods.filter((p) => !(p.spec as PodSpec).serviceAccountName), []);
});

Deno.test("qosClassOf() follows Kubernetes' rules", () => {
  const pod = (...resources: Array<Record<string, Record<string, string>> | undefined>) =>
    ({
      containers: resources.map((r, i) => ({ name: `c${i}`, ...(r ? { resources: r } : {}) })),
    }) as PodSpec;
  assert.equal(qosClassOf(pod(undefined, {})), "BestEffort");
  assert.equal(qosClassOf(pod({ requests: { cpu: "0" } })), "BestEffort");
  assert.equal(qosClassOf(pod({ requests: { cpu: "10m" } }, undefined)), "Burstable");
  // limits only: requests default to limits
  assert.equal(qosClassOf(pod({ limits: { cpu: "1", memory: "64Mi" } })), "Guaranteed");
  assert.equal(
    qosClassOf(pod({ limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "1000m" } })),
    "Guaranteed",
  );
  assert.equal(
    qosClassOf(pod({ limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } })),
    "Burstable",
  );
  assert.equal(qosClassOf(pod({ limits: { cpu: "1" } })), "Burstable");
  assert.equal(
    qosClassOf(pod({ limits: { cpu: "1", memory: "1Gi" } }, undefined)),
    "Burstable",
  );
  // init containers count too
  assert.equal(
    qosClassOf({
      initContainers: [{ name: "i", resources: { requests: { memory: "8Mi" } } }],
      containers: [{ name: "c" }],
    } as unknown as PodSpec),
    "Burstable",
  );
});
