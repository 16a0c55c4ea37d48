/**
 * A {@linkcode ClusterSource} over YAML or JSON manifests on disk: files or folders
 * (read recursively), multi-document files, `List` kinds and `kubectl get -o yaml` dumps.
 *
 * Secrets are dropped as they are read and never held. Where a workload has no Pod
 * objects, its pod template stands in for its pods, meshed as Linkerd's
 * proxy injector would mesh them (`workload_pods.ts`, `inject.ts`).
 *
 * Loading is bounded and predictable whatever the folder holds: it stays inside the
 * given paths (symlinks that lead out are skipped with a warning), reads each file once
 * (by real path, so symlink loops end), opens regular files only (FIFOs, sockets and
 * devices are never opened), and stops at the limits below. What it could not load is
 * kept as {@linkcode LoadProblem}s, which `validate_mesh_config` reports as findings.
 *
 * @module
 */
import { ManifestError } from "../errors.ts";
import { MemorySource } from "./memory.ts";
import type { SourceInfo } from "./source.ts";
import { resourceKeyFor, RESOURCES } from "./resources.ts";
import { type KubeObject, positionOf, setPosition } from "./types.ts";
import { injectorConfigFromObjects } from "./injector_config.ts";
import { synthesizeWorkloadPods } from "./workload_pods.ts";
import {
  LOAD_PROBLEM_SEVERITY,
  type LoadProblem,
  type LoadProblemRule,
  parseManifestText,
} from "./yaml_docs.ts";

export type { LoadProblem, LoadProblemRule } from "./yaml_docs.ts";

/** File name endings read from folders. */
export const MANIFEST_EXTENSIONS = [".yaml", ".yml", ".json"] as const;

/**
 * Largest manifest file read, in bytes (8 MiB). A larger file is not opened: it gives a
 * `manifest-limit` error. Parsing YAML costs about 20 bytes of memory and 1 µs per byte.
 */
export const MAX_MANIFEST_FILE_BYTES = 8 * 1024 * 1024;
/**
 * Largest total of manifest bytes read in one load (16 MiB); files past it are not read.
 * 16 MiB of dense YAML is about 33,000 objects: about 0.5 GB of memory and half a minute.
 */
export const MAX_MANIFEST_TOTAL_BYTES = 16 * 1024 * 1024;
/** Most manifest files read in one load (5,000); files past it are not read. */
export const MAX_MANIFEST_FILES = 5_000;
/** Most YAML documents (or JSON objects) read from one file (20,000), empty ones included. */
export const MAX_MANIFEST_DOCUMENTS_PER_FILE = 20_000;
/** Deepest folder nesting walked below a given folder (32 levels). */
export const MAX_MANIFEST_DIRECTORY_DEPTH = 32;
/** Most folder entries looked at in one load (100,000), hidden and ignored ones included. */
export const MAX_MANIFEST_DIRECTORY_ENTRIES = 100_000;

/** The limits of one load; see the `MAX_MANIFEST_*` constants. */
export interface ManifestLimits {
  fileBytes: number;
  totalBytes: number;
  files: number;
  documentsPerFile: number;
  directoryDepth: number;
  directoryEntries: number;
}

/** The default {@linkcode ManifestLimits}. */
export const MANIFEST_LIMITS: Readonly<ManifestLimits> = Object.freeze({
  fileBytes: MAX_MANIFEST_FILE_BYTES,
  totalBytes: MAX_MANIFEST_TOTAL_BYTES,
  files: MAX_MANIFEST_FILES,
  documentsPerFile: MAX_MANIFEST_DOCUMENTS_PER_FILE,
  directoryDepth: MAX_MANIFEST_DIRECTORY_DEPTH,
  directoryEntries: MAX_MANIFEST_DIRECTORY_ENTRIES,
});

