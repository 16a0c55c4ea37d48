/**
 * Request guards for the HTTP transport: DNS-rebinding protection (`Host` and
 * `Origin` allow-lists), the request body size limit and the concurrency limit.
 *
 * @module
 */

/** True for addresses that only this machine can reach. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Host names a loopback listener accepts by default (with any port). */
export const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** Splits a `Host` header value into a lower-cased host name and an optional port. */
export function splitHost(value: string): { name: string; port?: string } {
  const v = value.trim().toLowerCase();
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(v);
  if (!m) return { name: v };
  return m[2] !== undefined ? { name: m[1]!, port: m[2] } : { name: m[1]! };
}

/**
 * Checks a `Host` header against an allow-list. An entry without a port matches any
 * port; `name:port` matches exactly; `*` matches everything.
 */
export function hostAllowed(host: string | null, allowed: readonly string[]): boolean {
  if (allowed.includes("*")) return true;
  if (!host) return false;
  const { name, port } = splitHost(host);
  for (const entry of allowed) {
    const e = splitHost(entry);
    if (e.name !== name) continue;
    if (e.port === undefined || e.port === port) return true;
  }
  return false;
}

/**
 * Checks an `Origin` header against an allow-list. Requests without `Origin` (every
 * non-browser MCP client) pass; browsers always send it on cross-origin requests.
 * Entries are origins (`https://app.example.com`); `http://localhost` (no port) allows
 * that scheme and host on any port; `*` allows every origin.
 */
export function originAllowed(origin: string | null, allowed: readonly string[]): boolean {
  if (origin === null) return true;
  if (allowed.includes("*")) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // includes the opaque "null" origin
  }
  for (const entry of allowed) {
    let e: URL;
    try {
      e = new URL(entry);
    } catch {
      continue;
    }
    if (e.protocol !== url.protocol || e.hostname !== url.hostname) continue;
    if (e.port === "" && !/:\d+\/?$/.test(entry)) return true; // no port given: any port
    if (e.port === url.port) return true;
  }
  return false;
}

/** Origins a loopback listener accepts by default (any port). */
export const LOOPBACK_ORIGINS: readonly string[] = [
  "http://localhost",
  "http://127.0.0.1",
  "http://[::1]",
  "https://localhost",
  "https://127.0.0.1",
  "https://[::1]",
];

/** The request body is larger than allowed. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Request body exceeds ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/**
 * Reads a request body, refusing bodies over `limit` bytes early: by the declared
 * `Content-Length`, or while streaming when the length is not declared.
 *
 * @throws {BodyTooLargeError} when the body is over the limit.
 */
export async function readBodyLimited(
  req: Request,
  limit: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await req.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(limit);
  }
  if (!req.body) return new Uint8Array(new ArrayBuffer(0));
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(new ArrayBuffer(size));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** Counts in-flight requests and refuses new ones above a limit. */
export class ConcurrencyLimiter {
  #active = 0;
  #idle: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Requests being served now. */
  get active(): number {
    return this.#active;
  }

  /** Takes a slot; false when all are in use. */
  tryAcquire(): boolean {
    if (this.#active >= this.limit) return false;
    this.#active++;
    return true;
  }

  /** Gives a slot back. */
  release(): void {
    this.#active = Math.max(0, this.#active - 1);
    if (this.#active === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
