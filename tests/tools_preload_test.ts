/**
 * The tools' code is loaded while the client has not called yet (src/tools/table.ts
 * `preloadTools`, started by main.ts after the listing), and never ahead of a call.
 */
import assert from "node:assert/strict";
import { preloadTools, TOOL_GROUP_NAMES, type ToolGroup } from "../src/tools/table.ts";

Deno.test("preloadTools loads every family in table order, the write tools only with writes", async () => {
  const loaded: ToolGroup[] = [];
  const load = (g: ToolGroup) => (loaded.push(g), Promise.resolve());
  await preloadTools(false, { load, stopped: () => false });
  assert.deepEqual(loaded, TOOL_GROUP_NAMES.filter((g) => g !== "writes"));
  loaded.length = 0;
  await preloadTools(true, { load, stopped: () => false });
  assert.deepEqual(loaded, [...TOOL_GROUP_NAMES]);
});

Deno.test("preloadTools stops at the first call, and a family that fails to load stops nothing", async () => {
  const loaded: ToolGroup[] = [];
  let calls = 0;
  await preloadTools(false, {
    load: (g) => {
      loaded.push(g);
      if (g === "mesh") return Promise.reject(new Error("no such module"));
      if (loaded.length === 3) calls++; // a tool call arrives while the third family loads
      return Promise.resolve();
    },
    stopped: () => calls > 0,
  });
  assert.deepEqual(loaded, TOOL_GROUP_NAMES.slice(0, 3));
});

Deno.test("preloadTools by default stops once a tool was looked up", async () => {
  const { loadTool } = await import("../src/tools/table.ts");
  assert.ok(await loadTool("check_mesh_health"), "a real tool is found");
  const loaded: ToolGroup[] = [];
  await preloadTools(false, { load: (g) => (loaded.push(g), Promise.resolve()) });
  assert.deepEqual(loaded, []);
});
