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

/** What {@linkcode buildSource} needs. */
export interface BuildSourceOptions {
  env: Record<string, string | undefined>;
  config: Config;
  log: Logger;
}

/**
 * Builds the demo, manifests or live source. The live source loads client-node
 * lazily, on its first request, so that start-up stays fast.
 *
 * @throws {NoClusterConfiguredError} when a live cluster is wanted but none is configured.
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
      const { loadManifests } = await import("../kube/manifests.ts");
      const source = await loadManifests(choice.paths);
      for (const w of source.warnings ?? []) opts.log.warn(w);
      return source;
    }
    case "live": {
      const { createLazyLiveSource, NoKubeconfigError } = await import("../kube/live.ts");
      try {
        return await createLazyLiveSource({
          ...(choice.kubeconfig ? { kubeconfigPath: choice.kubeconfig } : {}),
          ...(choice.context ? { context: choice.context } : {}),
          env: opts.env,
          timeoutMs: opts.config.kubeTimeoutMs,
          log: opts.log,
        });
      } catch (err) {
        if (err instanceof NoKubeconfigError) throw new NoClusterConfiguredError(err.message);
        throw err;
      }
    }
  }
}
