import assert from "node:assert/strict";
import { z } from "zod";
import { buildClusterSet } from "../../src/cli/clusters.ts";
import { buildSource } from "../../src/cli/source.ts";
import { type ClusterHandle, createClusterSet } from "../../src/clusters/set.ts";
import { KubeApiError } from "../../src/errors.ts";
import type { ClusterSource } from "../../src/kube/source.ts";
import { loadConfig } from "../../src/config.ts";
import { createDemoSource } from "../../src/demo/mod.ts";
import { withKubeconfigContexts } from "../../src/kube/kubeconfig.ts";
import { MemorySource } from "../../src/kube/memory.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { SILENT } from "../../src/log.ts";
import { clusterTools } from "../../src/tools/clusters.ts";
import { DATA_SOURCE_SHAPE, runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { testDeps } from "../_helpers.ts";
import { eastLink, eastMirrors } from "./_fixtures.ts";

const spec = clusterTools().find((t) => t.name === "list_clusters")!;

// deno-lint-ignore no-explicit-any
type Data = any;

async function call(deps: ToolDeps, args: Record<string, unknown> = {}): Promise<Data> {
  const outcome = await runTool(spec, args, deps);
  assert.ok(outcome.ok, !outcome.ok ? outcome.error : "");
  z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE).strict() }).strict()
    .parse(outcome.data);
  return outcome.data;
}

/** A kubeconfig with three contexts, a token, a password and a server URL with userinfo. */
const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: west
clusters:
- name: west
  cluster: {server: "https://admin:hunter2@west.example:6443"}
- name: east
  cluster: {server: "https://east.example:6443"}
- name: dev
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: west-admin
  user: {token: west-token-abc123}
- name: east-admin
  user: {username: bob, password: east-password-xyz}
contexts:
- name: west
  context: {cluster: west, user: west-admin}
- name: east
  context: {cluster: east, user: east-admin}
- name: kind-dev
  context: {cluster: dev, user: west-admin}
