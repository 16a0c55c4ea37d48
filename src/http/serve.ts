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
 * (DNS-rebinding protection), and a malformed `Host` is `400`; bodies are bounded in
 * size (`413`) and time (whole-body and stall timeouts, `408`); a request is
 * authenticated and its body read before it takes one of the concurrency slots, so
 * slow or unauthenticated clients cannot hold them; TokenReviews are cached,
 * rate-limited (`429`) and bounded (see auth.ts); malformed JSON-RPC is answered
 * `400` with the JSON-RPC error; shutdown drains in-flight requests. The caller's `Authorization` header is stripped before the
 * request reaches the MCP layer, so it can never be forwarded to the cluster.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/shared/transport"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Logger } from "../log.ts";
import { GuardedTransport, screenMessage } from "../protocol_guard.ts";
import { type AuthenticatorOptions, createAuthenticator, type TokenReviewer } from "./auth.ts";
import {
  BodyReadError,
  BodyTimeoutError,
  BodyTooLargeError,
  ConcurrencyLimiter,
  hostAllowed,
  isLoopback,
  LOOPBACK_HOSTS,
  LOOPBACK_ORIGINS,
  originAllowed,
  readBodyLimited,
  wellFormedHost,
} from "./guards.ts";

/** What the HTTP transport needs of an MCP server (the SDK's `Server` or `McpServer`). */
export interface McpEndpoint {
  connect(transport: Transport): Promise<void>;
  close(): Promise<void>;
}

/** Default request body limit: 1 MiB (tool arguments are small). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default number of `/mcp` requests served at once. */
export const DEFAULT_MAX_CONCURRENT = 32;
/** Default time a whole request body may take to arrive. */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
/** Default longest pause between two chunks of a request body. */
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 5_000;
/** Default number of request bodies being read at once (before a concurrency slot). */
export const DEFAULT_MAX_PENDING_BODIES = 256;
/** Default time in-flight requests get to finish on shutdown. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 20_000;
/** The MCP endpoint path. */
export const MCP_PATH = "/mcp";

/** Options for {@linkcode serveHttp}. */
export interface ServeHttpOptions {
  /** Builds a fresh MCP server; called once per request. */
  createMcpServer: () => McpEndpoint;
  /** Address to bind, e.g. `127.0.0.1` (default for the CLI) or `0.0.0.0`. */
  hostname: string;
  /** Port; 0 picks a free one (see {@linkcode HttpServer.addr}). */
  port: number;
  /** Bearer token clients must present; required on non-loopback addresses unless `tokenReview` is set. */
  token?: string;
  /** Accepts Kubernetes service-account tokens that are not the static token. */
  tokenReview?: TokenReviewer;
  /** Caches, rate limit, concurrency and time limit of the TokenReviews (defaults in auth.ts). */
  tokenReviewLimits?: Omit<AuthenticatorOptions, "token" | "tokenReview">;
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
  /**
   * Concurrent `/mcp` requests being served (default 32); more get `503` with
   * `Retry-After`. A slot is taken only once the request is authenticated and its whole
   * body has arrived, so slow clients cannot hold slots.
   */
  maxConcurrent?: number;
  /** Time the whole request body may take (default 10 s); slower bodies get `408`. */
  bodyTimeoutMs?: number;
  /** Longest pause between two body chunks (default 5 s); a stalled body gets `408`. */
  bodyIdleTimeoutMs?: number;
  /** Request bodies read at once (default 256); more get `503`. */
  maxPendingBodies?: number;
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
  const bodyTimeouts = {
    timeoutMs: positive(opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS, "bodyTimeoutMs"),
    idleTimeoutMs: positive(
      opts.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS,
      "bodyIdleTimeoutMs",
    ),
  };
  const maxPending = positive(
    opts.maxPendingBodies ?? DEFAULT_MAX_PENDING_BODIES,
    "maxPendingBodies",
  );
  let pendingBodies = 0;

