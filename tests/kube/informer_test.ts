/**
 * The live source's watch-fed cache (src/kube/informer.ts) against the Kubernetes API
 * stand-in: list once, then watch; zero requests while the watch is healthy; changes by
 * watch; relist after compaction (410); list fallback when RBAC forbids watching; close().
 *
 * @module
 */
import assert from "node:assert/strict";
import { createLiveSource, type LiveSource } from "../../src/kube/live.ts";
import { loadState } from "../../src/kube/state.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { type Standin, type StandinOptions, startStandin } from "../support/kube_standin.ts";
import { isWatch, names, until } from "./_watch.ts";

function pod(name: string, namespace: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels } };
}

function service(name: string, namespace: string): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: {} };
}

const OBJECTS: KubeObject[] = [
  pod("web-1", "emojivoto", { app: "web" }),
  {
    ...pod("web-2", "emojivoto", { app: "web" }),
    metadata: {
      name: "web-2",
      namespace: "emojivoto",
      labels: { app: "web" },
      managedFields: [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": {} } }],
    } as KubeObject["metadata"],
  },
  pod("books-1", "booksapp", { app: "books" }),
  service("web", "emojivoto"),
];

async function withWatchedSource(
  opts: StandinOptions,
  fn: (api: Standin, src: LiveSource) => Promise<void>,
  watchTimeoutSeconds = 30,
): Promise<void> {
  const api = await startStandin({ objects: OBJECTS, ...opts });
  const src = await createLiveSource({
    kubeconfigPath: api.kubeconfigPath,
    env: {},
    timeoutMs: 5_000,
    watchTimeoutSeconds,
  });
  try {
    await fn(api, src);
  } finally {
    await src.close();
    await api.close();
  }
}

Deno.test({
  name: "watch cache: the first list lists, repeat calls send no request, changes come by watch",
  async fn() {
    await withWatchedSource({}, async (api, src) => {
      assert.equal(api.requests.length, 0, "nothing is listed or watched before the first call");
      const first = await src.list("pods");
      assert.deepEqual(names(first), ["books-1", "web-1", "web-2"]);
      const web2 = first.find((o) => o.metadata.name === "web-2")!;
      assert.equal("managedFields" in web2.metadata, false, "managedFields dropped on arrival");
      assert.deepEqual(web2.metadata.labels, { app: "web" });
      await until("the pods watch", () => api.openWatches === 1);
      const watch = api.requests.find(isWatch)!;
      assert.equal(watch.path, "/api/v1/pods");
      assert.equal(watch.query["allowWatchBookmarks"], "true");
      assert.ok(Number(watch.query["resourceVersion"]) > 0, "watches from the list's version");

      const before = api.requests.length;
      const again = await src.list("pods");
      assert.deepEqual(names(again), names(first));
      assert.equal(again[0], first[0], "unchanged objects keep their identity");
      assert.deepEqual(names(await src.list("pods", { namespace: "emojivoto" })), [
        "web-1",
        "web-2",
      ]);
      assert.deepEqual(names(await src.list("pods", { labelSelector: "app=books" })), [
        "books-1",
      ]);
      assert.equal((await src.get("pods", "web-1", "emojivoto"))?.metadata.name, "web-1");
      assert.equal(await src.get("pods", "nope", "emojivoto"), undefined);
      const s1 = await loadState(src, ["pods"], { linkerdNamespace: "linkerd" });
      const s2 = await loadState(src, ["pods"], { linkerdNamespace: "linkerd" });
      assert.equal(s1, s2, "the same state object while nothing changed");
      assert.equal(api.requests.length, before, "zero API requests while the watch is healthy");
      assert.match(src.sourceInfo?.().description ?? "", /pods kept current by watches/);
      assert.deepEqual(src.snapshotInfo?.().watched, ["pods"]);

      // A change made on the server arrives through the watch, with no new list.
      api.setObjects([
        ...OBJECTS.filter((o) => !["books-1", "web-1"].includes(o.metadata.name)),
        pod("web-1", "emojivoto", { app: "web", version: "v2" }),
        pod("web-3", "emojivoto", { app: "web" }),
      ]);
      await until("the watched change", async () => {
        const now = await src.list("pods");
        return names(now).join() === "web-1,web-2,web-3" &&
          now.find((o) => o.metadata.name === "web-1")?.metadata.labels?.["version"] === "v2";
      });
      const s3 = await loadState(src, ["pods"], { linkerdNamespace: "linkerd" });
      assert.notEqual(s3, s1, "a new state once the snapshot changed");
      assert.deepEqual(
        api.requests.slice(before).filter((r) => !isWatch(r)),
        [],
        "no list between the calls",
      );
    });
  },
});

Deno.test({
  name: "watch cache: a compacted resourceVersion (ERROR 410) relists and the watch resumes",
  async fn() {
    await withWatchedSource({}, async (api, src) => {
      await src.list("pods");
      await until("the pods watch", () => api.openWatches === 1);
      // A change to another kind moves the cluster's version past the pods watch's one;
      // the compaction then makes that version too old.
      api.setObjects([...OBJECTS, service("extra", "emojivoto")]);
      api.compact();
      // The stand-in ends the 1 s watch; the reconnection from the old version gets 410.
      await until(
        "a relist",
        () => api.requests.filter((r) => r.path === "/api/v1/pods" && !isWatch(r)).length === 2,
      );
      await until("the watch after the relist", () => api.openWatches === 1);
      const resumed = api.requests.filter(isWatch).at(-1)!;
      assert.ok(
        Number(resumed.query["resourceVersion"]) > Number(
          api.requests.find(isWatch)!.query["resourceVersion"],
        ),
      );
      api.setObjects([...OBJECTS, service("extra", "emojivoto"), pod("late", "booksapp")]);
      await until(
        "the change after the relist",
        async () => names(await src.list("pods")).includes("late"),
      );
      assert.equal(
        api.requests.filter((r) => r.path === "/api/v1/pods" && !isWatch(r)).length,
        2,
        "one list at the start, one relist after the 410, none after",
      );
    }, 1);
  },
});

Deno.test({
  name: "watch cache: a kind RBAC forbids watching is listed per call (TTL cache)",
  async fn() {
    await withWatchedSource(
      { forbidden: { resources: ["pods"], verbs: ["watch"] } },
      async (api, src) => {
        assert.equal((await src.list("pods")).length, 3);
        await until("the forbidden watch", () => api.requests.some((r) => r.status === 403));
        await until("the fallback", () => src.snapshotInfo?.().listed.includes("pods") === true);
        const lists = () => api.requests.filter((r) => r.path === "/api/v1/pods" && !isWatch(r));
        const n = lists().length;
        assert.equal((await src.list("pods")).length, 3);
        assert.equal(lists().length, n + 1, "listed again");
        await src.list("pods");
        assert.equal(lists().length, n + 1, "reused within the TTL");
        assert.equal(api.requests.filter(isWatch).length, 1, "the watch is not retried");
        assert.match(
          src.sourceInfo?.().description ?? "",
          /pods listed per call \(watch forbidden/,
        );
        // Other kinds are still watched.
        await src.list("services");
        await until("the services watch", () => api.openWatches === 1);
      },
    );
  },
});

Deno.test({
  name: "watch cache: close() stops the watches; no request after it",
  async fn() {
    await withWatchedSource({}, async (api, src) => {
      await src.list("pods");
      await src.list("services");
      await until("two watches", () => api.openWatches === 2);
      await src.close();
      await until("the watches to end", () => api.openWatches === 0);
      const n = api.received;
      // The stand-in would end a watch after 1 s; nothing reconnects.
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(api.received, n);
      await assert.rejects(src.list("pods"), { name: "KubeApiError" });
    }, 1);
  },
});

Deno.test({
  name: "watch cache: a failing watch reconnects with backoff from its version, without a list",
  async fn() {
    await withWatchedSource({}, async (api, src) => {
      await src.list("pods");
      await until("the pods watch", () => api.openWatches === 1);
      const lists = () => api.requests.filter((r) => r.path === "/api/v1/pods" && !isWatch(r));
      assert.equal(lists().length, 1);
      // The stand-in ends the watch after 1 s; the next two reconnections get 500.
      api.failNext(2, 500);
      await until(
        "two failed reconnections",
        () => api.requests.filter((r) => isWatch(r) && r.status === 500).length === 2,
      );
      await until("the watch back", () => api.openWatches === 1);
      const watches = api.requests.filter(isWatch);
      assert.equal(
        watches.at(-1)!.query["resourceVersion"],
        watches[0]!.query["resourceVersion"],
        "resumed from the version it had",
      );
      api.setObjects([...OBJECTS, pod("after-reconnect", "emojivoto")]);
      await until(
        "the change after the reconnection",
        async () => names(await src.list("pods")).includes("after-reconnect"),
      );
      assert.equal(lists().length, 1, "no relist: the watch resumed");
    }, 1);
  },
});
