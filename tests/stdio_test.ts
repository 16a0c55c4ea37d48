/**
 * The server as Claude Desktop runs it: a subprocess speaking MCP over stdio,
 * launched with exactly the permission flags of `deno task start`.
 */
import assert from "node:assert/strict";
import { connectSubprocess } from "./_mcp.ts";

type CallResult = { isError?: boolean; structuredContent?: Record<string, unknown> };

Deno.test("stdio server on the demo mesh answers tools/list and tools/call", async () => {
  const conn = await connectSubprocess(["--demo"]);
  try {
    const { tools } = await conn.client.listTools();
    assert.ok(tools.some((t) => t.name === "analyze_connectivity"));
    const res = await conn.client.callTool({
      name: "check_mesh_health",
      arguments: {},
    }) as CallResult;
    assert.notEqual(res.isError, true);
    assert.equal(res.structuredContent?.["healthy"], true);
    assert.match(conn.client.getInstructions() ?? "", /demo/i);
  } finally {
    await conn.close();
  }
});

Deno.test("stdio server without any kubeconfig falls back to the demo mesh and says so", async () => {
  const home = await Deno.makeTempDir();
  try {
    const conn = await connectSubprocess([], { HOME: home });
    try {
      assert.match(conn.client.getInstructions() ?? "", /DEMO mesh, not a real cluster/);
      const { tools } = await conn.client.listTools();
      assert.ok(tools.length >= 11);
    } finally {
      await conn.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
