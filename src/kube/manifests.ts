/**
 * A {@linkcode ClusterSource} over YAML or JSON manifests on disk: files or folders
 * (read recursively), multi-document files, `List` kinds and `kubectl get -o yaml` dumps.
 *
 * Secrets are dropped as they are read and never held. Where a namespace has no Pod
 * objects, its workloads' pod templates stand in for their pods, meshed as Linkerd's
 * proxy injector would mesh them (`workload_pods.ts`, `inject.ts`).
 *
 * @module
 */
import { ManifestError } from "../errors.ts";
import { MemorySource } from "./memory.ts";
import { resourceKeyFor, RESOURCES } from "./resources.ts";
import { type KubeObject, positionOf, setPosition } from "./types.ts";
import { injectorConfigFromObjects } from "./injector_config.ts";
import { isControlledWorkload, isWorkload, podsFromWorkload } from "./workload_pods.ts";
import { parseManifestText } from "./yaml_docs.ts";

/** File name endings read from folders. */
export const MANIFEST_EXTENSIONS = [".yaml", ".yml", ".json"] as const;

/** Options for {@linkcode loadManifests}. */
export interface LoadManifestsOptions {
  /** Control plane namespace whose `linkerd-config` configures injection; default `linkerd`. */
  controlPlaneNamespace?: string;
  /** Cap on pods synthesised per workload; default 10. */
  maxReplicas?: number;
}

/** The manifests source: a {@linkcode MemorySource} that also reports what it skipped. */
export class ManifestSource extends MemorySource {
  /** Documents skipped while loading, as `file:line: reason`. */
  readonly warnings: readonly string[];
  /** The files read, in load order. */
  readonly files: readonly string[];
  /** Pods synthesised from workload templates. */
  readonly synthesizedPods: number;

  constructor(
    objects: readonly KubeObject[],
    opts: { description: string; warnings: string[]; files: string[]; synthesizedPods: number },
  ) {
    super(objects, { kind: "manifests", description: opts.description });
    this.warnings = opts.warnings;
    this.files = opts.files;
    this.synthesizedPods = opts.synthesizedPods;
  }
}

/**
 * Loads manifests from files and folders. Folders are read recursively in name order,
 * skipping hidden entries and files not ending in `.yaml`, `.yml` or `.json`.
 *
 * @throws {ManifestError} when a path cannot be read or a file cannot be parsed (with
 * its file and line).
 */
export async function loadManifests(
  paths: readonly string[],
  opts: LoadManifestsOptions = {},
): Promise<ManifestSource> {
  const files: string[] = [];
  for (const path of paths) files.push(...await listFiles(path));
  const warnings: string[] = [];
  const objects: KubeObject[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new ManifestError(`Cannot read manifest "${file}": ${messageOf(err)}`, {
        file,
        cause: err,
      });
    }
    const parsed = parseManifestText(text, file);
    warnings.push(...parsed.warnings);
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
  return new ManifestSource([...objects, ...pods], {
    description: `manifests: ${where} (${fileCount}, ${held} objects)`,
    warnings,
    files,
    synthesizedPods: pods.length,
  });
}

/** Options for {@linkcode synthesizePods}. */
export interface SynthesizePodsOptions {
  controlPlaneNamespace: string;
  maxReplicas?: number;
}

/**
 * Pods for the workloads of every namespace that has no Pod objects, meshed as the
 * injector would mesh them. Workloads controlled by another workload (a Deployment's
 * ReplicaSets, a CronJob's Jobs) are skipped. Each pod's position is its workload's.
 */
export function synthesizePods(
  objects: readonly KubeObject[],
  opts: SynthesizePodsOptions,
): KubeObject[] {
  const namespaces = new Map<string, KubeObject>();
  const withPods = new Set<string>();
  for (const o of objects) {
    if (o.kind === "Namespace" && o.apiVersion === "v1") namespaces.set(o.metadata.name, o);
    if (o.kind === "Pod" && o.apiVersion === "v1") withPods.add(o.metadata.namespace ?? "default");
  }
  const injector = injectorConfigFromObjects(objects, opts.controlPlaneNamespace);
  const out: KubeObject[] = [];
  for (const w of objects) {
    if (!isWorkload(w) || isControlledWorkload(w)) continue;
    const ns = w.metadata.namespace ?? "default";
    if (withPods.has(ns)) continue;
    const nsObj = namespaces.get(ns);
    const pods = podsFromWorkload(w, {
      injector,
      ...(nsObj ? { namespace: nsObj } : {}),
      ...(opts.maxReplicas !== undefined ? { maxReplicas: opts.maxReplicas } : {}),
    });
    for (const p of pods) {
      const pos = positionOf(w);
      if (pos) setPosition(p, pos);
      out.push(p);
    }
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

async function listFiles(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw new ManifestError(`Cannot read manifests at "${path}": ${messageOf(err)}`, {
      file: path,
      cause: err,
    });
  }
  if (!info.isDirectory) return [path];
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(path)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    const child = path.endsWith("/") ? `${path}${e.name}` : `${path}/${e.name}`;
    if (e.isDirectory) out.push(...await listFiles(child));
    else if (MANIFEST_EXTENSIONS.some((ext) => e.name.toLowerCase().endsWith(ext))) {
      out.push(child);
    } else if (e.isSymlink) {
      const target = await Deno.stat(child).catch(() => undefined);
      if (target?.isDirectory) out.push(...await listFiles(child));
    }
  }
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
