/**
 * Policy tools: can Service A talk to Service B (and why), which Services a source may
 * reach, and who may reach a target, answered as Linkerd's policy controller and
 * proxy would (see `src/policy/`).
 *
 * @module
 */
import { z } from "zod";
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import { POLICY_KEYS, type ResourceKey } from "../kube/resources.ts";
import {
  type ClusterState,
  isForbidden,
  itemsOf,
  loadState,
  loadStateInNamespaces,
  mergeStates,
} from "../kube/state.ts";
import type { PolicyIndex } from "../policy/mod.ts";

/** Domain code, loaded on first use so that the server starts fast. */
const domain = async () => ({
  ...(await import("../policy/mod.ts")),
  ...(await import("../mesh/config.ts")),
});
import { fail, ok, READ_ONLY, type ToolDeps, type ToolOutcome, type ToolSpec } from "./_spec.ts";

/** Resources the policy model reads. */
export const POLICY_RESOURCES: readonly ResourceKey[] = [
  "namespaces",
  "pods",
  "services",
  "configmaps",
  ...POLICY_KEYS,
];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function k8sName(what: string, example: string) {
  return z.string().min(1, `${what} must not be empty`).max(
    63,
    `${what} must be at most 63 characters`,
  )
    .regex(
      DNS_LABEL,
      `${what} must be a Kubernetes name (DNS-1123 label): lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "${example}"`,
    )
    .describe(`${what}, a Kubernetes DNS-1123 label such as "${example}"`);
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
  service: z.string(),
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
  suggestion: z.string().nullable(),
  notes: z.array(z.string()),
});
const PORT_DECISION = z.object({
  port: z.number(),
  name: z.string().optional(),
  decision: DECISION,
});

const ANALYZE_INPUT = {
  "source_namespace": k8sName("source_namespace", "emojivoto"),
  "source_service": k8sName("source_service", "web-svc"),
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
  notes: z.array(z.string()).optional().describe(
    "Limits of the data behind this answer, e.g. RBAC forbade cluster-wide reads and only the source and target namespaces were read; absent when none",
  ),
};

const TARGETS_INPUT = {
  "source_namespace": k8sName("source_namespace", "booksapp"),
  "source_service": k8sName("source_service", "webapp"),
};

const TARGETS_OUTPUT = {
  source: z.object({ namespace: z.string(), service: z.string() }),
  allowedTargets: z.array(z.object({
    namespace: z.string(),
    service: z.string(),
    verdict: DECISION,
    ports: z.array(PORT_DECISION),
  })),
  deniedTargets: z.number(),
  totalTargets: z.number(),
};

const SOURCES_INPUT = {
  "target_namespace": k8sName("target_namespace", "booksapp"),
  "target_service": k8sName("target_service", "authors"),
};

const SOURCES_OUTPUT = {
  target: z.object({ namespace: z.string(), service: z.string() }),
  matchingServers: z.array(z.string()),
  allowedSources: z.array(z.object({
    kind: z.enum(["service", "unauthenticated", "network", "identity"]),
    principal: z.string(),
    namespace: z.string().optional(),
    service: z.string().optional(),
    verdict: DECISION,
    ports: z.array(z.number()),
    authorizations: z.array(z.string()),
  })),
  totalSources: z.number(),
};

async function loadIndex(
  deps: ToolDeps,
  signal: AbortSignal,
  fallbackNamespaces?: readonly string[],
): Promise<{
  idx: PolicyIndex;
  state: ClusterState;
  d: Awaited<ReturnType<typeof domain>>;
  notes: string[];
}> {
  const opts = { linkerdNamespace: deps.config.linkerdNamespace, signal };
  let state: ClusterState;
  const notes: string[] = [];
  try {
    state = await loadState(deps.cluster, POLICY_RESOURCES, opts);
  } catch (err) {
    if (!isForbidden(err) || !fallbackNamespaces?.length) throw err;
    // RBAC forbids a cluster-wide list: read only the namespaces the question involves.
    try {
      state = await loadStateInNamespaces(deps.cluster, POLICY_RESOURCES, fallbackNamespaces, opts);
    } catch (retry) {
      if (isForbidden(retry)) throw err;
      throw retry;
    }
    const authn = await loadReferencedAuthentications(deps, state, fallbackNamespaces, opts);
    state = authn.state;
    notes.push(scopeNote(err, fallbackNamespaces, state, authn));
  }
  const d = await domain();
  const mesh = d.readMeshConfig(state, deps.config);
  return { idx: d.buildPolicyIndex(state, { mesh }), state, d, notes };
}

/** Authentication types an AuthorizationPolicy may reference in another namespace. */
const AUTHN_KEYS: readonly ResourceKey[] = ["meshtlsauthentications", "networkauthentications"];

/**
 * After a per-namespace load: the authentications that the loaded AuthorizationPolicies
 * reference in other namespaces, read from those namespaces where RBAC allows.
 */
async function loadReferencedAuthentications(
  deps: ToolDeps,
  state: ClusterState,
  scope: readonly string[],
  opts: { linkerdNamespace: string; signal: AbortSignal },
): Promise<{ state: ClusterState; read: string[]; unread: string[] }> {
  const elsewhere = new Set<string>();
  for (const ap of itemsOf(state, "authorizationpolicies")) {
    const refs = (ap.spec?.["requiredAuthenticationRefs"] ?? []) as Array<{ namespace?: string }>;
    for (const ref of Array.isArray(refs) ? refs : []) {
      if (typeof ref?.namespace === "string" && !scope.includes(ref.namespace)) {
        elsewhere.add(ref.namespace);
      }
    }
  }
  const read: string[] = [];
  const unread: string[] = [];
  const parts = await Promise.all(
    [...elsewhere].sort().map(async (namespace) => {
      try {
        const part = await loadStateInNamespaces(deps.cluster, AUTHN_KEYS, [namespace], opts);
        read.push(namespace);
        return part;
      } catch (err) {
        if (!isForbidden(err)) throw err;
        unread.push(namespace);
        return undefined;
      }
    }),
  );
  const more = parts.filter((p) => p !== undefined);
  return {
    state: more.length
      ? mergeStates(state.source, state.linkerdNamespace, [state, ...more])
      : state,
    read: read.sort(),
    unread: unread.sort(),
  };
}

