/**
 * Connectivity sources that are not Services: a workload (Deployment, StatefulSet,
 * DaemonSet, Job, CronJob), a pod, a ServiceAccount identity, or the IP of an unmeshed
 * client; through the domain functions and through the tools' arguments.
 *
 * @module
 */
import assert from "node:assert/strict";
import { z } from "zod";
import type { KubeObject } from "../../src/kube/types.ts";
import { allowedTargets, analyzeAccess, type SourceRef } from "../../src/policy/mod.ts";
import { DATA_SOURCE_SHAPE, runTool } from "../../src/tools/_spec.ts";
import { policyTools } from "../../src/tools/policy.ts";
import { testDeps } from "../_helpers.ts";
import {
  id,
  indexFor,
  mkAuthorizationPolicy,
  mkNetworkAuthn,
  mkPod,
  mkServer,
  mkService,
  NS,
} from "./_builders.ts";

const OBJECTS: KubeObject[] = [
  mkPod("web-0", { labels: { app: "web" }, sa: "web" }),
  mkService("web", { ports: [{ name: "http", port: 80, targetPort: "http" }] }),
  // a Deployment's pod (owner ReplicaSet web-bot-5d8f7c9b6), no Service
  {
    ...mkPod("bot-5d8f7c9b6-x2x7q", {
      labels: { app: "bot", "pod-template-hash": "5d8f7c9b6" },
      sa: "bot",
      ownerReferences: [{ kind: "ReplicaSet", name: "bot-5d8f7c9b6" }],
    }),
  },
  // a CronJob's pod (owner Job report-28000000)
  mkPod("report-28000000-abcde", {
    labels: { app: "report" },
    sa: "report",
    ip: "10.0.0.5",
    ownerReferences: [{ kind: "Job", name: "report-28000000" }],
  }),
  mkServer("web-http", { port: "http", selector: { matchLabels: { app: "web" } } }),
  mkAuthorizationPolicy(
    "bot-to-web",
    { group: "policy.linkerd.io", kind: "Server", name: "web-http" },
    [{ kind: "ServiceAccount", name: "bot" }],
  ),
  mkNetworkAuthn("lb", [{ cidr: "192.168.10.0/24" }]),
  mkAuthorizationPolicy(
    "lb-to-web",
    { group: "policy.linkerd.io", kind: "Server", name: "web-http" },
    [{ group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "lb" }],
  ),
];

Deno.test("analyzeAccess() takes a workload, a pod, a ServiceAccount or an IP as the source", async (t) => {
  const { idx } = indexFor(OBJECTS);
  const cases: Array<[string, SourceRef, string, string]> = [
    [
      "deployment_by_owner_chain",
      { namespace: NS, workload: { kind: "Deployment", name: "bot" } },
      "allowed",
      "deployment/bot",
    ],
    [
      "deployment_short_kind",
      { namespace: NS, workload: { kind: "deploy", name: "bot" } },
      "allowed",
      "deployment/bot",
    ],
    [
      "cronjob_through_its_job",
      { namespace: NS, workload: { kind: "CronJob", name: "report" } },
      "denied",
      "cronjob/report",
    ],
    ["pod", { namespace: NS, pod: "bot-5d8f7c9b6-x2x7q" }, "allowed", "pod/bot-5d8f7c9b6-x2x7q"],
    [
      "service_account_identity",
      { namespace: NS, serviceAccount: "bot" },
      "allowed",
      "serviceaccount/bot",
    ],
    // an identity alone has no IP: a NetworkAuthentication cannot be decided
    [
      "other_service_account",
      { namespace: NS, serviceAccount: "report" },
      "undetermined",
      "serviceaccount/report",
    ],
    ["unmeshed_ip_inside_network", { ip: "192.168.10.7" }, "allowed", "ip/192.168.10.7"],
    ["unmeshed_ip_outside_network", { ip: "10.9.9.9" }, "denied", "ip/10.9.9.9"],
  ];
  for (const [name, source, want, label] of cases) {
    await t.step(name, () => {
      const r = analyzeAccess(idx, { source, target: { namespace: NS, service: "web" } });
      assert.equal(r.verdict, want, r.explanation);
      assert.equal(r.source.service, label);
      assert.ok(r.source.kind);
    });
  }
  const id0 = analyzeAccess(idx, {
    source: { namespace: NS, serviceAccount: "bot" },
    target: { namespace: NS, service: "web" },
  });
  assert.deepEqual(id0.source.identities, [id("bot")]);
  assert.throws(
    () =>
      analyzeAccess(idx, {
        source: { namespace: NS, workload: { kind: "Deployment", name: "nope" } },
        target: { namespace: NS, service: "web" },
      }),
    /Cannot find pods of Deployment "nope"/,
  );
  assert.throws(
    () =>
      analyzeAccess(idx, {
        source: { namespace: NS, workload: { kind: "ReplicationController", name: "x" } },
        target: { namespace: NS, service: "web" },
      }),
    /Unsupported source workload kind/,
  );
});

