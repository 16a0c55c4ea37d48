/**
 * The live source over the real `@kubernetes/client-node`, talking HTTPS to the
 * Kubernetes API stand-in.
 *
 * @module
 */
import assert from "node:assert/strict";
import { stringify as stringifyYaml } from "yaml";
import { KubeApiError, KubeconfigError } from "../../src/errors.ts";
import { loadKubeConfig } from "../../src/kube/kubeconfig.ts";
import { createLiveSource, NoKubeconfigError } from "../../src/kube/live.ts";
import { RESOURCE_KEYS, RESOURCES, type ResourceType } from "../../src/kube/resources.ts";
import { loadState } from "../../src/kube/state.ts";
import { describeError } from "../../src/tools/_spec.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import {
  type Standin,
  STANDIN_CA_PEM,
  STANDIN_TOKEN,
  type StandinOptions,
} from "../support/kube_standin.ts";
import { syntheticCluster } from "../support/synthetic.ts";
import { type OpenLive, withLive } from "./_live.ts";

function pod(name: string, namespace: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels } };
}

/** One object of every resource type the server reads. */
function oneOfEach(): KubeObject[] {
  return RESOURCE_KEYS.map((key) => {
    const r: ResourceType = RESOURCES[key];
    return {
      apiVersion: r.group ? `${r.group}/${r.versions[0]}` : r.versions[0]!,
      kind: r.kind,
      metadata: { name: `the-${key}`, ...(r.namespaced ? { namespace: "emojivoto" } : {}) },
    };
  });
}

const BASE_OBJECTS: KubeObject[] = [
  ...oneOfEach(),
  pod("web-1", "emojivoto", { app: "web", tier: "front" }),
  pod("web-2", "emojivoto", { app: "web", tier: "front" }),
  pod("voting-1", "emojivoto", { app: "voting" }),
  pod("books-1", "booksapp", { app: "books" }),
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "emojivoto" } },
];

function withStandin(
  opts: StandinOptions,
  fn: (api: Standin, live: OpenLive) => Promise<void>,
): Promise<void> {
  return withLive({ objects: BASE_OBJECTS, ...opts }, fn);
}

async function rejectsKube(
  promise: Promise<unknown>,
  expected: { status: number; reason?: string; message?: RegExp },
): Promise<KubeApiError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KubeApiError, `expected KubeApiError, got ${String(caught)}`);
  assert.equal(caught.status, expected.status, caught.message);
  if (expected.reason) assert.equal(caught.reason, expected.reason, caught.message);
  if (expected.message) assert.match(caught.message, expected.message);
  return caught;
}

Deno.test({
  name: "createLiveSource() lists every resource type the server reads",
  async fn() {
    await withStandin({}, async (_api, live) => {
      const src = await live();
      for (const key of RESOURCE_KEYS) {
        const r: ResourceType = RESOURCES[key];
        const items = await src.list(key);
        const mine = items.find((o) => o.metadata.name === `the-${key}`);
        assert.ok(mine, `${key} lists its object`);
        assert.equal(mine.kind, r.kind);
        assert.equal(mine.apiVersion, r.group ? `${r.group}/${r.versions[0]}` : r.versions[0]);
      }
    });
  },
});

Deno.test({
  name: "list() honours namespace and label selector",
  async fn() {
    await withStandin({}, async (api, live) => {
      const src = await live();
      const names = (items: KubeObject[]) => items.map((o) => o.metadata.name).sort();
      assert.deepEqual(names(await src.list("pods", { namespace: "booksapp" })), ["books-1"]);
      assert.deepEqual(
        names(await src.list("pods", { labelSelector: "app=web,tier in (front)" })),
        ["web-1", "web-2"],
      );
      assert.deepEqual(
        names(await src.list("pods", { namespace: "emojivoto", labelSelector: "app!=web,app" })),
        ["voting-1"],
      );
      // Cluster-scoped resources ignore the namespace.
      assert.equal((await src.list("namespaces", { namespace: "x" })).length, 2);
      const paths = api.requests.map((r) => r.path);
      assert.ok(paths.includes("/api/v1/namespaces/booksapp/pods"));
      assert.ok(paths.includes("/api/v1/pods"));
      assert.ok(paths.includes("/api/v1/namespaces"));
    });
  },
});

