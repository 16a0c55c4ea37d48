/**
 * Four sources, one mesh: the embedded demo, the demo's objects as manifests on disk, the
 * stand-in serving them, and a real kube-apiserver holding them (created through the API,
 * status written through the status subresource). Every cluster-reading tool must give the
 * same answer on all four, apart from provenance and ages. Then, on the real server only:
 * pagination with a tiny page size, continue tokens and watches after an etcd compaction
 * (410 Gone), and a watch that resumes from a fresh list.
 */
import assert from "node:assert/strict";
import { stringify as stringifyYaml } from "yaml";
import { createDemoSource, demoObjects } from "../../src/demo/mod.ts";
import { loadManifests } from "../../src/kube/manifests.ts";
import { RESOURCE_KEYS, RESOURCES, type ResourceType } from "../../src/kube/resources.ts";
import type { ClusterSource } from "../../src/kube/source.ts";
import { startStandin } from "../support/kube_standin.ts";
import { KUBE_SKIP_REASON, startRealKube } from "../support/kube_real.ts";
import { type Data, depsFor, liveSource, normalized, ok } from "./_sources.ts";

/** The questions asked of every source. */
const CALLS: Array<[string, Record<string, unknown>]> = [
  ["check_mesh_health", {}],
  ["list_meshed_services", {}],
  ["list_meshed_services", { namespace: "booksapp", includeUnmeshed: true }],
  ["list_meshed_services", { limit: 2 }],
  ["analyze_connectivity", {
    source_namespace: "emojivoto",
    source_service: "web-svc",
    target_service: "emoji-svc",
  }],
  ["analyze_connectivity", {
    source_namespace: "emojivoto",
    source_service: "web-svc",
    target_service: "voting-svc",
  }],
  ["analyze_connectivity", {
    source_namespace: "booksapp",
    source_service: "books",
    target_service: "authors",
  }],
  ["analyze_connectivity", {
    source_namespace: "booksapp",
    source_service: "webapp",
    target_service: "books",
  }],
  ["analyze_connectivity", {
    source_namespace: "emojivoto",
    source_service: "web-svc",
    target_namespace: "booksapp",
    target_service: "authors",
  }],
  ["get_allowed_targets", { source_namespace: "emojivoto", source_service: "web-svc" }],
  ["get_allowed_targets", { source_namespace: "booksapp", source_service: "webapp" }],
  ["get_allowed_sources", { target_namespace: "emojivoto", target_service: "emoji-svc" }],
  ["get_allowed_sources", { target_namespace: "booksapp", target_service: "authors" }],
  // one page holding every result: the sources differ in how many results come before
  // (the real server's own namespaces), so default pages would start at different items
  ["validate_mesh_config", { limit: 1000 }],
  ["validate_mesh_config", { include_warnings: false, namespace: "booksapp", limit: 1000 }],
];

function log(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`  ${line}\n`));
}

/** The real server's own namespaces. */
const SERVER_OWN = /^(default|kube-system|kube-public|kube-node-lease)$/;

/** Calls whose answer counts the server's own objects, which the demo does not have. */
const DEMO_LACKS = new Set([
  "list_meshed_services {}",
  `list_meshed_services {"limit":2}`,
  // Every Service is a possible target, default/kubernetes (no selector) as "undetermined".
  `get_allowed_targets {"source_namespace":"emojivoto","source_service":"web-svc"}`,
  `get_allowed_targets {"source_namespace":"booksapp","source_service":"webapp"}`,
  // The kube-* and default namespaces are validated too.
  `validate_mesh_config {"limit":1000}`,
]);

/**
 * A live source reads every object at the version it asks for (the API server converts), so
 * findings about the version an object was written in (`server-api-deprecated`, field
 * `apiVersion`) exist on the demo and on manifests only: validation is compared without
 * them (results only; the summary counts them).
 */
