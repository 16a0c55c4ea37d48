/**
 * Prompts through a real MCP client on the demo: each prompt's message carries the
 * evidence (names and numbers the demo's tools give), then the instructions.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { edgeTruth } from "../support/demo_traffic.ts";
import { connectInProcess } from "../_mcp.ts";
import { demoDeps, withDemoClient } from "./_demo.ts";

// deno-lint-ignore no-explicit-any
type Data = any;

function textOf(r: { messages: { content: unknown }[] }): string {
  assert.equal(r.messages.length, 1);
  const c = r.messages[0]!.content as { type: string; text: string };
  assert.equal(c.type, "text");
  return c.text;
}

Deno.test("prompts/list offers the prompts with their arguments", async () => {
  await withDemoClient(async (client) => {
    const { prompts } = await client.listPrompts();
    const names = prompts.map((p) => p.name);
    for (const n of ["diagnose_denied_traffic", "mesh_health_review", "pre_upgrade_check"]) {
      assert.ok(names.includes(n), n);
    }
    const d = prompts.find((p) => p.name === "diagnose_denied_traffic")!;
    assert.deepEqual(
      d.arguments?.map((a) => [a.name, a.required]),
      [["source", true], ["target", true], ["port", false]],
    );
    // lock_down_namespace is offered exactly when the lifecycle tools exist
    const { tools } = await client.listTools();
    const lifecycle = ["generate_policies", "analyze_audit"].every((t) =>
      tools.some((x) => x.name === t)
    );
    if (!lifecycle) assert.ok(!names.includes("lock_down_namespace"));
  });
});

Deno.test("diagnose_denied_traffic embeds the verdict, the route that denies and the denials", async () => {
  await withDemoClient(async (client) => {
    const r = await client.getPrompt({
      name: "diagnose_denied_traffic",
      arguments: { source: "booksapp/books", target: "booksapp/authors" },
    });
    const text = textOf(r);
    assert.match(text, /"verdict": "partial"/);
    assert.match(text, /authors-server/);
    assert.match(text, /HTTPRoute\/authors-modify-route/);
    assert.match(text, /"decision": "denied"/);
    assert.match(text, /MeshTLSAuthentication/); // the suggested fix
    const denied = edgeTruth("booksapp/books", "booksapp", "authors").deniedRps;
    assert.match(text, new RegExp(`"deniedRate": ${denied}\\b`));
    assert.match(text, /What to do:/);
  });
});

Deno.test("diagnose_denied_traffic with a port and a workload source", async () => {
  await withDemoClient(async (client) => {
    const r = await client.getPrompt({
      name: "diagnose_denied_traffic",
      arguments: { source: "booksapp/deployment/books", target: "booksapp/authors", port: "7001" },
    });
    const text = textOf(r);
    assert.match(text, /"port": 7001/);
    assert.match(text, /"verdict": "partial"/);
  });
});

Deno.test("prompt errors are invalid params with what to pass", async () => {
  await withDemoClient(async (client) => {
    await assert.rejects(
      client.getPrompt({ name: "diagnose_denied_traffic", arguments: { source: "books" } }),
      /-32602.*target/,
    );
    await assert.rejects(
      client.getPrompt({
        name: "diagnose_denied_traffic",
        arguments: { source: "books", target: "booksapp/authors" },
      }),
      /-32602.*namespace\/service/,
    );
    await assert.rejects(client.getPrompt({ name: "no_such_prompt" }), /-32602.*available/);
    await assert.rejects(
      client.getPrompt({ name: "mesh_health_review", arguments: { nonsense: "x" } }),
      /-32602.*nonsense/,
    );
  });
});

Deno.test("mesh_health_review embeds checks, failing services with their numbers, validation", async () => {
  await withDemoClient(async (client) => {
    const health = (await client.callTool({
      name: "get_service_health_summary",
      arguments: { namespace: "booksapp", time_range: "5m" },
    })).structuredContent as Data;
    const worst = health.services[0];
    assert.notEqual(worst.healthStatus, "healthy");
    const text = textOf(await client.getPrompt({ name: "mesh_health_review", arguments: {} }));
    assert.match(text, /Linkerd in \\"linkerd\\" is healthy/);
    assert.match(text, /Service health in booksapp/);
    assert.match(text, /Service health in emojivoto/);
    assert.ok(text.includes(`"service": "${worst.service}"`), worst.service);
    assert.ok(text.includes(`"successRate": ${worst.successRate}`), String(worst.successRate));
    assert.match(text, /validate_mesh_config/);
    assert.match(text, /"errors": 0/);
    const one = textOf(
      await client.getPrompt({ name: "mesh_health_review", arguments: { namespace: "emojivoto" } }),
    );
    assert.match(one, /voting-svc/);
    assert.ok(!one.includes("Service health in booksapp"));
  });
});

Deno.test("pre_upgrade_check embeds proxy versions, deprecated resources and CRD versions", async () => {
  await withDemoClient(async (client) => {
    const text = textOf(
      await client.getPrompt({ name: "pre_upgrade_check", arguments: { target_version: "2.19" } }),
    );
    assert.match(text, /upgrade of Linkerd to 2\.19/);
    assert.match(text, /edge-26\.8\.3/);
    assert.match(text, /"v2\.366\.0"/);
    // the demo's emojivoto still uses ServerAuthorizations and policy.linkerd.io/v1beta1 Servers
    assert.match(text, /"serverAuthorizations": \[\s*"emojivoto\/internal-grpc"/);
    assert.match(text, /"v1beta1Servers": \[[^\]]*"emojivoto\/emoji-grpc"/);
    assert.match(text, /"crd": "httproutes\.policy\.linkerd\.io"/);
    assert.match(text, /"storage": \[\s*"v1beta3"/);
  });
});

Deno.test("lock_down_namespace: the namespace's edges, then generate → audit → analyze → fix → enforce", async () => {
  const order = (text: string, words: string[]) => {
    const at = words.map((w) => text.indexOf(w));
    assert.ok(at.every((i) => i >= 0), `missing one of ${words.join(", ")}`);
    assert.deepEqual(at, [...at].sort((a, b) => a - b), `out of order: ${words.join(" → ")}`);
  };
  const writes = { ...demoDeps(), config: loadConfig({ LINKERD_MCP_ALLOW_WRITES: "1" }) };
  for (const deps of [demoDeps(), writes]) {
    const { client, close } = await connectInProcess(deps);
    try {
      const { prompts } = await client.listPrompts();
      if (!prompts.some((p) => p.name === "lock_down_namespace")) return; // no lifecycle tools
      const text = textOf(
        await client.getPrompt({
          name: "lock_down_namespace",
          arguments: { namespace: "booksapp" },
        }),
      );
      assert.match(text, /"workload": "deployment\/traffic"/);
      assert.match(text, /"verdict": "audit"/);
      if (deps.config.allowWrites) {
        order(text, ["generate_policies", "apply_policies", "analyze_audit", "enforce_policies"]);
      } else {
        order(text, ["generate_policies", "analyze_audit", "audit to deny"]);
        assert.match(text, /writes are disabled/);
        assert.ok(!text.includes("apply_policies {"));
      }
    } finally {
      await close();
    }
  }
});