Deno.test({
  name: "get() reads one object and returns undefined on 404",
  async fn() {
    await withStandin({}, async (_api, live) => {
      const src = await live();
      const got = await src.get("pods", "web-1", "emojivoto");
      assert.equal(got?.metadata.labels?.["app"], "web");
      assert.equal(got?.kind, "Pod");
      assert.equal(await src.get("pods", "nope", "emojivoto"), undefined);
      assert.equal((await src.get("namespaces", "emojivoto"))?.metadata.name, "emojivoto");
      assert.equal(await src.get("servers", "nope", "emojivoto"), undefined);
      await assert.rejects(src.get("pods", "web-1"), TypeError);
    });
  },
});

Deno.test({
  name: "list() follows limit/continue pagination over 500 items",
  async fn() {
    const objects = Array.from({ length: 1234 }, (_, i) => pod(`p-${i}`, `ns-${i % 3}`));
    await withStandin({ objects }, async (api, live) => {
      const src = await live();
      const items = await src.list("pods");
      assert.equal(items.length, 1234);
      assert.equal(
        new Set(items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).size,
        1234,
      );
      const pages = api.requests.filter((r) => r.path === "/api/v1/pods");
      assert.equal(pages.length, 3);
      assert.ok(pages.every((r) => r.query["limit"] === "500"));
      assert.equal(pages[0]!.query["continue"], undefined);
      assert.ok(pages[1]!.query["continue"]);
      const small = await live({ pageSize: 100 });
      assert.equal((await small.list("pods", { namespace: "ns-0" })).length, 412);
      // An expired continue token falls back to one unpaginated list, as client-go does.
      api.expireContinueTokens(true);
      api.requests.length = 0;
      assert.equal((await small.list("pods")).length, 1234);
      assert.deepEqual(api.requests.map((r) => [r.status, r.query["limit"]]), [
        [200, "100"],
        [410, "100"],
        [200, undefined],
      ]);
    });
  },
});

Deno.test({
  name: "list() falls back through versions and reports an unserved CRD as 404",
  async fn() {
    await withStandin(
      { unserved: ["policy.linkerd.io/v1beta3", "links.multicluster.linkerd.io"] },
      async (api, live) => {
        const src = await live();
        const servers = await src.list("servers");
        assert.equal(servers.length, 1);
        assert.equal(servers[0]!.apiVersion, "policy.linkerd.io/v1beta2");
        api.requests.length = 0;
        await src.list("servers");
        assert.deepEqual(api.requests.map((r) => r.path), [
          "/apis/policy.linkerd.io/v1beta2/servers",
        ]);
        await rejectsKube(src.list("links", { namespace: "linkerd-multicluster" }), {
          status: 404,
          reason: "NotFound",
          message:
            /^Cannot list links\.multicluster\.linkerd\.io in namespace "linkerd-multicluster": .*is its CRD installed\?$/,
        });
        // The missing CRD is remembered: asking again sends no request.
        api.requests.length = 0;
        await rejectsKube(src.list("links"), { status: 404, reason: "NotFound" });
        assert.deepEqual(api.requests.filter((r) => r.path.includes("links")), []);
        const state = await loadState(src, ["links", "servers", "pods"], {
          linkerdNamespace: "linkerd",
        });
        assert.deepEqual(state.missing, ["links"]);
        assert.equal(state.objects.pods?.length, 5);
      },
    );
  },
});

