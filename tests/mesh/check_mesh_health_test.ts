import assert from "node:assert/strict";
import { z } from "zod";
import { KubeApiError } from "../../src/errors.ts";
import { MemorySource } from "../../src/kube/memory.ts";
import type { ResourceKey } from "../../src/kube/resources.ts";
import type { ListOptions } from "../../src/kube/source.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import type { HealthReport } from "../../src/mesh/health.ts";
import { DATA_SOURCE_SHAPE, runTool } from "../../src/tools/_spec.ts";
import { meshTools } from "../../src/tools/mesh.ts";
import { objectsFromYaml, testDeps, upstreamFixture } from "../_helpers.ts";
import { RbacSource } from "../support/rbac_source.ts";
import { anchorPem, appPod, meshObjects, runningPods, withStatus } from "./_fixtures.ts";

const spec = meshTools().find((t) => t.name === "check_mesh_health")!;

async function check(
  objects: KubeObject[],
  args: Record<string, unknown> = {},
  opts: { kind?: "live" | "manifests" | "demo"; env?: Record<string, string> } = {},
): Promise<HealthReport> {
  const deps = testDeps(objects, {
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.kind
      ? {
        cluster: new MemorySource(objects, { kind: opts.kind, description: `${opts.kind} test` }),
      }
      : {}),
  });
  const outcome = await runTool(spec, args, deps);
  if (!outcome.ok) throw new Error(outcome.error);
  // the structured result matches the advertised output schema exactly
  z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE) }).strict()
    .parse(outcome.data);
  return outcome.data as HealthReport;
}

function byName(report: HealthReport, name: string) {
  const c = report.checks.find((c) => c.name === name);
  assert(c, `no check named "${name}" in ${report.checks.map((c) => c.name).join(", ")}`);
  return c;
}

function statuses(report: HealthReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
}

