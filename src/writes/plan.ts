/**
 * What a write does and how it is undone (pure): change ids, the labels and annotations
 * every written object carries, the previous version kept for rollback, the rollback plan
 * of a change and the patch that enforces a Server.
 *
 * Rollback state lives on the objects themselves, no extra resource type: every object a
 * change touches gets the label `linkerd-mcp/touched=true` and `linkerd-mcp/change-id=<id>`
 * (the latest change); an object it CREATED also gets `app.kubernetes.io/managed-by:
 * linkerd-mcp` and the annotation `linkerd-mcp/created-by-change: <id>`; an object it
 * CHANGED gets the annotation `linkerd-mcp/previous-<id>`: the JSON of its labels,
 * annotations and spec before the change.
 *
 * @module
 */
import type { KubeObject } from "../kube/types.ts";

/** The field manager of every write. */
export const FIELD_MANAGER = "linkerd-mcp";
/** Label on what a change creates. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
/** Its value. */
export const MANAGED_BY = "linkerd-mcp";
/** The latest change that touched the object. */
export const CHANGE_ID_LABEL = "linkerd-mcp/change-id";
/** On every object any change touched: what rollback lists. */
export const TOUCHED_LABEL = "linkerd-mcp/touched";
/** The change that created the object (rollback deletes it). */
export const CREATED_BY_ANNOTATION = "linkerd-mcp/created-by-change";
/** Prefix of the annotation holding the version before a change (rollback restores it). */
export const PREVIOUS_ANNOTATION_PREFIX = "linkerd-mcp/previous-";

const CHANGE_ID = /^c\d{8}-\d{6}-[0-9a-f]{6}$/;

/** A change id: `c20261201-091500-a1b2c3` (UTC time, then random hex); a valid label value. */
export function newChangeId(now: Date, randomHex: () => string): string {
  const iso = now.toISOString(); // 2026-12-01T09:15:00.000Z
  const date = iso.slice(0, 10).replaceAll("-", "");
  const time = iso.slice(11, 19).replaceAll(":", "");
  const hex = randomHex().toLowerCase().replace(/[^0-9a-f]/g, "").padEnd(6, "0").slice(0, 6);
  return `c${date}-${time}-${hex}`;
}

/** Whether `id` has the form {@linkcode newChangeId} makes. */
export function isChangeId(id: string): boolean {
  return CHANGE_ID.test(id);
}

/** The annotation key holding the previous version for `changeId`. */
export function previousAnnotation(changeId: string): string {
  return `${PREVIOUS_ANNOTATION_PREFIX}${changeId}`;
}

/** What is kept of an object before a change. */
export interface PreviousVersion {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Absent when the object had no spec. */
  spec?: unknown;
}

/** The version of `current` to keep in the previous-version annotation. */
export function previousVersionOf(current: KubeObject): PreviousVersion {
  const spec = (current as { spec?: unknown }).spec;
  return {
    labels: { ...(current.metadata.labels ?? {}) },
    annotations: { ...(current.metadata.annotations ?? {}) },
    ...(spec !== undefined ? { spec } : {}),
  };
}

