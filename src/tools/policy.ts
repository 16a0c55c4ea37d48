/**
 * Policy tools: can a source (Service, workload, pod, ServiceAccount or IP) talk to
 * Service B (and why), which Services a source may reach, who may reach a target, and
 * what the policy controller serves for a pod port — answered as Linkerd's policy
 * controller and proxy would. Schemas and short handlers; the use cases live in
 * `src/policy/` (loading and the RBAC fallback in `src/policy/load.ts`).
 *
 * @module
 */
import { z } from "zod";
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { LoadedPolicy } from "../policy/load.ts";
import type { SourceRef } from "../policy/sources.ts";
import { namespaceArg, serviceArg } from "./_args.ts";
import { cursorArg, limitArg, paginate } from "./_budget.ts";
import { fail, ok, READ_ONLY, type ToolDeps, type ToolOutcome, type ToolSpec } from "./_spec.ts";

/** Domain code, loaded on first use so that the server starts fast. */
const domain = async () => ({
  ...(await import("../policy/mod.ts")),
  ...(await import("../policy/load.ts")),
});

async function loadIndex(
  deps: ToolDeps,
  signal: AbortSignal,
  fallbackNamespaces?: readonly string[],
): Promise<LoadedPolicy & { d: Awaited<ReturnType<typeof domain>> }> {
  const d = await domain();
  const loaded = await d.loadPolicyIndex(deps, {
    signal,
    ...(fallbackNamespaces ? { fallbackNamespaces } : {}),
  });
  return { ...loaded, d };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A namespace or Service argument, checked by the shared schemas (`_args.ts`). */
function k8sName(what: string, example: string) {
  return what.endsWith("namespace")
    ? namespaceArg(`${what}, a Kubernetes namespace such as "${example}"`, what)
    : serviceArg(`${what}, a Kubernetes Service name such as "${example}"`, what);
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function k8sSubdomain(what: string, example: string) {
  return z.string().min(1, `${what} must not be empty`).max(
    253,
    `${what} must be at most 253 characters`,
  ).regex(
    DNS_SUBDOMAIN,
    `${what} must be a Kubernetes object name (DNS-1123 subdomain), e.g. "${example}"`,
  ).describe(`${what}, a Kubernetes object name such as "${example}"`);
}

const WORKLOAD = z.string().min(3).max(300).regex(
  /^(deployment|deploy|statefulset|sts|daemonset|ds|job|cronjob|cj)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i,
  'a workload is written kind/name, e.g. "deployment/vote-bot" (kinds: deployment, statefulset, daemonset, job, cronjob)',
);

const SOURCE_ARGS = {
  "source_workload": WORKLOAD.optional().describe(
    'Source workload as kind/name, e.g. "deployment/vote-bot" (Deployment, StatefulSet, DaemonSet, Job, CronJob): for clients that have no Service',
  ),
  "source_pod": k8sSubdomain("source_pod", "vote-bot-5d8f7c9b6-x2x7q").optional().describe(
    'Source pod name, e.g. "vote-bot-5d8f7c9b6-x2x7q"',
  ),
  "source_service_account": k8sSubdomain("source_service_account", "web").optional().describe(
    'Source ServiceAccount (its mTLS identity), e.g. "web": a meshed client with that identity',
  ),
  "source_ip": z.string().min(2).max(45).regex(
    /^[0-9a-fA-F:.]+$/,
    "source_ip must be an IPv4 or IPv6 address",
  ).optional().describe(
    'Source IP of an unmeshed client (an ingress controller, a node, a VM), e.g. "10.42.0.17"',
  ),
};

type SourceArgs = {
  "source_namespace"?: string | undefined;
  "source_service"?: string | undefined;
  "source_workload"?: string | undefined;
  "source_pod"?: string | undefined;
  "source_service_account"?: string | undefined;
  "source_ip"?: string | undefined;
};

/** The one source the arguments name, or an error saying what to pass. */
function sourceOf(args: SourceArgs): SourceRef | string {
  const given = ([
    "source_service",
    "source_workload",
    "source_pod",
    "source_service_account",
    "source_ip",
  ] as const)
    .filter((k) => args[k] !== undefined);
  if (given.length !== 1) {
    return `Name exactly one source: source_service, source_workload, source_pod, source_service_account or source_ip (got ${
      given.length ? given.join(", ") : "none"
    })`;
  }
  if (args.source_ip !== undefined) {
    return {
      ip: args.source_ip,
      ...(args.source_namespace ? { namespace: args.source_namespace } : {}),
    };
  }
  const namespace = args.source_namespace;
  if (!namespace) return `source_namespace is required with ${given[0]}`;
  if (args.source_service !== undefined) return { namespace, service: args.source_service };
  if (args.source_pod !== undefined) return { namespace, pod: args.source_pod };
  if (args.source_service_account !== undefined) {
    return { namespace, serviceAccount: args.source_service_account };
  }
  const [kind, name] = args.source_workload!.split("/") as [string, string];
  return { namespace, workload: { kind, name } };
}

const PORT = z.union([
  z.number().int().min(1).max(65535),
  z.string().min(1).max(15).regex(
    DNS_LABEL,
    'target_port must be a port number (1-65535) or a port name such as "http" or "grpc"',
  ),
]);
const PORT_DESCRIPTION =
  'Optional target port: a Service port number (e.g. 8080), a port name (e.g. "grpc") or a container port; all ports of the target Service when omitted';

const DECISION = z.enum(["allowed", "denied", "partial", "audit", "undetermined"]);
const SERVER = z.object({
  kind: z.enum(["server", "default", "skipped", "unmeshed"]).describe(
    "server: a Server selects the port; default: the default policy applies; skipped: skip-inbound-ports bypasses the proxy; unmeshed: no proxy",
  ),
  name: z.string().describe("Server name or default policy name"),
  protocol: z.string(),
});
const ENDPOINT = z.object({
  namespace: z.string(),
  service: z.string().describe(
    "The Service name; for another kind of source, kind/name (deployment/vote-bot, pod/x, serviceaccount/web, ip/10.0.0.1)",
  ),
  kind: z.string().optional().describe(
    "Kind of a source that is not a Service: Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod, ServiceAccount or IP",
  ),
  pods: z.number(),
  meshedPods: z.number(),
  identities: z.array(z.string()),
});
const PORT_RESULT = z.object({
  port: z.number(),
  name: z.string().optional(),
  targetPorts: z.array(z.number()),
  server: SERVER,
  servers: z.array(SERVER),
  shadowed: z.array(z.string()),
  routes: z.array(z.object({
    route: z.string(),
    matches: z.array(z.string()),
    decision: DECISION,
    authorization: z.string().optional(),
  })),
  decision: DECISION,
  authorization: z.string().nullable(),
  reason: z.string(),
  suggestion: z.string().nullable().describe(
    "A sentence, a colon and the YAML of the smallest change that would allow the denied clients; checked by the model before it is offered (see suggestionCheck)",
  ),
  suggestionCheck: z.object({
    change: z.string().describe(
      "fix-policy | fix-server-port | widen-authentication | reuse-authentication | new-policy | new-server | none",
    ),
    allowsRequest: z.boolean().describe(
      "Applied to the state, the change allows the asked-for clients on this port",
    ),
    breaks: z.array(z.string()).describe(
      "Source Services whose verdict on this port the change would turn from allowed to denied (empty when safe)",
    ),
    notes: z.array(z.string()).describe("Real causes found elsewhere, and the variants checked"),
  }).nullable(),
  notes: z.array(z.string()),
});
const CROSS_VERDICT = z.enum(["allowed", "denied", "partial", "audit", "undetermined", "unknown"])
  .describe("A policy decision, or unknown when the cluster's state is not available");
const PORT_DECISION = z.object({
  port: z.number(),
  name: z.string().optional(),
  decision: DECISION,
});

const ANALYZE_INPUT = {
  "source_namespace": k8sName("source_namespace", "emojivoto").optional().describe(
    'Namespace of the source, e.g. "emojivoto" (required unless the source is source_ip)',
  ),
  "source_service": k8sName("source_service", "web-svc").optional().describe(
    'Source Service, e.g. "web-svc"; or name the source with source_workload, source_pod, source_service_account or source_ip',
  ),
  ...SOURCE_ARGS,
  "target_namespace": k8sName("target_namespace", "emojivoto").optional().describe(
    'Namespace of the target Service, e.g. "emojivoto"; defaults to source_namespace',
  ),
  "target_service": k8sName("target_service", "emoji-svc"),
  "target_port": PORT.optional().describe(PORT_DESCRIPTION),
};

const ANALYZE_OUTPUT = {
  verdict: DECISION.describe(
    "allowed | denied | partial (some ports, routes or pods) | audit (allowed only by audit mode) | undetermined (data cannot decide, e.g. pod IPs unknown)",
  ),
  allowed: z.boolean().describe(
    "True only when every port and source pod is allowed (audit included)",
  ),
  source: ENDPOINT,
  target: ENDPOINT,
  explanation: z.string(),
  ports: z.array(PORT_RESULT),
  policies: z.array(z.string()).describe("Policy objects involved, as Kind/name"),
  assumes: z.string().describe(
    "The Linkerd control-plane version the answer assumes (found in the cluster state, else the newest stable)",
  ),
  notes: z.array(z.string()).optional().describe(
    "Limits of the data behind this answer, e.g. RBAC forbade cluster-wide reads and only the source and target namespaces were read; absent when none",
  ),
  crossCluster: z.object({
    mirror: z.string().describe("The mirror or federated Service called, namespace/name"),
    kind: z.enum(["gateway", "remote-discovery", "federated"]),
    verdict: CROSS_VERDICT,
    members: z.array(z.object({
      targetCluster: z.string().describe(
        "The cluster the call lands in (the Link's targetClusterName; this cluster for a federated Service's local member)",
      ),
      served: z.boolean().describe("This server reads that cluster, so its policy decided"),
      mode: z.enum(["gateway", "remote-discovery", "local"]).describe(
        "gateway: through the target cluster's gateway; remote-discovery: pod-to-pod; local: this cluster",
      ),
      remoteService: z.string().describe("The Service called there, namespace/name"),
      clientIdentity: z.string().nullable().describe(
        "The mTLS identity the target's inbound policy sees: the gateway's in gateway mode, the source's pod-to-pod",
      ),
      clientIps: z.array(z.string()).optional().describe(
        "The client addresses that policy sees (gateway pod IPs, or the source's pod IPs); absent when unknown",
      ),
      gateway: z.object({
        address: z.string().optional(),
        port: z.number(),
        identity: z.string().optional().describe("The Link's gatewayIdentity"),
        verdict: CROSS_VERDICT.optional().describe(
          "The gateway's own inbound policy for the source's identity",
        ),
        reason: z.string().optional(),
      }).optional(),
      remoteTargets: z.array(z.object({
        workload: z.string(),
        pods: z.number(),
        meshedPods: z.number(),
      })).describe("The workloads behind the remote Service"),
      verdict: CROSS_VERDICT,
      ports: z.array(z.object({
        port: z.number(),
        name: z.string().optional(),
        decision: DECISION,
        server: z.string(),
      })).optional(),
      reason: z.string(),
    })),
    notes: z.array(z.string()).optional(),
  }).optional().describe(
    "Present when the target is a multicluster mirror or federated Service: each cluster the call reaches, the path, the client identity and IP the remote policy sees, and that policy's verdict (unknown when this server does not serve that cluster)",
  ),
};

/** Most entries in a default page of the allowed targets or sources (fewer when they do not fit). */
const DEFAULT_PAGE = 50;

const TARGETS_INPUT = {
  "source_namespace": k8sName("source_namespace", "booksapp").optional().describe(
    'Namespace of the source, e.g. "booksapp" (required unless the source is source_ip)',
  ),
  "source_service": k8sName("source_service", "webapp").optional().describe(
    'Source Service, e.g. "webapp"; or name the source with source_workload, source_pod, source_service_account or source_ip',
  ),
  ...SOURCE_ARGS,
  limit: limitArg(1000, "Allowed targets", DEFAULT_PAGE),
  cursor: cursorArg(),
};

/** Fields of a paged list: counts over all pages and the cursor. */
const PAGE_FIELDS = {
  total: z.number().int().describe("Entries of the list over all pages"),
  omitted: z.number().int().describe("Entries after this page (follow nextCursor)"),
  nextCursor: z.string().optional().describe(
    "Pass as cursor (with the same other arguments) for the next page; absent on the last page",
  ),
};

const TARGETS_OUTPUT = {
  source: z.object({ namespace: z.string(), service: z.string() }),
  allowedTargets: z.array(z.object({
    namespace: z.string(),
    service: z.string(),
    verdict: DECISION,
    ports: z.array(PORT_DECISION),
  })).describe("This page of the allowed targets, sorted by namespace and name"),
  deniedTargets: z.number(),
  totalTargets: z.number(),
  ...PAGE_FIELDS,
  assumes: z.string().describe(
    "The Linkerd control-plane version the answer assumes (found in the cluster state, else the newest stable)",
  ),
};

const SOURCES_INPUT = {
  "target_namespace": k8sName("target_namespace", "booksapp"),
  "target_service": k8sName("target_service", "authors"),
  limit: limitArg(1000, "Allowed sources", DEFAULT_PAGE),
  cursor: cursorArg(),
};

const SOURCES_OUTPUT = {
  target: z.object({ namespace: z.string(), service: z.string() }),
  matchingServers: z.array(z.string()),
  allowedSources: z.array(z.object({
    kind: z.enum(["service", "workload", "unauthenticated", "network", "identity"]).describe(
      "service: a Service's pods; workload: pods no Service selects (workload is kind/name); unauthenticated, network, identity: principals that are not pods here",
    ),
    principal: z.string(),
    namespace: z.string().optional(),
    service: z.string().optional(),
    workload: z.string().optional(),
    verdict: DECISION,
    ports: z.array(z.number()),
    authorizations: z.array(z.string()),
  })).describe("This page of the allowed sources"),
  totalSources: z.number(),
  ...PAGE_FIELDS,
  assumes: z.string().describe(
    "The Linkerd control-plane version the answer assumes (found in the cluster state, else the newest stable)",
  ),
};

/** The counts and cursor of a page, as output fields. */
function pageFields(page: { total: number; omitted: number; nextCursor?: string }) {
  return {
    total: page.total,
    omitted: page.omitted,
    ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
  };
}

function guarded<T>(fn: () => T): ToolOutcome<T> {
  try {
    return ok(fn());
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof InvalidArgumentError) {
      return fail(err.message);
    }
    throw err;
  }
}

function analyzeConnectivity(): ToolSpec<typeof ANALYZE_INPUT, typeof ANALYZE_OUTPUT> {
  return {
    name: "analyze_connectivity",
    title: "Policy: Analyze connectivity",
    description:
      'Answers "can Service A talk to Service B, and if not, why?" exactly as Linkerd\'s policy controller and proxy would decide it: for each target port, the Server (or default policy) in force, the routes, the decision, the authorization that allows it or why none does, and the smallest change (YAML) that would allow it. Use it when a request fails with 403/connection refused, before changing policies, or to check a new AuthorizationPolicy. Example: {"source_namespace": "emojivoto", "source_service": "web-svc", "target_service": "emoji-svc", "target_port": 8080}. Clients without a Service: name the source with source_workload ("deployment/vote-bot"), source_pod, source_service_account, or source_ip (an unmeshed client such as an ingress controller or node). Verdicts: allowed, denied, partial (some ports, routes or pods), audit (allowed only by audit mode), undetermined (e.g. a NetworkAuthentication when pod IPs are unknown, as with manifests). Routes from manifests carry no status: a valid Server parentRef counts as attached unless status says Accepted=False. Multicluster: when the target is a mirror (e.g. "books-east") or a federated Service ("books-federated"), crossCluster says which cluster and remote workloads each call reaches, the path (gateway or pod-to-pod) and the client the remote policy sees (the gateway\'s identity and IP in gateway mode, the source\'s own pod-to-pod), with that cluster\'s verdict (unknown when this server does not serve it).',
    inputSchema: ANALYZE_INPUT,
    outputSchema: ANALYZE_OUTPUT,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const source = sourceOf(args);
      if (typeof source === "string") return fail(source);
      const targetNamespace = args.target_namespace ?? args.source_namespace;
      if (!targetNamespace) {
        return fail("target_namespace is required when the source is source_ip");
      }
      const { idx, state, d, notes } = await loadIndex(deps, ctx.signal, [
        ...(args.source_namespace ? [args.source_namespace] : []),
        targetNamespace,
      ]);
      const target = { namespace: targetNamespace, service: args.target_service };
      // a mirror or federated Service: decided by the policy of the cluster it leads to
      const mc = await import("../multicluster/remote_access.ts");
      const cross = await mc.crossClusterAccess(deps, {
        idx,
        source,
        target,
        ...(args.target_port !== undefined ? { port: args.target_port } : {}),
        signal: ctx.signal,
      });
      if (cross) {
        const r = mc.crossClusterAnswer(cross, target, idx.model.version.text);
        const explanation = r.explanation + notes.map((n) => `\nNote: ${n}`).join("");
        return ok({ ...r, explanation, ...(notes.length ? { notes } : {}) });
      }
      return guarded(() => {
        const r = d.analyzeAccess(idx, {
          source,
          target: { namespace: targetNamespace, service: args.target_service },
          ...(args.target_port !== undefined ? { port: args.target_port } : {}),
        });
        const explanation = r.explanation + d.missingNote(state) +
          notes.map((n) => `\nNote: ${n}`).join("");
        return { ...r, explanation, ...(notes.length ? { notes } : {}) };
      });
    },
  };
}

