/**
 * Builds the {@linkcode ClusterSet} a server serves from the command line: every
 * context of the kubeconfig (the `--context`, else the current one, by default), every
 * `--manifests NAME=PATH` set, or the demo's clusters. The default cluster's source is
 * the one already built by {@linkcode buildSource}; any other is built on its first use
 * with its own source (and cache), Prometheus client and configuration
 * (`LINKERD_MCP_CONFIG`, see `src/clusters/config_file.ts`).
 *
 * @module
 */
import type { SourceChoice } from "./args.ts";
import {
  type ClusterEntry,
  type ClusterHandle,
  type ClusterSet,
  createClusterSet,
} from "../clusters/set.ts";
import { type ClustersFile, configFor } from "../clusters/config_file.ts";
import type { Config } from "../config.ts";
import type { ClusterSource } from "../kube/source.ts";
import type { Logger } from "../log.ts";
import type { ToolDeps } from "../tools/_spec.ts";
import { demoPromClientFor, westDemoPromClient } from "../demo/cluster_prom.ts";
import { lazyPromClient } from "../metrics/lazy_client.ts";
import type { PromClient } from "../metrics/prom_client.ts";
import { redactUrl } from "../redact.ts";

/** What {@linkcode buildClusterSet} needs. */
export interface BuildClusterSetOptions {
  env: Record<string, string | undefined>;
  /** The configuration from the environment (the default cluster's). */
  config: Config;
  log: Logger;
  /** Per-cluster settings (`LINKERD_MCP_CONFIG`); none when absent. */
  file?: ClustersFile;
  /** The default cluster, already built. */
  source: ClusterSource;
}

/**
 * The Prometheus client of a cluster, built on its first query: the demo's recording for
 * the demo, else `config`'s Prometheus with the cluster's API server proxy as fallback.
 */
export function promClientFor(source: ClusterSource, config: Config, log: Logger): PromClient {
  if (source.kind === "demo") return westDemoPromClient();
  return lazyPromClient(
    async () =>
      (await import("../metrics/mod.ts")).createPromClient(config, { cluster: source, log }),
    redactUrl(config.prometheus.url),
  );
}

/** The cluster set and the default cluster's name and configuration. */
export interface BuiltClusters {
  clusters: ClusterSet;
  defaultName: string;
  /** The default cluster's configuration (the environment's with its overrides). */
  config: Config;
  /** Its Prometheus client. */
  prom: PromClient;
}

/** The tools' dependencies: the default cluster's source and what `built` made for it. */
export function toolDepsOf(cluster: ClusterSource, built: BuiltClusters, log: Logger): ToolDeps {
  return {
    cluster,
    config: built.config,
    prom: built.prom,
    log,
    now: () => new Date(),
    clusters: built.clusters,
    clusterName: built.defaultName,
  };
}

/**
 * The clusters of `choice`. Manifests of other sets are read now, so that a bad path
 * fails at start-up as the default set's does.
 *
 * @throws {ManifestError} when another set's manifests cannot be read.
 */
