/**
 * Prometheus access: the {@linkcode PromClient} seam the tools depend on, and its
 * implementations.
 *
 * - {@linkcode HttpPromClient}: the Prometheus HTTP API at a URL (fetch injected),
 *   bearer or basic auth, a per-request timeout, POST form-encoded queries.
 * - {@linkcode ProxyPromClient}: the same API reached through the Kubernetes API
 *   server's service proxy (`/api/v1/namespaces/linkerd-viz/services/prometheus:9090/proxy/…`),
 *   given a {@linkcode ServiceProxy} that the live Kubernetes client provides.
 * - {@linkcode FallbackPromClient}: tries the URL, then the proxy when the URL cannot be
 *   reached, and says in {@linkcode PromClient.describe} which one answered.
 * - {@linkcode RecordingPromClient}: wraps any client and records the queries it sent.
 *
 * Every failure is a {@linkcode PromQueryError} (a `PrometheusUnavailableError`) whose
 * message says what happened. Prometheus `warnings` (partial data) are passed to the
 * caller's `onWarning`.
 *
 * Bounds: answers larger than {@linkcode MAX_PROM_RESPONSE_BYTES} are cut off with a clear
 * error; 429/503 with `Retry-After` are retried only within the query's timeout; answers are
 * validated (zod) and a wrong shape is "unexpected answer from Prometheus at URL: ...". The URL
 * shown never carries userinfo (a `user:password@` in `LINKERD_PROMETHEUS_URL` becomes basic
 * auth), and error bodies are summarised and redacted.
 *
 * @module
 */
import { z } from "zod";
import { PrometheusUnavailableError } from "../errors.ts";
import type { PrometheusConfig } from "../config.ts";
import { redactUrl, registerBasicAuth, registerSecret, summarize } from "../redact.ts";

/** The largest Prometheus answer read, in bytes (16 MiB); reading stops past it. */
export const MAX_PROM_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Most retries of one query answered 429/503 with `Retry-After`. */
export const MAX_PROM_RETRIES = 3;

/** One sample of an instant vector. */
export interface PromSample {
  metric: Record<string, string>;
  /** The sample value; `NaN` and infinities are passed through as numbers. */
  value: number;
}

/** One series of a range query. */
export interface PromSeries {
  metric: Record<string, string>;
  values: Array<[number, number]>;
}

/** Options for a query. */
export interface PromQueryOptions {
  /** Evaluation time; now when absent. */
  time?: Date;
  signal?: AbortSignal;
  /** Receives Prometheus `warnings` (e.g. partial data from a remote-read or federated source). */
  onWarning?(warning: string): void;
}

/** Options for a range query. */
export interface PromRangeOptions {
  signal?: AbortSignal;
  onWarning?(warning: string): void;
}

/** Read access to a Prometheus HTTP API. */
export interface PromClient {
  /** Which Prometheus answers, for people (`http://127.0.0.1:9090`, or `via API server proxy ...`). */
  describe(): string;
  query(promql: string, opts?: PromQueryOptions): Promise<PromSample[]>;
  queryRange(
    promql: string,
    range: { start: Date; end: Date; stepSeconds: number },
    opts?: PromRangeOptions,
  ): Promise<PromSeries[]>;
}

/** Why a query failed. `unreachable` and `timeout` make {@linkcode FallbackPromClient} try its fallback. */
export type PromFailure = "unreachable" | "timeout" | "http" | "query" | "cancelled";

/** A Prometheus query that failed, with the reason. */
export class PromQueryError extends PrometheusUnavailableError {
  readonly reason: PromFailure;

  constructor(message: string, opts: { url: string; reason: PromFailure; cause?: unknown }) {
    super(message, { url: opts.url, cause: opts.cause });
    this.name = "PromQueryError";
    this.reason = opts.reason;
  }
}

