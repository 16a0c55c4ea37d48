/**
 * The embedded demo mesh: running clusters simulated from upstream Linkerd YAML,
 * compiled into the program through `data.gen.ts` so a bundle or binary carries it.
 *
 * Two clusters joined by Linkerd's multicluster extension:
 * - `west` (the default, {@linkcode createDemoSource}): the control plane, viz,
 *   emojivoto and booksapp with their policies, and the multicluster extension with a
 *   Link to `east` (its controller `controller-east`, the probe Service `probe-east`),
 *   and in namespace `test` the client `frontend` with the Services the service mirror
 *   creates for east's exported ones: `podinfo-east` (through east's gateway), `bb-east`
 *   (pod-to-pod) and `podinfo-federated`.
 * - `east`: the same control plane (so the same trust anchor), the multicluster gateway,
 *   and in `test` podinfo (exported through the gateway and a federated member) and bb
 *   (exported pod-to-pod), podinfo behind a policy that admits only the gateway's
 *   identity. No viz: east has no Prometheus (`cluster_prom.ts`).
 *
 * Unlike plain manifests, every Deployment, StatefulSet and DaemonSet runs: its pods are
 * synthesised `Running` with all containers ready, no restarts, node names and pod IPs
 * (west `10.42.0.0/16`, east `10.52.0.0/16`), meshed as Linkerd's injector would mesh
 * them; LoadBalancer Services (the gateways) have an ingress address. CronJobs (the
 * heartbeat) have no pod at the snapshot. The result is deterministic for a given `now`.
 *
 * @module
 */
import { MemorySource } from "../kube/memory.ts";
import type { KubeObject } from "../kube/types.ts";
import type { InjectorConfig } from "../kube/inject.ts";
import { podsFromWorkload, shortHash } from "../kube/workload_pods.ts";
import type { PromClient } from "../metrics/prom_client.ts";
import {
  DEMO_ASSET_OBJECTS_JSON,
  DEMO_CLUSTER_ASSETS,
  DEMO_INJECTOR_CONFIG_JSON,
} from "./data.gen.ts";
import { runningPodStatus, workloadStatus } from "./_status.ts";
import { endpointsFor } from "./_endpoints.ts";
import { type DemoClusterName, type DemoNow, demoPromClientFor } from "./cluster_prom.ts";

export type { DemoClusterName, DemoNow };

/** The demo's fixed clock when none is given: objects' ages are relative to it. */
export const DEMO_DEFAULT_NOW = new Date("2026-08-24T12:00:00Z");

/** The demo's control plane namespace. */
export const DEMO_CONTROL_PLANE_NAMESPACE = "linkerd";

/** The demo's clusters, the default first. */
export const DEMO_CLUSTER_NAMES: readonly DemoClusterName[] = ["west", "east"];

/** Where each demo cluster's nodes, pods, Services and load balancers are. */
const LAYOUT: Record<
  DemoClusterName,
  { nodes: string[]; podNet: string; serviceNet: string; hostNet: string; lbNet: string }
> = {
  west: {
    nodes: ["demo-node-1", "demo-node-2", "demo-node-3"],
    podNet: "10.42",
    serviceNet: "10.43",
    hostNet: "172.18.0",
    lbNet: "172.18.0",
  },
  east: {
    nodes: ["east-node-1", "east-node-2", "east-node-3"],
    podNet: "10.52",
    serviceNet: "10.53",
    hostNet: "172.19.0",
    lbNet: "172.19.0",
  },
};
const DAY = 86_400_000;

/** The address of east's multicluster gateway (its LoadBalancer ingress), as west's Link names it. */
export const DEMO_EAST_GATEWAY_ADDRESS = "172.19.0.100";

/** Options for {@linkcode createDemoSource}. */
export interface CreateDemoSourceOptions {
  /** "Now" for the simulated cluster; default {@linkcode DEMO_DEFAULT_NOW}. */
  now?: Date;
  /** Which demo cluster; default `west`. */
  cluster?: DemoClusterName;
}

