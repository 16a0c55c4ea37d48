/**
 * The tool table's types and the one function that runs a tool, shared by the MCP
 * server and the `call` command line.
 *
 * @module
 */
import { z } from "zod";
import {
  InvalidArgumentError,
  KubeApiError,
  KubeconfigError,
  ManifestError,
  NotFoundError,
  PrometheusUnavailableError,
} from "../errors.ts";
import { type ClusterSet, UnknownClusterError } from "../clusters/set.ts";
import type { Config } from "../config.ts";
import type { ClusterSource, SourceInfo } from "../kube/source.ts";
import type { Logger } from "../log.ts";
import type { PromClient } from "../metrics/prom_client.ts";
import { withProgress } from "./_progress.ts";

/** Everything a tool handler may use; no handler reaches for globals. */
export interface ToolDeps {
  cluster: ClusterSource;
  config: Config;
  prom: PromClient;
  log: Logger;
  now(): Date;
  /**
   * Every cluster this server serves, when there is more than the one in `cluster`
   * (a kubeconfig's contexts, `--manifests NAME=PATH` sets, the demo's west and east).
   * `runTool` uses it to honour a call's `cluster` argument; tools that look across
   * clusters (a Link's target) use {@linkcode ClusterSet.forLinkTarget}.
   */
  clusters?: ClusterSet;
  /** The name of the cluster in `cluster`, in `clusters` (set by `runTool`). */
  clusterName?: string;
}

/** Per-call context. */
export interface ToolContext {
  /** Aborted when the call times out or the client cancels. */
  signal: AbortSignal;
  /**
   * Asks the user to confirm (MCP elicitation), where the client supports it; absent
   * otherwise. Only the write tools use it.
   */
  confirm?(message: string): Promise<ConfirmAnswer>;
  /**
   * Reports progress of a long call (MCP `notifications/progress`, when the client asked
   * for it with a progress token); absent otherwise. `total` when known.
   */
  progress?(progress: number, total?: number, message?: string): void;
}

/** The user's answer to {@linkcode ToolContext.confirm}. */
export type ConfirmAnswer = "accept" | "decline" | "cancel" | "unsupported";

/** MCP tool annotations. */
export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** What a handler returns: structured data, or an error a person or model can act on. */
export type ToolOutcome<T> = { ok: true; data: T } | { ok: false; error: string };

/** A successful outcome. */
export function ok<T>(data: T): ToolOutcome<T> {
  return { ok: true, data };
}

/** A failed outcome: `message` says what went wrong and what to do next. */
export function fail(message: string): ToolOutcome<never> {
  return { ok: false, error: message };
}

/** One tool: data, not decorators. */
export interface ToolSpec<
  I extends z.ZodRawShape = z.ZodRawShape,
  O extends z.ZodRawShape = z.ZodRawShape,
> {
  /** Stable snake_case name (a public interface: never rename). */
  name: string;
  title: string;
  /** Tells a model when to use the tool, with example values. */
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotations;
  /**
   * A compact human-readable text block for the result, instead of the compact JSON copy
   * of structuredContent: for a fixed-shape report whose JSON would not fit the answer
   * budget twice (`src/tools/_budget.ts`). It must carry every fact a reader needs
   * (clients that show only the text block give a model nothing else).
   */
  text?(data: z.infer<z.ZodObject<O>>): string;
  handler(
    args: z.infer<z.ZodObject<I>>,
    deps: ToolDeps,
    ctx: ToolContext,
  ): Promise<ToolOutcome<z.infer<z.ZodObject<O>>>>;
}

/** Annotations of a read-only tool that talks to the cluster or Prometheus. */
export const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};

/**
 * The `dataSource` field every tool result carries (added by {@linkcode runTool}, and
 * to every advertised output schema by the server): where the cluster state came from.
 */
export const DATA_SOURCE_SHAPE = {
  kind: z.enum(["live", "manifests", "demo"]).describe(
    "live: a real cluster; manifests: YAML files on disk; demo: the embedded demo mesh, not a real cluster",
  ),
  description: z.string().describe("Where the cluster state came from, in words"),
  context: z.string().optional().describe("Live: the kubeconfig context"),
  server: z.string().optional().describe("Live: the API server URL"),
  paths: z.array(z.string()).optional().describe("Manifests: the files and folders read"),
  cluster: z.string().optional().describe(
    'The cluster this answer is about: the name the `cluster` argument takes (a kubeconfig context, "east", "manifests")',
  ),
};

