/**
 * The live {@linkcode ClusterSource}: reads a real cluster through the Kubernetes REST
 * API. Credentials come from `credentials.ts` (the kubeconfig read as kubectl reads it:
 * tokens, token files, client certificates, exec plugins for EKS/GKE/AKS, the service
 * account), or from `@kubernetes/client-node` for what only it does (`auth-provider`,
 * `proxy-url`; loaded only then: it costs ~50 MB and ~0.3 s). Requests are plain `GET`s (and
 * the writes) over the credentials' transport (Deno's `fetch` client, or `node:https`),
 * so every resource of `RESOURCES` is read the same way, with `limit`/`continue`
 * pagination, a per-request timeout, an `AbortSignal`, and version fallback.
 *
 * Bounds (each with its own clear error): {@linkcode MAX_LIST_PAGES} pages and
 * {@linkcode MAX_LIST_BYTES} per list, `MAX_RESPONSE_BYTES` per answer, `Retry-After` on
 * 429/503 honoured only within the request's time budget, exec plugins killed after
 * {@linkcode EXEC_PLUGIN_TIMEOUT_MS}. A call's `AbortSignal` stops everything it started: a
 * list shared by concurrent callers is aborted when its last caller goes away.
 *
 * Answers are validated at the edge (zod); a wrong shape is "unexpected answer from the
 * Kubernetes API server: ...". No credential reaches a message: the server URL loses its
 * userinfo, error bodies are summarised and redacted, an exec plugin's output is never shown.
 *
 * @module
 */
import { z } from "zod";
import { KubeApiError, KubeconfigError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { SILENT } from "../log.ts";
import { redactUrl, registerBasicAuth, registerSecret } from "../redact.ts";
import {
  abortableSleep,
  apiError,
  mib,
  NETWORK_TIMEOUT,
  parseJson,
  raceSignal,
  type RawResponse,
  ResponseTooLarge,
  retryAfterMs,
  statusOf,
} from "./_live_http.ts";
import {
  type AppliedCredentials,
  inClusterCredentials,
  kubeconfigCredentials,
  type KubeCredentials,
  needsClientNode,
} from "./credentials.ts";
import { EXEC_PLUGIN_TIMEOUT_MS } from "./exec_plugin.ts";
import { findKubeconfig, type KubeconfigLocation } from "./kubeconfig.ts";
import { readSelectedKubeconfig } from "./kubeconfig_read.ts";
export { NoKubeconfigError } from "./kubeconfig.ts";
import { type ResourceKey, RESOURCES, type ResourceType } from "./resources.ts";
import { Informer, type WatchEvent } from "./informer.ts";
import { Compactor } from "./_compact.ts";
import { stripManagedFields } from "./_strip.ts";
import { type LabelSelector, matchesSelector, parseSelector } from "./selectors.ts";
import type { ClusterSource, ListOptions, SnapshotInfo, SourceInfo } from "./source.ts";
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
  /**
   * Keep a watch-fed cache of each resource kind listed (started on its first list, kept
   * while the process lives). Default: on unless `cacheTtlMs` is 0 (every cache off);
   * false lists on every call (with the TTL cache).
   */
  watch?: boolean;
  /** How long the API server holds one watch request open, in seconds. Default 300. */
  watchTimeoutSeconds?: number;
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
  /** Drops the cache, stops the watches and the connection pool; later requests fail. */
  close(): Promise<void>;
  /** {@linkcode ClusterSource.get}, stopped by `opts.signal`. */
  get(
    resource: ResourceKey,
    name: string,
    namespace?: string,
    opts?: { signal?: AbortSignal },
  ): Promise<KubeObject | undefined>;
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
  /**
   * One request of any method to an API path with the cluster's credentials, uncached (for
   * the write tools, src/kube/writer.ts). Any HTTP status is returned, not thrown; size cap,
   * deadline, signal and `Retry-After` as every other request.
   *
   * @throws {KubeApiError} (status 0) when the API server cannot be reached or times out.
   */
  request(method: WriteMethod, path: string, opts?: RawRequestOptions): Promise<ProxyResponse>;
}

/** The methods {@linkcode LiveSource.request} sends. */
export type WriteMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Options of {@linkcode LiveSource.request}. */
export interface RawRequestOptions {
  query?: Record<string, string>;
  /** The request body (JSON or YAML text). */
  body?: string;
  /** Its content type (default `application/json`). */
  contentType?: string;
  signal?: AbortSignal;
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
  const creds = await credentialsFor(location, opts.context);
  const server = creds.server;
  const shownServer = redactUrl(server.replace(/\/+$/, ""));
  registerUrlPassword(server);
  if (server.startsWith("http:") && !creds.skipTLSVerify) {
    throw new KubeconfigError(
      `Cannot use context "${creds.context}": its server ${shownServer} is plain ` +
        "HTTP; it is accepted only with insecure-skip-tls-verify: true in the cluster",
      { reason: "InvalidKubeconfig" },
    );
  }
  opts.log?.debug("kubeconfig", {
    from: location.kind === "files" ? location.paths : "in-cluster service account",
    context: creds.context,
    credentials: creds.implementation,
  });
  return new LiveKubeSource({
    creds,
    context: creds.context,
    server: shownServer,
    baseUrl: server.replace(/\/+$/, ""),
    timeoutMs: opts.timeoutMs,
    log: opts.log ?? SILENT,
    cacheTtlMs: opts.cacheTtlMs ?? 3000,
    pageSize: opts.pageSize ?? 500,
    watch: opts.watch ?? (opts.cacheTtlMs ?? 3000) > 0,
    watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300,
  });
}

