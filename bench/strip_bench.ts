/**
 * `stripManagedFields` on a page of 500 pods as a real API server sends them (each with the
 * records of two field managers), against parsing the page as it is.
 *
 * Run: `deno bench -A bench/strip_bench.ts`
 *
 * @module
 */
import { stripManagedFields } from "../src/kube/_strip.ts";

const managed = [
  {
    manager: "kubelet",
    operation: "Update",
    apiVersion: "v1",
    time: "2026-11-01T00:00:00Z",
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:status": Object.fromEntries(
        ["Ready", "ContainersReady", "Initialized", "PodScheduled"].map((t) => [
          `k:{"type":"${t}"}`,
          { ".": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {} },
        ]),
      ),
    },
    subresource: "status",
  },
  {
    manager: "kube-controller-manager",
    operation: "Update",
    fieldsV1: {
      "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
      "f:spec": { "f:containers": { 'k:{"name":"app"}': { "f:image": {}, "f:ports": {} } } },
    },
  },
];
const pod = (i: number) => ({
  metadata: {
    name: `web-${i}`,
    namespace: "shop",
    uid: crypto.randomUUID(),
    labels: { app: "web" },
    managedFields: managed,
  },
  spec: { containers: [{ name: "app", image: "app:1", ports: [{ containerPort: 8080 }] }] },
  status: { phase: "Running", podIP: "10.0.0.1" },
});
const page = JSON.stringify({
  kind: "PodList",
  items: Array.from({ length: 500 }, (_, i) => pod(i)),
});

Deno.bench("parse a 500-pod page as it is", { group: "page", baseline: true }, () => {
  JSON.parse(page);
});
Deno.bench("strip managedFields, then parse", { group: "page" }, () => {
  JSON.parse(stripManagedFields(page));
});
