/**
 * `check_mesh_health` on two clusters at once: west (a Link to east, its mirrors) and
 * east (Linkerd, its gateway, the Services west mirrors), each a MemorySource in one
 * ClusterSet, as the server serves two kubeconfig contexts or `--manifests NAME=PATH` sets.
 */
import assert from "node:assert/strict";
import { type ClusterEntry, type ClusterSet, createClusterSet } from "../../src/clusters/set.ts";
import { loadConfig } from "../../src/config.ts";
import { MemorySource } from "../../src/kube/memory.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import type { PromClient } from "../../src/metrics/prom_client.ts";
import { meshTools } from "../../src/tools/mesh.ts";
import { runTool } from "../../src/tools/_spec.ts";
import { NO_PROMETHEUS, testDeps } from "../_helpers.ts";
import { anchorPem } from "../mesh/_fixtures.ts";
import {
  eastCluster,
  type EastClusterOptions,
  eastMirrorEndpoints,
  linkedCluster,
  type LinkedClusterOptions,
  probeProm,
} from "./_fixtures.ts";

const spec = meshTools().find((t) => t.name === "check_mesh_health")!;

interface Check {
  name: string;
  category: string;
  status: string;
  message: string;
  hint: string;
}
interface Report {
  healthy: boolean;
  summary: string;
  checks: Check[];
  dataSource: { cluster?: string };
}

function entry(
  name: string,
  objects: KubeObject[] | Error,
  prom: PromClient,
  opts: { linkName?: string; kind?: "live" | "manifests" } = {},
): ClusterEntry {
  const linkName = opts.linkName ?? name;
  return {
    name,
    linkName,
    build: () =>
      objects instanceof Error ? Promise.reject(objects) : Promise.resolve({
        name,
        linkName,
        source: new MemorySource(objects, {
          kind: opts.kind ?? "live",
          description: `${name} (test)`,
        }),
        prom,
        config: loadConfig({}),
      }),
  };
}

interface Scenario {
  west?: LinkedClusterOptions;
  /** east's objects, or `false` when the server does not serve east, or an Error its build throws. */
  east?: EastClusterOptions | false | Error;
  /** How the server names and reads east (default: "east", live). */
  eastAs?: { name: string; linkName?: string; kind?: "live" | "manifests" };
  alive?: number;
}

/** Runs check_mesh_health on west through the tool, with east served (or not) beside it. */
async function check(s: Scenario = {}, args: Record<string, unknown> = {}): Promise<Report> {
  const { prom } = probeProm({ east: s.alive ?? 1 }, { east: 9 });
  const west = linkedCluster(s.west);
  const entries = [entry("west", west, prom)];
  const as = s.eastAs ?? { name: "east" };
  const eastOpts = { linkName: as.linkName ?? as.name, ...(as.kind ? { kind: as.kind } : {}) };
  if (s.east instanceof Error) entries.push(entry(as.name, s.east, NO_PROMETHEUS, eastOpts));
  else if (s.east !== false) {
    entries.push(entry(as.name, eastCluster(s.east ?? {}), NO_PROMETHEUS, eastOpts));
  }
  const clusters: ClusterSet = createClusterSet(entries);
  const outcome = await runTool(spec, args, testDeps([], { clusters, prom }));
  assert.ok(outcome.ok, !outcome.ok ? outcome.error : "");
  return outcome.data as Report;
}

function byName(r: Report, name: string): Check {
  const c = r.checks.find((c) => c.name === name);
  assert(c, `no check "${name}" in ${r.checks.map((c) => c.name).join(", ")}`);
  return c;
}

const TRUST = "clusters share trust anchors";
const ENDPOINTS = "all mirror services have endpoints";
const CONSISTENT = "mirror services are consistent with their Links";
const PROBES = "probe services able to communicate with all gateway mirrors";
const CONTROLLERS = "service mirror controllers are running";

Deno.test("two clusters: healthy west → east Link checked against east itself", async () => {
  const r = await check();
  assert.equal(r.dataSource.cluster, "west");
  const mc = r.checks.filter((c) => c.category === "linkerd-multicluster");
  assert.deepEqual(
    mc.filter((c) => c.status !== "ok").map((c) => [c.name, c.message]),
    [],
  );
  assert.equal(r.healthy, true, r.summary);
  const trust = byName(r, TRUST);
  assert.match(
    trust.message,
    /^same trust anchors as east \(1 shared anchor\); this cluster trusts 1 anchor/,
  );
  const eps = byName(r, ENDPOINTS);
  assert.match(
    eps.message,
    /1 gateway mirror has ready endpoints; the 3 Services mirrored from east have ready endpoints there/,
  );
  assert.match(
    byName(r, CONSISTENT).message,
    /the Services they mirror exist and are exported in east/,
  );
});

