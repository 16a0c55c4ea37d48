/**
 * The server through a real MCP client, in process: tool listing, structured
 * results, errors as isError results, and serving on after failures and timeouts.
 */
import assert from "node:assert/strict";
import { KubeApiError } from "../src/errors.ts";
import type { ClusterSource } from "../src/kube/source.ts";
import { objectsFromYaml, testDeps, upstreamFixture } from "./_helpers.ts";
import { connectInProcess } from "./_mcp.ts";

const EMOJIVOTO = objectsFromYaml(upstreamFixture("demo-apps/emojivoto.yml"));

type CallResult = {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
};

Deno.test("tools/list advertises every tool with schemas and annotations", async () => {
  const { client, close } = await connectInProcess(testDeps(EMOJIVOTO));
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.length >= 11, `expected at least 11 tools, got ${tools.length}`);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, "object");
      assert.equal(t.outputSchema?.type, "object", `${t.name} has no outputSchema`);
      assert.equal(t.annotations?.readOnlyHint, true);
      assert.ok(t.title, `${t.name} has no title`);
    }
  } finally {
    await close();
  }
});

Deno.test("tools/call returns structuredContent and the same JSON as text", async () => {
  const { client, close } = await connectInProcess(testDeps(EMOJIVOTO));
  try {
    const res = await client.callTool({
      name: "list_meshed_services",
      arguments: {},
    }) as CallResult;
    assert.notEqual(res.isError, true, res.content[0]?.text);
    assert.ok(res.structuredContent);
    assert.deepEqual(JSON.parse(res.content[0]!.text!), res.structuredContent);
  } finally {
    await close();
  }
});

Deno.test("tools/call turns bad arguments into an isError result naming the field", async () => {
  const { client, close } = await connectInProcess(testDeps(EMOJIVOTO));
  try {
    const res = await client.callTool({
      name: "analyze_connectivity",
      arguments: { source_namespace: 42, source_service: "web" },
    }) as CallResult;
    assert.equal(res.isError, true);
    assert.match(res.content[0]!.text!, /source_namespace/);
  } finally {
    await close();
  }
});

/** A source whose every request fails with `err`, or never answers when `err` is undefined. */
function brokenSource(err?: Error): ClusterSource {
  const fail = () => err ? Promise.reject(err) : new Promise<never>(() => {});
  return { kind: "live", describe: () => "broken test cluster", list: fail, get: fail };
}

Deno.test("a forbidden API server gives an actionable isError and the server keeps serving", async () => {
  const forbidden = new KubeApiError(
    'Cannot list pods: pods is forbidden: User "dev" cannot list',
    {
      status: 403,
      reason: "Forbidden",
    },
  );
  const deps = testDeps([], { cluster: brokenSource(forbidden) });
  const { client, close } = await connectInProcess(deps);
  try {
    const res = await client.callTool({ name: "check_mesh_health", arguments: {} }) as CallResult;
    assert.equal(res.isError, true);
    assert.match(res.content[0]!.text!, /RBAC/);
    const again = await client.listTools();
    assert.ok(again.tools.length > 0);
  } finally {
    await close();
  }
});

Deno.test("a slow API server makes the tool fail within its time bound, then serving goes on", async () => {
  const deps = testDeps([], { cluster: brokenSource() });
  const { client, close } = await connectInProcess(deps, { toolTimeoutMs: 300 });
  try {
    const started = performance.now();
    const res = await client.callTool({
      name: "list_meshed_services",
      arguments: {},
    }) as CallResult;
    const elapsed = performance.now() - started;
    assert.equal(res.isError, true);
    assert.match(res.content[0]!.text!, /did not finish within/);
    assert.ok(elapsed < 3000, `took ${elapsed} ms`);
    // The same server keeps answering.
    assert.ok((await client.listTools()).tools.length > 0);
  } finally {
    await close();
  }
});
