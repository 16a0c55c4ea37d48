/**
 * The Kubernetes API stand-in of `bench/peer_bench.ts`, in its own process (so that its
 * memory and CPU are not the servers'): serves `syntheticCluster({ pods, services: pods/5 })`
 * over HTTPS, prints `{"url","kubeconfigPath","directKubeconfigPath","objects","kinds"}` on one line
 * (`directKubeconfigPath`: the stand-in's own kubeconfig, without the front), then answers one
 * command a line on stdin with one JSON line on stdout.
 *
 * The stand-in (tests/support/kube_standin.ts) serves no discovery (`/api`, `/apis`,
 * `/version`), which client-go (the Go kubernetes-mcp-server) needs before any list. So a
 * front server on another port answers discovery from `RESOURCES` and forwards everything
 * else to the stand-in (over a kept-alive HTTPS connection, bodies streamed, watches too).
 * The kubeconfig printed points at the front, and both servers of the benchmark use it:
 * the same path, the same extra hop. Commands:
 *
 * - `count`: the requests answered so far, by kind (see {@linkcode RequestCounts});
 * - `paths`: the same, plus the answered paths of requests that were not lists, gets or watches;
 * - `since N`: the distinct paths (and label selectors) of the non-watch requests answered
 *   after the first N (N: an earlier count's `total`).
 *
 * It stops when stdin closes.
 *
 * Run: `deno run -A bench/_peer_standin.ts PODS` (started by `bench/peer_bench.ts`)
 *
 * @module
 */
import { stringify as stringifyYaml } from "yaml";
import { RESOURCES } from "../src/kube/resources.ts";
import {
  STANDIN_CA_PEM,
  STANDIN_TOKEN,
  type StandinRequest,
  startStandin,
} from "../tests/support/kube_standin.ts";
import { serveNodeHttps } from "../tests/support/node_serve.ts";
import { syntheticCluster } from "../tests/support/synthetic.ts";

/** Requests the stand-in answered, by kind. */
export interface RequestCounts {
  /** Every request answered. */
  total: number;
  /** Collection GETs without `watch` (each page of a paged list counts). */
  lists: number;
  /** GETs of one named object. */
  gets: number;
  /** Watches opened (long-lived; not counted in `lists` or `gets`). */
  watches: number;
  /** Anything else: POSTs, unknown paths (404). */
  other: number;
  /**
   * Discovery (`/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`, `/version`) and
   * SelfSubjectAccessReviews, answered by the front server.
   */
  discovery: number;
  /**
   * Milliseconds the front spent on `as=Table` lists (upstream list, parse, printing, JSON):
   * the API server's share of a Go `pods_list`, included in its time.
   */
  tableMs: number;
}

/** The discovery documents of `RESOURCES`, by path; `undefined` for any other path. */
export function discoveryDocument(path: string, serverAddress: string): unknown {
  // Every resource the stand-in serves, plus the SelfSubjectAccessReview client-go's CanI posts.
  const types = [
    ...Object.values(RESOURCES).map((r) => ({ ...r, verbs: ["get", "list", "watch"] })),
    {
      group: "authorization.k8s.io",
      versions: ["v1"],
      plural: "selfsubjectaccessreviews",
      kind: "SelfSubjectAccessReview",
      namespaced: false,
      verbs: ["create"],
    },
  ];
  const resourcesOf = (group: string, version: string) =>
    types.filter((r) => r.group === group && (r.versions as readonly string[]).includes(version))
      .map((r) => ({
        name: r.plural,
        singularName: r.kind.toLowerCase(),
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
      }));
  const parts = path.split("/").filter(Boolean);
  if (path === "/version") {
    return {
      major: "1",
      minor: "34",
      gitVersion: "v1.34.0-standin",
      platform: "linux/amd64",
      goVersion: "go1.26",
    };
  }
  if (path === "/api") {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
    };
  }
  if (path === "/api/v1") {
    return { kind: "APIResourceList", groupVersion: "v1", resources: resourcesOf("", "v1") };
  }
  if (path === "/apis") {
    const groups = [...new Set(types.map((r) => r.group).filter(Boolean))].map((name) => {
      const versions = [
        ...new Set(types.filter((r) => r.group === name).flatMap((r) => [...r.versions])),
      ];
      const gv = (version: string) => ({ groupVersion: `${name}/${version}`, version });
      return { name, versions: versions.map(gv), preferredVersion: gv(versions[0]!) };
    });
    return { kind: "APIGroupList", apiVersion: "v1", groups };
  }
  if (parts[0] === "apis" && parts.length === 3) {
    const resources = resourcesOf(parts[1]!, parts[2]!);
    if (!resources.length) return undefined;
    return { kind: "APIResourceList", groupVersion: `${parts[1]}/${parts[2]}`, resources };
  }
  return undefined;
}

const ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

interface ListLike {
  kind?: string;
  metadata?: Record<string, unknown>;
  items?: Array<{
    metadata: { name: string; creationTimestamp?: string } & Record<string, unknown>;
    spec?: { nodeName?: string; containers?: unknown[] };
    status?: {
      phase?: string;
      podIP?: string;
      containerStatuses?: Array<{ ready?: boolean; restartCount?: number }>;
    };
  }>;
}

/** `kubectl`'s age text: `45s`, `12m`, `5h`, `30d`. */
function age(created: string | undefined, now = Date.now()): string {
  if (!created) return "<unknown>";
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/**
 * The API server's server-side printing (`Accept: application/json;as=Table;...`, what
 * `kubectl get` and the Go server's default table output ask for): pods with kubectl's
 * columns, any other kind with Name and Created At; each row carries the object's metadata
 * (`includeObject=Metadata`, the default).
 */
export function asServerTable(list: ListLike): unknown {
  const items = list.items ?? [];
  const pods = list.kind === "PodList";
  const columnDefinitions = pods
    ? [
      ["Name", "string", 0],
      ["Ready", "string", 0],
      ["Status", "string", 0],
      ["Restarts", "string", 0],
      ["Age", "string", 0],
      ["IP", "string", 1],
      ["Node", "string", 1],
      ["Nominated Node", "string", 1],
      ["Readiness Gates", "string", 1],
    ]
    : [["Name", "string", 0], ["Created At", "date", 0]];
  const rows = items.map((o) => {
    const statuses = o.status?.containerStatuses ?? [];
    const cells = pods
      ? [
        o.metadata.name,
        `${statuses.filter((c) => c.ready).length}/${o.spec?.containers?.length ?? 0}`,
        o.status?.phase ?? "Unknown",
        String(statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0)),
        age(o.metadata.creationTimestamp),
        o.status?.podIP ?? "<none>",
        o.spec?.nodeName ?? "<none>",
        "<none>",
        "<none>",
      ]
      : [o.metadata.name, o.metadata.creationTimestamp ?? ""];
    return {
      cells,
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    };
  });
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: list.metadata ?? {},
    columnDefinitions: columnDefinitions.map(([name, type, priority]) => ({
      name,
      type,
      format: name === "Name" ? "name" : "",
      description: "",
      priority,
    })),
    rows,
  };
}

/**
 * Starts the front server at a random port of 127.0.0.1 (TLS with the stand-in's TEST-ONLY
 * certificate): discovery answered here (counted in `discovery()`), the rest forwarded to
 * `upstream`.
 */
