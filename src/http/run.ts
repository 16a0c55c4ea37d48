/**
 * Runs the HTTP transport for the command line: resolves the token, starts
 * {@linkcode serveHttp}, shuts down on SIGTERM/SIGINT and returns an exit code.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { HttpOptions } from "../cli/args.ts";
import type { Logger } from "../log.ts";
import { resolveToken, TokenConfigError, type TokenReviewer } from "./auth.ts";
import { HttpConfigError, serveHttp, shutdownOnSignals } from "./serve.ts";

/** What {@linkcode startHttp} needs besides the parsed flags. */
export interface StartHttpDeps {
  createMcpServer: () => McpServer;
  log: Logger;
  /** Environment values (`LINKERD_MCP_HTTP_TOKEN` is read from here). */
  env: Record<string, string | undefined>;
  /** Optional TokenReview check for Kubernetes service-account tokens. */
  tokenReview?: TokenReviewer;
  /** Readiness beyond "not shutting down". */
  isReady?: () => boolean | Promise<boolean>;
}

/**
 * Serves MCP over HTTP until SIGTERM/SIGINT, then drains and returns 0. Returns 2
 * (after logging why) when the configuration is unsafe or the token is unusable.
 */
export async function startHttp(opts: HttpOptions, deps: StartHttpDeps): Promise<number> {
  let token: string | undefined;
  try {
    token = await resolveToken({
      ...(opts.tokenFile !== undefined ? { tokenFile: opts.tokenFile } : {}),
      ...(deps.env["LINKERD_MCP_HTTP_TOKEN"] !== undefined
        ? { envToken: deps.env["LINKERD_MCP_HTTP_TOKEN"] }
        : {}),
    });
    const server = serveHttp({
      createMcpServer: deps.createMcpServer,
      hostname: opts.hostname,
      port: opts.port,
      ...(token !== undefined ? { token } : {}),
      ...(deps.tokenReview ? { tokenReview: deps.tokenReview } : {}),
      ...(deps.isReady ? { isReady: deps.isReady } : {}),
      allowedHosts: opts.allowedHosts,
      allowedOrigins: opts.allowedOrigins,
      log: deps.log,
    });
    const removeSignals = shutdownOnSignals(server, deps.log);
    await server.finished;
    removeSignals();
    return 0;
  } catch (err) {
    if (err instanceof TokenConfigError || err instanceof HttpConfigError) {
      deps.log.error(err.message);
      return 2;
    }
    throw err;
  }
}