function parseValue(v: string): number {
  if (v === "+Inf" || v === "Inf") return Number.POSITIVE_INFINITY;
  if (v === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(v);
}

/** `[unix seconds, "value"]`. */
const SAMPLE_PAIR = z.tuple([z.number(), z.string()]);
const METRIC = z.record(z.string(), z.string());
/** A native-histogram sample has `histogram` instead of `value`: its value is NaN here. */
const VECTOR = z.array(
  z.looseObject({
    metric: METRIC,
    value: SAMPLE_PAIR.optional(),
    histogram: z.unknown().optional(),
  }),
);
const MATRIX = z.array(
  z.looseObject({
    metric: METRIC,
    values: z.array(SAMPLE_PAIR).optional(),
    histograms: z.unknown().optional(),
  }),
);
const API_BODY = z.discriminatedUnion("status", [
  z.looseObject({
    status: z.literal("success"),
    data: z.looseObject({ resultType: z.string(), result: z.unknown() }),
    warnings: z.array(z.string()).optional(),
    infos: z.array(z.string()).optional(),
  }),
  z.looseObject({
    status: z.literal("error"),
    errorType: z.string().optional(),
    error: z.string().optional(),
    warnings: z.array(z.string()).optional(),
  }),
]);

/** "data.result[0]: expected object, received null". */
function issueText(error: z.ZodError, prefix: string): string {
  const issue = error.issues[0]!;
  const path = [...prefix.split(".").filter(Boolean), ...issue.path];
  const at = path.length
    ? path.map((p, i) => typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)
      .join("")
    : "the answer";
  return `${at}: ${issue.message.replace(/^Invalid input: /, "")}`;
}

function unexpected(where: string, detail: string): PromQueryError {
  return new PromQueryError(`unexpected answer from Prometheus at ${where}: ${detail}`, {
    url: where,
    reason: "http",
  });
}

/** Turns a Prometheus API body into its data, or throws {@linkcode PromQueryError}. */
function decode(
  body: unknown,
  where: string,
  onWarning: ((w: string) => void) | undefined,
): { resultType: string; result: unknown } {
  if (body === undefined) throw unexpected(where, "not JSON");
  const parsed = API_BODY.safeParse(body);
  if (!parsed.success) throw unexpected(where, issueText(parsed.error, ""));
  const b = parsed.data;
  if (b.status === "error") {
    throw new PromQueryError(
      `Prometheus at ${where} rejected the query (${summarize(b.errorType ?? "error", 40)}): ${
        summarize(b.error ?? "no detail", 300)
      }`,
      { url: where, reason: "query" },
    );
  }
  for (const w of b.warnings ?? []) onWarning?.(summarize(w, 300));
  return { resultType: b.data.resultType, result: b.data.result };
}

function toSamples(d: { resultType: string; result: unknown }, where: string): PromSample[] {
  if (d.resultType === "scalar") {
    const r = SAMPLE_PAIR.safeParse(d.result);
    if (!r.success) throw unexpected(where, issueText(r.error, "data.result"));
    return [{ metric: {}, value: parseValue(r.data[1]) }];
  }
  if (d.resultType !== "vector") {
    throw unexpected(
      where,
      `data.resultType: expected "vector" or "scalar", got "${summarize(d.resultType, 20)}"`,
    );
  }
  const r = VECTOR.safeParse(d.result);
  if (!r.success) throw unexpected(where, issueText(r.error, "data.result"));
  return r.data.map((x) => ({
    metric: x.metric,
    value: x.value ? parseValue(x.value[1]) : Number.NaN,
  }));
}

function toSeries(d: { resultType: string; result: unknown }, where: string): PromSeries[] {
  if (d.resultType !== "matrix") {
    throw unexpected(
      where,
      `data.resultType: expected "matrix", got "${summarize(d.resultType, 20)}"`,
    );
  }
  const r = MATRIX.safeParse(d.result);
  if (!r.success) throw unexpected(where, issueText(r.error, "data.result"));
  return r.data.map((x) => ({
    metric: x.metric,
    values: (x.values ?? []).map((p) => [p[0], parseValue(p[1])] as [number, number]),
  }));
}

function seconds(d: Date): string {
  return (d.getTime() / 1000).toFixed(3);
}

/** Options for {@linkcode HttpPromClient}. */
export interface HttpPromClientOptions extends Omit<PrometheusConfig, "isDefault"> {
  /** Injected for tests; the global `fetch` when absent. */
  fetch?: typeof fetch;
}

/**
 * The Prometheus HTTP API at a URL. A `user:password@` in the URL is sent as basic auth
 * (unless a token or basic auth is configured) and never shown: {@linkcode url} and
 * {@linkcode describe} have no userinfo.
 */
export class HttpPromClient implements PromClient {
  /** The URL as shown: without userinfo. */
  readonly url: string;
  readonly timeoutMs: number;
  /** The URL requests go to (no userinfo either: fetch refuses URLs with credentials). */
  #base: string;
  #headers: Record<string, string>;
  #fetch: typeof fetch;
  #maxBytes: number;

  constructor(opts: HttpPromClientOptions & { maxResponseBytes?: number }) {
    const raw = opts.url.replace(/\/+$/, "");
    let userinfo: { username: string; password: string } | undefined;
    try {
      const u = new URL(raw);
      if (u.username || u.password) {
        userinfo = {
          username: decodeURIComponent(u.username),
          password: decodeURIComponent(u.password),
        };
      }
    } catch {
      // not a URL: fetch will say so (redacted)
    }
    this.#base = redactUrl(raw);
    this.url = this.#base;
    this.timeoutMs = opts.timeoutMs;
    this.#fetch = opts.fetch ?? fetch;
    this.#maxBytes = opts.maxResponseBytes ?? MAX_PROM_RESPONSE_BYTES;
    this.#headers = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    };
    const basic = opts.basicAuth ?? userinfo;
    if (opts.bearerToken) {
      registerSecret(opts.bearerToken);
      this.#headers.authorization = `Bearer ${opts.bearerToken}`;
    } else if (basic) {
      registerBasicAuth(basic.username, basic.password);
      const raw = new TextEncoder().encode(`${basic.username}:${basic.password}`);
      this.#headers.authorization = `Basic ${btoa(String.fromCharCode(...raw))}`;
    }
    if (userinfo) registerBasicAuth(userinfo.username, userinfo.password);
  }

  describe(): string {
    return this.url;
  }

  async query(promql: string, opts: PromQueryOptions = {}): Promise<PromSample[]> {
    const body = await this.#post("/api/v1/query", instantParams(promql, opts), opts.signal);
    return toSamples(decode(body, this.url, opts.onWarning), this.url);
  }

  async queryRange(
    promql: string,
    range: PromRange,
    opts: PromRangeOptions = {},
  ): Promise<PromSeries[]> {
    const body = await this.#post("/api/v1/query_range", rangeParams(promql, range), opts.signal);
    return toSeries(decode(body, this.url, opts.onWarning), this.url);
  }

  async #post(
    path: string,
    params: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    // One budget for the query, retries included.
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const budgetEnd = Date.now() + this.timeoutMs;
    for (let attempt = 0;; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(this.#base + path, {
          method: "POST",
          headers: this.#headers,
          body: new URLSearchParams(params).toString(),
          signal: combined,
        });
      } catch (err) {
        throw this.#networkError(err, timeout, signal);
      }
      if ((res.status === 429 || res.status === 503) && attempt < MAX_PROM_RETRIES) {
        const wait = retryAfter(res.headers);
        if (wait !== undefined && Date.now() + wait < budgetEnd) {
          await res.body?.cancel().catch(() => {});
          try {
            await sleep(wait, combined);
          } catch (err) {
            throw this.#networkError(err, timeout, signal);
          }
          continue;
        }
      }
      let text: string;
      try {
        text = await readCapped(res, this.#maxBytes);
      } catch (err) {
        if (err instanceof TooLarge) {
          throw new PromQueryError(
            `response from Prometheus at ${this.url} larger than ${
              formatMib(this.#maxBytes)
            } MiB; reading stopped there: narrow the query (a namespace, a shorter window)`,
            { url: this.url, reason: "http" },
          );
        }
        throw this.#networkError(err, timeout, signal);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      // Prometheus answers 400/422/503 with a JSON error body: let decode() word it.
      if (!res.ok && (body as { status?: unknown } | undefined)?.status !== "error") {
        const after = retryAfter(res.headers);
        const hint = res.status === 401 || res.status === 403
          ? ": check LINKERD_PROMETHEUS_TOKEN or LINKERD_PROMETHEUS_USERNAME/PASSWORD"
          : (res.status === 429 || res.status === 503) && after !== undefined
          ? `: it asked to retry after ${Math.ceil(after / 1000)} s, more than the time left`
          : /html/i.test(res.headers.get("content-type") ?? "")
          ? ": an HTML page"
          : `: ${summarize(text, 160) || "empty body"}`;
        throw new PromQueryError(
          `Prometheus at ${this.url} answered HTTP ${res.status} ${
            summarize(res.statusText, 40)
          }${hint}`,
          { url: this.url, reason: "http" },
        );
      }
      if (body === undefined) {
        throw unexpected(
          this.url,
          `not JSON (${
            text.length === 0
              ? "an empty body"
              : `${text.length} characters starting "${summarize(text, 40)}"`
          })`,
        );
      }
      return body;
    }
  }

  #networkError(err: unknown, timeout: AbortSignal, signal?: AbortSignal): PromQueryError {
    if (timeout.aborted) {
      return new PromQueryError(
        `Prometheus at ${this.url} did not answer within ${this.timeoutMs} ms`,
        { url: this.url, reason: "timeout", cause: err },
      );
    }
    if (signal?.aborted) {
      return new PromQueryError(`The query to Prometheus at ${this.url} was cancelled`, {
        url: this.url,
        reason: "cancelled",
        cause: err,
      });
    }
    const msg = err instanceof Error ? err.message : String(err);
    return new PromQueryError(`Cannot reach Prometheus at ${this.url}: ${msg}`, {
      url: this.url,
      reason: "unreachable",
      cause: err,
    });
  }
}

