/**
 * `list_clusters`: the clusters this server serves — the kubeconfig's contexts (names
 * only), `--manifests NAME=PATH` sets, the demo's clusters — which is the default, and
 * the multicluster Links each reachable cluster holds, with their mirrored Service
 * counts and the served cluster each points to.
 *
 * @module
 */
import { z } from "zod";
import { KubeApiError } from "../errors.ts";
import { singleClusterSet } from "../clusters/set.ts";
import type { KubeconfigContextsProvider } from "../kube/kubeconfig.ts";
import type { ClusterSource } from "../kube/source.ts";
import type { KubeObject } from "../kube/types.ts";
import {
  classifyMirror,
  mirrorCounts,
  MIRRORED_SERVICE_LABEL,
  type MirroredService,
  parseLink,
} from "../multicluster/links.ts";
import { describeError, ok, READ_ONLY, sourceInfoOf, type ToolSpec } from "./_spec.ts";

const probeOut = z.object({
  path: z.string().optional().describe('Probe path on the remote gateway, e.g. "/ready"'),
  port: z.string().optional().describe('Probe port, e.g. "4191"'),
  period: z.string().optional().describe('Interval between probes, e.g. "3s"'),
  timeout: z.string().optional().describe('Probe timeout, e.g. "30s"'),
  failureThreshold: z.string().optional().describe("Consecutive failures before down"),
});

const linkOut = z.object({
  name: z.string().describe("Link name"),
  namespace: z.string().describe('Link namespace, usually "linkerd-multicluster"'),
  targetClusterName: z.string().describe("The linked (target) cluster"),
  mode: z.enum(["gateway", "remote-discovery"]).describe(
    "gateway: traffic goes through the target's multicluster gateway; remote-discovery: pod-to-pod (flat network)",
  ),
  gatewayAddress: z.string().optional().describe("Gateway mode: the target gateway's address(es)"),
  gatewayPort: z.string().optional().describe('Gateway mode: its port, e.g. "4143"'),
  gatewayIdentity: z.string().optional().describe("Gateway mode: the gateway's mTLS identity"),
  probe: probeOut.optional().describe("Gateway mode: the health probe (probeSpec)"),
  selectors: z.object({
    gateway: z.string().optional().describe("Services mirrored through the gateway"),
    remoteDiscovery: z.string().optional().describe("Services mirrored pod-to-pod"),
    federated: z.string().optional().describe("Members of federated Services"),
  }).describe('The Link\'s label selectors, e.g. "mirror.linkerd.io/exported=true"'),
  servedAs: z.string().nullable().describe(
    'The cluster of this server the Link points to (use it as "cluster"); null when this server does not serve it (add its context, --manifests NAME=PATH, or a linkName in LINKERD_MCP_CONFIG)',
  ),
  mirroredServices: z.object({
    gateway: z.number().int(),
    remoteDiscovery: z.number().int(),
    federated: z.number().int().describe("Federated Services with a member in this cluster"),
    total: z.number().int(),
  }).nullable().describe("Mirror Services here for this Link; null when Services cannot be listed"),
});

const clusterOut = z.object({
  name: z.string().describe(
    'The name tools take as "cluster": a kubeconfig context, a --manifests NAME, or "west"/"east" on the demo',
  ),
  default: z.boolean().describe("The kubeconfig's current-context (or the single source)"),
  serving: z.boolean().describe(
    'The cluster tools read when no "cluster" is given (--context, else the default)',
  ),
  linkName: z.string().optional().describe(
    "The name other clusters' Links give this cluster (their targetClusterName)",
  ),
  reachable: z.boolean().optional().describe(
    "Its Links could be read (false: the cluster did not answer; see linksError)",
  ),
  links: z.array(linkOut).optional().describe("Multicluster Links this cluster holds"),
  linksError: z.string().optional().describe("Why the Links could not be read"),
  note: z.string().optional().describe("What is not known about this cluster, and why"),
});

const output = {
  clusters: z.array(clusterOut).describe("Every known cluster, the serving one first"),
  defaultCluster: z.string().nullable().describe("The default cluster's name"),
  servingCluster: z.string().describe('The cluster tools read when no "cluster" is given'),
  summary: z.string().describe("One line for people"),
};

type LinkOut = z.infer<typeof linkOut>;
type ClusterOut = z.infer<typeof clusterOut>;

/** How many clusters one list_clusters call reads the Links of, and how long each may take. */
export const MAX_CLUSTERS_READ = 12;
const READ_TIMEOUT_MS = 8_000;

