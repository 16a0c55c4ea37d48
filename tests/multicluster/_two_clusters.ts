/**
 * Two linked clusters for cross-cluster connectivity tests: `west` (the source side,
 * with the Link to `east` and the Services its service mirror creates, from
 * `./_fixtures.ts`) and `east` (the target side: the upstream multicluster install with
 * a meshed gateway pod, and booksapp Services whose inbound policy each test chooses).
 * Each cluster is a {@linkcode MemorySource}; {@linkcode twoClusterDeps} joins them in a
 * {@linkcode ClusterSet}.
 *
 * @module
 */
import { createClusterSet } from "../../src/clusters/set.ts";
import { loadConfig } from "../../src/config.ts";
import { MemorySource } from "../../src/kube/memory.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { SILENT } from "../../src/log.ts";
import type { ToolDeps } from "../../src/tools/_spec.ts";
import { NO_PROMETHEUS, objectsFromYaml, upstreamFixture } from "../_helpers.ts";
import { meshObjects } from "../mesh/_fixtures.ts";
import { eastLink, eastMirrors } from "./_fixtures.ts";

/** The gateway's identity, as the Link (and east's trust domain) give it. */
export const GATEWAY_ID =
  "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local";
/** The identity of west's `deployment/traffic`. */
export const TRAFFIC_ID = "traffic.booksapp.serviceaccount.identity.linkerd.cluster.local";
/** The IP of east's gateway pod. */
export const GATEWAY_IP = "10.1.0.9";
/** The IP of west's traffic pod. */
export const TRAFFIC_IP = "10.0.1.5";