Deno.test("check_mesh_health reports a running default install with viz as healthy", async () => {
  const r = await check(meshObjects({ viz: true }), {}, { kind: "live" });
  assert.deepEqual(r.healthy, true);
  assert.deepEqual(r.installed, true);
  assert.deepEqual(r.namespace, "linkerd");
  assert.deepEqual(r.proxyVersion, "install-proxy-version");
  assert.deepEqual(
    r.checks.filter((c) => c.status !== "ok").map((c) => c.name),
    ["Gateway API CRDs are installed"],
  );
  for (
    const name of [
      "control plane Namespace exists",
      "'linkerd-config' config map exists",
      "control plane deployments are available",
      "control plane pods are ready",
      "control plane pods are not crash-looping",
      "control plane CustomResourceDefinitions exist",
      "trust anchors are within their validity period",
      "trust anchors are valid for at least 60 days",
      "control plane proxies are healthy",
      "control plane proxies are up-to-date",
      "data plane proxy versions match the control plane",
      "viz extension pods are running",
      "linkerd-viz pods are injected",
    ]
  ) assert.deepEqual(byName(r, name).status, "ok", name);
  assert.deepEqual(r.totalPods, 3);
  assert.deepEqual(r.healthyPods, 3);
  assert.deepEqual(r.unhealthyPods, 0);
  assert.deepEqual(r.components.map((c) => c.component), [
    "destination",
    "identity",
    "proxy-injector",
  ]);
  assert.deepEqual(r.components[0]!.status, "Running");
  for (const c of r.checks) assert.match(c.hint, /https:\/\/linkerd\.io\/2\/checks\/#/);
});

Deno.test("check_mesh_health skips viz and multicluster when they are not installed", async () => {
  const r = await check(meshObjects());
  assert.deepEqual(r.healthy, true);
  const viz = byName(r, "linkerd-viz Namespace exists");
  assert.deepEqual(viz.status, "ok");
  assert.match(viz.message, /not installed/);
  assert(!r.checks.some((c) => c.name === "viz extension pods are running"));
  assert.match(byName(r, "multicluster extension is installed").message, /not installed/);
});

Deno.test("check_mesh_health fails on a crash-looping control-plane pod", async () => {
  const r = await check(meshObjects({
    pods: {
      "linkerd-destination": {
        statuses: {
          destination: {
            ready: false,
            restartCount: 14,
            state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s" } },
          },
        },
      },
    },
  }));
  assert.deepEqual(r.healthy, false);
  const loop = byName(r, "control plane pods are not crash-looping");
  assert.deepEqual(loop.status, "error");
  assert.match(
    loop.message,
    /linkerd-destination-\S+ \(destination: CrashLoopBackOff; 14 restarts\)/,
  );
  assert.match(loop.hint, /logs .* --previous/);
  const ready = byName(r, "control plane pods are ready");
  assert.deepEqual(ready.status, "error");
  assert.match(
    ready.message,
    /no ready pod: linkerd-destination-\S+ \(not ready: destination \(CrashLoopBackOff\)\)/,
  );
  assert.deepEqual(r.unhealthyPods, 1);
  assert.deepEqual(
    r.components.find((c) => c.component === "destination")!.status,
    "CrashLoopBackOff",
  );
  assert.deepEqual(r.components.find((c) => c.component === "destination")!.restarts, 14);
  assert.match(r.summary, /unhealthy/);
});

Deno.test("check_mesh_health warns about frequent restarts of a ready pod", async () => {
  const r = await check(meshObjects({
    pods: { "linkerd-identity": { statuses: { identity: { restartCount: 7 } } } },
  }));
  assert.deepEqual(r.healthy, true);
  const loop = byName(r, "control plane pods are not crash-looping");
  assert.deepEqual(loop.status, "warning");
  assert.match(loop.message, /linkerd-identity-\S+ \(7 restarts\)/);
});

Deno.test("check_mesh_health catches a native-sidecar proxy that is not ready", async () => {
  // linkerd check only reads containerStatuses and would pass this pod
  const r = await check(meshObjects({
    pods: {
      "linkerd-proxy-injector": {
        statuses: { "linkerd-proxy": { ready: false, state: { running: {} } } },
      },
    },
  }));
  assert.deepEqual(r.healthy, false);
  const proxies = byName(r, "control plane proxies are healthy");
  assert.deepEqual(proxies.status, "error");
  assert.match(
    proxies.message,
    /linkerd-proxy-injector-\S+ \(linkerd-proxy native-sidecar init container not ready\)/,
  );
  assert.match(byName(r, "control plane pods are ready").message, /not ready: linkerd-proxy/);
});

Deno.test("check_mesh_health reports an unavailable control-plane Deployment", async () => {
  const objects = meshObjects().map((o) =>
    o.kind === "Deployment" && o.metadata.name === "linkerd-identity" ? withStatus(o, 0) : o
  );
  const r = await check(objects);
  const deps = byName(r, "control plane deployments are available");
  assert.deepEqual(deps.status, "error");
  assert.match(deps.message, /unavailable: linkerd-identity \(0\/1 available\)/);
});

Deno.test("check_mesh_health reports missing CRDs", async (t) => {
  await t.step("none installed on a live cluster", async () => {
    const r = await check(meshObjects({ crds: false }), {}, { kind: "live" });
    assert.deepEqual(r.healthy, false);
    const crds = byName(r, "control plane CustomResourceDefinitions exist");
    assert.deepEqual(crds.status, "error");
    assert.match(crds.message, /Missing: .*servers\.policy\.linkerd\.io/);
    assert.match(crds.hint, /linkerd upgrade --crds/);
  });
  await t.step("one core CRD missing", async () => {
    const objects = meshObjects().filter((o) =>
      !(o.kind === "CustomResourceDefinition" && o.metadata.name === "servers.policy.linkerd.io")
    );
    const r = await check(objects);
    const crds = byName(r, "control plane CustomResourceDefinitions exist");
    assert.deepEqual(crds.status, "error");
    assert.deepEqual(crds.message, "Missing: servers.policy.linkerd.io");
  });
  await t.step("only newer CRDs missing means an older release: warning", async () => {
    const objects = meshObjects().filter((o) =>
      !(o.kind === "CustomResourceDefinition" && o.metadata.name.startsWith("egressnetworks."))
    );
    const r = await check(objects);
    assert.deepEqual(r.healthy, true);
    assert.deepEqual(byName(r, "control plane CustomResourceDefinitions exist").status, "warning");
  });
  await t.step("a CRD without the current served version", async () => {
    const objects = meshObjects().map((o) => {
      if (
        o.kind !== "CustomResourceDefinition" || o.metadata.name !== "servers.policy.linkerd.io"
      ) {
        return o;
      }
      const c = structuredClone(o);
      const versions = (c.spec as { versions: Array<{ name: string }> }).versions;
      (c.spec as { versions: unknown }).versions = versions.filter((v) => v.name !== "v1beta3");
      return c;
    });
    const r = await check(objects);
    const served = byName(r, "control plane CustomResourceDefinitions serve current versions");
    assert.deepEqual(served.status, "warning");
    assert.match(served.message, /servers\.policy\.linkerd\.io does not serve v1beta3/);
  });
  await t.step("manifests without CRDs cannot be verified: warning", async () => {
    const r = await check(meshObjects({ crds: false }), {}, { kind: "manifests" });
    const crds = byName(r, "control plane CustomResourceDefinitions exist");
    assert.deepEqual(crds.status, "warning");
    assert.match(crds.message, /cannot be verified/);
  });
});

Deno.test("check_mesh_health judges trust anchors", async (t) => {
  await t.step("expired anchor is an error", async () => {
    const r = await check(meshObjects({ trustRoots: anchorPem("expired") }));
    assert.deepEqual(r.healthy, false);
    const c = byName(r, "trust anchors are within their validity period");
    assert.deepEqual(c.status, "error");
    assert.match(c.message, /"root\.linkerd\.cluster\.local" \(serial \w+\) expired on 2026-03-01/);
    assert.match(c.hint, /Rotate the trust anchor/);
  });
  await t.step("anchor expiring within 60 days is a warning", async () => {
    const r = await check(meshObjects({ trustRoots: anchorPem("expiring") }));
    assert.deepEqual(r.healthy, true);
    const c = byName(r, "trust anchors are valid for at least 60 days");
    assert.deepEqual(c.status, "warning");
    assert.match(c.message, /expires on 2026-12-20 \(in 25 days\)/);
  });
  await t.step("a bundle of several anchors names only the expiring one", async () => {
    const r = await check(meshObjects({
      trustRoots: `${anchorPem("valid")}\n${anchorPem("expiring")}`,
    }));
    assert.match(byName(r, "certificate config is valid").message, /^2 trust anchors/);
    const c = byName(r, "trust anchors are valid for at least 60 days");
    assert.deepEqual(c.status, "warning");
    assert.deepEqual(c.message.match(/serial/g)?.length, 1);
    assert.deepEqual(byName(r, "trust anchors are within their validity period").status, "ok");
  });
  await t.step("anchor not yet valid is an error", async () => {
    const r = await check(meshObjects({ trustRoots: anchorPem("future") }));
    const c = byName(r, "trust anchors are within their validity period");
    assert.deepEqual(c.status, "error");
    assert.match(c.message, /not valid before 2027-01-01/);
  });
  await t.step("RSA 1024 is unsupported crypto", async () => {
    const r = await check(meshObjects({ trustRoots: anchorPem("rsa1024") }));
    const c = byName(r, "trust anchors are using supported crypto algorithm");
    assert.deepEqual(c.status, "error");
    assert.match(c.message, /RSA keys must be 2048 or 4096 bits, not 1024/);
  });
  await t.step("an unparsable bundle is an error", async () => {
    const r = await check(meshObjects({
      trustRoots: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    }));
    const c = byName(r, "certificate config is valid");
    assert.deepEqual(c.status, "error");
    assert.match(c.message, /holds no parsable certificate/);
  });
  await t.step("missing trust-roots ConfigMap falls back to linkerd-config", async () => {
    const objects = meshObjects().filter((o) => o.metadata.name !== "linkerd-identity-trust-roots");
    const c = byName(await check(objects), "certificate config is valid");
    assert.deepEqual(c.status, "ok");
    assert.match(c.message, /"identityTrustAnchorsPEM" in ConfigMap "linkerd-config"/);
  });
  await t.step("no trust anchors anywhere is an error", async () => {
    const objects = meshObjects()
      .filter((o) => o.metadata.name !== "linkerd-identity-trust-roots")
      .map((o) =>
        o.metadata.name === "linkerd-config"
          ? { ...o, data: { values: "proxy:\n  image:\n    version: install-proxy-version\n" } }
          : o
      );
    const c = byName(await check(objects), "certificate config is valid");
    assert.deepEqual(c.status, "error");
    assert.match(
      c.message,
      /ConfigMap "linkerd-identity-trust-roots" \(key "ca-bundle.crt"\) is missing/,
    );
  });
});

Deno.test("check_mesh_health says clearly when Linkerd is not installed", async (t) => {
  await t.step("empty cluster", async () => {
    const r = await check([], {}, { kind: "live" });
    assert.deepEqual(r.healthy, false);
    assert.deepEqual(r.installed, false);
    assert.deepEqual(r.totalPods, 0);
    assert.match(r.summary, /Linkerd is not installed in namespace "linkerd"/);
    assert.deepEqual(byName(r, "control plane Namespace exists").status, "error");
    const cfg = byName(r, "'linkerd-config' config map exists");
    assert.deepEqual(cfg.status, "error");
    assert.match(cfg.hint, /linkerd install --crds \| kubectl apply -f - && linkerd install/);
  });
  await t.step("wrong namespace, with meshed pods pointing elsewhere", async () => {
    const r = await check(meshObjects(), { namespace: "linkerd-prod" });
    assert.deepEqual(r.installed, false);
    assert.match(
      byName(r, "'linkerd-config' config map exists").message,
      /meshed pods point at control-plane namespace "linkerd" instead/,
    );
  });
});

Deno.test("check_mesh_health reports data-plane proxy version skew", async () => {
  const objects = [
    ...meshObjects(),
    appPod("emojivoto", "web-1", { app: "web" }),
    appPod("emojivoto", "voting-1", { app: "voting" }, { version: "edge-25.1.1" }),
    appPod("emojivoto", "emoji-1", { app: "emoji" }, { version: "edge-25.1.1" }),
  ];
  const r = await check(objects);
  assert.deepEqual(r.healthy, true);
  const c = byName(r, "data plane proxy versions match the control plane");
  assert.deepEqual(c.status, "warning");
  assert.match(
    c.message,
    /2 of 3 meshed pods do not run the control plane's proxy "install-proxy-version"/,
  );
  assert.match(
    c.message,
    /2 pods on "edge-25\.1\.1" \(e\.g\. emojivoto\/emoji-1, emojivoto\/voting-1\)/,
  );
  assert.match(c.hint, /rollout restart/);
});

Deno.test("check_mesh_health warns about data-plane proxies that are not ready", async () => {
  const objects = [
    ...meshObjects(),
    appPod("emojivoto", "web-1", { app: "web" }, { proxyReady: false }),
  ];
  const r = await check(objects);
  const c = byName(r, "data plane proxies are ready");
  assert.deepEqual(c.status, "warning");
  assert.match(c.message, /emojivoto\/web-1/);
});

Deno.test("check_mesh_health reports a broken viz extension", async () => {
  const objects = meshObjects({ viz: true })
    .filter((o) => !(o.kind === "Deployment" && o.metadata.name === "tap"))
    .map((o) => o.kind === "Deployment" && o.metadata.name === "web" ? withStatus(o, 0) : o);
  const r = await check(objects);
  const c = byName(r, "viz extension pods are running");
  assert.deepEqual(c.status, "error");
  assert.deepEqual(c.message, "missing: tap; unavailable: web (0/1 available)");
});

Deno.test("check_mesh_health reports readiness as unknown for manifests without status", async () => {
  const objects = meshObjects({ live: false }).flatMap((o) =>
    o.kind === "Deployment"
      ? [o, ...runningPods(o).map((p) => ({ ...p, status: undefined } as unknown as KubeObject))]
      : [o]
  );
  const r = await check(objects, {}, { kind: "manifests" });
  const ready = byName(r, "control plane pods are ready");
  assert.deepEqual(ready.status, "warning");
  assert.match(ready.message, /need a live cluster/);
  assert(!r.checks.some((c) => c.name === "control plane pods are not crash-looping"));
  assert.deepEqual(r.unknownPods, 3);
  assert.deepEqual(r.components[0]!.healthy, null);
  assert.match(
    byName(r, "control plane deployments are available").message,
    /availability is unknown/,
  );
  assert.deepEqual(r.healthy, true);
});

Deno.test("check_mesh_health counts a finished heartbeat pod as healthy", async () => {
  const heartbeat: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "linkerd-heartbeat-29000000-abcde",
      namespace: "linkerd",
      labels: { "linkerd.io/control-plane-component": "heartbeat" },
      ownerReferences: [{
        apiVersion: "batch/v1",
        kind: "Job",
        name: "linkerd-heartbeat-29000000",
      }],
    },
    spec: { containers: [{ name: "heartbeat" }] },
    status: {
      phase: "Succeeded",
      containerStatuses: [{ name: "heartbeat", ready: false, restartCount: 0 }],
    },
  };
  const r = await check([...meshObjects(), heartbeat]);
  assert.deepEqual(r.healthy, true);
  assert.deepEqual(r.totalPods, 4);
  assert.deepEqual(r.healthyPods, 4);
  assert.deepEqual(byName(r, "control plane pods are ready").status, "ok");
});

