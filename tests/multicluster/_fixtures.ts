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
import { meshObjects, runningPods, withStatus } from "../mesh/_fixtures.ts";

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

/** Options for {@linkcode linkedCluster}. */
export interface LinkedClusterOptions {
  /** Container status overrides of the controller's pod (e.g. a crash loop). */
  controllerStatus?: Partial<ContainerStatus>;
  /** Available replicas of the controller. */
  controllerAvailable?: number;
  links?: KubeObject[];
  mirrors?: KubeObject[];
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
