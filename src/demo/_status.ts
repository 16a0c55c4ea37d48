/**
 * Status of a healthy running pod and of its workload, for the demo mesh.
 *
 * @module
 */
import type { ContainerSpec, ContainerStatus, PodSpec, PodStatus } from "../mesh/pods.ts";
import type { KubeObject } from "../kube/types.ts";

/** Where and since when the pod runs. */
export interface RunningPodOptions {
  podIP: string;
  hostIP: string;
  startedAt: string;
}

/**
 * `Running`, every condition true, every container running and ready with no restarts;
 * init containers completed, native sidecars (`restartPolicy: Always`) running and ready.
 */
export function runningPodStatus(
  pod: KubeObject,
  opts: RunningPodOptions,
): PodStatus & Record<string, unknown> {
  const spec = (pod.spec ?? {}) as PodSpec;
  const image = (c: ContainerSpec) => ({ image: c.image ?? "", imageID: "" });
  const running = (c: ContainerSpec): ContainerStatus & Record<string, unknown> => ({
    name: c.name,
    ready: true,
    started: true,
    restartCount: 0,
    state: { running: { startedAt: opts.startedAt } },
    ...image(c),
  });
  const conditions = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"]
    .map((type) => ({ type, status: "True", lastTransitionTime: opts.startedAt }));
  conditions.push({ type: "PodScheduled", status: "True", lastTransitionTime: opts.startedAt });
  const status: PodStatus & Record<string, unknown> = {
    phase: "Running",
    conditions,
    hostIP: opts.hostIP,
    hostIPs: [{ ip: opts.hostIP }],
    podIP: opts.podIP,
    podIPs: [{ ip: opts.podIP }],
    qosClass: qosClassOf(spec),
    startTime: opts.startedAt,
    containerStatuses: (spec.containers ?? []).map(running),
  };
  if (spec.initContainers?.length) {
    status.initContainerStatuses = spec.initContainers.map((c) =>
      c.restartPolicy === "Always" ? running(c) : {
        name: c.name,
        ready: true,
        started: false,
        restartCount: 0,
        state: {
          terminated: {
            exitCode: 0,
            reason: "Completed",
            startedAt: opts.startedAt,
            finishedAt: opts.startedAt,
          },
        },
        ...image(c),
      }
    );
  }
  return status;
}

type Resources = { requests?: Record<string, unknown>; limits?: Record<string, unknown> };

/** A CPU or memory quantity in base units (`250m` → 0.25, `64Mi` → 67108864); NaN if unparsable. */
function quantity(v: unknown): number {
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(v ?? "").trim());
  if (!m) return NaN;
  const scale: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(m[1]) * (m[2] ? scale[m[2]]! : 1);
}

/**
 * The QoS class Kubernetes computes for a pod (pkg/apis/core/helper/qos): `BestEffort`
 * when no container (init containers included) requests or limits CPU or memory,
 * `Guaranteed` when every container limits both and requests equal limits (requests
 * default to limits), else `Burstable`.
 */
export function qosClassOf(spec: PodSpec): "BestEffort" | "Burstable" | "Guaranteed" {
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  let any = false;
  let guaranteed = all.length > 0;
  for (const c of all) {
    const r = ((c as unknown as { resources?: Resources }).resources ?? {}) as Resources;
    for (const name of ["cpu", "memory"]) {
      const limit = quantity(r.limits?.[name]);
      const request = r.requests?.[name] !== undefined ? quantity(r.requests[name]) : limit;
      if (limit > 0 || request > 0) any = true;
      if (!(limit > 0) || request !== limit) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

/** A workload with all `replicas` up to date, ready and available. */
export function workloadStatus(workload: KubeObject, replicas: number): Record<string, unknown> {
  switch (workload.kind) {
    case "DaemonSet":
      return {
        observedGeneration: 1,
        currentNumberScheduled: replicas,
        desiredNumberScheduled: replicas,
        numberAvailable: replicas,
        numberMisscheduled: 0,
        numberReady: replicas,
        updatedNumberScheduled: replicas,
      };
    case "StatefulSet":
      return {
        observedGeneration: 1,
        replicas,
        readyReplicas: replicas,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
      };
    default:
      return {
        observedGeneration: 1,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [
          { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
          { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
        ],
      };
  }
}
