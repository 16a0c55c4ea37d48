/**
 * A Kubernetes API stand-in for tests: HTTPS with a self-signed CA (the TEST-ONLY
 * certificates in `certs/`), bearer-token auth, list/get/watch with label selectors,
 * `limit`/`continue` pagination and `Status` errors, plus knobs for latency and
 * failures and a log of the requests it answered. Watches honour `resourceVersion` and
 * `timeoutSeconds`, stream the changes of {@linkcode Standin.setObjects}, and after
 * {@linkcode Standin.compact} answer a too-old version with 200 and an `ERROR` 410 event.
 *
 * Fault injection ({@linkcode Standin.fault}): hang (never answer), garbage (a body that is not
 * what was asked for), huge bodies (streamed, never held in memory), endless `continue` pages,
 * 429/503 with `Retry-After`, and error bodies that echo the request's `Authorization` header. It serves exactly the resources of
 * `RESOURCES` (every listed version, unless told not to) and writes a kubeconfig.
 *
 * The real `@kubernetes/client-node` talks to it over the network.
 *
 * @module
 */
import { stringify as stringifyYaml } from "yaml";
import {
  RESOURCE_KEYS,
  type ResourceKey,
  resourceKeyFor,
  RESOURCES,
} from "../../src/kube/resources.ts";
import { type LabelSelector, matchesSelector, parseSelector } from "../../src/kube/selectors.ts";
import { serveNodeHttps } from "./node_serve.ts";
import type { KubeObject } from "../../src/kube/types.ts";

const CERTS = new URL("./certs/", import.meta.url);
const TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews";

/** The stand-in's TEST-ONLY CA certificate (PEM). */
export const STANDIN_CA_PEM = Deno.readTextFileSync(new URL("ca.crt", CERTS));
const SERVER_CERT = Deno.readTextFileSync(new URL("server.crt", CERTS));
const SERVER_KEY = Deno.readTextFileSync(new URL("server.key", CERTS));

/** The token the stand-in accepts unless told otherwise. */
export const STANDIN_TOKEN = "standin-token-0123456789";

/** One request the stand-in answered. */
export interface StandinRequest {
  method: string;
  /** Path without the query. */
  path: string;
  /** The query parameters. */
  query: Record<string, string>;
  status: number;
}

/** Options for {@linkcode startStandin}. */
export interface StandinOptions {
  /** Objects served; kinds outside `RESOURCES` are ignored. */
  objects?: readonly KubeObject[];
  /** Bearer token required; `null` turns authentication off. Default {@linkcode STANDIN_TOKEN}. */
  token?: string | null;
  /** Delay before every answer. */
  latencyMs?: number;
  /**
   * Namespaces and resources (plural or `plural.group`) answered with 403. A forbidden
   * namespace also forbids all-namespace lists of namespaced resources, as RBAC would.
   * With `verbs` (`get`, `list`, `watch`), only those verbs are forbidden. With
   * `exceptNames`, requests naming one of those objects are allowed, as RBAC `resourceNames`
   * grant them: a get by name, a list or watch with `fieldSelector=metadata.name=NAME`.
   */
  forbidden?: {
    namespaces?: string[];
    resources?: string[];
    verbs?: string[];
    exceptNames?: string[];
  };
  /**
   * Not served (404), each as `plural.group` (all versions, e.g. `servers.policy.linkerd.io`),
   * `group/version` or `group/version/plural` (core group: `v1/pods`).
   */
  unserved?: string[];
  /** Answers `/api/v1/namespaces/{ns}/services/{svc}/proxy/{rest}` requests. */
  proxy?: (req: { namespace: string; service: string; rest: string; url: URL }) => Response;
  /** Extra kubeconfig contexts, all pointing at the stand-in. */
  contexts?: Array<{ name: string; token?: string }>;
  /**
   * Answers `POST /apis/authentication.k8s.io/v1/tokenreviews`: the username of each
   * token the "cluster" knows (anything else is unauthenticated). Off when absent.
   */
  tokenReviews?: Record<string, string>;
}