/**
 * The context's credentials: built in for tokens, token files, exec plugins, certificates
 * and the service account; through client-node (imported only then) for `auth-provider`
 * and `proxy-url`.
 */
async function credentialsFor(
  location: KubeconfigLocation,
  context: string | undefined,
): Promise<KubeCredentials> {
  if (location.kind === "in-cluster") {
    return inClusterCredentials(location);
  }
  const selected = await readSelectedKubeconfig(location, context);
  if (needsClientNode(selected)) {
    const { clientNodeCredentials } = await import("./credentials_client_node.ts");
    return clientNodeCredentials(location, selected.context);
  }
  return kubeconfigCredentials(selected);
}

interface LiveKubeSourceInit {
  creds: KubeCredentials;
  context: string;
  /** The API server URL as shown (no userinfo). */
  server: string;
  /** The API server URL requests go to (with the kubeconfig's userinfo, if any). */
  baseUrl: string;
  timeoutMs: number;
  log: Logger;
  cacheTtlMs: number;
  pageSize: number;
  watch: boolean;
  watchTimeoutSeconds: number;
}

interface CacheEntry {
  promise: Promise<unknown>;
  expires: number;
  /** Aborts the shared request when its last waiter has gone. */
  controller: AbortController;
  waiters: number;
  settled: boolean;
}

/**
 * Most pages read for one list (with the default 500 items a page, 100,000 objects). An API
 * server that keeps returning a `continue` token is stopped here.
 */
export const MAX_LIST_PAGES = 200;
/** Most bytes read for one list, over all its pages (256 MiB). */
export const MAX_LIST_BYTES = 256 * 1024 * 1024;
/** Most retries of one request answered 429/503 with `Retry-After`. */
export const MAX_RETRIES = 3;

