/**
 * The Streamable HTTP transport: `Deno.serve` plus the SDK's web-standard transport
 * at `/mcp`, with `/healthz` and `/readyz` for probes.
 *
 * The server is stateless: every POST gets a fresh `McpServer` and transport, no
 * session id is issued and responses are plain JSON, so any replica behind a Service
 * can answer any request. `GET` and `DELETE` on `/mcp` (server-initiated streams and
 * session teardown) are answered `405`, as the specification allows.
 *
 * Safe by default: bound to loopback unless told otherwise; a bearer token is
 * required on any other address; `Host` and `Origin` are checked against allow-lists
 * (DNS-rebinding protection); bodies and concurrency are bounded; shutdown drains
 * in-flight requests. The caller's `Authorization` header is stripped before the
 * request reaches the MCP layer, so it can never be forwarded to the cluster.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Logger } from "../log.ts";
import { createAuthenticator, type TokenReviewer } from "./auth.ts";
import {
  BodyTooLargeError,
  ConcurrencyLimiter,
  hostAllowed,
  isLoopback,
  LOOPBACK_HOSTS,
  LOOPBACK_ORIGINS,
  originAllowed,
  readBodyLimited,
} from "./guards.ts";

/** Default request body limit: 1 MiB (tool arguments are small). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default number of `/mcp` requests served at once. */
export const DEFAULT_MAX_CONCURRENT = 32;
/** Default time in-flight requests get to finish on shutdown. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 20_000;
/** The MCP endpoint path. */
export const MCP_PATH = "/mcp";

/** Options for {@linkcode serveHttp}. */
export interface ServeHttpOptions {
  /** Builds a fresh MCP server; called once per request. */
  createMcpServer: () => McpServer;
  /** Address to bind, e.g. `127.0.0.1` (default for the CLI) or `0.0.0.0`. */
  hostname: string;
  /** Port; 0 picks a free one (see {@linkcode HttpServer.addr}). */
  port: number;
  /** Bearer token clients must present; required on non-loopback addresses unless `tokenReview` is set. */
  token?: string;
  /** Accepts Kubernetes service-account tokens that are not the static token. */
  tokenReview?: TokenReviewer;
  /**
   * `Host` values accepted on `/mcp` (`name` for any port, `name:port`, or `*`). Loopback
   * names are always accepted on a loopback address. Without a list, a non-loopback
   * listener accepts any `Host` (its token is the protection) and says so in the log.
   */
  allowedHosts?: string[];
  /** Browser origins accepted on `/mcp`; requests without `Origin` always pass. */
  allowedOrigins?: string[];
  /** Request body limit in bytes (default 1 MiB); larger bodies get `413`. */
  maxBodyBytes?: number;
  /** Concurrent `/mcp` requests (default 32); more get `503` with `Retry-After`. */
  maxConcurrent?: number;
  /** Time in-flight requests get on shutdown before they are cancelled (default 20 s). */
  drainTimeoutMs?: number;
  /** Readiness beyond "not shutting down", e.g. the cluster source is reachable. */
  isReady?: () => boolean | Promise<boolean>;
  log: Logger;
  /** Called once the socket is bound (instead of Deno's default stdout message). */
  onListen?: (addr: { hostname: string; port: number }) => void;
}

/** A running HTTP server. */
export interface HttpServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly addr: { hostname: string; port: number };
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops accepting, drains in-flight requests (up to the drain timeout), then stops. */
  shutdown(): Promise<void>;
}

/** The HTTP transport was configured unsafely or inconsistently. */
export class HttpConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpConfigError";
  }
}

/**
 * Starts the HTTP transport.
 *
 * @throws {HttpConfigError} when bound to a non-loopback address without a token, or a limit is invalid.
 */
