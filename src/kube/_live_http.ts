/**
 * HTTP plumbing of the live source: one GET over `node:http(s)` with a deadline and an
 * `AbortSignal`, and the mapping of Kubernetes `Status` answers to {@linkcode KubeApiError}.
 *
 * @module
 */
import type { ClientRequest, IncomingHttpHeaders, RequestOptions } from "node:http";
import { KubeApiError } from "../errors.ts";

/** Rejection value of {@linkcode httpGet} when the deadline passes. */
export const NETWORK_TIMEOUT: unique symbol = Symbol("timeout");

/** What one HTTP exchange returned. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A Kubernetes `Status` (the error body). */
export interface KubeStatus {
  kind?: string;
  message?: string;
  reason?: string;
  details?: { name?: string };
}

export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new KubeApiError(`${what}: the API server answered with something that is not JSON`, {
      status: 0,
      reason: "BadResponse",
      cause: err,
    });
  }
}

export function apiError(what: string, res: RawResponse, context: string): KubeApiError {
  const status = tryJson(res.body) as KubeStatus | undefined;
  const reason = status?.reason || httpReason(res.status);
  let detail = status?.message || res.body.trim().slice(0, 200) || httpReason(res.status);
  if (res.status === 401) {
    detail = `${detail}: the credentials of context "${context}" were refused; ` +
      "renew them (log in again) or choose another context";
  }
  return new KubeApiError(`${what}: ${detail}`, { status: res.status, reason });
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
  };
  return reasons[status] ?? `HTTP${status}`;
}

/** Rejects with the signal's reason when it aborts first. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A GET (or, with `body`, a POST of JSON) over `node:http(s)` with an overall deadline. */
export function httpGet(
  request: typeof import("node:https").request,
  url: string,
  options: RequestOptions,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  body?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let done = false;
    let req: ClientRequest | undefined;
    const finish = (err: unknown, res?: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (err !== undefined) {
        req?.destroy();
        reject(err);
      } else resolve(res!);
    };
    const onAbort = () => finish(signal!.reason);
    const timer = setTimeout(() => finish(NETWORK_TIMEOUT), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const method = body === undefined ? "GET" : "POST";
      const headers = body === undefined ? options.headers : {
        ...options.headers,
        "content-type": "application/json",
        "content-length": String(new TextEncoder().encode(body).length),
      };
      req = request(url, { ...options, method, ...(headers ? { headers } : {}) }, (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("end", () => {
          const body = new TextDecoder().decode(concat(chunks));
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on("error", (e: unknown) => finish(e));
      });
      req.on("error", (e: unknown) => finish(e));
      req.end(body);
    } catch (err) {
      // Deno permission refusals (e.g. sys "ca" for the system trust store) throw here.
      finish(err);
    }
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
