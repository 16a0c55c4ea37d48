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
 * @module
 */
import { PrometheusUnavailableError } from "../errors.ts";
import type { PrometheusConfig } from "../config.ts";

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

function parseValue(v: unknown): number {
  if (typeof v !== "string") return Number.NaN;
  if (v === "+Inf" || v === "Inf") return Number.POSITIVE_INFINITY;
  if (v === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(v);
}

interface ApiBody {
  status?: string;
  errorType?: string;
  error?: string;
  warnings?: unknown;
  data?: { resultType?: string; result?: unknown };
}

/** Turns a Prometheus API body into samples/series, or throws {@linkcode PromQueryError}. */
function decode(
  body: unknown,
  where: string,
  onWarning: ((w: string) => void) | undefined,
): { resultType: string; result: unknown } {
  const b = (body ?? {}) as ApiBody;
  if (b.status === "error") {
    throw new PromQueryError(
      `Prometheus at ${where} rejected the query (${b.errorType ?? "error"}): ${
        b.error ?? "no detail"
      }`,
      { url: where, reason: "query" },
    );
  }
  if (b.status !== "success" || !b.data || typeof b.data.resultType !== "string") {
    throw new PromQueryError(
      `Prometheus at ${where} returned an answer that is not a Prometheus API response`,
      { url: where, reason: "http" },
    );
  }
  if (Array.isArray(b.warnings)) {
    for (const w of b.warnings) onWarning?.(String(w));
  }
  return { resultType: b.data.resultType, result: b.data.result };
}

function toSamples(d: { resultType: string; result: unknown }): PromSample[] {
  if (d.resultType === "scalar" && Array.isArray(d.result)) {
    return [{ metric: {}, value: parseValue(d.result[1]) }];
  }
  if (d.resultType !== "vector" || !Array.isArray(d.result)) return [];
  return d.result.map((r: { metric?: Record<string, string>; value?: unknown[] }) => ({
    metric: r.metric ?? {},
    value: parseValue(r.value?.[1]),
  }));
}

function toSeries(d: { resultType: string; result: unknown }): PromSeries[] {
  if (d.resultType !== "matrix" || !Array.isArray(d.result)) return [];
  return d.result.map((r: { metric?: Record<string, string>; values?: unknown[][] }) => ({
    metric: r.metric ?? {},
    values: (r.values ?? []).map((p) => [Number(p[0]), parseValue(p[1])] as [number, number]),
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

/** The Prometheus HTTP API at a URL. */
export class HttpPromClient implements PromClient {
  readonly url: string;
  readonly timeoutMs: number;
  #headers: Record<string, string>;
  #fetch: typeof fetch;

  constructor(opts: HttpPromClientOptions) {
    this.url = opts.url.replace(/\/+$/, "");
    this.timeoutMs = opts.timeoutMs;
    this.#fetch = opts.fetch ?? fetch;
    this.#headers = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    };
    if (opts.bearerToken) this.#headers.authorization = `Bearer ${opts.bearerToken}`;
    else if (opts.basicAuth) {
      const raw = new TextEncoder().encode(`${opts.basicAuth.username}:${opts.basicAuth.password}`);
      this.#headers.authorization = `Basic ${btoa(String.fromCharCode(...raw))}`;
    }
  }

  describe(): string {
    return this.url;
  }

  async query(promql: string, opts: PromQueryOptions = {}): Promise<PromSample[]> {
    const body = await this.#post("/api/v1/query", instantParams(promql, opts), opts.signal);
    return toSamples(decode(body, this.url, opts.onWarning));
  }

  async queryRange(
    promql: string,
    range: PromRange,
    opts: PromRangeOptions = {},
  ): Promise<PromSeries[]> {
    const body = await this.#post("/api/v1/query_range", rangeParams(promql, range), opts.signal);
    return toSeries(decode(body, this.url, opts.onWarning));
  }

  async #post(
    path: string,
    params: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.#fetch(this.url + path, {
        method: "POST",
        headers: this.#headers,
        body: new URLSearchParams(params).toString(),
        signal: combined,
      });
    } catch (err) {
      throw this.#networkError(err, timeout, signal);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.#networkError(err, timeout, signal);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    // Prometheus answers 400/422/503 with a JSON error body: let decode() word it.
    if (!res.ok && (body as ApiBody | undefined)?.status !== "error") {
      const hint = res.status === 401 || res.status === 403
        ? ": check LINKERD_PROMETHEUS_TOKEN or LINKERD_PROMETHEUS_USERNAME/PASSWORD"
        : `: ${text.slice(0, 200).trim() || "empty body"}`;
      throw new PromQueryError(
        `Prometheus at ${this.url} answered HTTP ${res.status} ${res.statusText}${hint}`,
        { url: this.url, reason: "http" },
      );
    }
    return body;
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
    return toSamples(decode(body, this.describe(), opts.onWarning));
  }

  async queryRange(
    promql: string,
    range: PromRange,
    opts: PromRangeOptions = {},
  ): Promise<PromSeries[]> {
    const body = await this.#get("/api/v1/query_range", rangeParams(promql, range), opts.signal);
    return toSeries(decode(body, this.describe(), opts.onWarning));
  }

  async #get(path: string, params: Record<string, string>, signal?: AbortSignal) {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await this.#proxy.get(this.base + path, params, combined);
    } catch (err) {
      const where = this.describe();
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