Deno.test("allowedTargets() from a workload source", () => {
  const { idx } = indexFor(OBJECTS);
  const r = allowedTargets(idx, { namespace: NS, workload: { kind: "Deployment", name: "bot" } });
  assert.deepEqual(r.allowedTargets.map((t) => t.service), ["web"]);
  assert.equal(r.source.service, "deployment/bot");
  const denied = allowedTargets(idx, { ip: "10.9.9.9" });
  assert.deepEqual(denied.allowedTargets, []);
  assert.equal(denied.deniedTargets, 1);
});

async function call(name: string, args: unknown) {
  const spec = policyTools().find((t) => t.name === name)!;
  const out = await runTool(spec, args, testDeps(OBJECTS));
  if (out.ok) {
    z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE).strict() }).strict()
      .parse(out.data);
  }
  return out;
}

Deno.test("analyze_connectivity and get_allowed_targets accept the new source arguments", async () => {
  const bot = await call("analyze_connectivity", {
    source_namespace: NS,
    source_workload: "deployment/bot",
    target_service: "web",
  });
  assert.ok(bot.ok, !bot.ok ? bot.error : "");
  assert.equal((bot.data as { verdict: string }).verdict, "allowed");
  const ip = await call("analyze_connectivity", {
    source_ip: "10.9.9.9",
    target_namespace: NS,
    target_service: "web",
  });
  assert.ok(ip.ok, !ip.ok ? ip.error : "");
  assert.equal((ip.data as { verdict: string }).verdict, "denied");
  const targets = await call("get_allowed_targets", {
    source_namespace: NS,
    source_pod: "bot-5d8f7c9b6-x2x7q",
  });
  assert.ok(targets.ok, !targets.ok ? targets.error : "");
  // the old names keep working
  const old = await call("analyze_connectivity", {
    source_namespace: NS,
    source_service: "web",
    target_service: "web",
  });
  assert.ok(old.ok, !old.ok ? old.error : "");
});

Deno.test("the source arguments say what is wrong", async () => {
  const two = await call("analyze_connectivity", {
    source_namespace: NS,
    source_service: "web",
    source_pod: "web-0",
    target_service: "web",
  });
  assert.ok(!two.ok);
  assert.match(two.error, /exactly one source.*source_service, source_pod/);
  const none = await call("get_allowed_targets", { source_namespace: NS });
  assert.ok(!none.ok);
  assert.match(none.error, /exactly one source/);
  const noNs = await call("analyze_connectivity", { source_ip: "10.9.9.9", target_service: "web" });
  assert.ok(!noNs.ok);
  assert.match(noNs.error, /target_namespace is required/);
  const badKind = await call("analyze_connectivity", {
    source_namespace: NS,
    source_workload: "replicaset/x",
    target_service: "web",
  });
  assert.ok(!badKind.ok);
  assert.match(badKind.error, /kind\/name/);
  const badIp = await call("analyze_connectivity", {
    source_ip: "999.1.1.1",
    target_namespace: NS,
    target_service: "web",
  });
  assert.ok(!badIp.ok);
  assert.match(badIp.error, /not an IPv4 or IPv6 address/);
});

Deno.test("get_inbound_policy answers in the diagnostics shape and says what it assumes", async () => {
  const out = await call("get_inbound_policy", {
    namespace: NS,
    workload: "deployment/bot",
    port: 8080,
  });
  assert.ok(out.ok, !out.ok ? out.error : "");
  const data = out.data as {
    pod: string;
    kind: string;
    server: { labels: unknown };
    assumes: string;
  };
  assert.equal(data.pod, "bot-5d8f7c9b6-x2x7q");
  assert.equal(data.kind, "default");
  assert.deepEqual(data.server.labels, { group: "", kind: "default", name: "all-unauthenticated" });
  assert.match(data.assumes, /2\.20/);
  const web = await call("get_inbound_policy", { namespace: NS, service: "web", port: "http" });
  assert.ok(web.ok, !web.ok ? web.error : "");
  assert.deepEqual((web.data as { server: { labels: unknown } }).server.labels, {
    group: "policy.linkerd.io",
    kind: "server",
    name: "web-http",
  });
  const two = await call("get_inbound_policy", {
    namespace: NS,
    pod: "web-0",
    service: "web",
    port: 80,
  });
  assert.ok(!two.ok);
  assert.match(two.error, /exactly one of pod, workload/);
  const missing = await call("get_inbound_policy", { namespace: NS, pod: "nope", port: 80 });
  assert.ok(!missing.ok);
  assert.match(missing.error, /Cannot find pod "nope"/);
});

Deno.test("allowedSources() lists workloads that no Service selects", async () => {
  const { idx } = indexFor(OBJECTS);
  const { allowedSources } = await import("../../src/policy/mod.ts");
  const r = allowedSources(idx, { namespace: NS, service: "web" });
  const workloads = r.allowedSources.filter((e) => e.kind === "workload");
  assert.deepEqual(workloads.map((e) => [e.workload, e.verdict]), [["deployment/bot", "allowed"]]);
  assert.deepEqual(workloads[0]!.authorizations, ["authorizationpolicy/bot-to-web"]);
  // the CronJob's pod (only the lb network would admit it) is not listed
  assert.ok(!r.allowedSources.some((e) => e.workload?.startsWith("job/")));
  const out = await call("get_allowed_sources", { target_namespace: NS, target_service: "web" });
  assert.ok(out.ok, !out.ok ? out.error : "");
});