const CREDENTIALS_TTL_MS = 10_000;
/** Most single objects watched by name (beyond it, they are read by GET with the TTL cache). */
const MAX_OBJECT_WATCHES = 16;
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
  /** Watch-fed caches, by {@linkcode scopeKey} (resource, namespace, label selector, name). */
  readonly #informers = new Map<string, Informer>();
  /** Kinds whose watch RBAC forbids: listed on every call (TTL cache) instead. */
  readonly #unwatchable = new Set<ResourceKey>();
  /** Single objects (`scopeKey`) that RBAC forbids watching by name: read by GET (TTL cache). */
  readonly #unwatchableObjects = new Set<string>();
  /** `resource|namespace` whose list RBAC forbids: their objects are watched one by one. */
  readonly #unlistableIn = new Set<string>();
  #closed = false;
  /** Auth headers, reused briefly: client-node reruns an exec plugin without expiry each time. */
  #credentials: { options: Promise<AppliedCredentials>; expires: number } | undefined;

  constructor(init: LiveKubeSourceInit) {
    this.#init = init;
    this.context = init.context;
    this.server = init.server;
  }

  describe(): string {
    return `cluster "${this.context}" at ${this.server}`;
  }

  /** @param opts.signal stops the request(s) when it aborts. */
  list(resource: ResourceKey, opts: ListOptions = {}): Promise<KubeObject[]> {
    const r: ResourceType = RESOURCES[resource];
    const namespace = r.namespaced ? opts.namespace : undefined;
    if (this.#init.watch && !this.#closed) {
      return this.#listWatched(resource, namespace, opts.labelSelector, opts.signal);
    }
    return this.#listCached(resource, namespace, opts.labelSelector, opts.signal);
  }

  #listCached(
    resource: ResourceKey,
    namespace: string | undefined,
    labelSelector: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<KubeObject[]> {
    const key = `list|${resource}|${namespace ?? ""}|${labelSelector ?? ""}`;
    return this.#cached(
      key,
      signal,
      (s) => this.#list(resource, namespace, labelSelector, s),
    ).then((items) => [...items]);
  }

  /**
   * A list answered from a watch-fed cache, started here on the first list of its scope:
   * the kind in all namespaces or in the namespace asked for, narrowed by the label
   * selector asked for (the API server then watches only the objects it selects). A
   * broader cache already holding data answers too, filtered here with the API server's
   * selector semantics, and a cache it covers is then dropped. Falls back to
   * {@linkcode #listCached} when the kind cannot be watched or its watch is broken.
   */
  async #listWatched(
    resource: ResourceKey,
    namespace: string | undefined,
    labelSelector: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<KubeObject[]> {
    const fallback = () => this.#listCached(resource, namespace, labelSelector, signal);
    let selector: LabelSelector | undefined;
    const text = labelSelector?.trim() || undefined;
    if (text) {
      try {
        selector = parseSelector(text);
      } catch {
        return fallback(); // the API server names what is wrong with it
      }
    }
    let found = this.#informerFor(resource, namespace, text);
    if (!found) {
      if (this.#unwatchable.has(resource)) return fallback();
      const informer = this.#startInformer(resource, namespace, text);
      found = { informer, namespace, labelSelector: text };
    }
    const { informer } = found;
    const snap = await this.#readInformer(resource, informer, signal);
    if (!snap) return fallback();
    if (found.labelSelector === undefined) this.#dropCovered(resource, found.namespace, informer);
    const byNamespace = namespace !== undefined && found.namespace === undefined;
    const bySelector = selector !== undefined && found.labelSelector === undefined;
    if (!byNamespace && !bySelector) return [...snap.items];
    return snap.items.filter((o) =>
      (!byNamespace || o.metadata.namespace === namespace) &&
      (!bySelector || matchesSelector(selector, o.metadata.labels))
    );
  }

  /**
   * The running cache able to answer a list of `resource` in `namespace` (undefined: all)
   * selected by `labelSelector`: the kind's cluster-wide cache, its namespace's, or one of
   * exactly this scope. A broader cache answers only once it has data: its first list may
   * yet be refused (RBAC) where the narrower one would not.
   */
  #informerFor(
    resource: ResourceKey,
    namespace: string | undefined,
    labelSelector: string | undefined,
  ): { informer: Informer; namespace?: string; labelSelector?: string } | undefined {
    const scopes: Array<{ namespace?: string; labelSelector?: string }> = [{}];
    if (namespace !== undefined) scopes.push({ namespace });
    if (labelSelector !== undefined) {
      if (namespace !== undefined) scopes.push({ labelSelector });
      scopes.push({ namespace, labelSelector });
    }
    for (const scope of scopes) {
      const informer = this.#informers.get(
        scopeKey(resource, scope.namespace, scope.labelSelector),
      );
      if (!informer) continue;
      const exact = scope.namespace === namespace && scope.labelSelector === labelSelector;
      // A cache whose first list failed (or was abandoned) is started over.
      if (informer.mode === "failed" || informer.mode === "closed") this.#dropInformer(informer);
      else if (!exact && !informer.synced) continue;
      else {
        return {
          informer,
          ...(scope.namespace !== undefined ? { namespace: scope.namespace } : {}),
          ...(scope.labelSelector !== undefined ? { labelSelector: scope.labelSelector } : {}),
        };
      }
    }
    return undefined;
  }

  /**
   * Drops the synced label-selector caches of `resource` that `by` (a healthy cache of all
   * its objects in `namespace`, undefined: all namespaces) answers for: no object is held
   * twice. Caches still on their first list are left to their waiting callers.
   */
  #dropCovered(resource: ResourceKey, namespace: string | undefined, by: Informer): void {
    if (!by.healthy) return;
    for (const [key, informer] of this.#informers) {
      if (informer === by || !informer.synced) continue;
      const scope = parseScopeKey(key);
      if (scope.resource !== resource || scope.name !== undefined) continue;
      if (scope.labelSelector === undefined) continue;
      if (namespace !== undefined && scope.namespace !== namespace) continue;
      this.#dropInformer(informer);
    }
  }

  /**
   * Starts the cache of one scope: `resource` in `namespace` (undefined: all namespaces),
   * narrowed by a label selector, or a single object by `name` (a field selector on
   * `metadata.name`, which RBAC grants by `resourceNames` for list and watch too).
   */
  #startInformer(
    resource: ResourceKey,
    namespace: string | undefined,
    labelSelector?: string,
    name?: string,
  ): Informer {
    const r: ResourceType = RESOURCES[resource];
    const key = scopeKey(resource, namespace, labelSelector, name);
    const selectors = {
      ...(labelSelector !== undefined ? { labelSelector } : {}),
      ...(name !== undefined ? { fieldSelector: `metadata.name=${name}` } : {}),
    };
    // Equal parts of the kind's objects are held once, across lists and watch events.
    const compactor = new Compactor();
    const informer = new Informer({
      list: async (signal) => {
        const { items, resourceVersion } = await this.#listPaged(
          resource,
          namespace,
          labelSelector,
          signal,
          compactor,
          selectors.fieldSelector,
        );
        // Memory once the kind is held (bench/memory_bench.ts reads it from the debug log).
        const m = Deno.memoryUsage();
        this.#init.log.debug("kube list stored", {
          of: qualified(r),
          items: items.length,
          heapUsedMb: Math.round(m.heapUsed / 1048576),
          heapTotalMb: Math.round(m.heapTotal / 1048576),
          externalMb: Math.round(m.external / 1048576),
          rssMb: Math.round(m.rss / 1048576),
        });
        return { items, resourceVersion };
      },
      watch: (rv, signal, onEvent, onOpen) =>
        this.#watch(resource, namespace, rv, signal, onEvent, onOpen, compactor, selectors),
    }, {
      name: `${qualified(r)}${
        name !== undefined
          ? ` "${name}"`
          : labelSelector !== undefined
          ? ` selected by "${labelSelector}"`
          : ""
      }${namespace !== undefined ? ` in "${namespace}"` : ""}`,
      log: this.#init.log,
    });
    this.#informers.set(key, informer);
    return informer;
  }

  /** Reads a cache; a failed first list drops it (the next call starts over), a forbidden watch too. */
  async #readInformer(
    resource: ResourceKey,
    informer: Informer,
    signal: AbortSignal | undefined,
    objectKey?: string,
  ) {
    try {
      const snap = await informer.read(signal);
      if (informer.mode === "forbidden") {
        if (objectKey !== undefined) this.#unwatchableObjects.add(objectKey);
        else this.#unwatchable.add(resource);
        this.#dropInformer(informer);
      }
      return snap;
    } catch (err) {
      if (informer.mode === "failed") this.#dropInformer(informer);
      throw err;
    }
  }

  /** How many single-object caches are running. */
  #objectInformers(): number {
    let n = 0;
    for (const key of this.#informers.keys()) if (!key.endsWith("|")) n++;
    return n;
  }

  #dropInformer(informer: Informer): void {
    for (const [k, v] of this.#informers) if (v === informer) this.#informers.delete(k);
    void informer.close();
  }

  snapshotInfo(): SnapshotInfo {
    const watched: string[] = [];
    const reconnecting: string[] = [];
    let changedAt = 0;
    const listed = new Set<string>(this.#unwatchable);
    for (const key of this.#unwatchableObjects) listed.add(scopeName(parseScopeKey(key)));
    for (const [key, inf] of this.#informers) {
      const scope = parseScopeKey(key);
      const name = scopeName(scope);
      if (inf.mode === "forbidden") listed.add(scope.name !== undefined ? name : scope.resource);
      else if (inf.healthy) {
        watched.push(name);
        changedAt = Math.max(changedAt, inf.changedAt);
      } else if (inf.mode !== "failed" && inf.mode !== "closed") reconnecting.push(name);
    }
    return {
      watched: watched.sort(),
      reconnecting: reconnecting.sort(),
      listed: [...listed].sort(),
      ...(changedAt ? { lastChange: new Date(changedAt).toISOString() } : {}),
      cacheTtlMs: this.#init.cacheTtlMs,
    };
  }

  sourceInfo(): SourceInfo {
    return {
      kind: "live",
      description: `${this.describe()}${freshness(this.snapshotInfo())}`,
      context: this.context,
      server: this.server,
    };
  }

  get(
    resource: ResourceKey,
    name: string,
    namespace?: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<KubeObject | undefined> {
    const r: ResourceType = RESOURCES[resource];
    if (r.namespaced && !namespace) {
      return Promise.reject(
        new TypeError(`Cannot get ${qualified(r)} "${name}": a namespace is required`),
      );
    }
    if (this.#init.watch && !this.#closed) {
      return this.#getWatched(resource, name, r.namespaced ? namespace : undefined, opts.signal);
    }
    return this.#getCached(resource, name, r.namespaced ? namespace : undefined, opts.signal);
  }

  /**
   * A get answered from a running cache of the kind. Linkerd's ConfigMaps, read by name
   * only, start a cache of the ConfigMaps of their namespace; when RBAC forbids listing
   * them there, a cache of the one object (list and watch by `metadata.name`, which RBAC
   * grants with `resourceNames`); when that is forbidden too, they are read by name on
   * every call (TTL cache), as before.
   */
  async #getWatched(
    resource: ResourceKey,
    name: string,
    namespace: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<KubeObject | undefined> {
    const byName = resource === "configmaps" && namespace !== undefined;
    const find = (items: readonly KubeObject[]) =>
      items.find((o) =>
        o.metadata.name === name &&
        (namespace === undefined || o.metadata.namespace === namespace)
      );
    let informer = this.#informerFor(resource, namespace, undefined)?.informer;
    if (
      !informer && byName && !this.#unwatchable.has(resource) &&
      !this.#unlistableIn.has(`${resource}|${namespace}`)
    ) {
      informer = this.#startInformer(resource, namespace);
    }
    if (informer) {
      let snap;
      try {
        snap = await this.#readInformer(resource, informer, signal);
      } catch (err) {
        // Listing them is forbidden, reading them by name may not be.
        if (!(err instanceof KubeApiError && err.status === 403)) throw err;
        this.#unlistableIn.add(`${resource}|${namespace}`);
      }
      if (snap) return find(snap.items);
    }
    if (byName && !this.#unwatchable.has(resource)) {
      const key = scopeKey(resource, namespace, undefined, name);
      if (!this.#unwatchableObjects.has(key)) {
        let one = this.#informers.get(key);
        if (one?.mode === "failed" || one?.mode === "closed") {
          this.#dropInformer(one);
          one = undefined;
        }
        if (!one && this.#objectInformers() >= MAX_OBJECT_WATCHES) {
          return this.#getCached(resource, name, namespace, signal);
        }
        one ??= this.#startInformer(resource, namespace, undefined, name);
        let snap;
        try {
          snap = await this.#readInformer(resource, one, signal, key);
        } catch (err) {
          // Listing it by name is forbidden too: GET it.
          if (!(err instanceof KubeApiError && err.status === 403)) throw err;
          this.#unwatchableObjects.add(key);
        }
        if (snap) return find(snap.items);
      }
    }
    return this.#getCached(resource, name, namespace, signal);
  }

  #getCached(
    resource: ResourceKey,
    name: string,
    namespace: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<KubeObject | undefined> {
    const r: ResourceType = RESOURCES[resource];
    const key = `get|${resource}|${r.namespaced ? namespace : ""}|${name}`;
    return this.#cached(
      key,
      signal,
      (s) => this.#get(resource, name, r.namespaced ? namespace : undefined, s),
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
    registerSecret(token);
    const body = JSON.stringify({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token },
    });
    const path = "/apis/authentication.k8s.io/v1/tokenreviews";
    const res = await this.#send(path, new URLSearchParams(), signal, what, body);
    if (res.status !== 201 && res.status !== 200) throw apiError(what, res, this.context);
    const review = validated(TOKEN_REVIEW, parseJson(res.body, what, res.status), what, res.status);
    const username = review.status?.user?.username;
    const authenticated = review.status?.authenticated === true &&
      typeof username === "string" && username.startsWith("system:serviceaccount:");
    return { authenticated, ...(username ? { username } : {}) };
  }

  async request(
    method: WriteMethod,
    path: string,
    opts: RawRequestOptions = {},
  ): Promise<ProxyResponse> {
    const p = path.startsWith("/") ? path : `/${path}`;
    const what = `Cannot ${method} "${p}"`;
    const res = await this.#send(
      p,
      new URLSearchParams(opts.query ?? {}),
      opts.signal,
      what,
      opts.body,
      method,
      opts.contentType,
    );
    const ct = res.headers["content-type"];
    return {
      status: res.status,
      contentType: Array.isArray(ct) ? ct[0] ?? "" : ct ?? "",
      body: res.body,
    };
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const e of this.#cache.values()) {
      if (!e.settled) {
        e.controller.abort(new DOMException("the cluster source closed", "AbortError"));
      }
    }
    this.#cache.clear();
    const stopping = [...this.#informers.values()].map((i) => i.close());
    this.#informers.clear();
    for (const child of this.#init.creds.exec?.running ?? []) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    this.#init.creds.close();
    this.#credentials = undefined;
    return Promise.all(stopping).then(() => {});
  }

  /**
   * Shares one request among concurrent callers and reuses its result for the TTL. The
   * shared request has its own signal, aborted when every caller that brought a signal has
   * aborted and no caller without one waits: nothing outlives the calls that asked for it.
   */
  #cached<T>(
    key: string,
    signal: AbortSignal | undefined,
    run: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    const ttl = this.#init.cacheTtlMs;
    if (ttl <= 0) return run(signal);
    const now = Date.now();
    for (const [k, e] of this.#cache) if (e.settled && e.expires <= now) this.#cache.delete(k);
    let entry = this.#cache.get(key);
    if (!entry) {
      const controller = new AbortController();
      const created: CacheEntry = {
        promise: run(controller.signal),
        expires: Infinity,
        controller,
        waiters: 0,
        settled: false,
      };
      entry = created;
      this.#cache.set(key, created);
      created.promise.then(
        () => {
          created.settled = true;
          created.expires = Date.now() + ttl;
        },
        () => {
          created.settled = true;
          if (this.#cache.get(key) === created) this.#cache.delete(key);
        },
      );
    }
    const e = entry;
    e.waiters++;
    let released = false;
    const release = (reason?: unknown) => {
      if (released) return;
      released = true;
      e.waiters--;
      if (e.waiters === 0 && !e.settled) {
        if (this.#cache.get(key) === e) this.#cache.delete(key);
        e.controller.abort(reason);
      }
    };
    if (!signal) return (e.promise as Promise<T>).finally(() => release());
    if (signal.aborted) {
      release(signal.reason);
      return Promise.reject(signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        release(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      (e.promise as Promise<T>).then(resolve, reject).finally(() => {
        signal.removeEventListener("abort", onAbort);
        release();
      });
    });
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
    return (await this.#listPaged(resource, namespace, labelSelector, signal)).items;
  }

  /**
   * A whole list, page by page, with the `resourceVersion` of its first page. Each page's
   * objects are trimmed and their equal parts shared by `compactor` as soon as it is parsed.
   */
  async #listPaged(
    resource: ResourceKey,
    namespace: string | undefined,
    labelSelector: string | undefined,
    signal?: AbortSignal,
    compactor: Compactor = new Compactor(),
    fieldSelector?: string,
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
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
      let resourceVersion = "";
      let cont: string | undefined;
      let paged = true;
      let notServed = false;
      let pages = 0;
      let bytes = 0;
      for (;;) {
        if (pages >= MAX_LIST_PAGES) {
          throw new KubeApiError(
            `${what}: stopped after ${MAX_LIST_PAGES} pages (${items.length} objects): the API ` +
              "server kept returning a continue token; narrow the request (a namespace) or " +
              "check the API server",
            { status: 200, reason: "TooManyPages" },
          );
        }
        pages++;
        const query = new URLSearchParams();
        if (labelSelector) query.set("labelSelector", labelSelector);
        if (fieldSelector) query.set("fieldSelector", fieldSelector);
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
          resourceVersion = "";
          cont = undefined;
          paged = false;
          continue;
        }
        if (res.status !== 200) throw apiError(what, res, this.context);
        bytes += res.body.length;
        if (bytes > MAX_LIST_BYTES) {
          throw new KubeApiError(
            `${what}: response from the Kubernetes API server larger than ${
              mib(MAX_LIST_BYTES)
            } MiB over ${pages} pages; narrow the request (a namespace)`,
            { status: 200, reason: "TooLarge" },
          );
        }
        // The field managers' record is cut before parsing: half of a real page (see _strip.ts).
        const parsed = parseJson(stripManagedFields(res.body), what);
        // Checked in place (zod would copy every object); zod only names what is wrong.
        const body = (isList(parsed) ? parsed : validated(LIST, parsed, what, res.status)) as {
          items?: KubeObject[] | null;
          metadata?: { continue?: string; resourceVersion?: string };
        };
        const apiVersion = r.group ? `${r.group}/${version}` : version;
        if (resourceVersion === "") resourceVersion = body.metadata?.resourceVersion ?? "";
        for (const item of body.items ?? []) {
          // List items omit apiVersion and kind; domain code needs them.
          items.push(trimmed(item, apiVersion, r.kind, compactor));
        }
        cont = paged ? body.metadata?.continue || undefined : undefined;
        if (cont === undefined) break;
      }
      if (notServed) continue;
      this.#served.set(resource, version);
      this.#unservedUntil.delete(resource);
      return { items, resourceVersion };
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
        const status = statusOf(res.body);
        // A Status naming the object: the version is served and the object is absent.
        if (status?.details?.name !== undefined) {
          this.#served.set(resource, version);
          return undefined;
        }
        continue;
      }
      if (res.status !== 200) throw apiError(what, res, this.context);
      this.#served.set(resource, version);
      const obj = validated(OBJECT, parseJson(res.body, what), what, res.status) as KubeObject;
      obj.apiVersion ??= r.group ? `${r.group}/${version}` : version;
      obj.kind ??= r.kind;
      return obj;
    }
    return undefined;
  }

  /**
   * One watch request from `resourceVersion`, with bookmarks, held open by the server for
   * `watchTimeoutSeconds`; each event's object is trimmed as list items are. A non-200
   * answer rejects with its {@linkcode KubeApiError}; no byte for the hold time plus 30 s
   * rejects as a timeout.
   */
  async #watch(
    resource: ResourceKey,
    namespace: string | undefined,
    resourceVersion: string,
    signal: AbortSignal,
    onEvent: (e: WatchEvent) => void,
    onOpen: () => void,
    compactor: Compactor,
    selectors: { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<void> {
    const r: ResourceType = RESOURCES[resource];
    const what = `Cannot watch ${qualified(r)}${
      namespace !== undefined ? ` in namespace "${namespace}"` : ""
    }`;
    if (this.#closed) {
      throw new KubeApiError(`${what}: the cluster source is closed`, {
        status: 0,
        reason: "Closed",
      });
    }
    const version = this.#versions(resource)[0]!;
    const apiVersion = r.group ? `${r.group}/${version}` : version;
    const init = this.#init;
    const query = new URLSearchParams({
      watch: "1",
      allowWatchBookmarks: "true",
      timeoutSeconds: String(init.watchTimeoutSeconds),
    });
    if (resourceVersion) query.set("resourceVersion", resourceVersion);
    if (selectors.labelSelector) query.set("labelSelector", selectors.labelSelector);
    if (selectors.fieldSelector) query.set("fieldSelector", selectors.fieldSelector);
    const opts = await this.#options(what, signal);
    const url = `${init.baseUrl}${resourcePath(r, version, namespace)}?${query}`;
    let end;
    try {
      end = await opts.transport.stream(
        url,
        {
          headers: { ...opts.headers, accept: "application/json" },
          ...(opts.auth ? { auth: opts.auth } : {}),
        },
        (init.watchTimeoutSeconds + 30) * 1000,
        signal,
        (line) => {
          const event = parseJson(stripManagedFields(line), what);
          const e = (isWatchEvent(event) ? event : validated(WATCH_EVENT, event, what, 200)) as {
            type: WatchEvent["type"];
            object: Record<string, unknown>;
          };
          if (e.type === "ERROR") return onEvent(e as WatchEvent);
          const o =
            (isObject(e.object) ? e.object : validated(OBJECT, e.object, what, 200)) as KubeObject;
          onEvent({ type: e.type, object: trimmed(o, apiVersion, r.kind, compactor) });
        },
        (status) => {
          if (status === 200) onOpen();
        },
      );
    } catch (err) {
      if (signal.aborted && err === signal.reason) throw err;
      if (err === NETWORK_TIMEOUT) {
        throw new KubeApiError(`${what}: the watch went silent`, { status: 0, reason: "Timeout" });
      }
      throw err;
    }
    if (end.status === 401) this.#unauthorized();
    if (end.status !== 200) {
      throw apiError(
        what,
        { status: end.status, headers: end.headers, body: end.body },
        this.context,
      );
    }
  }

  /** Headers and TLS options (token, token file, exec plugin, certificates). */
  async #options(what: string, signal: AbortSignal | undefined): Promise<AppliedCredentials> {
    const now = Date.now();
    if (!this.#credentials || this.#credentials.expires <= now) {
      const options = this.#init.creds.apply();
      const entry = { options, expires: now + CREDENTIALS_TTL_MS };
      this.#credentials = entry;
      options.catch(() => this.#credentials === entry && (this.#credentials = undefined));
    }
    try {
      return await raceSignal(this.#credentials.options, signal);
    } catch (err) {
      if (signal?.aborted && err === signal.reason) throw err;
      throw this.#credentialsError(what, err);
    }
  }

  /** The server refused the credentials: renew them on the next request. */
  #unauthorized(): void {
    this.#credentials = undefined;
    this.#init.creds.invalidate();
  }

  /** Why credentials could not be produced, without the plugin's or the file's content. */
  #credentialsError(what: string, err: unknown): KubeconfigError {
    const ctx = `cannot use the credentials of context "${this.context}"`;
    const denied = err instanceof Deno.errors.NotCapable ||
      err instanceof Deno.errors.PermissionDenied;
    const exec = this.#init.creds.exec;
    const e = err as { code?: string; message?: string; path?: string; syscall?: string };
    const l = exec?.last;
    const spawnError = l?.spawnError ??
      (typeof e.syscall === "string" && e.syscall.startsWith("spawn") ? e.code : undefined);
    const execFailed = l !== undefined && !denied &&
      (spawnError !== undefined || l.timedOut || (l.code !== undefined && l.code !== 0) ||
        err instanceof SyntaxError);
    if (l && execFailed) {
      const cmd = `"${l.command}"`;
      const why = spawnError === "ENOENT"
        ? `the exec plugin ${cmd} was not found: install it or add its folder to the PATH the ` +
          "server gets (MCP clients pass a minimal environment)"
        : spawnError
        ? `the exec plugin ${cmd} could not be started (${spawnError})`
        : l.timedOut
        ? `the exec plugin ${cmd} did not finish within ${EXEC_PLUGIN_TIMEOUT_MS / 1000} s ` +
          "(it may be waiting for an interactive login); log in in a terminal first"
        : l.code !== 0 && l.code !== undefined
        ? `the exec plugin ${cmd} failed with exit code ${l.code}${
          l.signal ? ` (${l.signal})` : ""
        }; its output is not shown (it may hold credentials): run it in a terminal, e.g. ` +
          "with kubectl, to see why (often: log in again)"
        : `the exec plugin ${cmd} did not print an ExecCredential (JSON with status.token)`;
      return new KubeconfigError(`${what}: ${ctx}: ${why}`, { reason: "Credentials" });
    }
    const detail = denied
      ? `Deno refused a permission (${String(e.message).split("\n")[0]})`
      : e.code === "ENOENT" || e.code === "EACCES"
      ? `cannot read ${e.path ? `"${e.path}"` : "a file it names"} (${e.code})`
      : String(e.message ?? err).split("\n")[0]!.slice(0, 200);
    return new KubeconfigError(`${what}: ${ctx}: ${detail}`, {
      reason: denied ? "PermissionDenied" : "Credentials",
    });
  }

  /**
   * One request with the cluster's credentials; network failures, timeouts and oversized
   * answers throw. A 429 or 503 with `Retry-After` is retried (at most {@linkcode MAX_RETRIES}
   * times) when the wait fits in the request's time budget (`timeoutMs` from the first try);
   * otherwise it is returned for the caller to report.
   */
  async #send(
    path: string,
    query: URLSearchParams,
    signal: AbortSignal | undefined,
    what: string,
    body?: string,
    method?: WriteMethod,
    contentType?: string,
  ): Promise<RawResponse> {
    const budgetEnd = Date.now() + this.#init.timeoutMs;
    for (let attempt = 0;; attempt++) {
      const res = await this.#sendOnce(path, query, signal, what, body, method, contentType);
      if ((res.status !== 429 && res.status !== 503) || attempt >= MAX_RETRIES) return res;
      const wait = retryAfterMs(res.headers);
      if (wait === undefined || Date.now() + wait >= budgetEnd) return res;
      this.#init.log.debug("kube request: retrying after Retry-After", {
        path,
        status: res.status,
        waitMs: wait,
      });
      await abortableSleep(wait, signal);
    }
  }

  async #sendOnce(
    path: string,
    query: URLSearchParams,
    signal: AbortSignal | undefined,
    what: string,
    body?: string,
    method?: WriteMethod,
    contentType?: string,
  ): Promise<RawResponse> {
    if (this.#closed) {
      throw new KubeApiError(`${what}: the cluster source is closed`, {
        status: 0,
        reason: "Closed",
      });
    }
    signal?.throwIfAborted();
    const init = this.#init;
    const opts = await this.#options(what, signal);
    const qs = query.toString();
    const url = `${init.baseUrl}${path}${qs ? `?${qs}` : ""}`;
    const started = performance.now();
    try {
      const res = await opts.transport.get(
        url,
        {
          headers: {
            ...opts.headers,
            accept: "application/json",
            ...(contentType ? { "content-type": contentType } : {}),
          },
          ...(opts.auth ? { auth: opts.auth } : {}),
          ...(method ? { method } : {}),
        },
        init.timeoutMs,
        signal,
        body,
      );
      if (res.status === 401) this.#unauthorized(); // renew on the next request
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
      if (err instanceof ResponseTooLarge) {
        throw new KubeApiError(
          `${what}: response from the Kubernetes API server at ${this.server} larger than ${
            mib(err.limit)
          } MiB; reading stopped there`,
          { status: 200, reason: "TooLarge" },
        );
      }
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        throw new KubeApiError(`${what}: Deno refused a permission: ${err.message}`, {
          status: 0,
          reason: "DenoPermission",
        });
      }
      const e = err as { code?: string; message?: string };
      const code = e.code ?? "NetworkError";
      if (/CERT|VERIFY|SELF_SIGNED|TLS|SSL/.test(code)) {
        throw new KubeApiError(
          `${what}: cannot verify the TLS certificate of the API server at ${this.server}: ` +
            `${e.message ?? code}; check the certificate-authority of context "${this.context}"`,
          { status: 0, reason: code },
        );
      }
      throw new KubeApiError(
        `${what}: cannot reach the API server at ${this.server}: ${e.message ?? String(err)}`,
        { status: 0, reason: code },
      );
    }
  }
}

