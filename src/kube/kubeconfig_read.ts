/**
 * Reads kubeconfig files with the `yaml` parser and selects one context, as kubectl does:
 * files merged first-wins, paths relative to the file that names them. The result is the
 * chosen context's cluster and user as written (kebab-case keys), which
 * `src/kube/credentials.ts` turns into request credentials without `@kubernetes/client-node`
 * (its import costs ~50 MB and ~0.3 s). Errors never quote a file's content.
 *
 * @module
 */
import { KubeconfigError } from "../errors.ts";
import { registerBasicAuth, registerSecret, summarize } from "../redact.ts";
import type { KubeconfigLocation } from "./kubeconfig.ts";

/** A kubeconfig larger than this (16 MiB) is refused, not parsed. */
export const MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024;

/** A cluster or user entry as written, with the folder its relative paths are relative to. */
export interface KubeconfigEntry {
  name: string;
  /** The entry's mapping (`cluster:` or `user:`), as written. */
  fields: Record<string, unknown>;
  /** The folder of the file that defined it. */
  dir: string;
}

/** The context chosen by {@linkcode selectKubeconfigContext}. */
export interface SelectedKubeconfig {
  context: string;
  cluster: KubeconfigEntry;
  user: KubeconfigEntry;
}

/** One parsed kubeconfig file. */
interface ParsedFile {
  path: string;
  doc: Record<string, unknown>;
}

/**
 * Reads and parses one kubeconfig file (YAML or JSON).
 *
 * @throws {KubeconfigError} when it cannot be read (`PermissionDenied`), is too large or is
 * not YAML (`InvalidKubeconfig`).
 */
export async function parseKubeconfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    if (info.size > MAX_KUBECONFIG_BYTES) {
      throw new KubeconfigError(
        `Cannot load kubeconfig "${path}": it is ${info.size} bytes, more than the ${
          MAX_KUBECONFIG_BYTES / 1048576
        } MiB a kubeconfig may have here`,
        { reason: "InvalidKubeconfig" },
      );
    }
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof KubeconfigError) throw err;
    throw kubeconfigLoadError(path, err);
  }
  const { parse } = await import("yaml");
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch (err) {
    const e = err as {
      name?: string;
      code?: string;
      linePos?: Array<{ line: number; col: number }>;
    };
    if (e.name !== "YAMLParseError") throw kubeconfigLoadError(path, err);
    const p = e.linePos?.[0];
    const at = p ? ` at line ${p.line}, column ${p.col}` : "";
    // The parser's message quotes the file (it may hold a token): only its code is kept.
    const why = (e.code ?? "syntax error").toLowerCase().replaceAll("_", " ");
    throw new KubeconfigError(
      `Cannot load kubeconfig "${path}": it is not valid YAML${at}: ${why}; fix the file ` +
        "(kubectl config view shows what kubectl makes of it)",
      { reason: "InvalidKubeconfig" },
    );
  }
  return doc && typeof doc === "object" && !Array.isArray(doc)
    ? doc as Record<string, unknown>
    : {};
}

/**
 * Reads the kubeconfig files at `location` (kind `files`) and selects `context` (default:
 * the first file's `current-context`). The chosen user's inline credentials are registered
 * as secrets (src/redact.ts).
 *
 * @throws {KubeconfigError} as {@linkcode parseKubeconfigFile}, for an entry without a name
 * (or a cluster without a server), and when the context is unknown (`UnknownContext`) or
 * names a missing cluster (`InvalidKubeconfig`).
 */
export async function readSelectedKubeconfig(
  location: Extract<KubeconfigLocation, { kind: "files" }>,
  context: string | undefined,
): Promise<SelectedKubeconfig> {
  const files: ParsedFile[] = [];
  for (const path of location.paths) files.push({ path, doc: await parseKubeconfigFile(path) });
  return selectKubeconfigContext(files, context);
}