/** Options for {@linkcode loadManifests}. */
export interface LoadManifestsOptions {
  /** Control plane namespace whose `linkerd-config` configures injection; default `linkerd`. */
  controlPlaneNamespace?: string;
  /** Cap on pods synthesised per workload; default 10. */
  maxReplicas?: number;
  /** Lower (or raise) the limits of {@linkcode MANIFEST_LIMITS}. */
  limits?: Partial<ManifestLimits>;
}

/** The manifests source: a {@linkcode MemorySource} that also reports what it skipped. */
export class ManifestSource extends MemorySource {
  /** {@linkcode problems} as `file:line: message` lines (for the log). */
  readonly warnings: readonly string[];
  /** What could not be loaded: parse errors, skipped files, limits reached. */
  readonly problems: readonly LoadProblem[];
  /** The files read, in load order, as named from the given paths. */
  readonly files: readonly string[];
  /** The files and folders given. */
  readonly paths: readonly string[];
  /** Pods synthesised from workload templates. */
  readonly synthesizedPods: number;

  constructor(
    objects: readonly KubeObject[],
    opts: {
      description: string;
      problems?: LoadProblem[];
      files: string[];
      paths?: readonly string[];
      synthesizedPods: number;
    },
  ) {
    super(objects, { kind: "manifests", description: opts.description });
    this.problems = opts.problems ?? [];
    this.warnings = this.problems.map(formatProblem);
    this.files = opts.files;
    this.paths = opts.paths ?? [];
    this.synthesizedPods = opts.synthesizedPods;
  }

  /** Kind, description (with the count of load problems) and the paths given. */
  sourceInfo(): SourceInfo {
    return { kind: "manifests", description: this.describe(), paths: [...this.paths] };
  }

  /** What could not be loaded (the same as {@linkcode problems}). */
  loadProblems(): readonly LoadProblem[] {
    return this.problems;
  }
}

/**
 * Loads manifests from files and folders. Folders are read recursively in name order,
 * skipping hidden entries and files not ending in `.yaml`, `.yml` or `.json`. Symlinks
 * are followed only while they stay inside the given paths. A file that cannot be
 * parsed, or that is skipped, becomes a problem of the source; the other files load.
 *
 * @throws {ManifestError} when a given path does not exist, cannot be read, or is not a
 * regular file or folder.
 */
