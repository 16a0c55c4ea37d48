/**
 * Mesh inventory tools: `check_mesh_health` (is the Linkerd control plane healthy,
 * modelled on `linkerd check`) and `list_meshed_services` (which Services have
 * meshed pods, page by page).
 *
 * @module
 */
import { z } from "zod";
import { loadState } from "../kube/state.ts";

/** Domain code, loaded on first use so that the server starts fast. */
const health = () => import("../mesh/health.ts");
const services = () => import("../mesh/services.ts");
import { ok, READ_ONLY, type ToolSpec } from "./_spec.ts";
import { deprecatedAlias, namespaceArg, pickAlias } from "./_args.ts";
import { PAGE_BYTES } from "./_budget.ts";

/** Most Services in a default page of list_meshed_services. */
const DEFAULT_PAGE = 50;
/** Pod names per Service in a default page. */
const DEFAULT_PAGE_PODS = 3;

/** Identity helper that lets TypeScript infer a tool's argument and output types. */
function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  spec: ToolSpec<I, O>,
): ToolSpec<I, O> {
  return spec;
}

// ------------------------------------------------------------------ check_mesh_health

const checkOut = z.object({
  name: z.string().describe(
    'What is checked, as linkerd check words it, e.g. "control plane pods are ready"',
  ),
  category: z.string().describe(
    'linkerd check category, e.g. "linkerd-existence", "linkerd-identity"',
  ),
  status: z.enum(["ok", "warning", "error"]).describe("error makes healthy false"),
  message: z.string().describe("What was found"),
  hint: z.string().describe("What to do, and a https://linkerd.io/2/checks/ link"),
});

const componentOut = z.object({
  component: z.string().describe('linkerd.io/control-plane-component label, e.g. "destination"'),
  name: z.string().describe("Pod name"),
  healthy: z.boolean().nullable().describe("null when the source has no pod status (manifests)"),
  status: z.string().describe(
    'Pod phase ("Running", "Succeeded"), a failure reason such as "CrashLoopBackOff", or "Unknown"',
  ),
  restarts: z.number().int().describe("Highest container restart count"),
});

const healthOutput = {
  healthy: z.boolean().describe("True when Linkerd is installed and no check has status error"),
  installed: z.boolean().describe("False when no Linkerd control plane exists in namespace"),
  namespace: z.string().describe("The control-plane namespace checked"),
  source: z.string().describe("Where the cluster state came from"),
  summary: z.string().describe("One-line verdict"),
  controlPlaneVersion: z.string().optional().describe("linkerdVersion from linkerd-config"),
  proxyVersion: z.string().optional().describe("Proxy version the control plane injects"),
  checks: z.array(checkOut).describe("Every check run, grouped by category"),
  components: z.array(componentOut).describe("Control-plane pods (original server's shape)"),
  totalPods: z.number().int().describe("Control-plane pods"),
  healthyPods: z.number().int(),
  unhealthyPods: z.number().int(),
  unknownPods: z.number().int().describe("Pods without status (manifests or demo)"),
};

const checkMeshHealthTool = defineTool({
  name: "check_mesh_health",
  title: "Mesh: Check health",
  description:
    'Check whether the Linkerd service mesh is healthy, like `linkerd check`: control-plane Deployments and pods ready (including native-sidecar proxies) and not crash-looping, Linkerd CRDs installed with their served versions, trust-anchor validity and expiry (warns 60 days ahead), data-plane proxy versions against the control plane, and the viz and multicluster extensions when installed. Use it first when something in the mesh misbehaves, before upgrades or certificate rotation, or to find out whether Linkerd is installed at all. Each check has a status (ok, warning, error), a message and a hint with the fix. Example: {} for the default control plane, or {"namespace": "linkerd"}.',
  inputSchema: {
    namespace: namespaceArg().optional().describe(
      'Namespace of the Linkerd control plane, e.g. "linkerd" (default: LINKERD_NAMESPACE, else "linkerd"). Not an application namespace.',
    ),
  },
  outputSchema: healthOutput,
  annotations: READ_ONLY,
  text: healthText,
  async handler(args, deps, ctx) {
    const namespace = args.namespace ?? deps.config.linkerdNamespace;
    const { checkMeshHealth, loadHealthInput, loadGatewayProbes } = await health();
    const input = await loadHealthInput(deps.cluster, {
      namespace,
      vizNamespace: deps.config.vizNamespace,
      prometheusConfigured: !deps.config.prometheus.isDefault,
      signal: ctx.signal,
    });
    // gateway liveness of multicluster Links comes from Prometheus (never fails the check)
    const gatewayProbes = input.links.length
      ? await loadGatewayProbes(deps.prom, { signal: ctx.signal })
      : undefined;
    return ok(checkMeshHealth(input, deps.now(), gatewayProbes ? { gatewayProbes } : {}));
  },
});