/** The pure part of {@linkcode readSelectedKubeconfig}: merge and select. */
export function selectKubeconfigContext(
  files: readonly ParsedFile[],
  context: string | undefined,
): SelectedKubeconfig {
  const clusters = new Map<string, KubeconfigEntry>();
  const users = new Map<string, KubeconfigEntry>();
  const contexts = new Map<string, { cluster: string; user: string }>();
  let current: string | undefined;
  for (const { path, doc } of files) {
    const dir = dirname(path);
    for (const [i, e] of entries(doc, "clusters", path)) {
      const fields = mapping(e["cluster"]);
      if (!fields) throw invalid(path, `clusters[${i}].cluster is missing`);
      if (typeof fields["server"] !== "string" || !fields["server"]) {
        throw invalid(path, `clusters[${i}].cluster.server is missing`);
      }
      const name = e["name"] as string;
      if (!clusters.has(name)) clusters.set(name, { name, fields, dir });
    }
    for (const [, e] of entries(doc, "users", path)) {
      const name = e["name"] as string;
      if (!users.has(name)) users.set(name, { name, fields: mapping(e["user"]) ?? {}, dir });
    }
    for (const [i, e] of entries(doc, "contexts", path)) {
      const c = mapping(e["context"]);
      if (!c) throw invalid(path, `contexts[${i}].context is missing`);
      if (typeof c["cluster"] !== "string") {
        throw invalid(path, `contexts[${i}].context.cluster is missing`);
      }
      const name = e["name"] as string;
      if (!contexts.has(name)) {
        contexts.set(name, {
          cluster: c["cluster"],
          user: typeof c["user"] === "string" ? c["user"] : "",
        });
      }
    }
    const cur = doc["current-context"];
    current ||= typeof cur === "string" && cur ? cur : undefined;
  }
  const shown = files.map((f) => `"${f.path}"`).join(", ");
  const available = [...contexts.keys()].map((n) => `"${n}"`).join(", ") || "none";
  if (contexts.size === 0) {
    throw new KubeconfigError(
      `Cannot use kubeconfig ${shown}: it defines no contexts (is it a kubeconfig? ` +
        "kubectl config view shows what kubectl makes of it)",
      { reason: "InvalidKubeconfig" },
    );
  }
  const name = context ?? current;
  if (!name) {
    throw new KubeconfigError(
      `Cannot choose a context: kubeconfig ${shown} sets no current-context; ` +
        `pass --context NAME (available: ${available})`,
      { reason: "UnknownContext" },
    );
  }
  const ctx = contexts.get(name);
  if (!ctx) {
    throw new KubeconfigError(
      `Cannot find context "${name}" in kubeconfig ${shown}: available contexts are ${available}`,
      { reason: "UnknownContext" },
    );
  }
  const cluster = clusters.get(ctx.cluster);
  if (!cluster) {
    throw new KubeconfigError(
      `Cannot use context "${name}": its cluster "${ctx.cluster}" is not in kubeconfig ${shown}`,
      { reason: "InvalidKubeconfig" },
    );
  }
  const user = users.get(ctx.user) ?? { name: ctx.user, fields: {}, dir: cluster.dir };
  // Every inline credential of the chosen user is a secret from now on (see src/redact.ts).
  const u = user.fields;
  for (const key of ["token", "client-key-data"]) {
    if (typeof u[key] === "string") registerSecret(u[key]);
  }
  if (typeof u["password"] === "string" && u["password"]) {
    registerBasicAuth(typeof u["username"] === "string" ? u["username"] : "", u["password"]);
  }
  return { context: name, cluster, user };
}

/** The named mappings of a kubeconfig list (`clusters`, `users`, `contexts`), with indexes. */
function entries(
  doc: Record<string, unknown>,
  key: "clusters" | "users" | "contexts",
  path: string,
): Array<[number, Record<string, unknown>]> {
  const list = doc[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalid(path, `${key} is not a list`);
  return list.map((e, i) => {
    const m = mapping(e);
    if (!m || typeof m["name"] !== "string" || !m["name"]) {
      throw invalid(path, `${key}[${i}].name is missing`);
    }
    return [i, m];
  });
}

function mapping(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

function invalid(path: string, what: string): KubeconfigError {
  return new KubeconfigError(`Cannot load kubeconfig "${path}": ${what}`, {
    reason: "InvalidKubeconfig",
  });
}

/** The folder of a path (`/a/b/config` → `/a/b`, `config` → `.`). */
export function dirname(path: string): string {
  const i = Math.max(
    path.lastIndexOf("/"),
    Deno.build.os === "windows" ? path.lastIndexOf("\\") : -1,
  );
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** `path` made absolute against `dir` when relative (kubectl resolves kubeconfig paths so). */
export function resolveFrom(dir: string, path: string): string {
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\")) return path;
  if (path.startsWith("~/")) return path; // kubectl does not expand it either
  return `${dir.replace(/[\\/]+$/, "")}/${path}`;
}

/**
 * Words a kubeconfig that cannot be loaded without quoting it: js-yaml's errors carry a
 * snippet of the file, which may hold a token or a key. Only the reason and position are kept.
 */
export function kubeconfigLoadError(path: string, err: unknown): KubeconfigError {
  const e = err as {
    code?: string;
    name?: string;
    reason?: string;
    mark?: { line?: number; column?: number };
    message?: string;
  };
  if (e.code === "EACCES" || e.code === "EPERM") {
    return new KubeconfigError(
      `Cannot read kubeconfig "${path}": permission denied (${e.code}); make the file readable ` +
        "by the user that runs linkerd-mcp, or point KUBECONFIG at a readable copy",
      { reason: "PermissionDenied" },
    );
  }
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return new KubeconfigError(
      `Cannot read kubeconfig "${path}": Deno refused read access; ` +
        `run with --allow-read (or --allow-read=${path})`,
      { reason: "PermissionDenied" },
    );
  }
  if (e.code === "EISDIR") {
    return new KubeconfigError(`Cannot read kubeconfig "${path}": it is a directory`, {
      reason: "InvalidKubeconfig",
    });
  }
  if (e.name === "YAMLException") {
    const at = e.mark && typeof e.mark.line === "number"
      ? ` at line ${e.mark.line + 1}${
        typeof e.mark.column === "number" ? `, column ${e.mark.column + 1}` : ""
      }`
      : "";
    return new KubeconfigError(
      `Cannot load kubeconfig "${path}": it is not valid YAML${at}: ${
        summarize(e.reason ?? "syntax error", 120)
      }; fix the file (kubectl config view shows what kubectl makes of it)`,
      { reason: "InvalidKubeconfig" },
    );
  }
  // client-node's own checks ("users[0].name is missing") quote no value; anything else
  // (a TypeError on a file that is not a mapping) is summarised.
  const msg = e.message ?? String(err);
  const detail = /^(clusters|users|contexts)\[\d+\][\w.]* is missing$/.test(msg)
    ? msg
    : err instanceof TypeError
    ? "it is not a kubeconfig (expected a mapping with clusters, users and contexts)"
    : summarize(msg.split("\n")[0] ?? "", 120);
  return new KubeconfigError(`Cannot load kubeconfig "${path}": ${detail}`, {
    reason: "InvalidKubeconfig",
  });
}
