/**
 * Two clusters at once over HTTPS: two stand-in API servers (the demo's west and east
 * objects) and a third context whose server is down, in one kubeconfig. The server's
 * clusters are built as `main.ts` builds them (`buildSource`, then `buildClusterSet`);
 * a call's `cluster` reaches that cluster's stand-in only, the unreachable one is reported
 * as such while the others answer, and no token reaches any answer or error.
 */
import assert from "node:assert/strict";
import { stringify as stringifyYaml } from "yaml";
import { buildClusterSet, toolDepsOf } from "../../src/cli/clusters.ts";
import { buildSource } from "../../src/cli/source.ts";
import type { ClusterSet } from "../../src/clusters/set.ts";
import { loadConfig } from "../../src/config.ts";
import { demoObjects } from "../../src/demo/mod.ts";
import { SILENT } from "../../src/log.ts";
import { runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { allTools } from "../../src/tools/mod.ts";
import { type Standin, STANDIN_CA_PEM, startStandin } from "../support/kube_standin.ts";

// deno-lint-ignore no-explicit-any
type Data = any;

const tools = new Map(allTools().map((t) => [t.name, t]));

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A kubeconfig with one context per entry, each with its own server and token. */
function kubeconfig(contexts: Array<{ name: string; url: string; token: string }>): string {
  return stringifyYaml({
    apiVersion: "v1",
    kind: "Config",
    "current-context": contexts[0]!.name,
    clusters: contexts.map((c) => ({
      name: c.name,
      cluster: { server: c.url, "certificate-authority-data": btoa(STANDIN_CA_PEM) },
    })),
    users: contexts.map((c) => ({ name: c.name, user: { token: c.token } })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.name, user: c.name } })),
  });
}

interface World {
  deps: ToolDeps;
  clusters: ClusterSet;
  west: Standin;
  east: Standin;
  tokens: string[];
  outputs: string[];
  call(name: string, args?: Record<string, unknown>): Promise<
    { ok: true; data: Data } | { ok: false; error: string }
  >;
  ok(name: string, args?: Record<string, unknown>): Promise<Data>;
  close(): Promise<void>;
}