export function serveHttp(opts: ServeHttpOptions): HttpServer {
  const { log } = opts;
  const loopback = isLoopback(opts.hostname);
  if (!loopback && opts.token === undefined && opts.tokenReview === undefined) {
    throw new HttpConfigError(
      `Refusing to serve HTTP on "${opts.hostname}" without a bearer token: anyone who can reach that address could read your cluster through this server. Set LINKERD_MCP_HTTP_TOKEN or pass --http-token-file FILE, or bind to 127.0.0.1`,
    );
  }
  const maxBody = positive(opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, "maxBodyBytes");
  const limiter = new ConcurrencyLimiter(
    positive(opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT, "maxConcurrent"),
  );
  const drainMs = opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;

  const allowedHosts = [...(opts.allowedHosts ?? [])];
  if (loopback) allowedHosts.push(...LOOPBACK_HOSTS);
  else if (allowedHosts.length === 0) {
    allowedHosts.push("*");
    log.info("HTTP accepts any Host header (no --allowed-host given); a bearer token is required");
  }
  const allowedOrigins = [...(opts.allowedOrigins ?? [])];
  if (loopback) allowedOrigins.push(...LOOPBACK_ORIGINS);

  const authenticate = createAuthenticator({
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.tokenReview ? { tokenReview: opts.tokenReview } : {}),
  });
  let draining = false;
  // Fires when the drain timeout is reached: requests still running are answered 503.
  const hardStop = new AbortController();
  const stopped = new Promise<Response>((resolve) => {
    hardStop.signal.addEventListener("abort", () => {
      resolve(jsonError(503, "Server shut down before the request finished"));
    });
  });

  async function handleMcp(req: Request): Promise<Response> {
    if (draining) return jsonError(503, "Server is shutting down", { "Retry-After": "1" });
    if (!hostAllowed(req.headers.get("host"), allowedHosts)) {
      log.warn("refused request with a Host that is not allowed", {
        host: req.headers.get("host"),
      });
      return jsonError(403, "Forbidden: Host header is not allowed");
    }
    const origin = req.headers.get("origin");
    if (!originAllowed(origin, allowedOrigins)) {
      log.warn("refused request with an Origin that is not allowed", { origin });
      return jsonError(403, "Forbidden: Origin header is not allowed");
    }
    const cors: Record<string, string> = origin !== null
      ? { "Access-Control-Allow-Origin": origin, "Vary": "Origin" }
      : {};
    if (req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          ...cors,
          "Access-Control-Allow-Methods": "POST",
          "Access-Control-Allow-Headers":
            "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID",
          "Access-Control-Max-Age": "600",
        },
      });
    }
    const auth = await authenticate(req.headers.get("authorization"));
    if (!auth.ok) {
      log.warn("refused unauthenticated request", { reason: auth.reason });
      return jsonError(401, `Unauthorized: ${auth.reason}`, {
        ...cors,
        "WWW-Authenticate": 'Bearer realm="linkerd-mcp"',
      });
    }
    if (req.method !== "POST") {
      return jsonError(
        405,
        "Method not allowed: this stateless server takes JSON-RPC over POST only",
        { ...cors, "Allow": "POST, OPTIONS" },
      );
    }
    if (!limiter.tryAcquire()) {
      log.warn("refused request over the concurrency limit", { limit: limiter.limit });
      return jsonError(503, "Too many concurrent requests; retry shortly", {
        ...cors,
        "Retry-After": "1",
      });
    }
    try {
      let body: Uint8Array<ArrayBuffer>;
      try {
        body = await readBodyLimited(req, maxBody);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          log.warn("refused request body over the limit", { limit: maxBody });
          return jsonError(413, `Request body exceeds ${maxBody} bytes`, cors);
        }
        throw err;
      }
      const res = await dispatch(req, body);
      for (const [k, v] of Object.entries(cors)) res.headers.set(k, v);
      return res;
    } finally {
      limiter.release();
    }
  }

  async function dispatch(req: Request, body: Uint8Array<ArrayBuffer>): Promise<Response> {
    // The caller's credentials stop here: the MCP layer (and so every tool) never sees them.
    const headers = new Headers(req.headers);
    for (const h of ["authorization", "cookie", "proxy-authorization"]) headers.delete(h);
    const inner = new Request(req.url, { method: req.method, headers, body });
    const server = opts.createMcpServer();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    try {
      await server.connect(transport);
      const res = await Promise.race([transport.handleRequest(inner), stopped]);
      return hardStop.signal.aborted
        ? jsonError(503, "Server shut down before the request finished")
        : res;
    } finally {
      server.close().catch(() => {});
    }
  }

  async function handle(req: Request): Promise<Response> {
    const started = performance.now();
    const path = new URL(req.url).pathname;
    let res: Response;
    try {
      if (path === MCP_PATH) res = await handleMcp(req);
      else if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
        res = text(200, "ok\n");
      } else if (path === "/readyz" && (req.method === "GET" || req.method === "HEAD")) {
        res = (!draining && (await ready())) ? text(200, "ready\n") : text(503, "not ready\n");
      } else res = text(404, "not found\n");
    } catch (err) {
      log.error("HTTP request failed", { path, error: String(err) });
      res = jsonError(500, "Internal server error");
    }
    res.headers.set("Cache-Control", "no-store");
    res.headers.set("X-Content-Type-Options", "nosniff");
    if (path === MCP_PATH) {
      log.debug("http", {
        method: req.method,
        path,
        status: res.status,
        ms: Math.round(performance.now() - started),
      });
    }
    return res;
  }

  async function ready(): Promise<boolean> {
    if (!opts.isReady) return true;
    try {
      return await opts.isReady();
    } catch {
      return false;
    }
  }

  const server = Deno.serve({
    hostname: opts.hostname,
    port: opts.port,
    onListen: (addr) => {
      const a = { hostname: addr.hostname, port: addr.port };
      log.info(`serving MCP over HTTP at http://${hostForUrl(a.hostname)}:${a.port}${MCP_PATH}`, {
        auth: opts.token !== undefined
          ? (opts.tokenReview ? "token+tokenreview" : "token")
          : (opts.tokenReview ? "tokenreview" : "none (loopback)"),
      });
      opts.onListen?.(a);
    },
    onError: (err) => {
      log.error("HTTP handler error", { error: String(err) });
      return jsonError(500, "Internal server error");
    },
  }, handle);

  const addr = { hostname: server.addr.hostname, port: server.addr.port };
  let stopping: Promise<void> | undefined;

  return {
    addr,
    finished: server.finished,
    shutdown() {
      stopping ??= (async () => {
        draining = true;
        log.info("shutting down HTTP: draining in-flight requests", { inFlight: limiter.active });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timedOut = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), drainMs);
        });
        const result = await Promise.race([
          server.shutdown().then(() => "drained" as const),
          timedOut,
        ]);
        clearTimeout(timer);
        if (result === "timeout") {
          log.warn("drain timeout reached: cancelling in-flight requests", {
            inFlight: limiter.active,
          });
          hardStop.abort();
          await server.finished;
        }
        log.info("HTTP server stopped");
      })();
      return stopping;
    },
  };
}

/**
 * Calls `server.shutdown()` on SIGTERM or SIGINT (SIGINT only on Windows).
 *
 * @returns a function that removes the listeners.
 */
export function shutdownOnSignals(server: HttpServer, log: Logger): () => void {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGTERM", "SIGINT"];
  const onSignal = (sig: Deno.Signal) => () => {
    log.info(`received ${sig}`);
    server.shutdown();
  };
  const handlers = signals.map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  return () => {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  };
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n <= 0) {
    throw new HttpConfigError(`${name} must be a positive whole number: got ${n}`);
  }
  return n;
}

function hostForUrl(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

function jsonError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }),
    { status, headers: { "Content-Type": "application/json", ...headers } },
  );
}
