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
    qosClass: "Burstable",
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
