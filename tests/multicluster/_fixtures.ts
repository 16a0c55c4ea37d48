/**
 * A linked cluster for multicluster tests: the upstream `linkerd multicluster install`
 * golden, a Link to "east" as `linkerd multicluster link-gen` writes it, the
 * extension-managed controller for it, and the Services its service mirror creates.
 *
 * @module
 */
import type { KubeObject } from "../../src/kube/types.ts";
import type { ContainerStatus } from "../../src/mesh/pods.ts";
import type { PromClient, PromSample } from "../../src/metrics/prom_client.ts";
import { objectsFromYaml, upstreamFixture } from "../_helpers.ts";
import { appPod, meshObjects, runningPods, withStatus } from "../mesh/_fixtures.ts";

/** A v1alpha3 Link to `east` in gateway mode, with every selector link-gen sets. */
export function eastLink(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "multicluster.linkerd.io/v1alpha3",
    kind: "Link",
    metadata: {
      name: "east",
      namespace: "linkerd-multicluster",
      annotations: { "linkerd.io/created-by": "linkerd/cli edge-26.8.3" },
    },
    spec: {
      clusterCredentialsSecret: "cluster-credentials-east",
      gatewayAddress: "172.18.0.5",
      gatewayIdentity:
        "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local",
      gatewayPort: "4143",
      probeSpec: {
        failureThreshold: "3",
        path: "/ready",
        period: "3s",
        port: "4191",
        timeout: "30s",
      },
      selector: { matchLabels: { "mirror.linkerd.io/exported": "true" } },
      remoteDiscoverySelector: {
        matchLabels: { "mirror.linkerd.io/exported": "remote-discovery" },
      },
      federatedServiceSelector: { matchLabels: { "mirror.linkerd.io/federated": "member" } },
      targetClusterName: "east",
      targetClusterDomain: "cluster.local",
      targetClusterLinkerdNamespace: "linkerd",
      ...spec,
    },
  };
}

/** The extension's controller Deployment for a Link (chart template `controller/deployment.yaml`). */
export function controllerFor(link: string): KubeObject {
  const labels = {
    "linkerd.io/extension": "multicluster",
    component: "controller",
    "mirror.linkerd.io/cluster-name": link,
  };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `controller-${link}`, namespace: "linkerd-multicluster", labels },
    spec: {
      replicas: 1,
      selector: {
        matchLabels: { component: "controller", "mirror.linkerd.io/cluster-name": link },
      },
      template: {
        metadata: { labels, annotations: { "linkerd.io/inject": "enabled" } },
        spec: {
          serviceAccountName: `controller-${link}`,
          containers: [{ name: "service-mirror", image: "cr.l5d.io/linkerd/controller:edge" }],
        },
      },
    },
  };
}

function svc(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels, annotations },
    spec: { ports: [{ name: "http", port: 7002 }] },
  };
}

/** The Services the service mirror creates for the Link to `east`. */
export function eastMirrors(): KubeObject[] {
  return [
    svc("linkerd-multicluster", "probe-gateway-east", {
      "linkerd.io/extension": "multicluster",
      "mirror.linkerd.io/mirrored-gateway": "true",
      "mirror.linkerd.io/cluster-name": "east",
    }),
    svc("booksapp", "books-east", {
      "mirror.linkerd.io/mirrored-service": "true",
      "mirror.linkerd.io/cluster-name": "east",
    }, { "mirror.linkerd.io/remote-svc-fq-name": "books.booksapp.svc.cluster.local" }),
    svc("booksapp", "authors-east", {
      "mirror.linkerd.io/mirrored-service": "true",
      "mirror.linkerd.io/cluster-name": "east",
      "multicluster.linkerd.io/remote-discovery": "east",
      "multicluster.linkerd.io/remote-service": "authors",
    }),
    svc("booksapp", "webapp-federated", { "mirror.linkerd.io/mirrored-service": "true" }, {
      "multicluster.linkerd.io/remote-discovery": "webapp@east",
      "multicluster.linkerd.io/local-discovery": "webapp",
    }),
  ];
}

/**
 * The Endpoints the service mirror writes for the gateway mirror `books-east`
 * (`createGatewayEndpoints`): the Link's gateway address on its gateway port, ready while
 * the gateway is alive, not ready while its probe fails, none when the exported Service
 * has no ready endpoint.
 */
export function eastMirrorEndpoints(
  state: "ready" | "not-ready" | "empty" = "ready",
  ip = "172.18.0.5",
): KubeObject {
  const address = [{ ip }];
  const ports = [{ name: "http", port: 4143, protocol: "TCP" }];
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      name: "books-east",
      namespace: "booksapp",
      labels: {
        "mirror.linkerd.io/mirrored-service": "true",
        "mirror.linkerd.io/cluster-name": "east",
      },
      annotations: {
        "mirror.linkerd.io/remote-svc-fq-name": "books.booksapp.svc.cluster.local",
        "mirror.linkerd.io/remote-gateway-identity":
          "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local",
      },
    },
    ...(state === "empty" ? {} : {
      subsets: [
        state === "ready" ? { addresses: address, ports } : { notReadyAddresses: address, ports },
      ],
    }),
  } as KubeObject;
}

/** Options for {@linkcode linkedCluster}. */
export interface LinkedClusterOptions {
  /** Container status overrides of the controller's pod (e.g. a crash loop). */
  controllerStatus?: Partial<ContainerStatus>;
  /** Available replicas of the controller. */
  controllerAvailable?: number;
  links?: KubeObject[];
  mirrors?: KubeObject[];
  /** The mirrors' Endpoints (default: {@linkcode eastMirrorEndpoints} ready). */
  endpoints?: KubeObject[];
}

