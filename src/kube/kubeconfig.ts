/**
 * Finds where cluster credentials come from, before `@kubernetes/client-node` is
 * loaded: an explicit kubeconfig path, `KUBECONFIG`, `~/.kube/config`, or the
 * in-cluster service account. client-node's own fallback reports a missing
 * kubeconfig as a misleading `HTTP protocol is not allowed` error, so the
 * "nothing found" case is detected here and explained.
 *
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeconfigError } from "../errors.ts";
import { kubeconfigLoadError, parseKubeconfigFile } from "./kubeconfig_read.ts";

/** Where the in-cluster service account is mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Where credentials come from. */
export type KubeconfigLocation =
  /** One or more kubeconfig files, merged first-wins as kubectl does. */
  | { kind: "files"; paths: string[]; origin: "path" | "KUBECONFIG" | "home" }
  /** The pod's service account (`KUBERNETES_SERVICE_HOST` and the mounted token). */
  | { kind: "in-cluster"; server: string; tokenFile: string; caFile: string };

/** Options for {@linkcode findKubeconfig}. */
export interface FindKubeconfigOptions {
  /** An explicit kubeconfig file; wins over everything else. */
  kubeconfigPath?: string;
  env: Record<string, string | undefined>;
  /** The service account mount (tests). Default {@linkcode SERVICE_ACCOUNT_DIR}. */
  serviceAccountDir?: string;
  /** `windows` splits `KUBECONFIG` on `;`. Default: this machine. */
  os?: string;
}

/**
 * Resolves the kubeconfig: explicit path, then `KUBECONFIG` (a `:`-separated list,
 * `;` on Windows; missing files are skipped as kubectl does), then `~/.kube/config`,
 * then the in-cluster service account.
 *
 * @throws {NoKubeconfigError} when nothing is found, with a message that says what to set.
 * @throws {KubeconfigError} (reason `PermissionDenied`) when Deno refuses to read a
 * kubeconfig file.
 */
export async function findKubeconfig(opts: FindKubeconfigOptions): Promise<KubeconfigLocation> {
  const env = opts.env;
  if (opts.kubeconfigPath) {
    if (!(await exists(opts.kubeconfigPath))) {
      throw noKubeconfig(
        `Cannot read kubeconfig "${opts.kubeconfigPath}": the file does not exist`,
      );
    }
    return { kind: "files", paths: [opts.kubeconfigPath], origin: "path" };
  }
  const os = opts.os ?? Deno.build.os;
  const listed = env["KUBECONFIG"]?.split(os === "windows" ? ";" : ":").filter(Boolean) ?? [];
  if (listed.length > 0) {
    const paths: string[] = [];
    for (const p of listed) if (await exists(p)) paths.push(p);
    if (paths.length === 0) {
      throw noKubeconfig(
        `Cannot read kubeconfig: no file named in KUBECONFIG exists (${
          listed.map((p) => `"${p}"`).join(", ")
        })`,
      );
    }
    return { kind: "files", paths, origin: "KUBECONFIG" };
  }
  const home = env["HOME"] || env["USERPROFILE"];
  const sep = os === "windows" ? "\\" : "/";
  const homeConfig = home ? `${home.replace(/[\\/]+$/, "")}${sep}.kube${sep}config` : undefined;
  // A refused read of ~/.kube/config is reported only when there is no in-cluster fallback.
  let refused: unknown;
  try {
    if (homeConfig && await exists(homeConfig)) {
      return { kind: "files", paths: [homeConfig], origin: "home" };
    }
  } catch (err) {
    refused = err;
  }
  const host = env["KUBERNETES_SERVICE_HOST"];
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (host && await exists(`${saDir}/token`)) {
    const port = env["KUBERNETES_SERVICE_PORT"] || "443";
    const h = host.includes(":") ? `[${host}]` : host;
    return {
      kind: "in-cluster",
      server: `https://${h}:${port}`,
      tokenFile: `${saDir}/token`,
      caFile: `${saDir}/ca.crt`,
    };
  }
  if (refused) throw refused;
  throw noKubeconfig(
    "Cannot find a kubeconfig: KUBECONFIG is not set, " +
      (homeConfig ? `"${homeConfig}" does not exist` : "HOME is not set") +
      " and this is not running in a Kubernetes pod. Set KUBECONFIG in the server's environment " +
      '(MCP clients pass only a minimal environment: add it to the client\'s "env" settings), ' +
      "or use --manifests PATH or --demo",
  );
}

/**
 * No kubeconfig was found (none named, none at `~/.kube/config`) and the process does
 * not run in a cluster. A {@linkcode KubeconfigError} with reason `NoKubeconfig`.
 */
export class NoKubeconfigError extends KubeconfigError {
  constructor(message: string) {
    super(message, { reason: "NoKubeconfig" });
    this.name = "NoKubeconfigError";
  }
}

