/**
 * MCP prompts (slash commands). Each gathers its evidence first, with the server's own
 * tools (`evidence.ts`), puts it in the prompt, and then tells the model what to do
 * with it; a prompt never asks the model to go and fetch facts the server has.
 *
 * Data, not decorators: {@linkcode PROMPTS} is a table the server lists and runs.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import type { ToolDeps } from "../tools/_spec.ts";
import { toolNames } from "../tools/table.ts";
import { block, evidence, parseEndpoint, pickHealth, pickValidation } from "./evidence.ts";

/** One argument of a prompt. */
export interface PromptArgument {
  name: string;
  description: string;
  required: boolean;
  /** What completion/complete offers for it. */
  completes?: "namespace" | "endpoint" | "port" | "version";
}

/** A prompt's messages. */
export interface PromptResult {
  description: string;
  messages: { role: "user" | "assistant"; content: { type: "text"; text: string } }[];
}

/** One prompt. */
export interface PromptSpec {
  name: string;
  title: string;
  description: string;
  arguments: PromptArgument[];
  build(
    args: Record<string, string>,
    deps: ToolDeps,
    signal?: AbortSignal,
  ): Promise<PromptResult>;
}

type Rec = Record<string, unknown>;
const arr = (v: unknown): Rec[] => (Array.isArray(v) ? v as Rec[] : []);

function user(text: string, description: string): PromptResult {
  return { description, messages: [{ role: "user", content: { type: "text", text } }] };
}

function endpoint(value: string | undefined, field: string) {
  const e = value === undefined ? undefined : parseEndpoint(value);
  if (!e) {
    throw new InvalidArgumentError(
      `${field} must be namespace/service (e.g. "booksapp/authors") or namespace/kind/name (e.g. "booksapp/deployment/books"), got ${
        JSON.stringify(value ?? "")
      }`,
    );
  }
  return e;
}

const diagnoseDeniedTraffic: PromptSpec = {
  name: "diagnose_denied_traffic",
  title: "Diagnose denied traffic",
  description:
    "Why are requests from a source to a target denied (403, connection refused)? Gathers the connectivity verdict per port and route, who the target allows, and the denials the target's proxies recorded, then asks for a diagnosis and the smallest safe fix.",
  arguments: [
    {
      name: "source",
      description: 'namespace/service or namespace/kind/name, e.g. "booksapp/books"',
      required: true,
      completes: "endpoint",
    },
    {
      name: "target",
      description: 'namespace/service of the target, e.g. "booksapp/authors"',
      required: true,
      completes: "endpoint",
    },
    {
      name: "port",
      description: 'Target Service port number or name, e.g. "7001"; every port when absent',
      required: false,
      completes: "port",
    },
  ],
  async build(args, deps, signal) {
    const src = endpoint(args.source, "source");
    const dst = endpoint(args.target, "target");
    if (!dst.service) throw new InvalidArgumentError("target must be namespace/service");
    const port = args.port ? (/^\d+$/.test(args.port) ? Number(args.port) : args.port) : undefined;
    const [conn, sources, topo] = await Promise.all([
      evidence(
        "analyze_connectivity",
        {
          "source_namespace": src.namespace,
          ...(src.service
            ? { "source_service": src.service }
            : { "source_workload": src.workload }),
          "target_namespace": dst.namespace,
          "target_service": dst.service,
          ...(port !== undefined ? { "target_port": port } : {}),
        },
        deps,
        signal,
      ),
      evidence(
        "get_allowed_sources",
        {
          "target_namespace": dst.namespace,
          "target_service": dst.service,
        },
        deps,
        signal,
      ),
      evidence("get_mesh_topology", { namespace: src.namespace, limit: 200 }, deps, signal),
    ]);
    const text = [
      `Requests from ${args.source} to ${args.target} are reported as denied. Here is what the Linkerd MCP server found (cluster state and Prometheus, just now).`,
      "",
      block("Connectivity verdict (analyze_connectivity)", conn, (d) => ({
        verdict: d.verdict,
        explanation: d.explanation,
        ports: arr(d.ports).map((p) => ({
          port: p.port,
          server: p.server,
          decision: p.decision,
          authorization: p.authorization,
          reason: p.reason,
          routes: p.routes,
          suggestion: p.suggestion,
          suggestionBreaks: (p.suggestionCheck as Rec | null)?.breaks,
        })),
        policies: d.policies,
      })),
      block("Who the target allows (get_allowed_sources)", sources, (d) => ({
        matchingServers: d.matchingServers,
        allowedSources: arr(d.allowedSources).map((s) => ({
          principal: s.principal,
          verdict: s.verdict,
          ports: s.ports,
        })),
      })),
      block(
        `Observed traffic and recent authorization denials into ${dst.namespace}/${dst.service} (last 5m, get_mesh_topology)`,
        topo,
        (d) =>
          arr(d.edges).filter((e) =>
            (e.target as Rec).service === dst.service &&
            (e.target as Rec).namespace === dst.namespace
          ).map((e) => ({
            source: e.source,
            requestRate: e.requestRate,
            successRate: e.successRate,
            deniedRate: e.deniedRate,
            mtls: e.mtls,
            verdict: e.verdict,
          })),
      ),
      "What to do:",
      "1. Say whether the policy denies this traffic, on which port and route, and which Server, route and authorization decide it (quote the names above).",
      "2. Compare with the observed denials: are they from this source, at what rate, and does the verdict explain them? If the policy allows it but requests still fail, say what else to check (mTLS, the Server's port, the route matches).",
      "3. Propose the smallest fix (the suggestion YAML above when there is one), say what else it would allow (suggestionBreaks lists sources it would break), and whether to try it in audit mode first. Do not apply anything.",
    ].join("\n");
    return user(text, `Diagnose denied traffic ${args.source} → ${args.target}`);
  },
};

