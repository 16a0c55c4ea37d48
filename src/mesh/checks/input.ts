/**
 * What `check_mesh_health` reads from the cluster, loaded in one round of
 * concurrent requests: the control-plane, viz and multicluster namespaces, every
 * meshed pod (by label), Linkerd's ConfigMaps, CRDs and Links. Secrets are never read.
 *
 * @module
 */
import { KubeApiError } from "../../errors.ts";
import type { ClusterSource, SourceKind } from "../../kube/source.ts";
import type { ResourceKey } from "../../kube/resources.ts";
import { LINKERD_CONFIGMAPS } from "../../kube/state.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Pod } from "../pods.ts";
import { MIRRORED_GATEWAY_LABEL, MIRRORED_SERVICE_LABEL } from "../../multicluster/links.ts";

/** The multicluster extension's namespace, as `linkerd multicluster install` creates it. */
export const MULTICLUSTER_NAMESPACE = "linkerd-multicluster";

/** Everything the health checks look at. */
export interface HealthInput {
  sourceKind: SourceKind;
  /** `describe()` of the source. */
  source: string;
  /** The control plane's namespace. */
  namespace: string;
  vizNamespace: string;
  multiclusterNamespace: string;
  /** True when the user pointed the server at a Prometheus (`LINKERD_PROMETHEUS_URL`). */
  prometheusConfigured: boolean;
  /** All Namespaces; `undefined` when they may not be listed (RBAC). */
  namespaces: readonly KubeObject[] | undefined;
  /** `linkerd-config` and `linkerd-identity-trust-roots`, when they exist. */
  configMaps: readonly KubeObject[];
  /** Deployments of the control-plane, viz and multicluster namespaces. */
  deployments: readonly KubeObject[];
  /** Pods of the control-plane, viz and multicluster namespaces. */
  pods: readonly Pod[];
  /**
   * Every pod in the cluster carrying `linkerd.io/control-plane-ns`; `undefined` when
   * RBAC forbids listing pods in all namespaces.
   */
  meshedPods: readonly Pod[] | undefined;
  /** All CRDs; `undefined` when they may not be listed (RBAC). */
  crds: readonly KubeObject[] | undefined;
  links: readonly KubeObject[];
  /**
   * Services the multicluster service mirror created (labels `mirror.linkerd.io/mirrored-service`
   * or `mirror.linkerd.io/mirrored-gateway`), in all namespaces; `undefined` when RBAC forbids
   * listing Services in all namespaces. Absent in inputs built by hand.
   */
  mirroredServices?: readonly KubeObject[] | undefined;
  /** Resource types the cluster does not serve (CRD not installed). */
  missing: readonly ResourceKey[];
  /**
   * Extension namespaces (viz, multicluster) whose Deployments or pods could not be
   * listed: 403 (RBAC grants nothing there) or 404. Their checks degrade to a warning.
   * Absent means none.
   */
  unreadable?: readonly UnreadableNamespace[];
}

/** An extension namespace that could not be read, and why. */
export interface UnreadableNamespace {
  namespace: string;
  /** 403 (forbidden by RBAC) or 404 (not found). */
  status: 403 | 404;
  /** The API server's message, e.g. `pods is forbidden: User "x" cannot list ...`. */
  message: string;
}

/** Options for {@linkcode loadHealthInput}. */
export interface LoadHealthInputOptions {
  namespace: string;
  vizNamespace: string;
  multiclusterNamespace?: string;
  prometheusConfigured?: boolean;
  signal?: AbortSignal;
}

/**
 * Reads what the health checks need. Lists that RBAC forbids for Namespaces, CRDs and
 * meshed pods in all namespaces, and a Link CRD that is not installed, degrade to unknown
 * or empty; Deployments and pods of an extension namespace (viz, multicluster) that
 * answer 403 or 404 are recorded in {@linkcode HealthInput.unreadable} (namespace-scoped
 * RBAC without a grant there, or a namespace that does not exist).
 *
 * @throws {KubeApiError} when the API server refuses reads in the control-plane namespace
 * or other reads, or cannot be reached.
 */
export async function loadHealthInput(
  source: ClusterSource,
  opts: LoadHealthInputOptions,
): Promise<HealthInput> {
  const mcNamespace = opts.multiclusterNamespace ?? MULTICLUSTER_NAMESPACE;
  const namespaces = [...new Set([opts.namespace, opts.vizNamespace, mcNamespace])];
  const signal = opts.signal ? { signal: opts.signal } : {};
  const missing: ResourceKey[] = [];
  const unreadable = new Map<string, UnreadableNamespace>();
  /** Lists in an extension namespace degrade on 403/404; the control plane's do not. */
  const listIn = (resource: "deployments" | "pods", namespace: string) =>
    source.list(resource, { namespace, ...signal }).catch((err) => {
      if (
        namespace === opts.namespace || !(err instanceof KubeApiError) ||
        (err.status !== 403 && err.status !== 404)
      ) throw err;
      if (!unreadable.has(namespace)) {
        unreadable.set(namespace, { namespace, status: err.status, message: err.message });
      }
      return [] as KubeObject[];
    });
  // Started with the others; settled (never rejected) so that it cannot go unhandled.
  const mirrorsRead = tolerate(
    Promise.all(
      [MIRRORED_SERVICE_LABEL, MIRRORED_GATEWAY_LABEL].map((labelSelector) =>
        source.list("services", { labelSelector, ...signal })
      ),
    ),
    [403],
  ).then((value) => ({ value }), (error: unknown) => ({ error }));
  const [nsList, configMaps, deployments, pods, meshedPods, crds, links] = await Promise.all([
    tolerate(source.list("namespaces", signal), [403]),
    Promise.all(
      LINKERD_CONFIGMAPS.map((n) => source.get("configmaps", n, opts.namespace, signal)),
    ),
    Promise.all(namespaces.map((namespace) => listIn("deployments", namespace))),
    Promise.all(namespaces.map((namespace) => listIn("pods", namespace))),
    tolerate(
      source.list("pods", { labelSelector: "linkerd.io/control-plane-ns", ...signal }),
      [403],
    ),
    tolerate(source.list("crds", signal), [403]),
    source.list("links", signal).catch((err) => {
      if (err instanceof KubeApiError && err.status === 404) missing.push("links");
      else if (!(err instanceof KubeApiError && err.status === 403)) throw err;
      return [] as KubeObject[];
    }),
  ]);
  const mirrors = await mirrorsRead;
  if ("error" in mirrors) throw mirrors.error;
  return {
    sourceKind: source.kind,
    source: source.describe(),
    namespace: opts.namespace,
    vizNamespace: opts.vizNamespace,
    multiclusterNamespace: mcNamespace,
    prometheusConfigured: opts.prometheusConfigured ?? false,
    namespaces: nsList,
    configMaps: configMaps.filter((c): c is KubeObject => c !== undefined),
    deployments: deployments.flat(),
    pods: pods.flat() as Pod[],
    meshedPods: meshedPods as Pod[] | undefined,
    crds,
    links,
    mirroredServices: mirrors.value === undefined ? undefined : dedupe(mirrors.value.flat()),
    missing,
    ...(unreadable.size ? { unreadable: [...unreadable.values()] } : {}),
  };
}

function dedupe(objects: KubeObject[]): KubeObject[] {
  const seen = new Set<string>();
  return objects.filter((o) => {
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function tolerate<T>(p: Promise<T>, statuses: number[]): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof KubeApiError && statuses.includes(err.status)) return undefined;
    throw err;
  }
}
