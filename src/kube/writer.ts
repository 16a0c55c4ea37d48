/**
 * The I/O of the write tools: reads (uncached) and writes of policy resources, and nothing
 * else. Two implementations behind one interface:
 *
 * - {@linkcode ApiPolicyWriter} over a live source's {@linkcode LiveSource.request}:
 *   server-side apply (`application/apply-patch+yaml`, `force=false`, so a field another
 *   manager owns is a reported conflict), JSON patch and delete; every request
 *   carries `fieldManager=linkerd-mcp`, and `dryRun=All` unless it is the real write.
 * - {@linkcode MemoryPolicyWriter} over the demo or manifests source: the same operations
 *   computed against the in-memory state (not validated by any API server); real writes are
 *   refused.
 *
 * Only the resources in {@linkcode WRITABLE_KEYS} are ever addressed: never a Secret.
 *
 * @module
 */
import { KubeApiError } from "../errors.ts";
import { summarize } from "../redact.ts";
import { WRITABLE_KEYS } from "../writes/policy_yaml.ts";
import {
  applyJsonPatch,
  FIELD_MANAGER,
  type JsonPatchOp,
  mergeApplied,
  TOUCHED_LABEL,
} from "../writes/plan.ts";
import { apiError, statusOf, tryJson } from "./_live_http.ts";
import type { LiveSource, ProxyResponse, RawRequestOptions, WriteMethod } from "./live.ts";
import { type ResourceKey, RESOURCES, type ResourceType } from "./resources.ts";
import type { ClusterSource } from "./source.ts";
import type { KubeObject } from "./types.ts";

/** Which object: a writable resource, its version (the resource's first when absent), where. */
export interface ObjectRef {
  key: ResourceKey;
  version?: string;
  namespace: string;
  name: string;
}

/** Options of every write. */
export interface WriteOptions {
  /** True: `dryRun=All` (nothing is persisted). */
  dryRun: boolean;
  signal?: AbortSignal;
}

/** The outcome of a write the API server refused for a reason the caller can act on. */
export interface WriteRefusal {
  ok: false;
  /** HTTP status (409 conflict, 422 invalid, 403 forbidden, 404 not found, 400 bad request). */
  status: number;
  reason: string;
  message: string;
  /** Field-level causes (`spec.port: Invalid value ...`, conflicts with other managers). */
  causes: string[];
}

/** What a write returned: the object as the server has (or would have) it, or a refusal. */
export type WriteOutcome = { ok: true; object?: KubeObject } | WriteRefusal;

/** Reads and writes of policy resources. */
export interface PolicyWriter {
  /** True when results come from an API server (its dry run validates them). */
  readonly serverValidated: boolean;
  /** Why real writes are impossible, or `undefined` when they are allowed. */
  readonly readOnlyReason?: string;
  /** The object as stored now (no cache), `undefined` when absent. */
  read(ref: ObjectRef, signal?: AbortSignal): Promise<KubeObject | undefined>;
  /** Every object of `key` in all namespaces with the `linkerd-mcp/touched` label. */
  listTouched(key: ResourceKey, signal?: AbortSignal): Promise<KubeObject[]>;
  /** Server-side apply of `object` (created when absent). */
  apply(ref: ObjectRef, object: KubeObject, opts: WriteOptions): Promise<WriteOutcome>;
  /** RFC 6902 JSON patch. */
  patch(ref: ObjectRef, ops: JsonPatchOp[], opts: WriteOptions): Promise<WriteOutcome>;
  /** Deletes the object if it still has this uid and resourceVersion. */
  remove(
    ref: ObjectRef,
    preconditions: { uid?: string; resourceVersion?: string },
    opts: WriteOptions,
  ): Promise<WriteOutcome>;
}

function assertWritable(key: ResourceKey): ResourceType {
  if (!WRITABLE_KEYS.includes(key)) {
    throw new TypeError(`linkerd-mcp never writes ${key}`);
  }
  return RESOURCES[key];
}

