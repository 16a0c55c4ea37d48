/**
 * The live {@linkcode ClusterSource}: reads a real cluster through the Kubernetes REST
 * API. `@kubernetes/client-node` is loaded lazily (it costs ~0.5 s) and used only for
 * what it is good at: kubeconfig parsing and authentication (tokens, token files,
 * client certificates, exec plugins for EKS/GKE/AKS, proxies). Requests themselves
 * are plain `GET`s over `node:https` with client-node's agent and headers, so every
 * resource of `RESOURCES` is read the same way, with `limit`/`continue` pagination,
 * a per-request timeout, an `AbortSignal`, and version fallback.
 *
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Agent, RequestOptions } from "node:http";
import { KubeApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { SILENT } from "../log.ts";
import {
  apiError,
  httpGet,
  type KubeStatus,
  NETWORK_TIMEOUT,
  parseJson,
  raceSignal,
  type RawResponse,
  tryJson,
} from "./_live_http.ts";
import { findKubeconfig, type KubeconfigLocation, loadKubeConfig } from "./kubeconfig.ts";
export { NoKubeconfigError } from "./kubeconfig.ts";
import { type ResourceKey, RESOURCES, type ResourceType } from "./resources.ts";
import type { ClusterSource, ListOptions } from "./source.ts";
import type { KubeObject } from "./types.ts";

/** Options for {@linkcode createLiveSource}. */
export interface CreateLiveSourceOptions {
  /** An explicit kubeconfig file (wins over `KUBECONFIG` and `~/.kube/config`). */
  kubeconfigPath?: string;
  /** Kubeconfig context; the file's `current-context` when absent. */
  context?: string;
  /** The environment (`KUBECONFIG`, `HOME`, `USERPROFILE`, `KUBERNETES_SERVICE_*`). */
  env: Record<string, string | undefined>;
  /** Timeout for one HTTP request (one page of a list). */
  timeoutMs: number;
  log?: Logger;
  /** How long a list or get result is reused; 0 turns the cache off. Default 3000. */
  cacheTtlMs?: number;
  /** Items per list page. Default 500 (as kubectl). */
  pageSize?: number;
  /** The in-cluster service account mount (tests). */
  serviceAccountDir?: string;
}

/** The answer to {@linkcode LiveSource.proxyGet}, whatever its status. */
export interface ProxyResponse {
  status: number;
  contentType: string;
  body: string;
}

