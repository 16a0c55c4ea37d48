/**
 * The policy index: the {@linkcode PolicyModel} of a state plus what the connectivity
 * questions need on top of it (Services and the pods they select, client profiles),
 * resolved once per state so that per-request lookups are map reads.
 *
 * @module
 */
import { serviceSelects } from "../kube/selectors.ts";
import { type ClusterState, itemsOf } from "../kube/state.ts";
import type { KubeObject } from "../kube/types.ts";
import type { MeshConfig } from "../mesh/config.ts";
import type { Pod, Service } from "../mesh/pods.ts";
import { compareKeys, push } from "./_order.ts";
import { policyModel } from "./model/build.ts";
import type { PolicyModel } from "./model/types.ts";
import type { Client, InboundServer, NetworkMatch } from "./types.ts";

/** The resolved policy state. */
export interface PolicyIndex {
  model: PolicyModel;
  mesh: MeshConfig;
  clusterNetworks: NetworkMatch[];
  namespaces: Map<string, KubeObject>;
  podsByNs: Map<string, Pod[]>;
  /** `ns/name` → Service. */
  services: Map<string, Service>;
  /** Service keys, sorted. */
  serviceKeys: string[];
  /** `ns/name` of a Service → the pods it selects. */
  servicePods: Map<string, Pod[]>;
  /** `ns/name` of a pod → keys of the Services that select it. */
  podServices: Map<string, string[]>;
  /** Memo of client profiles per source key. */
  clients: Map<string, Client[]>;
  /** Memo of computed inbound servers (kept for callers that clear it; the model memoises). */
  cache: Map<string, InboundServer>;
}

/** Options for {@linkcode buildPolicyIndex}. */
export interface BuildPolicyIndexOptions {
  /** Mesh settings (trust domain, cluster networks, default policy) from `readMeshConfig`. */
  mesh: MeshConfig;
  /** A model to use instead of the memoised `policyModel(state, {mesh})`. */
  model?: PolicyModel;
}

/** Indexes over memoised models: one per model (a model belongs to one state and mesh). */
const INDEXES = new WeakMap<PolicyModel, PolicyIndex>();

/**
 * Builds the index over the state's (memoised) model; pure. Over the memoised model it is
 * built once (its memo maps fill as questions are asked), like the model, while the state
 * object is reused (a watch-fed source with no change).
 */
export function buildPolicyIndex(state: ClusterState, opts: BuildPolicyIndexOptions): PolicyIndex {
  if (opts.model) return indexOver(state, opts.mesh, opts.model);
  const model = policyModel(state, { mesh: opts.mesh });
  let idx = INDEXES.get(model);
  if (!idx) INDEXES.set(model, idx = indexOver(state, opts.mesh, model));
  return idx;
}

function indexOver(state: ClusterState, mesh: MeshConfig, model: PolicyModel): PolicyIndex {
  const idx: PolicyIndex = {
    model,
    mesh,
    clusterNetworks: model.clusterNetworks,
    namespaces: new Map(itemsOf(state, "namespaces").map((n) => [n.metadata.name, n])),
    podsByNs: new Map(),
    services: new Map(),
    serviceKeys: [],
    servicePods: new Map(),
    podServices: new Map(),
    clients: new Map(),
    cache: new Map(),
  };
  // pods by namespace and by `key=value` label, so that a selector reads one bucket
  const byLabel = new Map<string, Pod[]>();
  for (const pod of model.pods) {
    const ns = pod.metadata.namespace ?? "";
    push(idx.podsByNs, ns, pod);
    for (const [k, v] of Object.entries(pod.metadata.labels ?? {})) {
      push(byLabel, `${ns}\u0000${k}\u0000${v}`, pod);
    }
  }
  for (const svc of itemsOf(state, "services") as readonly Service[]) {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    idx.services.set(key, svc);
    const selector = svc.spec?.selector;
    const ns = svc.metadata.namespace ?? "";
    let bucket: Pod[] = [];
    const pairs = Object.entries(selector ?? {});
    for (const [i, [k, v]] of pairs.entries()) {
      const b = byLabel.get(`${ns}\u0000${k}\u0000${v}`) ?? [];
      if (i === 0 || b.length < bucket.length) bucket = b;
    }
    const pods = bucket.filter((p) => serviceSelects(selector, p.metadata.labels));
    idx.servicePods.set(key, pods);
    for (const p of pods) push(idx.podServices, `${p.metadata.namespace}/${p.metadata.name}`, key);
  }
  idx.serviceKeys = [...idx.services.keys()].sort(compareKeys);
  for (const list of idx.podServices.values()) list.sort(compareKeys);
  return idx;
}