/** `/apis/policy.linkerd.io/v1beta3/namespaces/ns/servers[/name]`. */
export function objectPath(r: ResourceType, version: string, namespace?: string, name?: string) {
  const prefix = r.group ? `/apis/${r.group}/${version}` : `/api/${version}`;
  const ns = namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${prefix}${ns}/${r.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ""}`;
}

/** `servers.policy.linkerd.io "web" in namespace "ns"`. */
function what(verb: string, r: ResourceType, ref: ObjectRef): string {
  return `Cannot ${verb} ${r.plural}.${r.group} "${ref.name}" in namespace "${ref.namespace}"`;
}

/** The causes of a Kubernetes `Status` (validation errors, apply conflicts), summarised. */
export function statusCauses(body: string): string[] {
  const v = tryJson(body) as { details?: { causes?: unknown } } | undefined;
  const causes = v?.details?.causes;
  if (!Array.isArray(causes)) return [];
  return causes.slice(0, 20).map((c) => {
    const o = (c ?? {}) as Record<string, unknown>;
    const field = typeof o["field"] === "string" ? `${o["field"]}: ` : "";
    const msg = typeof o["message"] === "string" ? o["message"] : String(o["reason"] ?? "");
    return summarize(`${field}${msg}`, 300);
  });
}

const REFUSALS = new Set([400, 403, 404, 409, 422]);
/** Pages of 500 read when listing what linkerd-mcp touched. */
const MAX_TOUCHED_PAGES = 20;

/** A policy writer over a live cluster. */
export class ApiPolicyWriter implements PolicyWriter {
  readonly serverValidated = true;
  readonly #live: LiveSource;

  constructor(live: LiveSource) {
    this.#live = live;
  }

  async #send(
    method: WriteMethod,
    path: string,
    opts: RawRequestOptions,
  ): Promise<ProxyResponse> {
    return await this.#live.request(method, path, opts);
  }

  #refusalOrThrow(verb: string, r: ResourceType, ref: ObjectRef, res: ProxyResponse) {
    const w = what(verb, r, ref);
    // A typed-patch failure (an unknown field, a wrong type) is the request's fault, whatever
    // its status (kube-apiserver answers 500 for some).
    const typed = /failed to create typed patch object|field not declared in schema/.test(res.body);
    if (!REFUSALS.has(res.status) && !typed) {
      throw apiError(w, { status: res.status, headers: {}, body: res.body }, this.#live.context);
    }
    const status = statusOf(res.body);
    const reason = status?.reason ?? `HTTP${res.status}`;
    const message = res.status === 403
      ? `${w}: forbidden (403): the server's identity may not ${verb} ${r.plural}.${r.group} here; grant it (Helm chart: --set writes.enabled=true) or apply the YAML yourself with kubectl`
      : `${w}: ${summarize(status?.message ?? `HTTP ${res.status} ${reason}`, 600)}`;
    return {
      ok: false as const,
      status: res.status,
      reason,
      message,
      causes: statusCauses(res.body),
    };
  }

  #query(opts: WriteOptions, extra: Record<string, string> = {}): Record<string, string> {
    return { fieldManager: FIELD_MANAGER, ...(opts.dryRun ? { dryRun: "All" } : {}), ...extra };
  }

  #object(res: ProxyResponse, verb: string, r: ResourceType, ref: ObjectRef): KubeObject {
    const obj = tryJson(res.body) as KubeObject | undefined;
    if (!obj || typeof obj !== "object" || !obj.metadata) {
      throw new KubeApiError(
        `${what(verb, r, ref)}: unexpected answer from the Kubernetes API server: not an object`,
        { status: res.status, reason: "BadResponse" },
      );
    }
    return obj;
  }

  async read(ref: ObjectRef, signal?: AbortSignal): Promise<KubeObject | undefined> {
    const r = assertWritable(ref.key);
    const version = ref.version ?? r.versions[0]!;
    const path = objectPath(r, version, ref.namespace, ref.name);
    const res = await this.#send("GET", path, signal ? { signal } : {});
    if (res.status === 404) {
      if (statusOf(res.body)?.details?.name !== undefined) return undefined;
      throw new KubeApiError(
        `${
          what("read", r, ref)
        }: the API server does not serve ${r.group}/${version}; is the CRD installed, at that version?`,
        { status: 404, reason: "NotFound" },
      );
    }
    if (res.status !== 200) {
      throw apiError(what("read", r, ref), { ...res, headers: {} }, this.#live.context);
    }
    return this.#object(res, "read", r, ref);
  }

  async listTouched(key: ResourceKey, signal?: AbortSignal): Promise<KubeObject[]> {
    const r = assertWritable(key);
    const what = `Cannot list ${r.plural}.${r.group} carrying ${TOUCHED_LABEL}`;
    versions: for (const version of r.versions) {
      const items: KubeObject[] = [];
      let cont: string | undefined;
      for (let page = 0; page < MAX_TOUCHED_PAGES; page++) {
        const res = await this.#send("GET", objectPath(r, version), {
          query: {
            labelSelector: `${TOUCHED_LABEL}=true`,
            limit: "500",
            ...(cont ? { continue: cont } : {}),
          },
          ...(signal ? { signal } : {}),
        });
        // Not served at this version (or the CRD is missing): try the next one.
        if (res.status === 404 && page === 0) continue versions;
        if (res.status !== 200) {
          throw apiError(what, { ...res, headers: {} }, this.#live.context);
        }
        const body = tryJson(res.body) as
          | { items?: KubeObject[]; metadata?: { continue?: string } }
          | undefined;
        for (const o of body?.items ?? []) {
          items.push({
            ...o,
            apiVersion: o.apiVersion ?? `${r.group}/${version}`,
            kind: o.kind ?? r.kind,
          });
        }
        cont = body?.metadata?.continue || undefined;
        if (!cont) return items;
      }
      throw new KubeApiError(`${what}: more than ${MAX_TOUCHED_PAGES * 500} objects`, {
        status: 200,
        reason: "TooManyPages",
      });
    }
    return [];
  }

  async apply(ref: ObjectRef, object: KubeObject, opts: WriteOptions): Promise<WriteOutcome> {
    const r = assertWritable(ref.key);
    const path = objectPath(r, ref.version ?? r.versions[0]!, ref.namespace, ref.name);
    const res = await this.#send("PATCH", path, {
      query: this.#query(opts, { force: "false", fieldValidation: "Strict" }),
      body: JSON.stringify(object),
      contentType: "application/apply-patch+yaml",
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.status !== 200 && res.status !== 201) return this.#refusalOrThrow("apply", r, ref, res);
    return { ok: true, object: this.#object(res, "apply", r, ref) };
  }

  async patch(ref: ObjectRef, ops: JsonPatchOp[], opts: WriteOptions): Promise<WriteOutcome> {
    const r = assertWritable(ref.key);
    const path = objectPath(r, ref.version ?? r.versions[0]!, ref.namespace, ref.name);
    const res = await this.#send("PATCH", path, {
      query: this.#query(opts),
      body: JSON.stringify(ops),
      contentType: "application/json-patch+json",
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.status !== 200) return this.#refusalOrThrow("patch", r, ref, res);
    return { ok: true, object: this.#object(res, "patch", r, ref) };
  }

  async remove(
    ref: ObjectRef,
    preconditions: { uid?: string; resourceVersion?: string },
    opts: WriteOptions,
  ): Promise<WriteOutcome> {
    const r = assertWritable(ref.key);
    const path = objectPath(r, ref.version ?? r.versions[0]!, ref.namespace, ref.name);
    const body = {
      apiVersion: "v1",
      kind: "DeleteOptions",
      preconditions,
      ...(opts.dryRun ? { dryRun: ["All"] } : {}),
    };
    const res = await this.#send("DELETE", path, {
      query: opts.dryRun ? { dryRun: "All" } : {},
      body: JSON.stringify(body),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.status !== 200 && res.status !== 202) {
      return this.#refusalOrThrow("delete", r, ref, res);
    }
    return { ok: true };
  }
}