/** Items of a list: objects with a named metadata; everything else passes through. */
const OBJECT = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().nullish(),
    // `null` is tolerated (some dumps and stand-ins carry it); domain code treats it as absent.
    labels: z.record(z.string(), z.string()).nullish(),
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
});

const LIST = z.looseObject({
  items: z.array(OBJECT).nullish(),
  metadata: z.looseObject({
    continue: z.string().optional(),
    resourceVersion: z.string().optional(),
  }).optional(),
});

const WATCH_EVENT = z.looseObject({
  type: z.enum(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]),
  object: z.looseObject({}),
});

/**
 * An object as kept: `apiVersion` and `kind` set (list items omit them), trimmed to what is
 * read and its equal parts shared with the kind's other objects (see `_compact.ts`).
 */
function trimmed(
  item: KubeObject,
  apiVersion: string,
  kind: string,
  compactor: Compactor,
): KubeObject {
  item.apiVersion ??= apiVersion;
  item.kind ??= kind;
  return compactor.compact(item);
}

/** A plain object (not null, not an array). */
function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Absent or a map of strings (labels, annotations). */
function isStringMap(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (!isRecord(v)) return false;
  for (const k in v) if (typeof v[k] !== "string") return false;
  return true;
}

function isOptionalString(v: unknown): boolean {
  return v === undefined || typeof v === "string";
}