/** The `cluster` argument every tool takes (added by {@linkcode inputShapeOf}). */
export const CLUSTER_ARG = z.string().min(1).max(253).optional().describe(
  'Which cluster to read: a name from list_clusters (a kubeconfig context, a --manifests NAME, or "west"/"east" on the demo); default: the default cluster. Example: "east"',
);

/**
 * A tool's input shape as advertised and parsed: its own arguments plus `cluster`
 * (one place, so every tool takes it the same way).
 */
// deno-lint-ignore no-explicit-any
export function inputShapeOf(spec: ToolSpec<any, any>): z.ZodRawShape {
  return "cluster" in spec.inputSchema
    ? spec.inputSchema
    : { ...spec.inputSchema, cluster: CLUSTER_ARG };
}

/** The schema of what {@linkcode runTool} returns for `spec`: its output plus `dataSource`. */
// deno-lint-ignore no-explicit-any
export function resultSchema(spec: ToolSpec<any, any>) {
  return z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE) });
}

/** Removes `user:password@` from every URL in `text`. */
function withoutUserinfo(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s"']*@/gi, "$1");
}

/**
 * The structured description of a source: its own {@linkcode ClusterSource.sourceInfo},
 * else one derived from `kind`, `describe()` and a live source's `context`/`server`.
 * URL userinfo is removed whatever the source says.
 */
export function sourceInfoOf(cluster: ClusterSource): SourceInfo {
  const given = cluster.sourceInfo?.();
  const info: SourceInfo = given
    ? { ...given }
    : { kind: cluster.kind, description: cluster.describe() };
  if (!given && cluster.kind === "live") {
    const live = cluster as { context?: unknown; server?: unknown };
    if (typeof live.context === "string") info.context = live.context;
    if (typeof live.server === "string" && /^https?:\/\//.test(live.server)) {
      info.server = live.server;
    }
  }
  info.description = withoutUserinfo(info.description);
  if (info.server !== undefined) info.server = withoutUserinfo(info.server);
  return info;
}

/** Default upper bound on one tool call. */
export const TOOL_TIMEOUT_MS = 60_000;

/**
 * Validates raw arguments, runs the handler within a time bound and turns every
 * failure into an actionable message. Never throws.
 */
