/**
 * What the live source keeps of an object, made small on arrival: fields nothing in this
 * project reads are dropped (`metadata.managedFields`, `kubectl`'s last-applied copy, and of
 * pods the scheduling, volume and security details), and equal parts of objects of one kind
 * (labels, annotations, owner references, each part of `spec` and `status`: the pods of one
 * ReplicaSet are mostly alike) are shared as one frozen copy. Shared parts are frozen, so
 * that code changing one fails loudly instead of changing its siblings.
 *
 * Pure: no I/O.
 *
 * @module
 */
import type { KubeObject } from "./types.ts";

/** Metadata dropped: the field managers' record (the largest part of most objects). */
const DROPPED_META = new Set(["managedFields"]);

/** Metadata parts shared between objects. */
const SHARED_META = ["labels", "annotations", "ownerReferences"];

/** Annotations dropped: a full copy of the object as last applied (often the largest field). */
const DROPPED_ANNOTATIONS = new Set(["kubectl.kubernetes.io/last-applied-configuration"]);

/** Pod `spec` fields dropped (nothing reads them; see `PodSpec` in types.ts). */
const DROPPED_POD_SPEC = new Set([
  "volumes",
  "tolerations",
  "affinity",
  "securityContext",
  "dnsPolicy",
  "dnsConfig",
  "schedulerName",
  "priority",
  "priorityClassName",
  "preemptionPolicy",
  "enableServiceLinks",
  "terminationGracePeriodSeconds",
  "topologySpreadConstraints",
  "nodeSelector",
  "imagePullSecrets",
  "readinessGates",
  "overhead",
]);

/** Container fields dropped in pods (see `ContainerSpec` in types.ts). */
const DROPPED_CONTAINER = new Set([
  "volumeMounts",
  "volumeDevices",
  "resources",
  "securityContext",
  "terminationMessagePath",
  "terminationMessagePolicy",
  "imagePullPolicy",
]);

/** Pod `status` fields dropped (see `PodStatus` in types.ts). */
const DROPPED_POD_STATUS = new Set(["hostIP", "hostIPs", "qosClass", "startTime"]);

/** Container status fields dropped (see `ContainerStatus` in types.ts). */
const DROPPED_CONTAINER_STATUS = new Set(["imageID", "containerID", "lastState", "volumeMounts"]);

/** Most parts remembered for sharing; past it the table starts over (kept objects stay). */
const MAX_PARTS = 200_000;

/**
 * Trims and shares the objects of one kind as they arrive. One per kind (and scope): the
 * table of parts lives as long as the cache.
 */
export class Compactor {
  /** Parts seen, by structural hash (collisions are told apart by comparison). */
  #parts = new Map<number, unknown[]>();
  #size = 0;

  /** Trims `obj`, replaces its parts by equal ones already held, and returns it. */
  compact(obj: KubeObject): KubeObject {
    let meta = without(obj.metadata as unknown as Record<string, unknown>, DROPPED_META);
    const annotations = record(meta["annotations"]);
    if (annotations) {
      const kept = without(annotations, DROPPED_ANNOTATIONS);
      if (kept !== annotations) meta = { ...meta, annotations: kept };
    }
    obj.metadata = meta as unknown as KubeObject["metadata"];
    if (obj.kind === "Pod") trimPod(obj);
    for (const key of SHARED_META) if (isPart(meta[key])) meta[key] = this.#share(meta[key]);
    for (const top of ["spec", "status"] as const) {
      const v = record(obj[top]);
      if (!v) continue;
      for (const key of Object.keys(v)) if (isPart(v[key])) v[key] = this.#share(v[key]);
    }
    return obj;
  }

  /** Forgets the parts (a relist starts a new table). */
  reset(): void {
    this.#parts = new Map();
    this.#size = 0;
  }

  #share(part: unknown): unknown {
    const h = hashOf(part, 0x811c9dc5);
    const bucket = this.#parts.get(h);
    if (bucket) {
      for (const held of bucket) if (equal(held, part)) return held;
    }
    if (this.#size >= MAX_PARTS) this.reset();
    deepFreeze(part);
    if (bucket && this.#parts.get(h) === bucket) bucket.push(part);
    else this.#parts.set(h, [part]);
    this.#size++;
    return part;
  }
}

function trimPod(pod: KubeObject): void {
  const spec = record(pod.spec);
  if (spec) {
    const kept = without(spec, DROPPED_POD_SPEC);
    for (const list of ["containers", "initContainers"]) {
      if (Array.isArray(kept[list])) kept[list] = eachWithout(kept[list], DROPPED_CONTAINER);
    }
    pod.spec = kept;
  }
  const status = record(pod.status);
  if (status) {
    const kept = without(status, DROPPED_POD_STATUS);
    for (const list of ["containerStatuses", "initContainerStatuses"]) {
      if (Array.isArray(kept[list])) kept[list] = eachWithout(kept[list], DROPPED_CONTAINER_STATUS);
    }
    // Only type and status are read; the times would make every pod's conditions unique.
    if (Array.isArray(kept["conditions"])) {
      kept["conditions"] = eachWithout(kept["conditions"], DROPPED_CONDITION);
    }
    pod.status = kept;
  }
}

const DROPPED_CONDITION = new Set(["lastProbeTime", "lastTransitionTime"]);

/**
 * `o` without the keys in `drop`: `o` itself when it has none of them, else a new object
 * (deleting a property would turn V8's compact object into a larger dictionary).
 */
function without(o: Record<string, unknown>, drop: ReadonlySet<string>): Record<string, unknown> {
  let found = false;
  for (const k in o) {
    if (drop.has(k)) {
      found = true;
      break;
    }
  }
  if (!found) return o;
  const out: Record<string, unknown> = {};
  for (const k in o) if (!drop.has(k)) out[k] = o[k];
  return out;
}

function eachWithout(list: unknown[], drop: ReadonlySet<string>): unknown[] {
  let changed = false;
  const out = list.map((x) => {
    const r = record(x);
    const kept = r ? without(r, drop) : x;
    if (kept !== x) changed = true;
    return kept;
  });
  return changed ? out : list;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

/** An object or array worth sharing. */
function isPart(v: unknown): boolean {
  return typeof v === "object" && v !== null;
}

/** FNV-1a over the structure (keys in order, values), 31 bits (a small integer key). */
function hashOf(v: unknown, h: number): number {
  if (typeof v === "string") {
    h = mix(h, 0x73);
    for (let i = 0; i < v.length; i++) h = mix(h, v.charCodeAt(i));
    return h;
  }
  if (Array.isArray(v)) {
    h = mix(h, 0x5b);
    for (const x of v) h = hashOf(x, h);
    return mix(h, 0x5d);
  }
  if (v && typeof v === "object") {
    h = mix(h, 0x7b);
    for (const k in v) {
      h = hashOf(k, h);
      h = hashOf((v as Record<string, unknown>)[k], h);
    }
    return mix(h, 0x7d);
  }
  return hashOf(String(v), mix(h, typeof v === "number" ? 0x6e : 0x62));
}

function mix(h: number, c: number): number {
  return (Math.imul(h ^ c, 0x01000193) >>> 0) & 0x7fffffff;
}

/** Structural equality of JSON values, key order included (as parsed). */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i]) return false;
    if (!equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

function deepFreeze(v: unknown): void {
  if (typeof v !== "object" || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const k in v) deepFreeze((v as Record<string, unknown>)[k]);
}