/** What {@linkcode OBJECT} accepts, checked without copying. */
function isObject(v: unknown): boolean {
  if (!isRecord(v) || !isOptionalString(v.apiVersion) || !isOptionalString(v.kind)) return false;
  const m = v.metadata;
  return isRecord(m) && typeof m.name === "string" &&
    (m.namespace === undefined || m.namespace === null || typeof m.namespace === "string") &&
    isStringMap(m.labels) && isStringMap(m.annotations);
}

/** What {@linkcode LIST} accepts, checked without copying. */
function isList(v: unknown): boolean {
  if (!isRecord(v)) return false;
  const items = v.items;
  if (items !== undefined && items !== null) {
    if (!Array.isArray(items)) return false;
    for (const item of items) if (!isObject(item)) return false;
  }
  const m = v.metadata;
  return m === undefined ||
    (isRecord(m) && isOptionalString(m.continue) && isOptionalString(m.resourceVersion));
}

/** What {@linkcode WATCH_EVENT} accepts, checked without copying. */
function isWatchEvent(v: unknown): boolean {
  return isRecord(v) && typeof v.type === "string" &&
    ["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"].includes(v.type) && isRecord(v.object);
}

/** `; watch-fed snapshot: pods, services watched (last change 09:40:01Z)`, or "" before any. */
function freshness(info: SnapshotInfo): string {
  const parts: string[] = [];
  if (info.watched.length) {
    parts.push(
      `${info.watched.join(", ")} kept current by watches${
        info.lastChange ? ` (last change ${info.lastChange})` : ""
      }`,
    );
  }
  if (info.reconnecting.length) {
    parts.push(`${info.reconnecting.join(", ")} reconnecting (listed meanwhile)`);
  }
  if (info.listed.length) {
    parts.push(
      `${info.listed.join(", ")} listed per call (watch forbidden; reused for ${
        info.cacheTtlMs / 1000
      } s)`,
    );
  }
  return parts.length ? `; snapshot: ${parts.join("; ")}` : "";
}

