/**
 * The clusters one server serves: a name for each (a kubeconfig context, a
 * `--manifests NAME=PATH` set, or a demo cluster), which one is the default, and for
 * each its own source (and so its own cache), Prometheus client and configuration.
 * Tools take a `cluster` argument that picks one (`src/tools/_spec.ts`); a cluster is
 * built on its first use, so a user of one cluster pays for no other.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { ClusterSource } from "../kube/source.ts";
import type { PromClient } from "../metrics/prom_client.ts";

/** One cluster, ready to read. */
export interface ClusterHandle {
  /** The name tools take as `cluster` (a kubeconfig context name, `east`, `manifests`). */
  name: string;
  /**
   * The name the Links of other clusters use for it (their `spec.targetClusterName`):
   * the configured `linkName`, else {@linkcode name}.
   */
  linkName: string;
  source: ClusterSource;
  prom: PromClient;
  /** The base configuration with this cluster's overrides (`LINKERD_MCP_CONFIG`). */
  config: Config;
}

/** What is known of a cluster without building it. */
export interface ClusterSummary {
  name: string;
  linkName: string;
  /** The default cluster: tools read it when no `cluster` is given. */
  default: boolean;
}

/** A cluster name that this server does not know. */
export class UnknownClusterError extends Error {
  constructor(readonly cluster: string, readonly known: readonly string[]) {
    super(
      `Unknown cluster "${cluster}": this server knows ${
        known.map((n) => `"${n}"`).join(", ") || "no cluster"
      }; call list_clusters to see them, or omit "cluster" for the default`,
    );
    this.name = "UnknownClusterError";
  }
}

/** The clusters this server serves. */
export interface ClusterSet {
  /**
   * Every cluster, the default first. Asynchronous: a live server learns its clusters
   * from the kubeconfig on first use, not at start-up.
   */
  list(): Promise<ClusterSummary[]>;
  /**
   * The cluster named `name` (the default when absent), built on first use; concurrent
   * first uses share one build.
   *
   * @throws {UnknownClusterError} for a name this server does not know.
   */
  get(name?: string): Promise<ClusterHandle>;
  /**
   * The cluster that a Link's `targetClusterName` refers to (by its `linkName`);
   * `undefined` when this server does not serve it.
   */
  forLinkTarget(targetClusterName: string): Promise<ClusterHandle | undefined>;
  /** Closes every cluster that was built. */
  close(): Promise<void>;
}

/** How to build one cluster of a {@linkcode createClusterSet}. */
export interface ClusterEntry {
  name: string;
  /** Default: `name`. */
  linkName?: string;
  build(): Promise<ClusterHandle>;
}

/** The clusters of a set and its default (the first when absent). */
export interface ClusterEntries {
  entries: readonly ClusterEntry[];
  defaultName?: string;
}

/**
 * A cluster set over `entries` (the first is the default unless `defaultName` says
 * otherwise), or over a loader of them that runs on first use (once; a failed load is
 * tried again on the next use). A failed build is not remembered either.
 *
 * @throws {TypeError} when there is no cluster, or the default is not one of them.
 */
export function createClusterSet(
  entries: readonly ClusterEntry[] | (() => Promise<ClusterEntries>),
  defaultName?: string,
): ClusterSet {
  interface Index {
    byName: Map<string, ClusterEntry>;
    ordered: ClusterEntry[];
    defaultName: string;
  }
  const index = (given: ClusterEntries): Index => {
    const name = given.defaultName ?? given.entries[0]?.name;
    if (given.entries.length === 0 || name === undefined) {
      throw new TypeError("a cluster set needs at least one cluster");
    }
    const byName = new Map(given.entries.map((e) => [e.name, e]));
    const first = byName.get(name);
    if (!first) throw new TypeError(`unknown default cluster "${name}"`);
    return {
      byName,
      ordered: [first, ...given.entries.filter((e) => e.name !== name)],
      defaultName: name,
    };
  };
  let loaded: Promise<Index> | undefined = typeof entries === "function"
    ? undefined
    : Promise.resolve(index({ entries, ...(defaultName ? { defaultName } : {}) }));
  const load = (): Promise<Index> => {
    if (!loaded) {
      const loading = (entries as () => Promise<ClusterEntries>)().then(index);
      loaded = loading;
      loading.catch(() => {
        if (loaded === loading) loaded = undefined;
      });
    }
    return loaded;
  };
  const built = new Map<string, Promise<ClusterHandle>>();
  const set: ClusterSet = {
    async list() {
      const { ordered, defaultName } = await load();
      return ordered.map((e) => ({
        name: e.name,
        linkName: e.linkName ?? e.name,
        default: e.name === defaultName,
      }));
    },
    async get(name) {
      const { byName, ordered, defaultName } = await load();
      const key = name ?? defaultName;
      const entry = byName.get(key);
      if (!entry) throw new UnknownClusterError(key, ordered.map((e) => e.name));
      let handle = built.get(key);
      if (!handle) {
        handle = entry.build();
        built.set(key, handle);
        handle.catch(() => built.delete(key));
      }
      return handle;
    },
    async forLinkTarget(target) {
      const { ordered } = await load();
      const entry = ordered.find((e) => (e.linkName ?? e.name) === target);
      return entry ? set.get(entry.name) : undefined;
    },
    async close() {
      const handles = await Promise.allSettled([...built.values()]);
      await Promise.allSettled(
        handles.map((h) => h.status === "fulfilled" ? h.value.source.close?.() : undefined),
      );
    },
  };
  return set;
}

/** A set of one already-built cluster (tests, and callers that serve a single source). */
export function singleClusterSet(handle: ClusterHandle): ClusterSet {
  return createClusterSet([{
    name: handle.name,
    linkName: handle.linkName,
    build: () => Promise.resolve(handle),
  }]);
}
