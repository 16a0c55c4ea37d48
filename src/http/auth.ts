/**
 * Bearer-token authentication for the HTTP transport: where the token comes from,
 * constant-time comparison, and the optional Kubernetes TokenReview fallback.
 *
 * The caller's token only ever proves who may talk to this server; it is never
 * forwarded to the Kubernetes API server or to Prometheus.
 *
 * @module
 */

/** Checks a bearer token with the Kubernetes TokenReview API; true when it is accepted. */
export type TokenReviewer = (token: string) => Promise<boolean>;

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
  | { ok: false; reason: string };

/** What {@linkcode createAuthenticator} checks against. */
export interface AuthenticatorOptions {
  /** The static bearer token; when unset and no reviewer is given, every request passes. */
  token?: string;
  /** Fallback for tokens that are not the static token. */
  tokenReview?: TokenReviewer;
  /** How long an accepted TokenReview result is remembered (default 60 s; 0 disables). */
  reviewCacheMs?: number;
  /** Clock for the cache (tests). */
  now?: () => number;
}

/** Creates the request authenticator used by the HTTP server. */
export function createAuthenticator(
  opts: AuthenticatorOptions,
): (authorization: string | null) => Promise<AuthResult> {
  const cacheMs = opts.reviewCacheMs ?? 60_000;
  const now = opts.now ?? Date.now;
  // Only accepted tokens are cached, keyed by their SHA-256 so that raw tokens are not kept.
  const accepted = new Map<string, number>();
  const required = opts.token !== undefined || opts.tokenReview !== undefined;
  return async (authorization) => {
    if (!required) return { ok: true, via: "none" };
    const presented = bearerToken(authorization);
    if (presented === undefined) {
      return { ok: false, reason: "missing bearer token" };
    }
    if (opts.token !== undefined && timingSafeEqual(presented, opts.token)) {
      return { ok: true, via: "static-token" };
    }
    if (opts.tokenReview) {
      const key = await sha256(presented);
      const until = accepted.get(key);
      if (until !== undefined && until > now()) return { ok: true, via: "token-review" };
      let ok = false;
      try {
        ok = await opts.tokenReview(presented);
      } catch {
        ok = false;
      }
      if (ok) {
        if (cacheMs > 0) {
          if (accepted.size > 1000) accepted.clear();
          accepted.set(key, now() + cacheMs);
        }
        return { ok: true, via: "token-review" };
      }
    }
    return { ok: false, reason: "invalid bearer token" };
  };
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
