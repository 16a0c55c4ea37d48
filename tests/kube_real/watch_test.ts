/**
 * The live source's watch-fed cache against a real kube-apiserver: after the first tool
 * call the kinds it read are watched, a repeat call sends no request, and a change made
 * through the API appears in the next answer without a list in between.
 *
 * @module
 */
import assert from "node:assert/strict";
import { demoObjects } from "../../src/demo/mod.ts";
import { createLiveSource } from "../../src/kube/live.ts";
import type { Logger } from "../../src/log.ts";
import { KUBE_SKIP_REASON, startRealKube } from "../support/kube_real.ts";
import { type Data, depsFor, ok } from "./_sources.ts";

/**
 * Every request the source sends (lists, gets) is logged as "kube request"; the long-lived
 * watch requests are not: `sent` collects their fields.
 */
function requestLog(): { sent: Array<Record<string, unknown>>; log: Logger } {
  const sent: Array<Record<string, unknown>> = [];
  const log: Logger = {
    debug: (msg, fields) => msg === "kube request" && sent.push(fields ?? {}),
    info: () => {},
    warn: () => {},
    error: () => {},
  };
  return { sent, log };
}

Deno.test({
  name: "real API server: a watched change appears in the next answer, with no list between",
  ignore: KUBE_SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using kube = await startRealKube({ objects: demoObjects() });
    const { sent, log } = requestLog();
    const src = await createLiveSource({
      kubeconfigPath: kube.users.admin.kubeconfigPath,
      env: {},
      timeoutMs: 15_000,
      log,
    });
    try {
      const deps = depsFor(src);
      const args = { namespace: "emojivoto", includeUnmeshed: true };
      const names = (d: Data) => (d.services as Data[]).map((s) => s.service as string);
      const first = await ok(deps, "list_meshed_services", args);
      assert.ok(sent.length > 0, "the first call lists");
      assert.ok(!names(first).includes("watch-probe"));
      const afterFirst = sent.length;

      const again = await ok(deps, "list_meshed_services", args);
      assert.deepEqual(names(again), names(first));
      assert.deepEqual(sent.slice(afterFirst), [], "a repeat call sends no request");
      assert.match(again.dataSource.description, /kept current by watches/);

      // A new Service selecting the web pods, created through the API.
      const web = await kube.must("GET", "/api/v1/namespaces/emojivoto/services/web-svc");
      await kube.must("POST", "/api/v1/namespaces/emojivoto/services", {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "watch-probe", namespace: "emojivoto" },
        spec: { selector: web.json.spec.selector, ports: [{ name: "http", port: 8080 }] },
      });
      const deadline = Date.now() + 15_000;
      let seen: Data;
      for (;;) {
        seen = await ok(deps, "list_meshed_services", args);
        if (names(seen).includes("watch-probe") || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(names(seen).includes("watch-probe"), names(seen).join(", "));
      assert.deepEqual(sent.slice(afterFirst), [], "no list or get between the calls");
    } finally {
      await src.close();
    }
  },
});

Deno.test({
  name:
    "real API server: a label-selected list is watched with its selector, labels moving in and out",
  ignore: KUBE_SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using kube = await startRealKube({ objects: demoObjects() });
    const { sent, log } = requestLog();
    const src = await createLiveSource({
      kubeconfigPath: kube.users.admin.kubeconfigPath,
      env: {},
      timeoutMs: 15_000,
      cacheTtlMs: 50,
      log,
    });
    const sel = "watch-probe in (a,b),!excluded";
    const names = async () =>
      (await src.list("services", { labelSelector: sel })).map((o) => o.metadata.name).sort()
        .join();
    const path = "/api/v1/namespaces/emojivoto/services";
    const service = (name: string, labels: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "emojivoto", labels },
      spec: { ports: [{ name: "http", port: 8080 }] },
    });
    const until = async (want: string) => {
      const deadline = Date.now() + 15_000;
      let got = await names();
      while (got !== want && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        got = await names();
      }
      assert.equal(got, want);
    };
    try {
      await kube.must("POST", path, service("probe-a", { "watch-probe": "a" }));
      await kube.must("POST", path, service("probe-c", { "watch-probe": "c" }));
      assert.equal(await names(), "probe-a");
      assert.equal(sent.length, 1, "one list, with the selector");
      assert.match(String(sent[0]!["path"]), /services/);
      await new Promise((r) => setTimeout(r, 200)); // past the TTL
      const afterFirst = sent.length;
      // Into the selector (c → b), and out of it (an excluded label): the server's watch
      // sends ADDED and DELETED for objects whose labels move across the selector.
      await kube.must(
        "PATCH",
        `${path}/probe-c`,
        { metadata: { labels: { "watch-probe": "b" } } },
        {
          contentType: "application/merge-patch+json",
        },
      );
      await until("probe-a,probe-c");
      await kube.must("PATCH", `${path}/probe-a`, { metadata: { labels: { excluded: "yes" } } }, {
        contentType: "application/merge-patch+json",
      });
      await until("probe-c");
      assert.deepEqual(sent.slice(afterFirst), [], "no list or get: all by the selected watch");
      assert.ok(
        src.snapshotInfo!().watched.includes(`services [${sel}]`),
        JSON.stringify(src.snapshotInfo!()),
      );
    } finally {
      await src.close();
    }
  },
});
