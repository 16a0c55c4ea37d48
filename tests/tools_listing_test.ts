/**
 * The generated tool listing (src/tools/listing.gen.ts), which the server answers
 * `tools/list` from without loading a tool module, must be exactly what the tool specs
 * give (`toolListing()`), and the start-up path must not load the tool modules.
 */
import assert from "node:assert/strict";
import { toolListing } from "../src/tools/listing.ts";
import { toolListing as servedListing } from "../src/server.ts";
import { allTools, WRITE_TOOL_NAMES } from "../src/tools/mod.ts";
import { isWriteTool, listedTools, loadTool, toolNames } from "../src/tools/table.ts";
import { WRITE_TOOL_NAMES as GENERATED_WRITE_NAMES } from "../src/tools/listing.gen.ts";
import { LISTING_FILE, renderListing } from "../scripts/gen_listing.ts";

for (const writes of [false, true]) {
  Deno.test(`the generated listing equals toolListing(${writes}) and is what the server lists`, () => {
    const computed = toolListing(writes);
    assert.ok(computed.length >= 11);
    const stale = "src/tools/listing.gen.ts is stale: run `deno run -A scripts/gen_listing.ts`";
    assert.deepEqual(listedTools(writes), computed, stale);
    assert.deepEqual(servedListing(writes), computed);
    assert.deepEqual(toolNames(writes), allTools({ writes }).map((t) => t.name));
  });
}

Deno.test("listing.gen.ts is up to date (scripts/gen_listing.ts --check)", async () => {
  const have = await Deno.readTextFile(LISTING_FILE);
  assert.ok(
    have === await renderListing(),
    "src/tools/listing.gen.ts is stale: run `deno run -A scripts/gen_listing.ts`",
  );
});

Deno.test("the generated write tools are the write tools", () => {
  assert.deepEqual([...GENERATED_WRITE_NAMES], [...WRITE_TOOL_NAMES]);
  const read = new Set(allTools().map((t) => t.name));
  for (const t of allTools({ writes: true })) assert.equal(isWriteTool(t.name), !read.has(t.name));
});

Deno.test("loadTool gives each tool's spec itself, from its family's module only", async () => {
  for (const writes of [false, true]) {
    const specs = allTools({ writes });
    for (const spec of specs) {
      const got = (await loadTool(spec.name, writes))!;
      assert.ok(got, `${spec.name} (writes ${writes}) is found`);
      assert.equal(got.title, spec.title);
      assert.deepEqual(Object.keys(got.inputSchema), Object.keys(spec.inputSchema));
      assert.equal(String(got.handler), String(spec.handler));
    }
  }
  for (const name of WRITE_TOOL_NAMES) assert.equal(await loadTool(name), undefined);
  assert.equal(await loadTool("no_such_tool", true), undefined);
  assert.equal(await loadTool("toString"), undefined, "not a prototype name");
  assert.equal(
    await loadTool("check_mesh_health"),
    await loadTool("check_mesh_health"),
    "loaded once",
  );
});

/** The local modules and npm packages `entry` imports statically (dynamic imports not followed). */
async function staticClosure(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    redirects: Record<string, string>;
    modules: Array<{
      specifier: string;
      dependencies?: Array<{ isDynamic?: boolean; code?: { specifier: string } }>;
    }>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length) {
    const at = todo.pop()!;
    const s = info.redirects[at] ?? at;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const dep of bySpecifier.get(s)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code) todo.push(dep.code.specifier);
    }
  }
  return seen;
}

/** What `initialize` and `tools/list` never need. */
const NOT_AT_START = [
  "/src/tools/mod.ts",
  "/src/demo/data.gen.ts",
  "/src/demo/traffic.gen.ts",
  "npm:yaml",
  "npm:@prometheus-io/lezer-promql",
  "npm:@kubernetes/client-node",
];

/** Modules on the way to the first answers, which must stay light. */
const START_PATH = ["main.ts", "src/server.ts", "src/tools/table.ts", "src/mcp_extras/register.ts"];

for (const entry of START_PATH) {
  Deno.test(`${entry} loads no tool module, demo data, yaml, lezer or client-node`, async () => {
    const loaded = [...await staticClosure(entry)];
    assert.ok(loaded.some((s) => s.endsWith(entry)), "the graph was read");
    for (const heavy of NOT_AT_START) {
      const found = loaded.filter((s) => s.includes(heavy));
      assert.deepEqual(found, [], `${entry} statically imports ${heavy}`);
    }
  });
}