export async function loadManifests(
  paths: readonly string[],
  opts: LoadManifestsOptions = {},
): Promise<ManifestSource> {
  const limits: ManifestLimits = { ...MANIFEST_LIMITS, ...opts.limits };
  const walker = new Walker(limits);
  const roots = [];
  for (const path of paths) roots.push(await walker.root(path));
  for (const root of roots) await walker.walk(root);
  const problems = walker.problems;
  const problem = (file: string, rule: LoadProblemRule, message: string, line?: number) =>
    problems.push({
      file,
      ...(line !== undefined ? { line } : {}),
      severity: LOAD_PROBLEM_SEVERITY[rule],
      rule,
      message,
    });
  const files: string[] = [];
  const objects: KubeObject[] = [];
  let total = 0;
  const candidates = walker.files;
  for (let i = 0; i < candidates.length; i++) {
    const { path: file, real, size } = candidates[i]!;
    const rest = candidates.length - i - 1;
    const andMore = rest ? `this file and the ${rest} after it were` : "this file was";
    if (files.length >= limits.files) {
      problem(
        file,
        "manifest-limit",
        `more than ${limits.files} manifest files: ${andMore} not read`,
      );
      break;
    }
    if (size > limits.fileBytes) {
      problem(
        file,
        "manifest-limit",
        `the file is ${bytes(size)}, over the limit of ${
          bytes(limits.fileBytes)
        } per file: not read`,
      );
      continue;
    }
    if (total + size > limits.totalBytes) {
      problem(
        file,
        "manifest-limit",
        `the manifests read total ${bytes(total)}; this file (${
          bytes(size)
        }) would pass the limit of ${bytes(limits.totalBytes)} for all files: ${andMore} not read`,
      );
      break;
    }
    // The real path was checked to be inside the given paths: open that, not the symlink.
    const read = await readBounded(real, Math.min(limits.fileBytes, limits.totalBytes - total));
    if ("problem" in read) {
      problem(file, read.rule, read.problem);
      continue;
    }
    total += read.data.byteLength;
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(read.data);
    } catch {
      problem(file, "manifest-skipped", "not UTF-8 text (a binary or encrypted file?): not read");
      continue;
    }
    files.push(file);
    let parsed: ReturnType<typeof parseManifestText>;
    try {
      parsed = parseManifestText(text, file, { maxDocuments: limits.documentsPerFile });
    } catch (err) {
      // parseManifestText reports bad input as problems; this is a last guard (a parser bug).
      problem(file, "manifest-parse-error", `Cannot parse: ${(err as Error)?.message ?? err}`);
      continue;
    }
    problems.push(...parsed.problems);
    for (const { object, line } of parsed.entries) {
      if (object.kind === "Secret") continue;
      normalizeNamespace(object);
      setPosition(object, { file, line });
      objects.push(object);
    }
  }
  const cpNs = opts.controlPlaneNamespace ?? "linkerd";
  const pods = synthesizePods(objects, {
    controlPlaneNamespace: cpNs,
    ...(opts.maxReplicas !== undefined ? { maxReplicas: opts.maxReplicas } : {}),
  });
  const held = objects.filter((o) => resourceKeyFor(o.apiVersion, o.kind) !== undefined).length;
  const where = paths.length <= 2 ? paths.join(", ") : `${paths[0]} and ${paths.length - 1} more`;
  const fileCount = `${files.length} ${files.length === 1 ? "file" : "files"}`;
  const errors = problems.filter((p) => p.severity === "error").length;
  const warns = problems.length - errors;
  const trouble = [
    ...(errors ? [`${errors} load ${errors === 1 ? "error" : "errors"}`] : []),
    ...(warns ? [`${warns} load ${warns === 1 ? "warning" : "warnings"}`] : []),
  ];
  return new ManifestSource([...objects, ...pods], {
    description: `manifests: ${where} (${fileCount}, ${held} objects${
      trouble.length ? `; ${trouble.join(", ")}` : ""
    })`,
    problems,
    files,
    paths,
    synthesizedPods: pods.length,
  });
}

/** Options for {@linkcode synthesizePods}. */
export interface SynthesizePodsOptions {
  controlPlaneNamespace: string;
  maxReplicas?: number;
}

/**
 * Pods for the workloads that have no Pod objects of their own, meshed as the injector
 * would mesh them (`workload_pods.ts`). Workloads controlled by another workload (a
 * Deployment's ReplicaSets, a CronJob's Jobs) are skipped. Each pod's position is its
 * workload's.
 */
export function synthesizePods(
  objects: readonly KubeObject[],
  opts: SynthesizePodsOptions,
): KubeObject[] {
  const injector = injectorConfigFromObjects(objects, opts.controlPlaneNamespace);
  const out: KubeObject[] = [];
  const synthesized = synthesizeWorkloadPods(objects, {
    injector,
    ...(opts.maxReplicas !== undefined ? { maxReplicas: opts.maxReplicas } : {}),
  });
  for (const { workload, pod } of synthesized) {
    const pos = positionOf(workload);
    if (pos) setPosition(pod, pos);
    out.push(pod);
  }
  return out;
}

/** Namespaced objects without `metadata.namespace` go to `default`, as `kubectl apply` does. */
export function normalizeNamespace(obj: KubeObject): void {
  const key = resourceKeyFor(obj.apiVersion, obj.kind);
  const namespaced = key !== undefined ? RESOURCES[key].namespaced : obj.kind !== "Namespace" &&
    !CLUSTER_SCOPED_KINDS.has(obj.kind);
  if (namespaced && !obj.metadata.namespace) obj.metadata.namespace = "default";
  if (!namespaced && obj.metadata.namespace !== undefined && key !== undefined) {
    delete obj.metadata.namespace;
  }
}