const meshHealthReview: PromptSpec = {
  name: "mesh_health_review",
  title: "Mesh health review",
  description:
    "A health review of the mesh (or one namespace): control-plane and data-plane checks, the services failing most, and configuration errors, gathered first; then asks for a prioritised list of problems and next steps.",
  arguments: [{
    name: "namespace",
    description:
      'Only this namespace, e.g. "emojivoto"; every namespace with meshed services when absent',
    required: false,
    completes: "namespace",
  }],
  async build(args, deps, signal) {
    const ns = args.namespace || undefined;
    let namespaces: string[] = ns ? [ns] : [];
    if (!ns) {
      const listed = await evidence("list_meshed_services", { limit: 500 }, deps, signal);
      if (listed.ok) {
        namespaces = [...new Set(arr(listed.data.services).map((s) => String(s.namespace)))]
          .sort();
      }
    }
    const [health, validation, ...summaries] = await Promise.all([
      evidence("check_mesh_health", {}, deps, signal),
      evidence(
        "validate_mesh_config",
        { ...(ns ? { namespace: ns } : {}), limit: 1000 },
        deps,
        signal,
      ),
      ...namespaces.map((n) =>
        evidence("get_service_health_summary", { namespace: n, "time_range": "5m" }, deps, signal)
      ),
    ]);
    const failing = summaries.map((s, i) =>
      block(
        `Service health in ${namespaces[i]} (last 5m, get_service_health_summary)`,
        s!,
        (d) => ({
          counts: d.counts,
          notHealthy: arr(d.services).filter((x) => x.healthStatus !== "healthy").slice(0, 10).map(
            (x) => ({
              service: x.service,
              healthStatus: x.healthStatus,
              requestRate: x.requestRate,
              successRate: x.successRate,
              latencyP95: x.latencyP95,
              issues: arr(x.issues).map((i) => i.description),
            }),
          ),
        }),
      )
    );
    const text = [
      `Review the health of the Linkerd mesh${
        ns ? ` in namespace "${ns}"` : ""
      }. Here is what the Linkerd MCP server found (cluster state and Prometheus, just now).`,
      "",
      block("Control plane and data plane checks (check_mesh_health)", health, pickHealth),
      ...failing,
      block(
        "Configuration errors and warnings (validate_mesh_config)",
        validation,
        (d) => pickValidation(d),
      ),
      "What to do:",
      "1. List the problems found above, most urgent first (failing checks, unhealthy services with their error rate and latency, configuration errors), each with the evidence (names and numbers).",
      "2. For each, say the likely cause and the next step (a command or a tool of this server such as analyze_traffic_flow or analyze_connectivity).",
      "3. Say plainly what looks healthy, and what the evidence cannot tell.",
    ].join("\n");
    return user(text, `Mesh health review${ns ? ` of ${ns}` : ""}`);
  },
};

