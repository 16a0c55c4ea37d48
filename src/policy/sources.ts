/**
 * Sources of a connectivity question: a Service's pods, a workload's pods (Deployment,
 * StatefulSet, DaemonSet, Job, CronJob), one pod, a ServiceAccount identity, or an IP
 * for unmeshed clients. Each becomes the client profiles the target's proxy sees.
 *
 * @module
 */
import { NotFoundError } from "../errors.ts";
import { ownerWorkloadOf } from "../kube/workloads.ts";
import { serviceAccountIdentity } from "../mesh/config.ts";
import { parseIp } from "./cidr.ts";
import { clientOfPod, clientsOfPods, clientsOfService } from "./clients.ts";
import type { PolicyIndex } from "./policy_index.ts";
import type { Service } from "../mesh/pods.ts";
import type { Client } from "./types.ts";

/** Workload kinds a source may name. */
export const SOURCE_WORKLOAD_KINDS = [
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "Job",
  "CronJob",
] as const;

/** A Service by namespace and name. */
export interface ServiceRef {
  namespace: string;
  service: string;
}

/**
 * Finds a Service in the index.
 *
 * @throws {NotFoundError} when it does not exist.
 */
export function requireService(
  idx: PolicyIndex,
  ref: ServiceRef & { role: "source" | "target" },
): Service {
  const svc = idx.services.get(`${ref.namespace}/${ref.service}`);
  if (svc) return svc;
  const inNs = idx.serviceKeys.filter((k) => k.startsWith(`${ref.namespace}/`))
    .map((k) => k.slice(ref.namespace.length + 1));
  const known = inNs.length === 0
    ? "the namespace has no Services"
    : `Services there: ${inNs.slice(0, 10).join(", ")}${inNs.length > 10 ? ", ..." : ""}`;
  throw new NotFoundError(
    `Cannot find ${ref.role} Service "${ref.service}" in namespace "${ref.namespace}": ${known}; list Services with "kubectl get services -n ${ref.namespace}" or the list_meshed_services tool`,
  );
}

/** A source of traffic. */
export type SourceRef =
  | { namespace: string; service: string }
  | { namespace: string; workload: { kind: string; name: string } }
  | { namespace: string; pod: string }
  | { namespace: string; serviceAccount: string }
  | { ip: string; namespace?: string };

/** The resolved source. */
export interface ResolvedSource {
  /** `Service`, a workload kind, `Pod`, `ServiceAccount` or `IP`. */
  kind: string;
  namespace: string;
  name: string;
  /** `ns/name` key for memos and self-exclusion (`svc:ns/name` etc.). */
  key: string;
  clients: Client[];
}

const ALIASES: Record<string, string> = {
  deploy: "Deployment",
  deployment: "Deployment",
  sts: "StatefulSet",
  statefulset: "StatefulSet",
  ds: "DaemonSet",
  daemonset: "DaemonSet",
  job: "Job",
  cronjob: "CronJob",
  cj: "CronJob",
};

/** Normalises a workload kind (`deploy`, `deployment`, `Deployment`); `undefined` when unsupported. */
export function workloadKind(kind: string): string | undefined {
  return ALIASES[kind.toLowerCase()];
}

/**
 * Resolves a source to client profiles.
 *
 * @throws {NotFoundError} when the named source does not exist.
 */
export function resolveSource(idx: PolicyIndex, ref: SourceRef): ResolvedSource {
  if ("ip" in ref) {
    if (!parseIp(ref.ip)) throw new NotFoundError(`"${ref.ip}" is not an IPv4 or IPv6 address`);
    return {
      kind: "IP",
      namespace: ref.namespace ?? "",
      name: ref.ip,
      key: `ip:${ref.ip}`,
      clients: [{
        pods: [],
        namespace: ref.namespace ?? "",
        serviceAccount: "",
        meshed: false,
        ips: [ref.ip],
      }],
    };
  }
  const ns = ref.namespace;
  if ("service" in ref) {
    const key = `${ns}/${ref.service}`;
    requireService(idx, { namespace: ns, service: ref.service, role: "source" });
    return {
      kind: "Service",
      namespace: ns,
      name: ref.service,
      key,
      clients: clientsOfService(idx, key),
    };
  }
  const pods = idx.podsByNs.get(ns) ?? [];
  if ("pod" in ref) {
    const pod = pods.find((p) => p.metadata.name === ref.pod);
    if (!pod) {
      throw new NotFoundError(
        `Cannot find source pod "${ref.pod}" in namespace "${ns}" (running pods only)`,
      );
    }
    return {
      kind: "Pod",
      namespace: ns,
      name: ref.pod,
      key: `pod:${ns}/${ref.pod}`,
      clients: [clientOfPod(idx, pod)],
    };
  }
  if ("serviceAccount" in ref) {
    return {
      kind: "ServiceAccount",
      namespace: ns,
      name: ref.serviceAccount,
      key: `sa:${ns}/${ref.serviceAccount}`,
      clients: [{
        pods: [],
        namespace: ns,
        serviceAccount: ref.serviceAccount,
        meshed: true,
        identity: serviceAccountIdentity(ref.serviceAccount, ns, idx.mesh),
        ips: [],
      }],
    };
  }
  const kind = workloadKind(ref.workload.kind);
  if (!kind) {
    throw new NotFoundError(
      `Unsupported source workload kind "${ref.workload.kind}": use one of ${
        SOURCE_WORKLOAD_KINDS.join(", ")
      }`,
    );
  }
  const mine = pods.filter((p) => {
    const owner = ownerWorkloadOf(p);
    if (owner.kind === kind && owner.name === ref.workload.name) return true;
    // a CronJob's pods belong to Jobs named `<cronjob>-<schedule time>`
    return kind === "CronJob" && owner.kind === "Job" &&
      owner.name.startsWith(`${ref.workload.name}-`) &&
      /^\d+$/.test(owner.name.slice(ref.workload.name.length + 1));
  });
  if (mine.length === 0) {
    throw new NotFoundError(
      `Cannot find pods of ${kind} "${ref.workload.name}" in namespace "${ns}"; check the name, or name a pod (source_pod) or a ServiceAccount (source_service_account) instead`,
    );
  }
  const key = `wl:${ns}/${kind}/${ref.workload.name}`;
  let clients = idx.clients.get(key);
  if (!clients) idx.clients.set(key, clients = clientsOfPods(idx, mine));
  return { kind, namespace: ns, name: ref.workload.name, key, clients };
}
