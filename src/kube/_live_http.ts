/**
 * HTTP plumbing of the live source: one GET over `node:http(s)` with a deadline, an
 * `AbortSignal` and a size cap, `Retry-After` parsing, and the mapping of Kubernetes
 * `Status` answers to {@linkcode KubeApiError} (summarised and redacted: an upstream body is
 * never relayed verbatim).
 *
 * @module
 */
import type { ClientRequest, IncomingHttpHeaders, RequestOptions } from "node:http";
import { KubeApiError } from "../errors.ts";
import { summarize } from "../redact.ts";

/**
 * The largest answer read from the API server, in bytes (32 MiB): one list page of 500 objects
 * is a few MiB even with managedFields. Reading stops, and the socket is closed, past it.
 */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** Rejection value of {@linkcode httpGet} when the answer is larger than its cap. */
export class ResponseTooLarge extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`response larger than ${mib(limit)} MiB`);
    this.name = "ResponseTooLarge";
    this.limit = limit;
  }
}

/** `33554432` → `"32"`, `1048576 * 1.5` → `"1.5"`. */
export function mib(bytes: number): string {
  const m = bytes / (1024 * 1024);
  return Number.isInteger(m) ? String(m) : m.toFixed(1);
}

/** What a request carries besides its URL: the method, headers and basic auth (`user:pass`). */
export interface RequestSpec {
  method?: string;
  headers: Record<string, string>;
  auth?: string;
}

/**
 * How the live source sends requests: {@linkcode nodeTransport} (`node:http(s)` with an
 * agent) or `fetchTransport` (`_fetch_http.ts`, Deno's client), with one contract.
 */
export interface HttpTransport {
  /** One exchange; see {@linkcode httpGet}. */
  get(
    url: string,
    spec: RequestSpec,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    body?: string,
    maxBytes?: number,
  ): Promise<RawResponse>;
  /** A watch; see {@linkcode httpStream}. */
  stream(
    url: string,
    spec: RequestSpec,
    idleMs: number,
    signal: AbortSignal | undefined,
    onLine: (line: string) => void,
    onOpen?: (status: number) => void,
    maxLineBytes?: number,
  ): Promise<StreamEnd>;
  /** Closes its connections. */
  close(): void;
}

/** A transport over `node:http(s)` `request` and an agent (destroyed by `close()`). */
export function nodeTransport(
  request: typeof import("node:https").request,
  agent: import("node:http").Agent | undefined,
): HttpTransport {
  const options = (spec: RequestSpec): RequestOptions => ({
    agent,
    headers: spec.headers,
    ...(spec.auth ? { auth: spec.auth } : {}),
    ...(spec.method ? { method: spec.method } : {}),
  });
  return {
    get: (url, spec, timeoutMs, signal, body, maxBytes) =>
      httpGet(request, url, options(spec), timeoutMs, signal, body, maxBytes),
    stream: (url, spec, idleMs, signal, onLine, onOpen, maxLineBytes) =>
      httpStream(request, url, options(spec), idleMs, signal, onLine, onOpen, maxLineBytes),
    close: () => agent?.destroy?.(),
  };
}

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

/** `JSON.parse`, or `undefined` when the text is not JSON. */
export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A Kubernetes `Status` read from a body, keeping only well-typed fields. */
export function statusOf(body: string): KubeStatus | undefined {
  const v = tryJson(body);
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const details = o["details"] && typeof o["details"] === "object"
    ? o["details"] as Record<string, unknown>
    : undefined;
  return {
    ...(typeof o["kind"] === "string" ? { kind: o["kind"] } : {}),
    ...(typeof o["message"] === "string" ? { message: o["message"] } : {}),
    ...(typeof o["reason"] === "string" ? { reason: o["reason"] } : {}),
    ...(details
      ? { details: typeof details["name"] === "string" ? { name: details["name"] } : {} }
      : {}),
  };
}