/**
 * check_mesh_health's text block, as `linkerd check` reads: the verdict, versions and
 * pod counts, every check that is not ok with its message and fix, and the passed
 * checks counted per category (structuredContent has every check in full; its JSON
 * twice would not fit the answer budget).
 */
function healthText(r: z.infer<z.ZodObject<typeof healthOutput>>): string {
  const lines = [r.summary];
  if (r.installed) {
    lines.push(
      `Control plane "${r.namespace}"${r.controlPlaneVersion ? ` ${r.controlPlaneVersion}` : ""}${
        r.proxyVersion ? ` (proxy ${r.proxyVersion})` : ""
      }; control-plane pods: ${r.totalPods} (${r.healthyPods} healthy, ${r.unhealthyPods} unhealthy, ${r.unknownPods} without status)`,
    );
  }
  const passed = new Map<string, number>();
  for (const c of r.checks) {
    if (c.status === "ok") passed.set(c.category, (passed.get(c.category) ?? 0) + 1);
    else {lines.push(
        `${c.status.toUpperCase()} [${c.category}] ${c.name}: ${c.message} Fix: ${c.hint}`,
      );}
  }
  if (passed.size) {
    const n = [...passed.values()].reduce((a, b) => a + b, 0);
    lines.push(
      `Passed: ${n} check(s) in ${[...passed].map(([cat, k]) => `${cat} (${k})`).join(", ")}`,
    );
  }
  const bad = r.components.filter((c) => c.healthy === false);
  if (bad.length) {
    lines.push(
      `Unhealthy control-plane pods: ${
        bad.map((c) => `${c.name} (${c.status}, ${c.restarts} restarts)`).join(", ")
      }`,
    );
  }
  lines.push("Every check's message and hint: structuredContent.checks");
  return lines.join("\n");
}

// ------------------------------------------------------------------ list_meshed_services

const serviceOut = z.object({
  namespace: z.string(),
  service: z.string().describe("Service name"),
  meshedPods: z.number().int().describe("Selected pods with a Linkerd proxy"),
  totalPods: z.number().int().describe("Selected pods that are not terminated"),
  partiallyMeshed: z.boolean().describe("True when only some selected pods are meshed"),
  proxyVersions: z.array(z.string()).describe("Distinct proxy versions of the meshed pods"),
  workloads: z.array(z.object({
    kind: z.string().describe('"Deployment", "StatefulSet", "DaemonSet", ... or "Pod"'),
    name: z.string(),
  })).describe("Workloads behind the selected pods (at most 10)"),
  pods: z.array(z.string()).describe(
    `Meshed pod names (at most 10; at most ${DEFAULT_PAGE_PODS} in a default page, without limit)`,
  ),
  unmeshedPods: z.array(z.string()).describe(
    `Selected pods without a proxy (at most 10; at most ${DEFAULT_PAGE_PODS} in a default page)`,
  ),
});

const servicesOutput = {
  services: z.array(serviceOut).describe("This page, sorted by namespace then name"),
  totalServices: z.number().int().describe("Services matching the request over all pages"),
  nextCursor: z.string().optional().describe(
    "Pass as cursor for the next page; absent on the last page",
  ),
  namespace: z.string().optional().describe("The namespace filter, when given"),
  summary: z.object({
    servicesScanned: z.number().int().describe("Services in scope"),
    fullyMeshed: z.number().int().describe("Services whose selected pods are all meshed"),
    partiallyMeshed: z.number().int().describe("Services with some pods meshed"),
    unmeshed: z.number().int().describe("Services whose pods have no proxy"),
    withoutPods: z.number().int().describe("Services without selector or without running pods"),
    meshedPods: z.number().int().describe("Meshed pods among those selected by Services"),
    selectedPods: z.number().int().describe("Pods selected by some Service"),
  }).describe("Counts over every Service in scope, not just this page"),
  note: z.string().optional().describe("Why the list is empty, and what to do, when it is"),
};

