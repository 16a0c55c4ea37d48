/**
 * Validates a synthetic 10,000-pod mesh: 100 namespaces × 10 Deployments × 10 meshed
 * pods, with Services, Servers, AuthorizationPolicies, MeshTLS/Network authentications
 * and HTTPRoutes (including probe routes) in every namespace.
 *
 * `deno bench -A bench/validate_bench.ts` benches it; `deno run -A bench/validate_bench.ts`
 * prints one timed run with memory use.
 *
 * @module
 */
import { stateFromObjects } from "../src/kube/state.ts";
import type { KubeObject } from "../src/kube/types.ts";
import { readMeshConfig } from "../src/mesh/config.ts";
import { buildReport, validate } from "../src/validate/run.ts";
import { syntheticValidationMesh as syntheticMesh } from "../tests/support/synthetic.ts";

/** The synthetic mesh (`tests/support/synthetic.ts`, the one generator). */
export { syntheticMesh };

function run(objects: KubeObject[]) {
  const state = stateFromObjects(objects, { source: "synthetic", linkerdNamespace: "linkerd" });
  const findings = validate(state, { mesh: readMeshConfig(state), partial: false });
  return buildReport(state, findings);
}

const MESH = syntheticMesh();

Deno.bench("validate_mesh_config: 10,000-pod synthetic mesh", { n: 5 }, () => {
  run(MESH);
});

if (import.meta.main) {
  const pods = MESH.filter((o) => o.kind === "Pod").length;
  const before = Deno.memoryUsage();
  const t0 = performance.now();
  const report = run(MESH);
  const ms = performance.now() - t0;
  const after = Deno.memoryUsage();
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  // deno-lint-ignore no-console
  console.log(
    `${pods} pods, ${MESH.length} objects: validated in ${ms.toFixed(0)} ms; ` +
      `${report.totalResources} resources, summary ${JSON.stringify(report.summary)}; ` +
      `heapUsed ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}, rss ${mb(after.rss)}`,
  );
}