const TOKEN_REVIEW = z.looseObject({
  status: z.looseObject({
    authenticated: z.boolean().optional(),
    user: z.looseObject({ username: z.string().optional() }).optional(),
  }).optional(),
});

/**
 * Checks an answer's shape.
 *
 * @throws {KubeApiError} (reason `BadResponse`) "unexpected answer from the Kubernetes API
 * server: items[3].metadata.name: expected string, received null".
 */
function validated<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  status: number,
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = issue.path.length
    ? issue.path.map((p, i) =>
      typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`
    ).join("")
    : "the answer";
  throw new KubeApiError(
    `${what}: unexpected answer from the Kubernetes API server: ${at}: ${
      issue.message.replace(/^Invalid input: /, "")
    }`,
    { status, reason: "BadResponse" },
  );
}

/** Registers the password of a URL's userinfo. */
function registerUrlPassword(url: string): void {
  try {
    const u = new URL(url);
    if (u.password) {
      registerBasicAuth(decodeURIComponent(u.username), decodeURIComponent(u.password));
    }
  } catch {
    // not a URL: client-node will say so
  }
}

/** A watch-fed cache's scope: all of a kind, or its objects in a namespace, selected, or one. */
interface Scope {
  resource: ResourceKey;
  namespace?: string;
  labelSelector?: string;
  /** One object, by `metadata.name`. */
  name?: string;
}

/** `pods|emojivoto|app=web|`: the key of a cache (no part holds a `|`). */
function scopeKey(
  resource: ResourceKey,
  namespace?: string,
  labelSelector?: string,
  name?: string,
): string {
  return `${resource}|${namespace ?? ""}|${labelSelector ?? ""}|${name ?? ""}`;
}

function parseScopeKey(key: string): Scope {
  const [resource, namespace, labelSelector, name] = key.split("|") as [
    ResourceKey,
    string,
    string,
    string,
  ];
  return {
    resource,
    ...(namespace ? { namespace } : {}),
    ...(labelSelector ? { labelSelector } : {}),
    ...(name ? { name } : {}),
  };
}

/** `pods`, `pods (emojivoto)`, `pods [app=web]`, `configmaps (linkerd/linkerd-config)`. */
function scopeName(s: Scope): string {
  const where = s.name !== undefined ? `${s.namespace ?? ""}/${s.name}` : s.namespace;
  return `${s.resource}${where ? ` (${where})` : ""}${
    s.labelSelector ? ` [${s.labelSelector}]` : ""
  }`;
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

  async get(
    resource: ResourceKey,
    name: string,
    namespace?: string,
    opts?: { signal?: AbortSignal },
  ) {
    return (await this.#connect()).get(resource, name, namespace, opts);
  }

  async proxyGet(path: string, params: Record<string, string>, signal?: AbortSignal) {
    return (await this.#connect()).proxyGet(path, params, signal);
  }

  async reviewToken(token: string, signal?: AbortSignal): Promise<TokenReviewResult> {
    return (await this.#connect()).reviewToken(token, signal);
  }

  async request(method: WriteMethod, path: string, opts?: RawRequestOptions) {
    return (await this.#connect()).request(method, path, opts);
  }

  snapshotInfo(): SnapshotInfo {
    return this.#ready?.snapshotInfo?.() ??
      { watched: [], reconnecting: [], listed: [], cacheTtlMs: this.#opts.cacheTtlMs ?? 3000 };
  }

  sourceInfo(): SourceInfo {
    const ready = this.#ready?.sourceInfo?.();
    if (ready) return ready;
    const info: SourceInfo = { kind: "live", description: this.describe(), context: this.context };
    if (/^https?:\/\//.test(this.server)) info.server = this.server;
    return info;
  }

  async close(): Promise<void> {
    if (this.#inner) await (await this.#inner.catch(() => undefined))?.close();
  }
}