/** A version's stable line (`2.18`), or undefined (edge releases have none). */
function stableLine(v: string): string | undefined {
  return /^(?:stable-)?v?(\d+\.\d+)/.exec(v)?.[1];
}

const preUpgradeCheck: PromptSpec = {
  name: "pre_upgrade_check",
  title: "Pre-upgrade check",
  description:
    "Before upgrading Linkerd: proxy version skew across meshed workloads, deprecated resources (ServerAuthorization, policy.linkerd.io/v1beta1 Servers), and the Linkerd CRDs' served and stored versions, gathered first; then asks for an upgrade readiness report.",
  arguments: [{
    name: "target_version",
    description: 'The version to upgrade to, e.g. "edge-26.9.1" or "2.19"; the newest when absent',
    required: false,
    completes: "version",
  }],
  async build(args, deps) {
    const target = args.target_version || "the newest release";
    const [health, services, servers, sazs, crds] = await Promise.all([
      evidence("check_mesh_health", {}, deps),
      evidence("list_meshed_services", { limit: 500 }, deps),
      deps.cluster.list("servers").catch(() => []),
      deps.cluster.list("serverauthorizations").catch(() => []),
      deps.cluster.list("crds").catch(() => []),
    ]);
    const skew: Record<string, string[]> = {};
    if (services.ok) {
      for (const s of arr(services.data.services)) {
        for (const v of (s.proxyVersions as string[] | undefined) ?? []) {
          (skew[v] ??= []).push(`${s.namespace}/${s.service}`);
        }
      }
    }
    const oldServers = servers.filter((s) => s.apiVersion === "policy.linkerd.io/v1beta1");
    const linkerdCrds = crds.filter((c) => /\.linkerd\.io$/.test(c.metadata.name)).map((c) => {
      const versions = ((c.spec as Rec | undefined)?.versions as Rec[] | undefined) ?? [];
      return {
        crd: c.metadata.name,
        served: versions.filter((v) => v.served).map((v) => v.name),
        storage: versions.filter((v) => v.storage).map((v) => v.name),
      };
    });
    const line = args.target_version ? stableLine(args.target_version) : undefined;
    const facts = {
      targetVersion: target,
      ...(line ? { targetStableLine: line } : {}),
      proxyVersions: Object.fromEntries(
        Object.entries(skew).map((
          [v, svcs],
        ) => [v, { services: svcs.length, e_g: svcs.slice(0, 5) }]),
      ),
      deprecated: {
        serverAuthorizations: sazs.map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
        v1beta1Servers: oldServers.map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
      },
      linkerdCrds,
    };
    const text = [
      `Prepare an upgrade of Linkerd to ${target}. Here is what the Linkerd MCP server found in the cluster state just now.`,
      "",
      block("Versions and checks (check_mesh_health)", health, pickHealth),
      `### Proxy versions, deprecated resources and CRD versions\n\`\`\`json\n${
        JSON.stringify(facts, null, 1)
      }\n\`\`\`\n`,
      "What to do:",
      "1. Report the current control-plane and proxy versions and the skew (which services run an older proxy and need a rollout restart after the upgrade).",
      `2. List the deprecated resources above and what replaces them (ServerAuthorization → AuthorizationPolicy with MeshTLSAuthentication/NetworkAuthentication; policy.linkerd.io/v1beta1 Server → v1beta3), and whether ${target} still serves them; say what to migrate before upgrading.`,
      "3. Check that the CRDs' served and stored versions allow the upgrade (the CRDs chart must be upgraded first), and give the ordered upgrade steps with a rollback point. Change nothing yourself.",
    ].join("\n");
    return user(text, `Pre-upgrade check for ${target}`);
  },
};