/** Faults the stand-in can inject (see {@linkcode Standin.fault}); all off by default. */
export interface StandinFaults {
  /** Never answer (until the client goes away or the stand-in closes). */
  hang?: boolean;
  /** Answer every request 200 with this body (content type `application/json`). */
  garbage?: string;
  /** Answer every request 200 with a JSON-looking body of this many bytes, streamed. */
  hugeBytes?: number;
  /** Every list page carries a fresh `continue` token (the list never ends). */
  endlessContinue?: boolean;
  /** The next `times` requests get `status` with `Retry-After: retryAfter` (seconds). */
  throttle?: { status: 429 | 503; retryAfter?: string; times: number };
  /**
   * Every request fails with `status` (default 500) and an error body that echoes the
   * request's `Authorization` header: as a Kubernetes `Status` message (`"status"`) or as
   * plain text (`"text"`).
   */
  echoAuthorization?: { as: "status" | "text"; status?: number };
}

/** A running stand-in. */
export interface Standin {
  /** `https://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /**
   * A kubeconfig (in a temp dir) with clusters and contexts: `standin` (the right token,
   * current), `standin-wrong-token`, `standin-ca-file` (CA by file path) and the extra
   * `contexts`.
   */
  readonly kubeconfigPath: string;
  /** The temp dir holding the kubeconfig and `ca.crt`. */
  readonly dir: string;
  /** Requests answered so far, oldest first. */
  readonly requests: StandinRequest[];
  /** Requests received so far (answered or not: a hung request counts at once). */
  readonly received: number;
  /** Body bytes the `hugeBytes` fault has sent so far. */
  readonly hugeBytesSent: number;
  /** Requests in flight (received, not yet answered or abandoned). */
  readonly inFlight: number;
  /** Sets (merges) faults; `fault({})` leaves them, {@linkcode clearFaults} removes them. */
  fault(faults: StandinFaults): void;
  clearFaults(): void;
  setLatency(ms: number): void;
  /** The next `n` requests fail with `status` (default 500). */
  failNext(n: number, status?: number): void;
  /** Every request fails with `status` until called with `undefined`. */
  failAlways(status: number | undefined): void;
  /** Stops or starts serving a resource (see {@linkcode StandinOptions.unserved}). */
  unserve(entry: string): void;
  serve(entry: string): void;
  /** While on, every request with a `continue` token gets 410 Expired. */
  expireContinueTokens(on: boolean): void;
  /**
   * Replaces the objects served. Resource versions keep growing; open watches get an
   * `ADDED`, `MODIFIED` or `DELETED` event for each object that changed.
   */
  setObjects(objects: readonly KubeObject[]): void;
  /**
   * Forgets the history up to the current resource version, as an etcd compaction does:
   * a later watch from an older `resourceVersion` gets HTTP 200 and one `ERROR` event
   * carrying a 410 Expired Status (the real server's answer for an etcd-served watch).
   */
  compact(): void;
  /** Watches open now. */
  readonly openWatches: number;
  close(): Promise<void>;
}

interface Indexed {
  byKey: Map<ResourceKey, KubeObject[]>;
  resourceVersion: number;
}

