/**
 * Kubernetes workloads, in one place: the kinds whose pod templates make pods, the pod
 * template of a workload, and the workload that owns a pod. Every layer (sources,
 * mesh, policy, validation, metrics) asks these questions through this module.
 *
 * Pure: plain JSON shapes in, plain values out; nothing is read or mutated.
 *
 * @module
 */
import type { ResourceKey } from "./resources.ts";
import type { KubeObject, ObjectMeta, OwnerReference, Pod } from "./types.ts";

/** The workload kinds whose pod templates make pods, in `apps/v1` or `batch/v1`. */
export const WORKLOAD_KINDS = [
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "CronJob",
] as const;

/** One of {@linkcode WORKLOAD_KINDS}. */
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** The resource key (`src/kube/resources.ts`) of each workload kind. */
export const WORKLOAD_RESOURCE_KEYS = {
  Deployment: "deployments",
  StatefulSet: "statefulsets",
  DaemonSet: "daemonsets",
  ReplicaSet: "replicasets",
  Job: "jobs",
  CronJob: "cronjobs",
} as const satisfies Record<WorkloadKind, ResourceKey>;

/** The resource keys of the workload kinds, in {@linkcode WORKLOAD_KINDS} order. */
export const WORKLOAD_KEYS = WORKLOAD_KINDS.map((k) => WORKLOAD_RESOURCE_KEYS[k]);

/** The kinds a controller of another workload can be (a ReplicaSet's Deployment, a Job's CronJob). */
const CONTROLLER_OF: Readonly<Record<string, WorkloadKind>> = {
  ReplicaSet: "Deployment",
  Job: "CronJob",
};

/** True for a workload kind name (`"Deployment"`, ...), case-sensitive as Kubernetes is. */
export function isWorkloadKind(kind: string): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(kind);
}

/** True for the workload kinds (in `apps/v1` or `batch/v1`) whose templates make pods. */
export function isWorkload(obj: KubeObject): boolean {
  return isWorkloadKind(obj.kind) &&
    (obj.apiVersion.startsWith("apps/") || obj.apiVersion.startsWith("batch/"));
}

/** True when another workload controls this one (a Deployment's ReplicaSet, a CronJob's Job). */
export function isControlledWorkload(obj: KubeObject): boolean {
  const parent = CONTROLLER_OF[obj.kind];
  if (!parent) return false;
  return (obj.metadata.ownerReferences ?? []).some((o) => o.kind === parent);
}

/** A pod template: what a workload stamps its pods from. */
export interface PodTemplate {
  metadata?: Partial<ObjectMeta>;
  spec?: Pod["spec"];
}

/** Where a workload keeps its pod template (a field path). */
export function podTemplatePath(workload: { kind: string }): string {
  return workload.kind === "CronJob" ? "spec.jobTemplate.spec.template" : "spec.template";
}

/**
 * The workload's pod template (`spec.template`, or a CronJob's
 * `spec.jobTemplate.spec.template`); `undefined` when absent or not an object.
 */
export function podTemplateOf(workload: KubeObject): PodTemplate | undefined {
  const spec = record(workload.spec);
  const tmpl = workload.kind === "CronJob"
    ? record(record(spec?.["jobTemplate"])?.["spec"])?.["template"]
    : spec?.["template"];
  return record(tmpl) as PodTemplate | undefined;
}

/** A workload named by kind and name (`Pod` when a pod has no owner). */
export interface WorkloadName {
  kind: string;
  name: string;
}

/**
 * Looks an object up by kind, namespace and name, when the caller holds cluster
 * state; `undefined` when unknown.
 */
export type WorkloadLookup = (
  kind: WorkloadKind,
  namespace: string,
  name: string,
) => KubeObject | undefined;

/** Labels the proxy injector adds, naming the pod's top-level owner (`linkerd.io/proxy-<kind>`). */
export const PROXY_OWNER_LABELS: ReadonlyArray<readonly [string, string]> = [
  ["linkerd.io/proxy-deployment", "Deployment"],
  ["linkerd.io/proxy-statefulset", "StatefulSet"],
  ["linkerd.io/proxy-daemonset", "DaemonSet"],
  ["linkerd.io/proxy-cronjob", "CronJob"],
  ["linkerd.io/proxy-job", "Job"],
  ["linkerd.io/proxy-replicationcontroller", "ReplicationController"],
  ["linkerd.io/proxy-replicaset", "ReplicaSet"],
];

/** The controller reference among owner references (the first one when none is marked). */
export function controllerOf(
  refs: readonly OwnerReference[] | undefined,
): OwnerReference | undefined {
  return refs?.find((r) => r.controller) ?? refs?.[0];
}

/**
 * The top-level workload that owns a pod, as Kubernetes' owner chain says:
 *
 * 1. the pod's controller; when it is a ReplicaSet or Job, that object's own
 *    controller (Deployment, CronJob) if `lookup` finds the object;
 * 2. else the injector's `linkerd.io/proxy-<kind>` label;
 * 3. else, for a ReplicaSet not found, the Deployment named by stripping the
 *    `pod-template-hash` (`web-5d8f7c9b6` → `web`); for a Job not found, the controller;
 * 4. else the pod itself (`{kind: "Pod"}`).
 */
export function ownerWorkloadOf(
  pod: { metadata: ObjectMeta },
  lookup?: WorkloadLookup,
): WorkloadName {
  const ns = pod.metadata.namespace ?? "";
  const owner = controllerOf(pod.metadata.ownerReferences);
  const parentKind = owner ? CONTROLLER_OF[owner.kind] : undefined;
  if (owner && parentKind && lookup) {
    const mid = lookup(owner.kind as WorkloadKind, ns, owner.name);
    if (mid) {
      const top = controllerOf(mid.metadata.ownerReferences);
      if (top) return { kind: top.kind, name: top.name };
      return { kind: owner.kind, name: owner.name };
    }
  }
  for (const [label, kind] of PROXY_OWNER_LABELS) {
    const name = pod.metadata.labels?.[label];
    if (name) return { kind, name };
  }
  if (owner?.kind === "ReplicaSet") {
    // A Deployment names its ReplicaSets `<deployment>-<pod-template-hash>`.
    const hash = pod.metadata.labels?.["pod-template-hash"];
    if (hash && owner.name.endsWith(`-${hash}`)) {
      return { kind: "Deployment", name: owner.name.slice(0, -hash.length - 1) };
    }
  }
  if (owner) return { kind: owner.kind, name: owner.name };
  return { kind: "Pod", name: pod.metadata.name };
}

/** A {@linkcode WorkloadLookup} over a list of objects (indexed once). */
export function workloadLookupOf(objects: Iterable<KubeObject>): WorkloadLookup {
  const index = new Map<string, KubeObject>();
  for (const o of objects) {
    if (!isWorkloadKind(o.kind)) continue;
    index.set(`${o.kind}\u0000${o.metadata.namespace ?? ""}\u0000${o.metadata.name}`, o);
  }
  return (kind, namespace, name) => index.get(`${kind}\u0000${namespace}\u0000${name}`);
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}