Deno.test({
  name: "list() maps 401, 403 and 500 to KubeApiError",
  async fn() {
    await withStandin({ forbidden: { namespaces: ["secret-ns"] } }, async (api, live) => {
      const wrong = await live({ context: "standin-wrong-token" });
      await rejectsKube(wrong.list("pods"), {
        status: 401,
        reason: "Unauthorized",
        message: /^Cannot list pods in all namespaces: Unauthorized .*"standin-wrong-token"/,
      });
      // The tool's answer carries exactly one piece of advice (the source adds only facts).
      const err = await wrong.list("pods").catch((e) => e);
      const text = describeError(err, "list_meshed_services");
      assert.match(text, /credentials of context "standin-wrong-token"/);
      assert.match(text, /rejected the credentials \(401 Unauthorized\); refresh them/);
      for (const once of [/refresh them/g, /log in again/g, /choose another context/g]) {
        assert.equal(text.match(once)?.length, 1, `${once} in ${text}`);
      }
      assert.doesNotMatch(text, /renew/);
      const src = await live();
      await rejectsKube(src.list("servers", { namespace: "secret-ns" }), {
        status: 403,
        reason: "Forbidden",
        message:
          /^Cannot list servers\.policy\.linkerd\.io in namespace "secret-ns": servers\.policy\.linkerd\.io is forbidden: User/,
      });
      await rejectsKube(src.get("configmaps", "linkerd-config", "secret-ns"), { status: 403 });
      // A role limited to some namespaces cannot list across all of them.
      await rejectsKube(src.list("pods"), { status: 403, message: /at the cluster scope$/ });
      api.failNext(1);
      const ns = { namespace: "emojivoto" };
      await rejectsKube(src.list("pods", ns), { status: 500, reason: "InternalError" });
      assert.equal((await src.list("pods", ns)).length, 4);
    });
  },
});

Deno.test({
  name: "list() reports an unreachable API server as status 0 quickly",
  async fn() {
    await withStandin({}, async (api, live) => {
      const src = await live();
      await api.close();
      const started = performance.now();
      await rejectsKube(src.list("pods"), {
        status: 0,
        reason: "ECONNREFUSED",
        message:
          /^Cannot list pods in all namespaces: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+/,
      });
      assert.ok(performance.now() - started < 3_000);
    });
  },
});

Deno.test({
  name: "list() times out on a slow API server within timeoutMs",
  async fn() {
    await withStandin({ latencyMs: 3_000 }, async (_api, live) => {
      const src = await live({ timeoutMs: 300 });
      const started = performance.now();
      await rejectsKube(src.list("pods", { namespace: "emojivoto" }), {
        status: 0,
        reason: "Timeout",
        message: /did not answer within 300 ms$/,
      });
      const took = performance.now() - started;
      assert.ok(took >= 290 && took < 2_500, `took ${took} ms`);
    });
  },
});

Deno.test({
  name: "list() rejects with the signal's reason when aborted",
  async fn() {
    await withStandin({ latencyMs: 2_000 }, async (_api, live) => {
      for (const cacheTtlMs of [0, 3_000]) {
        const src = await live({ cacheTtlMs });
        const ctl = new AbortController();
        setTimeout(() => ctl.abort(new DOMException("stop", "AbortError")), 50);
        await assert.rejects(src.list("pods", { signal: ctl.signal }), { name: "AbortError" });
      }
    });
  },
});

Deno.test({
  name: "list() reuses results within the cache TTL",
  async fn() {
    await withStandin({}, async (api, live) => {
      const src = await live({ cacheTtlMs: 60_000 });
      const [a, b] = await Promise.all([src.list("pods"), src.list("pods")]);
      assert.equal(a.length, 5);
      assert.notEqual(a, b);
      await src.list("pods");
      await src.list("pods", { labelSelector: "app=web" });
      await src.get("pods", "web-1", "emojivoto");
      await src.get("pods", "web-1", "emojivoto");
      assert.equal(api.requests.length, 3);
      const short = await live({ cacheTtlMs: 50 });
      await short.list("pods");
      await new Promise((r) => setTimeout(r, 80));
      await short.list("pods");
      assert.equal(api.requests.length, 5);
    });
  },
});

