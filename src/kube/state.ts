/**
 * A snapshot of cluster state, loaded through a {@linkcode ClusterSource} and then
 * handed to pure domain code (mesh model, policy, validation).
 *
 * @module
 */
import { KubeApiError } from "../errors.ts";
import { type ClusterSource, underlyingSource } from "./source.ts";
import type { ResourceKey } from "./resources.ts";
import { resourceKeyFor, RESOURCES } from "./resources.ts";
import type { KubeObject } from "./types.ts";

/** The Linkerd ConfigMaps read by name; ConfigMaps are never listed. */
export const LINKERD_CONFIGMAPS = ["linkerd-config", "linkerd-identity-trust-roots"] as const;

/** Objects of the requested resource types, as the source returned them. */
export interface ClusterState {
  /** `describe()` of the source. */
  readonly source: string;
  /** The control plane's namespace (`LINKERD_NAMESPACE`, default `linkerd`). */
  readonly linkerdNamespace: string;
  readonly objects: Partial<Record<ResourceKey, readonly KubeObject[]>>;
  /** Resource types the cluster does not serve (their CRD is not installed). */
  readonly missing: readonly ResourceKey[];
  /**
   * Cluster-scoped resource types that RBAC forbade listing (read as empty); set only by
   * {@linkcode loadStateInNamespaces}.
   */
  readonly forbidden?: readonly ResourceKey[];
}

/** Options for {@linkcode loadState}. */
export interface LoadStateOptions {
  /** Control plane namespace; its Linkerd ConfigMaps are read when `configmaps` is requested. */
  linkerdNamespace: string;
  /** Restrict namespaced lists to one namespace. */
  namespace?: string;
  signal?: AbortSignal;
}

/**
 * Lists the given resource types concurrently. A resource type that is not served
 * (404, CRD missing) is recorded in `missing` and reads as empty; any other error
 * propagates. ConfigMaps are read by name (only Linkerd's own), never listed.
 *
 * @throws {KubeApiError} when the API server refuses or cannot be reached.
 */
