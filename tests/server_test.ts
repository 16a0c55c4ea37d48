/**
 * The server through a real MCP client, in process: tool listing, structured
 * results, errors as isError results, and serving on after failures and timeouts.
 */
import assert from "node:assert/strict";
import { KubeApiError } from "../src/errors.ts";
import { createDemoSource } from "../src/demo/mod.ts";
import { describeError, runTool } from "../src/tools/_spec.ts";
import { allTools } from "../src/tools/mod.ts";
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

Deno.test("every tool result names its data source; the advertised schemas say so and are strict", async () => {
  const { client, close } = await connectInProcess(testDeps(EMOJIVOTO));
  try {
    const { tools } = await client.listTools();
    for (const t of tools) {
      assert.equal(t.inputSchema["additionalProperties"], false, `${t.name} input schema`);
      const props = t.outputSchema?.properties as Record<string, unknown> | undefined;
      assert.ok(props?.["dataSource"], `${t.name} output schema has no dataSource`);
    }
    const res = await client.callTool({
      name: "list_meshed_services",
      arguments: {},
    }) as CallResult;
    assert.deepEqual(res.structuredContent?.["dataSource"], {
      kind: "manifests",
      description: "test objects",
    });
    assert.equal(res.content.length, 1, "no demo note outside the demo");
  } finally {
    await close();
  }
});

Deno.test("demo answers say DEMO in their text and in dataSource, results and errors alike", async () => {
  const { client, close } = await connectInProcess(
    testDeps([], { cluster: createDemoSource() }),
  );
  try {
    assert.match(client.getInstructions() ?? "", /DEMO mesh, not a real cluster/);
    const ok = await client.callTool({ name: "list_meshed_services", arguments: {} }) as CallResult;
    assert.notEqual(ok.isError, true);
    assert.equal((ok.structuredContent?.["dataSource"] as { kind: string }).kind, "demo");
    assert.match(ok.content.map((c) => c.text).join("\n"), /DEMO mesh/);
    const bad = await client.callTool({
      name: "analyze_connectivity",
      arguments: { source_namespace: "x" },
    }) as CallResult;
    assert.equal(bad.isError, true);
    assert.match(bad.content.map((c) => c.text).join("\n"), /DEMO mesh/);
  } finally {
    await close();
  }
});

Deno.test("over MCP an unknown argument is refused with exactly the message `call` gives", async () => {
  const { client, close } = await connectInProcess(testDeps(EMOJIVOTO));
  try {
    const args = {
      "source_namespace": "emojivoto",
      "source_service": "web-svc",
      "target_service": "emoji-svc",
      "targetPort": 9999,
    };
    const res = await client.callTool({
      name: "analyze_connectivity",
      arguments: args,
    }) as CallResult;
    assert.equal(res.isError, true, "a misspelt argument must not be dropped silently");
    const spec = allTools().find((t) => t.name === "analyze_connectivity")!;
    const direct = await runTool(spec, args, testDeps(EMOJIVOTO));
    assert.equal(direct.ok, false);
    assert.equal(res.content[0]!.text, direct.ok ? "" : direct.error);
    assert.match(res.content[0]!.text!, /targetPort/);
    // A prototype key arrives as an own key (JSON.parse) and is refused too.
    const proto = await client.callTool({
      name: "list_meshed_services",
      arguments: JSON.parse('{"__proto__":{"namespace":"x"}}'),
    }) as CallResult;
    assert.equal(proto.isError, true);
    assert.match(proto.content[0]!.text!, /__proto__/);
  } finally {
    await close();
  }
});

Deno.test("an unexpected exception becomes a clear internal-error message without JavaScript text", async () => {
  const bug = new TypeError("Cannot read properties of null (reading 'metadata')");
  const deps = testDeps([], { cluster: brokenSource(bug) });
  const { client, close } = await connectInProcess(deps);
  try {
    const res = await client.callTool({
      name: "list_meshed_services",
      arguments: {},
    }) as CallResult;
    assert.equal(res.isError, true);
    const text = res.content[0]!.text!;
    assert.match(text, /internal error/);
    assert.doesNotMatch(text, /Cannot read properties|TypeError|failed unexpectedly/);
  } finally {
    await close();
  }
});

Deno.test("describeError() tells kubeconfig problems from an unreachable API server", () => {
  for (const reason of ["InvalidKubeconfig", "UnknownContext", "PermissionDenied"]) {
    const msg = describeError(
      new KubeApiError(`Cannot load kubeconfig "/k": bad`, { status: 0, reason }),
      "check_mesh_health",
    );
    assert.match(msg, /fix the kubeconfig/, reason);
    assert.doesNotMatch(msg, /could not be reached/, reason);
  }
  const unreachable = describeError(
    new KubeApiError("Cannot list pods: connect ECONNREFUSED", {
      status: 0,
      reason: "ECONNREFUSED",
    }),
    "check_mesh_health",
  );
  assert.match(unreachable, /could not be reached/);
});

Deno.test("tools/call with an unknown tool name is a -32602 protocol error", async () => {
  const { client, close } = await connectInProcess(testDeps(EMOJIVOTO));
  try {
    await assert.rejects(
      client.callTool({ name: "no_such_tool", arguments: {} }),
      (err: { code?: number; message?: string }) =>
        err.code === -32602 && /Unknown tool "no_such_tool"/.test(err.message ?? ""),
    );
  } finally {
    await close();
  }
});
