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
import { fail, ok, READ_ONLY, sourceInfoOf, type ToolSpec } from "./_spec.ts";
import { deprecatedAlias, namespaceArg, pickAlias } from "./_args.ts";
import { ANSWER_BYTES, PAGE_BYTES } from "./_budget.ts";

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
  note: z.string().optional().describe(
    "Present when the messages of passed checks were shortened to fit the answer; pass category for one category in full",
  ),
};

const checkMeshHealthTool = defineTool({
  name: "check_mesh_health",
  title: "Mesh: Check health",
  description:
    'Check whether the Linkerd service mesh is healthy, like `linkerd check`: control-plane Deployments and pods ready (including native-sidecar proxies) and not crash-looping, Linkerd CRDs installed with their served versions, trust-anchor validity and expiry (warns 60 days ahead), data-plane proxy versions against the control plane, and the viz and multicluster extensions when installed (multicluster: Links, service mirror controllers, gateway probes, mirror Services and their endpoints, and, for a linked cluster this server also serves, shared trust anchors and the exported Services there). Use it first when something in the mesh misbehaves, before upgrades or certificate rotation, or to find out whether Linkerd is installed at all. Each check has a status (ok, warning, error), a message and a hint with the fix. Example: {} for the default control plane, or {"namespace": "linkerd"}.',
  inputSchema: {
    namespace: namespaceArg().optional().describe(
      'Namespace of the Linkerd control plane, e.g. "linkerd" (default: LINKERD_NAMESPACE, else "linkerd"). Not an application namespace.',
    ),
    category: z.string().min(1).max(64).optional().describe(
      'Only the checks of this category, every message in full, e.g. "linkerd-multicluster" (healthy and summary still judge every check)',
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
      // Links whose target this server serves too are checked against it
      ...(deps.clusters ? { clusters: deps.clusters } : {}),
    });
    // gateway liveness of multicluster Links comes from Prometheus (never fails the check)
    const gatewayProbes = input.links.length
      ? await loadGatewayProbes(deps.prom, { signal: ctx.signal })
      : undefined;
    const report = checkMeshHealth(input, deps.now(), gatewayProbes ? { gatewayProbes } : {});
    if (args.category === undefined) {
      // what runTool and the server add around it: dataSource, and the demo's notice; a
      // fixed reserve for the usual sizes, so the same mesh gets the same answer from
      // every source (demo, manifests, a live cluster)
      const around = Math.max(
        AROUND_RESERVE_BYTES,
        JSON.stringify({
          dataSource: { ...sourceInfoOf(deps.cluster), cluster: deps.clusterName ?? "" },
        }).length + (deps.cluster.kind === "demo" ? DEMO_NOTICE_BYTES : 0),
      );
      return ok(fitHealth(report, ANSWER_BYTES - around));
    }
    const checks = report.checks.filter((c) => c.category === args.category);
    if (checks.length === 0) {
      return fail(
        `No check in category "${args.category}"; the categories checked are ${
          [...new Set(report.checks.map((c) => `"${c.category}"`))].join(", ")
        }`,
      );
    }
    return ok({ ...report, checks });
  },
});

/** Bytes of the notice the server adds to a demo answer (src/server.ts), with room to spare. */
const DEMO_NOTICE_BYTES = 256;
/** Bytes kept for what is added around a health report (dataSource, demo notice), at least. */
const AROUND_RESERVE_BYTES = 700;
/** A hint that is only a `linkerd check` docs link. */
const BARE_LINK = /^https:\/\/linkerd\.io\/2\/checks\/#[\w-]+$/;
/** Passed checks' messages are shortened to this many characters before their action hints go. */
const KEEP_OK_MESSAGE = 80;
/** Passed checks' messages are not shortened below this many characters. */
const MIN_OK_MESSAGE = 40;

type HealthOut = z.infer<z.ZodObject<typeof healthOutput>>;

/**
 * The report as the default answer gives it: every check, and when the whole would not fit
 * `target` bytes (what {@linkcode ANSWER_BYTES} leaves), passed checks without their hint (a docs link, nothing to do)
 * and, if that is not enough, with their messages shortened (to one common length, the
 * longest first) until it fits, said in `note`. Failing and warning checks stay whole.
 */