function quoted(namespaces: readonly string[]): string {
  return namespaces.map((n) => `"${n}"`).join(" and ");
}

function scopeNote(
  err: Error,
  namespaces: readonly string[],
  state: ClusterState,
  authn: { read: string[]; unread: string[] },
): string {
  const scope = [...new Set(namespaces)];
  const parts = [
    `RBAC forbids reading cluster-wide (${err.message}), so this analysis used only namespace${
      scope.length > 1 ? "s" : ""
    } ${quoted(scope)}`,
  ];
  if (authn.read.length) {
    parts.push(`, plus the authentications its policies reference in ${quoted(authn.read)}`);
  }
  parts.push(".");
  if (authn.unread.length) {
    parts.push(
      ` Authentications referenced in ${
        quoted(authn.unread)
      } could not be read (RBAC) and count as missing, so policies that reference them are ignored, as if they did not exist.`,
    );
  }
  if ((state.forbidden ?? []).includes("namespaces")) {
    parts.push(
      " Namespace objects could not be read either; the analysis does not depend on them (each pod's default inbound policy comes from its own annotation, else the cluster default).",
    );
  }
  return parts.join("");
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

function missingNote(state: ClusterState): string {
  const policy = state.missing.filter((m) => m !== "pods" && m !== "services");
  return policy.length
    ? `\nNot installed in this cluster (read as empty): ${policy.join(", ")}.`
    : "";
}

function analyzeConnectivity(): ToolSpec<typeof ANALYZE_INPUT, typeof ANALYZE_OUTPUT> {
  return {
    name: "analyze_connectivity",
    title: "Policy: Analyze connectivity",
    description:
      'Answers "can Service A talk to Service B, and if not, why?" exactly as Linkerd\'s policy controller and proxy would decide it: for each target port, the Server (or default policy) in force, the routes, the decision, the authorization that allows it or why none does, and the smallest change (YAML) that would allow it. Use it when a request fails with 403/connection refused, before changing policies, or to check a new AuthorizationPolicy. Example: {"source_namespace": "emojivoto", "source_service": "web-svc", "target_service": "emoji-svc", "target_port": 8080}. Verdicts: allowed, denied, partial (some ports, routes or pods), audit (allowed only by audit mode), undetermined (e.g. a NetworkAuthentication when pod IPs are unknown, as with manifests). Routes from manifests carry no status: a valid Server parentRef counts as attached unless status says Accepted=False.',
    inputSchema: ANALYZE_INPUT,
    outputSchema: ANALYZE_OUTPUT,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const targetNamespace = args.target_namespace ?? args.source_namespace;
      const { idx, state, d, notes } = await loadIndex(deps, ctx.signal, [
        args.source_namespace,
        targetNamespace,
      ]);
      return guarded(() => {
        const r = d.analyzeAccess(idx, {
          source: { namespace: args.source_namespace, service: args.source_service },
          target: { namespace: targetNamespace, service: args.target_service },
          ...(args.target_port !== undefined ? { port: args.target_port } : {}),
        });
        const explanation = r.explanation + missingNote(state) +
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
      'Lists every Service, in every namespace, that the source Service may connect to under Linkerd inbound policy (verdict allowed, partial, audit or undetermined, with per-port decisions); denied targets are only counted (deniedTargets). Use it to review what a workload can reach, e.g. after tightening policy. Example: {"source_namespace": "booksapp", "source_service": "webapp"}. For the reason behind one pair, call analyze_connectivity.',
    inputSchema: TARGETS_INPUT,
    outputSchema: TARGETS_OUTPUT,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const { idx, d } = await loadIndex(deps, ctx.signal);
      return guarded(() =>
        d.allowedTargets(idx, { namespace: args.source_namespace, service: args.source_service })
      );
    },
  };
}

function getAllowedSources(): ToolSpec<typeof SOURCES_INPUT, typeof SOURCES_OUTPUT> {
  return {
    name: "get_allowed_sources",
    title: "Policy: Allowed sources",
    description:
      'Lists who may connect to a target Service under Linkerd inbound policy: every source Service whose pods are allowed (kind "service"), plus principals that are not Services — any client (kind "unauthenticated"), client networks ("network"), and mesh identities no pod here has, such as "*" or other trust domains ("identity"). Also returns the Servers or default policies in force (matchingServers). Use it to audit exposure of a workload. Example: {"target_namespace": "booksapp", "target_service": "authors"}.',
    inputSchema: SOURCES_INPUT,
    outputSchema: SOURCES_OUTPUT,
    annotations: READ_ONLY,
    async handler(args, deps, ctx) {
      const { idx, d } = await loadIndex(deps, ctx.signal);
      return guarded(() =>
        d.allowedSources(idx, { namespace: args.target_namespace, service: args.target_service })
      );
    },
  };
}

/** The policy family's tools. */
// deno-lint-ignore no-explicit-any
export function policyTools(): ToolSpec<any, any>[] {
  return [analyzeConnectivity(), getAllowedTargets(), getAllowedSources()];
}
