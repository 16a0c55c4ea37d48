/**
 * The one interface through which every tool reads cluster state.
 *
 * Three implementations: a live cluster (`live.ts`, client-node, loaded lazily),
 * YAML manifests on disk (`manifests.ts`) and the embedded demo mesh (`../demo/`).
 *
 * @module
 */
import type { ResourceKey } from "./resources.ts";
import type { KubeObject } from "./types.ts";

/** Options for {@linkcode ClusterSource.list}. */
export interface ListOptions {
  /** Only this namespace; all namespaces when absent. Ignored for cluster-scoped resources. */
  namespace?: string;
  /** A Kubernetes label selector (`app=web,tier!=db`). */
  labelSelector?: string;
  signal?: AbortSignal;
}

/** Options for {@linkcode ClusterSource.get}. */
export interface GetOptions {
  /** Stops the request (and its retries) when the calling tool is cancelled or times out. */
  signal?: AbortSignal;
}

/** Which of the three kinds of source this is. */
export type SourceKind = "live" | "manifests" | "demo";

/**
 * Where an answer's cluster state came from, in structured form: every tool result
 * carries it as `structuredContent.dataSource`. Never holds a credential (no URL
 * userinfo, no token).
 */
export interface SourceInfo {
  kind: SourceKind;
  /** The same line as {@linkcode ClusterSource.describe}. */
  description: string;
  /** Live: the kubeconfig context (`in-cluster` for a service account). */
  context?: string;
  /** Live: the API server URL, without userinfo. */
  server?: string;
  /** Manifests: the files and folders given. */
  paths?: string[];
  /** The cluster's name in this server (what a tool's `cluster` argument takes). */
  cluster?: string;
}

/**
 * How fresh a live source's cached state is (see {@linkcode ClusterSource.snapshotInfo}).
 * Kinds are named by resource key, with the namespace in parentheses for a
 * namespace-scoped cache: `pods`, `configmaps (linkerd)`.
 */
export interface SnapshotInfo {
  /** Kinds served from a healthy watch: current, and read without an API request. */
  watched: string[];
  /** Kinds whose watch is down; listed on each call until it reconnects. */
  reconnecting: string[];
  /** Kinds that RBAC forbids watching: listed on each call, reused for `cacheTtlMs`. */
  listed: string[];
  /** When a watched kind last changed (ISO 8601). */
  lastChange?: string;
  cacheTtlMs: number;
}

/** Read-only access to cluster state. */
export interface ClusterSource {
  readonly kind: SourceKind;
  /** One line for people: `cluster "kind-dev" at https://127.0.0.1:6443`, `manifests: ./gitops (42 objects)`. */
  describe(): string;
  /** The structured form of {@linkcode describe}; derived from `kind` and `describe()` when absent. */
  sourceInfo?(): SourceInfo;
  /**
   * Lists objects of one resource type.
   *
   * @throws {KubeApiError} when the API server refuses or cannot be reached. A resource
   * type that the cluster does not serve (CRD not installed) throws with status 404.
   */
  list(resource: ResourceKey, opts?: ListOptions): Promise<KubeObject[]>;
  /**
   * Reads one object; `undefined` when it does not exist. `opts.signal` stops it.
   *
   * @throws {KubeApiError} when the API server refuses or cannot be reached.
   */
  get(
    resource: ResourceKey,
    name: string,
    namespace?: string,
    opts?: GetOptions,
  ): Promise<KubeObject | undefined>;
  /** Live sources: how fresh the cached state is. */
  snapshotInfo?(): SnapshotInfo;
  /** Releases connections, watches and timers. */
  close?(): Promise<void>;
}

/** The property under which a wrapping source names the source it wraps. */
export const WRAPPED_SOURCE: unique symbol = Symbol("linkerd-mcp.wrappedSource");

/**
 * The source a wrapper (such as a call's progress reporter) stands for, or `source`
 * itself: caches keyed by source use it, so a wrapped call reuses the warm state.
 */
export function underlyingSource(source: ClusterSource): ClusterSource {
  let s = source;
  for (let i = 0; i < 8; i++) {
    const inner = (s as { [WRAPPED_SOURCE]?: ClusterSource })[WRAPPED_SOURCE];
    if (!inner) break;
    s = inner;
  }
  return s;
}