export async function loadState(
  source: ClusterSource,
  resources: readonly ResourceKey[],
  opts: LoadStateOptions,
): Promise<ClusterState> {
  const missing: ResourceKey[] = [];
  const objects: Partial<Record<ResourceKey, KubeObject[]>> = {};
  await Promise.all([...new Set(resources)].map(async (key) => {
    try {
      if (key === "configmaps") {
        const found = await Promise.all(
          LINKERD_CONFIGMAPS.map((name) =>
            source.get(
              "configmaps",
              name,
              opts.linkerdNamespace,
              opts.signal ? { signal: opts.signal } : {},
            )
          ),
        );
        objects[key] = found.filter((o): o is KubeObject => o !== undefined);
        return;
      }
      const namespace = RESOURCES[key].namespaced ? opts.namespace : undefined;
      objects[key] = await source.list(key, {
        ...(namespace !== undefined ? { namespace } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404 && RESOURCES[key].group !== "") {
        missing.push(key);
        objects[key] = [];
        return;
      }
      throw err;
    }
  }));
  missing.sort();
  const state = {
    source: source.describe(),
    linkerdNamespace: opts.linkerdNamespace,
    objects,
    missing,
  };
  const key = `${[...new Set(resources)].sort().join(",")}|${
    opts.namespace ?? ""
  }|${opts.linkerdNamespace}`;
  return reused(source, key, state);
}

/** The last states loaded per source and request (a few per source). */
const lastStates = new WeakMap<ClusterSource, Map<string, ClusterState>>();
const MAX_STATES_PER_SOURCE = 16;

/**
 * The state loaded last for the same request when it holds the very same objects (a
 * watch-fed source hands out unchanged objects as they were), else `state`: while the
 * cluster does not change, every call gets the same state object, so whatever is memoised
 * on its identity (the policy model) is reused.
 */
function reused(wrapped: ClusterSource, key: string, state: ClusterState): ClusterState {
  const source = underlyingSource(wrapped);
  let states = lastStates.get(source);
  if (!states) lastStates.set(source, states = new Map());
  const prev = states.get(key);
  if (prev && sameObjects(prev, state)) return prev;
  states.delete(key);
  states.set(key, state);
  if (states.size > MAX_STATES_PER_SOURCE) states.delete(states.keys().next().value!);
  return state;
}

function sameObjects(a: ClusterState, b: ClusterState): boolean {
  if (a.source !== b.source || a.missing.join() !== b.missing.join()) return false;
  const keys = Object.keys(b.objects) as ResourceKey[];
  if (Object.keys(a.objects).length !== keys.length) return false;
  for (const k of keys) {
    const x = a.objects[k];
    const y = b.objects[k]!;
    if (!x || x.length !== y.length) return false;
    for (let i = 0; i < y.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

/** True for a {@linkcode KubeApiError} with status 403 (RBAC forbids the request). */
export function isForbidden(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.status === 403;
}

/**
 * Like {@linkcode loadState}, but lists each namespaced resource type once per given
 * namespace and merges the results: the fallback when RBAC forbids all-namespace lists.
 * Cluster-scoped types are listed once; if RBAC forbids them they read as empty and are
 * recorded in `forbidden`. A 403 on a namespaced list propagates. ConfigMaps are read by
 * name in the control plane's namespace, as `loadState` does.
 *
 * @throws {KubeApiError} when the API server refuses a namespaced read or cannot be reached.
 */
export async function loadStateInNamespaces(
  source: ClusterSource,
  resources: readonly ResourceKey[],
  namespaces: readonly string[],
  opts: Omit<LoadStateOptions, "namespace">,
): Promise<ClusterState> {
  const keys = [...new Set(resources)];
  const scopes = [...new Set(namespaces)];
  const cluster = keys.filter((k) => k === "configmaps" || !RESOURCES[k].namespaced);
  const namespaced = keys.filter((k) => !cluster.includes(k));
  const forbidden: ResourceKey[] = [];
  const [clusterWide, ...perNamespace] = await Promise.all([
    Promise.all(cluster.map(async (key) => {
      try {
        return await loadState(source, [key], opts);
      } catch (err) {
        if (!isForbidden(err) || key === "configmaps") throw err;
        forbidden.push(key);
        return undefined;
      }
    })),
    ...scopes.map((namespace) => loadState(source, namespaced, { ...opts, namespace })),
  ]);
  const parts = [...clusterWide!, ...perNamespace].filter((p) => p !== undefined);
  const merged = mergeStates(source.describe(), opts.linkerdNamespace, parts);
  const objects = { ...merged.objects };
  for (const key of keys) objects[key] ??= [];
  return { ...merged, objects, forbidden: forbidden.sort() };
}

/**
 * Merges states loaded from disjoint scopes (namespaces, resource types): objects are
 * concatenated per type, `missing` and `forbidden` are unions.
 */
export function mergeStates(
  source: string,
  linkerdNamespace: string,
  parts: readonly ClusterState[],
): ClusterState {
  // The same parts (reused states of an unchanged watch-fed source) give the same state,
  // so that what is memoised on its identity stays valid.
  const last = parts[0] ? lastMerges.get(parts[0]) : undefined;
  if (
    last && last.source === source && last.linkerdNamespace === linkerdNamespace &&
    last.parts.length === parts.length && last.parts.every((p, i) => p === parts[i])
  ) return last.state;
  const state = mergeParts(source, linkerdNamespace, parts);
  if (parts[0]) lastMerges.set(parts[0], { source, linkerdNamespace, parts: [...parts], state });
  return state;
}

/** The last merge per first part (see {@linkcode mergeStates}). */
const lastMerges = new WeakMap<ClusterState, {
  source: string;
  linkerdNamespace: string;
  parts: readonly ClusterState[];
  state: ClusterState;
}>();

function mergeParts(
  source: string,
  linkerdNamespace: string,
  parts: readonly ClusterState[],
): ClusterState {
  const objects: Partial<Record<ResourceKey, KubeObject[]>> = {};
  const missing = new Set<ResourceKey>();
  const forbidden = new Set<ResourceKey>();
  for (const part of parts) {
    for (const [key, items] of Object.entries(part.objects) as [ResourceKey, KubeObject[]][]) {
      const into = (objects[key] ??= []);
      // no push(...items): spreading a list of 100k+ objects overflows the call stack
      for (const item of items) into.push(item);
    }
    for (const m of part.missing) missing.add(m);
    for (const f of part.forbidden ?? []) forbidden.add(f);
  }
  return {
    source,
    linkerdNamespace,
    objects,
    missing: [...missing].sort(),
    ...(forbidden.size ? { forbidden: [...forbidden].sort() } : {}),
  };
}

/** The objects of one resource type in a state (empty when not loaded). */
export function itemsOf(
  state: ClusterState,
  key: ResourceKey,
  namespace?: string,
): readonly KubeObject[] {
  const all = state.objects[key] ?? [];
  return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
}

/** Buckets plain objects into a state (manifests, demo, tests). Unknown kinds and Secrets are dropped. */
export function stateFromObjects(
  objects: readonly KubeObject[],
  opts: { source: string; linkerdNamespace: string; missing?: readonly ResourceKey[] },
): ClusterState {
  const buckets: Partial<Record<ResourceKey, KubeObject[]>> = {};
  for (const obj of objects) {
    const key = resourceKeyFor(obj.apiVersion, obj.kind);
    if (key === undefined) continue;
    (buckets[key] ??= []).push(obj);
  }
  return {
    source: opts.source,
    linkerdNamespace: opts.linkerdNamespace,
    objects: buckets,
    missing: opts.missing ?? [],
  };
}