/**
 * Parses a JSON body.
 *
 * @throws {KubeApiError} (the HTTP `status`, reason `BadResponse`) when it is not JSON.
 */
export function parseJson(text: string, what: string, status = 200): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new KubeApiError(
      `${what}: unexpected answer from the Kubernetes API server: not JSON (${
        text.length === 0
          ? "an empty body"
          : `${text.length} characters starting "${summarize(text, 40)}"`
      })`,
      { status, reason: "BadResponse" },
    );
  }
}

/**
 * The error for a non-success answer: the status, the `Status.reason` and a short,
 * sanitised message. The body itself is never relayed (it may echo credentials).
 */
export function apiError(what: string, res: RawResponse, context: string): KubeApiError {
  const status = statusOf(res.body);
  const reason = status?.reason || httpReason(res.status);
  const ct = header(res.headers, "content-type") ?? "";
  let detail = status?.message
    ? summarize(status.message)
    : /html/i.test(ct) || /^\s*<(!doctype|html)/i.test(res.body)
    ? `HTTP ${res.status} ${reason} (an HTML page)`
    : summarize(res.body, 160) || `HTTP ${res.status} ${reason}`;
  // The fact only (which context's credentials); the advice is added once, by the tools'
  // describeError (src/tools/_spec.ts) or the CLI.
  if (res.status === 401) detail = `${detail} (credentials of context "${context}")`;
  if (res.status === 429 || res.status === 503) {
    const after = retryAfterMs(res.headers);
    detail = `${detail} (HTTP ${res.status}${
      after !== undefined
        ? `; it asked to retry after ${Math.ceil(after / 1000)} s, more than the time left`
        : ""
    }): the API server is overloaded; try again later`;
  }
  return new KubeApiError(`${what}: ${detail}`, { status: res.status, reason });
}

/** One header's value (the first of a repeated one). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The wait a `Retry-After` header asks for, in ms (delta-seconds or an HTTP date), or
 * `undefined` when absent or unparsable.
 */
