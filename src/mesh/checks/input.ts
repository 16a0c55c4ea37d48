/**
 * What `check_mesh_health` reads from the cluster, loaded in one round of
 * concurrent requests: the control-plane, viz and multicluster namespaces, every
 * meshed pod (by label), Linkerd's ConfigMaps, CRDs and Links. Secrets are never read.
 *
 * @module
 */
import type { ClusterSet } from "../../clusters/set.ts";
import { KubeApiError } from "../../errors.ts";
import type { ClusterSource, SourceKind } from "../../kube/source.ts";
import type { ResourceKey } from "../../kube/resources.ts";
import { LINKERD_CONFIGMAPS } from "../../kube/state.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Pod } from "../pods.ts";
import {
  classifyMirror,
  MIRRORED_GATEWAY_LABEL,
  MIRRORED_SERVICE_LABEL,
  type MirroredService,
  objectKey,
  parseLink,
  type RemoteServices,
  remoteWanted,
} from "../../multicluster/links.ts";
import { redact } from "../../redact.ts";

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
  /**
   * Endpoints of the mirror Services (label `mirror.linkerd.io/mirrored-service`, which the
   * service mirror puts on the Endpoints it writes), in all namespaces; `undefined` when
   * not read (no gateway mirror) or forbidden by RBAC. Absent in inputs built by hand.
   */
  mirrorEndpoints?: readonly KubeObject[] | undefined;
  /**
   * The Links' target clusters as this server serves them, one per target; absent when
   * the server was given no cluster set (then linked clusters are not checked).
   */
  linkedClusters?: readonly LinkedClusterInput[];
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

/** What was read of a Link's target cluster (ConfigMaps, Services, Endpoints, pods; never Secrets). */
export interface LinkedClusterInput {
  /** The Link's `targetClusterName`. */
  target: string;
  /** This server's name for that cluster; absent when it does not serve it. */
  cluster?: string;
  /** `describe()` of its source. */
  source?: string;
  /** Why it could not be read (its source failed to build, or the API server refused). */
  error?: string;
  /** The namespace its trust roots were read in. */
  linkerdNamespace?: string;
  /** Its `linkerd-identity-trust-roots` and `linkerd-config` ConfigMaps, when found. */
  configMaps?: readonly KubeObject[];
  /** The Services the local mirrors stand for, their Endpoints and pods. */
  remote?: RemoteServices;
}

/** Options for {@linkcode loadHealthInput}. */
export interface LoadHealthInputOptions {
  namespace: string;
  vizNamespace: string;
  multiclusterNamespace?: string;
  prometheusConfigured?: boolean;
  signal?: AbortSignal;
  /**
   * The clusters this server serves: a Link whose target is one of them is checked
   * against it (trust anchors, exported Services). Absent: linked clusters are not read.
   */
  clusters?: ClusterSet;
  /** How long each linked cluster may take (default {@linkcode LINKED_CLUSTER_TIMEOUT_MS}). */
  linkedClusterTimeoutMs?: number;
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
  const mirroredServices = mirrors.value === undefined ? undefined : dedupe(mirrors.value.flat());
  const classified = (mirroredServices ?? []).map(classifyMirror)
    .filter((m): m is MirroredService => m !== undefined);
  const [mirrorEndpoints, linkedClusters] = await Promise.all([
    classified.some((m) => m.kind === "gateway")
      ? tolerate(
        source.list("endpoints", { labelSelector: MIRRORED_SERVICE_LABEL, ...signal }),
        [403, 404],
      )
      : Promise.resolve(undefined),
    opts.clusters && links.length
      ? loadLinkedClusters(opts.clusters, links, classified, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.linkedClusterTimeoutMs ? { timeoutMs: opts.linkedClusterTimeoutMs } : {}),
      })
      : Promise.resolve(undefined),
  ]);
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
    mirroredServices,
    ...(mirrorEndpoints !== undefined ? { mirrorEndpoints } : {}),
    ...(linkedClusters ? { linkedClusters } : {}),
    missing,
    ...(unreadable.size ? { unreadable: [...unreadable.values()] } : {}),
  };
}

/** How long a linked cluster may take to build and answer before it is reported as unreadable. */
export const LINKED_CLUSTER_TIMEOUT_MS = 10_000;
/** Endpoints read by name in a linked cluster, at most (per Link target). */
const MAX_REMOTE_ENDPOINTS = 200;
/** Endpoints read by name concurrently. */
const ENDPOINT_READS_AT_ONCE = 8;

/** The ConfigMaps holding a cluster's trust anchors (never Secrets). */
const TRUST_CONFIGMAPS = ["linkerd-identity-trust-roots", "linkerd-config"] as const;

