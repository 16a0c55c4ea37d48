/**
 * The policy tools on the other two sources: the embedded demo mesh and manifests on
 * disk (pods synthesised from workloads, no pod IPs).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createDemoSource } from "../../src/demo/mod.ts";
import { loadManifests } from "../../src/kube/manifests.ts";
import { runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { policyTools } from "../../src/tools/policy.ts";
import { testDeps } from "../_helpers.ts";

const [analyze, , sources] = policyTools();
const UPSTREAM = new URL("../fixtures/upstream/", import.meta.url);

Deno.test("analyze_connectivity on the demo source: books may read but not modify authors", async () => {
  const deps: ToolDeps = { ...testDeps([]), cluster: createDemoSource() };
  const out = await runTool(analyze!, {
    source_namespace: "booksapp",
    source_service: "books",
    target_service: "authors",
  }, deps);
  assert.ok(out.ok, !out.ok ? out.error : "");
  const data = out.data as {
    verdict: string;
    ports: Array<{ routes: Array<{ route: string; decision: string }> }>;
  };
  assert.equal(data.verdict, "partial");
  assert.equal(
    data.ports[0]!.routes.find((r) => r.route === "HTTPRoute/authors-modify-route")?.decision,
    "denied",
  );
});

Deno.test("get_allowed_sources on the demo source sorts Services by namespace then name", async () => {
  const deps: ToolDeps = { ...testDeps([]), cluster: createDemoSource() };
  const out = await runTool(sources!, {
    target_namespace: "emojivoto",
    target_service: "voting-svc",
  }, deps);
  assert.ok(out.ok);
  const list =
    (out.data as { allowedSources: Array<{ kind: string; namespace?: string; service?: string }> })
      .allowedSources.filter((s) => s.kind === "service").map((s) =>
        [s.namespace!, s.service!] as [string, string]
      );
  const sorted = [...list].sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1
  );
  assert.deepEqual(list, sorted);
  assert.ok(list.some(([ns, svc]) => ns === "emojivoto" && svc === "web-svc"));
});

Deno.test("analyze_connectivity on manifests: an uninjected target enforces no policy", async () => {
  const cluster = await loadManifests([
    new URL("demo-apps/emojivoto.yml", UPSTREAM).pathname,
    new URL("demo-apps/emojivoto-policy.yml", UPSTREAM).pathname,
  ]);
  const out = await runTool(analyze!, {
    source_namespace: "emojivoto",
    source_service: "voting-svc",
    target_service: "emoji-svc",
    target_port: "grpc",
  }, { ...testDeps([]), cluster });
  assert.ok(out.ok, !out.ok ? out.error : "");
  const data = out.data as {
    verdict: string;
    ports: Array<{ server: { kind: string }; notes: string[] }>;
  };
  assert.equal(data.verdict, "allowed");
  assert.equal(data.ports[0]!.server.kind, "unmeshed");
  assert.match(
    data.ports[0]!.notes.join("\n"),
    /Server "emoji-grpc" selects this port.*not enforced/,
  );
});