/** Why the demo and manifests sources never write. */
export function readOnlySourceReason(kind: ClusterSource["kind"]): string {
  return kind === "demo"
    ? "the embedded demo mesh is read-only: a real write needs a live cluster (start linkerd-mcp with --allow-writes against a kubeconfig context)"
    : "a manifests source is read-only: linkerd-mcp does not edit files; apply the YAML with kubectl, or run against a live cluster";
}

/**
 * A policy writer over a source without an API server (demo, manifests): reads and dry runs
 * against the in-memory state; nothing is stored, real writes are refused.
 */
export class MemoryPolicyWriter implements PolicyWriter {
  readonly serverValidated = false;
  readonly readOnlyReason: string;
  readonly #source: ClusterSource;

  constructor(source: ClusterSource) {
    this.#source = source;
    this.readOnlyReason = readOnlySourceReason(source.kind);
  }

  #refuse(ref: ObjectRef): WriteRefusal {
    return {
      ok: false,
      status: 405,
      reason: "ReadOnlySource",
      message:
        `Cannot write ${ref.key} "${ref.name}" in namespace "${ref.namespace}": ${this.readOnlyReason}`,
      causes: [],
    };
  }

  async read(ref: ObjectRef): Promise<KubeObject | undefined> {
    assertWritable(ref.key);
    const obj = await this.#source.get(ref.key, ref.name, ref.namespace);
    return obj ? structuredClone(obj) : undefined;
  }

  async listTouched(key: ResourceKey): Promise<KubeObject[]> {
    assertWritable(key);
    const all = await this.#source.list(key).catch(() => []);
    return all.filter((o) => o.metadata.labels?.[TOUCHED_LABEL] === "true");
  }

  async apply(ref: ObjectRef, object: KubeObject, opts: WriteOptions): Promise<WriteOutcome> {
    if (!opts.dryRun) return this.#refuse(ref);
    const current = await this.read(ref);
    return { ok: true, object: mergeApplied(current, object) };
  }

  async patch(ref: ObjectRef, ops: JsonPatchOp[], opts: WriteOptions): Promise<WriteOutcome> {
    if (!opts.dryRun) return this.#refuse(ref);
    const current = await this.read(ref);
    if (!current) {
      return {
        ok: false,
        status: 404,
        reason: "NotFound",
        message: `${ref.key} "${ref.name}" not found`,
        causes: [],
      };
    }
    try {
      return { ok: true, object: applyJsonPatch(current, ops) };
    } catch (err) {
      return {
        ok: false,
        status: 422,
        reason: "Invalid",
        message: `${ref.key} "${ref.name}": ${(err as Error).message}`,
        causes: [],
      };
    }
  }

  async remove(ref: ObjectRef, _p: unknown, opts: WriteOptions): Promise<WriteOutcome> {
    if (!opts.dryRun) return this.#refuse(ref);
    await Promise.resolve();
    return { ok: true };
  }
}

/** The writer for a source: the API server for a live one, the in-memory state otherwise. */
export function policyWriterFor(source: ClusterSource): PolicyWriter {
  const live = source as Partial<LiveSource>;
  if (source.kind === "live" && typeof live.request === "function") {
    return new ApiPolicyWriter(source as LiveSource);
  }
  return new MemoryPolicyWriter(source);
}
