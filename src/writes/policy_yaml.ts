/**
 * The YAML the write tools accept (pure): policy resources only. Every document must be a
 * Server, AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication, HTTPRoute
 * (`policy.linkerd.io` or `gateway.networking.k8s.io`) or GRPCRoute, named, in a namespace;
 * anything else (a Secret, a Deployment, a `List`, a Namespace) refuses the whole request,
 * so nothing is half-applied.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { POLICY_KEYS, type ResourceKey, resourceKeyFor, RESOURCES } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";

/** The resources the write tools may create, change or delete. */
export const WRITABLE_KEYS: readonly ResourceKey[] = POLICY_KEYS.filter(
  // ServerAuthorization is deprecated: nothing this server generates uses it
  (k) => k !== "serverauthorizations",
);

/** The largest YAML accepted (1 MiB): policy for a namespace is a few KiB. */
export const MAX_YAML_BYTES = 1024 * 1024;
/** The most objects one request may write. */
export const MAX_OBJECTS = 200;

/** An object the write tools may send, with where its path on the API server comes from. */
export interface PolicyObject {
  key: ResourceKey;
  /** `policy.linkerd.io`, `gateway.networking.k8s.io`. */
  group: string;
  /** The version of the given `apiVersion`, e.g. `v1beta3`. */
  version: string;
  kind: string;
  name: string;
  namespace: string;
  /** The object as given, without server-owned metadata (uid, resourceVersion, status, ...). */
  object: KubeObject;
}

/** The outcome of {@linkcode parsePolicyYaml}. */
export type ParsedPolicies =
  | { ok: true; objects: PolicyObject[] }
  | { ok: false; problems: string[] };

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Metadata the server owns: dropped from what is sent. */
const SERVER_OWNED_METADATA = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
];

/** `policy.linkerd.io/v1beta3 Server ns/name`. */
export function describeObject(o: Pick<PolicyObject, "kind" | "group" | "namespace" | "name">) {
  return `${o.kind}.${o.group} ${o.namespace}/${o.name}`;
}

/** The allowed kinds, in words, for error messages. */
export function writableKindsText(): string {
  return WRITABLE_KEYS.map((k) => `${RESOURCES[k].kind} (${RESOURCES[k].group})`).join(", ");
}

/**
 * Parses a multi-document YAML (or JSON) string into policy objects, or says every reason
 * it cannot be written (by document number). Empty documents are skipped.
 */
export function parsePolicyYaml(text: string): ParsedPolicies {
  const size = new TextEncoder().encode(text).length;
  if (size > MAX_YAML_BYTES) {
    return {
      ok: false,
      problems: [`the YAML is ${size} bytes, more than the ${MAX_YAML_BYTES} accepted`],
    };
  }
  const problems: string[] = [];
  const objects: PolicyObject[] = [];
  const seen = new Set<string>();
  let docs;
  try {
    docs = parseAllDocuments(text);
  } catch (err) {
    return { ok: false, problems: [`the YAML cannot be parsed: ${(err as Error).message}`] };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = `document ${i + 1}`;
    if (doc.errors.length) {
      problems.push(`${where}: not valid YAML: ${doc.errors[0]!.message.split("\n")[0]}`);
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 50 });
    } catch (err) {
      problems.push(`${where}: not valid YAML: ${(err as Error).message.split("\n")[0]}`);
      return;
    }
    if (value === null || value === undefined) return;
    const checked = checkObject(value, where);
    if (typeof checked === "string") return void problems.push(checked);
    const id = `${checked.key}|${checked.namespace}|${checked.name}`;
    if (seen.has(id)) {
      return void problems.push(`${where}: ${describeObject(checked)} appears twice`);
    }
    seen.add(id);
    objects.push(checked);
  });
  if (!problems.length && objects.length === 0) {
    problems.push("the YAML holds no object: give one or more policy resources");
  }
  if (objects.length > MAX_OBJECTS) {
    problems.push(`${objects.length} objects: at most ${MAX_OBJECTS} may be written at once`);
  }
  return problems.length ? { ok: false, problems } : { ok: true, objects };
}

function checkObject(value: unknown, where: string): PolicyObject | string {
  if (typeof value !== "object" || Array.isArray(value)) {
    return `${where}: not a Kubernetes object (a mapping with apiVersion, kind, metadata)`;
  }
  const o = value as Record<string, unknown>;
  const apiVersion = o["apiVersion"];
  const kind = o["kind"];
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return `${where}: apiVersion and kind are required`;
  }
  const key = resourceKeyFor(apiVersion, kind);
  if (!key || !WRITABLE_KEYS.includes(key)) {
    return `${where}: ${kind} (${apiVersion}) cannot be written by linkerd-mcp: only ${writableKindsText()}`;
  }
  const group = RESOURCES[key].group;
  const version = apiVersion.slice(apiVersion.lastIndexOf("/") + 1);
  if (!/^v\d+((alpha|beta)\d+)?$/.test(version)) {
    return `${where}: "${apiVersion}" is not a valid apiVersion`;
  }
  const meta = o["metadata"];
  if (!meta || typeof meta !== "object" || Array.isArray(meta)) {
    return `${where}: ${kind} has no metadata (name and namespace are required)`;
  }
  const m = { ...(meta as Record<string, unknown>) };
  const name = m["name"];
  const namespace = m["namespace"];
  if (typeof name !== "string" || !DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    return `${where}: ${kind} needs metadata.name, a Kubernetes name (lower case, digits, "-", "."): got ${
      JSON.stringify(name ?? null)
    }`;
  }
  if (typeof namespace !== "string" || !DNS1123_LABEL.test(namespace) || namespace.length > 63) {
    return `${where}: ${kind} "${name}" needs metadata.namespace (the write tools never guess a namespace): got ${
      JSON.stringify(namespace ?? null)
    }`;
  }
  if ("generateName" in m) {
    return `${where}: ${kind} "${name}": generateName is not supported (every object needs a fixed name to be rolled back)`;
  }
  for (const field of SERVER_OWNED_METADATA) delete m[field];
  for (const field of ["labels", "annotations"]) {
    const v = m[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "object" || Array.isArray(v)) {
      return `${where}: ${kind} "${name}": metadata.${field} must be a mapping of strings`;
    }
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (typeof val !== "string") {
        return `${where}: ${kind} "${name}": metadata.${field}.${k} must be a string (quote it)`;
      }
    }
  }
  const object: Record<string, unknown> = { ...o, metadata: m };
  delete object["status"];
  return {
    key,
    group,
    version,
    kind,
    name,
    namespace,
    object: object as unknown as KubeObject,
  };
}
