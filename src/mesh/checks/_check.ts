/**
 * The shape of one health check and the pod-status helpers the checks share.
 *
 * @module
 */
import type { ContainerStatus, Pod } from "../pods.ts";
import { PROXY_CONTAINER } from "../pods.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { MeshConfig } from "../config.ts";

/** Outcome of one check; `healthy` means no check has status `error`. */
export type CheckStatus = "ok" | "warning" | "error";

/** One check, modelled on a `linkerd check` line. */
export interface Check {
  /** What is checked, worded as `linkerd check` words it (`control plane pods are ready`). */
  name: string;
  /** The `linkerd check` category (`linkerd-existence`, `linkerd-identity`, ...). */
  category: string;
  status: CheckStatus;
  /** What was found, with names and counts. */
  message: string;
  /** What to do, or where to read more (a https://linkerd.io/2/checks/ anchor). */
  hint: string;
}

/** The `linkerd check` documentation anchor for a hint. */
export function checkUrl(anchor: string): string {
  return `https://linkerd.io/2/checks/#${anchor}`;
}

/**
 * Builds a check whose hint is the docs URL, prefixed by an action when one is given (for a
 * passed check only with `whenOk`: one that says what it could not check, and how to).
 */
export function mkCheck(
  category: string,
  name: string,
  status: CheckStatus,
  message: string,
  hint: { anchor: string; action?: string; whenOk?: boolean },
): Check {
  const url = checkUrl(hint.anchor);
  return {
    name,
    category,
    status,
    message,
    hint: hint.action && (status !== "ok" || hint.whenOk) ? `${hint.action} (${url})` : url,
  };
}

/** Up to `max` items joined with ", ", followed by "and N more". */
export function sample(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(", ");
  return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/** `n thing` / `n things`. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/** True when the pod carries runtime status (live cluster); manifests and templates do not. */
export function hasStatus(pod: Pod): boolean {
  const s = pod.status;
  return !!s && (s.phase !== undefined || (s.containerStatuses?.length ?? 0) > 0);
}

/** True for pods of Jobs and CronJobs, which finish rather than stay ready. */
export function isJobPod(pod: Pod): boolean {
  return (pod.metadata.ownerReferences ?? []).some((o) => o.kind === "Job") ||
    pod.metadata.labels?.["linkerd.io/control-plane-component"] === "heartbeat" ||
    pod.metadata.labels?.["batch.kubernetes.io/job-name"] !== undefined ||
    pod.metadata.labels?.["job-name"] !== undefined;
}

/** Restart count from which a container is reported as restarting often. */
export const RESTART_WARNING = 5;

/** Waiting reasons that mean a container cannot start. */
const FAILING_REASONS = new Set([
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "CreateContainerConfigError",
  "CreateContainerError",
  "InvalidImageName",
  "RunContainerError",
]);

/** What a pod's status says about its containers (including native sidecars). */
export interface PodHealth {
  /** `undefined` when the pod has no status (manifests). */
  ready: boolean | undefined;
  phase: string;
  /** Containers that are not ready, as `name (reason)`. */
  notReady: string[];
  /** Containers waiting on a failure (CrashLoopBackOff, ImagePullBackOff, ...), as `name: reason`. */
  failing: string[];
  /** The highest restart count among all containers. */
  restarts: number;
  /** The proxy's own status, when the pod has one (`undefined` when not found). */
  proxy: ContainerStatus | undefined;
}

/**
 * Reads a pod's status. A pod is ready when it is Running and every regular container
 * and every native-sidecar init container (`restartPolicy: Always`, such as the proxy)
 * is ready; `linkerd check` looks at regular containers only.
 */
export function podHealth(pod: Pod): PodHealth {
  const status = pod.status ?? {};
  const phase = status.phase ?? "Unknown";
  if (!hasStatus(pod)) {
    return { ready: undefined, phase, notReady: [], failing: [], restarts: 0, proxy: undefined };
  }
  const sidecars = new Set(
    (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always").map((c) => c.name),
  );
  const init = status.initContainerStatuses ?? [];
  const main = status.containerStatuses ?? [];
  const mustBeReady = [...main, ...init.filter((c) => sidecars.has(c.name))];
  const notReady = mustBeReady.filter((c) => !c.ready).map((c) =>
    `${c.name}${reasonOf(c) ? ` (${reasonOf(c)})` : ""}`
  );
  const failing = [...init, ...main]
    .filter((c) => FAILING_REASONS.has(c.state?.waiting?.reason ?? ""))
    .map((c) => `${c.name}: ${c.state!.waiting!.reason}`);
  const restarts = Math.max(0, ...[...init, ...main].map((c) => c.restartCount ?? 0));
  const proxy = [...init, ...main].find((c) => c.name === PROXY_CONTAINER);
  const ready = phase === "Running" && notReady.length === 0 && main.length > 0;
  return { ready, phase, notReady, failing, restarts, proxy };
}

function reasonOf(c: ContainerStatus): string | undefined {
  return c.state?.waiting?.reason ?? c.state?.terminated?.reason;
}

/** A workload's desired and available replicas; `available` is `undefined` without status. */
export function replicasOf(workload: KubeObject): { desired: number; available?: number } {
  const spec = workload.spec as { replicas?: number } | undefined;
  const status = workload.status as { availableReplicas?: number; replicas?: number } | undefined;
  const desired = spec?.replicas ?? 1;
  if (!status || Object.keys(status).length === 0) return { desired };
  return { desired, available: status.availableReplicas ?? 0 };
}

/** `namespace/name` of a pod. */
export function podRef(pod: { metadata: KubeObject["metadata"] }): string {
  return `${pod.metadata.namespace ?? ""}/${pod.metadata.name}`;
}

/**
 * The proxy version the control plane injects: `proxy.image.version`, else
 * `linkerdVersion` (the chart's default for the proxy image tag).
 */
export function expectedProxyVersion(mesh: MeshConfig): string | undefined {
  return mesh.proxyVersion ?? mesh.linkerdVersion;
}