const listMeshedServicesTool = defineTool({
  name: "list_meshed_services",
  title: "Mesh: List meshed services",
  description:
    `List Kubernetes Services whose pods are meshed by Linkerd, with meshed/total pod counts, proxy versions, the workloads (Deployment, StatefulSet, ...) behind them, and partially meshed Services flagged (partiallyMeshed: some pods lack a proxy, usually not restarted after injection was enabled). Use it to see what is in the mesh, to find Services that are only partly meshed, or to pick a Service name for the policy and metrics tools. Output is paged and sorted by namespace and name (summary and totalServices count every page): pass nextCursor back as cursor for more; without limit a page holds as many Services as fit about 8 KB, with at most ${DEFAULT_PAGE_PODS} pod names each. Set include_unmeshed to also list Services with no meshed pod (includeUnmeshed is its deprecated alias). Examples: {"namespace": "emojivoto"}; {"limit": 50}; {"cursor": "<nextCursor>"}.`,
  inputSchema: {
    namespace: namespaceArg().optional().describe(
      'Only this namespace, e.g. "emojivoto"; all namespaces when omitted',
    ),
    limit: z.number().int().min(1).max(1000).optional().describe(
      `Services per page, 1-1000; default: as many as fit about 8 KB, at most ${DEFAULT_PAGE}`,
    ),
    cursor: z.string().max(2048).optional().describe(
      "nextCursor from the previous page, unchanged; use the same namespace and include_unmeshed",
    ),
    include_unmeshed: z.boolean().optional().describe(
      "Also list Services that select pods but none of them meshed (default false)",
    ),
    includeUnmeshed: deprecatedAlias(z.boolean(), "include_unmeshed"),
  },
  outputSchema: servicesOutput,
  annotations: READ_ONLY,
  async handler(args, deps, ctx) {
    const state = await loadState(deps.cluster, ["services", "pods", "replicasets"], {
      linkerdNamespace: deps.config.linkerdNamespace,
      ...(args.namespace ? { namespace: args.namespace } : {}),
      signal: ctx.signal,
    });
    const { listMeshedServices } = await services();
    const list = (limit: number) =>
      listMeshedServices(state, {
        limit,
        includeUnmeshed: pickAlias(
          "include_unmeshed",
          args.include_unmeshed,
          "includeUnmeshed",
          args.includeUnmeshed,
        ) ?? false,
        ...(args.namespace ? { namespace: args.namespace } : {}),
        ...(args.cursor !== undefined ? { cursor: args.cursor } : {}),
      });
    let page = list(args.limit ?? DEFAULT_PAGE);
    if (args.limit === undefined) {
      // A default page: per-pod detail collapsed, and as many Services as fit the budget.
      page = { ...page, services: page.services.map(collapse) };
      const fit = fitting(page.services);
      if (fit < page.services.length) {
        const short = list(fit);
        page = { ...short, services: short.services.map(collapse) };
      }
    }
    return ok({ ...page, ...(args.namespace ? { namespace: args.namespace } : {}) });
  },
});

/** A Service entry with its pod name lists cut to {@linkcode DEFAULT_PAGE_PODS}. */
function collapse<T extends { pods: string[]; unmeshedPods: string[] }>(s: T): T {
  return {
    ...s,
    pods: s.pods.slice(0, DEFAULT_PAGE_PODS),
    unmeshedPods: s.unmeshedPods.slice(0, DEFAULT_PAGE_PODS),
  };
}

/** How many of the first entries fit {@linkcode PAGE_BYTES} of JSON (at least one). */
function fitting(items: readonly unknown[]): number {
  let used = 0;
  for (const [i, item] of items.entries()) {
    used += JSON.stringify(item).length + 1;
    if (used > PAGE_BYTES) return Math.max(1, i);
  }
  return items.length;
}

/** The mesh family's tools. */
// deno-lint-ignore no-explicit-any
export function meshTools(): ToolSpec<any, any>[] {
  return [checkMeshHealthTool, listMeshedServicesTool];
}
