/**
 * Objects defined more than once in a manifests set (the same kind, group, namespace
 * and name in two files or two documents). Applying both keeps whichever is applied
 * last, so the validator checks that one and reports the others as defined twice,
 * instead of reading the copies as two objects (two overlapping Servers, say).
 *
 * @module
 */
import type { ResourceKey } from "../kube/resources.ts";
import type { ClusterState } from "../kube/state.ts";
import { type KubeObject, positionOf } from "../kube/types.ts";

/** An object that another definition of the same object replaces. */
export interface Duplicate {
  /** The definition that is replaced (applied earlier). */
  obj: KubeObject;
  /** The definition that is kept (applied last). */
  kept: KubeObject;
  /** True when both definitions hold the same content. */
  identical: boolean;
}

/** The state with one definition per object, and the definitions it dropped. */
export interface Deduplicated {
  state: ClusterState;
  duplicates: Duplicate[];
}

/** Canonical JSON (object keys sorted), to compare two definitions. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return `{${
      keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
        .join(",")
    }}`;
  }
  return JSON.stringify(v) ?? "null";
}

function where(o: KubeObject): string | undefined {
  const p = positionOf(o);
  return p ? `${p.file}:${p.line}` : undefined;
}

/**
 * Keeps the last definition of every object (load order, which is `kubectl apply -f`
 * order) and returns the earlier ones. Pods synthesised from a dropped workload
 * definition (same manifest position) are dropped too, silently.
 */
export function deduplicate(state: ClusterState): Deduplicated {
  const duplicates: Duplicate[] = [];
  const droppedAt = new Set<string>();
  const objects: Partial<Record<ResourceKey, readonly KubeObject[]>> = {};
  let changed = false;
  for (const [key, list] of Object.entries(state.objects) as [ResourceKey, KubeObject[]][]) {
    const last = new Map<string, KubeObject>();
    for (const o of list) last.set(`${o.metadata.namespace ?? ""}/${o.metadata.name}`, o);
    if (last.size === list.length) {
      objects[key] = list;
      continue;
    }
    changed = true;
    const kept = new Set(last.values());
    for (const o of list) {
      if (kept.has(o)) continue;
      const winner = last.get(`${o.metadata.namespace ?? ""}/${o.metadata.name}`)!;
      const at = where(o);
      if (at) droppedAt.add(at);
      // Two copies of a pod synthesised from one workload are not the user's doing.
      if (key === "pods" && o.metadata.ownerReferences?.length) continue;
      duplicates.push({ obj: o, kept: winner, identical: canonical(o) === canonical(winner) });
    }
    objects[key] = list.filter((o) => kept.has(o));
  }
  if (!changed) return { state, duplicates };
  const pods = objects.pods;
  if (pods && droppedAt.size) {
    objects.pods = pods.filter((p) => {
      const at = where(p);
      return !(at && p.metadata.ownerReferences?.length && droppedAt.has(at));
    });
  }
  return { state: { ...state, objects }, duplicates };
}
