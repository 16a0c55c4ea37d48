/**
 * linkerd-mcp: composition root. The only module that reads `Deno.args`, `Deno.env`
 * and picks a transport. stdout carries MCP protocol messages (or, for `call` and
 * `validate`, the command's output); everything else goes to stderr.
 *
 * @module
 */
import { type CliOptions, parseArgs, USAGE, UsageError } from "./src/cli/args.ts";
import { buildSource, NoClusterConfiguredError } from "./src/cli/source.ts";
import { type Config, ENV_VARS, loadConfig } from "./src/config.ts";
import type { LiveSource } from "./src/kube/live.ts";
import type { ClusterSource } from "./src/kube/source.ts";
import { createLogger, isLogLevel, type Logger } from "./src/log.ts";
import type { ToolDeps } from "./src/tools/_spec.ts";
import { startFastStdio } from "./src/fast_start.ts";
import { serverCapabilities, serverInfo, serverInstructions } from "./src/server_info.ts";
import { listedTools } from "./src/tools/table.ts";
import { summarizeSource } from "./src/cli/summary.ts";
import { VERSION } from "./src/version.ts";

function readEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of ENV_VARS) {
    try {
      env[name] = Deno.env.get(name);
    } catch {
      // not granted: treated as unset
    }
  }
  return env;
}

function write(stream: "out" | "err", text: string): void {
  const data = new TextEncoder().encode(text.endsWith("\n") ? text : text + "\n");
  const out = stream === "out" ? Deno.stdout : Deno.stderr;
  // A pipe may take fewer bytes than offered: write until all of it is out.
  for (let at = 0; at < data.length;) at += out.writeSync(data.subarray(at));
}

async function main(): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseArgs(Deno.args);
  } catch (err) {
    if (err instanceof UsageError) {
      write("err", `linkerd-mcp: ${err.message}\nRun "linkerd-mcp --help" for usage.`);
      return 2;
    }
    throw err;
  }
  if (opts.command.kind === "help") {
    write("out", USAGE);
    return 0;
  }
  if (opts.command.kind === "version") {
    write("out", `linkerd-mcp ${VERSION}`);
    return 0;
  }
  if (opts.command.kind === "tools") {
    const { allTools } = await import("./src/tools/mod.ts");
    let writes = opts.allowWrites === true;
    try {
      writes ||= loadConfig(readEnv()).allowWrites === true;
    } catch { /* a bad variable is reported when serving */ }
    for (const t of allTools({ writes })) {
      write("out", `${t.name}\n  ${t.title}: ${t.description.split("\n")[0]}`);
    }
    return 0;
  }

  const env = readEnv();
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    write("err", `linkerd-mcp: ${(err as Error).message}`);
    return 2;
  }
  if (opts.allowWrites) config.allowWrites = true;
  const envLevel = env["LINKERD_MCP_LOG_LEVEL"];
  const log = createLogger(
    opts.logLevel ?? (isLogLevel(envLevel) ? envLevel : "info"),
  );
  const serving = opts.command.kind === "serve";
  if (config.allowWrites && serving) {
    log.warn(
      "writes are ENABLED (--allow-writes): apply_policies, enforce_policies and rollback_policies can change policy resources",
    );
  }

  let cluster: ClusterSource;
  let notice: string | undefined;
  try {
    cluster = await buildSource(opts.source, { env, config, log });
  } catch (err) {
    if (err instanceof NoClusterConfiguredError && serving) {
      // A newcomer without a cluster gets the demo mesh, and is told so everywhere.
      cluster = await buildSource({ kind: "demo" }, { env, config, log });
      notice =
        `No Kubernetes cluster is configured (${err.message}), so this server answers from the embedded DEMO mesh, not a real cluster. Set KUBECONFIG or pass --context, --manifests PATH or --demo.`;
      log.warn(notice);
    } else {
      write("err", `linkerd-mcp: ${(err as Error).message}`);
      // `call` without a cluster is a failed call (1); anything else cannot run (2).
      return err instanceof NoClusterConfiguredError && opts.command.kind === "call" ? 1 : 2;
    }
  }

  let deps: ToolDeps;
  try {
    // Every cluster this server serves; each tool takes `cluster` to pick one.
    const { buildClusterSet, readClustersFile, toolDepsOf } = await import("./src/cli/clusters.ts");
    const file = env["LINKERD_MCP_CONFIG"]?.trim()
      ? await readClustersFile(env["LINKERD_MCP_CONFIG"].trim())
      : undefined;
    const built = await buildClusterSet(notice ? { kind: "demo" } : opts.source, {
      env,
      config,
      log,
      ...(file ? { file } : {}),
      source: cluster,
    });
    deps = toolDepsOf(cluster, built, log);
  } catch (err) {
    write("err", `linkerd-mcp: ${(err as Error).message}`);
    return 2;
  }

  switch (opts.command.kind) {
    case "call": {
      const { tool, args } = opts.command;
      const { allTools, isWriteTool, writesDisabledMessage } = await import("./src/tools/mod.ts");
      const { runTool } = await import("./src/tools/_spec.ts");
      const spec = allTools({ writes: config.allowWrites === true }).find((t) => t.name === tool);
      if (!spec && isWriteTool(tool)) {
        write("err", `linkerd-mcp: ${writesDisabledMessage(tool)}`);
        return 1;
      }
      if (!spec) {
        const names = allTools({ writes: config.allowWrites === true }).map((t) => t.name).join(
          ", ",
        );
        write("err", `linkerd-mcp: unknown tool "${tool}"; available: ${names}`);
        return 2;
      }
      const outcome = await runTool(spec, args, deps);
      if (cluster.kind === "demo") {
        write(
          "err",
          "linkerd-mcp: this answer comes from the embedded DEMO mesh, not a real cluster",
        );
      }
      if (!outcome.ok) {
        write("err", outcome.error);
        return 1;
      }
      write("out", JSON.stringify(outcome.data, null, 2));
      return 0;
    }
    case "validate": {
      const { runValidateCommand } = await import("./src/cli/validate.ts");
      const result = await runValidateCommand(deps, { format: opts.command.format });
      if (result.output) write("out", result.output);
      if (result.error) write("err", result.error);
      return result.exitCode;
    }
    case "serve":
      return await serve(opts, deps, log, notice);
  }
  return 2;
}

