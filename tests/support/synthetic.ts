/**
 * The one synthetic-mesh generator for scale tests and benchmarks; deterministic.
 *
 * - {@linkcode syntheticCluster}: a live-like meshed cluster (the Kubernetes API stand-in,
 *   `list_meshed_services` and live-source benches): a Linkerd control plane (namespace,
 *   deployments, pods, `linkerd-config`, trust roots) and application namespaces with
 *   Deployments, ReplicaSets, Pods with status, Services, ServiceAccounts, Servers and
 *   AuthorizationPolicies.
 * - {@linkcode syntheticPolicyMesh}: the policy benchmark's mesh (10k pods, 2k Services,
 *   1k Servers, 2k AuthorizationPolicies).
 * - {@linkcode syntheticValidationMesh}: the validation benchmark's mesh (10k pods with
 *   workloads, Servers, routes, policies and authentications).
 * - {@linkcode syntheticServicePods}: N Services each selecting one meshed pod (the metrics
 *   benchmark's cluster, matching `manyServices` in `openmetrics_gen.ts`).
 *
 * @module
 */
import type { KubeObject } from "../../src/kube/types.ts";

/** The synthetic trust anchor (TEST-ONLY, `certs/trust-anchor.crt`, valid until 2126). */
export const SYNTHETIC_TRUST_ANCHOR = Deno.readTextFileSync(
  new URL("./certs/trust-anchor.crt", import.meta.url),
);

/** Options for {@linkcode syntheticCluster}. */
export interface SyntheticClusterOptions {
  /** Application pods in total. Default 10,000. */
  pods?: number;
  /** Services (one Deployment each). Default 2,000. */
  services?: number;
  /** Application namespaces. Default 20. */
  namespaces?: number;
  /** Share of application namespaces with `linkerd.io/inject: enabled`. Default 0.75. */
  meshedShare?: number;
  /** Proxy version of meshed pods. Default `edge-25.4.4`. */
  proxyVersion?: string;
  /** Control plane namespace. Default `linkerd`. */
  linkerdNamespace?: string;
}

const CREATED = "2026-11-01T00:00:00Z";