/** The read-only lifecycle tools lock_down_namespace needs (the write tools are optional). */
const LIFECYCLE_TOOLS = ["generate_policies", "analyze_audit"];

const lockDownNamespace: PromptSpec = {
  name: "lock_down_namespace",
  title: "Lock down a namespace",
  description:
    "Walks through locking a namespace down to the traffic it really has: generate policies from observed traffic, apply them in audit mode, analyze what audit would deny, fix, then enforce (with the write tools when writes are enabled, else as YAML for the user). Gathers the namespace's topology first.",
  arguments: [{
    name: "namespace",
    description: 'The namespace to lock down, e.g. "booksapp"',
    required: true,
    completes: "namespace",
  }],
  async build(args, deps, signal) {
    const ns = args.namespace;
    if (!ns) throw new InvalidArgumentError('namespace is required, e.g. "booksapp"');
    const topo = await evidence(
      "get_mesh_topology",
      { namespace: ns, "time_range": "1h" },
      deps,
      signal,
    );
    const text = [
      `Lock down namespace "${ns}" so that only the traffic it really has is allowed.`,
      "",
      block(`Who talks to whom in ${ns} (last hour, get_mesh_topology)`, topo, (d) => ({
        edges: arr(d.edges).map((e) => ({
          source: e.source,
          target: e.target,
          requestRate: e.requestRate,
          verdict: e.verdict,
        })),
        verdicts: d.verdicts,
      })),
      ...(deps.config.allowWrites
        ? [
          "Steps (call the tools; every write is a server-side dry run unless you pass dry_run: false, and ask the user before any real write):",
          `1. generate_policies {"namespace": "${ns}", "access_policy": "audit"}: Servers in audit mode and policies that allow exactly the edges above.`,
          "2. apply_policies with its yaml (dry run first, then dry_run: false once the user agrees); keep the change_id.",
          `3. After real traffic has flowed, analyze_audit {"namespace": "${ns}", "time_range": "24h"}: what enforcing would deny.`,
          "4. Fix each would-be denial (a client missing from the generated policy, or traffic that should stop), apply again, and repeat 3 until nothing unexpected is left.",
          `5. enforce_policies {"namespace": "${ns}"} (dry run first); rollback_policies with a change_id undoes a step.`,
        ]
        : [
          "Steps (this server is read-only: writes are disabled, so the user applies the YAML, e.g. with kubectl apply, or restarts linkerd-mcp with --allow-writes to use apply_policies and enforce_policies):",
          `1. generate_policies {"namespace": "${ns}", "access_policy": "audit"}: Servers in audit mode and policies that allow exactly the edges above; show the user the yaml to apply.`,
          `2. After real traffic has flowed, analyze_audit {"namespace": "${ns}", "time_range": "24h"}: what enforcing would deny.`,
          "3. Fix each would-be denial (a client missing from the generated policy, or traffic that should stop), and repeat 2 until nothing unexpected is left.",
          "4. Tell the user to switch the Servers' accessPolicy from audit to deny (or generate_policies with access_policy: deny), and how to undo it.",
        ]),
    ].join("\n");
    return user(text, `Lock down ${ns}`);
  },
};

/** The prompts the server offers: lock_down_namespace only when the lifecycle tools exist. */
export function allPrompts(): PromptSpec[] {
  const tools = new Set(toolNames());
  const lifecycle = LIFECYCLE_TOOLS.every((t) => tools.has(t));
  return [
    diagnoseDeniedTraffic,
    meshHealthReview,
    preUpgradeCheck,
    ...(lifecycle ? [lockDownNamespace] : []),
  ];
}