async function world(): Promise<World> {
  const token = (name: string) => `${name}-token-${crypto.randomUUID().replaceAll("-", "")}`;
  const tokens = { west: token("west"), east: token("east"), gone: token("gone") };
  const [west, east] = await Promise.all([
    startStandin({ objects: demoObjects({ cluster: "west" }), token: tokens.west }),
    startStandin({ objects: demoObjects({ cluster: "east" }), token: tokens.east }),
  ]);
  const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-two-standins-" });
  const path = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    path,
    kubeconfig([
      { name: "west", url: west.url, token: tokens.west },
      { name: "east", url: east.url, token: tokens.east },
      // nothing listens there
      { name: "gone", url: `https://127.0.0.1:${freePort()}`, token: tokens.gone },
    ]),
  );
  // As main.ts: the default source, then every context of the kubeconfig.
  // No Prometheus: its URL refuses at once (the stand-ins answer the proxy fallback 404).
  const env = { "LINKERD_PROMETHEUS_URL": `http://127.0.0.1:${freePort()}` };
  const config = loadConfig(env);
  const choice = { kind: "live" as const, kubeconfig: path };
  const cluster = await buildSource(choice, { env, config, log: SILENT });
  const built = await buildClusterSet(choice, { env, config, log: SILENT, source: cluster });
  const deps: ToolDeps = toolDepsOf(cluster, built, SILENT);
  const outputs: string[] = [];
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const spec = tools.get(name);
    assert.ok(spec, `no tool ${name}`);
    const out = await runTool(spec, args, deps) as
      | { ok: true; data: Data }
      | { ok: false; error: string };
    outputs.push(JSON.stringify(out));
    return out;
  };
  return {
    deps,
    clusters: built.clusters,
    west,
    east,
    tokens: Object.values(tokens),
    outputs,
    call,
    async ok(name, args = {}) {
      const out = await call(name, args);
      assert.ok(out.ok, `${name} ${JSON.stringify(args)}: ${!out.ok ? out.error : ""}`);
      return out.data;
    },
    async close() {
      await built.clusters.close();
      await Promise.all([west.close(), east.close()]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Requests a stand-in answered after `from`, without watches (`verb path`). */
function reads(s: Standin, from: number): string[] {
  return s.requests.slice(from).filter((r) => r.query["watch"] === undefined).map((r) =>
    `${r.method} ${r.path}`
  );
}

Deno.test({
  name: "two stand-ins: a call's cluster reaches that cluster's API server only",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const w = await world();
    try {
      await t.step("list_clusters: three contexts, the one that is down said so", async () => {
        const started = performance.now();
        const d = await w.ok("list_clusters", {});
        const ms = performance.now() - started;
        assert.deepEqual(
          d.clusters.map((c: Data) => [c.name, c.default, c.serving, c.reachable]),
          [["west", true, true, true], ["east", false, false, true], ["gone", false, false, false]],
        );
        const [west, east, gone] = d.clusters;
        assert.deepEqual(
          west.links.map((l: Data) => [l.name, l.targetClusterName, l.mode, l.servedAs]),
          [["east", "east", "gateway", "east"]],
        );
        assert.equal(west.links[0].mirroredServices.total, 3);
        assert.deepEqual(east.links, []);
        assert.equal(gone.links, undefined);
        // A clear reason: its API server (by address) did not answer.
        assert.match(gone.linksError, /cannot reach the API server at https:\/\/127\.0\.0\.1:\d+/);
        assert.match(gone.linksError, /could not be reached/);
        assert.doesNotMatch(gone.linksError, /TypeError|undefined|\bat [\w.]+ \(/);
        assert.ok(ms < 10_000, `list_clusters took ${ms.toFixed(0)} ms with a context down`);
        assert.equal(d.dataSource.cluster, "west");
      });

      await t.step("cluster east reads the east stand-in only, and {} west only", async () => {
        const [w0, e0] = [w.west.requests.length, w.east.requests.length];
        const onEast = await w.ok("list_meshed_services", { cluster: "east", namespace: "test" });
        const [w1, e1] = [w.west.requests.length, w.east.requests.length];
        assert.deepEqual(
          onEast.services.map((s: Data) => s.service).sort(),
          ["bb", "podinfo"],
        );
        assert.equal(onEast.dataSource.cluster, "east");
        assert.equal(onEast.dataSource.context, "east");
        assert.ok(
          reads(w.east, e0).some((r) => /^GET \/api\/v1\/(namespaces\/test\/)?pods$/.test(r)),
          reads(w.east, e0).join(),
        );
        assert.deepEqual(reads(w.west, w0), []);

        const onWest = await w.ok("list_meshed_services", { namespace: "test" });
        // west's test namespace holds the mirrors of east's Services, not the Services
        assert.deepEqual(
          onWest.services.map((s: Data) => s.service).sort(),
          ["bb-east", "podinfo-east", "podinfo-federated"],
        );
        assert.equal(onWest.dataSource.cluster, "west");
        assert.ok(
          reads(w.west, w1).some((r) => /^GET \/api\/v1\/(namespaces\/test\/)?pods$/.test(r)),
          reads(w.west, w1).join(),
        );
        assert.deepEqual(reads(w.east, e1), []);
      });

      await t.step(
        "a call on the cluster that is down fails clearly; the others answer",
        async () => {
          const out = await w.call("list_meshed_services", { cluster: "gone" });
          assert.equal(out.ok, false);
          const error = (out as { error: string }).error;
          assert.match(error, /cannot reach the API server at https:\/\/127\.0\.0\.1:\d+/);
          assert.match(
            error,
            /^In cluster "gone": .*kubeconfig context or source of cluster "gone"/,
          );
          assert.doesNotMatch(error, /the current context/);
          const unknown = await w.call("list_meshed_services", { cluster: "nowhere" });
          assert.equal(unknown.ok, false);
          assert.match(
            (unknown as { error: string }).error,
            /Unknown cluster "nowhere".*"west", "east", "gone"/,
          );
          // West and east still answer, from their caches or their stand-ins.
          const health = await w.ok("check_mesh_health", {});
          const trust = health.checks.find((c: Data) =>
            c.category === "linkerd-multicluster" && /trust anchor/i.test(c.message) &&
            /east/.test(c.message)
          );
          assert.equal(trust?.status, "ok", JSON.stringify(trust));
          const gw = await w.ok("analyze_connectivity", {
            source_namespace: "test",
            source_workload: "deployment/frontend",
            target_service: "podinfo-east",
          });
          assert.equal(gw.crossCluster.verdict, "allowed");
          assert.equal(gw.crossCluster.members[0].targetCluster, "east");
          assert.equal(gw.crossCluster.members[0].served, true);
        },
      );

      await t.step("no token in any answer or error", () => {
        assert.ok(w.outputs.length >= 6);
        for (const out of w.outputs) {
          for (const token of w.tokens) {
            assert.ok(!out.includes(token), `a token in ${out.slice(0, 200)}`);
          }
        }
      });
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name: "two stand-ins: the linked cluster failing, west answers and says what it could not check",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const w = await world();
    try {
      w.east.failAlways(503);
      const health = await w.ok("check_mesh_health", {});
      const mc = health.checks.filter((c: Data) => c.category === "linkerd-multicluster");
      // Only what needs east is affected: warnings that name east and why (the trust
      // comparison, and the parts of the mirror checks that read east), nothing silent.
      const notOk = mc.filter((c: Data) => c.status !== "ok");
      assert.deepEqual(
        notOk.map((c: Data) => c.status),
        ["warning", "warning", "warning"],
        JSON.stringify(notOk),
      );
      for (const c of notOk) assert.match(c.message, /east .*HTTP 503/);
      assert.match(notOk[0].message, /could not read east/);
      assert.match(notOk[0].message, /this cluster trusts 1 anchor/);
      assert.match(notOk[1].message, /^not checked in east/);
      assert.match(notOk[2].message, /could not be checked in east/);
      assert.ok(mc.length >= 5, JSON.stringify(mc));

      const gw = await w.ok("analyze_connectivity", {
        "source_namespace": "test",
        "source_workload": "deployment/frontend",
        "target_service": "podinfo-east",
      });
      assert.equal(gw.verdict, "undetermined");
      assert.equal(gw.allowed, false);
      assert.equal(gw.crossCluster.verdict, "unknown");
      const [member] = gw.crossCluster.members;
      assert.equal(member.targetCluster, "east");
      assert.equal(member.verdict, "unknown");
      // What is known without east: the identity east's policy would see, through the gateway.
      assert.equal(
        member.clientIdentity,
        "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local",
      );
      assert.match(member.reason, /cluster "east" could not be read \(.*HTTP 503/);
      assert.equal(member.served, true, "east is served, only unreadable");
      assert.doesNotMatch(member.reason, /start the server with the other cluster/);

      const listed = await w.ok("list_clusters", {});
      assert.deepEqual(
        listed.clusters.map((c: Data) => [c.name, c.reachable]),
        [["west", true], ["east", false], ["gone", false]],
      );
      assert.match(listed.clusters[1].linksError, /HTTP 503/);
      // The west link is still described, and still points at the served east.
      assert.equal(listed.clusters[0].links[0].servedAs, "east");
      for (const out of w.outputs) {
        for (const token of w.tokens) assert.ok(!out.includes(token), `a token in ${out}`);
      }
    } finally {
      await w.close();
    }
  },
});