export async function runTool(
  // deno-lint-ignore no-explicit-any
  spec: ToolSpec<any, any>,
  rawArgs: unknown,
  deps: ToolDeps,
  opts: {
    signal?: AbortSignal;
    timeoutMs?: number;
    confirm?: (message: string) => Promise<ConfirmAnswer>;
    progress?: (progress: number, total?: number, message?: string) => void;
  } = {},
): Promise<ToolOutcome<unknown>> {
  const parsed = z.object(inputShapeOf(spec)).strict().safeParse(rawArgs ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      `${i.path.length ? i.path.join(".") : "arguments"}: ${i.message}`
    );
    return fail(`Invalid arguments for ${spec.name}: ${issues.join("; ")}`);
  }
  const timeoutMs = opts.timeoutMs ?? TOOL_TIMEOUT_MS;
  const controller = new AbortController();
  const signal = opts.signal
    ? AbortSignal.any([opts.signal, controller.signal])
    : controller.signal;
  const message = `${spec.name} did not finish within ${timeoutMs / 1000} s: ` +
    "the Kubernetes API server or Prometheus is too slow or not answering; " +
    "try again, narrow the request (e.g. a namespace), or check connectivity";
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopProgress: (() => void) | undefined;
  const timedOut = new Promise<ToolOutcome<never>>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new DOMException("tool call timed out", "TimeoutError"));
      resolve(fail(message));
    }, timeoutMs);
  });
  try {
    const chosen = await Promise.race([selectCluster(deps, parsed.data["cluster"]), timedOut]);
    if ("ok" in chosen) return chosen;
    deps = chosen;
    if (opts.progress) {
      const tracked = withProgress(deps.cluster, opts.progress, spec.name);
      stopProgress = tracked.stop;
      deps = { ...deps, cluster: tracked.source };
    }
    const outcome = await Promise.race([
      spec.handler(parsed.data, deps, {
        signal,
        ...(opts.confirm ? { confirm: opts.confirm } : {}),
        ...(opts.progress ? { progress: opts.progress } : {}),
      }),
      timedOut,
    ]);
    if (!outcome.ok) return outcome;
    const dataSource = sourceInfoOf(deps.cluster);
    if (deps.clusterName !== undefined) dataSource.cluster = deps.clusterName;
    return ok({ ...(outcome.data as object), dataSource });
  } catch (err) {
    if (isExpected(err)) {
      deps.log.debug("tool failed", { tool: spec.name, error: String(err) });
    } else {
      // A bug, not the user's doing: the details go to the log, a clear message to the caller.
      deps.log.error("tool failed with an internal error", {
        tool: spec.name,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
    }
    return fail(describeError(err, spec.name, deps.clusters ? deps.clusterName : undefined));
  } finally {
    clearTimeout(timer);
    stopProgress?.();
  }
}

/**
 * The deps of the cluster a call names (`cluster`), or of the default cluster. Without
 * a cluster set, the one source is the only cluster: naming any other is an error.
 */
async function selectCluster(
  deps: ToolDeps,
  name: unknown,
): Promise<ToolDeps | ToolOutcome<never>> {
  const wanted = typeof name === "string" ? name : undefined;
  if (!deps.clusters) {
    if (wanted === undefined || wanted === deps.clusterName) return deps;
    const known = deps.clusterName ?? sourceInfoOf(deps.cluster).context ?? deps.cluster.kind;
    if (wanted === known) return deps;
    return fail(new UnknownClusterError(wanted, [known]).message);
  }
  if (wanted === undefined && deps.clusterName !== undefined) return deps;
  try {
    const handle = await deps.clusters.get(wanted);
    return {
      ...deps,
      cluster: handle.source,
      prom: handle.prom,
      config: handle.config,
      clusterName: handle.name,
    };
  } catch (err) {
    if (err instanceof UnknownClusterError) return fail(err.message);
    throw err;
  }
}

/** Kubeconfig problems: reading or parsing it failed, not the network. */
const KUBECONFIG_REASONS = new Set([
  "InvalidKubeconfig",
  "UnknownContext",
  "PermissionDenied",
  "NoKubeconfig",
  "KubeconfigUnreadable",
  "KubeconfigError",
]);

function isExpected(err: unknown): boolean {
  return err instanceof KubeApiError || err instanceof PrometheusUnavailableError ||
    err instanceof InvalidArgumentError || err instanceof NotFoundError ||
    err instanceof ManifestError ||
    (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError"));
}

/**
 * Turns an error into a message that says what happened and what to do next. An error
 * that is not one of the domain errors is a bug: its JavaScript text (a TypeError's
 * "Cannot read properties of ...") is not shown, only that an internal error occurred.
 */
export function describeError(err: unknown, tool: string, cluster?: string): string {
  if (err instanceof KubeApiError && cluster !== undefined) {
    // One of several clusters: say which, and point at its context, not "the current" one.
    return `In cluster "${cluster}": ${
      describeError(err, tool).replace(
        "check KUBECONFIG and the current context",
        `check the kubeconfig context or source of cluster "${cluster}" (list_clusters shows which clusters answer)`,
      )
    }`;
  }
  if (err instanceof KubeApiError) {
    if (
      err.status === 0 && (KUBECONFIG_REASONS.has(err.reason) || err instanceof KubeconfigError)
    ) {
      return `${err.message}: fix the kubeconfig (KUBECONFIG, --kubeconfig or ~/.kube/config) or pass --context NAME; run with --demo or --manifests PATH to analyse without a cluster`;
    }
    switch (err.status) {
      case 401:
        return `${err.message}: the Kubernetes API server rejected the credentials (401 Unauthorized); refresh them (log in again; for exec-plugin users run any kubectl command to re-authenticate), check the token in your kubeconfig or choose another context`;
      case 403:
        return `${err.message}: access is forbidden by RBAC (403); grant the identity read access (get, list) to this resource, as the Helm chart's ClusterRole does`;
      case 0:
        return `${err.message}: the Kubernetes API server could not be reached; check KUBECONFIG and the current context, your network or VPN, or run with --demo or --manifests PATH to analyse without a cluster`;
      default:
        return err.message;
    }
  }
  if (err instanceof PrometheusUnavailableError) {
    return `${err.message}: set LINKERD_PROMETHEUS_URL to a reachable Prometheus (for example after "linkerd viz install", or "kubectl -n linkerd-viz port-forward svc/prometheus 9090" and http://127.0.0.1:9090)`;
  }
  if (
    err instanceof InvalidArgumentError || err instanceof NotFoundError ||
    err instanceof ManifestError
  ) {
    return err.message;
  }
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `${tool} was cancelled or timed out before it finished; try again or narrow the request`;
  }
  return `${tool} hit an internal error and could not answer (this is a bug in linkerd-mcp, not in your request or your mesh; the server log has the details); try again, or try a narrower request`;
}