/**
 * A GET through the Kubernetes API server (the live Kubernetes client implements it).
 * `path` is an API server path such as
 * `/api/v1/namespaces/linkerd-viz/services/prometheus:9090/proxy/api/v1/query`.
 */
export interface ServiceProxy {
  /** For people: `API server https://10.0.0.1:6443`. */
  describe(): string;
  /** Returns the parsed JSON body; throws on network errors and error statuses. */
  get(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<unknown>;
}

/** Options for {@linkcode ProxyPromClient}. */
export interface ProxyPromClientOptions {
  proxy: ServiceProxy;
  /** Namespace of the viz Prometheus Service (`linkerd-viz`). */
  namespace?: string;
  service?: string;
  port?: number;
  timeoutMs: number;
}

/** Prometheus reached through the Kubernetes API server's service proxy. */
export class ProxyPromClient implements PromClient {
  readonly base: string;
  readonly timeoutMs: number;
  #proxy: ServiceProxy;

  constructor(opts: ProxyPromClientOptions) {
    this.#proxy = opts.proxy;
    this.timeoutMs = opts.timeoutMs;
    this.base = `/api/v1/namespaces/${opts.namespace ?? "linkerd-viz"}/services/${
      opts.service ?? "prometheus"
    }:${opts.port ?? 9090}/proxy`;
  }