Deno.test("check_mesh_health checks multicluster Links and their controllers", async () => {
  const mc = objectsFromYaml(upstreamFixture("multicluster/install_default.golden.yaml"))
    .map((o) => (o.kind === "Deployment" ? withStatus(o) : o));
  const link: KubeObject = {
    apiVersion: "multicluster.linkerd.io/v1alpha3",
    kind: "Link",
    metadata: { name: "east", namespace: "linkerd-multicluster" },
    spec: { targetClusterName: "east", clusterCredentialsSecret: "cluster-credentials-east" },
  };
  const r = await check([...meshObjects(), ...mc, link], {}, { kind: "live" });
  assert.deepEqual(byName(r, "Link CRD exists").status, "ok");
  assert.deepEqual(byName(r, "Link resources are valid").status, "ok");
  const ctl = byName(r, "service mirror controllers are running");
  assert.deepEqual(ctl.status, "error");
  assert.match(ctl.message, /no controller Deployment for Links: east/);
  assert.deepEqual(byName(r, "multicluster gateway is available").status, "ok");
});

Deno.test("check_mesh_health rejects a namespace that is not a DNS-1123 label", async () => {
  const outcome = await runTool(spec, { namespace: "Linkerd_NS" }, testDeps([]));
  assert(!outcome.ok);
  assert.match(
    outcome.error,
    /Invalid arguments for check_mesh_health: namespace: Cannot use namespace .*: a Kubernetes namespace name must be/,
  );
  const extra = await runTool(spec, { namespaces: "linkerd" }, testDeps([]));
  assert(!extra.ok);
});