/**
 * Reads, in each Link's target cluster that `clusters` serves, its trust-anchor ConfigMaps
 * (in that cluster's `linkerdNamespace`, else the Link's `targetClusterLinkerdNamespace`)
 * and the Services the local mirrors stand for, with their Endpoints and the pods of their
 * namespaces. Never throws for a linked cluster: a failure is its `error`; a cancelled
 * call still fails.
 */
export function loadLinkedClusters(
  clusters: ClusterSet,
  links: readonly KubeObject[],
  mirrors: readonly MirroredService[],
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<LinkedClusterInput[]> {
  const { signal, timeoutMs = LINKED_CLUSTER_TIMEOUT_MS } = opts;
  const parsed = links.map(parseLink);
  const targets = [...new Set(parsed.map((l) => l.targetClusterName))].sort();
  return Promise.all(targets.map(async (target): Promise<LinkedClusterInput> => {
    const link = parsed.find((l) => l.targetClusterName === target)!;
    // a linked cluster that does not answer must not take this cluster's checks with it
    const timeout = AbortSignal.timeout(timeoutMs);
    const remoteSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const timedOut = new Promise<"timeout">((resolve) =>
      timeout.addEventListener("abort", () => resolve("timeout"), { once: true })
    );
    const late = `no answer within ${timeoutMs / 1000} s`;
    let handle;
    try {
      const got = await Promise.race([clusters.forLinkTarget(target), timedOut]);
      if (got === "timeout") return { target, error: late };
      handle = got;
    } catch (err) {
      if (signal?.aborted) throw err;
      return { target, error: messageOf(err) };
    }
    if (!handle) return { target };
    const base = { target, cluster: handle.name, source: handle.source.describe() };
    const src = handle.source;
    const opt = { signal: remoteSignal };
    try {
      const namespaces = [handle.config.linkerdNamespace];
      const fromLink = (links.find((l) => parseLink(l).targetClusterName === target)
        ?.spec as Record<string, unknown> | undefined)?.["targetClusterLinkerdNamespace"];
      if (typeof fromLink === "string" && fromLink && !namespaces.includes(fromLink)) {
        namespaces.push(fromLink);
      }
      let linkerdNamespace = namespaces[0]!;
      let configMaps: KubeObject[] = [];
      for (const ns of namespaces) {
        const found = await Promise.all(
          TRUST_CONFIGMAPS.map((n) => src.get("configmaps", n, ns, opt)),
        );
        configMaps = found.filter((c): c is KubeObject => c !== undefined);
        linkerdNamespace = ns;
        if (configMaps.length) break;
      }
      const wanted = remoteWanted(link, mirrors);
      const wantedNs = [...new Set(wanted.map((w) => w.remote.split("/")[0]!))].sort();
      // a namespace whose Services RBAC forbids is left unjudged (its Services not read)
      const perNs = await Promise.all(wantedNs.map((namespace) =>
        Promise.all([
          tolerate(src.list("services", { namespace, ...opt }), [403]),
          tolerate(src.list("pods", { namespace, ...opt }), [403]),
          Promise.resolve(namespace),
        ])
      ));
      const readable = new Set(perNs.filter(([s]) => s !== undefined).map(([, , ns]) => ns));
      const byKey = (o: KubeObject) => objectKey(o.metadata.namespace ?? "", o.metadata.name);
      const services = new Map<string, KubeObject>(
        perNs.flatMap(([s]) => (s ?? []).map((o) => [byKey(o), o])),
      );
      // Endpoints by name (no watch of a namespace's Endpoints, which churn), a bounded few
      // at a time; beyond the cap, readiness comes from the pods.
      const endpoints = new Map<string, KubeObject>();
      const names = [...new Set(wanted.map((w) => w.remote))]
        .filter((k) => services.has(k)).slice(0, MAX_REMOTE_ENDPOINTS);
      for (let i = 0; i < names.length; i += ENDPOINT_READS_AT_ONCE) {
        const batch = names.slice(i, i + ENDPOINT_READS_AT_ONCE);
        const got = await Promise.all(batch.map((k) => {
          const [namespace, name] = [k.slice(0, k.indexOf("/")), k.slice(k.indexOf("/") + 1)];
          return tolerate(src.get("endpoints", name, namespace, opt), [403, 404]);
        }));
        got.forEach((e, j) => e && endpoints.set(batch[j]!, e));
      }
      return {
        ...base,
        linkerdNamespace,
        configMaps,
        remote: {
          services: new Map(
            wanted.filter((w) => readable.has(w.remote.split("/")[0]!))
              .map((w) => [w.remote, services.get(w.remote) ?? null]),
          ),
          endpoints,
          pods: perNs.flatMap(([, p]) => p ?? []),
          live: src.kind === "live",
        },
      };
    } catch (err) {
      if (signal?.aborted) throw err;
      return { ...base, error: timeout.aborted ? late : messageOf(err) };
    }
  }));
}

/** An error's message, with any registered secret removed. */
function messageOf(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
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
