/**
 * The tool table is a stable interface: names and arguments of the original Go
 * server's ten tools must not change silently. Every tool must carry the metadata a
 * client relies on.
 */
import assert from "node:assert/strict";
import { allTools } from "../src/tools/mod.ts";

/** Tool name → argument names it must accept (from the original server, plus additions). */
const STABLE_ARGS: Record<string, string[]> = {
  "check_mesh_health": ["namespace"],
  "analyze_connectivity": [
    "source_namespace",
    "source_service",
    "target_namespace",
    "target_service",
  ],
  "list_meshed_services": ["namespace"],
  "get_allowed_targets": ["source_namespace", "source_service"],
  "get_allowed_sources": ["target_namespace", "target_service"],
  "validate_mesh_config": ["namespace", "resource_type", "resource_name", "include_warnings"],
  "get_service_metrics": ["namespace", "service", "time_range"],
  "analyze_traffic_flow": [
    "source_namespace",
    "source_service",
    "target_namespace",
    "target_service",
    "time_range",
  ],
  "get_service_health_summary": ["namespace", "time_range"],
  "get_top_services": ["namespace", "sort_by", "time_range", "limit"],
  "get_traffic_trends": ["namespace", "service", "window", "compare_to"],
};

Deno.test("allTools() keeps every original tool name and argument", () => {
  const tools = new Map(allTools().map((t) => [t.name, t]));
  for (const [name, args] of Object.entries(STABLE_ARGS)) {
    const spec = tools.get(name);
    assert.ok(spec, `tool ${name} is missing`);
    for (const arg of args) {
      assert.ok(arg in spec.inputSchema, `tool ${name} lost its argument ${arg}`);
    }
  }
});

Deno.test("allTools() gives every tool a title, description, schemas and read-only annotations", () => {
  const names = new Set<string>();
  for (const t of allTools()) {
    assert.match(t.name, /^[a-z][a-z0-9_]{2,63}$/);
    assert.ok(!names.has(t.name), `duplicate tool ${t.name}`);
    names.add(t.name);
    assert.ok(t.title.length > 3, `${t.name} has no title`);
    assert.ok(
      t.description.length >= 80,
      `${t.name} needs a description that tells a model when to use it`,
    );
    assert.ok(Object.keys(t.outputSchema).length > 0, `${t.name} has no outputSchema`);
    assert.equal(t.annotations.readOnlyHint, true, `${t.name} must be read-only`);
    assert.equal(t.annotations.destructiveHint, false);
    for (const [arg, schema] of Object.entries(t.inputSchema)) {
      const described = (schema as { description?: string }).description;
      assert.ok(described && described.length > 5, `${t.name}.${arg} has no description`);
    }
  }
});