function authored(tool: string, d: Data, withoutKinds: string[] = []): Data {
  if (tool !== "validate_mesh_config") return d;
  // Results come worst first, and the apiVersion findings only the demo and manifests have
  // change a result's rank: compare in the report's own order (namespace, kind, name).
  const key = (r: Data) => `${r.namespace}\u0000${r.resourceType}\u0000${r.name}`;
  return (d.results as Data[]).filter((r) => !withoutKinds.includes(r.resourceType)).map((r) => ({
    ...r,
    issues: r.issues.filter((i: Data) => i.field !== "apiVersion"),
  })).sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

async function answers(cluster: ClusterSource): Promise<Data[]> {
  const deps = depsFor(cluster);
  const out: Data[] = [];
  for (const [name, args] of CALLS) out.push(normalized(await ok(deps, name, args), cluster));
  return out;
}

Deno.test({
  name: "real API server: the same tool answers as the stand-in, the manifests and the demo",
  ignore: KUBE_SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const objects = demoObjects();
    const started = performance.now();
    await using kube = await startRealKube();
    const load = await kube.loadObjects(objects);
    log(
      `real API server: etcd ${kube.timings.etcdMs.toFixed(0)} ms, kube-apiserver ` +
        `${kube.timings.apiserverMs.toFixed(0)} ms, CRDs ${kube.timings.crdsMs.toFixed(0)} ms, ` +
        `${load.created} objects loaded, total ${(performance.now() - started).toFixed(0)} ms`,
    );
    for (const note of load.notes) log(`real API server differs from the demo data: ${note}`);
    // The demo's pods are what a real server stores: its QoS class, a service account.
    assert.deepEqual(load.notes, [], "the real API server corrected the demo data");
    // Every real cluster also has the server's own objects (Service default/kubernetes,
    // ConfigMaps in kube-system, the kube-* namespaces): the stand-in and the manifests get
    // them too; the demo has none, so the answers that count them are not compared there.
    const real = await liveSource(kube.users.admin.kubeconfigPath);
    const own = (await Promise.all(
      (["namespaces", "services", "configmaps"] as const).map((k) => real.list(k)),
    )).flat().filter((o) => SERVER_OWN.test(o.metadata.namespace ?? o.metadata.name));
    const standin = await startStandin({ objects: [...objects, ...own] });
    const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-four-" });
    const manifestsPath = `${dir}/demo.yaml`;
    await Deno.writeTextFile(
      manifestsPath,
      // Without the heartbeat CronJob: for a workload without pods the manifests source runs
      // one (by design: manifests say what would run), which a running cluster has not yet.
      [...objects.filter((o) => o.kind !== "CronJob"), ...own].map((o) => stringifyYaml(o))
        .join("---\n"),
    );
    const fake = await liveSource(standin.kubeconfigPath);
    try {
      await t.step("every answer is the same on all four sources", async () => {
        const [onReal, onStandin, onDemo, onManifests] = [
          await answers(real),
          await answers(fake),
          await answers(createDemoSource()),
          await answers(await loadManifests([manifestsPath])),
        ];
        CALLS.forEach(([name, args], i) => {
          const what = `${name} ${JSON.stringify(args)}`;
          assert.deepEqual(onReal[i], onStandin[i], `real vs stand-in: ${what}`);
          if (!DEMO_LACKS.has(what)) {
            assert.deepEqual(
              authored(name, onReal[i]),
              authored(name, onDemo[i]),
              `real vs demo: ${what}`,
            );
          }
          // check_mesh_health: the manifests have no heartbeat CronJob (see above).
          if (name !== "check_mesh_health") {
            assert.deepEqual(
              authored(name, onReal[i], ["CronJob"]),
              authored(name, onManifests[i]),
              `real vs manifests: ${what}`,
            );
          }
        });
        // Not vacuous: the mesh was really read (services, verdicts, findings).
        const listed = onReal[1];
        assert.ok(listed.services.length >= 6, JSON.stringify(listed.summary));
        assert.equal(onReal[4].verdict, "allowed");
        assert.equal(onReal[6].verdict, "partial");
      });

      await t.step(
        "every resource in the table is served and holds the demo's objects",
        async () => {
          for (const key of RESOURCE_KEYS) {
            if (key === "crds") continue; // the upstream CRDs, not the demo's copies
            const r: ResourceType = RESOURCES[key];
            const names = (await real.list(key)).map((o) =>
              `${o.metadata.namespace}/${o.metadata.name}`
            );
            const expected = objects.filter((o) =>
              o.kind === r.kind &&
              (o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "") === r.group
            ).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
            for (const name of expected) assert.ok(names.includes(name), `${key} ${name} missing`);
            // The real server adds its own objects, only in its own namespaces (Service
            // default/kubernetes, ConfigMaps in kube-system, the kube-* namespaces).
            const extra = names.filter((n) => !expected.includes(n));
            assert.ok(
              extra.every((n) =>
                SERVER_OWN.test(n.split("/")[n.startsWith("undefined/") ? 1 : 0]!)
              ),
              `${key}: unexpected ${extra.join(", ")}`,
            );
          }
        },
      );
    } finally {
      await real.close();
      await fake.close();
      await standin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "real API server: small pages, expired continue tokens and watches after compaction",
  ignore: KUBE_SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using kube = await startRealKube({ crds: false });
    const ns = "paging";
    await kube.must("POST", "/api/v1/namespaces", { metadata: { name: ns } });
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    for (let i = 0; i < 7; i++) {
      await kube.must("POST", cms, {
        metadata: { name: `cm-${i}`, labels: { app: "paging", odd: String(i % 2 === 1) } },
        data: { i: String(i) },
      });
    }

    await t.step("the live source reads every item with a page size of 2", async () => {
      const source = await liveSource(kube.users.admin.kubeconfigPath, { pageSize: 2 });
      try {
        const all = await source.list("configmaps", { namespace: ns });
        assert.deepEqual(
          all.map((c) => c.metadata.name).sort(),
          ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4", "cm-5", "cm-6"],
        );
        assert.equal(all.filter((c) => c.metadata.name.startsWith("cm-")).length, 7);
        assert.ok(all.every((c) => c.kind === "ConfigMap" && c.apiVersion === "v1"));
        const odd = await source.list("configmaps", { namespace: ns, labelSelector: "odd=true" });
        assert.deepEqual(odd.map((c) => c.metadata.name).sort(), ["cm-1", "cm-3", "cm-5"]);
      } finally {
        await source.close();
      }
      // The real server did page: limit=2 gives a continue token and the remaining count.
      const page = await kube.must("GET", cms, undefined, { query: { limit: "2" } });
      assert.equal(page.json.items.length, 2);
      assert.ok(page.json.metadata.continue, "a continue token");
      assert.equal(page.json.metadata.remainingItemCount, 5);
    });

    await t.step("a continue token older than a compaction is 410 Expired", async () => {
      const first = await kube.must("GET", cms, undefined, { query: { limit: "2" } });
      const token = first.json.metadata.continue as string;
      await kube.must("POST", cms, { metadata: { name: "after-first-page" } });
      await kube.compact();
      const next = await kube.request("GET", cms, undefined, {
        query: { limit: "2", continue: token },
      });
      assert.equal(next.status, 410, next.text);
      assert.equal(next.json.reason, "Expired");
      assert.match(next.json.message, /continue parameter is too old/);
      log(`real 410 on continue: ${next.json.message}`);
      // What the live source does on 410 (it re-lists in one go) yields everything.
      const source = await liveSource(kube.users.admin.kubeconfigPath, { pageSize: 3 });
      try {
        const all = await source.list("configmaps", { namespace: ns });
        assert.ok(all.some((c) => c.metadata.name === "after-first-page"));
      } finally {
        await source.close();
      }
    });

    await t.step(
      "a watch from a compacted resourceVersion gets 410 Gone; a fresh one resumes",
      async () => {
        const before = await kube.must("GET", cms);
        const oldRv = before.json.metadata.resourceVersion as string;
        // Compacting at revision R keeps R: two writes put oldRv + 1 below the compaction.
        await kube.must("POST", cms, { metadata: { name: "moves-the-revision" } });
        await kube.must("POST", cms, { metadata: { name: "moves-it-again" } });
        await kube.compact();
        // Through our own HTTP layer (the live source's proxyGet), as a watch client would.
        const source = await liveSource(kube.users.admin.kubeconfigPath);
        try {
          const gone = await source.proxyGet(cms, {
            watch: "1",
            resourceVersion: oldRv,
            timeoutSeconds: "2",
          });
          const events = gone.body.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
          // The real server answers 200 and sends one ERROR event carrying a 410 Status.
          const error = events.find((e) => e.type === "ERROR");
          log(
            `real watch from a compacted RV: HTTP ${gone.status}, events ${
              events.map((e) => e.type).join(",")
            }, ${error?.object?.message}`,
          );
          assert.ok(
            gone.status === 410 || error?.object?.code === 410,
            `expected a 410, got HTTP ${gone.status}: ${gone.body.slice(0, 300)}`,
          );
          if (error) {
            assert.equal(error.object.reason, "Expired");
            assert.match(error.object.message, /resourceVersion for the provided watch is too old/);
          }
          // Resume as an informer does: list for a fresh resourceVersion, watch from it.
          const fresh = await kube.must("GET", cms);
          const rv = fresh.json.metadata.resourceVersion as string;
          const watching = source.proxyGet(cms, {
            watch: "1",
            resourceVersion: rv,
            timeoutSeconds: "3",
            allowWatchBookmarks: "true",
          });
          await new Promise((r) => setTimeout(r, 500));
          await kube.must("POST", cms, { metadata: { name: "seen-by-the-watch" } });
          const resumed = await watching;
          assert.equal(resumed.status, 200, resumed.body.slice(0, 300));
          const seen = resumed.body.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
          assert.deepEqual(
            seen.filter((e) => e.type === "ADDED").map((e) => e.object.metadata.name),
            ["seen-by-the-watch"],
          );
        } finally {
          await source.close();
        }
      },
    );

    await t.step(
      "the watch cache, unlike etcd, still serves a compacted resourceVersion",
      async () => {
        // Service accounts are watched through the watch cache: a resourceVersion from before
        // the compaction but within the cache's window is answered with the events since, no
        // 410. A watcher cannot count on a 410 after every compaction.
        const sas = `/api/v1/namespaces/${ns}/serviceaccounts`;
        const before = await kube.must("GET", sas);
        const oldRv = before.json.metadata.resourceVersion as string;
        await kube.must("POST", sas, { metadata: { name: "after-old-rv" } });
        await kube.must("POST", sas, { metadata: { name: "after-old-rv-2" } });
        await kube.compact();
        const res = await kube.request("GET", sas, undefined, {
          query: { watch: "1", resourceVersion: oldRv, timeoutSeconds: "1" },
        });
        const events = res.text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
        log(
          `real watch-cache watch from a compacted RV: HTTP ${res.status}, events ${
            events.map((e) => `${e.type}:${e.object?.metadata?.name ?? e.object?.code}`).join(",")
          }`,
        );
        assert.equal(res.status, 200);
        assert.deepEqual(
          events.map((e) => [e.type, e.object.metadata?.name]),
          [["ADDED", "after-old-rv"], ["ADDED", "after-old-rv-2"]],
        );
      },
    );
  },
});