  describe(): string {
    return `${this.base} via the Kubernetes ${this.#proxy.describe()}`;
  }

  async query(promql: string, opts: PromQueryOptions = {}): Promise<PromSample[]> {
    const body = await this.#get("/api/v1/query", instantParams(promql, opts), opts.signal);
    return toSamples(decode(body, this.describe(), opts.onWarning), this.describe());
  }

  async queryRange(
    promql: string,
    range: PromRange,
    opts: PromRangeOptions = {},
  ): Promise<PromSeries[]> {
    const body = await this.#get("/api/v1/query_range", rangeParams(promql, range), opts.signal);
    return toSeries(decode(body, this.describe(), opts.onWarning), this.describe());
  }

  async #get(path: string, params: Record<string, string>, signal?: AbortSignal) {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await this.#proxy.get(this.base + path, params, combined);
    } catch (err) {
      const where = this.describe();
      if (signal?.aborted && !timeout.aborted) {
        throw new PromQueryError(`The query to Prometheus at ${where} was cancelled`, {
          url: where,
          reason: "cancelled",
          cause: err,
        });
      }
      if (timeout.aborted) {
        throw new PromQueryError(
          `Prometheus at ${where} did not answer within ${this.timeoutMs} ms`,
          {
            url: where,
            reason: "timeout",
            cause: err,
          },
        );
      }
      const msg = err instanceof Error ? err.message : String(err);
      throw new PromQueryError(`Cannot reach Prometheus at ${where}: ${msg}`, {
        url: where,
        reason: "unreachable",
        cause: err,
      });
    }
  }
}

/**
 * Tries `primary` (the configured URL); when it cannot be reached or times out, tries
 * `fallback` (the API server proxy) and keeps using it for `retryPrimaryAfterMs`.
 * {@linkcode describe} names the Prometheus that answered last.
 */
export class FallbackPromClient implements PromClient {
  #primary: PromClient;
  #fallback: PromClient;
  #useFallbackUntil = 0;
  #answered: string | undefined;
  #retryMs: number;
  #now: () => number;

  constructor(
    primary: PromClient,
    fallback: PromClient,
    opts: { retryPrimaryAfterMs?: number; now?: () => number } = {},
  ) {
    this.#primary = primary;
    this.#fallback = fallback;
    this.#retryMs = opts.retryPrimaryAfterMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  describe(): string {
    return this.#answered ??
      `${this.#primary.describe()} (falling back to ${this.#fallback.describe()} when unreachable)`;
  }