Deno.test({
  name: "createLiveSource() selects contexts and explains an unknown one",
  async fn() {
    await withStandin({}, async (api, live) => {
      const viaFile = await live({ context: "standin-ca-file" });
      assert.equal(viaFile.describe(), `cluster "standin-ca-file" at ${api.url}`);
      assert.equal((await viaFile.list("pods")).length, 5);
      const def = await live();
      assert.equal(def.describe(), `cluster "standin" at ${api.url}`);
      assert.ok(!def.describe().includes(STANDIN_TOKEN));
      await rejectsKube(live({ context: "prod" }), {
        status: 0,
        reason: "UnknownContext",
        message:
          /^Cannot find context "prod" in kubeconfig ".*": available contexts are "standin", "standin-wrong-token", "standin-ca-file"$/,
      });
    });
  },
});

Deno.test({
  name: "createLiveSource() merges a KUBECONFIG list first-wins and skips missing files",
  async fn() {
    await withStandin({}, async (api, live) => {
      const other = `${api.dir}/other`;
      await Deno.writeTextFile(
        other,
        stringifyYaml({
          apiVersion: "v1",
          kind: "Config",
          "current-context": "elsewhere",
          clusters: [{ name: "elsewhere", cluster: { server: "https://127.0.0.1:1" } }],
          users: [{ name: "u", user: { token: "t" } }],
          contexts: [{ name: "elsewhere", context: { cluster: "elsewhere", user: "u" } }],
        }),
      );
      const env = { KUBECONFIG: `${api.dir}/missing:${api.kubeconfigPath}:${other}` };
      const src = await live({ kubeconfigPath: "", env });
      assert.equal(src.describe(), `cluster "standin" at ${api.url}`);
      const picked = await live({ kubeconfigPath: "", env, context: "elsewhere" });
      assert.equal(picked.describe(), 'cluster "elsewhere" at https://127.0.0.1:1');
    });
  },
});

Deno.test({
  name: "createLiveSource() explains a missing kubeconfig instead of falling back",
  async fn() {
    const home = await Deno.makeTempDir();
    try {
      const err = await rejectsKube(createLiveSource({ env: { HOME: home }, timeoutMs: 1_000 }), {
        status: 0,
        reason: "NoKubeconfig",
        message:
          /^Cannot find a kubeconfig: KUBECONFIG is not set, ".*\/\.kube\/config" does not exist/,
      });
      assert.ok(err instanceof NoKubeconfigError);
      await rejectsKube(
        createLiveSource({ env: { KUBECONFIG: `${home}/a:${home}/b` }, timeoutMs: 1_000 }),
        { status: 0, reason: "NoKubeconfig", message: /no file named in KUBECONFIG exists/ },
      );
      await rejectsKube(
        createLiveSource({ kubeconfigPath: `${home}/nope`, env: {}, timeoutMs: 1_000 }),
        { status: 0, reason: "NoKubeconfig", message: /the file does not exist$/ },
      );
      await Deno.writeTextFile(`${home}/bad`, "clusters: [{name: x}]\n");
      await rejectsKube(
        createLiveSource({ kubeconfigPath: `${home}/bad`, env: {}, timeoutMs: 1_000 }),
        { status: 0, reason: "InvalidKubeconfig", message: /^Cannot load kubeconfig ".*bad": / },
      );
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "createLiveSource() reads ~/.kube/config and the in-cluster service account",
  async fn() {
    await withStandin({}, async (api, live) => {
      const home = `${api.dir}/home`;
      await Deno.mkdir(`${home}/.kube`, { recursive: true });
      await Deno.copyFile(api.kubeconfigPath, `${home}/.kube/config`);
      await Deno.writeTextFile(`${home}/.kube/ca.crt`, STANDIN_CA_PEM);
      const fromHome = await live({
        kubeconfigPath: "",
        env: { HOME: home },
        context: "standin-ca-file",
      });
      assert.equal((await fromHome.list("pods")).length, 5);

      const sa = `${api.dir}/sa`;
      await Deno.mkdir(sa);
      await Deno.writeTextFile(`${sa}/token`, STANDIN_TOKEN);
      await Deno.writeTextFile(`${sa}/ca.crt`, STANDIN_CA_PEM);
      const inCluster = await live({
        kubeconfigPath: "",
        env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port) },
        serviceAccountDir: sa,
      });
      assert.equal(inCluster.describe(), `cluster "in-cluster" at ${api.url}`);
      assert.equal((await inCluster.list("pods")).length, 5);
      assert.equal(api.requests.at(-1)?.status, 200);
    });
  },
});

