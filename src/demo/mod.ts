/**
 * The embedded demo mesh: a running cluster simulated from upstream Linkerd YAML (control
 * plane, viz, emojivoto and booksapp with their policies), compiled into the program
 * through `data.gen.ts` so a bundle or binary carries it.
 *
 * Unlike plain manifests, every Deployment, StatefulSet and DaemonSet runs: its pods are
 * synthesised `Running` with all containers ready, no restarts, node names and pod IPs
 * in `10.42.0.0/16`, meshed as Linkerd's injector would mesh them. CronJobs (the
 * heartbeat) have no pod at the snapshot. The result is deterministic for a given `now`.
 *
 * @module
 */
import { MemorySource } from "../kube/memory.ts";
import type { KubeObject } from "../kube/types.ts";
import type { InjectorConfig } from "../kube/inject.ts";
import { podsFromWorkload, shortHash } from "../kube/workload_pods.ts";
import { DEMO_INJECTOR_CONFIG_JSON, DEMO_OBJECTS_JSON } from "./data.gen.ts";
import { runningPodStatus, workloadStatus } from "./_status.ts";

/** The demo's fixed clock when none is given: objects' ages are relative to it. */
export const DEMO_DEFAULT_NOW = new Date("2026-08-24T12:00:00Z");

/** The demo's control plane namespace. */
export const DEMO_CONTROL_PLANE_NAMESPACE = "linkerd";

const NODES = ["demo-node-1", "demo-node-2", "demo-node-3"];
const DAY = 86_400_000;

/** Options for {@linkcode createDemoSource}. */
export interface CreateDemoSourceOptions {
  /** "Now" for the simulated cluster; default {@linkcode DEMO_DEFAULT_NOW}. */
  now?: Date;
}

/** Builds the demo mesh's objects (see the module doc). */
export function demoObjects(opts: CreateDemoSourceOptions = {}): KubeObject[] {
  const now = (opts.now ?? DEMO_DEFAULT_NOW).getTime();
  const installed = now - 7 * DAY;
  const started = now - 2 * DAY;
  const objects = JSON.parse(DEMO_OBJECTS_JSON) as KubeObject[];
  objects.forEach((o, i) => {
    o.metadata.creationTimestamp = iso(installed + i * 1000);
    o.metadata.uid = uid(`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
    o.metadata.resourceVersion = String(1000 + i);
    if (o.kind === "Namespace") o.status = { phase: "Active" };
  });
  assignClusterIPs(objects);

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
      const ip = `10.42.${node}.${10 + perNode[node]!++}`;
      pod.metadata.creationTimestamp = iso(started + pods.length * 1000);
      pod.metadata.uid = uid(`Pod/${pod.metadata.namespace}/${pod.metadata.name}`);
      (pod.spec as Record<string, unknown>)["nodeName"] = NODES[node];
      // The ServiceAccount admission plugin names "default" when the template names none.
      (pod.spec as Record<string, unknown>)["serviceAccountName"] ??= "default";
      pod.status = runningPodStatus(pod, {
        podIP: ip,
        hostIP: `172.18.0.${2 + node}`,
        startedAt: iso(started + pods.length * 1000),
      });
      pods.push(pod);
    });
    w.metadata.generation = 1;
    w.status = workloadStatus(w, made.length);
  }
  return [...objects, ...pods];
}

/** The embedded demo mesh as a cluster source (`kind: "demo"`). */
export function createDemoSource(opts: CreateDemoSourceOptions = {}): MemorySource {
  const objects = demoObjects(opts);
  const version = injectorLinkerdVersion(objects) ?? "unknown";
  return new MemorySource(objects, {
    kind: "demo",
    description: `embedded demo mesh (linkerd ${version} control plane, viz, emojivoto, booksapp)`,
  });
}

function injectorLinkerdVersion(objects: readonly KubeObject[]): string | undefined {
  const cm = objects.find((o) =>
    o.kind === "ConfigMap" && o.metadata.name === "linkerd-config" &&
    o.metadata.namespace === DEMO_CONTROL_PLANE_NAMESPACE
  );
  return /^ {0,4}linkerdVersion: (\S+)$/m.exec(cm?.data?.["values"] ?? "")?.[1];
}

function assignClusterIPs(objects: KubeObject[]): void {
  let n = 10;
  for (const svc of objects) {
    if (svc.kind !== "Service") continue;
    const spec = (svc.spec ??= {}) as Record<string, unknown>;
    if (spec["clusterIP"] === "None") continue;
    const ip = `10.43.${Math.floor(n / 250)}.${n % 250}`;
    n++;
    spec["clusterIP"] = ip;
    spec["clusterIPs"] = [ip];
    spec["type"] ??= "ClusterIP";
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
