/**
 * Runs the HTTP transport for the command line: resolves the token, starts
 * {@linkcode serveHttp}, shuts down on SIGTERM/SIGINT and returns an exit code.
 *
 * @module
 */
import type { HttpOptions } from "../cli/args.ts";
import type { Logger } from "../log.ts";
import { resolveToken, TokenConfigError, type TokenReviewer } from "./auth.ts";
import { HttpConfigError, type McpEndpoint, serveHttp, shutdownOnSignals } from "./serve.ts";

/** What {@linkcode startHttp} needs besides the parsed flags. */
export interface StartHttpDeps {
  createMcpServer: () => McpEndpoint;
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
 * (after logging one line saying why) when the configuration is unsafe, the token is
 * unusable, or the address cannot be bound (in use, not permitted, not available).
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
    const where = `${
      opts.hostname.includes(":") ? `[${opts.hostname}]` : opts.hostname
    }:${opts.port}`;
    if (err instanceof Deno.errors.AddrInUse) {
      deps.log.error(
        `Cannot serve HTTP on ${where}: the address is already in use (another linkerd-mcp or another program listens there); choose another port with --http`,
      );
      return 2;
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      deps.log.error(
        `Cannot serve HTTP on ${where}: permission denied (ports below 1024 need privileges); choose a port above 1024 with --http`,
      );
      return 2;
    }
    if (err instanceof Deno.errors.AddrNotAvailable) {
      deps.log.error(
        `Cannot serve HTTP on ${where}: this machine has no such address; use 127.0.0.1 or 0.0.0.0`,
      );
      return 2;
    }
    throw err;
  }
}
