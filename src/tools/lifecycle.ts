/**
 * The policy lifecycle's read-only tools: craft least-privilege policy from observed
 * traffic (`generate_policies`) and find what enforcing an audit-mode policy would deny
 * (`analyze_audit`). Schemas and short handlers; the use cases live in `src/lifecycle/`.
 *
 * @module
 */
import { z } from "zod";
import { parseDuration, validateName } from "../metrics/labels.ts";
import { namespaceArg, serviceArg, timeRangeArg } from "./_args.ts";
import { cursorArg, paginate } from "./_budget.ts";
import { ok, READ_ONLY, type ToolDeps, type ToolSpec } from "./_spec.ts";

/** Domain code, loaded on first use so that the server starts fast. */
const domain = () => import("../lifecycle/use_cases.ts");

function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  spec: ToolSpec<I, O>,
): ToolSpec<I, O> {
  return spec;
}

function lifecycleDeps(deps: ToolDeps, signal: AbortSignal) {
  return { cluster: deps.cluster, config: deps.config, prom: deps.prom, now: deps.now(), signal };
}

/** Bytes of JSON a default answer's structuredContent may take (the text block repeats it). */
const ANSWER_HALF = 3800;

/** Bytes the paging adds to an answer: total, omitted, nextCursor and a note. */
const PAGING_BYTES = 300;

/** The page bytes left for the listed items once the rest of the answer is counted. */
function roomFor(rest: unknown): number {
  return Math.min(3000, Math.max(400, ANSWER_HALF - PAGING_BYTES - JSON.stringify(rest).length));
}

/** The JSON size of an item as paginate counts it. */
const itemSize = (x: unknown) => JSON.stringify((x as { item: unknown }).item).length + 1;

/** Which of two lists each item of a combined page comes from. */
interface Tagged<T, U> {
  list: "a" | "b";
  item: T | U;
}

/**
 * One page over two lists (`a` first): the cursor carries one offset over both.
 * An explicit `limit` is that many items over both lists.
 */
function pageOfTwo<T, U>(
  a: readonly T[],
  b: readonly U[],
  opts: {
    tool: string;
    filter: string;
    limit?: number | undefined;
    cursor?: string | undefined;
    rest: unknown;
  },
) {
  const all: Tagged<T, U>[] = [
    ...a.map((item) => ({ list: "a" as const, item })),
    ...b.map((item) => ({ list: "b" as const, item })),
  ];
  const p = paginate(all, {
    tool: opts.tool,
    filter: opts.filter,
    limit: opts.limit,
    cursor: opts.cursor,
    defaultMax: 200,
    bytes: roomFor(opts.rest),
    size: itemSize,
  });
  return {
    a: p.items.filter((t) => t.list === "a").map((t) => t.item as T),
    b: p.items.filter((t) => t.list === "b").map((t) => t.item as U),
    total: p.total,
    omitted: Math.max(0, p.omitted),
    ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}),
  };
}

/** Refuses a malformed cursor, or one from other arguments, before any query runs. */
function checkCursor(tool: string, filter: string, cursor: string | undefined): void {
  if (cursor !== undefined) paginate([], { tool, filter, cursor, defaultMax: 1 });
}

const PAGING = {
  total: z.number().describe("Items over all pages"),
  omitted: z.number().describe("Items after this page"),
  nextCursor: z.string().optional().describe(
    "Pass as cursor, with the same other arguments, for the next page",
  ),
};

const common = {
  prometheus: z.string().describe("Which Prometheus answered"),
  partial: z.boolean().describe("True when some numbers are missing or Prometheus warned"),
  warnings: z.array(z.string()),
  timeRange: z.object({ start: z.string(), end: z.string(), window: z.string() }),
  notes: z.array(z.string()).describe(
    "Gaps and assumptions: short windows, clients seen only as IPs, opaque ports, RBAC limits",
  ),
};

const CLIENT = z.object({
  identity: z.string().optional().describe("mTLS identity of the client"),
  namespace: z.string().optional(),
  serviceAccount: z.string().optional(),
  workload: z.string().optional().describe(
    'Client workload(s) with that identity, "deployment/web"',
  ),
  unauthenticated: z.literal(true).optional().describe("The client has no mesh identity"),
});

const TARGET = z.object({
  namespace: z.string(),
  service: z.string().optional().describe("Service(s) reaching the port"),
  workload: z.string().optional(),
  port: z.number().optional(),
  server: z.string().describe('Server name, or "default:<policy>" when no Server selects the port'),
  route: z.string().optional().describe('"HTTPRoute/<name>" when the traffic matched one'),
});

