/**
 * From a Kubernetes Service to the workloads whose proxies export its metrics.
 *
 * Proxy series carry the workload, not the Service: Prometheus copies the pod label
 * `linkerd.io/proxy-deployment=<name>` (or `-statefulset`, `-daemonset`) into a
 * `deployment` (…) label. So a Service is mapped by reading its selector, finding the
 * pods it selects, and taking their workload (from that label, or from the pod's
 * owner: a ReplicaSet `web-5d8f7c9b6` → Deployment `web`).
 *
 * When the cluster cannot be read, or does not have the Service, the Service name is
 * taken as the Deployment name (true for emojivoto and booksapp) and the answer says so.
 *
 * @module
 */
import type { ClusterSource } from "../kube/source.ts";
import type { KubeObject } from "../kube/types.ts";
import { ownerWorkloadOf } from "../kube/workloads.ts";
import { type Pod, podsOfService, type Service, serviceAccountOf } from "../mesh/pods.ts";
import { WORKLOAD_LABELS, type WorkloadKind, type WorkloadRef } from "./queries.ts";

/** A Service and the workloads behind it. */
export interface ResolvedService {
  namespace: string;
  service: string;
  workload: WorkloadRef;
  /** `cluster`: from the Service's selector and pods; `name`: assumed Deployment of the same name. */
  resolvedBy: "cluster" | "name";
  /** Why the name was assumed, when it was. */
  note?: string;
  /** ServiceAccounts of the Service's pods (their mTLS identities), when read from the cluster. */
  serviceAccounts?: string[];
}

/**
 * The workload a pod belongs to, as a metrics label kind (`deployment`, `statefulset`,
 * `daemonset`): from its proxy labels or its owner (`ownerWorkloadOf`); `undefined`
 * for other kinds, whose proxies' series carry no workload label.
 */
export function workloadOfPod(
  pod: { metadata: KubeObject["metadata"] },
): { kind: WorkloadKind; name: string } | undefined {
  const w = ownerWorkloadOf(pod);
  if (w.kind === "ReplicaSet") {
    // No pod-template-hash label: strip the generated suffix of the ReplicaSet name.
    return { kind: "deployment", name: w.name.replace(/-[a-z0-9]{5,10}$/, "") };
  }
  const kind = w.kind.toLowerCase();
  return (WORKLOAD_LABELS as readonly string[]).includes(kind)
    ? { kind: kind as WorkloadKind, name: w.name }
    : undefined;
}

function byName(namespace: string, service: string, note: string): ResolvedService {
  return {
    namespace,
    service,
    workload: { namespace, kind: "deployment", names: [service] },
    resolvedBy: "name",
    note,
  };
}

function workloadsOf(namespace: string, pods: readonly Pod[]): WorkloadRef | undefined {
  const byKind = new Map<WorkloadKind, Set<string>>();
  for (const p of pods) {
    const w = workloadOfPod(p);
    if (!w) continue;
    if (!byKind.has(w.kind)) byKind.set(w.kind, new Set());
    byKind.get(w.kind)!.add(w.name);
  }
  let best: [WorkloadKind, Set<string>] | undefined;
  for (const e of byKind) if (!best || e[1].size > best[1].size) best = e;
  return best ? { namespace, kind: best[0], names: [...best[1]].sort() } : undefined;
}

/** Resolves one Service; never throws (falls back to the name), except when `signal` aborts it. */
export async function resolveService(
  cluster: ClusterSource,
  namespace: string,
  service: string,
  signal?: AbortSignal,
): Promise<ResolvedService> {
  let svc: KubeObject | undefined;
  try {
    svc = await cluster.get("services", service, namespace, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw err;
    return byName(
      namespace,
      service,
      `The cluster could not be read (${
        err instanceof Error ? err.message : String(err)
      }): assumed the Service's pods belong to Deployment "${service}"`,
    );
  }
  if (!svc) {
    return byName(
      namespace,
      service,
      `Service "${namespace}/${service}" was not found in ${cluster.describe()}: assumed its pods belong to Deployment "${service}"`,
    );
  }
  try {
    const pods = await cluster.list("pods", { namespace, ...(signal ? { signal } : {}) });
    const selected = podsOfService(svc as Service, pods as Pod[]);
    const w = workloadsOf(namespace, selected);
    if (w) {
      const serviceAccounts = [...new Set(selected.map(serviceAccountOf))].sort();
      return { namespace, service, workload: w, resolvedBy: "cluster", serviceAccounts };
    }
  } catch {
    // fall through to the name
  }
  return byName(
    namespace,
    service,
    `No pods with a known workload were found for Service "${namespace}/${service}": assumed Deployment "${service}"`,
  );
}

/** Services of a namespace and the workload each maps to (`kind/name` → Service names). */
export interface NamespaceServices {
  services: string[];
  workloadToServices: Map<string, string[]>;
}

/** Lists a namespace's Services and their workloads; `undefined` when the cluster cannot be read. */
export async function resolveNamespace(
  cluster: ClusterSource,
  namespace: string,
  signal?: AbortSignal,
): Promise<NamespaceServices | undefined> {
  try {
    const opts = { namespace, ...(signal ? { signal } : {}) };
    const [svcs, pods] = await Promise.all([
      cluster.list("services", opts),
      cluster.list("pods", opts),
    ]);
    const workloadToServices = new Map<string, string[]>();
    const services: string[] = [];
    for (const s of svcs as Service[]) {
      if (!s.spec?.selector || !Object.keys(s.spec.selector).length) continue;
      services.push(s.metadata.name);
      const w = workloadsOf(namespace, podsOfService(s, pods as Pod[]));
      for (const name of w?.names ?? []) {
        const key = `${w!.kind}/${name}`;
        workloadToServices.set(key, [...(workloadToServices.get(key) ?? []), s.metadata.name]);
      }
    }
    return { services: services.sort(), workloadToServices };
  } catch {
    return undefined;
  }
}
