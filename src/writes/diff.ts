/**
 * Field-by-field differences between two versions of an object (pure).
 *
 * @module
 */

/** One changed field. `path` is dotted, with `[i]` for list items (`spec.port`, `metadata.labels.app`). */
export interface FieldChange {
  path: string;
  op: "add" | "remove" | "change";
  before?: unknown;
  after?: unknown;
}

/** Metadata the API server maintains itself: never part of a diff. */
const VOLATILE_METADATA = new Set([
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "managedFields",
  "selfLink",
]);

/** The most changes listed per object (the rest are counted). */
export const MAX_CHANGES = 200;

/**
 * The fields that differ between `before` and `after` (objects compared key by key, lists
 * item by item, everything else by value). Server-maintained metadata (uid,
 * resourceVersion, generation, managedFields, creationTimestamp) and `status` are ignored.
 */
export function diffObjects(before: unknown, after: unknown): FieldChange[] {
  const out: FieldChange[] = [];
  walk(strip(before), strip(after), "", out);
  return out;
}

/** A copy without the server-maintained fields {@linkcode diffObjects} ignores. */
export function strip(obj: unknown): unknown {
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) return obj;
  const o = { ...(obj as Record<string, unknown>) };
  delete o["status"];
  const meta = o["metadata"];
  if (meta && typeof meta === "object" && !Array.isArray(meta)) {
    const m = { ...(meta as Record<string, unknown>) };
    for (const k of VOLATILE_METADATA) delete m[k];
    o["metadata"] = m;
  }
  return o;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function join(path: string, key: string): string {
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key);
  return plain ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
}

function walk(a: unknown, b: unknown, path: string, out: FieldChange[]): void {
  if (out.length >= MAX_CHANGES) return;
  if (a === undefined && b === undefined) return;
  // A whole new (or removed) mapping is listed leaf by leaf.
  if (a === undefined && isObject(b) && Object.keys(b).length) return walk({}, b, path, out);
  if (b === undefined && isObject(a) && Object.keys(a).length) return walk(a, {}, path, out);
  if (a === undefined) return void out.push({ path, op: "add", after: b });
  if (b === undefined) return void out.push({ path, op: "remove", before: a });
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) walk(a[k], b[k], join(path, k), out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      walk(a[i], b[i], `${path}[${i}]`, out);
    }
    return;
  }
  if (!sameValue(a, b)) out.push({ path, op: "change", before: a, after: b });
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `spec.accessPolicy: audit -> deny`, `+ metadata.labels.x: "y"`, `- spec.port`. */
export function formatChange(c: FieldChange): string {
  const show = (v: unknown) => {
    const s = JSON.stringify(v);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  };
  switch (c.op) {
    case "add":
      return `+ ${c.path || "(object)"}: ${show(c.after)}`;
    case "remove":
      return `- ${c.path || "(object)"}: ${show(c.before)}`;
    case "change":
      return `~ ${c.path}: ${show(c.before)} -> ${show(c.after)}`;
  }
}