Deno.test("check_mesh_health honours LINKERD_NAMESPACE", async () => {
  const r = await check([], {}, { env: { LINKERD_NAMESPACE: "l5d" } });
  assert.deepEqual(r.namespace, "l5d");
  assert.deepEqual(statuses(r)["control plane Namespace exists"], "error");
});

Deno.test("check_mesh_health compares proxies with linkerdVersion when proxy.image.version is unset", async () => {
  const objects = [
    ...meshObjects().map((o) =>
      o.metadata.name === "linkerd-config"
        ? {
          ...o,
          data: { values: "linkerdVersion: edge-26.8.3\nproxy:\n  image:\n    version: ''\n" },
        }
        : o
    ),
    appPod("emojivoto", "web-1", { app: "web" }, { version: "edge-26.8.3" }),
    appPod("emojivoto", "voting-1", { app: "voting" }, { version: "edge-26.7.1" }),
  ];
  const r = await check(objects);
  assert.equal(r.controlPlaneVersion, "edge-26.8.3");
  assert.equal(r.proxyVersion, undefined);
  const dp = byName(r, "data plane proxy versions match the control plane");
  assert.equal(dp.status, "warning");
  assert.match(
    dp.message,
    /1 of 2 meshed pods do not run the control plane's proxy "edge-26\.8\.3"/,
  );
  assert.equal(byName(r, "control plane proxies are up-to-date").status, "warning");
});