function getAllowedTargets(): ToolSpec<typeof TARGETS_INPUT, typeof TARGETS_OUTPUT> {
  return {
    name: "get_allowed_targets",
    title: "Policy: Allowed targets",
    description:
      'Lists every Service, in every namespace, that the source Service may connect to under Linkerd inbound policy (verdict allowed, partial, audit or undetermined, with per-port decisions); denied targets are only counted (deniedTargets). Use it to review what a workload can reach, e.g. after tightening policy. Example: {"source_namespace": "booksapp", "source_service": "webapp"}; the source may instead be source_workload ("deployment/traffic"), source_pod, source_service_account or source_ip. For the reason behind one pair, call analyze_connectivity. The list is paged (a default page fits about 8 KB; total and omitted count the rest): pass nextCursor back as cursor, or a larger limit, for more.',
    inputSchema: TARGETS_INPUT,
    outputSchema: TARGETS_OUTPUT,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const source = sourceOf(args);
      if (typeof source === "string") return fail(source);
      const { idx, d } = await loadIndex(deps, ctx.signal);
      return guarded(() => {
        const r = d.allowedTargets(idx, source);
        const page = paginate(r.allowedTargets, {
          tool: "get_allowed_targets",
          filter: JSON.stringify(source),
          limit: args.limit,
          cursor: args.cursor,
          defaultMax: DEFAULT_PAGE,
        });
        return { ...r, allowedTargets: page.items, ...pageFields(page) };
      });
    },
  };
}

