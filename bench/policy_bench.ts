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
import type { KubeObject } from "../src/kube/types.ts";
import { readMeshConfig } from "../src/mesh/config.ts";
import {
  allowedSources,
  allowedTargets,
  analyzeAccess,
  buildPolicyIndex,
  type PolicyIndex,
} from "../src/policy/mod.ts";

const NAMESPACES = 50;
const SERVICES_PER_NS = 40; // 2,000
const PODS_PER_SERVICE = 5; // 10,000
const SERVERS_PER_NS = 20; // 1,000
const POLICIES_PER_NS = 40; // 2,000

/** Generates the synthetic mesh's objects. */
export function syntheticMesh(): KubeObject[] {
  const out: KubeObject[] = [];
  let ip = 0;
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `ns-${n}`;
    out.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    for (let s = 0; s < SERVICES_PER_NS; s++) {
      const app = `svc-${s}`;
      out.push({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: app, namespace: ns },
        spec: { selector: { app }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      });
      for (let p = 0; p < PODS_PER_SERVICE; p++) {
        ip++;
        const addr = `10.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}`;
        out.push({
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: `${app}-${p}`,
            namespace: ns,
            labels: {
              app,
              group: `g-${s % SERVERS_PER_NS}`,
              "linkerd.io/control-plane-ns": "linkerd",
            },
          },
          spec: {
            serviceAccountName: app,
            containers: [{
              name: "main",
              ports: [{ name: "http", containerPort: 8080 }, {
                name: "admin",
                containerPort: 9990,
              }],
              readinessProbe: { httpGet: { path: "/ready", port: "http" } },
            }],
          },
          status: { phase: "Running", podIP: addr, podIPs: [{ ip: addr }] },
        });
      }
    }
    for (let v = 0; v < SERVERS_PER_NS; v++) {
      out.push({
        apiVersion: "policy.linkerd.io/v1beta3",
        kind: "Server",
        metadata: {
          name: `srv-${v}`,
          namespace: ns,
          creationTimestamp: `2026-01-01T00:00:${String(v).padStart(2, "0")}Z`,
        },
        spec: {
          podSelector: { matchExpressions: [{ key: "group", operator: "In", values: [`g-${v}`] }] },
          port: "http",
          proxyProtocol: "HTTP/1",
        },
      });
      out.push({
        apiVersion: "policy.linkerd.io/v1alpha1",
        kind: "MeshTLSAuthentication",
        metadata: { name: `authn-${v}`, namespace: ns },
        spec: {
          identityRefs: [{ kind: "ServiceAccount", name: `svc-${(v + 1) % SERVICES_PER_NS}` }],
        },
      });
    }
    out.push({
      apiVersion: "policy.linkerd.io/v1alpha1",
      kind: "NetworkAuthentication",
      metadata: { name: "pods", namespace: ns },
      spec: { networks: [{ cidr: "10.0.0.0/8", except: ["10.0.0.0/24"] }] },
    });
    for (let a = 0; a < POLICIES_PER_NS; a++) {
      const v = a % SERVERS_PER_NS;
      const ref = a < SERVERS_PER_NS
        ? { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: `authn-${v}` }
        : { group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "pods" };
      out.push({
        apiVersion: "policy.linkerd.io/v1alpha1",
        kind: "AuthorizationPolicy",
        metadata: { name: `ap-${a}`, namespace: ns },
        spec: {
          targetRef: { group: "policy.linkerd.io", kind: "Server", name: `srv-${v}` },
          requiredAuthenticationRefs: [ref],
        },
      });
    }
  }
  return out;
}

const objects = syntheticMesh();
const before = Deno.memoryUsage().heapUsed;
const state = stateFromObjects(objects, { source: "synthetic", linkerdNamespace: "linkerd" });
const mesh = readMeshConfig(state);
const idx = buildPolicyIndex(state, { mesh });
const after = Deno.memoryUsage().heapUsed;

function cold(i: PolicyIndex): PolicyIndex {
  i.cache.clear();
  i.clients.clear();
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
  buildPolicyIndex(state, { mesh });
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