Deno.test("check_mesh_health keeps the control-plane checks when RBAC forbids pods in all namespaces", async () => {
  const objects = [
    ...meshObjects({ viz: true }),
    appPod("emojivoto", "web-1", { app: "web" }, { version: "edge-25.1.1" }),
  ];
  const full = await check(objects, {}, { kind: "live" });
  const deps = testDeps(objects, {
    cluster: new RbacSource(objects, { namespaces: ["emojivoto"] }),
  });
  const outcome = await runTool(spec, {}, deps);
  assert.ok(outcome.ok, !outcome.ok ? outcome.error : "");
  z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE) }).strict()
    .parse(outcome.data);
  const r = outcome.data as HealthReport;
  // Everything but the data plane is checked as before.
  const notDataPlane = (rep: HealthReport) =>
    rep.checks.filter((c) => c.category !== "linkerd-data-plane");
  assert.deepEqual(notDataPlane(r), notDataPlane(full));
  assert.deepEqual(r.components, full.components);
  // The data plane is one warning that says why it was not checked.
  const dp = r.checks.filter((c) => c.category === "linkerd-data-plane");
  assert.deepEqual(dp.map((c) => [c.name, c.status]), [["data plane can be read", "warning"]]);
  assert.match(dp[0]!.message, /could not be read: RBAC forbids listing pods in all namespaces/);
  assert.match(dp[0]!.hint, /list access to pods cluster-wide/);
  // A warning keeps the mesh healthy (the full run's skew is a warning too).
  assert.equal(r.healthy, true);
  assert.equal(full.healthy, true);
  assert.match(r.summary, /is healthy/);
  assert.equal(
    byName(full, "data plane proxy versions match the control plane").status,
    "warning",
  );
});