/** A live cluster. */
export interface LiveSource extends ClusterSource {
  readonly kind: "live";
  /** The kubeconfig context in use (`in-cluster` for a service account). */
  readonly context: string;
  /** The API server URL. */
  readonly server: string;
  /** Drops the cache and the connection pool; later requests fail. */
  close(): Promise<void>;
  /**
   * GETs an arbitrary API path with the cluster's credentials, e.g. the viz Prometheus via
   * `/api/v1/namespaces/linkerd-viz/services/prometheus:9090/proxy/api/v1/query`. Any
   * HTTP status is returned, not thrown.
   *
   * @throws {KubeApiError} (status 0) when the API server cannot be reached or times out.
   */
  proxyGet(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<ProxyResponse>;
  /**
   * Asks the API server (TokenReview) whether `token` is a valid Kubernetes
   * service-account token; used only to authenticate HTTP clients. The token is sent to
   * this API server alone, never used for any other request.
   */
  reviewToken(token: string, signal?: AbortSignal): Promise<TokenReviewResult>;
}

/** The outcome of {@linkcode LiveSource.reviewToken}. */
export interface TokenReviewResult {
  /** True only for an authenticated `system:serviceaccount:<ns>:<name>` user. */
  authenticated: boolean;
  username?: string;
}

/**
 * Connects to the cluster named by the kubeconfig (or the in-cluster service account).
 * No request is sent until the first `list` or `get`.
 *
 * @throws {NoKubeconfigError} when no kubeconfig is found and this is not a pod.
 * @throws {KubeApiError} (status 0) when the kubeconfig cannot be parsed (`InvalidKubeconfig`) or the context does not exist (`UnknownContext`).
 */
export async function createLiveSource(opts: CreateLiveSourceOptions): Promise<LiveSource> {
  const location = await findKubeconfig({
    env: opts.env,
    ...(opts.kubeconfigPath ? { kubeconfigPath: opts.kubeconfigPath } : {}),
    ...(opts.serviceAccountDir ? { serviceAccountDir: opts.serviceAccountDir } : {}),
  });
  const k8s = await import("@kubernetes/client-node");
  const kc = loadKubeConfig(k8s.KubeConfig, location, opts.context);
  const cluster = kc.getCurrentCluster()!;
  if (cluster.server.startsWith("http:") && !cluster.skipTLSVerify) {
    throw new KubeApiError(
      `Cannot use context "${kc.getCurrentContext()}": its server ${cluster.server} is plain ` +
        "HTTP; client-node accepts that only with insecure-skip-tls-verify: true in the cluster",
      { status: 0, reason: "InvalidKubeconfig" },
    );
  }
  opts.log?.debug("kubeconfig", {
    from: location.kind === "files" ? location.paths : "in-cluster service account",
    context: kc.getCurrentContext(),
  });
  const http = cluster.server.startsWith("http:")
    ? await import("node:http")
    : await import("node:https");
  return new LiveKubeSource({
    kc,
    request: http.request,
    context: location.kind === "in-cluster" ? "in-cluster" : kc.getCurrentContext(),
    server: cluster.server.replace(/\/+$/, ""),
    timeoutMs: opts.timeoutMs,
    log: opts.log ?? SILENT,
    cacheTtlMs: opts.cacheTtlMs ?? 3000,
    pageSize: opts.pageSize ?? 500,
  });
}

interface LiveKubeSourceInit {
  kc: KubeConfig;
  request: typeof import("node:https").request;
  context: string;
  server: string;
  timeoutMs: number;
  log: Logger;
  cacheTtlMs: number;
  pageSize: number;
}

interface CacheEntry {
  promise: Promise<unknown>;
  expires: number;
}

const CREDENTIALS_TTL_MS = 10_000;
/** How long a resource found not served (CRD missing) is not asked for again. */
const UNSERVED_TTL_MS = 30_000;

/** {@linkcode LiveSource} over client-node's credentials and `node:https`. */
class LiveKubeSource implements LiveSource {
  readonly kind = "live" as const;
  readonly context: string;
  readonly server: string;
  readonly #init: LiveKubeSourceInit;
  /** The version that answered last, per resource, tried first next time. */
  readonly #served = new Map<ResourceKey, string>();
  /** Resources found not served (CRD missing), until when that answer is trusted. */
  readonly #unservedUntil = new Map<ResourceKey, number>();
  readonly #cache = new Map<string, CacheEntry>();
  #closed = false;
  /** The connection agent (TLS settings, proxy), from the first request's credentials. */
  #agent: Agent | undefined;
  /** Auth headers, reused briefly: client-node reruns an exec plugin without expiry each time. */
  #credentials: { options: Promise<RequestOptions>; expires: number } | undefined;

  constructor(init: LiveKubeSourceInit) {
    this.#init = init;
    this.context = init.context;
    this.server = init.server;
  }

  describe(): string {
    return `cluster "${this.context}" at ${this.server}`;
  }

  list(resource: ResourceKey, opts: ListOptions = {}): Promise<KubeObject[]> {
    const r: ResourceType = RESOURCES[resource];
    const namespace = r.namespaced ? opts.namespace : undefined;
    const key = `list|${resource}|${namespace ?? ""}|${opts.labelSelector ?? ""}`;
    return this.#cached(
      key,
      opts.signal,
      (signal) => this.#list(resource, namespace, opts.labelSelector, signal),
    ).then((items) => [...items]);
  }