const CLUSTER_SCOPED_KINDS = new Set([
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "APIService",
  "PriorityClass",
  "StorageClass",
  "PersistentVolume",
  "Node",
  "IngressClass",
  "GatewayClass",
]);

/** `file:line: message`. */
function formatProblem(p: LoadProblem): string {
  return `${p.file}${p.line !== undefined ? `:${p.line}` : ""}: ${p.message}`;
}

const SEP = Deno.build.os === "windows" ? "\\" : "/";

interface Root {
  path: string;
  real: string;
  info: Deno.FileInfo;
}

/** Walks the given paths once each, collecting the regular files to read. */
class Walker {
  readonly problems: LoadProblem[] = [];
  readonly files: Array<{ path: string; real: string; size: number }> = [];
  readonly #roots: Root[] = [];
  readonly #seenDirs = new Set<string>();
  readonly #seenFiles = new Set<string>();
  #entries = 0;
  #stopped = false;

  constructor(readonly limits: ManifestLimits) {}

  /** Checks a given path; it must exist and be a regular file or a folder. */
  async root(path: string): Promise<Root> {
    let info: Deno.FileInfo;
    let real: string;
    try {
      info = await Deno.stat(path);
      real = await Deno.realPath(path);
    } catch (err) {
      throw new ManifestError(`Cannot read manifests at "${path}": ${fsReason(err)}`, {
        file: path,
        cause: err,
      });
    }
    if (!info.isFile && !info.isDirectory) {
      throw new ManifestError(
        `Cannot read manifests at "${path}": it is ${kindOf(info)}, not a regular file or folder`,
        { file: path },
      );
    }
    const root = { path, real, info };
    this.#roots.push(root);
    return root;
  }

  async walk(root: Root): Promise<void> {
    if (root.info.isDirectory) await this.#dir(root.path, root.real, 0);
    else this.#file(root.path, root.real, root.info);
  }

  #problem(file: string, rule: LoadProblemRule, message: string): void {
    this.problems.push({ file, severity: LOAD_PROBLEM_SEVERITY[rule], rule, message });
  }

  #inside(real: string): boolean {
    return this.#roots.some((r) =>
      r.info.isDirectory
        ? real === r.real || real.startsWith(r.real.endsWith(SEP) ? r.real : r.real + SEP)
        : real === r.real
    );
  }

  async #dir(path: string, real: string, depth: number): Promise<void> {
    if (this.#seenDirs.has(real)) return;
    this.#seenDirs.add(real);
    if (depth > this.limits.directoryDepth) {
      this.#problem(
        path,
        "manifest-limit",
        `folders nested deeper than ${this.limits.directoryDepth} levels: this folder was not read`,
      );
      return;
    }
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(path)) {
        if (++this.#entries > this.limits.directoryEntries) break;
        entries.push(e);
      }
    } catch (err) {
      this.#problem(path, "manifest-unreadable", `cannot read this folder: ${fsReason(err)}`);
      return;
    }
    if (this.#entries > this.limits.directoryEntries) {
      // Nothing of this folder is read: what is loaded does not depend on readDir's order.
      if (!this.#stopped) {
        this.#problem(
          path,
          "manifest-limit",
          `more than ${this.limits.directoryEntries} entries in the folders given: the walk stopped at this folder: it and the rest were not read`,
        );
      }
      this.#stopped = true;
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const child = path.endsWith("/") || path.endsWith(SEP)
        ? `${path}${e.name}`
        : `${path}/${e.name}`;
      const wanted = MANIFEST_EXTENSIONS.some((ext) => e.name.toLowerCase().endsWith(ext));
      if (e.isSymlink) {
        await this.#symlink(child, wanted, depth);
      } else if (e.isDirectory) {
        if (!this.#stopped) await this.#dir(child, real + SEP + e.name, depth + 1);
      } else if (wanted) {
        let info: Deno.FileInfo;
        try {
          info = await Deno.lstat(child);
        } catch (err) {
          this.#problem(child, "manifest-unreadable", `cannot read this file: ${fsReason(err)}`);
          continue;
        }
        this.#file(child, real + SEP + e.name, info);
      }
    }
  }

  async #symlink(path: string, wanted: boolean, depth: number): Promise<void> {
    let target: string;
    let info: Deno.FileInfo;
    try {
      target = await Deno.realPath(path);
      info = await Deno.stat(path);
    } catch (err) {
      if (wanted) {
        this.#problem(path, "manifest-skipped", `broken symlink (${fsReason(err)}): not read`);
      }
      return;
    }
    if (!wanted && !info.isDirectory) return;
    if (!this.#inside(target)) {
      this.#problem(
        path,
        "manifest-skipped",
        `symlink to "${target}", outside the paths given: not read (name that path to read it)`,
      );
      return;
    }
    if (info.isDirectory) {
      if (!this.#stopped) await this.#dir(path, target, depth + 1);
    } else this.#file(path, target, info);
  }

  #file(path: string, real: string, info: Deno.FileInfo): void {
    if (!info.isFile) {
      this.#problem(path, "manifest-skipped", `${kindOf(info)}, not a regular file: not read`);
      return;
    }
    if (this.#seenFiles.has(real)) return;
    this.#seenFiles.add(real);
    this.files.push({ path, real, size: info.size });
  }
}