Deno.test("check_mesh_health still fails when RBAC forbids the control-plane namespace", async () => {
  const objects = meshObjects();
  const deps = testDeps(objects, { cluster: new RbacSource(objects, { namespaces: ["linkerd"] }) });
  const outcome = await runTool(spec, {}, deps);
  assert.equal(outcome.ok, false);
  assert.match(!outcome.ok ? outcome.error : "", /in the namespace "linkerd".*forbidden by RBAC/);
});

Deno.test("check_mesh_health degrades an extension namespace that RBAC does not grant", async (t) => {
  const objects = [...meshObjects({ viz: true }), appPod("emojivoto", "web-1", { app: "web" })];
  const full = await check(objects, {}, { kind: "live" });
  await t.step("viz and multicluster forbidden (403): one warning each", async () => {
    const src = new RbacSource(objects, { namespaces: ["linkerd-viz", "linkerd-multicluster"] });
    const outcome = await runTool(spec, {}, testDeps(objects, { cluster: src }));
    assert.ok(outcome.ok, !outcome.ok ? outcome.error : "");
    z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE) }).strict()
      .parse(outcome.data);
    const r = outcome.data as HealthReport;
    assert.equal(r.healthy, true, JSON.stringify(r.checks, null, 1));
    assert.match(r.summary, /is healthy/);
    for (
      const [cat, ns, ext] of [
        ["linkerd-viz", "linkerd-viz", "viz"],
        ["linkerd-multicluster", "linkerd-multicluster", "multicluster"],
      ] as const
    ) {
      const checks = r.checks.filter((c) => c.category === cat);
      assert.deepEqual(checks.map((c) => c.status), ["warning"], JSON.stringify(checks));
      assert.match(checks[0]!.message, new RegExp(`Cannot read .* in namespace "${ns}"`));
      assert.match(checks[0]!.message, /forbidden by RBAC \(403\)/);
      assert.match(checks[0]!.message, new RegExp(`User "test" cannot list resource`));
      assert.match(checks[0]!.hint, new RegExp(`Grant the identity .* in "${ns}"`));
      assert.match(
        checks[0]!.hint,
        new RegExp(`ignore this if the ${ext} extension is not installed`),
      );
    }
    // The control-plane checks are those of a full read (the data plane degrades as usual).
    // (this answer is over the 8 KB budget: the tool drops the passed checks' hints and
    // shortens their messages, see its note)
    const core = (rep: HealthReport) =>
      rep.checks.filter((c) =>
        !["linkerd-viz", "linkerd-multicluster", "linkerd-data-plane"].includes(c.category)
      ).map((c) => c.status === "ok" ? { ...c, hint: "", message: c.message.slice(0, 39) } : c);
    assert.deepEqual(core(r), core(full));
  });
  await t.step("a namespace answered with 404 degrades too", async () => {
    class NoNamespace extends MemorySource {
      override list(resource: ResourceKey, opts: ListOptions = {}): Promise<KubeObject[]> {
        if (opts.namespace === "linkerd-multicluster") {
          return Promise.reject(
            new KubeApiError('namespaces "linkerd-multicluster" not found', {
              status: 404,
              reason: "NotFound",
            }),
          );
        }
        return super.list(resource, opts);
      }
    }
    const src = new NoNamespace(objects, { kind: "live", description: "404 test" });
    const outcome = await runTool(spec, {}, testDeps(objects, { cluster: src }));
    assert.ok(outcome.ok, !outcome.ok ? outcome.error : "");
    const r = outcome.data as HealthReport;
    const mc = r.checks.filter((c) => c.category === "linkerd-multicluster");
    assert.deepEqual(mc.map((c) => c.status), ["warning"]);
    assert.match(mc[0]!.message, /not found \(404\)/);
    // viz was readable and is checked as usual (passed checks compared as the 8 KB
    // budget leaves them: the two answers differ in size, so in what is shortened)
    const viz = (rep: HealthReport) =>
      rep.checks.filter((c) => c.category === "linkerd-viz").map((c) =>
        c.status === "ok" ? { ...c, hint: "", message: c.message.slice(0, 39) } : c
      );
    assert.deepEqual(viz(r), viz(full));
  });
  await t.step("Links stay checked when their namespace is unreadable", async () => {
    const link = {
      apiVersion: "multicluster.linkerd.io/v1alpha3",
      kind: "Link",
      metadata: { name: "east", namespace: "linkerd-multicluster" },
      spec: { targetClusterName: "east" },
    } as KubeObject;
    const withLink = [...objects, link];
    const src = new RbacSource(withLink, {
      namespaces: ["linkerd-multicluster"],
      allowAllNamespaces: true,
    });
    const outcome = await runTool(spec, {}, testDeps(withLink, { cluster: src }));
    assert.ok(outcome.ok, !outcome.ok ? outcome.error : "");
    const r = outcome.data as HealthReport;
    const mc = r.checks.filter((c) => c.category === "linkerd-multicluster");
    assert.deepEqual(mc.map((c) => [c.name, c.status]), [
      ["multicluster extension is installed", "warning"],
      ["Link CRD exists", "error"], // the fixture's CRDs have no Link CRD
      ["Link resources are valid", "error"], // no clusterCredentialsSecret
    ]);
    // no "service mirror controllers are running" error: that Deployment could not be read
  });
});

