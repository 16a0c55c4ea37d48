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

/**
 * True for a syntactically valid `Host` header value (RFC 9110 `uri-host [":" port]`):
 * a registered name or IPv4 address, or a bracketed IPv6 literal, and an optional port.
 */
export function wellFormedHost(value: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(?::(\d{0,5}))?$/.exec(value);
  if (!m) return false;
  return m[2] === undefined || m[2] === "" || Number(m[2]) <= 65535;
}

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

/** The request body did not arrive in time (a slow or stalled client). */
export class BodyTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BodyTimeoutError";
  }
}

/** The request body could not be read (the client went away mid-body). */
export class BodyReadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BodyReadError";
  }
}

/** Time limits for {@linkcode readBodyLimited}. */
export interface BodyTimeouts {
  /** The whole body must arrive within this time (ms). */
  timeoutMs?: number;
  /** At most this long between two chunks of the body (ms). */
  idleTimeoutMs?: number;
}

/**
 * Reads a request body, refusing bodies over `limit` bytes early: by the declared
 * `Content-Length`, or while streaming when the length is not declared. A body that
 * does not arrive within `timeoutMs`, or stalls longer than `idleTimeoutMs`, is refused.
 *
 * @throws {BodyTooLargeError} when the body is over the limit.
 * @throws {BodyTimeoutError} when the body is too slow.
 * @throws {BodyReadError} when the connection failed while the body was read.
 */
export async function readBodyLimited(
  req: Request,
  limit: number,
  timeouts: BodyTimeouts = {},
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
  const deadline = timeouts.timeoutMs !== undefined
    ? performance.now() + timeouts.timeoutMs
    : Infinity;
  while (true) {
    const wait = Math.min(deadline - performance.now(), timeouts.idleTimeoutMs ?? Infinity);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = reader.read().catch((err: unknown) => {
      throw new BodyReadError(`The request body could not be read: ${(err as Error)?.name}`, {
        cause: err,
      });
    });
    const step = wait === Infinity ? await read : await Promise.race([
      read,
      new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), Math.max(0, wait));
      }),
    ]);
    clearTimeout(timer);
    if (step === "timeout") {
      read.catch(() => {});
      await reader.cancel().catch(() => {});
      throw new BodyTimeoutError(
        performance.now() >= deadline
          ? `The request body did not arrive within ${timeouts.timeoutMs} ms`
          : `The request body stalled for more than ${timeouts.idleTimeoutMs} ms`,
      );
    }
    const { done, value } = step;
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