/** Reads a previous-version annotation value, or `undefined` when it is not one. */
export function parsePreviousVersion(text: string | undefined): PreviousVersion | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const v = JSON.parse(text) as Partial<PreviousVersion>;
    if (!v || typeof v !== "object" || typeof v.labels !== "object" || !v.labels) return undefined;
    if (typeof v.annotations !== "object" || !v.annotations) return undefined;
    return {
      labels: v.labels,
      annotations: v.annotations,
      ...(v.spec !== undefined ? { spec: v.spec } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * The object to send with server-side apply for one document of a change: the document
 * plus the change's labels, and either the creation marks (no `current`) or the previous
 * version of `current`.
 */
export function applyBody(doc: KubeObject, changeId: string, current?: KubeObject): KubeObject {
  // Marks of earlier changes are kept: an apply by the same field manager that omitted them
  // would remove them, and with them the way back.
  const ours = (m: Record<string, string> | undefined, isOurs: (k: string, v: string) => boolean) =>
    Object.fromEntries(Object.entries(m ?? {}).filter(([k, v]) => isOurs(k, v)));
  const labels: Record<string, string> = {
    ...ours(
      current?.metadata.labels,
      (k, v) => k.startsWith("linkerd-mcp/") || (k === MANAGED_BY_LABEL && v === MANAGED_BY),
    ),
    ...(doc.metadata.labels ?? {}),
    [CHANGE_ID_LABEL]: changeId,
    [TOUCHED_LABEL]: "true",
  };
  const annotations: Record<string, string> = {
    ...ours(current?.metadata.annotations, (k) => k.startsWith("linkerd-mcp/")),
    ...(doc.metadata.annotations ?? {}),
  };
  if (current) {
    annotations[previousAnnotation(changeId)] = JSON.stringify(previousVersionOf(current));
  } else {
    labels[MANAGED_BY_LABEL] = MANAGED_BY;
    annotations[CREATED_BY_ANNOTATION] = changeId;
  }
  return { ...doc, metadata: { ...doc.metadata, labels, annotations } };
}

/** One RFC 6902 operation (the subset the write tools use). */
export type JsonPatchOp =
  | { op: "test"; path: string; value: unknown }
  | { op: "add" | "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

/** `a/b` → `a~1b` (a JSON pointer token). */
export function pointerToken(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * The patch that switches one Server from `accessPolicy: audit` to `deny`, guarded by tests
 * (still audit, still the version read), and records the change on the Server.
 */
export function enforcePatch(server: KubeObject, changeId: string): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [
    { op: "test", path: "/metadata/resourceVersion", value: server.metadata.resourceVersion },
    { op: "test", path: "/spec/accessPolicy", value: "audit" },
    { op: "replace", path: "/spec/accessPolicy", value: "deny" },
  ];
  if (!server.metadata.labels) ops.push({ op: "add", path: "/metadata/labels", value: {} });
  if (!server.metadata.annotations) {
    ops.push({ op: "add", path: "/metadata/annotations", value: {} });
  }
  ops.push(
    { op: "add", path: `/metadata/labels/${pointerToken(CHANGE_ID_LABEL)}`, value: changeId },
    { op: "add", path: `/metadata/labels/${pointerToken(TOUCHED_LABEL)}`, value: "true" },
    {
      op: "add",
      path: `/metadata/annotations/${pointerToken(previousAnnotation(changeId))}`,
      value: JSON.stringify(previousVersionOf(server)),
    },
  );
  return ops;
}

/**
 * Applies a JSON patch to a copy of `obj` (for sources without an API server).
 *
 * @throws {Error} with the RFC 6902 reason when a test fails or a path is missing
 */
export function applyJsonPatch<T>(obj: T, ops: readonly JsonPatchOp[]): T {
  const doc = structuredClone(obj) as unknown;
  for (const op of ops) {
    const tokens = op.path.split("/").slice(1).map((t) =>
      t.replaceAll("~1", "/").replaceAll("~0", "~")
    );
    const last = tokens.pop();
    if (last === undefined) throw new Error(`invalid path "${op.path}"`);
    let parent = doc as Record<string, unknown>;
    for (const t of tokens) {
      const next = parent?.[t];
      if (!next || typeof next !== "object") throw new Error(`path "${op.path}" does not exist`);
      parent = next as Record<string, unknown>;
    }
    switch (op.op) {
      case "test":
        if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) {
          throw new Error(`test failed: "${op.path}" is ${JSON.stringify(parent[last] ?? null)}`);
        }
        break;
      case "add":
        parent[last] = op.value;
        break;
      case "replace":
        if (!(last in parent)) throw new Error(`path "${op.path}" does not exist`);
        parent[last] = op.value;
        break;
      case "remove":
        if (!(last in parent)) throw new Error(`path "${op.path}" does not exist`);
        delete parent[last];
        break;
    }
  }
  return doc as T;
}

/**
 * Server-side apply of `applied` over `current`, approximated in memory (mappings merged
 * key by key, lists and scalars replaced) for sources without an API server.
 */
export function mergeApplied(current: KubeObject | undefined, applied: KubeObject): KubeObject {
  if (!current) return structuredClone(applied);
  return merge(structuredClone(current), applied) as KubeObject;
}

function merge(a: unknown, b: unknown): unknown {
  if (isMap(a) && isMap(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
    return out;
  }
  return structuredClone(b);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** How one object is brought back by a rollback. */
export type RollbackStep =
  | { action: "delete"; object: KubeObject }
  | { action: "restore"; object: KubeObject; restored: KubeObject }
  | { action: "blocked"; object: KubeObject; reason: string };

/**
 * The rollback of `changeId` over the objects carrying {@linkcode TOUCHED_LABEL}: delete
 * what it created, restore what it changed. An object a LATER change touched too is
 * blocked (roll back the later change first), so no later change is silently undone.
 */
export function rollbackPlan(changeId: string, touched: readonly KubeObject[]): RollbackStep[] {
  const steps: RollbackStep[] = [];
  const key = previousAnnotation(changeId);
  for (const obj of touched) {
    const ann = obj.metadata.annotations ?? {};
    const created = ann[CREATED_BY_ANNOTATION] === changeId;
    const previous = ann[key];
    if (!created && previous === undefined) continue;
    const later = laterChanges(ann, changeId);
    if (later.length) {
      steps.push({
        action: "blocked",
        object: obj,
        reason: `changed again by later change ${later.join(", ")}: roll ${
          later.length > 1 ? "those" : "it"
        } back first (rollback_policies {change_id: "${later.at(-1)}"})`,
      });
      continue;
    }
    if (created) {
      steps.push({ action: "delete", object: obj });
      continue;
    }
    const prev = parsePreviousVersion(previous);
    if (!prev) {
      steps.push({
        action: "blocked",
        object: obj,
        reason: `its annotation ${key} is not a previous version linkerd-mcp wrote`,
      });
      continue;
    }
    const restored = structuredClone(obj) as KubeObject & { spec?: unknown };
    restored.metadata = {
      ...restored.metadata,
      labels: prev.labels,
      annotations: prev.annotations,
    };
    const r = restored as unknown as Record<string, unknown>;
    if (prev.spec !== undefined) r["spec"] = prev.spec;
    else delete r["spec"];
    delete (restored as { status?: unknown }).status;
    delete (restored.metadata as { managedFields?: unknown }).managedFields;
    steps.push({ action: "restore", object: obj, restored });
  }
  return steps;
}

/**
 * The JSON patch that brings `current` back to `restored` (labels, annotations and spec),
 * guarded by the resourceVersion read: a patch, so RBAC needs no `update` verb.
 */
export function restorePatch(current: KubeObject, restored: KubeObject): JsonPatchOp[] {
  const spec = (restored as { spec?: unknown }).spec;
  const ops: JsonPatchOp[] = [
    { op: "test", path: "/metadata/resourceVersion", value: current.metadata.resourceVersion },
    { op: "add", path: "/metadata/labels", value: restored.metadata.labels ?? {} },
    { op: "add", path: "/metadata/annotations", value: restored.metadata.annotations ?? {} },
  ];
  if (spec !== undefined) ops.push({ op: "add", path: "/spec", value: spec });
  else if ((current as { spec?: unknown }).spec !== undefined) {
    ops.push({ op: "remove", path: "/spec" });
  }
  return ops;
}

/** Change ids after `changeId` recorded on an object (ids sort by time). */
function laterChanges(annotations: Record<string, string>, changeId: string): string[] {
  const ids = Object.keys(annotations)
    .filter((k) => k.startsWith(PREVIOUS_ANNOTATION_PREFIX))
    .map((k) => k.slice(PREVIOUS_ANNOTATION_PREFIX.length));
  const createdBy = annotations[CREATED_BY_ANNOTATION];
  if (createdBy) ids.push(createdBy);
  return [...new Set(ids)].filter((id) => isChangeId(id) && id > changeId).sort();
}