`;

const SECRETS = ["hunter2", "west-token-abc123", "east-password-xyz", "west.example", "6443"];

/** A live-like in-memory cluster that names its kubeconfig context. */
function liveCluster(context: string, objects: KubeObject[], path: string) {
  return withKubeconfigContexts(
    Object.assign(new MemorySource(objects, { kind: "live", description: `test ${context}` }), {
      sourceInfo: () => ({ kind: "live" as const, description: `test ${context}`, context }),
      context,
    }),
    { kubeconfigPath: path, env: {} },
  );
}

function handle(name: string, source: ClusterSource, deps: ToolDeps): ClusterHandle {
  return { name, linkName: name, source, prom: deps.prom, config: deps.config };
}

Deno.test("list_clusters lists every served cluster, the Links of each reachable one, and where each Link points", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, KUBECONFIG);
    const objects: KubeObject[] = [eastLink(), ...eastMirrors()];
    // the server reads context "kind-dev" (--context) by default, not the kubeconfig's "west"
    const kindDev = liveCluster("kind-dev", objects, path);
    const base = testDeps(objects, { cluster: kindDev });
    const clusters = createClusterSet([
      { name: "kind-dev", build: () => Promise.resolve(handle("kind-dev", kindDev, base)) },
      {
        name: "west",
        build: () => Promise.resolve(handle("west", liveCluster("west", [], path), base)),
      },
      {
        name: "east",
        build: () =>
          Promise.reject(
            new KubeApiError("Cannot reach the Kubernetes API server", {
              status: 0,
              reason: "Unreachable",
            }),
          ),
      },
    ]);
    const d = await call({ ...base, clusters, clusterName: "kind-dev" });
    assert.deepEqual(
      d.clusters.map((c: Data) => [c.name, c.default, c.serving, c.reachable]),
      [["kind-dev", false, true, true], ["west", true, false, true], ["east", false, false, false]],
    );
    assert.equal(d.defaultCluster, "west");
    assert.equal(d.servingCluster, "kind-dev");
    assert.match(
      d.summary,
      /3 clusters.*tools read "kind-dev" unless given "cluster" \(the kubeconfig's default is "west"\).*east \(gateway, served as "east"\)/,
    );
    const [link] = d.clusters[0].links;
    assert.deepEqual(link.mirroredServices, {
      gateway: 1,
      remoteDiscovery: 1,
      federated: 1,
      total: 3,
    });
    assert.equal(link.targetClusterName, "east");
    assert.equal(link.servedAs, "east");
    assert.equal(link.mode, "gateway");
    assert.equal(link.gatewayAddress, "172.18.0.5");
    assert.equal(link.gatewayPort, "4143");
    assert.deepEqual(link.probe, {
      path: "/ready",
      port: "4191",
      period: "3s",
      timeout: "30s",
      failureThreshold: "3",
    });
    assert.deepEqual(d.clusters[1].links, []);
    assert.match(d.clusters[2].linksError, /could not be reached/);
    const text = JSON.stringify(d);
    for (const s of SECRETS) assert.ok(!text.includes(s), `the answer leaks "${s}"`);

    // "cluster" reads one cluster's Links only, and the answer names that cluster.
    const one = await call({ ...base, clusters, clusterName: "kind-dev" }, { cluster: "west" });
    assert.deepEqual(one.clusters[1].links, []);
    assert.match(one.clusters[0].note, /asked about another cluster/);
    assert.equal(one.dataSource.cluster, "west");
    assert.equal(one.dataSource.context, "west");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("buildClusterSet serves every kubeconfig context, the --context one by default, without connecting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, KUBECONFIG);
    const choice = { kind: "live" as const, kubeconfig: path, context: "kind-dev" };
    const config = loadConfig({ LINKERD_PROMETHEUS_URL: "http://127.0.0.1:9090" });
    const source = await buildSource(choice, { env: {}, config, log: SILENT });
    const built = await buildClusterSet(choice, {
      env: {},
      config,
      log: SILENT,
      source,
      file: {
        clusters: { east: { linkName: "east-prod", prometheusUrl: "http://10.0.0.9:9090" } },
      },
    });
    assert.equal(built.defaultName, "kind-dev");
    assert.deepEqual(
      (await built.clusters.list()).map((c) => [c.name, c.linkName, c.default]),
      [["kind-dev", "kind-dev", true], ["west", "west", false], ["east", "east-prod", false]],
    );
    const east = await built.clusters.forLinkTarget("east-prod");
    assert.equal(east?.name, "east");
    assert.equal(east?.config.prometheus.url, "http://10.0.0.9:9090");
    // another cluster never gets the default cluster's LINKERD_PROMETHEUS_URL
    assert.equal(
      (await built.clusters.get("west")).config.prometheus.url,
      "http://prometheus.linkerd-viz.svc.cluster.local:9090",
    );
    assert.equal((await built.clusters.get()).source, source);
    await assert.rejects(
      built.clusters.get("nope"),
      /Unknown cluster "nope".*"kind-dev", "west", "east"/,
    );
    await built.clusters.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("list_clusters: the live source built from --kubeconfig knows its contexts (no request sent)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, KUBECONFIG);
    const source = await buildSource(
      { kind: "live", kubeconfig: path },
      { env: {}, config: loadConfig({}), log: SILENT },
    ) as unknown as { kubeconfigContexts(): Promise<{ contexts: string[]; current?: string }> };
    assert.deepEqual(await source.kubeconfigContexts(), {
      contexts: ["west", "east", "kind-dev"],
      current: "west",
    });
    await (source as unknown as { close?(): Promise<void> }).close?.();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("list_clusters: a kubeconfig that cannot be parsed is said, without its content", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, "contexts: [\n  token: s3cr3t-token: : :\n");
    const source = withKubeconfigContexts(
      new MemorySource([], { kind: "live", description: "test" }),
      { kubeconfigPath: path, env: {} },
    );
    const d = await call(testDeps([], { cluster: source }));
    assert.equal(d.clusters.length, 1);
    assert.match(
      d.clusters[0].note,
      /kubeconfig's contexts could not be read: Cannot load kubeconfig/,
    );
    assert.ok(!JSON.stringify(d).includes("s3cr3t"));
    assert.deepEqual(d.clusters[0].links, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("list_clusters on the demo: the single source (west) is the one cluster, its Link to east not served", async () => {
  const d = await call(testDeps([], { cluster: createDemoSource() }));
  assert.equal(d.clusters.length, 1);
  const { links, ...cluster } = d.clusters[0];
  assert.deepEqual(cluster, {
    name: "demo",
    default: true,
    serving: true,
    linkName: "demo",
    reachable: true,
  });
  assert.equal(links.length, 1);
  assert.equal(links[0].targetClusterName, "east");
  assert.equal(links[0].mode, "gateway");
  assert.equal(links[0].gatewayAddress, "172.19.0.100");
  assert.equal(links[0].servedAs, null);
  assert.deepEqual(links[0].mirroredServices, {
    gateway: 1,
    remoteDiscovery: 1,
    federated: 1,
    total: 3,
  });
  assert.equal(d.dataSource.kind, "demo");
  assert.match(
    d.summary,
    /^One cluster "demo" \(.*demo.*\); "demo" links to east \(gateway, not served here\)$/i,
  );
});

Deno.test("list_clusters on manifests lists their Links", async () => {
  const objects = [eastLink({ gatewayAddress: "", probeSpec: {} })];
  const d = await call(testDeps(objects));
  assert.equal(d.clusters.length, 1);
  assert.equal(d.clusters[0].name, "manifests");
  assert.equal(d.clusters[0].links[0].mode, "remote-discovery");
  assert.deepEqual(d.clusters[0].links[0].mirroredServices, {
    gateway: 0,
    remoteDiscovery: 0,
    federated: 0,
    total: 0,
  });
});