/** A meshed, running pod of Deployment `app` with a ServiceAccount and an IP. */
export function meshedPod(
  namespace: string,
  app: string,
  opts: { serviceAccount?: string; ip: string; ports?: number[]; i?: number },
): KubeObject {
  const hash = "7c9b6d5f8";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${app}-${hash}-x${opts.i ?? 0}`,
      namespace,
      labels: {
        app,
        "pod-template-hash": hash,
        "linkerd.io/control-plane-ns": "linkerd",
        "linkerd.io/workload-ns": namespace,
      },
      annotations: { "linkerd.io/proxy-version": "install-proxy-version" },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: `${app}-${hash}`,
        controller: true,
      }],
    },
    spec: {
      serviceAccountName: opts.serviceAccount ?? app,
      containers: [{
        name: "app",
        image: "example/app:1",
        ports: (opts.ports ?? []).map((containerPort) => ({ containerPort })),
      }],
      initContainers: [{
        name: "linkerd-proxy",
        restartPolicy: "Always",
        ports: [{ name: "linkerd-proxy", containerPort: 4143 }, {
          name: "linkerd-admin",
          containerPort: 4191,
        }],
      }],
    },
    status: {
      phase: "Running",
      podIP: opts.ip,
      podIPs: [{ ip: opts.ip }],
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [{ name: "app", ready: true, restartCount: 0 }],
      initContainerStatuses: [{ name: "linkerd-proxy", ready: true, restartCount: 0 }],
    },
  };
}

function appService(
  namespace: string,
  name: string,
  port: number,
  extra: Partial<KubeObject["metadata"]> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, ...extra },
    spec: { selector: { app: name }, ports: [{ name: "http", port, targetPort: port }] },
  };
}

/** Who a Service's policy admits: mesh identities and/or client networks. */
export interface Admits {
  identities?: string[];
  networks?: string[];
}

/**
 * A Server on `app`'s port and one AuthorizationPolicy requiring a MeshTLSAuthentication
 * of `identities` and/or a NetworkAuthentication of `networks`.
 */
export function policyFor(namespace: string, app: string, port: number, admits: Admits) {
  const refs: Array<Record<string, string>> = [];
  const out: KubeObject[] = [{
    apiVersion: "policy.linkerd.io/v1beta3",
    kind: "Server",
    metadata: { name: app, namespace },
    spec: { podSelector: { matchLabels: { app } }, port, proxyProtocol: "HTTP/1" },
  }];
  if (admits.identities) {
    out.push({
      apiVersion: "policy.linkerd.io/v1alpha1",
      kind: "MeshTLSAuthentication",
      metadata: { name: `${app}-clients`, namespace },
      spec: { identities: admits.identities },
    });
    refs.push({
      group: "policy.linkerd.io",
      kind: "MeshTLSAuthentication",
      name: `${app}-clients`,
    });
  }
  if (admits.networks) {
    out.push({
      apiVersion: "policy.linkerd.io/v1alpha1",
      kind: "NetworkAuthentication",
      metadata: { name: `${app}-networks`, namespace },
      spec: { networks: admits.networks.map((cidr) => ({ cidr })) },
    });
    refs.push({
      group: "policy.linkerd.io",
      kind: "NetworkAuthentication",
      name: `${app}-networks`,
    });
  }
  out.push({
    apiVersion: "policy.linkerd.io/v1alpha1",
    kind: "AuthorizationPolicy",
    metadata: { name: app, namespace },
    spec: {
      targetRef: { group: "policy.linkerd.io", kind: "Server", name: app },
      requiredAuthenticationRefs: refs,
    },
  });
  return out;
}

/** Options for {@linkcode eastCluster}. */
export interface EastOptions {
  /** Who east's `books` (gateway-exported) admits. */
  books?: Admits;
  /** Who east's `authors` (exported pod-to-pod) admits. */
  authors?: Admits;
  /** Who east's `webapp` (federated member) admits. */
  webapp?: Admits;
  /** Drop the gateway pod (its identity then comes from the Link alone). */
  noGatewayPod?: boolean;
}

/**
 * East: a mesh, the upstream multicluster install (the gateway's Server and
 * AuthorizationPolicy included) with a meshed gateway pod, and booksapp's books (7002),
 * authors (7001) and webapp (7000) with the given policies.
 */
export function eastCluster(opts: EastOptions = {}): KubeObject[] {
  const ns = "booksapp";
  const mc = objectsFromYaml(upstreamFixture("multicluster/install_default.golden.yaml"))
    .filter((o) => o.kind !== "Secret" && o.kind !== "Deployment");
  const out: KubeObject[] = [...meshObjects(), ...mc];
  if (!opts.noGatewayPod) {
    out.push(
      meshedPod("linkerd-multicluster", "linkerd-gateway", { ip: GATEWAY_IP, ports: [] }),
    );
  }
  out.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  const apps: Array<[string, number, Admits | undefined, Record<string, string>]> = [
    ["books", 7002, opts.books, { "mirror.linkerd.io/exported": "true" }],
    ["authors", 7001, opts.authors, { "mirror.linkerd.io/exported": "remote-discovery" }],
    ["webapp", 7000, opts.webapp, { "mirror.linkerd.io/federated": "member" }],
  ];
  apps.forEach(([app, port, admits, labels], i) => {
    out.push(appService(ns, app, port, { labels }));
    out.push(meshedPod(ns, app, { ip: `10.1.2.${10 + i}`, ports: [port] }));
    out.push(meshedPod(ns, app, { ip: `10.1.2.${20 + i}`, ports: [port], i: 1 }));
    if (admits) out.push(...policyFor(ns, app, port, admits));
  });
  return out;
}

/**
 * The Services west's service mirror creates for the Link to east (`./_fixtures.ts`),
 * with the remote FQ name on every mirror (as `cluster_watcher.go` writes it) and the
 * remote Services' ports.
 */
export function westMirrors(): KubeObject[] {
  return eastMirrors().map((m) => {
    const port = m.metadata.name.startsWith("books")
      ? 7002
      : m.metadata.name.startsWith("authors")
      ? 7001
      : 7000;
    const out: KubeObject = { ...m, spec: { ports: [{ name: "http", port, targetPort: port }] } };
    if (m.metadata.name === "authors-east") {
      out.metadata = {
        ...m.metadata,
        annotations: {
          ...m.metadata.annotations,
          "mirror.linkerd.io/remote-svc-fq-name": "authors.booksapp.svc.cluster.local",
        },
      };
    }
    return out;
  });
}

/** Options for {@linkcode westCluster}. */
export interface WestOptions {
  /** Who west's own `webapp` (the federated Service's local member) admits. */
  webapp?: Admits;
  /** More objects (e.g. an orphan mirror). */
  extra?: KubeObject[];
  links?: KubeObject[];
}

/**
 * West: a mesh with the Link to east and its mirrors (books-east through the gateway,
 * authors-east pod-to-pod, webapp-federated with members webapp@east and the local
 * webapp), booksapp's `deployment/traffic` (the source) and a local webapp.
 */
export function westCluster(opts: WestOptions = {}): KubeObject[] {
  const ns = "booksapp";
  const mirrors = westMirrors();
  const out: KubeObject[] = [
    ...meshObjects(),
    ...(opts.links ?? [eastLink()]),
    ...mirrors,
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    meshedPod(ns, "traffic", { ip: TRAFFIC_IP }),
    appService(ns, "webapp", 7000),
    meshedPod(ns, "webapp", { ip: "10.0.2.10", ports: [7000] }),
    ...(opts.webapp ? policyFor(ns, "webapp", 7000, opts.webapp) : []),
    ...(opts.extra ?? []),
  ];
  return out;
}

/** Tool deps over west (the default) and, unless `east` is `null`, east, as a ClusterSet. */
export function twoClusterDeps(west: KubeObject[], east: KubeObject[] | null): ToolDeps {
  const config = loadConfig({});
  const handle = (name: string, objects: KubeObject[]) => ({
    name,
    linkName: name,
    source: new MemorySource(objects, { kind: "manifests", description: `${name} objects` }),
    prom: NO_PROMETHEUS,
    config,
  });
  const westHandle = handle("west", west);
  const entries = [{ name: "west", build: () => Promise.resolve(westHandle) }];
  if (east) {
    const eastHandle = handle("east", east);
    entries.push({ name: "east", build: () => Promise.resolve(eastHandle) });
  }
  return {
    cluster: westHandle.source,
    config,
    prom: NO_PROMETHEUS,
    log: SILENT,
    now: () => new Date("2026-11-24T12:00:00Z"),
    clusters: createClusterSet(entries),
  };
}

/** A Deployment of `app` with a ServiceAccount, serving `port` (for manifest sets). */
export function deployment(namespace: string, app: string, port?: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: app, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: {
          serviceAccountName: app,
          containers: [{
            name: "app",
            image: "example/app:1",
            ...(port ? { ports: [{ containerPort: port }] } : {}),
          }],
        },
      },
    },
  };
}

/**
 * The two clusters as GitOps manifest sets (no pods, no status: pods come from the
 * workloads, meshed as the injector would, without IPs): the control plane both run,
 * west's Link, mirrors and `deployment/traffic`, and east's upstream gateway and
 * `books` (its policy is a set of its own: {@linkcode policyFor}).
 */
export function manifestSets(): {
  controlPlane: KubeObject[];
  west: KubeObject[];
  east: KubeObject[];
} {
  const controlPlane = [
    ...objectsFromYaml(upstreamFixture("control-plane/install_default.golden.yaml")),
    ...objectsFromYaml(upstreamFixture("crds/install_crds.golden.yaml")),
  ];
  const ns: KubeObject = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "booksapp", annotations: { "linkerd.io/inject": "enabled" } },
  };
  const mc = objectsFromYaml(upstreamFixture("multicluster/install_default.golden.yaml"))
    .filter((o) => o.kind !== "Secret");
  const west = [eastLink(), ...westMirrors()];
  return {
    controlPlane,
    west: [ns, ...west, deployment("booksapp", "traffic")],
    east: [
      ...mc,
      ns,
      deployment("booksapp", "books", 7002),
      appService("booksapp", "books", 7002, {
        labels: { "mirror.linkerd.io/exported": "true" },
      }),
    ],
  };
}
