/**
 * The live source's HTTP over Deno's own client (`fetch` with a `Deno.HttpClient`: the
 * cluster's CA and client certificate, HTTP/1.1 with a connection pool), with the same
 * contract as the `node:http(s)` functions of `_live_http.ts`: an overall deadline (rejects
 * with {@linkcode NETWORK_TIMEOUT}), the caller's signal (rejects with its reason), size caps
 * ({@linkcode ResponseTooLarge}), and errors that carry a Node-style `code`. It is faster
 * and holds ~20 MB less than `node:https` for a 10,000-pod list. What Deno's client cannot
 * do (`insecure-skip-tls-verify`, `tls-server-name`, plain HTTP) stays on `node:http(s)`.
 *
 * @module
 */
import type { IncomingHttpHeaders } from "node:http";
import {
  type HttpTransport,
  MAX_RESPONSE_BYTES,
  MAX_WATCH_LINE_BYTES,
  NETWORK_TIMEOUT,
  type RawResponse,
  type RequestSpec,
  ResponseTooLarge,
  type StreamEnd,
  takeLines,
} from "./_live_http.ts";

/** TLS material of a {@linkcode fetchTransport}. */
export interface FetchTls {
  /** PEM; trusted in addition to the system's roots (as `node:https` does in Deno). */
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** A transport over one `Deno.HttpClient` (closed by `close()`). */
export function fetchTransport(tls: FetchTls): HttpTransport {
  const client = Deno.createHttpClient({
    ...(tls.ca ? { caCerts: [tls.ca] } : {}),
    ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    // HTTP/2's default flow-control window makes multi-MiB list pages slower than HTTP/1.1.
    http2: false,
  });
  return {
    get: (url, spec, timeoutMs, signal, body, maxBytes) =>
      fetchGet(client, url, spec, timeoutMs, signal, body, maxBytes),
    stream: (url, spec, idleMs, signal, onLine, onOpen, maxLineBytes) =>
      fetchStream(client, url, spec, idleMs, signal, onLine, onOpen, maxLineBytes),
    close: () => client.close(),
  };
}

/** The request: userinfo and `auth` become a Basic header (fetch refuses URLs with them). */
function requestOf(
  url: string,
  spec: RequestSpec,
): { url: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { ...spec.headers };
  let auth = spec.auth;
  let target = url;
  if (url.includes("@")) {
    const u = new URL(url);
    if (u.username || u.password) {
      auth ??= `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
      u.username = "";
      u.password = "";
      target = u.toString();
    }
  }
  const hasAuthorization = Object.keys(headers).some((k) => k.toLowerCase() === "authorization");
  if (auth !== undefined && !hasAuthorization) {
    headers["authorization"] = `Basic ${
      btoa(String.fromCharCode(...new TextEncoder().encode(auth)))
    }`;
  }
  return { url: target, headers };
}

/** The answer's headers as `node:http` gives them (lower-case names). */
function headersOf(h: Headers): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  h.forEach((v, k) => out[k] = v);
  return out;
}

/**
 * A network failure as a Node-style error: `code` (`ECONNREFUSED`, `ENOTFOUND`,
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, ...) and a short message without the URL.
 */
export function networkError(err: unknown): Error & { code: string } {
  const e = err as { message?: string; cause?: { message?: string } };
  const text = String(e?.cause?.message ?? e?.message ?? err);
  // "error sending request for url (https://...): client error (Connect): <why>"
  const why = text.replace(/^error sending request for url \([^)]*\):\s*/, "")
    .replace(/^client error \(\w+\):\s*/, "");
  const code = /UnknownIssuer|unknown ?ca|self.signed/i.test(why)
    ? "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
    : /NotValidForName|not valid for name/i.test(why)
    ? "ERR_TLS_CERT_ALTNAME_INVALID"
    : /Expired|NotValidYet/i.test(why)
    ? "CERT_HAS_EXPIRED"
    : /certificate|tls|handshake/i.test(why)
    ? "CERT_INVALID"
    : /connection refused/i.test(why)
    ? "ECONNREFUSED"
    : /dns error|failed to lookup|name or service not known|nodename nor servname/i.test(why)
    ? "ENOTFOUND"
    : /connection reset|broken pipe/i.test(why)
    ? "ECONNRESET"
    : /timed out/i.test(why)
    ? "ETIMEDOUT"
    : /blocked/i.test(why)
    ? "EBLOCKED"
    : "NetworkError";
  return Object.assign(new Error(why.slice(0, 200)), { code });
}

/**
 * One exchange's stop: the caller's signal, a timer (re-armed by `arm`, for an idle limit)
 * and size caps all abort the same controller; `why` is what stopped it first.
 */
class Stopper {
  readonly ctl = new AbortController();
  why: unknown;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.stop(this.#signal!.reason);

  constructor(signal: AbortSignal | undefined, readonly ms: number) {
    signal?.throwIfAborted();
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.arm();
  }

  stop(reason: unknown): void {
    this.why ??= reason;
    this.ctl.abort(reason);
  }

  /** (Re)starts the timer: {@linkcode NETWORK_TIMEOUT} when it fires. */
  arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.stop(NETWORK_TIMEOUT), this.ms);
  }

  done(): void {
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }
}

/** `fetch`, its failures as {@linkcode networkError} (or what stopped it). */
async function send(
  client: Deno.HttpClient,
  url: string,
  init: { method?: string; headers: Record<string, string>; body?: string },
  stopper: Stopper,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, client, redirect: "manual", signal: stopper.ctl.signal });
  } catch (err) {
    if (stopper.why !== undefined) throw stopper.why;
    if (err instanceof Deno.errors.NotCapable) throw err;
    throw networkError(err);
  }
}

/** One exchange with a deadline and a size cap (see the module documentation). */
async function fetchGet(
  client: Deno.HttpClient,
  url: string,
  spec: RequestSpec,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  body?: string,
  maxBytes: number = MAX_RESPONSE_BYTES,
): Promise<RawResponse> {
  const stopper = new Stopper(signal, timeoutMs);
  try {
    const req = requestOf(url, spec);
    const method = spec.method ?? (body === undefined ? "GET" : "POST");
    const headers = body === undefined
      ? req.headers
      : { "content-type": "application/json", ...req.headers };
    const res = await send(client, req.url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    }, stopper);
    const declared = Number(res.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > maxBytes) {
      stopper.stop(new ResponseTooLarge(maxBytes));
      throw stopper.why;
    }
    const text = await readText(res, maxBytes, stopper);
    return { status: res.status, headers: headersOf(res.headers), body: text };
  } finally {
    stopper.done();
  }
}

/** The body as text, at most `maxBytes` (then `stop` with {@linkcode ResponseTooLarge}). */
async function readText(res: Response, maxBytes: number, stopper: Stopper): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        stopper.stop(new ResponseTooLarge(maxBytes));
        throw stopper.why;
      }
      parts.push(decoder.decode(value, { stream: true }));
    }
  } catch (err) {
    reader.cancel().catch(() => {});
    throw stopper.why ?? networkError(err);
  }
  parts.push(decoder.decode());
  return parts.length === 1 ? parts[0]! : parts.join("");
}

/** A watch: newline-delimited JSON lines to `onLine` (see `httpStream` in `_live_http.ts`). */
async function fetchStream(
  client: Deno.HttpClient,
  url: string,
  spec: RequestSpec,
  idleMs: number,
  signal: AbortSignal | undefined,
  onLine: (line: string) => void,
  onOpen?: (status: number) => void,
  maxLineBytes: number = MAX_WATCH_LINE_BYTES,
): Promise<StreamEnd> {
  const stopper = new Stopper(signal, idleMs);
  try {
    const req = requestOf(url, spec);
    const res = await send(client, req.url, { headers: req.headers }, stopper);
    const status = res.status;
    try {
      onOpen?.(status);
    } catch (err) {
      stopper.stop(err);
      throw err;
    }
    if (status !== 200) {
      const body = await readText(res, MAX_RESPONSE_BYTES, stopper);
      return { status, headers: headersOf(res.headers), body };
    }
    if (!res.body) return { status, headers: headersOf(res.headers), body: "" };
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    const fail = (err: unknown): never => {
      stopper.stop(err);
      reader.cancel().catch(() => {});
      throw err;
    };
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw stopper.why ?? networkError(err);
      }
      if (chunk.done) break;
      stopper.arm();
      pending += decoder.decode(chunk.value, { stream: true });
      try {
        pending = takeLines(pending, onLine);
      } catch (err) {
        fail(err); // onLine threw: the stream ends with its error
      }
      if (pending.length > maxLineBytes) fail(new ResponseTooLarge(maxLineBytes));
    }
    pending += decoder.decode();
    if (pending.trim() !== "") onLine(pending);
    return { status, headers: headersOf(res.headers), body: "" };
  } finally {
    stopper.done();
  }
}

/**
 * Pays Deno's one-time TLS set-up (its root store and crypto provider, ~50 ms of CPU on the
 * first handshake of a process) on another thread, started with the process: a handshake
 * with a loopback listener that closes at once. The set-up is the whole process's, so the
 * first call finds it done without the main thread (answering `initialize`, loading the SDK)
 * having paid for it. Nothing leaves the machine and no credential is used; any failure is
 * ignored (the first request then pays as before). The worker is self-contained (no
 * imports: it works from a bundle and a compiled binary too) and is ended when done.
 */
export function warmUpTlsInBackground(): void {
  const code = `try {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const a = l.accept().then((c) => c.close(), () => {});
  await Deno.connectTls({ hostname: "127.0.0.1", port: l.addr.port })
    .then((c) => c.handshake().finally(() => c.close())).catch(() => {});
  await a;
  l.close();
} catch {}
self.postMessage("done");`;
  try {
    const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    const worker = new Worker(url, { type: "module" });
    const end = () => {
      clearTimeout(timer);
      worker.terminate();
      URL.revokeObjectURL(url);
    };
    worker.onmessage = end;
    worker.onerror = (e) => {
      e.preventDefault();
      end();
    };
    // A slow machine gets 10 s; the timer never keeps the process alive.
    const timer = setTimeout(end, 10_000);
    Deno.unrefTimer(timer);
  } catch {
    // no workers here: the first request pays the set-up
  }
}