/** Indexes objects by resource type; like an API server, assigns each a resourceVersion above `after`. */
function index(objects: readonly KubeObject[], after = 1000): Indexed {
  const byKey = new Map<ResourceKey, KubeObject[]>();
  for (const key of RESOURCE_KEYS) byKey.set(key, []);
  let rv = after;
  for (const obj of objects) {
    const key = resourceKeyFor(obj.apiVersion, obj.kind);
    if (!key) continue;
    rv++;
    byKey.get(key)!.push({
      ...obj,
      metadata: { uid: `uid-${rv}`, ...obj.metadata, resourceVersion: String(rv) },
    });
  }
  for (const list of byKey.values()) {
    list.sort((a, b) =>
      (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
      a.metadata.name.localeCompare(b.metadata.name)
    );
  }
  return { byKey, resourceVersion: rv };
}

function status(
  code: number,
  reason: string,
  message: string,
  details?: object,
  headers: Record<string, string> = {},
): Response {
  return Response.json(
    {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    },
    { status: code, headers },
  );
}

function notFoundPath(): Response {
  return status(404, "NotFound", "the server could not find the requested resource");
}

/** The NAME of a `fieldSelector=metadata.name=NAME` (the only field selector served). */
function fieldSelectedName(url: URL): string | undefined {
  return url.searchParams.get("fieldSelector")?.match(/^metadata\.name==?([^,=!]+)$/)?.[1];
}

/** An open watch. */
interface Watcher {
  key: ResourceKey;
  matches(o: KubeObject): boolean;
  send(type: string, o: KubeObject): void;
  end(): void;
}

/** A parsed REST path. */
interface Route {
  key: ResourceKey;
  group: string;
  version: string;
  namespace?: string;
  name?: string;
}

function parsePath(path: string): Route | "unknown" {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return "unknown";
  let namespace: string | undefined;
  // `namespaces/{ns}/{plural}...`; a bare `namespaces[/{name}]` is the Namespace resource.
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 2) return "unknown";
  const [plural, name] = rest;
  const key = RESOURCE_KEYS.find((k) => {
    const r = RESOURCES[k];
    return r.group === group && r.plural === plural;
  });
  if (!key) return "unknown";
  if (namespace !== undefined && !RESOURCES[key].namespaced) return "unknown";
  return {
    key,
    group,
    version,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Starts the stand-in on `127.0.0.1` with a random port and writes its kubeconfig.
 *
 * @example Usage
 * ```ts ignore
 * const api = await startStandin({ objects });
 * try { ... api.kubeconfigPath ... } finally { await api.close(); }
 * ```
 */
export async function startStandin(opts: StandinOptions = {}): Promise<Standin> {
  let state = index(opts.objects ?? []);
  let latencyMs = opts.latencyMs ?? 0;
  let failCount = 0;
  let failStatus = 500;
  let failAlways: number | undefined;
  let expireContinue = false;
  const unserved = new Set(opts.unserved ?? []);
  const token = opts.token === undefined ? STANDIN_TOKEN : opts.token;
  const requests: StandinRequest[] = [];
  const closing = new AbortController();
  let faults: StandinFaults = {};
  let received = 0;
  let inFlight = 0;
  let hugeBytesSent = 0;
  let endlessPage = 0;
  /** Watches from a resourceVersion below this get 410 Expired (see `compact()`). */
  let compactedRv = 0;
  const watchers = new Set<Watcher>();

  function isServed(route: Route): boolean {
    const r = RESOURCES[route.key];
    if (!(r.versions as readonly string[]).includes(route.version)) return false;
    const gv = route.group ? `${route.group}/${route.version}` : route.version;
    const qualified = route.group ? `${r.plural}.${route.group}` : r.plural;
    return !unserved.has(qualified) && !unserved.has(gv) && !unserved.has(`${gv}/${r.plural}`);
  }

  function forbidden(route: Route, verb: string, url: URL): Response | undefined {
    const r = RESOURCES[route.key];
    const named = route.name ?? fieldSelectedName(url);
    if (named !== undefined && opts.forbidden?.exceptNames?.includes(named)) return undefined;
    const qualified = route.group ? `${r.plural}.${route.group}` : r.plural;
    const resources = opts.forbidden?.resources ?? [];
    const namespaces = opts.forbidden?.namespaces ?? [];
    const verbs = opts.forbidden?.verbs;
    if (verbs && !verbs.includes(verb)) return undefined;
    const denied = resources.includes(r.plural) || resources.includes(qualified) ||
      (route.namespace !== undefined && namespaces.includes(route.namespace)) ||
      (route.namespace === undefined && r.namespaced && namespaces.length > 0);
    if (!denied) return undefined;
    const where = route.namespace !== undefined
      ? ` in the namespace "${route.namespace}"`
      : " at the cluster scope";
    return status(
      403,
      "Forbidden",
      `${qualified} is forbidden: User "system:serviceaccount:test:linkerd-mcp" cannot ${verb} ` +
        `resource "${r.plural}" in API group "${route.group}"${where}`,
      { kind: r.plural, ...(route.group ? { group: route.group } : {}) },
    );
  }

  function withVersion(obj: KubeObject, route: Route): KubeObject {
    const apiVersion = route.group ? `${route.group}/${route.version}` : route.version;
    return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
  }

  function selected(route: Route, url: URL): KubeObject[] | Response {
    return selectedFrom(state.byKey.get(route.key) ?? [], route, url);
  }

  function selectedFrom(
    from: readonly KubeObject[],
    route: Route,
    url: URL,
  ): KubeObject[] | Response {
    let selector: LabelSelector | undefined;
    const text = url.searchParams.get("labelSelector");
    if (text) {
      try {
        selector = parseSelector(text);
      } catch (err) {
        return status(400, "BadRequest", `unable to parse requirement: ${(err as Error).message}`);
      }
    }
    const fields = url.searchParams.get("fieldSelector");
    const byName = fieldSelectedName(url);
    if (fields && byName === undefined) {
      return status(400, "BadRequest", `field label not supported by the stand-in: ${fields}`);
    }
    return from.filter((o) =>
      (route.namespace === undefined || o.metadata.namespace === route.namespace) &&
      (!selector || matchesSelector(selector, o.metadata.labels)) &&
      (byName === undefined || o.metadata.name === byName)
    );
  }

  function list(route: Route, url: URL): Response {
    const items = selected(route, url);
    if (items instanceof Response) return items;
    const r = RESOURCES[route.key];
    const apiVersion = route.group ? `${route.group}/${route.version}` : route.version;
    let offset = 0;
    const cont = url.searchParams.get("continue");
    if (cont && expireContinue) {
      return status(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result.",
      );
    }
    if (cont) {
      try {
        offset = (JSON.parse(atob(cont)) as { o: number }).o;
        if (faults.endlessContinue) offset = 0;
        if (!Number.isInteger(offset) || offset < 0) throw new TypeError("bad offset");
      } catch {
        return status(400, "BadRequest", "continue key is not valid: bad token");
      }
    }
    const limit = Number(url.searchParams.get("limit") ?? "0");
    const end = limit > 0 ? Math.min(items.length, offset + limit) : items.length;
    const page = items.slice(offset, end).map((o) => withVersion(o, route));
    const metadata: Record<string, unknown> = { resourceVersion: String(state.resourceVersion) };
    if (faults.endlessContinue) {
      metadata["continue"] = btoa(JSON.stringify({ o: 0, endless: ++endlessPage }));
    } else if (end < items.length) {
      metadata["continue"] = btoa(JSON.stringify({ o: end }));
      metadata["remainingItemCount"] = items.length - end;
    }
    return Response.json({ kind: `${r.kind}List`, apiVersion, metadata, items: page });
  }

  /**
   * A watch as the real API server answers it: without `resourceVersion` (or with "0") an
   * `ADDED` event per existing object first; from `resourceVersion` N only what changed
   * after N; from a version older than the last {@linkcode Standin.compact} HTTP 200 and
   * one `ERROR` event with a 410 Expired Status. It stays open for `timeoutSeconds` (capped
   * at 60 s; ends after the initial events when absent) and streams the changes
   * {@linkcode Standin.setObjects} makes meanwhile.
   */
  function watch(route: Route, url: URL): Response {
    const items = selected(route, url);
    if (items instanceof Response) return items;
    const rvText = url.searchParams.get("resourceVersion") ?? "";
    const from = rvText === "" || rvText === "0" ? undefined : Number(rvText);
    if (from !== undefined && !(Number.isSafeInteger(from) && from > 0)) {
      return status(
        400,
        "BadRequest",
        `resourceVersion: Invalid value: "${rvText}": invalid resource version`,
      );
    }
    const timeoutText = url.searchParams.get("timeoutSeconds");
    const holdMs = timeoutText ? Math.min(Math.max(Number(timeoutText) || 0, 0), 60) * 1000 : 0;
    const enc = new TextEncoder();
    const line = (type: string, object: unknown) =>
      enc.encode(JSON.stringify({ type, object }) + "\n");
    let watcher: Watcher | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        if (from !== undefined && from < compactedRv) {
          controller.enqueue(line("ERROR", {
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Failure",
            message: "The resourceVersion for the provided watch is too old.",
            reason: "Expired",
            code: 410,
          }));
          controller.close();
          return;
        }
        for (const o of items) {
          if (from === undefined || Number(o.metadata.resourceVersion) > from) {
            controller.enqueue(line("ADDED", withVersion(o, route)));
          }
        }
        if (holdMs === 0) return controller.close();
        const end = () => {
          if (!watcher) return;
          watchers.delete(watcher);
          clearTimeout(timer);
          closing.signal.removeEventListener("abort", end);
          watcher = undefined;
          try {
            controller.close();
          } catch {
            // the client went away
          }
        };
        const timer = setTimeout(end, holdMs);
        closing.signal.addEventListener("abort", end, { once: true });
        watcher = {
          matches: (o) => {
            const one = selectedFrom([o], route, url);
            return Array.isArray(one) && one.length === 1;
          },
          send: (type, o) => controller.enqueue(line(type, withVersion(o, route))),
          key: route.key,
          end,
        };
        watchers.add(watcher);
      },
      cancel() {
        watcher?.end();
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  /** Tells open watches what `next` changes compared with `prev`. */
  function notifyWatchers(prev: Indexed, next: Indexed): void {
    const id = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    const strip = (o: KubeObject) =>
      JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: "", uid: "" } });
    for (const key of RESOURCE_KEYS) {
      const before = new Map((prev.byKey.get(key) ?? []).map((o) => [id(o), o]));
      const after = new Map((next.byKey.get(key) ?? []).map((o) => [id(o), o]));
      const events: Array<[string, KubeObject]> = [];
      for (const [k, o] of after) {
        const old = before.get(k);
        if (!old) {
          events.push(["ADDED", o]);
          continue;
        }
        o.metadata.uid = old.metadata.uid; // the same object
        if (strip(old) !== strip(o)) events.push(["MODIFIED", o]);
        else o.metadata.resourceVersion = old.metadata.resourceVersion; // unchanged
      }
      for (const [k, o] of before) {
        if (!after.has(k)) {
          events.push(["DELETED", {
            ...o,
            metadata: { ...o.metadata, resourceVersion: String(next.resourceVersion) },
          }]);
        }
      }
      for (const w of watchers) {
        if (w.key !== key) continue;
        for (const [type, o] of events) if (w.matches(o)) w.send(type, o);
      }
    }
  }

  function get(route: Route): Response {
    const r = RESOURCES[route.key];
    const found = (state.byKey.get(route.key) ?? []).find((o) =>
      o.metadata.name === route.name &&
      (!r.namespaced || o.metadata.namespace === route.namespace)
    );
    if (!found) {
      const qualified = route.group ? `${r.plural}.${route.group}` : r.plural;
      return status(404, "NotFound", `${qualified} "${route.name}" not found`, {
        name: route.name,
        kind: r.plural,
        ...(route.group ? { group: route.group } : {}),
      });
    }
    return Response.json(withVersion(found, route));
  }

  async function reviewToken(req: Request, known: Record<string, string>): Promise<Response> {
    if (token !== null && req.headers.get("authorization") !== `Bearer ${token}`) {
      return status(401, "Unauthorized", "Unauthorized");
    }
    const review = await req.json() as { kind?: string; spec?: { token?: string } };
    if (review.kind !== "TokenReview") return status(400, "BadRequest", "not a TokenReview");
    const username = known[review.spec?.token ?? ""];
    return Response.json({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      status: username ? { authenticated: true, user: { username } } : { authenticated: false },
    }, { status: 201 });
  }

  function answer(req: Request, url: URL): Response {
    if (token !== null && req.headers.get("authorization") !== `Bearer ${token}`) {
      return status(401, "Unauthorized", "Unauthorized");
    }
    if (failAlways !== undefined) {
      return status(failAlways, "InternalError", "stand-in failure (always)");
    }
    if (failCount > 0) {
      failCount--;
      return status(failStatus, "InternalError", "stand-in failure (next)");
    }
    if (req.method !== "GET") return status(405, "MethodNotAllowed", "the stand-in is read-only");
    const proxy = url.pathname.match(
      /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/,
    );
    if (proxy) {
      if (!opts.proxy) return notFoundPath();
      return opts.proxy({
        namespace: decodeURIComponent(proxy[1]!),
        service: decodeURIComponent(proxy[2]!),
        rest: proxy[3] ?? "/",
        url,
      });
    }
    const route = parsePath(url.pathname);
    if (route === "unknown" || !isServed(route)) return notFoundPath();
    const isWatch = ["1", "true"].includes(url.searchParams.get("watch") ?? "");
    const verb = route.name !== undefined ? "get" : isWatch ? "watch" : "list";
    const denied = forbidden(route, verb, url);
    if (denied) return denied;
    if (route.name !== undefined) return get(route);
    return isWatch ? watch(route, url) : list(route, url);
  }

  // Not Deno.serve: its TLS stalls Deno's fetch ~40 ms a request (see node_serve.ts).
  const server = await serveNodeHttps({
    hostname: "127.0.0.1",
    port: 0,
    cert: SERVER_CERT,
    key: SERVER_KEY,
    signal: closing.signal,
    onError(err) {
      return status(500, "InternalError", `stand-in error: ${String(err)}`);
    },
  }, async (req) => {
    const url = new URL(req.url);
    received++;
    inFlight++;
    try {
      await sleep(latencyMs, closing.signal);
      const faulty = await injected(req);
      const res = faulty ??
        (req.method === "POST" && url.pathname === TOKEN_REVIEWS && opts.tokenReviews
          ? await reviewToken(req, opts.tokenReviews)
          : answer(req, url));
      record(req, url, res);
      return res;
    } finally {
      inFlight--;
    }
  });

  /** The answer of an injected fault, or `undefined` to answer normally. */
  async function injected(req: Request): Promise<Response | undefined> {
    if (faults.hang) {
      await new Promise<void>((resolve) => {
        const gone = AbortSignal.any([req.signal, closing.signal]);
        if (gone.aborted) return resolve();
        gone.addEventListener("abort", () => resolve(), { once: true });
      });
      return new Response(null, { status: 504 });
    }
    const t = faults.throttle;
    if (t && t.times > 0) {
      t.times--;
      return status(
        t.status,
        t.status === 429 ? "TooManyRequests" : "ServiceUnavailable",
        "stand-in is throttling",
        undefined,
        t.retryAfter !== undefined ? { "retry-after": t.retryAfter } : {},
      );
    }
    const echo = faults.echoAuthorization;
    if (echo) {
      const auth = req.headers.get("authorization") ?? "(none)";
      const code = echo.status ?? 500;
      if (echo.as === "text") {
        return new Response(`upstream proxy error; request had Authorization: ${auth}\n`, {
          status: code,
          headers: { "content-type": "text/plain" },
        });
      }
      return status(
        code,
        "InternalError",
        `internal error handling request with header authorization=${auth} and ${auth}`,
      );
    }
    if (faults.garbage !== undefined) {
      return new Response(faults.garbage, { headers: { "content-type": "application/json" } });
    }
    if (faults.hugeBytes !== undefined) {
      const total = faults.hugeBytes;
      const chunk = new TextEncoder().encode(
        `{"metadata":{"name":"x"},"filler":"${"x".repeat(65_000)}"},`,
      );
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"kind":"PodList","items":['));
        },
        pull(c) {
          if (sent >= total) return c.close();
          const n = Math.min(chunk.length, total - sent);
          c.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
          sent += n;
          hugeBytesSent += n;
        },
      }, { highWaterMark: 1 });
      return new Response(body, { headers: { "content-type": "application/json" } });
    }
    return undefined;
  }

  function record(req: Request, url: URL, res: Response): void {
    requests.push({
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: res.status,
    });
  }

  const port = server.addr.port;
  const url = `https://127.0.0.1:${port}`;
  const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-standin-" });
  await Deno.writeTextFile(`${dir}/ca.crt`, STANDIN_CA_PEM);
  const kubeconfigPath = `${dir}/config`;
  await Deno.writeTextFile(kubeconfigPath, standinKubeconfig(url, token, opts.contexts));

  return {
    url,
    port,
    kubeconfigPath,
    dir,
    requests,
    get received() {
      return received;
    },
    get hugeBytesSent() {
      return hugeBytesSent;
    },
    get inFlight() {
      return inFlight;
    },
    fault(f) {
      faults = { ...faults, ...f };
    },
    clearFaults() {
      faults = {};
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    failNext(n, code = 500) {
      failCount = n;
      failStatus = code;
    },
    failAlways(code) {
      failAlways = code;
    },
    unserve(entry) {
      unserved.add(entry);
    },
    serve(entry) {
      unserved.delete(entry);
    },
    expireContinueTokens(on) {
      expireContinue = on;
    },
    setObjects(objects) {
      const prev = state;
      state = index(objects, prev.resourceVersion);
      notifyWatchers(prev, state);
    },
    compact() {
      compactedRv = state.resourceVersion;
    },
    get openWatches() {
      return watchers.size;
    },
    async close() {
      closing.abort();
      await server.finished;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The kubeconfig text for a stand-in at `url` (CA embedded, or by the relative file `ca.crt`). */
function standinKubeconfig(
  url: string,
  token: string | null,
  extra: StandinOptions["contexts"] = [],
): string {
  const caData = btoa(STANDIN_CA_PEM);
  const users = [
    { name: "standin", user: token !== null ? { token } : {} },
    { name: "standin-wrong-token", user: { token: "wrong-token-0123456789" } },
    ...extra.map((c) => ({ name: c.name, user: c.token ? { token: c.token } : {} })),
  ];
  const contexts = [
    { name: "standin", context: { cluster: "standin", user: "standin" } },
    { name: "standin-wrong-token", context: { cluster: "standin", user: "standin-wrong-token" } },
    { name: "standin-ca-file", context: { cluster: "standin-ca-file", user: "standin" } },
    ...extra.map((c) => ({ name: c.name, context: { cluster: "standin", user: c.name } })),
  ];
  return stringifyYaml({
    apiVersion: "v1",
    kind: "Config",
    "current-context": "standin",
    clusters: [
      { name: "standin", cluster: { server: url, "certificate-authority-data": caData } },
      { name: "standin-ca-file", cluster: { server: url, "certificate-authority": "ca.crt" } },
    ],
    users,
    contexts,
    preferences: {},
  });
}

if (import.meta.main) {
  // `deno run -A tests/support/kube_standin.ts [PODS] [chart-rbac]`: serves a synthetic
  // cluster, prints `{"url","kubeconfigPath"}` on one line, and stops when stdin closes.
  // `chart-rbac`: ConfigMaps readable by name only (the Helm chart's Role).
  const { syntheticCluster } = await import("./synthetic.ts");
  const { LINKERD_CONFIGMAPS } = await import("../../src/kube/state.ts");
  const pods = Number(Deno.args[0] ?? 100);
  const api = await startStandin({
    objects: syntheticCluster({ pods, services: Math.max(1, Math.round(pods / 5)) }),
    ...(Deno.args[1] === "chart-rbac"
      ? { forbidden: { resources: ["configmaps"], exceptNames: [...LINKERD_CONFIGMAPS] } }
      : {}),
  });
  Deno.stdout.writeSync(
    new TextEncoder().encode(
      JSON.stringify({ url: api.url, kubeconfigPath: api.kubeconfigPath }) + "\n",
    ),
  );
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  await api.close();
}