  const allowedHosts = [...(opts.allowedHosts ?? [])];
  if (loopback) allowedHosts.push(...LOOPBACK_HOSTS);
  else if (allowedHosts.length === 0) {
    allowedHosts.push("*");
    log.info("HTTP accepts any Host header (no --allowed-host given); a bearer token is required");
  }
  const allowedOrigins = [...(opts.allowedOrigins ?? [])];
  if (loopback) allowedOrigins.push(...LOOPBACK_ORIGINS);

  const authenticate = createAuthenticator({
    ...opts.tokenReviewLimits,
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
    // Authenticate and read the body first: only then is a concurrency slot taken, so
    // clients that dribble their body (or send bad tokens) never hold one.
    const auth = await authenticate(req.headers.get("authorization"), hardStop.signal);
    if (!auth.ok) {
      log.warn("refused unauthenticated request", { reason: auth.reason });
      if (auth.retryAfter !== undefined) {
        return jsonError(429, `Too many requests: ${auth.reason}`, {
          ...cors,
          "Retry-After": String(auth.retryAfter),
        });
      }
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
    if (pendingBodies >= maxPending) {
      log.warn("refused request: too many request bodies being read", { limit: maxPending });
      return jsonError(503, "Too many requests being received; retry shortly", {
        ...cors,
        "Retry-After": "1",
      });
    }
    let body: Uint8Array<ArrayBuffer>;
    pendingBodies++;
    try {
      body = await readBodyLimited(req, maxBody, bodyTimeouts);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        log.warn("refused request body over the limit", { limit: maxBody });
        return jsonError(413, `Request body exceeds ${maxBody} bytes`, cors);
      }
      if (err instanceof BodyReadError) {
        log.debug("a client went away while sending its request body");
        return jsonError(400, "Bad Request: the request body could not be read", cors);
      }
      if (err instanceof BodyTimeoutError) {
        log.warn("refused a slow request body", { reason: err.message });
        return jsonError(408, `Request timeout: ${err.message}`, {
          ...cors,
          "Connection": "close",
        });
      }
      throw err;
    } finally {
      pendingBodies--;
    }
    const refused = screenBody(body);
    if (refused) {
      for (const [k, v] of Object.entries(cors)) refused.headers.set(k, v);
      return refused;
    }
    if (!limiter.tryAcquire()) {
      log.warn("refused request over the concurrency limit", { limit: limiter.limit });
      return jsonError(503, "Too many concurrent requests; retry shortly", {
        ...cors,
        "Retry-After": "1",
      });
    }
    try {
      const res = await dispatch(req, body);
      for (const [k, v] of Object.entries(cors)) res.headers.set(k, v);
      return res;
    } finally {
      limiter.release();
    }
  }

  /** Answers a body that is not a well-formed JSON-RPC message; undefined when it is. */
  function screenBody(body: Uint8Array): Response | undefined {
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder().decode(body));
    } catch {
      return undefined; // the SDK answers -32700 itself
    }
    // Batches are still accepted over HTTP (older protocol versions): screen each member.
    for (const message of Array.isArray(value) ? value : [value]) {
      const screened = screenMessage(message);
      if (screened.ok) continue;
      log.warn("refused a malformed MCP message", { reason: screened.reason });
      return screened.reply
        ? new Response(JSON.stringify(screened.reply), {
          status: 400,
          headers: { "Content-Type": "application/json" },
        })
        : new Response(null, { status: 202 });
    }
    return undefined;
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
      // Stateless: every POST meets a fresh server, so no initialize gate here.
      await server.connect(new GuardedTransport(transport, { requireInitialize: false, log }));
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
    let path = "";
    let res: Response;
    try {
      const host = req.headers.get("host");
      let url: URL | undefined;
      try {
        url = new URL(req.url);
      } catch {
        url = undefined;
      }
      if (!url || (host !== null && !wellFormedHost(host))) {
        log.warn("refused request with a malformed Host header", { host: host?.slice(0, 100) });
        res = jsonError(400, "Bad Request: malformed Host header");
      } else if ((path = url.pathname) === MCP_PATH) res = await handleMcp(req);
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
