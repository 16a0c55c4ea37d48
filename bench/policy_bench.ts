/**
 * Policy model benchmark on a synthetic mesh: 10,000 pods, 2,000 Services, 1,000
 * Servers and 2,000 AuthorizationPolicies over 50 namespaces (pods have IPs, as on a
 * live cluster). Run: `deno bench -A bench/policy_bench.ts`.
 *
 * Query benches clear the index memos each iteration, so they measure a cold query on
 * an index built once per loaded state (what one tool call does after loading).
 *
 * @module
 */
import { stateFromObjects } from "../src/kube/state.ts";
import { readMeshConfig } from "../src/mesh/config.ts";
import {
  allowedSources,
  allowedTargets,
  analyzeAccess,
  buildPolicyIndex,
  inboundPolicy,
  type PolicyIndex,
} from "../src/policy/mod.ts";
import { buildPolicyModel } from "../src/policy/model/mod.ts";
import { syntheticPolicyMesh as syntheticMesh } from "../tests/support/synthetic.ts";

/** The synthetic mesh (`tests/support/synthetic.ts`, the one generator). */
export { syntheticMesh };

const objects = syntheticMesh();
const before = Deno.memoryUsage().heapUsed;
const state = stateFromObjects(objects, { source: "synthetic", linkerdNamespace: "linkerd" });
const mesh = readMeshConfig(state);
const idx = buildPolicyIndex(state, { mesh });
const after = Deno.memoryUsage().heapUsed;

/** Clears the per-query memos (client profiles, inbound servers, claims); the model stays built. */
function cold(i: PolicyIndex): PolicyIndex {
  i.cache.clear();
  i.clients.clear();
  i.model.clearMemos();
  return i;
}

// deno-lint-ignore no-console
console.error(
  `synthetic mesh: ${objects.length} objects; heap for state + index: ${
    ((after - before) / 1e6).toFixed(1)
  } MB; heap used ${(after / 1e6).toFixed(1)} MB, rss ${
    (Deno.memoryUsage().rss / 1e6).toFixed(1)
  } MB`,
);

Deno.bench("buildPolicyIndex (10k pods, 2k Services, 1k Servers, 2k APs)", () => {
  // a fresh model each time (policyModel() would return the memoised one)
  buildPolicyIndex(state, { mesh, model: buildPolicyModel(state, { mesh }) });
});

Deno.bench("get_inbound_policy: inboundPolicy one pod port (cold memos)", () => {
  inboundPolicy(cold(idx), { namespace: "ns-7", pod: "svc-3-0", port: 8080 });
});

Deno.bench("analyze_connectivity: analyzeAccess one pair (cold memos)", () => {
  analyzeAccess(cold(idx), {
    source: { namespace: "ns-7", service: "svc-4" },
    target: { namespace: "ns-7", service: "svc-3" },
  });
});

Deno.bench("get_allowed_sources: allowedSources over 2k source Services (cold memos)", () => {
  allowedSources(cold(idx), { namespace: "ns-7", service: "svc-3" });
});

Deno.bench("get_allowed_targets: allowedTargets over 2k targets (cold memos)", () => {
  allowedTargets(cold(idx), { namespace: "ns-7", service: "svc-4" });
});
