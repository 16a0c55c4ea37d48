/**
 * `list_clusters`: the clusters this server knows — the kubeconfig's contexts (names
 * only), which is the default, which one this server reads — and the multicluster
 * Links the cluster it reads holds, with their mirrored Service counts.
 *
 * @module
 */
import { z } from "zod";
import { KubeApiError } from "../errors.ts";
import type { KubeconfigContexts, KubeconfigContextsProvider } from "../kube/kubeconfig.ts";
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
  mirroredServices: z.object({
    gateway: z.number().int(),
    remoteDiscovery: z.number().int(),
    federated: z.number().int().describe("Federated Services with a member in this cluster"),
    total: z.number().int(),
  }).nullable().describe("Mirror Services here for this Link; null when Services cannot be listed"),
});

const clusterOut = z.object({
  name: z.string().describe("kubeconfig context name, or demo / manifests"),
  default: z.boolean().describe("The kubeconfig's current-context (or the single source)"),
  serving: z.boolean().describe("The cluster this server reads (--context, else the default)"),
  links: z.array(linkOut).optional().describe(
    "Multicluster Links this cluster holds; only for the cluster this server reads",
  ),
  linksError: z.string().optional().describe("Why the Links could not be read"),
  note: z.string().optional().describe("What is not known about this cluster, and why"),
});

const output = {
  clusters: z.array(clusterOut).describe("Every known cluster, the serving one first"),
  defaultCluster: z.string().nullable().describe("The default cluster's name"),
  servingCluster: z.string().describe("The cluster this server reads"),
  summary: z.string().describe("One line for people"),
};

type LinkOut = z.infer<typeof linkOut>;
type ClusterOut = z.infer<typeof clusterOut>;

const listClustersTool: ToolSpec<Record<string, never>, typeof output> = {
  name: "list_clusters",
  title: "Clusters: List clusters and Links",
  description:
    "List the Kubernetes clusters this server knows: the kubeconfig contexts (names only, the default marked, never servers or credentials), which one this server reads, and the Linkerd multicluster Links that cluster holds — target cluster, mode (gateway or pod-to-pod remote-discovery), gateway address and port, probe settings, selectors and how many mirrored Services each Link has. Use it to find out which clusters are linked before checking multicluster health (check_mesh_health) or cross-cluster traffic. On --demo and --manifests the single source is the one cluster. Example: {}.",
  inputSchema: {},
  outputSchema: output,
  annotations: READ_ONLY,
  async handler(_args, deps, ctx) {
    const source = deps.cluster;
    const info = sourceInfoOf(source);
    const read = await readLinks(source, ctx.signal);
    const here: Omit<ClusterOut, "name" | "default" | "serving"> = "error" in read
      ? { linksError: read.error }
      : { links: read.links };
    if (source.kind !== "live") {
      const name = source.kind;
      const clusters: ClusterOut[] = [{ name, default: true, serving: true, ...here }];
      return ok({
        clusters,
        defaultCluster: name,
        servingCluster: name,
        summary: `One cluster (${info.description})${linkSummary(here)}`,
      });
    }
    const serving = info.context ?? "current-context";
    let kc: KubeconfigContexts | undefined;
    let kcError: string | undefined;
    const provider = source as Partial<KubeconfigContextsProvider>;
    if (typeof provider.kubeconfigContexts === "function") {
      try {
        kc = await provider.kubeconfigContexts();
      } catch (err) {
        kcError = describeError(err, "list_clusters");
      }
    }
    const names = kc ? [...kc.contexts] : [];
    if (!names.includes(serving)) names.unshift(serving);
    const ordered = [serving, ...names.filter((n) => n !== serving)];
    const other =
      "Not read: this server reads one cluster (its --context); start another server with --context NAME to inspect this one";
    const clusters: ClusterOut[] = ordered.map((name) => ({
      name,
      default: kc?.current === name,
      serving: name === serving,
      ...(name === serving ? here : { note: other }),
    }));
    if (!kc) {
      clusters[0]!.note = kcError
        ? `The kubeconfig's contexts could not be read: ${kcError}`
        : "The kubeconfig's other contexts are not known to this source";
    }
    return ok({
      clusters,
      defaultCluster: kc?.current ?? null,
      servingCluster: serving,
      summary: `${clusters.length} cluster(s) in the kubeconfig; this server reads "${serving}"${
        kc?.current && kc.current !== serving ? ` (the default is "${kc.current}")` : ""
      }${linkSummary(here)}`,
    });
  },
};

function linkSummary(here: { links?: LinkOut[]; linksError?: string }): string {
  if (here.linksError) return "; its Links could not be read";
  const links = here.links ?? [];
  if (links.length === 0) return "; it holds no multicluster Links";
  return `; it links to ${links.map((l) => `${l.targetClusterName} (${l.mode})`).join(", ")}`;
}

/** The Links of `source` and their mirror counts; a missing Link CRD means no Links. */
async function readLinks(
  source: ClusterSource,
  signal: AbortSignal,
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