function getAllowedSources(): ToolSpec<typeof SOURCES_INPUT, typeof SOURCES_OUTPUT> {
  return {
    name: "get_allowed_sources",
    title: "Policy: Allowed sources",
    description:
      'Lists who may connect to a target Service under Linkerd inbound policy: every source Service whose pods are allowed (kind "service"), plus principals that are not Services — any client (kind "unauthenticated"), client networks ("network"), and mesh identities no pod here has, such as "*" or other trust domains ("identity"). Also returns the Servers or default policies in force (matchingServers). Use it to audit exposure of a workload. The list is paged (a default page fits about 8 KB; total and omitted count the rest): pass nextCursor back as cursor, or a larger limit, for more. Example: {"target_namespace": "booksapp", "target_service": "authors"}.',
    inputSchema: SOURCES_INPUT,
    outputSchema: SOURCES_OUTPUT,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const { idx, d } = await loadIndex(deps, ctx.signal);
      return guarded(() => {
        const target = { namespace: args.target_namespace, service: args.target_service };
        const r = d.allowedSources(idx, target);
        const page = paginate(r.allowedSources, {
          tool: "get_allowed_sources",
          filter: JSON.stringify(target),
          limit: args.limit,
          cursor: args.cursor,
          defaultMax: DEFAULT_PAGE,
        });
        return { ...r, allowedSources: page.items, ...pageFields(page) };
      });
    },
  };
}

