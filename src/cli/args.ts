/**
 * Command-line parsing (pure, tested). The command line is a stable interface:
 *
 * ```
 * main.ts [--demo | --manifests [NAME=]PATH...] [--context NAME] [--kubeconfig PATH] [--http [ADDR:]PORT]
 * main.ts call TOOL [JSON_ARGS] [--manifests PATH]... [--demo] [--context NAME]
 * main.ts validate [--manifests PATH]... [--format text|json]
 * ```
 *
 * @module
 */

/** What the user asked for. */
export type Command =
  | { kind: "serve" }
  | { kind: "call"; tool: string; args: Record<string, unknown> }
  | { kind: "validate"; format: "text" | "json" }
  | { kind: "tools" }
  | { kind: "help" }
  | { kind: "version" };

/** Where cluster state comes from. */
export type SourceChoice =
  | { kind: "live"; context?: string; kubeconfig?: string }
  | {
    kind: "manifests";
    /** Every path given, in order (named sets included). */
    paths: string[];
    /**
     * The clusters the paths describe: `--manifests east=PATH` puts PATH in cluster
     * "east"; a path without a name is in cluster "manifests". The first is the default.
     */
    sets: Array<{ name: string; paths: string[] }>;
  }
  | { kind: "demo" };

/** Options for the HTTP transport. */
export interface HttpOptions {
  hostname: string;
  port: number;
  tokenFile?: string;
  /** Also accept Kubernetes service-account tokens, checked with a TokenReview. */
  tokenReview?: boolean;
  allowedHosts: string[];
  allowedOrigins: string[];
}

/** The parsed command line. */
export interface CliOptions {
  command: Command;
  source: SourceChoice;
  http?: HttpOptions;
  logLevel?: "debug" | "info" | "warn" | "error";
  /** `--allow-writes`: offer the write tools (policy resources only). */
  allowWrites?: boolean;
}

/** A command line that cannot be understood (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The `--help` text. */
export const USAGE = `linkerd-mcp: a Model Context Protocol server for the Linkerd service mesh

Usage:
  linkerd-mcp [source] [--http [ADDR:]PORT]     serve MCP over stdio (default) or Streamable HTTP
  linkerd-mcp call TOOL [JSON_ARGS] [source]    run one tool, print its structured result as JSON
  linkerd-mcp validate [source] [--format json] validate Linkerd configuration (exit codes below)
  linkerd-mcp tools                             list the tools with their descriptions

Source (default: the current kubeconfig context, or in-cluster service account):
  --demo                 the embedded demo mesh: clusters west (control plane, viz, emojivoto,
                         booksapp, a Link to east) and east (gateway, podinfo, bb)
  --manifests PATH       YAML/JSON manifests: files or folders (repeatable); at most 8 MiB a
                         file, 16 MiB and 5,000 files in all; symlinks out of PATH are skipped
  --manifests NAME=PATH  manifests of the cluster NAME (repeatable: one server, several
                         clusters; tools take {"cluster": NAME}; the first is the default)
  --context NAME         kubeconfig context to use by default (every context of the
                         kubeconfig can be read with a tool's "cluster" argument)
  --kubeconfig PATH      kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)

HTTP transport:
  --http [ADDR:]PORT     serve Streamable HTTP at /mcp (default address 127.0.0.1)
  --http-token-file F    bearer token clients must send (or LINKERD_MCP_HTTP_TOKEN);
                         required on any non-loopback address
  --http-token-review    also accept Kubernetes service-account tokens (TokenReview
                         against the live cluster; needs create on tokenreviews)
  --allowed-host H       extra Host header value to accept (repeatable)
  --allowed-origin O     Origin to accept (repeatable)

Writes (off by default; policy resources only, always a server-side dry run first):
  --allow-writes         offer apply_policies, enforce_policies and rollback_policies
                         (or LINKERD_MCP_ALLOW_WRITES=1)

Other:
  --log-level LEVEL      debug, info, warn or error (stderr only)
  -h, --help             this text
  -V, --version          the version

Environment: KUBECONFIG, LINKERD_NAMESPACE (linkerd), LINKERD_VIZ_NAMESPACE (linkerd-viz),
LINKERD_PROMETHEUS_URL (http://prometheus.linkerd-viz.svc.cluster.local:9090),
LINKERD_PROMETHEUS_TOKEN, LINKERD_PROMETHEUS_USERNAME/PASSWORD, LINKERD_DEFAULT_INBOUND_POLICY,
LINKERD_CLUSTER_NETWORKS, LINKERD_MCP_HTTP_TOKEN, LINKERD_MCP_ALLOW_WRITES, LINKERD_MCP_CONFIG
(a YAML/JSON file of per-cluster settings: Prometheus URL, namespaces, Link name; no credentials).

Exit codes: 0 success (validate: no errors found); 1 call: the tool failed, validate:
configuration errors found (unparsable manifests included); 2 bad usage, or validate could
not run (unreadable path, no cluster configured, cluster unreachable).`;

/**
 * Parses `Deno.args`.
 *
 * @throws {UsageError} when the arguments cannot be understood.
 */
