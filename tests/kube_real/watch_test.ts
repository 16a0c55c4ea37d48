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

Deno.test({
  name: "real API server: a watched change appears in the next answer, with no list between",
  ignore: KUBE_SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using kube = await startRealKube({ objects: demoObjects() });
    // Every request the source sends (lists, gets) is logged as "kube request"; the
    // long-lived watch requests are not.
    const sent: Array<Record<string, unknown>> = [];
    const log: Logger = {
      debug: (msg, fields) => msg === "kube request" && sent.push(fields ?? {}),
      info: () => {},
      warn: () => {},
      error: () => {},
    };
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