/** Builds the cluster's objects, in a stable order. */
export function syntheticCluster(opts: SyntheticClusterOptions = {}): KubeObject[] {
  const podCount = opts.pods ?? 10_000;
  const serviceCount = Math.max(1, opts.services ?? 2_000);
  const nsCount = Math.max(1, opts.namespaces ?? 20);
  const meshedShare = opts.meshedShare ?? 0.75;
  const version = opts.proxyVersion ?? "edge-25.4.4";
  const cp = opts.linkerdNamespace ?? "linkerd";
  const out: KubeObject[] = [];
  let uid = 0;
  const nextUid = () => `00000000-0000-4000-8000-${(++uid).toString(16).padStart(12, "0")}`;

  // Control plane.
  out.push({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: cp,
      uid: nextUid(),
      labels: {
        "linkerd.io/is-control-plane": "true",
        "config.linkerd.io/admission-webhooks": "disabled",
      },
      annotations: { "linkerd.io/inject": "disabled" },
      creationTimestamp: CREATED,
    },
  });
  out.push({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "linkerd-config", namespace: cp, uid: nextUid(), creationTimestamp: CREATED },
    data: {
      values: [
        `linkerdVersion: ${version}`,
        "identityTrustDomain: cluster.local",
        "clusterDomain: cluster.local",
        "clusterNetworks: 10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8",
        "proxy:",
        "  defaultInboundPolicy: all-unauthenticated",
        "  image:",
        "    name: cr.l5d.io/linkerd/proxy",
        `    version: ${version}`,
        "",
      ].join("\n"),
    },
  });
  out.push({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "linkerd-identity-trust-roots",
      namespace: cp,
      uid: nextUid(),
      creationTimestamp: CREATED,
    },
    data: { "ca-bundle.crt": SYNTHETIC_TRUST_ANCHOR },
  });
  let ip = 0;
  const nextIp = () => {
    ip++;
    return `10.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}`;
  };
  for (const name of ["linkerd-destination", "linkerd-identity", "linkerd-proxy-injector"]) {
    out.push({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace: cp, uid: nextUid(), creationTimestamp: CREATED },
    });
    out.push(...workload({
      namespace: cp,
      name,
      replicas: 1,
      meshed: true,
      controlPlane: cp,
      version,
      nextUid,
      nextIp,
      labels: { "linkerd.io/control-plane-component": name.replace("linkerd-", "") },
    }));
  }

  // Application namespaces, services and workloads.
  const meshedNs = Math.round(nsCount * meshedShare);
  for (let n = 0; n < nsCount; n++) {
    const ns = `app-${String(n).padStart(3, "0")}`;
    const meshed = n < meshedNs;
    out.push({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: ns,
        uid: nextUid(),
        labels: { "kubernetes.io/metadata.name": ns },
        ...(meshed ? { annotations: { "linkerd.io/inject": "enabled" } } : {}),
        creationTimestamp: CREATED,
      },
    });
    out.push({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "default", namespace: ns, uid: nextUid(), creationTimestamp: CREATED },
    });
  }
  for (let s = 0; s < serviceCount; s++) {
    const n = s % nsCount;
    const ns = `app-${String(n).padStart(3, "0")}`;
    const meshed = n < meshedNs;
    const name = `svc-${String(s).padStart(5, "0")}`;
    // Spread pods evenly: the first (podCount % serviceCount) services get one more.
    const replicas = Math.floor(podCount / serviceCount) + (s < podCount % serviceCount ? 1 : 0);
    out.push({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace: ns, uid: nextUid(), creationTimestamp: CREATED },
    });
    out.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: ns, uid: nextUid(), creationTimestamp: CREATED },
      spec: {
        selector: { app: name },
        ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
        clusterIP: `10.96.${(s >> 8) & 255}.${s & 255}`,
        type: "ClusterIP",
      },
    });
    out.push(...workload({
      namespace: ns,
      name,
      replicas,
      meshed,
      controlPlane: cp,
      version,
      nextUid,
      nextIp,
      labels: {},
    }));
    if (meshed && s % 10 === 0) {
      out.push({
        apiVersion: "policy.linkerd.io/v1beta3",
        kind: "Server",
        metadata: {
          name: `${name}-http`,
          namespace: ns,
          uid: nextUid(),
          creationTimestamp: CREATED,
        },
        spec: {
          podSelector: { matchLabels: { app: name } },
          port: "http",
          proxyProtocol: "HTTP/1",
        },
      });
      out.push({
        apiVersion: "policy.linkerd.io/v1alpha1",
        kind: "AuthorizationPolicy",
        metadata: {
          name: `${name}-authn`,
          namespace: ns,
          uid: nextUid(),
          creationTimestamp: CREATED,
        },
        spec: {
          targetRef: { group: "policy.linkerd.io", kind: "Server", name: `${name}-http` },
          requiredAuthenticationRefs: [
            { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: `${name}-clients` },
          ],
        },
      });
      out.push({
        apiVersion: "policy.linkerd.io/v1alpha1",
        kind: "MeshTLSAuthentication",
        metadata: {
          name: `${name}-clients`,
          namespace: ns,
          uid: nextUid(),
          creationTimestamp: CREATED,
        },
        spec: { identities: [`*.${ns}.serviceaccount.identity.${cp}.cluster.local`] },
      });
    }
  }
  return out;
}

interface WorkloadOptions {
  namespace: string;
  name: string;
  replicas: number;
  meshed: boolean;
  controlPlane: string;
  version: string;
  nextUid: () => string;
  nextIp: () => string;
  labels: Record<string, string>;
}