function noKubeconfig(message: string): NoKubeconfigError {
  return new NoKubeconfigError(message);
}

/** True when the file exists; a Deno permission refusal is explained, not hidden. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw new KubeconfigError(
        `Cannot read kubeconfig "${path}": Deno refused read access; ` +
          `run with --allow-read (or --allow-read=${path})`,
        { reason: "PermissionDenied" },
      );
    }
    return false;
  }
}

/** client-node's `KubeConfig` class (passed in: client-node is loaded lazily). */
export type KubeConfigClass = new () => KubeConfig;

/**
 * Loads kubeconfig files into client-node's `KubeConfig` with `context` selected, for the
 * contexts only client-node serves (`src/kube/credentials_client_node.ts`); the files were
 * read and the context checked by `readSelectedKubeconfig` first.
 *
 * @throws {KubeconfigError} when a file cannot be read (`PermissionDenied`) or parsed
 * (`InvalidKubeconfig`), or the context does not exist (`UnknownContext`). Its message never
 * quotes the file's content (it holds credentials).
 */
export function loadKubeConfig(
  KubeConfigCtor: KubeConfigClass,
  location: Extract<KubeconfigLocation, { kind: "files" }>,
  context: string | undefined,
): KubeConfig {
  const kc = new KubeConfigCtor();
  // Merge first-wins, as kubectl does with a KUBECONFIG list.
  const clusters = new Map<string, unknown>();
  const users = new Map<string, unknown>();
  const contexts = new Map<string, { name: string; cluster: string; user: string }>();
  let current: string | undefined;
  for (const path of location.paths) {
    const one = new KubeConfigCtor();
    try {
      one.loadFromFile(path);
    } catch (err) {
      throw kubeconfigLoadError(path, err);
    }
    for (const c of one.getClusters() ?? []) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of one.getUsers() ?? []) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of one.getContexts() ?? []) if (!contexts.has(c.name)) contexts.set(c.name, c);
    current ||= one.getCurrentContext() || undefined;
  }
  // The context was chosen, and the files checked, by readSelectedKubeconfig
  // (kubeconfig_read.ts), which also registered the user's credentials as secrets.
  const name = context ?? current;
  const ctx = name === undefined ? undefined : contexts.get(name);
  if (!ctx || !clusters.has(ctx.cluster)) {
    throw new KubeconfigError(
      `Cannot use context "${name ?? ""}" of kubeconfig ${
        location.paths.map((p) => `"${p}"`).join(", ")
      } through client-node`,
      { reason: "UnknownContext" },
    );
  }
  if (!users.has(ctx.user)) users.set(ctx.user, { name: ctx.user });
  kc.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext: name!,
  });
  return kc;
}

/** The context names of a kubeconfig (never its clusters' servers or users' credentials). */
export interface KubeconfigContexts {
  /** Context names, merged first-wins across files as kubectl does, in file order. */
  contexts: string[];
  /** The first file's `current-context`, when set and defined. */
  current?: string;
}

/**
 * Reads only the context names and `current-context` of the kubeconfig at `location`
 * (the in-cluster service account is the one context `in-cluster`). Nothing else of
 * the files is kept, and an error never quotes them.
 *
 * @throws {KubeconfigError} when a file cannot be read or parsed.
 */
export async function readKubeconfigContexts(
  location: KubeconfigLocation,
): Promise<KubeconfigContexts> {
  if (location.kind === "in-cluster") return { contexts: ["in-cluster"], current: "in-cluster" };
  const names: string[] = [];
  let current: string | undefined;
  for (const path of location.paths) {
    const doc = await parseKubeconfigFile(path);
    const d = (doc ?? {}) as { contexts?: unknown; "current-context"?: unknown };
    for (const c of Array.isArray(d.contexts) ? d.contexts : []) {
      const name = (c as { name?: unknown } | null)?.name;
      if (typeof name === "string" && name && !names.includes(name)) names.push(name);
    }
    const cur = d["current-context"];
    current ||= typeof cur === "string" && cur ? cur : undefined;
  }
  return { contexts: names, ...(current && names.includes(current) ? { current } : {}) };
}

/** A source that can say which kubeconfig contexts exist (a live source built from a kubeconfig). */
export interface KubeconfigContextsProvider {
  kubeconfigContexts(): Promise<KubeconfigContexts>;
}

/**
 * Gives `source` a {@linkcode KubeconfigContextsProvider.kubeconfigContexts} that reads the
 * kubeconfig `findKubeconfig(opts)` resolves, on each call (the files may change).
 */
export function withKubeconfigContexts<T extends object>(
  source: T,
  opts: FindKubeconfigOptions,
): T & KubeconfigContextsProvider {
  return Object.assign(source, {
    kubeconfigContexts: async () => readKubeconfigContexts(await findKubeconfig(opts)),
  });
}