  query(promql: string, opts?: PromQueryOptions): Promise<PromSample[]> {
    return this.#run((c) => c.query(promql, opts));
  }

  queryRange(
    promql: string,
    range: { start: Date; end: Date; stepSeconds: number },
    opts?: PromRangeOptions,
  ): Promise<PromSeries[]> {
    return this.#run((c) => c.queryRange(promql, range, opts));
  }

  async #run<T>(f: (c: PromClient) => Promise<T>): Promise<T> {
    if (this.#now() >= this.#useFallbackUntil) {
      try {
        const r = await f(this.#primary);
        this.#answered = this.#primary.describe();
        return r;
      } catch (err) {
        if (
          !(err instanceof PromQueryError) ||
          (err.reason !== "unreachable" && err.reason !== "timeout")
        ) {
          throw err;
        }
        try {
          const r = await f(this.#fallback);
          this.#useFallbackUntil = this.#now() + this.#retryMs;
          this.#answered =
            `${this.#fallback.describe()} (${this.#primary.describe()} was not reachable)`;
          return r;
        } catch (err2) {
          const m2 = err2 instanceof Error ? err2.message : String(err2);
          throw new PromQueryError(`${err.message}; the fallback failed too: ${m2}`, {
            url: err.url,
            reason: err.reason,
            cause: err2,
          });
        }
      }
    }
    return await f(this.#fallback);
  }
}

/** One recorded query. */
export interface RecordedQuery {
  kind: "query" | "query_range";
  promql: string;
  time?: Date;
}

/** Wraps a client and records every query it sends (tests, benchmarks). */
export class RecordingPromClient implements PromClient {
  readonly queries: RecordedQuery[] = [];
  #inner: PromClient;

  constructor(inner: PromClient) {
    this.#inner = inner;
  }

  describe(): string {
    return this.#inner.describe();
  }

  query(promql: string, opts?: PromQueryOptions): Promise<PromSample[]> {
    this.queries.push({ kind: "query", promql, ...(opts?.time ? { time: opts.time } : {}) });
    return this.#inner.query(promql, opts);
  }

  queryRange(
    promql: string,
    range: { start: Date; end: Date; stepSeconds: number },
    opts?: PromRangeOptions,
  ): Promise<PromSeries[]> {
    this.queries.push({ kind: "query_range", promql });
    return this.#inner.queryRange(promql, range, opts);
  }
}

/**
 * The configured URL, falling back to the API server's service proxy when one is given
 * (see `mod.ts` {@linkcode createPromClient} for the composition root's entry point).
 */
export function buildPromClient(
  config: PrometheusConfig,
  opts: { fetch?: typeof fetch; serviceProxy?: ServiceProxy; vizNamespace?: string } = {},
): PromClient {
  const http = new HttpPromClient({ ...config, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  if (!opts.serviceProxy) return http;
  const proxy = new ProxyPromClient({
    proxy: opts.serviceProxy,
    namespace: opts.vizNamespace ?? "linkerd-viz",
    timeoutMs: config.timeoutMs,
  });
  return new FallbackPromClient(http, proxy);
}

class TooLarge extends Error {}

/** Reads a body as text, stopping (and cancelling the stream) past `max` bytes. */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new TooLarge();
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      chunks.length = 0;
      await reader.cancel().catch(() => {});
      throw new TooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(out);
}

/** The wait a `Retry-After` header asks for, in ms, or `undefined`. */
function retryAfter(headers: Headers): number | undefined {
  const raw = headers.get("retry-after")?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function formatMib(bytes: number): string {
  const m = bytes / (1024 * 1024);
  return Number.isInteger(m) ? String(m) : m.toFixed(1);
}

/** The time span and resolution of a range query. */
type PromRange = { start: Date; end: Date; stepSeconds: number };

/** Parameters of `/api/v1/query`, shared by every transport. */
function instantParams(promql: string, opts: PromQueryOptions): Record<string, string> {
  return { query: promql, ...(opts.time ? { time: seconds(opts.time) } : {}) };
}

/** Parameters of `/api/v1/query_range`, shared by every transport. */
function rangeParams(promql: string, range: PromRange): Record<string, string> {
  return {
    query: promql,
    start: seconds(range.start),
    end: seconds(range.end),
    step: String(range.stepSeconds),
  };
}
