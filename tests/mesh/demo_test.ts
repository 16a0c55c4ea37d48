import assert from "node:assert/strict";
import { createDemoSource } from "../../src/demo/mod.ts";
import type { HealthReport } from "../../src/mesh/health.ts";
import type { ServicesPage } from "../../src/mesh/services.ts";
import { connectInProcess } from "../_mcp.ts";
import { testDeps } from "../_helpers.ts";

interface CallResult {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
  structuredContent?: Record<string, unknown>;
}

Deno.test("the demo mesh is healthy and its services are meshed, over MCP", async () => {
  const { client, close } = await connectInProcess(
    testDeps([], { cluster: createDemoSource() }),
  );
  try {
    const health = await client.callTool({
      name: "check_mesh_health",
      arguments: {},
    }) as CallResult;
    assert.notEqual(health.isError, true, health.content[0]?.text);
    const r = health.structuredContent as unknown as HealthReport;
    assert.deepEqual(JSON.parse(health.content[0]!.text), r);
    assert.equal(r.healthy, true);
    assert.equal(r.installed, true);
    assert.deepEqual(r.checks.filter((c) => c.status === "error"), []);
    assert(r.totalPods >= 3);
    assert.equal(r.unhealthyPods, 0);
    assert(r.checks.some((c) => c.name === "viz extension pods are running" && c.status === "ok"));

    const list = await client.callTool({
      name: "list_meshed_services",
      arguments: { namespace: "emojivoto" },
    }) as CallResult;
    assert.notEqual(list.isError, true, list.content[0]?.text);
    const page = list.structuredContent as unknown as ServicesPage;
    assert.deepEqual(
      page.services.map((s) => s.service),
      ["emoji-svc", "voting-svc", "web-svc"],
    );
    assert(page.services.every((s) => s.meshedPods === s.totalPods && s.totalPods > 0));

    const bad = await client.callTool({
      name: "list_meshed_services",
      arguments: { cursor: "bogus" },
    }) as CallResult;
    assert.equal(bad.isError, true);
    assert.match(bad.content[0]!.text, /not valid/);
  } finally {
    await close();
  }
});
