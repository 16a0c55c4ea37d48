/**
 * Bearer-token authentication for the HTTP transport: where the token comes from,
 * constant-time comparison, and the optional Kubernetes TokenReview fallback.
 *
 * The caller's token only ever proves who may talk to this server; it is never
 * forwarded to the Kubernetes API server or to Prometheus.
 *
 * @module
 */

/**
 * Checks a bearer token with the Kubernetes TokenReview API; true when it is accepted.
 * `signal` is aborted when the review took too long or the HTTP request went away.
 */
export type TokenReviewer = (token: string, signal?: AbortSignal) => Promise<boolean>;

/** Where {@linkcode resolveToken} looks for the server's token. */
export interface ResolveTokenOptions {
  /** `--http-token-file`: a file holding the token (surrounding whitespace is trimmed). */
  tokenFile?: string;
  /** `LINKERD_MCP_HTTP_TOKEN`. */
  envToken?: string;
  /** Reads a file; injected for tests (default `Deno.readTextFile`). */
  readTextFile?: (path: string) => Promise<string>;
}

/** Minimum token length accepted, so that a guessable token cannot be configured by accident. */
export const MIN_TOKEN_LENGTH = 16;

/** A token that cannot be used (missing file, empty, too short). */
export class TokenConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TokenConfigError";
  }
}

/**
 * Returns the configured bearer token: the file wins over the environment variable.
 * Returns `undefined` when neither is set.
 *
 * @throws {TokenConfigError} when the file cannot be read or the token is empty or too short.
 */
export async function resolveToken(opts: ResolveTokenOptions): Promise<string | undefined> {
  let token: string | undefined;
  let from: string;
  if (opts.tokenFile !== undefined) {
    const read = opts.readTextFile ?? Deno.readTextFile;
    try {
      token = (await read(opts.tokenFile)).trim();
    } catch (err) {
      throw new TokenConfigError(
        `Cannot read the HTTP token file "${opts.tokenFile}": ${(err as Error).message}`,
        { cause: err },
      );
    }
    from = `token file "${opts.tokenFile}"`;
  } else if (opts.envToken !== undefined && opts.envToken.trim() !== "") {
    token = opts.envToken.trim();
    from = "LINKERD_MCP_HTTP_TOKEN";
  } else {
    return undefined;
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new TokenConfigError(
      `The HTTP token from ${from} is too short: use at least ${MIN_TOKEN_LENGTH} characters, e.g. the output of "openssl rand -hex 32"`,
    );
  }
  if (/\s/.test(token)) {
    throw new TokenConfigError(`The HTTP token from ${from} contains whitespace`);
  }
  return token;
}

const encoder = new TextEncoder();

/**
 * Compares two strings in time that depends only on their lengths' maximum, not on
 * where they first differ.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const len = Math.max(x.length, y.length);
  let diff = x.length ^ y.length;
  for (let i = 0; i < len; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Extracts the token from an `Authorization: Bearer …` header, or `undefined`. */
export function bearerToken(header: string | null): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return m?.[1];
}

/** How a request authenticated, or why it did not. */
export type AuthResult =
  | { ok: true; via: "none" | "static-token" | "token-review" }
  /** `retryAfter` (seconds) is set when the token could not be checked now (rate limit). */
  | { ok: false; reason: string; retryAfter?: number };

/** What {@linkcode createAuthenticator} checks against. */
export interface AuthenticatorOptions {
  /** The static bearer token; when unset and no reviewer is given, every request passes. */
  token?: string;
  /** Fallback for tokens that are not the static token. */
  tokenReview?: TokenReviewer;
  /** How long an accepted TokenReview result is remembered (default 60 s; 0 disables). */
  reviewCacheMs?: number;
  /** How long a rejected TokenReview result is remembered (default 30 s; 0 disables). */
  rejectCacheMs?: number;
  /** Most cached results of each kind (default 1000); the oldest go first. */
  cacheSize?: number;
  /** TokenReviews sent per second on average (default 5), with bursts of `reviewBurst`. */
  reviewsPerSecond?: number;
  /** Burst size of the TokenReview rate limit (default 20). */
  reviewBurst?: number;
  /** TokenReviews in flight at once (default 4); more wait for a free one. */
  maxConcurrentReviews?: number;
  /** Time one TokenReview may take before it is aborted and the token refused (default 5 s). */
  reviewTimeoutMs?: number;
  /** Clock for the caches and the rate limit (tests). */
  now?: () => number;
}

