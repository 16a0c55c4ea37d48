/**
 * Pods synthesised from workloads' pod templates, for sources that have no Pods
 * (manifests, the demo mesh). Each pod is what the cluster would create: named like
 * the controller names it, owned by the workload, labelled from the template, and
 * meshed as Linkerd's proxy injector would mesh it (`inject.ts`).
 *
 * @module
 */
import { type InjectorConfig, injectPod } from "./inject.ts";
import type { KubeObject, Pod } from "./types.ts";
import {
  isControlledWorkload,
  isWorkload,
  ownerWorkloadOf,
  podTemplateOf,
  workloadLookupOf,
} from "./workloads.ts";

/** Default cap on pods synthesised per workload. */
export const DEFAULT_MAX_REPLICAS = 10;

/** Options for {@linkcode podsFromWorkload}. */
export interface PodsFromWorkloadOptions {
  /** The workload's Namespace object (its injection and config annotations apply). */
  namespace?: KubeObject;
  /** Injector settings (see `injectorConfigFromObjects` in `injector_config.ts`). */
  injector?: InjectorConfig;
  /** At most this many pods per workload; default {@linkcode DEFAULT_MAX_REPLICAS}. */
  maxReplicas?: number;
}

/** How many pods the workload runs: `replicas` (default 1), capped; one for the others. */
export function replicaCount(workload: KubeObject, maxReplicas = DEFAULT_MAX_REPLICAS): number {
  if (!["Deployment", "StatefulSet", "ReplicaSet"].includes(workload.kind)) return 1;
  const r = (workload.spec as { replicas?: unknown } | undefined)?.replicas;
  const n = typeof r === "number" && Number.isInteger(r) && r >= 0 ? r : 1;
  return Math.min(n, maxReplicas);
}

/**
 * The pods a workload's controller would create, meshed as the injector would mesh
 * them. Names are deterministic: `<deploy>-<hash>-<suffix>`, `<sts>-<ordinal>`,
 * `<ds|rs|job>-<suffix>`, `<cronjob>-<n>-<suffix>`. No status, no IPs.
 */
export function podsFromWorkload(
  workload: KubeObject,
  opts: PodsFromWorkloadOptions = {},
): KubeObject[] {
  const template = podTemplateOf(workload);
  if (!template) return [];
  const ns = workload.metadata.namespace ?? "default";
  const name = workload.metadata.name;
  const key = `${ns}/${workload.kind}/${name}`;
  const templateHash = shortHash(key, 10);
  const pods: KubeObject[] = [];
  const count = replicaCount(workload, opts.maxReplicas);
  for (let i = 0; i < count; i++) {
    const suffix = shortHash(`${key}/${i}`, 5);
    const labels: Record<string, string> = { ...template.metadata?.labels };
    let podName: string;
    switch (workload.kind) {
      case "Deployment":
        podName = `${name}-${templateHash}-${suffix}`;
        labels["pod-template-hash"] = templateHash;
        break;
      case "StatefulSet":
        podName = `${name}-${i}`;
        labels["statefulset.kubernetes.io/pod-name"] = podName;
        break;
      case "CronJob":
        podName = `${name}-${29000000 + (parseInt(templateHash, 36) % 1000000)}-${suffix}`;
        break;
      default:
        podName = `${name}-${suffix}`;
    }
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: podName,
        namespace: ns,
        labels,
        ...(template.metadata?.annotations
          ? { annotations: { ...template.metadata.annotations } }
          : {}),
        ownerReferences: [{
          apiVersion: workload.apiVersion,
          kind: workload.kind,
          name,
          controller: true,
          ...(workload.metadata.uid ? { uid: workload.metadata.uid } : {}),
        }],
      },
      spec: structuredClone(template.spec ?? {}),
    };
    pods.push(injectPod(pod, {
      ...opts.injector,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      owner: { kind: workload.kind, name },
    }) as unknown as KubeObject);
  }
  return pods;
}

/** Options for {@linkcode synthesizeWorkloadPods}. */
export interface SynthesizeOptions {
  /** Injector settings (see `injectorConfigFromObjects` in `injector_config.ts`). */
  injector?: InjectorConfig;
  /** At most this many pods per workload; default {@linkcode DEFAULT_MAX_REPLICAS}. */
  maxReplicas?: number;
}

/**
 * The top-level workloads (not a Deployment's ReplicaSets or a CronJob's Jobs) that
 * no given Pod belongs to, in input order. A workload whose pods are among the objects
 * (a `kubectl get -o yaml` dump) is left out, so it is not counted twice; a bare Pod,
 * or another workload's pods, in the same namespace do not stop a workload from
 * standing in for its own pods.
 */
export function workloadsWithoutPods(objects: readonly KubeObject[]): KubeObject[] {
  const lookup = workloadLookupOf(objects);
  const owned = new Set<string>();
  for (const o of objects) {
    if (o.kind !== "Pod" || o.apiVersion !== "v1") continue;
    const w = ownerWorkloadOf(o, lookup);
    if (w.kind !== "Pod") owned.add(`${o.metadata.namespace ?? "default"}/${w.kind}/${w.name}`);
  }
  return objects.filter((w) =>
    isWorkload(w) && !isControlledWorkload(w) &&
    !owned.has(`${w.metadata.namespace ?? "default"}/${w.kind}/${w.metadata.name}`)
  );
}

/**
 * Pods for every workload without pods of its own ({@linkcode workloadsWithoutPods}),
 * meshed as the injector would mesh them with the workload's Namespace object.
 */
export function synthesizeWorkloadPods(
  objects: readonly KubeObject[],
  opts: SynthesizeOptions = {},
): Array<{ workload: KubeObject; pod: KubeObject }> {
  const namespaces = new Map<string, KubeObject>();
  for (const o of objects) {
    if (o.kind === "Namespace" && o.apiVersion === "v1") namespaces.set(o.metadata.name, o);
  }
  const out: Array<{ workload: KubeObject; pod: KubeObject }> = [];
  for (const w of workloadsWithoutPods(objects)) {
    const nsObj = namespaces.get(w.metadata.namespace ?? "default");
    const pods = podsFromWorkload(w, {
      ...(opts.injector ? { injector: opts.injector } : {}),
      ...(nsObj ? { namespace: nsObj } : {}),
      ...(opts.maxReplicas !== undefined ? { maxReplicas: opts.maxReplicas } : {}),
    });
    for (const pod of pods) out.push({ workload: w, pod });
  }
  return out;
}

const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** A deterministic name suffix in the alphabet Kubernetes uses for generated names. */
export function shortHash(input: string, length: number): string {
  let h = 0x811c9dc5;
  let out = "";
  for (let round = 0; out.length < length; round++) {
    for (const ch of `${round}:${input}`) {
      h ^= ch.charCodeAt(0);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    let x = h;
    for (let j = 0; j < 4 && out.length < length; j++) {
      out += ALPHABET[x % ALPHABET.length];
      x = Math.floor(x / ALPHABET.length);
    }
  }
  return out;
}
