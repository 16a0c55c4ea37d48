/**
 * The `cluster` argument every tool takes: it selects the named cluster's own source,
 * Prometheus and configuration, the answer names the cluster, and an unknown name is a
 * clear error — over `runTool` and over MCP.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { type ClusterHandle, createClusterSet } from "../../src/clusters/set.ts";
import { MemorySource } from "../../src/kube/memory.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { createServer, toolListing } from "../../src/server.ts";
import { allTools } from "../../src/tools/mod.ts";
import { runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { testDeps } from "../_helpers.ts";

function ns(name: string): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name } };
}

function meshedPod(namespace: string, name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: { app: name, "linkerd.io/control-plane-ns": "linkerd" },
      annotations: { "linkerd.io/proxy-version": "edge-26.8.3" },
    },
    spec: { containers: [{ name: "app" }, { name: "linkerd-proxy" }] },
    status: { phase: "Running", podIP: "10.0.0.1" },
  };
}

function service(namespace: string, name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

/** Two clusters with different namespaces; counts how often each is built. */
function twoClusters() {
  const built = { west: 0, east: 0 };
  const sources = {
    west: new MemorySource([ns("shop"), meshedPod("shop", "cart"), service("shop", "cart")], {
      kind: "manifests",
      description: "west objects",
    }),
    east: new MemorySource([
      ns("billing"),
      meshedPod("billing", "ledger"),
      service("billing", "ledger"),
    ], {
      kind: "manifests",
      description: "east objects",
    }),
  };
  const base = testDeps([], { cluster: sources.west });
  const handle = (name: "west" | "east"): ClusterHandle => {
    built[name]++;
    return {
      name,
      linkName: name,
      source: sources[name],
      prom: base.prom,
      config: { ...base.config, linkerdNamespace: name === "east" ? "linkerd-east" : "linkerd" },
    };
  };
  const clusters = createClusterSet([
    { name: "west", build: () => Promise.resolve(handle("west")) },
    { name: "east", build: () => Promise.resolve(handle("east")) },
  ]);
  const deps: ToolDeps = { ...base, clusters, clusterName: "west" };
  return { deps, built };
}

const listMeshed = allTools().find((t) => t.name === "list_meshed_services")!;

Deno.test("cluster: a call reads the named cluster, builds it once, and the answer names it", async () => {
  const { deps, built } = twoClusters();
  const west = await runTool(listMeshed, {}, deps);
  assert.ok(west.ok, !west.ok ? west.error : "");
  const westText = JSON.stringify(west.data);
  assert.match(westText, /"shop"/);
  assert.doesNotMatch(westText, /"billing"/);
  assert.equal((west.data as { dataSource: { cluster?: string } }).dataSource.cluster, "west");
  assert.equal(built.east, 0, "a user of one cluster must not pay for another");

  for (let i = 0; i < 3; i++) {
    const east = await runTool(listMeshed, { cluster: "east" }, deps);
    assert.ok(east.ok, !east.ok ? east.error : "");
    const text = JSON.stringify(east.data);
    assert.match(text, /"billing"/);
    assert.doesNotMatch(text, /"shop"/);
    const ds = (east.data as { dataSource: { cluster?: string; description: string } }).dataSource;
    assert.equal(ds.cluster, "east");
    assert.equal(ds.description, "east objects");
  }
  assert.equal(built.east, 1, "each cluster keeps its own source (and cache)");
});

Deno.test("cluster: an unknown name is an actionable error naming the known clusters", async () => {
  const { deps } = twoClusters();
  const out = await runTool(listMeshed, { cluster: "north" }, deps);
  assert.ok(!out.ok);
  assert.match(out.error, /Unknown cluster "north".*"west", "east".*list_clusters/);
  // without a cluster set, only the one source's own name is accepted
  const single = testDeps([ns("a")]);
  const bad = await runTool(listMeshed, { cluster: "east" }, single);
  assert.ok(!bad.ok);
  assert.match(bad.error, /Unknown cluster "east"/);
  assert.ok((await runTool(listMeshed, { cluster: "manifests" }, single)).ok);
  const empty = await runTool(listMeshed, { cluster: "" }, deps);
  assert.ok(!empty.ok);
  assert.match(empty.error, /Invalid arguments.*cluster/);
});

Deno.test("cluster: every advertised tool takes an optional string cluster argument", () => {
  for (const writes of [false, true]) {
    for (const tool of toolListing(writes)) {
      const props = tool.inputSchema["properties"] as Record<string, { type?: string }>;
      assert.equal(props["cluster"]?.type, "string", `${tool.name} lacks cluster`);
      const required = (tool.inputSchema["required"] as string[] | undefined) ?? [];
      assert.ok(!required.includes("cluster"), `${tool.name} requires cluster`);
      const ds = (tool.outputSchema["properties"] as Record<string, { properties?: object }>)[
        "dataSource"
      ];
      assert.ok(ds?.properties && "cluster" in ds.properties, `${tool.name} dataSource.cluster`);
    }
  }
});

Deno.test("cluster: over MCP the argument selects the cluster and the instructions say so", async () => {
  const { deps } = twoClusters();
  const server = createServer(deps);
  const client = new Client({ name: "t", version: "1" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  try {
    assert.match(client.getInstructions() ?? "", /optional "cluster" argument/);
    const res = await client.callTool({
      name: "list_meshed_services",
      arguments: { cluster: "east" },
    });
    assert.ok(!res.isError, JSON.stringify(res.content));
    const sc = res.structuredContent as { dataSource: { cluster: string } };
    assert.equal(sc.dataSource.cluster, "east");
    assert.match(JSON.stringify(sc), /billing/);
    const bad = await client.callTool({ name: "check_mesh_health", arguments: { cluster: "x" } });
    assert.equal(bad.isError, true);
    assert.match(JSON.stringify(bad.content), /Unknown cluster \\"x\\"/);
  } finally {
    await client.close();
    await server.close();
  }
});