Deno.test({
  name: "createLiveSource() runs an exec credential plugin",
  async fn() {
    await withStandin({}, async (api, live) => {
      const plugin = `${api.dir}/plugin.sh`;
      const credential = {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        kind: "ExecCredential",
        status: { token: STANDIN_TOKEN },
      };
      await Deno.writeTextFile(
        plugin,
        `#!/bin/sh\necho run >> "${api.dir}/runs"\necho '${JSON.stringify(credential)}'\n`,
      );
      await Deno.chmod(plugin, 0o755);
      const config = `${api.dir}/exec`;
      await Deno.writeTextFile(
        config,
        stringifyYaml({
          apiVersion: "v1",
          kind: "Config",
          "current-context": "exec",
          clusters: [{
            name: "c",
            cluster: { server: api.url, "certificate-authority-data": btoa(STANDIN_CA_PEM) },
          }],
          users: [{
            name: "exec",
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1beta1",
                command: plugin,
                interactiveMode: "Never",
              },
            },
          }],
          contexts: [{ name: "exec", context: { cluster: "c", user: "exec" } }],
        }),
      );
      const src = await live({ kubeconfigPath: config });
      assert.equal((await src.list("pods")).length, 5);
      assert.equal((await src.list("namespaces")).length, 2);
      // The credential has no expiry: it is reused briefly instead of running the plugin again.
      assert.equal(await Deno.readTextFile(`${api.dir}/runs`), "run\n");
    });
  },
});

Deno.test({
  name: "proxyGet() reaches a service proxy path with the cluster's credentials",
  async fn() {
    await withStandin({
      proxy: ({ namespace, service, rest, url }) =>
        Response.json({
          status: "success",
          data: { namespace, service, rest, query: url.searchParams.get("query") },
        }),
    }, async (api, live) => {
      const src = await live();
      const res = await src.proxyGet(
        "/api/v1/namespaces/linkerd-viz/services/prometheus:9090/proxy/api/v1/query",
        { query: 'up{job="linkerd-proxy"}' },
      );
      assert.equal(res.status, 200);
      assert.match(res.contentType, /application\/json/);
      assert.deepEqual(JSON.parse(res.body).data, {
        namespace: "linkerd-viz",
        service: "prometheus:9090",
        rest: "/api/v1/query",
        query: 'up{job="linkerd-proxy"}',
      });
      api.failAlways(503);
      assert.equal((await src.proxyGet("/api/v1/namespaces/x/services/y/proxy/", {})).status, 503);
    });
  },
});

Deno.test({
  name: "list() reads a 10,000-pod synthetic cluster",
  async fn() {
    const objects = syntheticCluster({ pods: 10_000, services: 2_000, namespaces: 20 });
    await withStandin({ objects }, async (api, live) => {
      const src = await live({ timeoutMs: 30_000 });
      const pods = await src.list("pods");
      assert.equal(pods.length, 10_003);
      assert.equal(api.requests.length, 21);
      const state = await loadState(src, ["configmaps", "namespaces"], {
        linkerdNamespace: "linkerd",
      });
      assert.equal(state.objects.configmaps?.length, 2);
      assert.equal(state.objects.namespaces?.length, 21);
    });
  },
});