  get(resource: ResourceKey, name: string, namespace?: string): Promise<KubeObject | undefined> {
    const r: ResourceType = RESOURCES[resource];
    if (r.namespaced && !namespace) {
      return Promise.reject(
        new TypeError(`Cannot get ${qualified(r)} "${name}": a namespace is required`),
      );
    }
    const key = `get|${resource}|${r.namespaced ? namespace : ""}|${name}`;
    return this.#cached(
      key,
      undefined,
      (signal) => this.#get(resource, name, r.namespaced ? namespace : undefined, signal),
    );
  }

  async proxyGet(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<ProxyResponse> {
    const query = new URLSearchParams(params);
    const p = path.startsWith("/") ? path : `/${path}`;
    const res = await this.#send(p, query, signal, `Cannot get "${p}"`);
    const ct = res.headers["content-type"];
    return {
      status: res.status,
      contentType: Array.isArray(ct) ? ct[0] ?? "" : ct ?? "",
      body: res.body,
    };
  }

  async reviewToken(token: string, signal?: AbortSignal): Promise<TokenReviewResult> {
    const what = "Cannot review a client token";
    const body = JSON.stringify({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token },
    });
    const path = "/apis/authentication.k8s.io/v1/tokenreviews";
    const res = await this.#send(path, new URLSearchParams(), signal, what, body);
    if (res.status !== 201 && res.status !== 200) throw apiError(what, res, this.context);
    const review = parseJson(res.body, what) as {
      status?: { authenticated?: boolean; user?: { username?: string } };
    };
    const username = review.status?.user?.username;
    const authenticated = review.status?.authenticated === true &&
      typeof username === "string" && username.startsWith("system:serviceaccount:");
    return { authenticated, ...(username ? { username } : {}) };
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#cache.clear();
    this.#agent?.destroy?.();
    this.#agent = undefined;
    this.#credentials = undefined;
    return Promise.resolve();
  }

  /** Shares one request among concurrent callers and reuses its result for the TTL. */
  #cached<T>(
    key: string,
    signal: AbortSignal | undefined,
    run: (signal?: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const ttl = this.#init.cacheTtlMs;
    if (ttl <= 0) return run(signal);
    const now = Date.now();
    for (const [k, e] of this.#cache) if (e.expires <= now) this.#cache.delete(k);
    let entry = this.#cache.get(key);
    if (!entry) {
      const created: CacheEntry = { promise: run(), expires: Infinity };
      entry = created;
      this.#cache.set(key, created);
      created.promise.then(
        () => created.expires = Date.now() + ttl,
        () => this.#cache.get(key) === created && this.#cache.delete(key),
      );
    }
    return raceSignal(entry.promise as Promise<T>, signal);
  }

  /** The resource's versions, the one that answered last first. */
  #versions(resource: ResourceKey): string[] {
    const all = [...RESOURCES[resource].versions] as string[];
    const known = this.#served.get(resource);
    return known ? [known, ...all.filter((v) => v !== known)] : all;
  }

  async #list(
    resource: ResourceKey,
    namespace: string | undefined,
    labelSelector: string | undefined,
    signal?: AbortSignal,
  ): Promise<KubeObject[]> {
    const r: ResourceType = RESOURCES[resource];
    const what = `Cannot list ${qualified(r)}${
      !r.namespaced
        ? ""
        : namespace !== undefined
        ? ` in namespace "${namespace}"`
        : " in all namespaces"
    }`;
    const notServedError = () =>
      new KubeApiError(
        `${what}: the API server does not serve it (tried ${
          r.versions.map((v) => (r.group ? `${r.group}/${v}` : v)).join(", ")
        }); is its CRD installed?`,
        { status: 404, reason: "NotFound" },
      );
    // Remembered for a while, so each tool call does not probe every version again.
    if ((this.#unservedUntil.get(resource) ?? 0) > Date.now()) throw notServedError();
    for (const version of this.#versions(resource)) {
      const path = resourcePath(r, version, namespace);
      const items: KubeObject[] = [];
      let cont: string | undefined;
      let paged = true;
      let notServed = false;
      for (;;) {
        const query = new URLSearchParams();
        if (labelSelector) query.set("labelSelector", labelSelector);
        if (paged) query.set("limit", String(this.#init.pageSize));
        if (cont) query.set("continue", cont);
        const res = await this.#send(path, query, signal, what);
        if (res.status === 404 && cont === undefined && items.length === 0) {
          notServed = true; // not served at this version: try the next one
          break;
        }
        if (res.status === 410 && cont !== undefined) {
          // The continue token expired: read everything in one go (as client-go's pager).
          items.length = 0;
          cont = undefined;
          paged = false;
          continue;
        }
        if (res.status !== 200) throw apiError(what, res, this.context);
        const body = parseJson(res.body, what) as {
          items?: KubeObject[];
          metadata?: { continue?: string };
        };
        const apiVersion = r.group ? `${r.group}/${version}` : version;
        for (const item of body.items ?? []) {
          // List items omit apiVersion and kind; domain code needs them.
          item.apiVersion ??= apiVersion;
          item.kind ??= r.kind;
          items.push(item);
        }
        cont = paged ? body.metadata?.continue || undefined : undefined;
        if (cont === undefined) break;
      }
      if (notServed) continue;
      this.#served.set(resource, version);
      this.#unservedUntil.delete(resource);
      return items;
    }
    this.#unservedUntil.set(resource, Date.now() + UNSERVED_TTL_MS);
    throw notServedError();
  }

  async #get(
    resource: ResourceKey,
    name: string,
    namespace: string | undefined,
    signal?: AbortSignal,
  ): Promise<KubeObject | undefined> {
    const r: ResourceType = RESOURCES[resource];
    const what = `Cannot get ${qualified(r)} "${name}"${
      namespace !== undefined ? ` in namespace "${namespace}"` : ""
    }`;
    for (const version of this.#versions(resource)) {
      const path = `${resourcePath(r, version, namespace)}/${encodeURIComponent(name)}`;
      const res = await this.#send(path, new URLSearchParams(), signal, what);
      if (res.status === 404) {
        const status = tryJson(res.body) as KubeStatus | undefined;
        // A Status naming the object: the version is served and the object is absent.
        if (status?.details?.name !== undefined) {
          this.#served.set(resource, version);
          return undefined;
        }
        continue;
      }
      if (res.status !== 200) throw apiError(what, res, this.context);
      this.#served.set(resource, version);
      const obj = parseJson(res.body, what) as KubeObject;
      obj.apiVersion ??= r.group ? `${r.group}/${version}` : version;
      obj.kind ??= r.kind;
      return obj;
    }
    return undefined;
  }

  /** Headers and TLS options from client-node (token, token file, exec plugin, certificates). */
  async #options(what: string): Promise<RequestOptions> {
    const now = Date.now();
    if (!this.#credentials || this.#credentials.expires <= now) {
      const options = (async () => {
        const o: RequestOptions = {};
        await this.#init.kc.applyToHTTPSOptions(o);
        const agent = o.agent as Agent | undefined;
        if (!this.#agent) this.#agent = agent;
        else if (agent !== this.#agent) agent?.destroy?.();
        delete o.agent;
        return o;
      })();
      const entry = { options, expires: now + CREDENTIALS_TTL_MS };
      this.#credentials = entry;
      options.catch(() => this.#credentials === entry && (this.#credentials = undefined));
    }
    try {
      return await this.#credentials.options;
    } catch (err) {
      const denied = err instanceof Deno.errors.NotCapable ||
        err instanceof Deno.errors.PermissionDenied;
      throw new KubeApiError(
        `${what}: cannot use the credentials of context "${this.context}": ${
          (err as Error).message.trim()
        }`,
        { status: 0, reason: denied ? "PermissionDenied" : "Credentials", cause: err },
      );
    }
  }

  /** One GET with the cluster's credentials; network failures and timeouts throw. */
  async #send(
    path: string,
    query: URLSearchParams,
    signal: AbortSignal | undefined,
    what: string,
    body?: string,
  ): Promise<RawResponse> {
    if (this.#closed) {
      throw new KubeApiError(`${what}: the cluster source is closed`, {
        status: 0,
        reason: "Closed",
      });
    }
    signal?.throwIfAborted();
    const init = this.#init;
    const opts = await this.#options(what);
    const qs = query.toString();
    const url = `${this.server}${path}${qs ? `?${qs}` : ""}`;
    const started = performance.now();
    try {
      const res = await httpGet(
        init.request,
        url,
        {
          agent: this.#agent,
          headers: { ...(opts.headers ?? {}), accept: "application/json" },
          ...(opts.auth ? { auth: opts.auth } : {}),
        },
        init.timeoutMs,
        signal,
        body,
      );
      if (res.status === 401) this.#credentials = undefined; // renew on the next request
      init.log.debug("kube request", {
        path,
        status: res.status,
        ms: Math.round(performance.now() - started),
      });
      return res;
    } catch (err) {
      if (signal?.aborted && err === signal.reason) throw err;
      if (err === NETWORK_TIMEOUT) {
        throw new KubeApiError(
          `${what}: the API server at ${this.server} did not answer within ${init.timeoutMs} ms`,
          { status: 0, reason: "Timeout" },
        );
      }
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        throw new KubeApiError(`${what}: Deno refused a permission: ${err.message}`, {
          status: 0,
          reason: "PermissionDenied",
          cause: err,
        });
      }
      const e = err as { code?: string; message?: string };
      const code = e.code ?? "NetworkError";
      if (/CERT|VERIFY|SELF_SIGNED|TLS|SSL/.test(code)) {
        throw new KubeApiError(
          `${what}: cannot verify the TLS certificate of the API server at ${this.server}: ` +
            `${e.message ?? code}; check the certificate-authority of context "${this.context}"`,
          { status: 0, reason: code, cause: err },
        );
      }
      throw new KubeApiError(
        `${what}: cannot reach the API server at ${this.server}: ${e.message ?? String(err)}`,
        { status: 0, reason: code, cause: err },
      );
    }
  }
}

/** `pods`, `servers.policy.linkerd.io`. */
function qualified(r: ResourceType): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

function resourcePath(r: ResourceType, version: string, namespace: string | undefined): string {
  const prefix = r.group ? `/apis/${r.group}/${version}` : `/api/${version}`;
  const ns = r.namespaced && namespace !== undefined
    ? `/namespaces/${encodeURIComponent(namespace)}`
    : "";
  return `${prefix}${ns}/${r.plural}`;
}

/**
 * Like {@linkcode createLiveSource}, but only the kubeconfig's location is resolved now
 * (cheap, and enough to know that a cluster is configured); client-node is imported and
 * the kubeconfig loaded on the first request. This keeps the server's start-up, and so
 * its first `tools/list`, free of client-node's ~0.5 s import. Errors in the kubeconfig
 * (unknown context, unparsable file) surface on the first request instead.
 *
 * @throws {NoKubeconfigError} when no kubeconfig is found and this is not a pod.
 */
export async function createLazyLiveSource(opts: CreateLiveSourceOptions): Promise<LiveSource> {
  const location = await findKubeconfig({
    env: opts.env,
    ...(opts.kubeconfigPath ? { kubeconfigPath: opts.kubeconfigPath } : {}),
    ...(opts.serviceAccountDir ? { serviceAccountDir: opts.serviceAccountDir } : {}),
  });
  // Name the context now, cheaply (no YAML parser), so that the server can say which cluster
  // it serves before connecting: an explicit --context, else the first file's current-context.
  let context = opts.context;
  if (!context && location.kind === "files") {
    const text = await Deno.readTextFile(location.paths[0]!).catch(() => "");
    context = text.match(
      /^\s*["']?current-context["']?\s*:\s*["']?([^"',\r\n#]+?)["']?\s*,?\s*(?:#.*)?$/m,
    )
      ?.[1];
  }
  return new DeferredLiveSource(location, { ...opts, ...(context ? { context } : {}) });
}

/** A {@linkcode LiveSource} that connects on first use. */
class DeferredLiveSource implements LiveSource {
  readonly kind = "live" as const;
  readonly #location: KubeconfigLocation;
  readonly #opts: CreateLiveSourceOptions;
  #inner: Promise<LiveSource> | undefined;
  #ready: LiveSource | undefined;

  constructor(location: KubeconfigLocation, opts: CreateLiveSourceOptions) {
    this.#location = location;
    this.#opts = opts;
  }

  #connect(): Promise<LiveSource> {
    this.#inner ??= createLiveSource({
      ...this.#opts,
      ...(this.#location.kind === "files" && this.#location.origin === "path"
        ? { kubeconfigPath: this.#location.paths[0]! }
        : {}),
    }).then((s) => (this.#ready = s));
    return this.#inner;
  }

  get context(): string {
    return this.#ready?.context ?? this.#opts.context ??
      (this.#location.kind === "in-cluster" ? "in-cluster" : "current-context");
  }

  get server(): string {
    return this.#ready?.server ??
      (this.#location.kind === "in-cluster" ? this.#location.server : "(not connected yet)");
  }

  describe(): string {
    if (this.#ready) return this.#ready.describe();
    if (this.#location.kind === "in-cluster") {
      return `in-cluster service account at ${this.#location.server}`;
    }
    const ctx = this.#opts.context ? `context "${this.#opts.context}"` : "current context";
    return `cluster ${ctx} from kubeconfig ${this.#location.paths.join(", ")}`;
  }

  async list(resource: ResourceKey, opts?: ListOptions): Promise<KubeObject[]> {
    return (await this.#connect()).list(resource, opts);
  }

  async get(resource: ResourceKey, name: string, namespace?: string) {
    return (await this.#connect()).get(resource, name, namespace);
  }

  async proxyGet(path: string, params: Record<string, string>, signal?: AbortSignal) {
    return (await this.#connect()).proxyGet(path, params, signal);
  }

  async reviewToken(token: string, signal?: AbortSignal): Promise<TokenReviewResult> {
    return (await this.#connect()).reviewToken(token, signal);
  }

  async close(): Promise<void> {
    if (this.#inner) await (await this.#inner.catch(() => undefined))?.close();
  }
}
