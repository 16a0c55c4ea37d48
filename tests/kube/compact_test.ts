/**
 * What the live source keeps of an object (src/kube/_compact.ts): unread fields dropped,
 * read ones intact, equal parts of different objects shared as one frozen copy.
 */
import assert from "node:assert/strict";
import { Compactor } from "../../src/kube/_compact.ts";
import type { KubeObject } from "../../src/kube/types.ts";

/** A pod as an API server sends it, with the fields nothing reads. */
function pod(name: string, ip: string, restarts = 0): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "shop",
      uid: `uid-${name}`,
      resourceVersion: "7",
      labels: { app: "web", "pod-template-hash": "5d8f7c9b6" },
      annotations: {
        "linkerd.io/proxy-version": "edge-25.4.4",
        "kubectl.kubernetes.io/last-applied-configuration": '{"huge":"copy"}',
      },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d8f7c9b6" }],
      managedFields: [{ manager: "kubectl", fieldsV1: { "f:metadata": {} } }],
    } as KubeObject["metadata"],
    spec: {
      serviceAccountName: "web",
      nodeName: "node-1",
      volumes: [{ name: "token", projected: {} }],
      tolerations: [{ key: "x" }],
      containers: [{
        name: "app",
        image: "ghcr.io/shop/web:1.0",
        ports: [{ name: "http", containerPort: 8080 }],
        readinessProbe: { httpGet: { path: "/ready", port: 8080 } },
        env: [{ name: "MODE", value: "prod" }],
        volumeMounts: [{ name: "token", mountPath: "/var/run" }],
        resources: { requests: { cpu: "10m" } },
        imagePullPolicy: "IfNotPresent",
      }],
    },
    status: {
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: "192.168.0.1",
      startTime: "2026-11-01T00:00:00Z",
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: `2026-11-01T00:0${ip}` }],
      containerStatuses: [{
        name: "app",
        ready: true,
        restartCount: restarts,
        state: { running: { startedAt: "2026-11-01T00:00:00Z" } },
        imageID: `sha256:${name}`,
        containerID: `containerd://${name}`,
      }],
    },
  };
}

Deno.test("compact: drops what nothing reads, keeps every field the domain reads", () => {
  const c = new Compactor();
  const p = c.compact(pod("web-1", "1"));
  const meta = p.metadata as unknown as Record<string, unknown>;
  assert.equal(meta["managedFields"], undefined);
  assert.deepEqual(p.metadata.annotations, { "linkerd.io/proxy-version": "edge-25.4.4" });
  assert.deepEqual(p.metadata.labels, { app: "web", "pod-template-hash": "5d8f7c9b6" });
  assert.equal(p.metadata.uid, "uid-web-1");
  assert.equal(p.metadata.resourceVersion, "7");
  assert.deepEqual(p.metadata.ownerReferences, [
    { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d8f7c9b6" },
  ]);
  assert.deepEqual(p.spec, {
    serviceAccountName: "web",
    nodeName: "node-1",
    containers: [{
      name: "app",
      image: "ghcr.io/shop/web:1.0",
      ports: [{ name: "http", containerPort: 8080 }],
      readinessProbe: { httpGet: { path: "/ready", port: 8080 } },
      env: [{ name: "MODE", value: "prod" }],
    }],
  });
  assert.deepEqual(p.status, {
    phase: "Running",
    podIP: "1",
    podIPs: [{ ip: "1" }],
    conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [{
      name: "app",
      ready: true,
      restartCount: 0,
      state: { running: { startedAt: "2026-11-01T00:00:00Z" } },
    }],
  });
});

Deno.test("compact: equal parts of two pods are one frozen object, different ones are not", () => {
  const c = new Compactor();
  const a = c.compact(pod("web-1", "1"));
  const b = c.compact(pod("web-2", "2", 3));
  assert.equal(a.metadata.labels, b.metadata.labels);
  assert.equal(a.metadata.annotations, b.metadata.annotations);
  assert.equal(a.metadata.ownerReferences, b.metadata.ownerReferences);
  assert.equal(a.spec!["containers"], b.spec!["containers"]);
  assert.equal(a.status!["conditions"], b.status!["conditions"]);
  // Different values stay apart: the IPs, and the container status (restart count).
  assert.notEqual(a.status!["podIPs"], b.status!["podIPs"]);
  assert.deepEqual(b.status!["podIPs"], [{ ip: "2" }]);
  assert.notEqual(a.status!["containerStatuses"], b.status!["containerStatuses"]);
  assert.equal(
    (b.status!["containerStatuses"] as Array<{ restartCount: number }>)[0]!.restartCount,
    3,
  );
  // A shared part cannot be changed through one of its holders.
  assert.ok(Object.isFrozen(a.metadata.labels));
  assert.throws(() => {
    (a.metadata.labels as Record<string, string>)["app"] = "other";
  }, TypeError);
  assert.equal(b.metadata.labels!["app"], "web");
  // The objects themselves are not frozen (the source sets apiVersion and kind).
  assert.ok(!Object.isFrozen(a) && !Object.isFrozen(a.metadata));
});

Deno.test("compact: same structure with other key order or types is not merged", () => {
  const c = new Compactor();
  const svc = (selector: Record<string, unknown>): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s", namespace: "n" },
    spec: { selector, ports: [{ port: 80, targetPort: "8080" }] },
  });
  const a = c.compact(svc({ app: "web", tier: "1" }));
  const b = c.compact(svc({ tier: "1", app: "web" }));
  const d = c.compact(svc({ app: "web", tier: 1 }));
  assert.notEqual(a.spec!["selector"], b.spec!["selector"]);
  assert.notEqual(a.spec!["selector"], d.spec!["selector"]);
  assert.deepEqual(d.spec!["selector"], { app: "web", tier: 1 });
  assert.equal(a.spec!["ports"], d.spec!["ports"]);
  // Not pods: their fields are all kept (other kinds are read in full).
  const dep: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d" },
    spec: { template: { spec: { volumes: [{ name: "v" }], tolerations: [] } } },
  };
  assert.deepEqual(c.compact(structuredClone(dep)), dep);
});
