import assert from "node:assert/strict";
import { objectsFromYaml } from "../_helpers.ts";
import { loadManifests } from "../../src/kube/manifests.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { synthesizeWorkloadPods, workloadsWithoutPods } from "../../src/kube/workload_pods.ts";
import {
  isControlledWorkload,
  isWorkload,
  ownerWorkloadOf,
  podTemplateOf,
  podTemplatePath,
  WORKLOAD_KEYS,
  workloadLookupOf,
} from "../../src/kube/workloads.ts";

const SHOP = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, annotations: {linkerd.io/inject: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: report}}
        spec: {containers: [{name: report, image: report:1}]}
`;

/** A bare Pod (no owner), as people apply for debugging: `kubectl run debug`. */
const BARE_POD = `
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {run: debug}}
spec: {containers: [{name: debug, image: busybox}]}
`;

function names(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`);
}

Deno.test("a bare Pod does not stop pods being synthesised for the namespace's workloads", () => {
  const objects = objectsFromYaml(SHOP + "---" + BARE_POD);
  assert.deepEqual(names(workloadsWithoutPods(objects)), ["Deployment/web", "CronJob/report"]);
  const pods = synthesizeWorkloadPods(objects).map((p) => p.pod);
  assert.equal(pods.filter((p) => p.metadata.labels?.["app"] === "web").length, 2);
  assert.equal(pods.filter((p) => p.metadata.labels?.["app"] === "report").length, 1);
  assert.ok(
    pods.every((p) => p.metadata.labels?.["linkerd.io/control-plane-ns"] === "linkerd"),
    "the namespace's linkerd.io/inject: enabled still meshes them",
  );
});

Deno.test("loadManifests() synthesises a workload's pods beside a bare Pod in its namespace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/shop.yaml`, SHOP);
    await Deno.writeTextFile(`${dir}/debug.yaml`, BARE_POD);
    const src = await loadManifests([dir]);
    const pods = await src.list("pods", { namespace: "shop" });
    assert.equal(src.synthesizedPods, 3);
    assert.deepEqual(pods.map((p) => p.metadata.labels?.["app"] ?? p.metadata.name).sort(), [
      "debug",
      "report",
      "web",
      "web",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a workload whose pods are given (a kubectl dump) gets no synthesised pods", () => {
  const objects = objectsFromYaml(
    SHOP + `
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f7c9b6
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f7c9b6-abcde
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7c9b6, controller: true}]
spec: {containers: [{name: web}]}
`,
  );
  assert.deepEqual(names(workloadsWithoutPods(objects)), ["CronJob/report"]);
});

Deno.test("ownerWorkloadOf() follows the owner chain, then the injector label, then the hash", () => {
  const rs: KubeObject = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: "web-v2-5d8f7c9b6",
      namespace: "shop",
      ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web-v2" }],
    },
  };
  const job: KubeObject = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: "report-29000001",
      namespace: "shop",
      ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "report" }],
    },
  };
  const lookup = workloadLookupOf([rs, job]);
  const pod = (owner?: [string, string], labels: Record<string, string> = {}) => ({
    metadata: {
      name: "p-1",
      namespace: "shop",
      labels,
      ...(owner
        ? {
          ownerReferences: [{ apiVersion: "v1", kind: owner[0], name: owner[1], controller: true }],
        }
        : {}),
    },
  });
  assert.deepEqual(ownerWorkloadOf(pod(["ReplicaSet", "web-v2-5d8f7c9b6"]), lookup), {
    kind: "Deployment",
    name: "web-v2",
  });
  assert.deepEqual(ownerWorkloadOf(pod(["Job", "report-29000001"]), lookup), {
    kind: "CronJob",
    name: "report",
  });
  assert.deepEqual(
    ownerWorkloadOf(pod(["ReplicaSet", "api-7d9f8"], { "pod-template-hash": "7d9f8" })),
    { kind: "Deployment", name: "api" },
    "ReplicaSet not loaded: the Deployment from the pod-template-hash",
  );
  assert.deepEqual(
    ownerWorkloadOf(pod(["ReplicaSet", "api-7d9f8"], { "linkerd.io/proxy-deployment": "api" })),
    { kind: "Deployment", name: "api" },
  );
  assert.deepEqual(ownerWorkloadOf(pod(["StatefulSet", "db"])), {
    kind: "StatefulSet",
    name: "db",
  });
  assert.deepEqual(ownerWorkloadOf(pod()), { kind: "Pod", name: "p-1" });
});

Deno.test("podTemplateOf() reads spec.template and a CronJob's job template", () => {
  const [, deploy, cron] = objectsFromYaml(SHOP);
  assert.deepEqual(podTemplateOf(deploy!)?.metadata?.labels, { app: "web" });
  assert.deepEqual(podTemplateOf(cron!)?.metadata?.labels, { app: "report" });
  assert.equal(podTemplatePath(cron!), "spec.jobTemplate.spec.template");
  assert.equal(podTemplatePath(deploy!), "spec.template");
  assert.equal(
    podTemplateOf({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" } }),
    undefined,
  );
});

Deno.test("isWorkload() and isControlledWorkload() know the six kinds and their controllers", () => {
  const [ns, deploy, cron] = objectsFromYaml(SHOP);
  assert.ok(isWorkload(deploy!) && isWorkload(cron!));
  assert.ok(!isWorkload(ns!));
  assert.ok(!isWorkload({ ...deploy!, apiVersion: "example.com/v1" }), "a CRD named Deployment");
  const owned = (kind: string, owner: string): KubeObject => ({
    apiVersion: "apps/v1",
    kind,
    metadata: { name: "x", ownerReferences: [{ apiVersion: "apps/v1", kind: owner, name: "o" }] },
  });
  assert.ok(isControlledWorkload(owned("ReplicaSet", "Deployment")));
  assert.ok(isControlledWorkload(owned("Job", "CronJob")));
  assert.ok(!isControlledWorkload(owned("ReplicaSet", "SomethingElse")));
  assert.deepEqual(WORKLOAD_KEYS, [
    "deployments",
    "statefulsets",
    "daemonsets",
    "replicasets",
    "jobs",
    "cronjobs",
  ]);
});