export async function buildClusterSet(
  choice: SourceChoice,
  opts: BuildClusterSetOptions,
): Promise<BuiltClusters> {
  const overrides = opts.file?.clusters ?? {};
  const linkName = (name: string) => overrides[name]?.linkName ?? name;
  const defaultName = choice.kind === "manifests"
    ? choice.sets[0]?.name ?? "manifests"
    : choice.kind === "demo"
    ? "west"
    : (opts.source as { context?: string }).context ?? "current-context";
  const defaultConfig = configFor(opts.config, overrides[defaultName], { isDefault: true });
  const defaultProm = promClientFor(opts.source, defaultConfig, opts.log);
  const defaultHandle: ClusterHandle = {
    name: defaultName,
    linkName: linkName(defaultName),
    source: opts.source,
    prom: defaultProm,
    config: defaultConfig,
  };
  const entry = (name: string, build: (config: Config) => Promise<ClusterSource>) => ({
    name,
    linkName: linkName(name),
    async build(): Promise<ClusterHandle> {
      const config = configFor(opts.config, overrides[name], { isDefault: false });
      const source = await build(config);
      return {
        name,
        linkName: linkName(name),
        source,
        prom: promClientFor(source, config, opts.log),
        config,
      };
    },
  });
  const defaultEntry: ClusterEntry = {
    name: defaultName,
    linkName: linkName(defaultName),
    build: () => Promise.resolve(defaultHandle),
  };

  let clusters: ClusterSet;
  switch (choice.kind) {
    case "demo": {
      // The demo's second cluster, east, linked from west (the default).
      const east: ClusterEntry = {
        name: "east",
        linkName: linkName("east"),
        async build() {
          const { createDemoSource } = await import("../demo/mod.ts");
          return {
            name: "east",
            linkName: linkName("east"),
            source: createDemoSource({ cluster: "east" }),
            prom: demoPromClientFor("east"),
            config: configFor(opts.config, overrides["east"], { isDefault: false }),
          };
        },
      };
      clusters = createClusterSet([defaultEntry, east]);
      break;
    }
    case "manifests": {
      const { loadManifests } = await import("../kube/manifests.ts");
      const others: ClusterEntry[] = [];
      for (const set of choice.sets.slice(1)) {
        const source = await loadManifests(set.paths);
        for (const w of source.warnings ?? []) opts.log.warn(`${set.name}: ${w}`);
        const named = Object.assign(source, {
          sourceInfo: () => ({
            kind: "manifests" as const,
            description: `${set.name}: ${source.describe()}`,
            paths: [...set.paths],
          }),
        });
        others.push(entry(set.name, () => Promise.resolve(named)));
      }
      clusters = createClusterSet([defaultEntry, ...others]);
      break;
    }
    case "live": {
      const provider = opts.source as {
        kubeconfigContexts?: () => Promise<{ contexts: string[]; current?: string }>;
      };
      clusters = createClusterSet(async () => {
        let names: string[] = [];
        try {
          names = (await provider.kubeconfigContexts?.())?.contexts ?? [];
        } catch (err) {
          opts.log.warn("could not read the kubeconfig's contexts; serving the default only", {
            error: (err as Error).message,
          });
        }
        const { createLazyLiveSource } = await import("../kube/live.ts");
        const { withKubeconfigContexts } = await import("../kube/kubeconfig.ts");
        const kubeconfigPath = choice.kubeconfig;
        const others = names.filter((n) => n !== defaultName).map((name) =>
          entry(name, async (config) =>
            withKubeconfigContexts(
              await createLazyLiveSource({
                ...(kubeconfigPath ? { kubeconfigPath } : {}),
                context: name,
                env: opts.env,
                timeoutMs: config.kubeTimeoutMs,
                log: opts.log,
              }),
              { ...(kubeconfigPath ? { kubeconfigPath } : {}), env: opts.env },
            ))
        );
        return { entries: [defaultEntry, ...others] };
      });
      break;
    }
  }
  // (a live server learns its contexts on first use: not read here, at start-up)
  if (choice.kind !== "live") {
    const served = new Set((await clusters.list()).map((c) => c.name));
    for (const name of Object.keys(overrides)) {
      if (!served.has(name)) {
        opts.log.warn(
          `LINKERD_MCP_CONFIG names cluster "${name}", which this server does not serve`,
        );
      }
    }
  }
  return { clusters, defaultName, config: defaultConfig, prom: defaultProm };
}

/** Largest `LINKERD_MCP_CONFIG` file read. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/**
 * Reads and checks the `LINKERD_MCP_CONFIG` file.
 *
 * @throws {ClustersFileError} when it cannot be read or is not a valid settings file.
 */
export async function readClustersFile(path: string): Promise<ClustersFile> {
  const { ClustersFileError, parseClustersFile } = await import("../clusters/config_file.ts");
  const where = `LINKERD_MCP_CONFIG "${path}"`;
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new ClustersFileError(`${where} is not a regular file`);
    if (info.size > MAX_CONFIG_FILE_BYTES) {
      throw new ClustersFileError(`${where} is larger than 1 MiB`);
    }
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof ClustersFileError) throw err;
    throw new ClustersFileError(
      `${where} cannot be read (${
        err instanceof Deno.errors.NotFound ? "no such file" : "permission denied or unreadable"
      }); point LINKERD_MCP_CONFIG at a readable YAML or JSON file, or unset it`,
    );
  }
  const { parse } = await import("yaml");
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ClustersFileError(
      `${where} is not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  return parseClustersFile(doc, where);
}