type Verdict = "accepted" | "rejected" | "error";

/** A map that keeps at most `max` entries, dropping the oldest. */
class BoundedCache {
  readonly #map = new Map<string, number>();
  constructor(readonly max: number) {}
  get(key: string, now: number): boolean {
    const until = this.#map.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#map.delete(key);
    return false;
  }
  set(key: string, until: number): void {
    this.#map.delete(key);
    this.#map.set(key, until);
    while (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value!);
  }
}

/**
 * Creates the request authenticator used by the HTTP server. With a TokenReview
 * fallback, results are cached by the token's SHA-256 (accepted ones for a minute,
 * rejected ones for half a minute, so random tokens do not each cost a review), the
 * same token under review is reviewed once, reviews are rate-limited (token bucket)
 * and bounded in concurrency, and each obeys an abort signal with a time limit.
 */
export function createAuthenticator(
  opts: AuthenticatorOptions,
): (authorization: string | null, signal?: AbortSignal) => Promise<AuthResult> {
  const acceptMs = opts.reviewCacheMs ?? 60_000;
  const rejectMs = opts.rejectCacheMs ?? 30_000;
  const now = opts.now ?? Date.now;
  const accepted = new BoundedCache(opts.cacheSize ?? 1000);
  const rejected = new BoundedCache(opts.cacheSize ?? 1000);
  const inFlight = new Map<string, Promise<Verdict>>();
  const rate = opts.reviewsPerSecond ?? 5;
  const burst = opts.reviewBurst ?? 20;
  let tokens = burst;
  let refilled = now();
  const maxConcurrent = opts.maxConcurrentReviews ?? 4;
  let running = 0;
  const waiting: (() => void)[] = [];
  const timeoutMs = opts.reviewTimeoutMs ?? 5_000;
  const required = opts.token !== undefined || opts.tokenReview !== undefined;

  const takeRateToken = (): boolean => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - refilled) / 1000) * rate);
    refilled = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const review = async (token: string, signal?: AbortSignal): Promise<Verdict> => {
    while (running >= maxConcurrent) {
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    running++;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const aborted = new Promise<Verdict>((resolve) => {
        if (combined.aborted) resolve("error");
        combined.addEventListener("abort", () => resolve("error"), { once: true });
      });
      return await Promise.race([
        opts.tokenReview!(token, combined).then(
          (ok): Verdict => ok ? "accepted" : "rejected",
          (): Verdict => "error",
        ),
        aborted,
      ]);
    } finally {
      running--;
      waiting.shift()?.();
    }
  };

  return async (authorization, signal) => {
    if (!required) return { ok: true, via: "none" };
    const presented = bearerToken(authorization);
    if (presented === undefined) {
      return { ok: false, reason: "missing bearer token" };
    }
    if (opts.token !== undefined && timingSafeEqual(presented, opts.token)) {
      return { ok: true, via: "static-token" };
    }
    if (!opts.tokenReview) return { ok: false, reason: "invalid bearer token" };
    const key = await sha256(presented);
    if (accepted.get(key, now())) return { ok: true, via: "token-review" };
    if (rejected.get(key, now())) return { ok: false, reason: "invalid bearer token" };
    let pending = inFlight.get(key);
    if (!pending) {
      if (!takeRateToken()) {
        return {
          ok: false,
          reason: "too many token reviews; retry shortly",
          retryAfter: Math.max(1, Math.ceil(1 / rate)),
        };
      }
      pending = review(presented, signal).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
      pending.then((verdict) => {
        // A review that failed or was aborted is not remembered either way.
        if (verdict === "accepted" && acceptMs > 0) accepted.set(key, now() + acceptMs);
        if (verdict === "rejected" && rejectMs > 0) rejected.set(key, now() + rejectMs);
      });
    }
    const verdict = await pending;
    if (verdict === "accepted") return { ok: true, via: "token-review" };
    return verdict === "rejected"
      ? { ok: false, reason: "invalid bearer token" }
      : { ok: false, reason: "the token could not be checked (TokenReview failed or timed out)" };
  };
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
