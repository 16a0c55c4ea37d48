/**
 * A {@linkcode MemorySource} that answers some requests with 403, as RBAC scoped to a
 * few namespaces would: all-namespace lists of namespaced resources, lists and gets in
 * the given namespaces, and (optionally) cluster-scoped resources. It records every call.
 *
 * @module
 */
import { KubeApiError } from "../../src/errors.ts";
import { MemorySource } from "../../src/kube/memory.ts";
import { type ResourceKey, RESOURCES } from "../../src/kube/resources.ts";
import type { ListOptions } from "../../src/kube/source.ts";
import type { KubeObject } from "../../src/kube/types.ts";

/** What RBAC forbids. */
export interface RbacRules {
  /** Namespaces in which nothing may be read. */
  namespaces?: readonly string[];
  /** Resource types that may not be read at all (e.g. `namespaces`). */
  resources?: readonly ResourceKey[];
  /** Resource types the cluster does not serve (404, CRD not installed). */
  unserved?: readonly ResourceKey[];
  /** Whether all-namespace lists of namespaced resources are allowed (default false). */
  allowAllNamespaces?: boolean;
}

function forbidden(resource: ResourceKey, namespace?: string): KubeApiError {
  const where = namespace === undefined
    ? "at the cluster scope"
    : `in the namespace "${namespace}"`;
  return new KubeApiError(
    `${RESOURCES[resource].plural} is forbidden: User "test" cannot list resource "${
      RESOURCES[resource].plural
    }" ${where}`,
    { status: 403, reason: "Forbidden" },
  );
}

/** Serves objects like {@linkcode MemorySource}, refusing what {@linkcode RbacRules} forbid. */
export class RbacSource extends MemorySource {
  readonly calls: string[] = [];
  readonly #rules: RbacRules;

  constructor(objects: readonly KubeObject[], rules: RbacRules = {}) {
    super(objects, { kind: "live", description: "rbac test cluster" });
    this.#rules = rules;
  }

  override list(resource: ResourceKey, opts: ListOptions = {}): Promise<KubeObject[]> {
    const ns = RESOURCES[resource].namespaced ? opts.namespace : undefined;
    this.calls.push(`list ${resource}${ns !== undefined ? ` -n ${ns}` : ""}`);
    if (this.#rules.unserved?.includes(resource)) {
      return Promise.reject(
        new KubeApiError(`the server could not find the requested resource (${resource})`, {
          status: 404,
          reason: "NotFound",
        }),
      );
    }
    if (this.#refused(resource, ns)) return Promise.reject(forbidden(resource, ns));
    return super.list(resource, opts);
  }

  override get(
    resource: ResourceKey,
    name: string,
    namespace?: string,
  ): Promise<KubeObject | undefined> {
    this.calls.push(`get ${resource} ${namespace ?? ""}/${name}`);
    if (this.#refused(resource, namespace, true)) {
      return Promise.reject(forbidden(resource, namespace));
    }
    return super.get(resource, name, namespace);
  }

  #refused(resource: ResourceKey, namespace: string | undefined, isGet = false): boolean {
    const r = this.#rules;
    if (r.resources?.includes(resource)) return true;
    if (!RESOURCES[resource].namespaced) return false;
    if (namespace === undefined) return !isGet && !r.allowAllNamespaces;
    return r.namespaces?.includes(namespace) ?? false;
  }
}
