import assert from "node:assert/strict";
import { MemorySource } from "../../src/kube/memory.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import {
  checkMeshHealth,
  type HealthReport,
  loadGatewayProbes,
  loadHealthInput,
} from "../../src/mesh/health.ts";
import type { PromClient } from "../../src/metrics/prom_client.ts";
import { PromQueryError } from "../../src/metrics/prom_client.ts";
import { eastLink, linkedCluster, probeProm } from "./_fixtures.ts";

const NOW = new Date("2026-11-24T12:00:00Z");

async function report(
  objects: KubeObject[],
  prom?: PromClient,
  kind: "live" | "manifests" = "live",
): Promise<HealthReport> {
  const source = new MemorySource(objects, { kind, description: `${kind} test` });
  const input = await loadHealthInput(source, {
    namespace: "linkerd",
    vizNamespace: "linkerd-viz",
  });
  const gatewayProbes = prom ? await loadGatewayProbes(prom) : undefined;
  return checkMeshHealth(input, NOW, gatewayProbes ? { gatewayProbes } : {});
}

function mc(r: HealthReport) {
  return r.checks.filter((c) => c.category === "linkerd-multicluster");
}

function byName(r: HealthReport, name: string) {
  const c = r.checks.find((c) => c.name === name);
  assert(c, `no check "${name}" in ${r.checks.map((c) => c.name).join(", ")}`);
  return c;
}

