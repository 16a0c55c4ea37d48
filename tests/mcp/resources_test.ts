/**
 * Resources and completions through a real MCP client on the demo.
 */
import assert from "node:assert/strict";
import { createDemoSource } from "../../src/demo/mod.ts";
import { listResources, PAGE_SIZE } from "../../src/mcp_extras/resources.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { demoDeps, withDemoClient } from "./_demo.ts";

const textOf = (r: { contents: unknown[] }) => {
  const c = r.contents[0] as { text: string; mimeType: string; uri: string };
  assert.equal(c.mimeType, "text/markdown");
  return c.text;
};

Deno.test("resources/list: summary, validation report and one policy per namespace", async () => {
  const namespaces = (await createDemoSource().list("namespaces")).map((n) => n.metadata.name);
  await withDemoClient(async (client) => {
    const { resources, nextCursor } = await client.listResources();
    assert.equal(nextCursor, undefined);
    const uris = resources.map((r) => r.uri);
    assert.ok(uris.includes("linkerd://mesh/summary"));
    assert.ok(uris.includes("linkerd://validation/report"));
    for (const ns of namespaces) assert.ok(uris.includes(`linkerd://namespaces/${ns}/policy`), ns);
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), [
      "linkerd://namespaces/{namespace}/policy",
    ]);
  });
});

Deno.test("resources/list is paginated and bounded", async () => {
  const base = demoDeps();
  const many: KubeObject[] = Array.from({ length: 120 }, (_, i) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: `ns-${String(i).padStart(3, "0")}` },
  }));
  const deps = {
    ...base,
    cluster: {
      ...base.cluster,
      list: (r: string, o?: unknown) =>
        r === "namespaces" ? Promise.resolve(many) : base.cluster.list(r as "pods", o as undefined),
    } as typeof base.cluster,
  };
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listResources(deps, cursor);
    assert.ok(page.resources.length <= PAGE_SIZE);
    seen.push(...page.resources.map((r) => r.uri));
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined);
  assert.equal(seen.length, 122);
  assert.equal(new Set(seen).size, 122);
  assert.equal(pages, Math.ceil(122 / PAGE_SIZE));
  await assert.rejects(listResources(deps, "not-a-cursor"), /Invalid cursor/);
});

Deno.test("reading the mesh summary: versions and meshed services per namespace", async () => {
  await withDemoClient(async (client) => {
    const text = textOf(await client.readResource({ uri: "linkerd://mesh/summary" }));
    assert.match(text, /Control plane edge-26\.8\.3, proxy v2\.366\.0/);
    const listed = (await client.callTool({ name: "list_meshed_services", arguments: {} }))
      .structuredContent as { services: { namespace: string }[] };
    const emojivoto = listed.services.filter((s) => s.namespace === "emojivoto").length;
    assert.ok(emojivoto > 0);
    assert.match(text, new RegExp(`\\| emojivoto \\| ${emojivoto} \\|`));
  });
});

Deno.test("reading a namespace's policy through the template", async () => {
  await withDemoClient(async (client) => {
    const text = textOf(
      await client.readResource({ uri: "linkerd://namespaces/booksapp/policy" }),
    );
    assert.match(text, /# Linkerd policy in namespace booksapp/);
    assert.match(text, /\*\*authors-server\*\*/);
    assert.match(text, /\*\*webapp-server\*\*.*accessPolicy audit/);
    assert.match(text, /HTTPRoute authors-modify-route\*\* → authors-server/);
    assert.match(
      text,
      /authors-modify-policy: mTLS identities webapp\.booksapp\.serviceaccount\.identity/,
    );
    assert.match(text, /\*\*webapp\*\*: any client, meshed or not \(audit\)/);
    const emoji = textOf(
      await client.readResource({ uri: "linkerd://namespaces/emojivoto/policy" }),
    );
    assert.match(emoji, /ServerAuthorization web-public/);
    await assert.rejects(
      client.readResource({ uri: "linkerd://namespaces/nope/policy" }),
      /-32602.*not found.*booksapp/,
    );
    await assert.rejects(
      client.readResource({ uri: "linkerd://other" }),
      /-32602.*Unknown resource/,
    );
  });
});

Deno.test("reading the validation report lists every issue, info included", async () => {
  await withDemoClient(async (client) => {
    const text = textOf(await client.readResource({ uri: "linkerd://validation/report" }));
    assert.match(text, /"code": "audit-mode-enabled"/);
    assert.match(text, /"resource": "Server\/booksapp\/webapp-server"/);
  });
});

// ---------------------------------------------------------------- completions

Deno.test("completions: namespaces, endpoints, ports and the template's namespace", async () => {
  await withDemoClient(async (client) => {
    const ns = await client.complete({
      ref: { type: "ref/prompt", name: "mesh_health_review" },
      argument: { name: "namespace", value: "emo" },
    });
    assert.deepEqual(ns.completion.values, ["emojivoto"]);
    const ep = await client.complete({
      ref: { type: "ref/prompt", name: "diagnose_denied_traffic" },
      argument: { name: "source", value: "booksapp/" },
    });
    for (const v of ["booksapp/authors", "booksapp/books", "booksapp/deployment/traffic"]) {
      assert.ok(ep.completion.values.includes(v), v);
    }
    assert.ok(ep.completion.values.every((v) => v.startsWith("booksapp/")));
    const first = await client.complete({
      ref: { type: "ref/prompt", name: "diagnose_denied_traffic" },
      argument: { name: "target", value: "b" },
    });
    assert.deepEqual(first.completion.values, ["booksapp/"]);
    const port = await client.complete({
      ref: { type: "ref/prompt", name: "diagnose_denied_traffic" },
      argument: { name: "port", value: "" },
      context: { arguments: { target: "booksapp/authors" } },
    });
    assert.ok(port.completion.values.includes("7001"), JSON.stringify(port.completion));
    const tpl = await client.complete({
      ref: { type: "ref/resource", uri: "linkerd://namespaces/{namespace}/policy" },
      argument: { name: "namespace", value: "linkerd" },
    });
    assert.deepEqual(tpl.completion.values, ["linkerd", "linkerd-multicluster", "linkerd-viz"]);
    assert.equal(tpl.completion.hasMore, false);
    const none = await client.complete({
      ref: { type: "ref/prompt", name: "no_such_prompt" },
      argument: { name: "namespace", value: "" },
    });
    assert.deepEqual(none.completion.values, []);
  });
});