export async function startFront(upstream: string): Promise<{
  url: string;
  discovery: () => number;
  tableMs: () => number;
  close: () => Promise<void>;
}> {
  const certs = new URL("../tests/support/certs/", import.meta.url);
  const client = Deno.createHttpClient({ caCerts: [STANDIN_CA_PEM] });
  const closing = new AbortController();
  let discovery = 0;
  let tableMs = 0;
  let address = "";
  // Not Deno.serve: its TLS stalls Deno's fetch ~40 ms a request (tests/support/node_serve.ts).
  const server = await serveNodeHttps({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(new URL("server.crt", certs)),
    key: await Deno.readTextFile(new URL("server.key", certs)),
    signal: closing.signal,
  }, async (req) => {
    const url = new URL(req.url);
    const doc = req.method === "GET" ? discoveryDocument(url.pathname, address) : undefined;
    if (doc !== undefined) {
      discovery++;
      if (req.headers.get("authorization") !== `Bearer ${STANDIN_TOKEN}`) {
        return Response.json({ kind: "Status", code: 401, reason: "Unauthorized" }, {
          status: 401,
        });
      }
      return Response.json(doc);
    }
    if (req.method === "POST" && url.pathname === ACCESS_REVIEWS) {
      // client-go's `CanI` (SelfSubjectAccessReview, sent as protobuf): all is allowed here.
      discovery++;
      await req.body?.cancel();
      return Response.json({
        kind: "SelfSubjectAccessReview",
        apiVersion: "authorization.k8s.io/v1",
        metadata: {},
        spec: {},
        status: { allowed: true },
      }, { status: 201 });
    }
    const asTable = /;as=Table/.test(req.headers.get("accept") ?? "");
    const headers = new Headers();
    if (asTable) headers.set("accept", "application/json");
    for (const h of ["authorization", "accept", "content-type", "user-agent"]) {
      if (h === "accept" && asTable) continue;
      const v = req.headers.get(h);
      if (v !== null) headers.set(h, v);
    }
    // No accept-encoding upstream, and none to the client: nothing is compressed on loopback.
    const t0 = performance.now();
    try {
      const res = await fetch(`${upstream}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        ...(req.method === "GET" || req.method === "HEAD" ? {} : { body: req.body }),
        client,
        // A client that goes away cancels the body stream, which cancels the upstream request.
        signal: closing.signal,
      });
      if (asTable && res.ok) {
        const table = Response.json(asServerTable(await res.json()));
        tableMs += performance.now() - t0;
        return table;
      }
      const out = new Headers();
      for (const h of ["content-type", "retry-after"]) {
        const v = res.headers.get(h);
        if (v !== null) out.set(h, v);
      }
      return new Response(res.body, { status: res.status, headers: out });
    } catch (err) {
      return Response.json({ kind: "Status", code: 502, message: String(err) }, { status: 502 });
    }
  });
  address = `127.0.0.1:${server.addr.port}`;
  return {
    url: `https://${address}`,
    discovery: () => discovery,
    tableMs: () => tableMs,
    async close() {
      closing.abort();
      await server.finished;
      client.close();
    },
  };
}

/** Classifies the stand-in's request log. */
export function countRequests(requests: readonly StandinRequest[]): RequestCounts {
  const c: RequestCounts = {
    total: requests.length,
    lists: 0,
    gets: 0,
    watches: 0,
    other: 0,
    discovery: 0,
    tableMs: 0,
  };
  for (const r of requests) {
    const parts = r.path.split("/").filter(Boolean);
    const resourcePath = r.method === "GET" && r.status !== 404 &&
      ((parts[0] === "api" && parts.length >= 3) || (parts[0] === "apis" && parts.length >= 4));
    if (!resourcePath) c.other++;
    else if (["1", "true"].includes(r.query["watch"] ?? "")) c.watches++;
    else {
      // `.../{plural}` is a list, `.../{plural}/{name}` a get; `namespaces/{ns}/{plural}` a list.
      const rest = parts.slice(parts[0] === "api" ? 2 : 3);
      const tail = rest[0] === "namespaces" && rest.length >= 3 ? rest.slice(2) : rest;
      if (tail.length >= 2) c.gets++;
      else c.lists++;
    }
  }
  return c;
}

if (import.meta.main) {
  const pods = Number(Deno.args[0] ?? 1_000);
  const objects = syntheticCluster({ pods, services: Math.max(1, Math.round(pods / 5)) });
  const api = await startStandin({ objects });
  const front = await startFront(api.url);
  const kubeconfigPath = `${api.dir}/front-config`;
  await Deno.writeTextFile(
    kubeconfigPath,
    stringifyYaml({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "standin",
      clusters: [{
        name: "standin",
        cluster: { server: front.url, "certificate-authority-data": btoa(STANDIN_CA_PEM) },
      }],
      users: [{ name: "standin", user: { token: STANDIN_TOKEN } }],
      contexts: [{ name: "standin", context: { cluster: "standin", user: "standin" } }],
      preferences: {},
    }),
  );
  const counts = () => ({
    ...countRequests(api.requests),
    discovery: front.discovery(),
    tableMs: front.tableMs(),
  });
  const out = (v: unknown) =>
    Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(v) + "\n"));
  const kinds: Record<string, number> = {};
  for (const o of objects) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
  out({
    url: front.url,
    standin: api.url,
    kubeconfigPath,
    directKubeconfigPath: api.kubeconfigPath,
    objects: objects.length,
    kinds,
  });
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let rest = "";
  for await (const chunk of lines) {
    rest += chunk;
    const parts = rest.split("\n");
    rest = parts.pop()!;
    for (const cmd of parts.map((p) => p.trim()).filter(Boolean)) {
      if (cmd === "count") out(counts());
      else if (cmd === "paths") {
        const other = api.requests.filter((r) => countRequests([r]).other === 1)
          .map((r) => `${r.method} ${r.path} ${r.status}`);
        out({ ...counts(), otherPaths: [...new Set(other)] });
      } else if (cmd.startsWith("since ")) {
        // The non-watch requests answered after the first N (N = an earlier `total`).
        const from = Number(cmd.slice(6));
        const seen = api.requests.slice(from).filter((r) =>
          !["1", "true"].includes(r.query["watch"] ?? "")
        )
          .map((r) => {
            const sel = r.query["labelSelector"]
              ? `?labelSelector=${r.query["labelSelector"]}`
              : "";
            return `${r.method} ${r.path}${sel}`;
          });
        out({ paths: [...new Set(seen)] });
      } else out({ error: `unknown command: ${cmd}` });
    }
  }
  await front.close();
  await api.close();
}