Deno.test("multicluster checks: a healthy Link to east with its gateway alive", async () => {
  const { prom, queries } = probeProm({ east: 1 }, { east: 12.4 });
  const r = await report(linkedCluster(), prom);
  assert.deepEqual(
    mc(r).map((c) => [c.name, c.status]),
    [
      ["Link CRD exists", "ok"],
      ["Link resources are valid", "ok"],
      ["service mirror controllers are running", "ok"],
      ["extension is managing controllers", "ok"],
      ["clusters share trust anchors", "ok"],
      ["probe services able to communicate with all gateway mirrors", "ok"],
      ["all mirror services have endpoints", "ok"],
      ["all mirror services are part of a Link", "ok"],
      ["mirror services are consistent with their Links", "ok"],
      ["multicluster gateway is available", "ok"],
    ],
  );
  assert.equal(r.healthy, true, JSON.stringify(r.checks.filter((c) => c.status === "error")));
  assert.match(byName(r, "Link CRD exists").message, /serving v1alpha1, v1alpha2, v1alpha3/);
  assert.match(byName(r, "service mirror controllers are running").message, /: east$/);
  const probes = byName(r, "probe services able to communicate with all gateway mirrors");
  assert.match(probes.message, /gateways alive: east, probe p95 12 ms/);
  assert.ok(queries.some((q) => q.includes("gateway_alive")), queries.join("\n"));
  // what cannot be checked says so, and why
  const trust = byName(r, "clusters share trust anchors");
  assert.match(
    trust.message,
    /^Not checked: the trust anchors of east are read from their ConfigMaps only when this server serves those clusters too .*; this cluster trusts 1 anchor/,
  );
  assert.match(trust.hint, /--manifests east=PATH/);
  assert.match(trust.hint, /kubectl --context=east -n linkerd get cm linkerd-identity-trust-roots/);
  const eps = byName(r, "all mirror services have endpoints");
  assert.match(
    eps.message,
    /^1 gateway mirror has ready endpoints; 1 remote-discovery mirror needs none \(the destination controller resolves them/,
  );
  assert.match(
    byName(r, "mirror services are consistent with their Links").message,
    /1 gateway, 1 remote-discovery, 1 federated/,
  );
});

Deno.test("multicluster checks: gateway_alive 0 fails the probe check", async () => {
  const { prom } = probeProm({ east: 0 });
  const r = await report(linkedCluster(), prom);
  const probes = byName(r, "probe services able to communicate with all gateway mirrors");
  assert.equal(probes.status, "error");
  assert.match(
    probes.message,
    /liveness checks failed for east: gateway_alive=0 \(gateway 172\.18\.0\.5:4143\)/,
  );
  assert.match(probes.hint, /multicluster gateways/);
  assert.equal(r.healthy, false);
  assert.match(r.summary, /probe services able to communicate/);
});

Deno.test("multicluster checks: without Prometheus the probes are reported as not checked", async (t) => {
  await t.step("no Prometheus reading given", async () => {
    const r = await report(linkedCluster());
    const probes = byName(r, "probe services able to communicate with all gateway mirrors");
    assert.equal(probes.status, "ok");
    assert.match(
      probes.message,
      /gateway liveness not checked: check_mesh_health reads no Prometheus/,
    );
    assert.equal(r.healthy, true);
  });
  await t.step("Prometheus unreachable", async () => {
    const down: PromClient = {
      describe: () => "down",
      query: () =>
        Promise.reject(
          new PromQueryError("Prometheus at http://prom:9090 is unreachable", {
            url: "http://prom:9090",
            reason: "unreachable",
          }),
        ),
      queryRange: () => Promise.reject(new Error("unused")),
    };
    const r = await report(linkedCluster(), down);
    const probes = byName(r, "probe services able to communicate with all gateway mirrors");
    assert.equal(probes.status, "ok");
    assert.match(probes.message, /Prometheus could not be read \(.*unreachable/);
  });
  await t.step("no series for the Link's cluster", async () => {
    const { prom } = probeProm({ west: 1 });
    const r = await report(linkedCluster(), prom);
    const probes = byName(r, "probe services able to communicate with all gateway mirrors");
    assert.equal(probes.status, "ok");
    assert.match(probes.message, /no gateway_alive series for east in fake Prometheus/);
  });
});

Deno.test("multicluster checks: a crash-looping mirror controller is an error", async () => {
  const r = await report(linkedCluster({
    controllerAvailable: 0,
    controllerStatus: {
      ready: false,
      restartCount: 14,
      state: { waiting: { reason: "CrashLoopBackOff" } },
    },
  }));
  const ctl = byName(r, "service mirror controllers are running");
  assert.equal(ctl.status, "error");
  assert.match(
    ctl.message,
    /crash-looping: linkerd-multicluster\/controller-east: controller-east-\S+ \(service-mirror: CrashLoopBackOff\)/,
  );
  assert.match(ctl.hint, /logs deploy\/controller-LINK/);
  assert.equal(r.healthy, false);
});

Deno.test("multicluster checks: a controller with no available replica is an error", async () => {
  const r = await report(linkedCluster({ controllerAvailable: 0 }));
  const ctl = byName(r, "service mirror controllers are running");
  assert.equal(ctl.status, "error");
  assert.match(
    ctl.message,
    /not available: linkerd-multicluster\/controller-east \(0\/1 available\)/,
  );
});

Deno.test("multicluster checks: no multicluster installed gives one ok line", async () => {
  const { meshObjects } = await import("../mesh/_fixtures.ts");
  const r = await report(meshObjects());
  assert.deepEqual(mc(r).map((c) => [c.name, c.status]), [
    ["multicluster extension is installed", "ok"],
  ]);
  assert.match(mc(r)[0]!.message, /not installed/);
});

Deno.test("multicluster checks: mirrors inconsistent with the Links and orphans are warnings", async () => {
  // east without a gateway (pod-to-pod only) and without a federated selector; a mirror of
  // a cluster no Link targets.
  const link = eastLink({ gatewayAddress: "", probeSpec: {}, federatedServiceSelector: null });
  const { eastMirrors } = await import("./_fixtures.ts");
  const orphan = structuredClone(eastMirrors()[1]!);
  orphan.metadata.name = "books-north";
  orphan.metadata.labels!["mirror.linkerd.io/cluster-name"] = "north";
  const r = await report(linkedCluster({ links: [link], mirrors: [...eastMirrors(), orphan] }));
  const orphans = byName(r, "all mirror services are part of a Link");
  assert.equal(orphans.status, "warning");
  assert.match(orphans.message, /booksapp\/books-north \(cluster "north"\)/);
  const cons = byName(r, "mirror services are consistent with their Links");
  assert.equal(cons.status, "warning");
  assert.match(
    cons.message,
    /booksapp\/books-east is a gateway mirror but Link .*east has no gateway address/,
  );
  assert.match(
    cons.message,
    /webapp-federated has a member in "east" but .* no federatedServiceSelector/,
  );
  assert.match(
    byName(r, "probe services able to communicate with all gateway mirrors").message,
    /No Link uses a gateway/,
  );
});

Deno.test("multicluster checks: a live gateway Link without its probe Service is an error", async () => {
  const { eastMirrors } = await import("./_fixtures.ts");
  const mirrors = eastMirrors().filter((s) => s.metadata.name !== "probe-gateway-east");
  const { prom } = probeProm({ east: 1 });
  const r = await report(linkedCluster({ mirrors }), prom);
  const probes = byName(r, "probe services able to communicate with all gateway mirrors");
  assert.equal(probes.status, "error");
  assert.match(probes.message, /wrong number \(0\) of probe gateway Services for east/);
  // on manifests the probe Service (created at runtime) is not expected
  const m = await report(linkedCluster({ mirrors }), prom, "manifests");
  assert.equal(
    byName(m, "probe services able to communicate with all gateway mirrors").status,
    "ok",
  );
});

Deno.test("multicluster checks: a Link CRD that does not serve v1alpha3 is a warning", async () => {
  const objects = linkedCluster().map((o) => {
    if (
      o.kind !== "CustomResourceDefinition" || o.metadata.name !== "links.multicluster.linkerd.io"
    ) {
      return o;
    }
    const crd = structuredClone(o);
    const spec = crd.spec as { versions: Array<{ name: string; served: boolean }> };
    spec.versions = spec.versions.filter((v) => v.name !== "v1alpha3");
    return crd;
  });
  const r = await report(objects);
  const crd = byName(r, "Link CRD exists");
  assert.equal(crd.status, "warning");
  assert.match(crd.message, /serves v1alpha1, v1alpha2, not v1alpha3/);
});

Deno.test("multicluster checks: trust-anchor copies that differ locally are told", async () => {
  const { anchorPem } = await import("../mesh/_fixtures.ts");
  const objects = linkedCluster().map((o) => {
    if (o.kind !== "ConfigMap" || o.metadata.name !== "linkerd-identity-trust-roots") return o;
    return { ...o, data: { "ca-bundle.crt": anchorPem("valid") } };
  });
  const r = await report(objects);
  const trust = byName(r, "clusters share trust anchors");
  assert.equal(trust.status, "ok");
  assert.match(trust.message, /identityTrustAnchorsPEM in linkerd-config .* differs/);
  // the golden's own copies agree
  const same = byName(await report(linkedCluster()), "clusters share trust anchors");
  assert.doesNotMatch(same.message, /differs/);
});

Deno.test("multicluster checks: gateway mirror Endpoints as the service mirror writes them", async (t) => {
  const { eastMirrorEndpoints } = await import("./_fixtures.ts");
  const eps = async (endpoints: KubeObject[], kind: "live" | "manifests" = "live") =>
    byName(
      await report(linkedCluster({ endpoints }), undefined, kind),
      "all mirror services have endpoints",
    );
  await t.step("ready addresses at the gateway: ok", async () => {
    const c = await eps([eastMirrorEndpoints("ready")]);
    assert.equal(c.status, "ok", c.message);
  });
  await t.step("only not-ready addresses (gateway probe failing): error", async () => {
    const c = await eps([eastMirrorEndpoints("not-ready")]);
    assert.equal(c.status, "error");
    assert.match(
      c.message,
      /booksapp\/books-east has only not-ready addresses \(172\.18\.0\.5\): .*gateway of east fails its probe/,
    );
    assert.match(c.hint, /multicluster gateways/);
  });
  await t.step("no subsets (exported Service empty): error", async () => {
    const c = await eps([eastMirrorEndpoints("empty")]);
    assert.equal(c.status, "error");
    assert.match(c.message, /booksapp\/books-east has no endpoints \(the exported Service in east/);
  });
  await t.step("no Endpoints object on a live cluster: error", async () => {
    const c = await eps([]);
    assert.equal(c.status, "error");
    assert.match(c.message, /booksapp\/books-east has no Endpoints/);
  });
  await t.step("manifests hold no Endpoints: not checked, said so", async () => {
    const c = await eps([], "manifests");
    assert.equal(c.status, "ok");
    assert.match(
      c.message,
      /Endpoints of 1 gateway mirror not checked: manifests test holds no Endpoints/,
    );
  });
  await t.step("addresses that are not the Link's gateway: warning", async () => {
    const c = await eps([eastMirrorEndpoints("ready", "10.9.9.9")]);
    assert.equal(c.status, "warning");
    assert.match(c.message, /books-east points at 10\.9\.9\.9, not the Link's gateway address/);
  });
});

Deno.test("check_mesh_health fits its default answer in 8 KB; category gives one category in full", async () => {
  const { meshTools } = await import("../../src/tools/mesh.ts");
  const { runTool } = await import("../../src/tools/_spec.ts");
  const { testDeps } = await import("../_helpers.ts");
  const { meshObjects } = await import("../mesh/_fixtures.ts");
  const spec = meshTools().find((t) => t.name === "check_mesh_health")!;
  // viz, multicluster with a Link, and a control plane: about 30 checks, over 8 KB in full
  const objects = [
    ...linkedCluster(),
    ...meshObjects({ viz: true }).filter((o) => o.metadata.namespace === "linkerd-viz"),
  ];
  const cluster = new MemorySource(objects, { kind: "live", description: "big test" });
  const deps = testDeps(objects, { cluster, prom: probeProm({ east: 1 }).prom });
  const bytes = (d: Record<string, unknown>) =>
    new TextEncoder().encode(JSON.stringify(d)).length +
    new TextEncoder().encode(spec.text!(d)).length;
  const all = await runTool(spec, {}, deps);
  assert.ok(all.ok, !all.ok ? all.error : "");
  // deno-lint-ignore no-explicit-any
  const d = all.data as any;
  assert.ok(bytes(d) <= 8192, `${bytes(d)} B`);
  assert.match(d.note, /^To fit the answer, \d+ passed checks have no hint/);
  assert.ok(d.checks.length >= 25, `${d.checks.length} checks`);
  // deno-lint-ignore no-explicit-any
  const okHints = d.checks.filter((c: any) => c.status === "ok").map((c: any) => c.hint);
  assert.ok(okHints.filter((h: string) => h === "").length >= 20, JSON.stringify(okHints));
  // bare docs links go first
  assert.ok(okHints.every((h: string) => !/^https:\/\/linkerd\.io\/2\/checks\/#[\w-]+$/.test(h)));
  // the full report is over the budget, which is why
  const full = checkMeshHealth(
    await loadHealthInput(cluster, { namespace: "linkerd", vizNamespace: "linkerd-viz" }),
    NOW,
  );
  assert.ok(bytes({ ...full }) > 8192 - 400, `${bytes({ ...full })} B`);

  const one = await runTool(spec, { category: "linkerd-multicluster" }, deps);
  assert.ok(one.ok, !one.ok ? one.error : "");
  // deno-lint-ignore no-explicit-any
  const m = one.data as any;
  // deno-lint-ignore no-explicit-any
  assert.deepEqual([...new Set(m.checks.map((c: any) => c.category))], ["linkerd-multicluster"]);
  // deno-lint-ignore no-explicit-any
  assert.ok(m.checks.every((c: any) => c.hint.includes("https://linkerd.io/2/checks/#")));
  assert.equal(m.note, undefined);
  assert.equal(m.healthy, d.healthy);

  const bad = await runTool(spec, { category: "linkerd-nothing" }, deps);
  assert.equal(bad.ok, false);
  assert.match(
    !bad.ok ? bad.error : "",
    /No check in category "linkerd-nothing"; the categories checked are .*"linkerd-multicluster"/,
  );
});