const DENIED = z.object({
  client: CLIENT,
  target: TARGET,
  protocol: z.enum(["http", "tcp"]),
  requestRate: z.number().optional().describe("HTTP: requests per second over the window"),
  requests: z.number().optional().describe("HTTP: requests in the window"),
  connections: z.number().optional().describe("TCP: connections opened in the window"),
  reason: z.string().describe("Why no authorization but audit matched"),
  fix: z.string().describe("A sentence and the YAML that would authorize this flow"),
  fixChecked: z.boolean().describe("True when the policy model confirms the fix allows the flow"),
});

function analyzeAuditTool() {
  return defineTool({
    name: "analyze_audit",
    title: "Policy lifecycle: What would enforcement deny?",
    description:
      "Finds the traffic that is allowed today only by Linkerd's audit mode (Server accessPolicy: audit, " +
      "or default policy audit) and would be denied once the policy is enforced: one entry per client " +
      "and target port (and route), with its rate, why no authorization matched and a fix (YAML checked " +
      "by the policy model). Traffic a real authorization already allows is not reported. Run it after " +
      'deploying policy in audit mode and before switching to deny. Example: {"namespace": "booksapp", ' +
      '"time_range": "24h"}.',
    inputSchema: {
      namespace: namespaceArg('Namespace of the audited workloads, e.g. "booksapp"').optional()
        .describe('Namespace of the audited workloads, e.g. "booksapp"; all when omitted'),
      time_range: timeRangeArg("1h"),
      limit: z.number().int().min(1).max(1000).optional().describe(
        "Flows per page (wouldBeDenied, then undetermined), 1-1000; default: as many as fit an answer of about 8 KB",
      ),
      cursor: cursorArg(),
    },
    outputSchema: {
      ...common,
      ...PAGING,
      wouldBeDenied: z.array(DENIED).describe(
        "Flows enforcement would deny (this page); none over all pages (total 0) means enforcing is safe for the traffic of the window",
      ),
      undetermined: z.array(DENIED).describe(
        "Flows the model cannot decide without the client's IP: treat them as would-be-denied",
      ),
      auditedServers: z.array(z.object({
        namespace: z.string(),
        kind: z.enum(["server", "default"]).describe(
          "server: a Server with accessPolicy audit; default: pods whose default policy is audit",
        ),
        server: z.string().optional(),
        port: z.union([z.number(), z.string()]).optional(),
        pods: z.number(),
        since: z.string().optional(),
        sinceSource: z.string().optional(),
      })).describe("Where audit mode is on"),
    },
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const { analyzeAudit } = await domain();
      const tool = "analyze_audit";
      const filter = JSON.stringify([args.namespace ?? "", args.time_range]);
      checkCursor(tool, filter, args.cursor);
      const { wouldBeDenied, undetermined, ...rest } = await analyzeAudit(
        lifecycleDeps(deps, ctx.signal),
        {
          ...(args.namespace === undefined
            ? {}
            : { namespace: validateName(args.namespace, "namespace") }),
          windowSeconds: parseDuration(args.time_range),
        },
      );
      const page = pageOfTwo(wouldBeDenied, undetermined, {
        tool,
        filter,
        limit: args.limit,
        cursor: args.cursor,
        rest,
      });
      const notes = [...rest.notes];
      if (page.omitted > 0) {
        notes.push(
          `${page.omitted} of ${page.total} flows (${wouldBeDenied.length} would be denied, ${undetermined.length} undetermined) are on further pages: pass nextCursor, or a larger limit`,
        );
      }
      return ok({
        ...rest,
        notes,
        wouldBeDenied: page.a,
        undetermined: page.b,
        total: page.total,
        omitted: page.omitted,
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      });
    },
  });
}

