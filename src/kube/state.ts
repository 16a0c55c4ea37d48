/**
 * A snapshot of cluster state, loaded through a {@linkcode ClusterSource} and then
 * handed to pure domain code (mesh model, policy, validation).
 *
 * @module
 */
import { KubeApiError } from "../errors.ts";
import type { ClusterSource } from "./source.ts";
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
          LINKERD_CONFIGMAPS.map((name) => source.get("configmaps", name, opts.linkerdNamespace)),
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
  return { source: source.describe(), linkerdNamespace: opts.linkerdNamespace, objects, missing };
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