Deno.test("two clusters: the gateway is down (gateway_alive 0, mirror Endpoints not ready)", async () => {
  const r = await check({ alive: 0, west: { endpoints: [eastMirrorEndpoints("not-ready")] } });
  const probes = byName(r, PROBES);
  assert.equal(probes.status, "error");
  assert.match(probes.message, /liveness checks failed for east: gateway_alive=0/);
  const eps = byName(r, ENDPOINTS);
  assert.equal(eps.status, "error");
  assert.match(eps.message, /booksapp\/books-east has only not-ready addresses/);
  assert.equal(r.healthy, false);
  // east itself is fine: the trust check still passes
  assert.equal(byName(r, TRUST).status, "ok");
});

Deno.test("two clusters: a crash-looping service mirror controller", async () => {
  const r = await check({
    west: {
      controllerAvailable: 0,
      controllerStatus: {
        ready: false,
        restartCount: 21,
        state: { waiting: { reason: "CrashLoopBackOff" } },
      },
    },
  });
  const ctl = byName(r, CONTROLLERS);
  assert.equal(ctl.status, "error");
  assert.match(ctl.message, /crash-looping: linkerd-multicluster\/controller-east/);
  assert.equal(r.healthy, false);
});

Deno.test("two clusters: east has a different trust root", async (t) => {
  await t.step("no shared root: error", async () => {
    const r = await check({ east: { trustRoots: anchorPem("valid") } });
    const trust = byName(r, TRUST);
    assert.equal(trust.status, "error");
    assert.match(
      trust.message,
      /^east shares no trust anchor with this cluster \(here [0-9A-F:]+…; east [0-9A-F:]+…\)/,
    );
    assert.match(trust.hint, /must share a trust root/);
    assert.equal(r.healthy, false);
    assert.match(r.summary, /clusters share trust anchors/);
  });
  await t.step(
    "a rotation half done (a shared root plus one only east trusts): warning",
    async () => {
      const { meshObjects } = await import("../mesh/_fixtures.ts");
      const golden = meshObjects().find((o) => o.metadata.name === "linkerd-identity-trust-roots")!
        .data!["ca-bundle.crt"]!;
      const r = await check({ east: { trustRoots: `${golden}\n${anchorPem("valid")}` } });
      const trust = byName(r, TRUST);
      assert.equal(trust.status, "warning");
      assert.match(
        trust.message,
        /east shares some trust anchors but not all \(only here: none; only in east: [0-9A-F:]+…\)/,
      );
    },
  );
});

Deno.test("two clusters: east's trust anchors cannot be found (its ConfigMaps absent)", async () => {
  const r = await check({
    east: { withoutConfigMaps: ["linkerd-identity-trust-roots", "linkerd-config"] },
  });
  const trust = byName(r, TRUST);
  assert.equal(trust.status, "warning");
  assert.match(
    trust.message,
    /^east: its trust anchors are not known \(no linkerd-identity-trust-roots ConfigMap in its namespace "linkerd"\)/,
  );
  // linkerd-config alone (identityTrustAnchorsPEM) is enough
  const legacy = await check({ east: { withoutConfigMaps: ["linkerd-identity-trust-roots"] } });
  assert.equal(byName(legacy, TRUST).status, "ok", byName(legacy, TRUST).message);
});

Deno.test("two clusters: east is not served by this server", async () => {
  const r = await check({ east: false });
  const trust = byName(r, TRUST);
  assert.equal(trust.status, "ok");
  assert.match(
    trust.message,
    /^not checked for east \(not served by this server\); this cluster trusts 1 anchor/,
  );
  assert.match(trust.hint, /--manifests east=PATH/);
  assert.match(trust.hint, /--context/);
  // the local side is still judged
  assert.equal(byName(r, ENDPOINTS).status, "ok");
  assert.doesNotMatch(byName(r, CONSISTENT).message, /exported in east/);
  assert.equal(r.healthy, true);
});

