/**
 * Clients as a target's proxy sees them: a source Service's pods become client
 * profiles (identity from the ServiceAccount when meshed, pod IPs where known).
 * Pods that look the same to the proxy share one profile.
 *
 * @module
 */
import { serviceAccountIdentity } from "../mesh/config.ts";
import { isMeshed, type Pod, podIPs, serviceAccountOf } from "../mesh/pods.ts";
import type { KubeObject } from "../kube/types.ts";
import type { PolicyIndex } from "./policy_index.ts";
import type { Client } from "./types.ts";

/** True when the pod carries Linkerd's proxy (`linkerd.io/control-plane-ns` label). */
export function podIsMeshed(pod: Pod): boolean {
  return isMeshed(pod as unknown as KubeObject);
}

/** The client profile of one pod. */
export function clientOfPod(idx: PolicyIndex, pod: Pod): Client {
  const ns = pod.metadata.namespace ?? "";
  const sa = serviceAccountOf(pod);
  // a proxy only gets an identity from this control plane when injected by it
  const meshed = podIsMeshed(pod);
  const ips = podIPs(pod);
  return {
    pods: [`${ns}/${pod.metadata.name}`],
    namespace: ns,
    serviceAccount: sa,
    meshed,
    ...(meshed ? { identity: serviceAccountIdentity(sa, ns, idx.mesh) } : {}),
    ips,
  };
}

/**
 * The distinct client profiles of some pods: pods with known IPs are each distinct to
 * the proxy; without IPs, pods that share meshing and ServiceAccount look the same.
 * Order follows the pods' (state) order.
 */
export function clientsOfPods(idx: PolicyIndex, pods: readonly Pod[]): Client[] {
  const out: Client[] = [];
  const byKey = new Map<string, Client>();
  for (const pod of pods) {
    const c = clientOfPod(idx, pod);
    if (c.ips.length) {
      out.push(c);
      continue;
    }
    const key = `${c.meshed}|${c.serviceAccount}`;
    const seen = byKey.get(key);
    if (seen) seen.pods.push(...c.pods);
    else {
      byKey.set(key, c);
      out.push(c);
    }
  }
  return out;
}

/** The distinct client profiles of a Service's pods (memoised in the index). */
export function clientsOfService(idx: PolicyIndex, serviceKey: string): Client[] {
  const hit = idx.clients.get(serviceKey);
  if (hit) return hit;
  const out = clientsOfPods(idx, idx.servicePods.get(serviceKey) ?? []);
  idx.clients.set(serviceKey, out);
  return out;
}

/** A short description of a client for explanations. */
export function describeClient(c: Client): string {
  const who = c.meshed
    ? `identity "${c.identity}"`
    : `unmeshed (ServiceAccount "${c.serviceAccount}", no mTLS identity)`;
  const ips = c.ips.length ? `, IPs ${c.ips.join(", ")}` : "";
  return `${c.pods.length} pod(s) with ${who}${ips}`;
}