const INBOUND_INPUT = {
  "namespace": k8sName("namespace", "emojivoto"),
  "pod": k8sSubdomain("pod", "web-5d8f7c9b6-x2x7q").optional().describe(
    'Pod name, e.g. "web-5d8f7c9b6-x2x7q"; or name a workload or a Service instead',
  ),
  "workload": WORKLOAD.optional().describe(
    'Workload as kind/name, e.g. "deployment/web": its first running pod is shown',
  ),
  "service": k8sName("service", "web-svc").optional().describe(
    'Service name, e.g. "web-svc": its first backing pod, on the container port the Service port reaches',
  ),
  "port": PORT.describe(
    'Pod port number or name (e.g. 8080 or "http"); with service, a Service port number or name',
  ),
};

const INBOUND_OUTPUT = {
  namespace: z.string(),
  pod: z.string(),
  port: z.number(),
  kind: z.enum(["server", "default", "skipped", "unmeshed"]).describe(
    "server: a Server selects the port; default: the default policy; skipped: skip-inbound-ports (no proxy sees it); unmeshed: no proxy enforces it",
  ),
  server: z.record(z.string(), z.unknown()).describe(
    "The io.linkerd.proxy.inbound.Server message, in the JSON shape `linkerd diagnostics policy po/<pod> <port> -o json` prints (protocol, authorizations with networks and authentication, labels, routes with matches and authorizations)",
  ),
  shadowed: z.array(z.string()).describe(
    "Servers that also select the port and lose to the one in force",
  ),
  notes: z.array(z.string()),
  assumes: z.string().describe("The Linkerd control-plane version the answer assumes"),
};

