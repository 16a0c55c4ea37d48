/**
 * `stripManagedFields` on a page of 500 pods as a real API server sends them (each with the
 * records of two field managers), against parsing the page as it is.
 *
 * Run: `deno bench -A bench/strip_bench.ts`
 *
 * @module
 */
import { stripManagedFields } from "../src/kube/_strip.ts";
import { MANAGED_FIELDS } from "../tests/support/managed_fields.ts";

const pod = (i: number) => ({
  metadata: {
    name: `web-${i}`,
    namespace: "shop",
    uid: crypto.randomUUID(),
    labels: { app: "web" },
    managedFields: MANAGED_FIELDS,
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
