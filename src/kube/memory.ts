/**
 * A {@linkcode ClusterSource} over objects held in memory: the base of the
 * manifests and demo sources, and of unit tests.
 *
 * @module
 */
import { matchesSelector, parseSelector } from "./selectors.ts";
import type { ClusterSource, ListOptions, SourceKind } from "./source.ts";
import { RESOURCE_KEYS, type ResourceKey, resourceKeyFor, RESOURCES } from "./resources.ts";
import type { KubeObject } from "./types.ts";

/** Options for {@linkcode MemorySource}. */
export interface MemorySourceOptions {
  kind: SourceKind;
  /** What `describe()` returns. */
  description: string;
}

/** Serves a fixed set of objects with Kubernetes list/get semantics. Secrets are never held. */
export class MemorySource implements ClusterSource {
  readonly kind: SourceKind;
  readonly #description: string;
  readonly #byKey = new Map<ResourceKey, KubeObject[]>();

  constructor(objects: readonly KubeObject[], opts: MemorySourceOptions) {
    this.kind = opts.kind;
    this.#description = opts.description;
    for (const key of RESOURCE_KEYS) this.#byKey.set(key, []);
    for (const obj of objects) {
      const key = resourceKeyFor(obj.apiVersion, obj.kind);
      if (key) this.#byKey.get(key)!.push(obj);
    }
  }

  describe(): string {
    return this.#description;
  }

  /** Every object held, in load order. */
  all(): KubeObject[] {
    return [...this.#byKey.values()].flat();
  }

  list(resource: ResourceKey, opts: ListOptions = {}): Promise<KubeObject[]> {
    let items = this.#byKey.get(resource) ?? [];
    if (opts.namespace !== undefined && RESOURCES[resource].namespaced) {
      items = items.filter((o) => o.metadata.namespace === opts.namespace);
    }
    if (opts.labelSelector) {
      const sel = parseSelector(opts.labelSelector);
      items = items.filter((o) => matchesSelector(sel, o.metadata.labels));
    }
    return Promise.resolve([...items]);
  }

  get(resource: ResourceKey, name: string, namespace?: string): Promise<KubeObject | undefined> {
    const namespaced = RESOURCES[resource].namespaced;
    return Promise.resolve(
      (this.#byKey.get(resource) ?? []).find((o) =>
        o.metadata.name === name && (!namespaced || o.metadata.namespace === namespace)
      ),
    );
  }
}