Deno.test("check_mesh_health runs the multicluster checks on a healthy Link (tool, Prometheus unreachable)", async () => {
  const { linkedCluster } = await import("../multicluster/_fixtures.ts");
  const r = await check(linkedCluster(), {}, { kind: "live" });
  const mc = r.checks.filter((c) => c.category === "linkerd-multicluster");
  assert.deepEqual(mc.filter((c) => c.status !== "ok"), []);
  assert.equal(r.healthy, true);
  // the test's Prometheus fails every query: the gateway probes are said to be not checked, and why
  assert.match(
    byName(r, "probe services able to communicate with all gateway mirrors").message,
    /gateway liveness not checked: Prometheus could not be read/,
  );
  assert.match(byName(r, "clusters share trust anchors").message, /^Not checked: .*Secrets/);
  assert.match(byName(r, "service mirror controllers are running").message, /east/);
});

Deno.test("check_mesh_health asks Prometheus for gateway liveness when Links exist", async () => {
  const { linkedCluster, probeProm } = await import("../multicluster/_fixtures.ts");
  const objects = linkedCluster();
  const { prom, queries } = probeProm({ east: 0 });
  const deps = {
    ...testDeps(objects, {
      cluster: new MemorySource(objects, { kind: "live", description: "live test" }),
    }),
    prom,
  };
  const outcome = await runTool(spec, {}, deps);
  assert.ok(outcome.ok, outcome.ok ? "" : outcome.error);
  const r = outcome.data as HealthReport;
  assert.ok(queries.some((q) => q.includes("gateway_alive")), queries.join("\n"));
  const probes = byName(r, "probe services able to communicate with all gateway mirrors");
  assert.equal(probes.status, "error");
  assert.equal(r.healthy, false);
});
