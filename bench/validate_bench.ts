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

/** Builds the synthetic mesh. */
export function syntheticMesh(namespaces = 100, apps = 10, replicas = 10): KubeObject[] {
  const out: KubeObject[] = [{
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "linkerd-config", namespace: "linkerd" },
    data: { values: "proxy:\n  image:\n    version: edge-26.8.3\n" },
  }];
  const P = "policy.linkerd.io";
  for (let n = 0; n < namespaces; n++) {
    const ns = `ns-${n}`;
    out.push({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns, annotations: { "linkerd.io/inject": "enabled" } },
    });
    out.push({
      apiVersion: `${P}/v1alpha1`,
      kind: "MeshTLSAuthentication",
      metadata: { name: "clients", namespace: ns },
      spec: { identityRefs: [{ kind: "Namespace", name: ns }] },
    }, {
      apiVersion: `${P}/v1alpha1`,
      kind: "NetworkAuthentication",
      metadata: { name: "probes", namespace: ns },
      spec: { networks: [{ cidr: "0.0.0.0/0" }, { cidr: "::/0" }] },
    });
    for (let a = 0; a < apps; a++) {
      const app = `app-${a}`;
      const labels = { app };
      const container = {
        name: app,
        image: `example/${app}:1`,
        ports: [{ name: "http", containerPort: 8080 }, { name: "admin", containerPort: 9990 }],
        readinessProbe: { httpGet: { path: "/ready", port: 8080 } },
      };
      out.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: app, namespace: ns },
        spec: {
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [container] } },
        },
      }, {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: `${app}-5d4f8`,
          namespace: ns,
          ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: app }],
        },
      }, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: app, namespace: ns },
        spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      }, {
        apiVersion: `${P}/v1beta3`,
        kind: "Server",
        metadata: { name: `${app}-http`, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z" },
        spec: { podSelector: { matchLabels: labels }, port: "http", proxyProtocol: "HTTP/1" },
      }, {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: `${app}-api`, namespace: ns },
        spec: {
          parentRefs: [{ group: P, kind: "Server", name: `${app}-http` }],
          rules: [{ matches: [{ path: { type: "PathPrefix", value: "/api" } }] }],
        },
      }, {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: `${app}-probe`, namespace: ns },
        spec: {
          parentRefs: [{ group: P, kind: "Server", name: `${app}-http` }],
          rules: [{ matches: [{ path: { type: "Exact", value: "/ready" }, method: "GET" }] }],
        },
      }, {
        apiVersion: `${P}/v1alpha1`,
        kind: "AuthorizationPolicy",
        metadata: { name: `${app}-api`, namespace: ns },
        spec: {
          targetRef: { group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: `${app}-api` },
          requiredAuthenticationRefs: [{
            group: P,
            kind: "MeshTLSAuthentication",
            name: "clients",
          }],
        },
      }, {
        apiVersion: `${P}/v1alpha1`,
        kind: "AuthorizationPolicy",
        metadata: { name: `${app}-probe`, namespace: ns },
        spec: {
          targetRef: {
            group: "gateway.networking.k8s.io",
            kind: "HTTPRoute",
            name: `${app}-probe`,
          },
          requiredAuthenticationRefs: [{ group: P, kind: "NetworkAuthentication", name: "probes" }],
        },
      });
      for (let r = 0; r < replicas; r++) {
        out.push({
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: `${app}-5d4f8-${r}`,
            namespace: ns,
            labels: {
              ...labels,
              "linkerd.io/control-plane-ns": "linkerd",
              "linkerd.io/proxy-deployment": app,
            },
            annotations: {
              "linkerd.io/proxy-version": r === 0 && a === 0 ? "edge-26.1.1" : "edge-26.8.3",
            },
            ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: `${app}-5d4f8` }],
          },
          spec: {
            containers: [
              { name: "linkerd-proxy", image: "cr.l5d.io/linkerd/proxy:edge-26.8.3" },
              container,
            ],
          },
          status: { phase: "Running" },
        });
      }
    }
  }
  return out;
}

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
