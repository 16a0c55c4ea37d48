/**
 * The Endpoints Kubernetes' endpoints controller keeps for the demo's Services: one per
 * Service with a selector, the ready pods it selects as addresses, named target ports
 * resolved against the pods' container ports, and the Service's labels (the controller
 * copies them). Services without a selector (the multicluster mirrors) get none here:
 * the service mirror writes theirs, and the demo's assets hold them.
 *
 * @module
 */
import { matchesSelector } from "../kube/selectors.ts";
import type { KubeObject } from "../kube/types.ts";

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
}

function containerPorts(pod: KubeObject): ContainerPort[] {
  const spec = (pod.spec ?? {}) as {
    containers?: Array<{ ports?: ContainerPort[] }>;
    initContainers?: Array<{ ports?: ContainerPort[] }>;
  };
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])].flatMap((c) => c.ports ?? []);
}

function resolvePort(p: ServicePort, pod: KubeObject): number | undefined {
  const t = p.targetPort ?? p.port;
  if (typeof t === "number") return t;
  if (/^\d+$/.test(t)) return Number(t);
  return containerPorts(pod).find((c) => c.name === t)?.containerPort;
}

/** The Endpoints of `services` over the running `pods`, `at` their last change. */
export function endpointsFor(
  services: readonly KubeObject[],
  pods: readonly KubeObject[],
  at: string,
): KubeObject[] {
  const out: KubeObject[] = [];
  for (const svc of services) {
    const spec = (svc.spec ?? {}) as { selector?: Record<string, string>; ports?: ServicePort[] };
    if (!spec.selector || Object.keys(spec.selector).length === 0) continue;
    const ns = svc.metadata.namespace ?? "default";
    const selected = pods.filter((p) =>
      p.metadata.namespace === ns &&
      matchesSelector({ matchLabels: spec.selector }, p.metadata.labels)
    );
    const ports = spec.ports ?? [];
    const subsets: Array<Record<string, unknown>> = [];
    // pods that resolve the target ports alike share a subset
    const groups = new Map<string, { ports: unknown[]; addresses: unknown[] }>();
    for (const pod of selected) {
      const resolved = ports.map((p) => ({ p, n: resolvePort(p, pod) }));
      if (resolved.some((r) => r.n === undefined)) continue;
      const key = resolved.map((r) => r.n).join(",");
      const group = groups.get(key) ?? {
        ports: resolved.map(({ p, n }) => ({
          ...(p.name ? { name: p.name } : {}),
          port: n,
          protocol: p.protocol ?? "TCP",
        })),
        addresses: [],
      };
      const status = (pod.status ?? {}) as { podIP?: string };
      const podSpec = (pod.spec ?? {}) as { nodeName?: string };
      group.addresses.push({
        ip: status.podIP,
        ...(podSpec.nodeName ? { nodeName: podSpec.nodeName } : {}),
        targetRef: {
          kind: "Pod",
          namespace: ns,
          name: pod.metadata.name,
          ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
        },
      });
      groups.set(key, group);
    }
    for (const g of groups.values()) subsets.push({ addresses: g.addresses, ports: g.ports });
    out.push({
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: {
        name: svc.metadata.name,
        namespace: ns,
        ...(svc.metadata.labels ? { labels: { ...svc.metadata.labels } } : {}),
        annotations: { "endpoints.kubernetes.io/last-change-trigger-time": at },
        creationTimestamp: svc.metadata.creationTimestamp ?? at,
      },
      ...(subsets.length ? { subsets } : {}),
    } as KubeObject);
  }
  return out;
}