export function retryAfterMs(
  headers: IncomingHttpHeaders | Headers,
  now: number = Date.now(),
): number | undefined {
  const raw = headers instanceof Headers
    ? headers.get("retry-after") ?? undefined
    : header(headers, "retry-after");
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
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

/**
 * A GET (or, with `body`, a POST of JSON) over `node:http(s)` with an overall deadline
 * (rejects with {@linkcode NETWORK_TIMEOUT}), the signal (rejects with its reason) and a size
 * cap (rejects with {@linkcode ResponseTooLarge}). On any of them the socket is destroyed.
 */
export function httpGet(
  request: typeof import("node:https").request,
  url: string,
  options: RequestOptions,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  body?: string,
  maxBytes: number = MAX_RESPONSE_BYTES,
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
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => finish(NETWORK_TIMEOUT), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const method = options.method ?? (body === undefined ? "GET" : "POST");
      const headers = body === undefined ? options.headers : {
        "content-type": "application/json",
        ...options.headers,
        "content-length": String(new TextEncoder().encode(body).length),
      };
      req = request(url, { ...options, method, ...(headers ? { headers } : {}) }, (res) => {
        // Decoded chunk by chunk: no copy of the whole body as bytes (a list page is MiBs).
        const decoder = new TextDecoder();
        let parts: string[] = [];
        let size = 0;
        const declared = Number(res.headers["content-length"]);
        if (Number.isFinite(declared) && declared > maxBytes) {
          res.destroy();
          return finish(new ResponseTooLarge(maxBytes));
        }
        res.on("data", (c: Uint8Array) => {
          if (done) return;
          size += c.length;
          if (size > maxBytes) {
            parts = [];
            res.destroy();
            return finish(new ResponseTooLarge(maxBytes));
          }
          parts.push(decoder.decode(c, { stream: true }));
        });
        res.on("end", () => {
          parts.push(decoder.decode());
          const body = parts.length === 1 ? parts[0]! : parts.join("");
          parts = [];
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

/**
 * Hands each complete, non-blank line of `text` to `onLine` (until `stopped()`), and returns
 * what follows the last newline (the start of the next line).
 */
export function takeLines(
  text: string,
  onLine: (line: string) => void,
  stopped: () => boolean = () => false,
): string {
  let from = 0;
  for (let nl = text.indexOf("\n"); nl >= 0 && !stopped(); nl = text.indexOf("\n", from)) {
    const line = text.slice(from, nl);
    from = nl + 1;
    if (line.trim() !== "") onLine(line);
  }
  return from === 0 ? text : text.slice(from);
}

/** The longest line (one event) read from a watch stream (the same cap as one answer). */
export const MAX_WATCH_LINE_BYTES = MAX_RESPONSE_BYTES;

/** How {@linkcode httpStream} ended. */
export interface StreamEnd {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body of a non-200 answer (capped); empty for a 200 stream. */
  body: string;
}

/**
 * A long-lived GET (a watch) over `node:http(s)`: a 200 answer is read as newline-delimited
 * JSON, each line handed to `onLine` as it arrives; any other status is read whole (capped)
 * and returned. Resolves when the server ends the stream. Rejects with
 * {@linkcode NETWORK_TIMEOUT} when no byte arrives for `idleMs` (the server sends bookmarks
 * or events well within that), with the signal's reason when it aborts, with
 * {@linkcode ResponseTooLarge} for a line past `maxLineBytes`, and with whatever `onLine`
 * throws. `onOpen` is told the status as soon as the answer's headers arrive. The socket is destroyed on every rejection.
 */
export function httpStream(
  request: typeof import("node:https").request,
  url: string,
  options: RequestOptions,
  idleMs: number,
  signal: AbortSignal | undefined,
  onLine: (line: string) => void,
  onOpen?: (status: number) => void,
  maxLineBytes: number = MAX_WATCH_LINE_BYTES,
): Promise<StreamEnd> {
  return new Promise((resolve, reject) => {
    let done = false;
    let req: ClientRequest | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (err: unknown, end?: StreamEnd) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (err !== undefined) {
        req?.destroy();
        reject(err);
      } else resolve(end!);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(NETWORK_TIMEOUT), idleMs);
    };
    const onAbort = () => finish(signal!.reason);
    if (signal?.aborted) return reject(signal.reason);
    arm();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      req = request(url, { ...options, method: "GET" }, (res) => {
        const status = res.statusCode ?? 0;
        try {
          onOpen?.(status);
        } catch (err) {
          res.destroy();
          return finish(err);
        }
        const decoder = new TextDecoder();
        let pending = "";
        let size = 0;
        res.on("data", (c: Uint8Array) => {
          if (done) return;
          arm();
          if (status !== 200) {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              res.destroy();
              return finish(new ResponseTooLarge(MAX_RESPONSE_BYTES));
            }
            pending += decoder.decode(c, { stream: true });
            return;
          }
          pending += decoder.decode(c, { stream: true });
          try {
            pending = takeLines(pending, onLine, () => done);
            if (done) return;
          } catch (err) {
            res.destroy();
            return finish(err);
          }
          if (pending.length > maxLineBytes) {
            res.destroy();
            return finish(new ResponseTooLarge(maxLineBytes));
          }
        });
        res.on("end", () => {
          if (done) return;
          pending += decoder.decode();
          if (status === 200) {
            try {
              if (pending.trim() !== "") onLine(pending);
            } catch (err) {
              return finish(err);
            }
            return finish(undefined, { status, headers: res.headers, body: "" });
          }
          finish(undefined, { status, headers: res.headers, body: pending });
        });
        res.on("error", (e: unknown) => finish(e));
      });
      req.on("error", (e: unknown) => finish(e));
      req.end();
    } catch (err) {
      finish(err);
    }
  });
}