/** What kind of file system object this is, for messages ("a named pipe (FIFO)"). */
function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a folder";
  if (info.isFifo) return "a named pipe (FIFO)";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSymlink) return "a symlink";
  if (info.isFile) return "a file";
  return "not a regular file";
}

type ReadResult = { data: Uint8Array } | { problem: string; rule: LoadProblemRule };

/**
 * Reads a regular file, at most `max` bytes: a file that turns out larger (it grew, or
 * `stat` lied) is not kept. The opened handle is checked again to be a regular file.
 */
async function readBounded(path: string, max: number): Promise<ReadResult> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    return { problem: `cannot read this file: ${fsReason(err)}`, rule: "manifest-unreadable" };
  }
  try {
    const info = await file.stat();
    if (!info.isFile) {
      return { problem: `${kindOf(info)}, not a regular file: not read`, rule: "manifest-skipped" };
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const buf = new Uint8Array(1024 * 1024);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      size += n;
      if (size > max) {
        return {
          problem: `the file holds more than ${bytes(max)}, over the limit: not read`,
          rule: "manifest-limit",
        };
      }
      chunks.push(buf.slice(0, n));
    }
    const data = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.byteLength;
    }
    return { data };
  } catch (err) {
    return { problem: `cannot read this file: ${fsReason(err)}`, rule: "manifest-unreadable" };
  } finally {
    file.close();
  }
}

/** A file system error in plain words, without Deno's `(os error N)` noise. */
function fsReason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "it does not exist";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.NotCapable) return "Deno was not given --allow-read for it";
  if (err instanceof Deno.errors.FilesystemLoop) return "too many levels of symbolic links";
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/ \(os error \d+\)/, "").replace(
    /: (stat|lstat|realpath|open|readdir) '.*'$/,
    "",
  );
}

/** Bytes for people: `8 MiB`, `200.0 MiB`, `512 KiB`. */
function bytes(n: number): string {
  const mib = n / (1024 * 1024);
  if (mib >= 1) return Number.isInteger(mib) ? `${mib} MiB` : `${mib.toFixed(1)} MiB`;
  const kib = n / 1024;
  if (kib >= 1) return Number.isInteger(kib) ? `${kib} KiB` : `${kib.toFixed(1)} KiB`;
  return `${n} bytes`;
}
