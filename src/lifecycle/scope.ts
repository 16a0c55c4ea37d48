/**
 * Pods, workloads and Services in scope of a policy: the label selector that picks
 * exactly one workload's pods, and the Services that reach a pod port.
 *
 * @module
 */
import { serviceSelects } from "../kube/selectors.ts";
import { itemsOf } from "../kube/state.ts";
import type { Pod, Service } from "../mesh/pods.ts";
import type { PolicyModel } from "../policy/model/types.ts";
import { podWorkload } from "./resolve.ts";

/** Labels that differ between pods of one workload (or are the injector's). */
const VOLATILE = new Set([
  "pod-template-hash",
  "controller-revision-hash",
  "statefulset.kubernetes.io/pod-name",
  "apps.kubernetes.io/pod-index",
  "pod-template-generation",
]);

function selects(labels: Record<string, string>, pod: Pod): boolean {
  return serviceSelects(labels, pod.metadata.labels);
}

/**
 * `matchLabels` selecting exactly the pods of `pod`'s workload in its namespace: a
 * Service's selector when one does, else the labels the workload's pods share (without
 * hashes and Linkerd's own), narrowed with the injector's `linkerd.io/proxy-<kind>`
 * label when needed.
 */
export function selectorFor(model: PolicyModel, pod: Pod): Record<string, string> {
  const ns = pod.metadata.namespace ?? "";
  const wl = podWorkload(pod);
  const all = model.podsIn(ns);
  const mine = all.filter((p) => podWorkload(p) === wl);
  const exact = (sel: Record<string, string>) =>
    Object.keys(sel).length > 0 && all.every((p) => selects(sel, p) === mine.includes(p));
  for (const svc of itemsOf(model.state, "services", ns) as readonly Service[]) {
    const sel = svc.spec?.selector;
    if (sel && selects(sel, pod) && exact(sel)) return { ...sel };
  }
  const common: Record<string, string> = {};
  for (const [k, v] of Object.entries(pod.metadata.labels ?? {})) {
    if (VOLATILE.has(k) || k.startsWith("linkerd.io/")) continue;
    if (mine.every((p) => p.metadata.labels?.[k] === v)) common[k] = v;
  }
  if (exact(common)) return common;
  for (const [k, v] of Object.entries(pod.metadata.labels ?? {})) {
    if (k.startsWith("linkerd.io/proxy-") && mine.every((p) => p.metadata.labels?.[k] === v)) {
      return { ...common, [k]: v };
    }
  }
  return Object.keys(common).length ? common : { ...(pod.metadata.labels ?? {}) };
}

/** Names of the Services of the pod's namespace that select it and reach `port`. */
export function servicesOf(model: PolicyModel, pod: Pod, port: number): string[] {
  const ns = pod.metadata.namespace ?? "";
  const out: string[] = [];
  for (const svc of itemsOf(model.state, "services", ns) as readonly Service[]) {
    if (!svc.spec?.selector || !selects(svc.spec.selector, pod)) continue;
    const hit = (svc.spec.ports ?? []).some((p) => {
      const t = p.targetPort ?? p.port;
      if (typeof t === "number") return t === port;
      if (/^\d+$/.test(t)) return Number(t) === port;
      return (model.podPorts(pod).byName.get(t) ?? []).includes(port);
    });
    if (hit) out.push(svc.metadata.name);
  }
  return out.sort();
}
