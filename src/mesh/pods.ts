/**
 * Facts about pods that every tool needs: meshed or not, the proxy container (a
 * regular container or a native-sidecar init container), its version, and which
 * pods a Service selects.
 *
 * @module
 */
import { PROXY_CONTAINER } from "../kube/inject.ts";
import { serviceSelects } from "../kube/selectors.ts";
import type { ContainerSpec, ObjectMeta, Pod, Service } from "../kube/types.ts";

export type {
  ContainerSpec,
  ContainerStatus,
  Pod,
  PodSpec,
  PodStatus,
  ProbeSpec,
  Service,
} from "../kube/types.ts";

/** Name of Linkerd's proxy container (defined with the injector model). */
export { PROXY_CONTAINER };

/** True when the pod carries Linkerd's proxy (`linkerd.io/control-plane-ns` label, as `k8s.IsMeshed`). */
export function isMeshed(pod: { metadata: ObjectMeta }, controlPlaneNamespace?: string): boolean {
  const cp = pod.metadata.labels?.["linkerd.io/control-plane-ns"];
  return cp !== undefined && (controlPlaneNamespace === undefined || cp === controlPlaneNamespace);
}

/** The proxy container, whether a regular container or a native sidecar (init container with `restartPolicy: Always`). */
export function proxyContainer(
  pod: Pod,
): { container: ContainerSpec; nativeSidecar: boolean } | undefined {
  const init = pod.spec?.initContainers?.find((c) => c.name === PROXY_CONTAINER);
  if (init) return { container: init, nativeSidecar: true };
  const c = pod.spec?.containers?.find((c) => c.name === PROXY_CONTAINER);
  return c ? { container: c, nativeSidecar: false } : undefined;
}

/** The proxy version from the `linkerd.io/proxy-version` annotation, else the image tag. */
export function proxyVersionOf(pod: Pod): string | undefined {
  const ann = pod.metadata.annotations?.["linkerd.io/proxy-version"];
  if (ann) return ann;
  const image = proxyContainer(pod)?.container.image;
  const tag = image?.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : undefined;
  return tag && !tag.includes("/") ? tag : undefined;
}

/** The pod's ServiceAccount (`default` when unset, as Kubernetes assigns). */
export function serviceAccountOf(pod: Pod): string {
  return pod.spec?.serviceAccountName || pod.spec?.serviceAccount || "default";
}

/** The pod's IPs, when the pod has been scheduled (never for manifests). */
export function podIPs(pod: Pod): string[] {
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? [];
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}

/** Application containers (not the proxy or Linkerd's init containers). */
export function appContainers(pod: Pod): ContainerSpec[] {
  return (pod.spec?.containers ?? []).filter((c) =>
    c.name !== PROXY_CONTAINER && c.name !== "linkerd-debug"
  );
}

/** The pods in the Service's namespace that its selector selects. */
export function podsOfService(service: Service, pods: readonly Pod[]): Pod[] {
  return pods.filter((p) =>
    p.metadata.namespace === service.metadata.namespace &&
    serviceSelects(service.spec?.selector, p.metadata.labels)
  );
}

/** Terminated pods (Succeeded or Failed) take no traffic and are skipped by analysis. */
export function isTerminated(pod: Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}
