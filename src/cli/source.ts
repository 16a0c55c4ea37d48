/**
 * Chooses and builds the cluster source named on the command line.
 *
 * @module
 */
import type { SourceChoice } from "./args.ts";
import type { Config } from "../config.ts";
import type { ClusterSource } from "../kube/source.ts";
import type { Logger } from "../log.ts";

/** No kubeconfig was found and the process does not run in a cluster. */
export class NoClusterConfiguredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoClusterConfiguredError";
  }
}

/**
 * A kubeconfig was named (`--kubeconfig`, `KUBECONFIG`) or a context asked for, but it
 * cannot be used: the server must not quietly answer from the demo mesh instead.
 */
export class KubeconfigUnusableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeconfigUnusableError";
  }
}

const FIX =
  "point KUBECONFIG (or --kubeconfig) at a readable kubeconfig file, unset KUBECONFIG to use ~/.kube/config, or pass --demo or --manifests PATH to work without a cluster";

/**
 * Fails when a named kubeconfig exists but is not a regular file (a folder, a FIFO:
 * never opened, it would block) or cannot be opened for reading.
 */
async function assertReadable(paths: string[]): Promise<void> {
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue; // reported by findKubeconfig
      throw new KubeconfigUnusableError(
        `Cannot read kubeconfig "${path}": ${reasonOf(err)}; ${FIX}`,
      );
    }
    if (!info.isFile) {
      const what = info.isDirectory ? "it is a directory" : "it is not a regular file";
      throw new KubeconfigUnusableError(`Cannot read kubeconfig "${path}": ${what}; ${FIX}`);
    }
    try {
      (await Deno.open(path, { read: true })).close();
    } catch (err) {
      throw new KubeconfigUnusableError(
        `Cannot read kubeconfig "${path}": ${reasonOf(err)}; ${FIX}`,
      );
    }
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Deno.errors.PermissionDenied ||
      (err as { code?: string }).code === "EACCES"
    ? "permission denied"
    : "it cannot be opened";
}

/** What {@linkcode buildSource} needs. */
export interface BuildSourceOptions {
  env: Record<string, string | undefined>;
  config: Config;
  log: Logger;
}

/**
 * Builds the demo, manifests or live source. The live source reads its kubeconfig and
 * credentials on its first request, so that start-up stays fast.
 *
 * @throws {NoClusterConfiguredError} when a live cluster is wanted but nothing at all is
 * configured (no KUBECONFIG, no ~/.kube/config, not in a pod): the caller may use the demo.
 * @throws {KubeconfigUnusableError} when a named kubeconfig is missing or unreadable.
 * @throws {ManifestError} when a manifest cannot be read or parsed.
 */
export async function buildSource(
  choice: SourceChoice,
  opts: BuildSourceOptions,
): Promise<ClusterSource> {
  switch (choice.kind) {
    case "demo": {
      const { createDemoSource } = await import("../demo/mod.ts");
      return createDemoSource();
    }
    case "manifests": {
      // The default cluster: the first set (`src/cli/clusters.ts` reads the others).
      const { loadManifests } = await import("../kube/manifests.ts");
      const first = choice.sets?.[0] ?? { name: "manifests", paths: choice.paths };
      const source = await loadManifests(first.paths);
      for (const w of source.warnings ?? []) opts.log.warn(w);
      const named = (choice.sets?.length ?? 0) > 1 || first.name !== "manifests";
      // The answers name the paths given, as well as the one-line description.
      return Object.assign(source, {
        sourceInfo: () => ({
          kind: "manifests" as const,
          description: named ? `${first.name}: ${source.describe()}` : source.describe(),
          paths: [...first.paths],
        }),
      });
    }
    case "live": {
      const { createLazyLiveSource, NoKubeconfigError } = await import("../kube/live.ts");
      const listed = opts.env["KUBECONFIG"]?.split(Deno.build.os === "windows" ? ";" : ":")
        .filter((p) => p.trim() !== "") ?? [];
      const named = choice.kubeconfig ? [choice.kubeconfig] : listed;
      await assertReadable(named);
      const { withKubeconfigContexts } = await import("../kube/kubeconfig.ts");
      try {
        // list_clusters reads the kubeconfig's context names through it (never credentials).
        return withKubeconfigContexts(
          await createLazyLiveSource({
            ...(choice.kubeconfig ? { kubeconfigPath: choice.kubeconfig } : {}),
            ...(choice.context ? { context: choice.context } : {}),
            env: opts.env,
            timeoutMs: opts.config.kubeTimeoutMs,
            log: opts.log,
          }),
          { ...(choice.kubeconfig ? { kubeconfigPath: choice.kubeconfig } : {}), env: opts.env },
        );
      } catch (err) {
        if (err instanceof NoKubeconfigError) {
          if (named.length > 0) throw new KubeconfigUnusableError(`${err.message}; ${FIX}`);
          if (choice.context) {
            throw new KubeconfigUnusableError(
              `${err.message}, so context "${choice.context}" cannot be used; ${FIX}`,
            );
          }
          throw new NoClusterConfiguredError(err.message);
        }
        throw err;
      }
    }
  }
}