function getInboundPolicy(): ToolSpec<typeof INBOUND_INPUT, typeof INBOUND_OUTPUT> {
  return {
    name: "get_inbound_policy",
    title: "Policy: Inbound policy of a pod port",
    description:
      'Shows what Linkerd\'s policy controller serves the proxy for one pod port, in the shape `linkerd diagnostics policy po/<pod> <port> -o json` prints: the protocol, the server-level authorizations (networks, authentication), the HTTP or gRPC routes with their matches and route-level authorizations (including the default and probe routes), and the labels naming the Server or default policy. Use it to compare with the live controller, or to see exactly which Server won a port. Example: {"namespace": "emojivoto", "workload": "deployment/web", "port": 8080}. Name one of pod, workload ("kind/name") or service.',
    inputSchema: INBOUND_INPUT,
    outputSchema: INBOUND_OUTPUT,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const named = [args.pod, args.workload, args.service].filter((v) => v !== undefined);
      if (named.length !== 1) {
        return fail(
          'Name exactly one of pod, workload (kind/name, e.g. "deployment/web") or service',
        );
      }
      const { idx, d, notes } = await loadIndex(deps, ctx.signal, [args.namespace]);
      return guarded(() => {
        const workload = args.workload?.split("/") as [string, string] | undefined;
        const view = d.inboundPolicy(idx, {
          namespace: args.namespace,
          port: args.port,
          ...(args.pod ? { pod: args.pod } : {}),
          ...(args.service ? { service: args.service } : {}),
          ...(workload ? { workload: { kind: workload[0], name: workload[1] } } : {}),
        });
        return { ...view, notes: [...view.notes, ...notes] };
      });
    },
  };
}

/** The policy family's tools. */
// deno-lint-ignore no-explicit-any
export function policyTools(): ToolSpec<any, any>[] {
  return [analyzeConnectivity(), getAllowedTargets(), getAllowedSources(), getInboundPolicy()];
}