Deno.test("two clusters: east cannot be built is a warning, not a crash", async () => {
  const r = await check({ east: new Error("kubeconfig context east: connection refused") });
  const trust = byName(r, TRUST);
  assert.equal(trust.status, "warning");
  assert.match(
    trust.message,
    /could not read east \(kubeconfig context east: connection refused\)/,
  );
  // what east holds is not silently dropped from the mirror checks: they say it was not checked
  const eps = byName(r, ENDPOINTS);
  assert.equal(eps.status, "warning");
  assert.match(eps.message, /not checked in east \(.*connection refused/);
  const consistent = byName(r, CONSISTENT);
  assert.equal(consistent.status, "warning");
  assert.match(consistent.message, /could not be checked in east/);
});

Deno.test("two clusters: what east exports is checked against the Link", async (t) => {
  await t.step("books has no ready endpoint in east: error", async () => {
    const r = await check({
      east: { booksReady: 0 },
      west: { endpoints: [eastMirrorEndpoints("empty")] },
    });
    const eps = byName(r, ENDPOINTS);
    assert.equal(eps.status, "error");
    assert.match(
      eps.message,
      /booksapp\/books-east has no endpoints \(booksapp\/books has no ready endpoint in east\)/,
    );
  });
  await t.step("books no longer carries the Link's selector label: warning", async () => {
    const r = await check({ east: { booksLabels: { app: "books" } } });
    const cons = byName(r, CONSISTENT);
    assert.equal(cons.status, "warning");
    assert.match(
      cons.message,
      /booksapp\/books-east: booksapp\/books in east no longer matches the Link's selector \(mirror\.linkerd\.io\/exported=true\)/,
    );
  });
  await t.step("authors does not exist in east: warning", async () => {
    const r = await check({ east: { withoutAuthors: true } });
    const cons = byName(r, CONSISTENT);
    assert.equal(cons.status, "warning");
    assert.match(
      cons.message,
      /booksapp\/authors-east mirrors booksapp\/authors, which does not exist in east/,
    );
  });
});

Deno.test("two clusters: pod-to-pod and federated members without ready endpoints in east", async (t) => {
  await t.step("remote-discovery authors has none ready: error", async () => {
    const r = await check({ east: { authorsReady: 0 } });
    const eps = byName(r, ENDPOINTS);
    assert.equal(eps.status, "error");
    assert.match(
      eps.message,
      /booksapp\/authors-east: booksapp\/authors has no ready endpoint in east \(pod-to-pod: calls to it fail\)/,
    );
  });
  await t.step("a federated member has none ready: warning", async () => {
    const r = await check({ east: { webappReady: 0 } });
    const eps = byName(r, ENDPOINTS);
    assert.equal(eps.status, "warning");
    assert.match(
      eps.message,
      /booksapp\/webapp-federated: booksapp\/webapp has no ready endpoint in east \(one member of the federated Service\)/,
    );
  });
});

Deno.test("two clusters: east served under another name, as manifests without Endpoints", async () => {
  // the Link says "east"; the server calls the cluster "kind-east" (linkName: east), and
  // reads it from manifests: readiness comes from the pods' status there
  // (the category in full: the default answer may shorten passed checks to fit 8 KB)
  const r = await check({
    eastAs: { name: "kind-east", linkName: "east", kind: "manifests" },
    east: { withoutEndpoints: true, authorsReady: 0 },
  }, { category: "linkerd-multicluster" });
  const trust = byName(r, TRUST);
  assert.equal(trust.status, "ok");
  assert.match(
    trust.message,
    /same trust anchors as east \(cluster "kind-east"\) \(1 shared anchor\)/,
  );
  const eps = byName(r, ENDPOINTS);
  assert.equal(eps.status, "error");
  assert.match(
    eps.message,
    /booksapp\/authors has no ready endpoint in east \(cluster "kind-east"\)/,
  );
});

Deno.test("two clusters: east that never answers is reported, west is still checked", async () => {
  const { loadHealthInput, checkMeshHealth } = await import("../../src/mesh/health.ts");
  const west = new MemorySource(linkedCluster(), { kind: "live", description: "west" });
  const clusters = createClusterSet([
    entry("west", linkedCluster(), NO_PROMETHEUS),
    { name: "east", build: () => new Promise(() => {}) },
  ]);
  const started = Date.now();
  const input = await loadHealthInput(west, {
    namespace: "linkerd",
    vizNamespace: "linkerd-viz",
    clusters,
    linkedClusterTimeoutMs: 50,
  });
  assert.ok(Date.now() - started < 5_000);
  assert.deepEqual(input.linkedClusters, [{ target: "east", error: "no answer within 0.05 s" }]);
  const r = checkMeshHealth(input, new Date("2026-11-24T12:00:00Z"));
  const trust = r.checks.find((c) => c.name === TRUST)!;
  assert.equal(trust.status, "warning");
  assert.match(trust.message, /could not read east \(no answer within 0\.05 s\)/);
  assert.equal(
    r.checks.find((c) => c.name === CONTROLLERS)!.status,
    "ok",
  );
});
