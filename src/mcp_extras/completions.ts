/**
 * `completion/complete`: values for the namespace, service, workload, port and version
 * arguments of the prompts and of the policy resource template, from the current
 * cluster state. At most {@linkcode MAX_VALUES} values (the protocol's limit), with
 * `total` and `hasMore` when there are more.
 *
 * @module
 */
import type { ClusterSource } from "../kube/source.ts";
import { POLICY_TEMPLATE } from "./resources.ts";
import type { PromptSpec } from "./prompts.ts";

/** The protocol's upper bound on values in one completion. */
export const MAX_VALUES = 100;

/** What a completion argument completes. */
export type CompletionKind = "namespace" | "service" | "workload" | "port" | "endpoint" | "version";

/** A completion request's reference and argument, as the protocol sends them. */
export interface CompletionQuery {
  ref: { type: string; name?: string; uri?: string };
  argument: { name: string; value: string };
  /** Arguments already filled in (`context.arguments`). */
  context?: Record<string, string>;
}

/** The completion result. */
export interface CompletionAnswer {
  values: string[];
  total: number;
  hasMore: boolean;
}

/** What `ref` and `argument.name` complete, or undefined when nothing. */
export function kindOf(
  q: CompletionQuery,
  prompts: readonly PromptSpec[],
): CompletionKind | undefined {
  if (q.ref.type === "ref/prompt") {
    const p = prompts.find((x) => x.name === q.ref.name);
    return p?.arguments.find((a) => a.name === q.argument.name)?.completes;
  }
  if (q.ref.type === "ref/resource" && q.ref.uri === POLICY_TEMPLATE) {
    return q.argument.name === "namespace" ? "namespace" : undefined;
  }
  return undefined;
}

const VERSIONS = ["2.18", "2.19", "2.20", "edge-26.8.3", "edge-26.9.1"];

/** The completion values for `kind` with prefix `value`. */
export async function complete(
  cluster: ClusterSource,
  kind: CompletionKind | undefined,
  value: string,
  context: Record<string, string> = {},
): Promise<CompletionAnswer> {
  const all = kind ? await candidates(cluster, kind, value, context) : [];
  const matching = [...new Set(all)].filter((v) => v.startsWith(value)).sort();
  return {
    values: matching.slice(0, MAX_VALUES),
    total: matching.length,
    hasMore: matching.length > MAX_VALUES,
  };
}

async function names(cluster: ClusterSource, resource: "namespaces"): Promise<string[]> {
  return (await cluster.list(resource)).map((o) => o.metadata.name);
}

async function candidates(
  cluster: ClusterSource,
  kind: CompletionKind,
  value: string,
  context: Record<string, string>,
): Promise<string[]> {
  switch (kind) {
    case "namespace":
      return await names(cluster, "namespaces");
    case "version":
      return VERSIONS;
    case "service":
    case "workload":
    case "port": {
      // A prompt's target ("namespace/service") names the Service whose ports complete.
      const target = context.target?.split("/");
      if (target?.length === 2) context = { namespace: target[0]!, service: target[1]! };
      const ns = context.namespace;
      if (!ns) return [];
      if (kind === "service") {
        return (await cluster.list("services", { namespace: ns })).map((s) => s.metadata.name);
      }
      if (kind === "workload") return await workloads(cluster, ns);
      const svc = context.service;
      const services = (await cluster.list("services", { namespace: ns }))
        .filter((s) => !svc || s.metadata.name === svc);
      return services.flatMap((s) =>
        (((s.spec as { ports?: { port?: number; name?: string }[] })?.ports) ?? []).flatMap((p) => [
          ...(p.port ? [String(p.port)] : []),
          ...(p.name ? [p.name] : []),
        ])
      );
    }
    case "endpoint": {
      // namespace/ first, then namespace/service and namespace/kind/name
      const slash = value.indexOf("/");
      if (slash < 0) return (await names(cluster, "namespaces")).map((n) => `${n}/`);
      const ns = value.slice(0, slash);
      const [services, wls] = await Promise.all([
        cluster.list("services", { namespace: ns }).catch(() => []),
        workloads(cluster, ns).catch(() => []),
      ]);
      return [
        ...services.map((s) => `${ns}/${s.metadata.name}`),
        ...wls.map((w) => `${ns}/${w}`),
      ];
    }
  }
}

async function workloads(cluster: ClusterSource, ns: string): Promise<string[]> {
  const kinds = [["deployments", "deployment"], ["statefulsets", "statefulset"], [
    "daemonsets",
    "daemonset",
  ]] as const;
  const lists = await Promise.all(
    kinds.map(([r]) => cluster.list(r, { namespace: ns }).catch(() => [])),
  );
  return lists.flatMap((l, i) => l.map((o) => `${kinds[i]![1]}/${o.metadata.name}`));
}