/** A running control plane with the multicluster extension and a Link to `east`. */
export function linkedCluster(opts: LinkedClusterOptions = {}): KubeObject[] {
  const mc = objectsFromYaml(upstreamFixture("multicluster/install_default.golden.yaml"))
    .filter((o) => o.kind !== "Secret");
  const out: KubeObject[] = [...meshObjects()];
  for (const o of mc) {
    if (o.kind === "Deployment") {
      out.push(withStatus(o), ...runningPods(o));
    } else out.push(o);
  }
  const ctl = controllerFor("east");
  out.push(withStatus(ctl, opts.controllerAvailable));
  out.push(
    ...runningPods(
      ctl,
      opts.controllerStatus ? { statuses: { "service-mirror": opts.controllerStatus } } : {},
    ),
  );
  out.push(...(opts.links ?? [eastLink()]), ...(opts.mirrors ?? eastMirrors()));
  out.push(...(opts.endpoints ?? [eastMirrorEndpoints()]));
  return out;
}

/** A Prometheus that answers the gateway probe queries with the given values by cluster. */
export function probeProm(alive: Record<string, number>, p95: Record<string, number> = {}) {
  const queries: string[] = [];
  const samples = (m: Record<string, number>): PromSample[] =>
    Object.entries(m).map(([c, value]) => ({ metric: { target_cluster_name: c }, value }));
  const prom: PromClient = {
    describe: () => "fake Prometheus",
    query: (q) => {
      queries.push(q);
      if (q.includes("gateway_alive")) return Promise.resolve(samples(alive));
      if (q.includes("gateway_probe_latency_ms_bucket")) return Promise.resolve(samples(p95));
      return Promise.reject(new Error(`unexpected query ${q}`));
    },
    queryRange: () => Promise.reject(new Error("no range queries")),
  };
  return { prom, queries };
}

/** An exported Service of `east` and its ready (or not) pods and Endpoints. */
function exported(
  name: string,
  labels: Record<string, string>,
  ready: number,
  total = Math.max(ready, 1),
): KubeObject[] {
  const selector = { app: name };
  const pods = Array.from({ length: total }, (_, i) => {
    const pod = appPod("booksapp", `${name}-7d9f8c6b5-${i}`, selector) as KubeObject & {
      status: { conditions?: unknown[] };
    };
    pod.status.conditions = [{ type: "Ready", status: i < ready ? "True" : "False" }];
    return pod as KubeObject;
  });
  const ips = pods.map((_, i) => `10.42.0.${10 + i}`);
  const endpoints: KubeObject = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name, namespace: "booksapp" },
    subsets: [{
      ...(ready ? { addresses: ips.slice(0, ready).map((ip) => ({ ip })) } : {}),
      ...(ready < total ? { notReadyAddresses: ips.slice(ready).map((ip) => ({ ip })) } : {}),
      ports: [{ name: "http", port: 7002, protocol: "TCP" }],
    }],
  } as KubeObject;
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "booksapp", labels },
      spec: { selector, ports: [{ name: "http", port: 7002 }] },
    },
    ...pods,
    endpoints,
  ];
}

/** Options for {@linkcode eastCluster}. */
export interface EastClusterOptions {
  /** The PEM of east's linkerd-identity-trust-roots (default: the upstream golden's, as west's). */
  trustRoots?: string;
  /** Ready pods of the exported `books` (default 1). */
  booksReady?: number;
  /** Labels of `books` (default: exported through the gateway). */
  booksLabels?: Record<string, string>;
  /** Leave `authors` (exported pod-to-pod) out. */
  withoutAuthors?: boolean;
  /** Ready pods of `authors` (default 1) and of the federated member `webapp` (default 2 of 2). */
  authorsReady?: number;
  webappReady?: number;
  /** Leave the Endpoints out (as manifests hold none): readiness comes from the pods. */
  withoutEndpoints?: boolean;
  /** Names of ConfigMaps to leave out (e.g. the trust roots). */
  withoutConfigMaps?: string[];
}

/**
 * The cluster `east` that {@linkcode eastLink} targets: Linkerd, the multicluster
 * extension with its gateway, and in `booksapp` the Services that west mirrors: `books`
 * (exported through the gateway), `authors` (pod-to-pod) and `webapp` (a federated member).
 */
export function eastCluster(opts: EastClusterOptions = {}): KubeObject[] {
  const mc = objectsFromYaml(upstreamFixture("multicluster/install_default.golden.yaml"))
    .filter((o) => o.kind !== "Secret");
  const out: KubeObject[] = [
    ...meshObjects(opts.trustRoots ? { trustRoots: opts.trustRoots } : {}),
  ];
  for (const o of mc) {
    if (o.kind === "Deployment") out.push(withStatus(o), ...runningPods(o));
    else out.push(o);
  }
  out.push(
    ...exported(
      "books",
      opts.booksLabels ?? { "mirror.linkerd.io/exported": "true" },
      opts.booksReady ?? 1,
    ),
    ...(opts.withoutAuthors ? [] : exported(
      "authors",
      { "mirror.linkerd.io/exported": "remote-discovery" },
      opts.authorsReady ?? 1,
    )),
    ...exported("webapp", { "mirror.linkerd.io/federated": "member" }, opts.webappReady ?? 2, 2),
  );
  return out.filter((o) =>
    !(opts.withoutEndpoints && o.kind === "Endpoints") &&
    !(o.kind === "ConfigMap" && opts.withoutConfigMaps?.includes(o.metadata.name))
  );
}