export function parseArgs(argv: readonly string[]): CliOptions {
  const positional: string[] = [];
  const manifests: string[] = [];
  const allowedHosts: string[] = [];
  const allowedOrigins: string[] = [];
  let demo = false;
  let context: string | undefined;
  let kubeconfig: string | undefined;
  let http: string | undefined;
  let tokenFile: string | undefined;
  let tokenReview = false;
  let format: "text" | "json" = "text";
  let logLevel: CliOptions["logLevel"];
  let help = false;
  let version = false;
  let allowWrites = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(`${flag} needs a value`);
      }
      i++;
      return next;
    };
    switch (flag) {
      case "-h":
      case "--help":
        help = true;
        break;
      case "-V":
      case "--version":
        version = true;
        break;
      case "--demo":
        demo = true;
        break;
      case "--allow-writes":
        allowWrites = true;
        break;
      case "--manifests":
        manifests.push(value());
        break;
      case "--context":
        context = value();
        break;
      case "--kubeconfig":
        kubeconfig = value();
        break;
      case "--http":
        http = value();
        break;
      case "--http-token-file":
        tokenFile = value();
        break;
      case "--http-token-review":
        tokenReview = true;
        break;
      case "--allowed-host":
        allowedHosts.push(value());
        break;
      case "--allowed-origin":
        allowedOrigins.push(value());
        break;
      case "--format": {
        const f = value();
        if (f !== "text" && f !== "json") {
          throw new UsageError(`--format must be text or json: got "${f}"`);
        }
        format = f;
        break;
      }
      case "--log-level": {
        const l = value();
        if (l !== "debug" && l !== "info" && l !== "warn" && l !== "error") {
          throw new UsageError(`--log-level must be debug, info, warn or error: got "${l}"`);
        }
        logLevel = l;
        break;
      }
      default:
        if (arg.startsWith("-") && arg !== "-") throw new UsageError(`Unknown option "${arg}"`);
        positional.push(arg);
    }
  }

  if (demo && manifests.length > 0) {
    throw new UsageError("Use either --demo or --manifests, not both");
  }
  if ((demo || manifests.length > 0) && (context || kubeconfig)) {
    throw new UsageError(
      "--context and --kubeconfig apply to a live cluster, not to --demo or --manifests",
    );
  }
  const source: SourceChoice = demo
    ? { kind: "demo" }
    : manifests.length > 0
    ? manifestSets(manifests)
    : { kind: "live", ...(context ? { context } : {}), ...(kubeconfig ? { kubeconfig } : {}) };

  let command: Command;
  if (help) command = { kind: "help" };
  else if (version) command = { kind: "version" };
  else {
    const [sub, ...rest] = positional;
    if (sub === undefined) command = { kind: "serve" };
    else if (sub === "call") command = parseCall(rest);
    else if (sub === "validate") {
      if (rest.length) throw new UsageError(`validate takes no arguments: got "${rest.join(" ")}"`);
      command = { kind: "validate", format };
    } else if (sub === "tools") command = { kind: "tools" };
    else throw new UsageError(`Unknown command "${sub}": expected call, validate or tools`);
  }

  const opts: CliOptions = { command, source };
  if (logLevel) opts.logLevel = logLevel;
  if (allowWrites) opts.allowWrites = true;
  if (http !== undefined) {
    if (command.kind !== "serve") throw new UsageError("--http applies only when serving");
    opts.http = {
      ...parseListenAddress(http),
      ...(tokenFile ? { tokenFile } : {}),
      ...(tokenReview ? { tokenReview } : {}),
      allowedHosts,
      allowedOrigins,
    };
  } else if (tokenFile || tokenReview || allowedHosts.length || allowedOrigins.length) {
    throw new UsageError(
      "--http-token-file, --http-token-review, --allowed-host and --allowed-origin need --http",
    );
  }
  return opts;
}

/** A cluster name for `--manifests NAME=PATH`: a DNS label (a Link's target name). */
const SET_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Groups `--manifests` values by cluster. `NAME=PATH` names the cluster when NAME is a
 * DNS label (`east=./east`); anything else is a path (write `./east=x` for a file
 * literally named so) in the cluster "manifests".
 */
function manifestSets(values: string[]): SourceChoice {
  const sets = new Map<string, string[]>();
  const paths: string[] = [];
  for (const v of values) {
    const eq = v.indexOf("=");
    const name = eq > 0 && SET_NAME.test(v.slice(0, eq)) ? v.slice(0, eq) : undefined;
    const path = name ? v.slice(eq + 1) : v;
    if (path === "") throw new UsageError(`--manifests ${v} names no path: use NAME=PATH`);
    const key = name ?? "manifests";
    sets.set(key, [...(sets.get(key) ?? []), path]);
    paths.push(path);
  }
  return {
    kind: "manifests",
    paths,
    sets: [...sets].map(([name, p]) => ({ name, paths: p })),
  };
}

function parseCall(rest: string[]): Command {
  const [tool, json, ...extra] = rest;
  if (!tool) throw new UsageError("call needs a tool name, e.g. call check_mesh_health");
  if (extra.length) {
    throw new UsageError(`call takes one JSON argument object: got extra "${extra.join(" ")}"`);
  }
  let args: unknown = {};
  if (json !== undefined) {
    try {
      args = JSON.parse(json);
    } catch (err) {
      throw new UsageError(
        `The arguments of call must be a JSON object: ${(err as Error).message}`,
      );
    }
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new UsageError(
      `The arguments of call must be a JSON object, e.g. '{"namespace":"emojivoto"}'`,
    );
  }
  return { kind: "call", tool, args: args as Record<string, unknown> };
}

/**
 * Parses `[ADDR:]PORT` (`8080`, `0.0.0.0:8080`, `[::1]:8080`).
 *
 * @throws {UsageError} when the address or port is invalid.
 */
export function parseListenAddress(text: string): { hostname: string; port: number } {
  const m = text.match(/^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/);
  if (!m) {
    throw new UsageError(`--http takes [ADDR:]PORT, e.g. 8080 or 0.0.0.0:8080: got "${text}"`);
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new UsageError(`--http port must be 1-65535: got ${port}`);
  const hostname = (m[1] ?? "127.0.0.1").replace(/^\[|\]$/g, "");
  return { hostname, port };
}