function fitHealth(report: HealthOut, target: number): HealthOut {
  const enc = new TextEncoder();
  const size = (r: HealthOut) =>
    enc.encode(JSON.stringify(r)).length + enc.encode(healthText(r)).length;
  if (size(report) <= target) return report;
  /** Passed checks' messages cut to `max`, their hints dropped, and a note that says so. */
  const trim = (max: number, allHints: boolean): HealthOut => {
    const checks = report.checks.map((c) =>
      c.status !== "ok" ? c : {
        ...c,
        message: c.message.length > max ? `${c.message.slice(0, max - 1)}…` : c.message,
        // a bare docs link goes first; a hint that says what to do (what was not
        // checked) only when that is not enough
        hint: allHints || BARE_LINK.test(c.hint) ? "" : c.hint,
      }
    );
    const cut = checks.filter((c, i) => c.message !== report.checks[i]!.message);
    const hints = checks.filter((c, i) => c.hint !== report.checks[i]!.hint).length;
    const example = (cut[0] ?? checks.find((c) => c.status === "ok"))?.category;
    return {
      ...report,
      checks,
      note: `To fit the answer, ${hints} passed checks have no hint${
        cut.length ? ` and ${cut.length} of their messages are shortened to ${max} characters` : ""
      }; call again with category (e.g. "${
        example ?? "linkerd-existence"
      }") for a category in full`,
    };
  };
  const longest = Math.max(...report.checks.map((c) => c.message.length), MIN_OK_MESSAGE);
  for (const [floor, allHints] of [[KEEP_OK_MESSAGE, false], [MIN_OK_MESSAGE, true]] as const) {
    if (size(trim(floor, allHints)) > target) continue;
    let lo: number = floor;
    let hi = longest;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (size(trim(mid, allHints)) <= target) lo = mid;
      else hi = mid - 1;
    }
    return trim(lo, allHints);
  }
  return trim(MIN_OK_MESSAGE, true);
}

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
  if (r.note) lines.push(r.note);
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
  mirror: z.object({
    kind: z.enum(["gateway", "remote-discovery", "federated"]).describe(
      "gateway: reached through the target cluster's gateway; remote-discovery: pod-to-pod; federated: the union of same-named Services in several clusters",
    ),
    cluster: z.string().optional().describe("The linked cluster it mirrors (a Link's target)"),
    remoteService: z.string().optional().describe(
      'Its name in that cluster, e.g. "books" for "books-east"',
    ),
    members: z.array(z.string()).optional().describe(
      'Federated: members in other clusters as "service@cluster"',
    ),
    localMember: z.string().optional().describe("Federated: the member in this cluster"),
  }).optional().describe(
    "Multicluster: present on Services the service mirror created (their pods are in the linked cluster, so meshedPods counts none here)",
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
    mirrored: z.number().int().optional().describe(
      "Mirrored and federated Services (multicluster), listed with mirror",
    ),
  }).describe("Counts over every Service in scope, not just this page"),
  note: z.string().optional().describe("Why the list is empty, and what to do, when it is"),
};

const listMeshedServicesTool = defineTool({
  name: "list_meshed_services",
  title: "Mesh: List meshed services",
  description:
    `List Kubernetes Services whose pods are meshed by Linkerd, with meshed/total pod counts, proxy versions, the workloads (Deployment, StatefulSet, ...) behind them, and partially meshed Services flagged (partiallyMeshed: some pods lack a proxy, usually not restarted after injection was enabled). Use it to see what is in the mesh, to find Services that are only partly meshed, or to pick a Service name for the policy and metrics tools. Output is paged and sorted by namespace and name (summary and totalServices count every page): pass nextCursor back as cursor for more; without limit a page holds as many Services as fit about 8 KB, with at most ${DEFAULT_PAGE_PODS} pod names each. Mirrored and federated Services of linked clusters (Linkerd multicluster) are listed too, with mirror saying the kind and the cluster they come from. Set include_unmeshed to also list Services with no meshed pod (includeUnmeshed is its deprecated alias). Examples: {"namespace": "emojivoto"}; {"limit": 50}; {"cursor": "<nextCursor>"}.`,
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