/** Builds the objects of a demo cluster, `west` by default (see the module doc). */
export function demoObjects(opts: CreateDemoSourceOptions = {}): KubeObject[] {
  const cluster = opts.cluster ?? "west";
  const layout = LAYOUT[cluster];
  const NODES = layout.nodes;
  const now = (opts.now ?? DEMO_DEFAULT_NOW).getTime();
  const installed = now - 7 * DAY;
  const started = now - 2 * DAY;
  const byAsset = JSON.parse(DEMO_ASSET_OBJECTS_JSON) as Record<string, KubeObject[]>;
  const objects = DEMO_CLUSTER_ASSETS[cluster].flatMap((a) => byAsset[a] ?? []);
  // west keeps the keys it had as the only demo cluster
  const key = cluster === "west" ? "" : `${cluster}:`;
  objects.forEach((o, i) => {
    o.metadata.creationTimestamp = iso(installed + i * 1000);
    o.metadata.uid = uid(`${key}${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
    // a fixed version stays (an exported Service whose mirror names the version it mirrored)
    o.metadata.resourceVersion ??= String(1000 + i);
    if (o.kind === "Namespace") o.status = { phase: "Active" };
  });
  assignClusterIPs(objects, layout.serviceNet, layout.lbNet);

  const namespaces = new Map(
    objects.filter((o) => o.kind === "Namespace").map((o) => [o.metadata.name, o]),
  );
  const injector = JSON.parse(DEMO_INJECTOR_CONFIG_JSON) as InjectorConfig;
  const pods: KubeObject[] = [];
  const perNode = NODES.map(() => 0);
  for (const w of objects) {
    if (!["Deployment", "StatefulSet", "DaemonSet"].includes(w.kind)) continue;
    const ns = namespaces.get(w.metadata.namespace ?? "default");
    const made = w.kind === "DaemonSet"
      ? NODES.flatMap(() => podsFromWorkload(w, { injector, ...(ns ? { namespace: ns } : {}) }))
      : podsFromWorkload(w, { injector, ...(ns ? { namespace: ns } : {}) });
    made.forEach((pod, i) => {
      const node = w.kind === "DaemonSet" ? i : pods.length % NODES.length;
      if (w.kind === "DaemonSet") pod.metadata.name += `-${NODES[node]!.slice(-1)}`;
      const ip = `${layout.podNet}.${node}.${10 + perNode[node]!++}`;
      pod.metadata.creationTimestamp = iso(started + pods.length * 1000);
      pod.metadata.uid = uid(`${key}Pod/${pod.metadata.namespace}/${pod.metadata.name}`);
      (pod.spec as Record<string, unknown>)["nodeName"] = NODES[node];
      // The ServiceAccount admission plugin names "default" when the template names none.
      (pod.spec as Record<string, unknown>)["serviceAccountName"] ??= "default";
      pod.status = runningPodStatus(pod, {
        podIP: ip,
        hostIP: `${layout.hostNet}.${2 + node}`,
        startedAt: iso(started + pods.length * 1000),
      });
      pods.push(pod);
    });
    w.metadata.generation = 1;
    w.status = workloadStatus(w, made.length);
  }
  const endpoints = endpointsFor(objects.filter((o) => o.kind === "Service"), pods, iso(started));
  endpoints.forEach((e, j) => {
    e.metadata.uid = uid(`${key}Endpoints/${e.metadata.namespace}/${e.metadata.name}`);
    e.metadata.resourceVersion = String(1000 + objects.length + pods.length + j);
  });
  return [...objects, ...pods, ...endpoints];
}

/**
 * A demo cluster as a cluster source (`kind: "demo"`): `west` by default, the one a
 * single-cluster server serves.
 */
export function createDemoSource(opts: CreateDemoSourceOptions = {}): MemorySource {
  const cluster = opts.cluster ?? "west";
  const objects = demoObjects({ ...opts, cluster });
  const version = injectorLinkerdVersion(objects) ?? "unknown";
  return new MemorySource(objects, {
    kind: "demo",
    description: cluster === "west"
      ? `embedded demo mesh, west cluster (linkerd ${version} control plane, viz, emojivoto, booksapp, Link to east)`
      : `embedded demo mesh, the demo's east cluster (linkerd ${version} control plane, multicluster gateway, podinfo and bb exported to west; no viz)`,
  });
}

/** One demo cluster: its name, source and Prometheus. */
export interface DemoCluster {
  name: DemoClusterName;
  source: MemorySource;
  /**
   * A new Prometheus client for this cluster: west's recording (`now` maps the
   * recording's "now"; the wall clock when absent), or east's none (every query is a
   * `NotFoundError` that says east runs no viz).
   */
  prom(now?: DemoNow): PromClient;
}

/** Both demo clusters, `west` (the default) first, built for the same `now`. */
export function createDemoClusters(
  opts: Omit<CreateDemoSourceOptions, "cluster"> = {},
): DemoCluster[] {
  return DEMO_CLUSTER_NAMES.map((name) => ({
    name,
    source: createDemoSource({ ...opts, cluster: name }),
    prom: (now?: DemoNow) => demoPromClientFor(name, now),
  }));
}

function injectorLinkerdVersion(objects: readonly KubeObject[]): string | undefined {
  const cm = objects.find((o) =>
    o.kind === "ConfigMap" && o.metadata.name === "linkerd-config" &&
    o.metadata.namespace === DEMO_CONTROL_PLANE_NAMESPACE
  );
  return /^ {0,4}linkerdVersion: (\S+)$/m.exec(cm?.data?.["values"] ?? "")?.[1];
}

function assignClusterIPs(objects: KubeObject[], serviceNet: string, lbNet: string): void {
  let n = 10;
  let lb = 100;
  for (const svc of objects) {
    if (svc.kind !== "Service") continue;
    const spec = (svc.spec ??= {}) as Record<string, unknown>;
    if (spec["clusterIP"] === "None") continue;
    const ip = `${serviceNet}.${Math.floor(n / 250)}.${n % 250}`;
    n++;
    spec["clusterIP"] = ip;
    spec["clusterIPs"] = [ip];
    spec["type"] ??= "ClusterIP";
    // as a cloud's (or MetalLB's) load-balancer controller assigns them
    if (spec["type"] === "LoadBalancer") {
      svc.status = { loadBalancer: { ingress: [{ ip: `${lbNet}.${lb++}`, ipMode: "VIP" }] } };
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function uid(key: string): string {
  const h = [0, 1, 2, 3].map((i) =>
    [...shortHash(`${i}:${key}`, 8)].map((c) => c.charCodeAt(0).toString(16).slice(-1)).join("")
  ).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${
    h.slice(20, 32)
  }`;
}