const listClustersTool: ToolSpec<Record<string, never>, typeof output> = {
  name: "list_clusters",
  title: "Clusters: List clusters and Links",
  description:
    'List the Kubernetes clusters this server serves — every kubeconfig context (names only, the default marked, never servers or credentials), every --manifests NAME=PATH set, or the demo\'s "west" and "east" — and the Linkerd multicluster Links each reachable cluster holds: target cluster, mode (gateway or pod-to-pod remote-discovery), gateway address and port, probe settings, selectors, how many mirrored Services each Link has, and which served cluster the Link points to. Every other tool takes {"cluster": NAME} to read that cluster. Use it to find out which clusters are linked before checking multicluster health (check_mesh_health) or cross-cluster connectivity (analyze_connectivity to a mirrored service). With "cluster", only that cluster\'s Links are read. Example: {} or {"cluster": "east"}.',
  inputSchema: {},
  outputSchema: output,
  annotations: READ_ONLY,
  async handler(args, deps, ctx) {
    const only = (args as { cluster?: string }).cluster;
    const set = deps.clusters ??
      singleClusterSet({
        name: deps.clusterName ??
          (deps.cluster.kind === "live"
            ? sourceInfoOf(deps.cluster).context ?? "current-context"
            : deps.cluster.kind),
        linkName: deps.clusterName ?? deps.cluster.kind,
        source: deps.cluster,
        prom: deps.prom,
        config: deps.config,
      });
    const all = await set.list();
    const servingName = all.find((c) => c.default)?.name ?? deps.clusterName ?? "";
    const linkNames = new Map(all.map((c) => [c.linkName, c.name]));
    // The kubeconfig's current-context marks "default" for a live server.
    let current: string | undefined;
    const provider = deps.cluster as Partial<KubeconfigContextsProvider>;
    let kcError: string | undefined;
    if (deps.cluster.kind === "live" && typeof provider.kubeconfigContexts === "function") {
      try {
        current = (await provider.kubeconfigContexts()).current;
      } catch (err) {
        kcError = describeError(err, "list_clusters");
      }
    }
    const wanted = only === undefined
      ? all.slice(0, MAX_CLUSTERS_READ)
      : all.filter((c) => c.name === only);
    const read = new Map(
      await Promise.all(wanted.map(async (c) => {
        const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(READ_TIMEOUT_MS)]);
        try {
          const handle = await set.get(c.name);
          return [c.name, await readLinks(handle.source, signal, linkNames)] as const;
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          return [c.name, { error: describeError(err, "list_clusters", c.name) }] as const;
        }
      })),
    );
    const clusters: ClusterOut[] = all.map((c) => {
      const r = read.get(c.name);
      const out: ClusterOut = {
        name: c.name,
        default: deps.cluster.kind === "live" ? current === c.name : c.default,
        serving: c.name === servingName,
        linkName: c.linkName,
      };
      if (r && "error" in r) Object.assign(out, { reachable: false, linksError: r.error });
      else if (r) Object.assign(out, { reachable: true, links: r.links });
      else {
        out.note = only !== undefined
          ? "Not read: list_clusters was asked about another cluster"
          : `Not read: only the first ${MAX_CLUSTERS_READ} clusters are read; call list_clusters {"cluster": "${c.name}"}`;
      }
      return out;
    });
    if (kcError) {
      clusters[0]!.note = `The kubeconfig's contexts could not be read: ${kcError}`;
    }
    const serving = clusters.find((c) => c.serving) ?? clusters[0]!;
    const defaultCluster = deps.cluster.kind === "live" ? current ?? null : servingName;
    const info = sourceInfoOf(deps.cluster);
    return ok({
      clusters,
      defaultCluster,
      servingCluster: servingName,
      summary: clusters.length === 1
        ? `One cluster "${serving.name}" (${info.description})${linkSummary(serving)}`
        : `${clusters.length} clusters (${
          clusters.map((c) => `"${c.name}"`).join(", ")
        }); tools read "${servingName}" unless given "cluster"${
          defaultCluster && defaultCluster !== servingName
            ? ` (the kubeconfig's default is "${defaultCluster}")`
            : ""
        }${linkSummary(serving)}`,
    });
  },
};

function linkSummary(here: { name: string; links?: LinkOut[]; linksError?: string }): string {
  if (here.linksError) return `; the Links of "${here.name}" could not be read`;
  if (!here.links) return "";
  if (here.links.length === 0) return `; "${here.name}" holds no multicluster Links`;
  return `; "${here.name}" links to ${
    here.links.map((l) =>
      `${l.targetClusterName} (${l.mode}${
        l.servedAs ? `, served as "${l.servedAs}"` : ", not served here"
      })`
    ).join(", ")
  }`;
}

/** The Links of `source` and their mirror counts; a missing Link CRD means no Links. */
async function readLinks(
  source: ClusterSource,
  signal: AbortSignal,
  served: ReadonlyMap<string, string>,
): Promise<{ links: LinkOut[] } | { error: string }> {
  let objects: KubeObject[];
  try {
    objects = await source.list("links", { signal });
  } catch (err) {
    if (err instanceof DOMException) throw err; // cancelled or timed out: the call fails
    if (err instanceof KubeApiError && err.status === 404) return { links: [] };
    return { error: describeError(err, "list_clusters") };
  }
  let mirrors: MirroredService[] | undefined;
  if (objects.length) {
    try {
      mirrors = (await source.list("services", { labelSelector: MIRRORED_SERVICE_LABEL, signal }))
        .map(classifyMirror).filter((m): m is MirroredService => m !== undefined);
    } catch (err) {
      if (err instanceof DOMException) throw err;
      if (!(err instanceof KubeApiError && err.status === 403)) {
        return { error: describeError(err, "list_clusters") };
      }
    }
  }
  const links = objects.map(parseLink)
    .sort((a, b) =>
      a.targetClusterName.localeCompare(b.targetClusterName) || a.name.localeCompare(b.name)
    )
    .map((l): LinkOut => {
      const counts = mirrors ? mirrorCounts(mirrors, l.targetClusterName) : undefined;
      return {
        name: l.name,
        namespace: l.namespace,
        targetClusterName: l.targetClusterName,
        mode: l.mode,
        ...(l.gatewayAddress ? { gatewayAddress: l.gatewayAddress } : {}),
        ...(l.gatewayPort ? { gatewayPort: l.gatewayPort } : {}),
        ...(l.gatewayIdentity ? { gatewayIdentity: l.gatewayIdentity } : {}),
        ...(l.probe ? { probe: l.probe } : {}),
        selectors: l.selectors,
        servedAs: served.get(l.targetClusterName) ?? null,
        mirroredServices: counts
          ? { ...counts, total: counts.gateway + counts.remoteDiscovery + counts.federated }
          : null,
      };
    });
  return { links };
}

/** The cluster tools. */
// deno-lint-ignore no-explicit-any
export function clusterTools(): ToolSpec<any, any>[] {
  return [listClustersTool];
}
