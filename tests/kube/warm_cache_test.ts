/**
 * Warm calls on a watched cluster send no API request (issue 14): label-selected and
 * namespace lists answered from watch-fed caches with the API server's selector semantics,
 * single-object watches for ConfigMaps readable only by name (the Helm chart's Role), and a
 * warm `check_mesh_health` against the Kubernetes API stand-in.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createLiveSource, type LiveSource } from "../../src/kube/live.ts";
import { matchesSelector, parseSelector } from "../../src/kube/selectors.ts";
import { LINKERD_CONFIGMAPS, loadState, mergeStates } from "../../src/kube/state.ts";
import { readMeshConfig } from "../../src/mesh/config.ts";
import { RULES } from "../../src/validate/catalogue.ts";
import { validate } from "../../src/validate/run.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { loadConfig } from "../../src/config.ts";
import { loadPolicyIndex } from "../../src/policy/load.ts";
import { runTool } from "../../src/tools/_spec.ts";
import { meshTools } from "../../src/tools/mesh.ts";
import { testDeps } from "../_helpers.ts";
import { type Standin, type StandinOptions, startStandin } from "../support/kube_standin.ts";
import { syntheticCluster } from "../support/synthetic.ts";
import { isWatch, names, until } from "./_watch.ts";

function pod(name: string, namespace: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels } };
}

function configMap(name: string, namespace: string, data: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data };
}

const OBJECTS: KubeObject[] = [
  pod("web-1", "emojivoto", { app: "web", "linkerd.io/control-plane-ns": "linkerd" }),
  pod("web-2", "emojivoto", { app: "web" }),
  pod("books-1", "booksapp", { app: "books", "linkerd.io/control-plane-ns": "linkerd" }),
  configMap("linkerd-config", "linkerd", { values: "a: 1" }),
  configMap("linkerd-identity-trust-roots", "linkerd", { "ca-bundle.crt": "x" }),
  configMap("other", "linkerd", { secret: "not ours" }),
];

async function withSource(
  opts: StandinOptions,
  fn: (api: Standin, src: LiveSource) => Promise<void>,
): Promise<void> {
  const api = await startStandin({ objects: OBJECTS, ...opts });
  // A short TTL: a repeat call after it proves the answer came from a watch, not the TTL.
  const src = await createLiveSource({
    kubeconfigPath: api.kubeconfigPath,
    env: {},
    timeoutMs: 10_000,
    cacheTtlMs: 50,
    watchTimeoutSeconds: 30,
  });
  try {
    await fn(api, src);
  } finally {
    await src.close();
    await api.close();
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("label selectors mean what the API server means", () => {
  const cases: Array<[string, Record<string, string>, boolean]> = [
    ["a=b", { a: "b" }, true],
    ["a=b", { a: "c" }, false],
    ["a=b", {}, false],
    ["a==b", { a: "b" }, true],
    ["a=", { a: "" }, true],
    ["a=", {}, false],
    ["a!=b", { a: "c" }, true],
    ["a!=b", {}, true], // != also selects objects without the label
    ["a!=b", { a: "b" }, false],
    ["a", { a: "" }, true],
    ["a", { b: "x" }, false],
    ["!a", { b: "x" }, true],
    ["!a", { a: "x" }, false],
    ["a in (x,y)", { a: "y" }, true],
    ["a in (x, y)", { a: "z" }, false],
    ["a in (x,y)", {}, false],
    ["a in(x)", { a: "x" }, true],
    ["a notin (x)", { a: "y" }, true],
    ["a notin (x)", {}, true], // notin also selects objects without the label
    ["a notin (x)", { a: "x" }, false],
    ["a=b,a=c", { a: "b" }, false], // every requirement must hold
    ["a=b, c", { a: "b", c: "" }, true],
    ["a=b,!c", { a: "b", c: "" }, false],
    ["linkerd.io/control-plane-ns", { "linkerd.io/control-plane-ns": "linkerd" }, true],
  ];
  for (const [text, labels, want] of cases) {
    assert.equal(
      matchesSelector(parseSelector(text), labels),
      want,
      `${text} on ${JSON.stringify(labels)}`,
    );
  }
  for (const bad of ["a in ()", "a in (x", "a=b=c", "a in (x,,y)"]) {
    assert.throws(() => parseSelector(bad), /Cannot parse label selector/, bad);
  }
});

Deno.test("a label-selected list is watched, then answered with no request", async () => {
  await withSource({}, async (api, src) => {
    const sel = "linkerd.io/control-plane-ns";
    assert.deepEqual(names(await src.list("pods", { labelSelector: sel })), ["books-1", "web-1"]);
    const first = api.requests.filter((r) => !isWatch(r));
    assert.deepEqual(first.map((r) => [r.path, r.query["labelSelector"]]), [["/api/v1/pods", sel]]);
    await until("the selected watch", () => api.openWatches === 1);
    assert.equal(api.requests.find(isWatch)?.query["labelSelector"], sel);
    assert.deepEqual(src.snapshotInfo?.().watched, [`pods [${sel}]`]);

    await pause(80); // past the TTL
    const before = api.requests.length;
    assert.deepEqual(names(await src.list("pods", { labelSelector: sel })), ["books-1", "web-1"]);
    assert.deepEqual(
      names(await src.list("pods", { labelSelector: sel, namespace: "booksapp" })),
      ["books-1"],
      "a narrower list is filtered from the selected cache",
    );
    assert.equal(api.requests.length, before, "zero API requests while the watch is healthy");

    // A pod newly selected arrives by the watch.
    api.setObjects([
      ...OBJECTS.filter((o) => o.metadata.name !== "web-2"),
      pod("web-2", "emojivoto", { app: "web", "linkerd.io/control-plane-ns": "linkerd" }),
    ]);
    await until(
      "the watched change",
      async () =>
        names(await src.list("pods", { labelSelector: sel })).join() === "books-1,web-1,web-2",
    );
    assert.deepEqual(api.requests.slice(before).filter((r) => !isWatch(r)), [], "no relist");
  });
});

Deno.test("a cluster-wide cache answers selector and namespace lists and replaces narrower caches", async () => {
  await withSource({}, async (api, src) => {
    await src.list("pods", { labelSelector: "app=web" });
    assert.deepEqual(src.snapshotInfo?.().watched, ["pods [app=web]"]);
    await src.list("pods");
    assert.deepEqual(src.snapshotInfo?.().watched, ["pods"], "the selected cache was dropped");
    await until("one watch", () => api.openWatches === 1);
    const before = api.requests.length;
    // Answered by filtering the cluster-wide cache, as the API server would select.
    assert.deepEqual(names(await src.list("pods", { labelSelector: "app=web" })), [
      "web-1",
      "web-2",
    ]);
    assert.deepEqual(names(await src.list("pods", { labelSelector: "app!=web" })), ["books-1"]);
    assert.deepEqual(names(await src.list("pods", { labelSelector: "app notin (web),!x" })), [
      "books-1",
    ]);
    assert.deepEqual(
      names(
        await src.list("pods", { namespace: "emojivoto", labelSelector: "app in (web,books)" }),
      ),
      ["web-1", "web-2"],
    );
    assert.equal(api.requests.length, before, "no request: all from the cluster-wide cache");
    assert.equal(api.openWatches, 1);
  });
});

Deno.test("a malformed label selector goes to the API server, which names the error", async () => {
  await withSource({}, async (api, src) => {
    await src.list("pods");
    await assert.rejects(src.list("pods", { labelSelector: "a in (" }), /parse/);
    assert.ok(api.requests.some((r) => r.query["labelSelector"] === "a in ("));
  });
});

Deno.test("ConfigMaps readable only by name (the chart's Role) are watched one by one", async () => {
  // resourceNames + [get, list, watch]: a namespace list is refused, a list/watch by name is not.
  await withSource(
    { forbidden: { resources: ["configmaps"], exceptNames: [...LINKERD_CONFIGMAPS] } },
    async (api, src) => {
      const cm = await src.get("configmaps", "linkerd-config", "linkerd");
      assert.equal(cm?.data?.["values"], "a: 1");
      await src.get("configmaps", "linkerd-identity-trust-roots", "linkerd");
      await until("two watches by name", () => api.openWatches === 2);
      const byName = api.requests.filter((r) => r.query["fieldSelector"]);
      assert.ok(byName.length >= 4, "a list and a watch per object");
      for (const r of byName) {
        assert.equal(r.path, "/api/v1/namespaces/linkerd/configmaps");
        assert.equal(r.status, 200);
        assert.match(
          r.query["fieldSelector"]!,
          /^metadata\.name=linkerd-(config|identity-trust-roots)$/,
        );
      }
      await pause(80);
      const before = api.requests.length;
      assert.equal(
        (await src.get("configmaps", "linkerd-config", "linkerd"))?.metadata.name,
        "linkerd-config",
      );
      assert.ok(await src.get("configmaps", "linkerd-identity-trust-roots", "linkerd"));
      assert.equal(api.requests.length, before, "zero API requests while the watches are healthy");
      assert.ok(
        src.snapshotInfo?.().watched.includes("configmaps (linkerd/linkerd-config)"),
        JSON.stringify(src.snapshotInfo?.()),
      );
      // A change arrives by the watch.
      api.setObjects([
        ...OBJECTS.filter((o) => o.metadata.name !== "linkerd-config"),
        configMap("linkerd-config", "linkerd", { values: "a: 2" }),
      ]);
      await until(
        "the watched change",
        async () =>
          (await src.get("configmaps", "linkerd-config", "linkerd"))?.data?.["values"] === "a: 2",
      );
      assert.deepEqual(api.requests.slice(before).filter((r) => !isWatch(r)), []);
    },
  );
});

Deno.test("ConfigMaps readable only by GET are read by GET (TTL), as before", async () => {
  await withSource(
    { forbidden: { resources: ["configmaps"], verbs: ["list", "watch"] } },
    async (api, src) => {
      assert.equal(
        (await src.get("configmaps", "linkerd-config", "linkerd"))?.data?.["values"],
        "a: 1",
      );
      await pause(80);
      const before = api.requests.length;
      assert.ok(await src.get("configmaps", "linkerd-config", "linkerd"));
      assert.deepEqual(
        api.requests.slice(before).map((r) => r.path),
        ["/api/v1/namespaces/linkerd/configmaps/linkerd-config"],
        "one GET once the TTL has passed, no list or watch tried again",
      );
    },
  );
});

Deno.test("a warm check_mesh_health on a watched cluster sends no API request", async (t) => {
  const objects = syntheticCluster({ pods: 200, services: 40, namespaces: 4 });
  const spec = meshTools().find((s) => s.name === "check_mesh_health")!;
  for (
    const [name, forbidden] of [
      ["cluster-wide RBAC", undefined],
      ["the chart's Role for the linkerd ConfigMaps", {
        resources: ["configmaps"],
        exceptNames: [...LINKERD_CONFIGMAPS],
      }],
    ] as Array<[string, StandinOptions["forbidden"]]>
  ) {
    await t.step(name, async () => {
      await withSource({ objects, ...(forbidden ? { forbidden } : {}) }, async (api, src) => {
        const deps = testDeps([], { cluster: src });
        const first = await runTool(spec, {}, deps);
        assert.ok(first.ok, first.ok ? "" : first.error);
        await until("the watches", () => api.openWatches >= 5);
        await pause(100);
        const before = api.requests.length;
        const warm = await runTool(spec, {}, deps);
        assert.ok(warm.ok, warm.ok ? "" : warm.error);
        assert.deepEqual(
          api.requests.slice(before).filter((r) => !isWatch(r)).map((r) =>
            `${r.path}?${new URLSearchParams(r.query)}`
          ),
          [],
          "no list or get on the warm call",
        );
        assert.deepEqual(
          (warm.data as { checks: unknown[] }).checks,
          (first.data as { checks: unknown[] }).checks,
        );
      });
    });
  }
});

Deno.test("the policy model and index are built once while the watched state is unchanged", async () => {
  await withSource({}, async (api, src) => {
    const deps = { cluster: src, config: loadConfig({}) };
    const a = await loadPolicyIndex(deps, {});
    await pause(80);
    const before = api.requests.length;
    const b = await loadPolicyIndex(deps, {});
    assert.equal(api.requests.length, before, "no request");
    assert.equal(b.state, a.state, "the same state object");
    // readMeshConfig gives a new (equal) object on every call: the memo compares by value.
    assert.equal(b.idx.model, a.idx.model, "the same model");
    assert.equal(b.idx, a.idx, "the same index");
    api.setObjects([...OBJECTS, pod("web-3", "emojivoto", { app: "web" })]);
    await until("the change", async () => (await loadPolicyIndex(deps, {})).state !== a.state);
    const c = await loadPolicyIndex(deps, {});
    assert.notEqual(c.idx, a.idx, "a new index for a new state");
    assert.ok(c.idx.model.pods.some((p) => p.metadata.name === "web-3"));
  });
});

Deno.test("merged states and validation findings are reused while the parts are unchanged", async () => {
  await withSource({}, async (_api, src) => {
    const opts = { linkerdNamespace: "linkerd" };
    const a = await loadState(src, ["pods"], opts);
    const b = await loadState(src, ["configmaps"], opts);
    const merged = mergeStates("x", "linkerd", [a, b]);
    assert.equal(mergeStates("x", "linkerd", [a, b]), merged, "same parts: the same state");
    assert.notEqual(mergeStates("x", "linkerd", [a]), merged, "other parts: a new state");
    assert.notEqual(mergeStates("y", "linkerd", [a, b]), merged);
    assert.equal(mergeStates("x", "linkerd", [a, b]).objects.pods?.length, 3);

    const mesh = readMeshConfig(merged);
    const first = validate(merged, { mesh, partial: false });
    const again = validate(merged, { mesh: readMeshConfig(merged), partial: false });
    assert.deepEqual(again, first);
    assert.notEqual(again, first, "a copy: the caller may sort or filter it");
    again.length = 0;
    assert.deepEqual(validate(merged, { mesh, partial: false }), first, "the memo is intact");
    // other options are computed afresh
    const partial = validate(merged, { mesh, partial: true });
    assert.deepEqual(partial, validate(merged, { mesh, partial: true, rules: RULES }));
  });
});