/**
 * Whether stdio serving answers the opening itself (src/fast_start.ts): not when
 * LINKERD_MCP_FAST_START=0, nor for a terminal (no client is waiting there).
 */
function fastStartEnabled(): boolean {
  try {
    if (Deno.env.get("LINKERD_MCP_FAST_START") === "0") return false;
  } catch {
    // not granted: on
  }
  return !Deno.stdin.isTerminal();
}

/**
 * While the client reads the listing (or its model thinks): the tools' code, and for a live
 * cluster the YAML parser (kubeconfigs), so that the first call finds them ready. Nothing is
 * sent to the cluster; it stops as soon as a call comes (`preloadTools`), so a call never
 * waits behind it.
 */
function warmUp(deps: ToolDeps): void {
  const timer = setTimeout(() => {
    void (async () => {
      const table = await import("./src/tools/table.ts");
      if (deps.cluster.kind === "live" && !table.toolCalled()) await import("yaml");
      await table.preloadTools(deps.config.allowWrites === true);
    })().catch(() => {});
  }, 50);
  Deno.unrefTimer(timer);
}

async function serve(
  opts: CliOptions,
  deps: ToolDeps,
  log: Logger,
  notice?: string,
): Promise<number> {
  // stdio: the opening (initialize, tools/list) is answered before the SDK is loaded.
  const fast = !opts.http && fastStartEnabled()
    ? startFastStdio({
      serverInfo: serverInfo(),
      capabilities: serverCapabilities(),
      instructions: serverInstructions(deps, notice),
      tools: () => listedTools(deps.config.allowWrites === true),
      log,
    })
    : undefined;
  if (fast) await fast.wanted;
  if (deps.cluster.kind === "live") {
    // Deno's TLS set-up, on another thread while this one loads the SDK (after the opening:
    // a worker started earlier slows the answers to `initialize` and `tools/list`).
    (await import("./src/kube/_fetch_http.ts")).warmUpTlsInBackground();
  }
  const { createServer } = await import("./src/server.ts");
  const build = () =>
    createServer(deps, {
      ...(notice ? { notice } : {}),
      // Stateless JSON HTTP cannot carry a server-to-client request (elicitation).
      ...(opts.http ? { elicitation: false } : {}),
    });
  if (opts.http) {
    const { startHttp } = await import("./src/http/run.ts");
    warmUp(deps);
    const cluster = deps.cluster as Partial<LiveSource>;
    if (opts.http.tokenReview && typeof cluster.reviewToken !== "function") {
      log.error("--http-token-review needs a live cluster to send TokenReviews to");
      return 2;
    }
    return await startHttp(opts.http, {
      createMcpServer: build,
      log,
      env: readEnv(),
      ...(opts.http.tokenReview
        ? {
          tokenReview: async (t: string, signal?: AbortSignal) =>
            (await cluster.reviewToken!(t, signal)).authenticated,
        }
        : {}),
    });
  }
  const { createStdioTransport } = await import("./src/protocol_guard.ts");
  const server = build();
  // With the fast path, stdin is read by it, and the SDK reads what it hands over.
  const stdin = fast ? await fast.handover() : (await import("node:process")).default.stdin;
  const transport = createStdioTransport({ log, stdin });
  fast?.adopt(transport);
  await server.connect(transport);
  log.info(`linkerd-mcp ${VERSION} serving MCP on stdio from ${deps.cluster.describe()}`);
  warmUp(deps);
  if (Deno.stdin.isTerminal()) {
    // Started by hand: say what is served (this reads the cluster, so only here, where
    // no client is waiting for its first answers) and how to connect a client.
    log.info(
      'stdin is a terminal: this server speaks MCP on stdin/stdout. Connect a client instead, e.g. "npx @modelcontextprotocol/inspector deno task demo", or configure Claude Desktop (see README). Ctrl-C stops it.',
    );
    summarizeSource(deps).then((s) => log.info(s)).catch((err) =>
      log.warn(`could not read cluster state: ${(err as Error).message}`)
    );
  }
  await new Promise<void>((resolve) => {
    server.onclose = () => resolve();
    // The client closing our stdin ends the session. The handed-over stream ends right
    // after its last data (not a read later, as the real stdin does): let the requests it
    // carried be answered first, as they are without the fast path.
    const ended = fast ? () => setTimeout(resolve, 20) : () => resolve();
    stdin.on("end", ended);
    stdin.on("close", ended);
    if (fast && stdin.readableEnded) ended();
    Deno.addSignalListener("SIGINT", () => resolve());
    if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => resolve());
  });
  await server.close();
  await (deps.clusters ? deps.clusters.close() : deps.cluster.close?.());
  return 0;
}

if (import.meta.main) {
  const code = await main().catch((err) => {
    write(
      "err",
      `linkerd-mcp: unexpected error: ${err instanceof Error ? err.stack ?? err.message : err}`,
    );
    return 1;
  });
  // client-node keeps sockets and timers alive; end explicitly.
  Deno.exit(code);
}
