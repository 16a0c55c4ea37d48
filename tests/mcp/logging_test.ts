/**
 * Logging notifications at the client's chosen level, and a deterministic tools/list.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/types"
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { connectInProcess } from "../_mcp.ts";
import { demoDeps } from "./_demo.ts";

async function logsOf(level: "debug" | "error" | undefined): Promise<unknown[]> {
  const { client, close } = await connectInProcess(demoDeps());
  const seen: unknown[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    seen.push(n.params);
  });
  try {
    if (level) await client.setLoggingLevel(level);
    // A window the demo's recording does not hold: the tool fails (NotFoundError), logged at debug.
    const r = await client.callTool({
      name: "get_service_metrics",
      arguments: { namespace: "emojivoto", service: "web-svc", time_range: "2h" },
    });
    assert.equal(r.isError, true);
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    await close();
  }
  return seen;
}

Deno.test("log lines reach the client at the level it chose", async () => {
  const debug = await logsOf("debug");
  assert.ok(debug.length >= 1, "no logging notification at level debug");
  const first = debug[0] as { level: string; logger: string; data: string };
  assert.equal(first.level, "debug");
  assert.equal(first.logger, "linkerd-mcp");
  assert.match(first.data, /tool failed.*get_service_metrics/);
  // at "error" the debug line is not sent, and nothing is sent before the client chooses
  assert.deepEqual(await logsOf("error"), []);
  assert.deepEqual(await logsOf(undefined), []);
});

Deno.test("tools/list is deterministic: same names in the same order, every time", async () => {
  const names: string[][] = [];
  for (let i = 0; i < 2; i++) {
    const { client, close } = await connectInProcess(demoDeps());
    try {
      names.push((await client.listTools()).tools.map((t) => t.name));
      names.push((await client.listTools()).tools.map((t) => t.name));
    } finally {
      await close();
    }
  }
  assert.ok(names[0]!.includes("get_mesh_topology"));
  for (const n of names) assert.deepEqual(n, names[0]);
  assert.equal(new Set(names[0]).size, names[0]!.length, "duplicate tool names");
});