Deno.test({
  name: "createLiveSource() rejects a plain HTTP server without insecure-skip-tls-verify",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/config`,
        stringifyYaml({
          apiVersion: "v1",
          kind: "Config",
          "current-context": "plain",
          clusters: [{ name: "plain", cluster: { server: "http://127.0.0.1:8080" } }],
          users: [{ name: "u", user: {} }],
          contexts: [{ name: "plain", context: { cluster: "plain", user: "u" } }],
        }),
      );
      await rejectsKube(
        createLiveSource({ kubeconfigPath: `${dir}/config`, env: {}, timeoutMs: 1_000 }),
        { status: 0, reason: "InvalidKubeconfig", message: /insecure-skip-tls-verify: true/ },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "list() explains a server certificate that the kubeconfig's CA does not sign",
  async fn() {
    await withStandin({}, async (api, live) => {
      await Deno.writeTextFile(
        `${api.dir}/no-ca`,
        stringifyYaml({
          apiVersion: "v1",
          kind: "Config",
          "current-context": "no-ca",
          clusters: [{ name: "no-ca", cluster: { server: api.url } }],
          users: [{ name: "u", user: { token: STANDIN_TOKEN } }],
          contexts: [{ name: "no-ca", context: { cluster: "no-ca", user: "u" } }],
        }),
      );
      const src = await live({ kubeconfigPath: `${api.dir}/no-ca` });
      await rejectsKube(src.list("pods"), {
        status: 0,
        reason: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        message: /cannot verify the TLS certificate of the API server .*context "no-ca"$/,
      });
    });
  },
});

Deno.test({
  name: "startStandin() serves watch, Status errors and a request log",
  async fn() {
    await withStandin({}, async (api) => {
      const client = Deno.createHttpClient({ caCerts: [STANDIN_CA_PEM] });
      const headers = { authorization: `Bearer ${STANDIN_TOKEN}` };
      const get = async (path: string, h: Record<string, string> = headers) => {
        const res = await fetch(`${api.url}${path}`, { client, headers: h });
        return { status: res.status, text: await res.text() };
      };
      try {
        const watch = await get(
          "/api/v1/namespaces/emojivoto/pods?watch=1&labelSelector=app%3Dweb",
        );
        assert.equal(watch.status, 200);
        const events = watch.text.trim().split("\n").map((l) => JSON.parse(l));
        assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), [
          "ADDED web-1",
          "ADDED web-2",
        ]);
        const list = JSON.parse((await get("/api/v1/pods?limit=2")).text);
        assert.equal(list.kind, "PodList");
        assert.equal(list.items.length, 2);
        assert.equal(list.metadata.remainingItemCount, 3);
        assert.ok(Number(list.metadata.resourceVersion) > 0);
        assert.equal((await get("/api/v1/pods", {})).status, 401);
        assert.equal(JSON.parse((await get("/api/v1/pods", {})).text).reason, "Unauthorized");
        assert.equal((await get("/apis/policy.linkerd.io/v9/servers")).status, 404);
        assert.equal((await get("/api/v1/secrets")).status, 404);
        assert.equal((await get("/api/v1/pods?continue=garbage")).status, 400);
        assert.deepEqual(api.requests[0], {
          method: "GET",
          path: "/api/v1/namespaces/emojivoto/pods",
          query: { watch: "1", labelSelector: "app=web" },
          status: 200,
        });
      } finally {
        client.close();
      }
    });
  },
});

Deno.test({
  name:
    "startStandin() watches like the real server: resourceVersion, changes, 410 after compaction",
  async fn() {
    await withStandin({}, async (api) => {
      const client = Deno.createHttpClient({ caCerts: [STANDIN_CA_PEM] });
      const headers = { authorization: `Bearer ${STANDIN_TOKEN}` };
      const get = async (path: string) => {
        const res = await fetch(`${api.url}${path}`, { client, headers });
        return { status: res.status, text: await res.text() };
      };
      const events = (text: string) =>
        text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) as Array<
          {
            type: string;
            object: KubeObject & { code?: number; reason?: string; message?: string };
          }
        >;
      const pods = "/api/v1/namespaces/emojivoto/pods";
      try {
        const listed = JSON.parse((await get(pods)).text);
        const rv = listed.metadata.resourceVersion as string;
        // From the list's resourceVersion: nothing old, then the changes while it is open.
        const watching = get(`${pods}?watch=1&resourceVersion=${rv}&timeoutSeconds=2`);
        while (api.openWatches === 0) await new Promise((r) => setTimeout(r, 20));
        const before = listed.items as KubeObject[];
        api.setObjects([
          ...before.filter((p) => p.metadata.name !== "web-2").map((p) =>
            p.metadata.name === "web-1"
              ? { ...p, metadata: { ...p.metadata, labels: { app: "web", changed: "yes" } } }
              : p
          ),
          pod("web-3", "emojivoto", { app: "web" }),
          pod("elsewhere", "booksapp"),
        ]);
        const seen = events((await watching).text);
        assert.deepEqual(seen.map((e) => `${e.type} ${e.object.metadata.name}`), [
          "MODIFIED web-1",
          "ADDED web-3",
          "DELETED web-2",
        ]);
        assert.ok(seen.every((e) => Number(e.object.metadata.resourceVersion) > Number(rv)));
        assert.equal(api.openWatches, 0);
        // Without a resourceVersion: the current state as ADDED events.
        const fresh = events((await get(`${pods}?watch=1`)).text);
        assert.equal(fresh.length, before.length);
        assert.ok(fresh.every((e) => e.type === "ADDED"));
        // After a compaction an older resourceVersion is expired: 200, then one ERROR event.
        api.compact();
        const gone = await get(`${pods}?watch=1&resourceVersion=${rv}`);
        assert.equal(gone.status, 200);
        const [error, ...rest] = events(gone.text);
        assert.deepEqual(rest, []);
        assert.equal(error?.type, "ERROR");
        assert.equal(error?.object.kind, "Status");
        assert.equal(error?.object.code, 410);
        assert.equal(error?.object.reason, "Expired");
        assert.equal(
          error?.object.message,
          "The resourceVersion for the provided watch is too old.",
        );
        // The current resourceVersion still works, and garbage is a 400.
        const now = JSON.parse((await get(pods)).text).metadata.resourceVersion;
        const ok = await get(`${pods}?watch=1&resourceVersion=${now}`);
        assert.equal(ok.status, 200);
        assert.deepEqual(events(ok.text), []);
        assert.equal((await get(`${pods}?watch=1&resourceVersion=abc`)).status, 400);
      } finally {
        client.close();
      }
    });
  },
});

Deno.test({
  name: "createLiveSource() words an unparsable kubeconfig without quoting it (KubeconfigError)",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/config`;
      const secret = "yaml-snippet-SECRET-0a9b8c7d6e";
      await Deno.writeTextFile(
        path,
        `apiVersion: v1\nusers:\n- name: u\n  user:\n    token: ${secret}\n   bad: [indent\n`,
      );
      const err = await rejectsKube(
        createLiveSource({ kubeconfigPath: path, env: {}, timeoutMs: 1000 }),
        {
          status: 0,
          reason: "InvalidKubeconfig",
          message:
            /^Cannot load kubeconfig ".*config": it is not valid YAML at line \d+, column \d+: /,
        },
      );
      assert.ok(err instanceof KubeconfigError);
      assert.ok(!err.message.includes(secret), err.message);
      // Not a mapping at all.
      await Deno.writeTextFile(path, "just a string\n");
      const e2 = await rejectsKube(
        createLiveSource({ kubeconfigPath: path, env: {}, timeoutMs: 1000 }),
        {
          status: 0,
          reason: "InvalidKubeconfig",
        },
      );
      assert.ok(e2 instanceof KubeconfigError);
      assert.match(e2.message, /it defines no contexts \(is it a kubeconfig\?/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("loadKubeConfig() reports EACCES as a permission problem of its own", () => {
  class Refused {
    loadFromFile(): never {
      throw Object.assign(new Error("EACCES: permission denied, open '/k/config'"), {
        code: "EACCES",
      });
    }
  }
  let caught: unknown;
  try {
    loadKubeConfig(
      Refused as never,
      { kind: "files", paths: ["/k/config"], origin: "path" },
      undefined,
    );
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KubeconfigError, String(caught));
  assert.equal(caught.reason, "PermissionDenied");
  assert.match(
    caught.message,
    /^Cannot read kubeconfig "\/k\/config": permission denied \(EACCES\); make the file readable/,
  );
});

Deno.test({
  name:
    "createLiveSource() never shows a server URL's userinfo, and exec plugin failures say how, not what",
  async fn() {
    await withStandin({}, async (api, live) => {
      const password = "server-userinfo-SECRET-55aa66bb";
      const script = `${api.dir}/plugin.sh`;
      await Deno.writeTextFile(script, `#!/bin/sh\necho "stderr-SECRET-77cc88dd" >&2\nexit 42\n`);
      await Deno.chmod(script, 0o755);
      const kc = stringifyYaml({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "userinfo",
        clusters: [{
          name: "userinfo",
          cluster: {
            server: api.url.replace("https://", `https://admin:${password}@`),
            "certificate-authority-data": btoa(STANDIN_CA_PEM),
          },
        }],
        users: [
          { name: "t", user: { token: STANDIN_TOKEN } },
          {
            name: "e",
            user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: script } },
          },
          {
            name: "missing",
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1",
                command: "no-such-plugin-xyz",
              },
            },
          },
        ],
        contexts: [
          { name: "userinfo", context: { cluster: "userinfo", user: "t" } },
          { name: "exec", context: { cluster: "userinfo", user: "e" } },
          { name: "missing", context: { cluster: "userinfo", user: "missing" } },
        ],
      });
      const path = `${api.dir}/userinfo`;
      await Deno.writeTextFile(path, kc);
      const src = await live({ kubeconfigPath: path });
      assert.equal(src.server, api.url);
      assert.equal(src.describe(), `cluster "userinfo" at ${api.url}`);
      assert.equal((await src.list("pods")).length, 5, "requests still reach the server");
      const exec = await live({ kubeconfigPath: path, context: "exec" });
      const err = await rejectsKube(exec.list("pods"), { status: 0, reason: "Credentials" });
      assert.ok(err instanceof KubeconfigError);
      assert.match(
        err.message,
        /the exec plugin "plugin\.sh" failed with exit code 42; its output is not shown/,
      );
      assert.ok(!err.message.includes("stderr-SECRET"), err.message);
      assert.ok(!err.message.includes(password), err.message);
      const missing = await live({ kubeconfigPath: path, context: "missing" });
      const e2 = await rejectsKube(missing.list("pods"), { status: 0, reason: "Credentials" });
      assert.match(e2.message, /the exec plugin "no-such-plugin-xyz" was not found/);
    });
  },
});