/** A Deployment, its ReplicaSet and pods. */
function workload(o: WorkloadOptions): KubeObject[] {
  const hash = fnv(`${o.namespace}/${o.name}`).toString(36).slice(0, 10).padEnd(10, "x");
  const labels = { app: o.name, ...o.labels };
  const deployUid = o.nextUid();
  const rsUid = o.nextUid();
  const rsName = `${o.name}-${hash}`;
  const containers = [
    {
      name: "app",
      image: `ghcr.io/example/${o.name}:1.0.0`,
      ports: [{ name: "http", containerPort: 8080 }],
    },
  ];
  const template = {
    metadata: { labels, ...(o.meshed ? { annotations: { "linkerd.io/inject": "enabled" } } : {}) },
    spec: { serviceAccountName: o.name, containers },
  };
  const out: KubeObject[] = [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name: o.name,
        namespace: o.namespace,
        uid: deployUid,
        labels,
        creationTimestamp: CREATED,
        generation: 1,
      },
      spec: { replicas: o.replicas, selector: { matchLabels: labels }, template },
      status: {
        observedGeneration: 1,
        replicas: o.replicas,
        readyReplicas: o.replicas,
        availableReplicas: o.replicas,
        updatedReplicas: o.replicas,
        conditions: [{ type: "Available", status: "True" }],
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: rsName,
        namespace: o.namespace,
        uid: rsUid,
        labels: { ...labels, "pod-template-hash": hash },
        ownerReferences: [{
          apiVersion: "apps/v1",
          kind: "Deployment",
          name: o.name,
          uid: deployUid,
          controller: true,
        }],
        creationTimestamp: CREATED,
      },
      spec: { replicas: o.replicas, selector: { matchLabels: labels }, template },
      status: { replicas: o.replicas, readyReplicas: o.replicas, availableReplicas: o.replicas },
    },
  ];
  for (let i = 0; i < o.replicas; i++) {
    const podIP = o.nextIp();
    const suffix = fnv(`${rsName}/${i}`).toString(36).slice(0, 5).padEnd(5, "x");
    const podLabels: Record<string, string> = { ...labels, "pod-template-hash": hash };
    const annotations: Record<string, string> = {};
    const podContainers: Array<Record<string, unknown>> = [...containers];
    const statuses = [{
      name: "app",
      ready: true,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: CREATED } },
    }];
    if (o.meshed) {
      podLabels["linkerd.io/control-plane-ns"] = o.controlPlane;
      podLabels["linkerd.io/proxy-deployment"] = o.name;
      podLabels["linkerd.io/workload-ns"] = o.namespace;
      annotations["linkerd.io/proxy-version"] = o.version;
      annotations["linkerd.io/created-by"] = `linkerd/proxy-injector ${o.version}`;
      annotations["linkerd.io/identity-mode"] = "default";
      podContainers.unshift({
        name: "linkerd-proxy",
        image: `cr.l5d.io/linkerd/proxy:${o.version}`,
        ports: [{ name: "linkerd-proxy", containerPort: 4143 }, {
          name: "linkerd-admin",
          containerPort: 4191,
        }],
      });
      statuses.unshift({
        name: "linkerd-proxy",
        ready: true,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: CREATED } },
      });
    }
    out.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${rsName}-${suffix}${i.toString(36)}`,
        namespace: o.namespace,
        uid: o.nextUid(),
        labels: podLabels,
        ...(Object.keys(annotations).length ? { annotations } : {}),
        ownerReferences: [{
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: rsName,
          uid: rsUid,
          controller: true,
        }],
        creationTimestamp: CREATED,
      },
      spec: { serviceAccountName: o.name, nodeName: `node-${i % 16}`, containers: podContainers },
      status: {
        phase: "Running",
        podIP,
        podIPs: [{ ip: podIP }],
        conditions: [{ type: "Ready", status: "True" }, {
          type: "ContainersReady",
          status: "True",
        }],
        containerStatuses: statuses,
      },
    });
  }
  return out;
}

/** FNV-1a, for stable name suffixes. */
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

// ------------------------------------------------------------ benchmark presets

/** Options for {@linkcode syntheticPolicyMesh}. */
export interface SyntheticPolicyMeshOptions {
  /** Default 50. */
  namespaces?: number;
  /** Default 40 (2,000 Services). */
  servicesPerNamespace?: number;
  /** Default 5 (10,000 pods). */
  podsPerService?: number;
  /** Default 20 (1,000 Servers), each selecting one pod group by a match expression. */
  serversPerNamespace?: number;
  /** Default 40 (2,000 AuthorizationPolicies): half MeshTLS, half Network authentication. */
  policiesPerNamespace?: number;
}

/**
 * The policy benchmark's mesh (the 10k pods / 2k Services / 1k Servers / 2k
 * policies): meshed pods with IPs, as on a live cluster, Services with named target
 * ports, Servers selecting pod groups, MeshTLS and Network authentications and
 * AuthorizationPolicies on the Servers. No workloads: the pods are given.
 */
export function syntheticPolicyMesh(opts: SyntheticPolicyMeshOptions = {}): KubeObject[] {
  const NAMESPACES = opts.namespaces ?? 50;
  const SERVICES_PER_NS = opts.servicesPerNamespace ?? 40;
  const PODS_PER_SERVICE = opts.podsPerService ?? 5;
  const SERVERS_PER_NS = opts.serversPerNamespace ?? 20;
  const POLICIES_PER_NS = opts.policiesPerNamespace ?? 40;
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

/**
 * The validation benchmark's mesh: `namespaces` × `apps` Deployments × `replicas` meshed
 * pods (one pod per namespace on an older proxy), each app with a Service, a Server,
 * API and probe HTTPRoutes and their AuthorizationPolicies, and per namespace a
 * MeshTLSAuthentication and a NetworkAuthentication. Default 100 × 10 × 10 = 10,000 pods.
 */
export function syntheticValidationMesh(namespaces = 100, apps = 10, replicas = 10): KubeObject[] {
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

/**
 * `count` Services `svc-<i>` in `namespace`, each selecting one pod labelled with the
 * injector's `linkerd.io/proxy-deployment` (the metrics benchmark's cluster).
 */
export function syntheticServicePods(count: number, namespace: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `svc-${i}`, namespace },
      spec: { selector: { app: `svc-${i}` } },
    }, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `svc-${i}-abc-def`,
        namespace,
        labels: { app: `svc-${i}`, "linkerd.io/proxy-deployment": `svc-${i}` },
      },
      spec: { containers: [{ name: "app" }] },
    });
  }
  return out;
}