function generatePoliciesTool() {
  return defineTool({
    name: "generate_policies",
    title: "Policy lifecycle: Least-privilege policy from traffic",
    description:
      "Drafts least-privilege Linkerd policy for a namespace's meshed workloads (or one Service) from the " +
      "traffic observed in Prometheus plus the current state: a Server per used port (existing Servers " +
      "reused), a MeshTLSAuthentication per set of observed client identities and an AuthorizationPolicy " +
      "per Server or route, keeping kubelet probes and the viz Prometheus scrape working. Unmeshed " +
      "clients are reported, never silently authorized. Returns the YAML (kubectl apply -f -), why each " +
      "resource exists, each observed flow and what authorizes it, and a self-check by the policy model. " +
      "The yaml is always complete; the explanations (resources, then flows, unauthorized flows first) " +
      "are paged: a default answer holds as many as fit about 8 KB, total and omitted count them, " +
      "nextCursor gets the rest. " +
      'Read-only: nothing is applied. Start with access_policy "audit", then analyze_audit. Example: ' +
      '{"namespace": "booksapp", "time_range": "24h"}.',
    inputSchema: {
      namespace: namespaceArg('Namespace to lock down, e.g. "booksapp"'),
      target_service: serviceArg("", "target_service").optional().describe(
        'Only the workloads behind this Service, e.g. "webapp"; the whole namespace when omitted',
      ),
      time_range: timeRangeArg("1h"),
      access_policy: z.enum(["audit", "deny"]).default("audit").describe(
        'accessPolicy of the Servers: "audit" (default: log what would be denied, deny nothing) or "deny"',
      ),
      limit: z.number().int().min(1).max(1000).optional().describe(
        "resources and flows per page (resources first), 1-1000; default: as many as fit an answer of about 8 KB. The yaml is always whole",
      ),
      cursor: cursorArg(),
    },
    outputSchema: {
      ...common,
      ...PAGING,
      namespace: z.string(),
      accessPolicy: z.enum(["audit", "deny"]),
      yaml: z.string().describe(
        "Multi-document YAML for kubectl apply -f - (empty when nothing to apply); complete on every page",
      ),
      resources: z.array(z.object({
        kind: z.string(),
        name: z.string(),
        namespace: z.string(),
        action: z.enum(["create", "update", "reuse"]).describe(
          "create/update: in the YAML; reuse: an existing object the policy builds on",
        ),
        why: z.string(),
      })).describe("What the policy is made of (this page; resources come before flows)"),
      flows: z.array(z.object({
        client: CLIENT,
        target: TARGET,
        protocol: z.enum(["http", "tcp"]),
        requestRate: z.number().optional(),
        connections: z.number().optional(),
        status: z.enum(["authorized", "already-authorized", "probe", "not-authorized"]),
        authorizedBy: z.string().optional().describe(
          '"AuthorizationPolicy/<name>", "default/probe"',
        ),
      })).describe(
        "Each observed flow and what authorizes it under the generated policy (this page; not-authorized first)",
      ),
      unmeshedClients: z.array(z.object({
        target: TARGET,
        protocol: z.enum(["http", "tcp"]),
        requestRate: z.number().optional(),
        connections: z.number().optional(),
        opens: z.string().describe("What the suggested NetworkAuthentication would open"),
        suggestion: z.string().describe("YAML not included in yaml"),
      })),
      selfCheck: z.object({
        passed: z.boolean(),
        method: z.string(),
        checked: z.object({
          observedFlows: z.number(),
          unobservedPairs: z.number(),
          probes: z.number(),
          scrapes: z.number(),
        }),
        failures: z.array(z.object({
          check: z.enum(["observed-flow", "unobserved-pair", "probe", "scrape"]),
          message: z.string(),
        })),
      }),
    },
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const { generatePolicies } = await domain();
      const tool = "generate_policies";
      const filter = JSON.stringify([
        args.namespace,
        args.target_service ?? "",
        args.time_range,
        args.access_policy,
      ]);
      checkCursor(tool, filter, args.cursor);
      const { docs: _docs, resources, flows, ...rest } = await generatePolicies(
        lifecycleDeps(deps, ctx.signal),
        {
          namespace: validateName(args.namespace, "namespace"),
          ...(args.target_service === undefined
            ? {}
            : { targetService: validateName(args.target_service, "service", "target_service") }),
          accessPolicy: args.access_policy,
          windowSeconds: parseDuration(args.time_range),
        },
      );
      // The flows an operator must act on first: not authorized, then newly authorized.
      const rank = { "not-authorized": 0, authorized: 1, probe: 2, "already-authorized": 3 };
      const ordered = flows.map((f, i) => ({ f, i }))
        .sort((x, y) => rank[x.f.status] - rank[y.f.status] || x.i - y.i)
        .map((x) => x.f);
      const page = pageOfTwo(resources, ordered, {
        tool,
        filter,
        limit: args.limit,
        cursor: args.cursor,
        rest,
      });
      const notes = [...rest.notes];
      if (page.omitted > 0) {
        notes.push(
          `The yaml is complete; ${page.omitted} of ${page.total} explanations (${resources.length} resources, ${flows.length} flows) are on further pages: pass nextCursor, or a larger limit`,
        );
      }
      return ok({
        ...rest,
        notes,
        resources: page.a,
        flows: page.b,
        total: page.total,
        omitted: page.omitted,
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      });
    },
  });
}

/** The policy lifecycle's read-only tools. */
// deno-lint-ignore no-explicit-any
export function lifecycleTools(): ToolSpec<any, any>[] {
  // deno-lint-ignore no-explicit-any
  return <ToolSpec<any, any>[]> [generatePoliciesTool(), analyzeAuditTool()];
}
