/**
 * Pods synthesised from workloads' pod templates, for sources that have no Pods
 * (manifests, the demo mesh). Each pod is what the cluster would create: named like
 * the controller names it, owned by the workload, labelled from the template, and
 * meshed as Linkerd's proxy injector would mesh it (`inject.ts`).
 *
 * @module
 */
import type { Pod } from "../mesh/pods.ts";
import { type InjectorConfig, injectPod } from "./inject.ts";
import type { KubeObject } from "./types.ts";

/** Kinds whose pod templates stand in for pods. */
export const WORKLOAD_KINDS = [
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "CronJob",
] as const;

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

/** True for the workload kinds (in `apps/v1` or `batch/v1`) whose templates make pods. */
export function isWorkload(obj: KubeObject): boolean {
  return (WORKLOAD_KINDS as readonly string[]).includes(obj.kind) &&
    (obj.apiVersion.startsWith("apps/") || obj.apiVersion.startsWith("batch/"));
}

/** True when another workload controls this one (a Deployment's ReplicaSet, a CronJob's Job). */
export function isControlledWorkload(obj: KubeObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some((o) =>
    o.kind === "Deployment" || o.kind === "CronJob"
  );
}

/** The workload's pod template (`spec.template`, or `spec.jobTemplate.spec.template`). */
export function podTemplateOf(
  workload: KubeObject,
): { metadata?: Partial<Pod["metadata"]>; spec?: Pod["spec"] } | undefined {
  const spec = workload.spec as Record<string, unknown> | undefined;
  if (workload.kind === "CronJob") {
    const job = (spec?.["jobTemplate"] as Record<string, unknown> | undefined)?.["spec"];
    return (job as Record<string, unknown> | undefined)?.["template"] as ReturnType<
      typeof podTemplateOf
    >;
  }
  return spec?.["template"] as ReturnType<typeof podTemplateOf>;
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