Deno.test({
  name: "a hanging exec plugin does not hold a call past its signal, and close() kills it",
  async fn() {
    await withStandin({}, async (api, live) => {
      const script = `${api.dir}/hang.sh`;
      await Deno.writeTextFile(script, `#!/bin/sh\nexec sleep 60\n`);
      await Deno.chmod(script, 0o755);
      const path = `${api.dir}/hang-config`;
      await Deno.writeTextFile(
        path,
        stringifyYaml({
          apiVersion: "v1",
          kind: "Config",
          "current-context": "hang",
          clusters: [{
            name: "c",
            cluster: { server: api.url, "certificate-authority-data": btoa(STANDIN_CA_PEM) },
          }],
          users: [{
            name: "u",
            user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: script } },
          }],
          contexts: [{ name: "hang", context: { cluster: "c", user: "u" } }],
        }),
      );
      const src = await live({ kubeconfigPath: path, cacheTtlMs: 3000 });
      const t0 = performance.now();
      await assert.rejects(
        src.list("pods", { signal: AbortSignal.timeout(300) }),
        (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
      );
      assert.ok(performance.now() - t0 < 1_500);
      assert.equal(api.received, 0, "no request was sent without credentials");
      await src.close(); // kills the plugin: the test's resource sanitizer would see it otherwise
    });
  },
});
