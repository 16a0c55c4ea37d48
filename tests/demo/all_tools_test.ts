/**
 * Every tool in `tools/list` answers on the demo (the demo mesh and its recorded
 * Prometheus, as `--demo` builds them) with realistic arguments: no `isError`, a structured
 * answer, and real numbers from the metrics tools.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { createDemoSource } from "../../src/demo/mod.ts";
import { createDemoPromClient } from "../../src/demo/prom.ts";
import { SILENT } from "../../src/log.ts";
import type { ToolDeps } from "../../src/tools/_spec.ts";
import { connectInProcess } from "../_mcp.ts";

// deno-lint-ignore no-explicit-any
type Data = any;

/** Realistic arguments per tool: the questions a newcomer would ask of the demo. */
const ARGS: Record<string, Record<string, unknown>> = {
  "check_mesh_health": {},
  "list_meshed_services": { namespace: "emojivoto" },
  "analyze_connectivity": {
    source_namespace: "emojivoto",
    source_service: "web-svc",
    target_service: "emoji-svc",
  },
  "get_allowed_targets": { source_namespace: "booksapp", source_service: "webapp" },
  "get_allowed_sources": { target_namespace: "booksapp", target_service: "authors" },
  "get_inbound_policy": { namespace: "booksapp", service: "authors", port: 7001 },
  "validate_mesh_config": { namespace: "booksapp" },
  "get_service_metrics": { namespace: "emojivoto", service: "web-svc", time_range: "15m" },
  "analyze_traffic_flow": {
    source_namespace: "emojivoto",
    source_service: "web",
    target_service: "voting-svc",
    time_range: "10m",
  },
  "get_service_health_summary": { namespace: "booksapp", time_range: "10m" },
  "get_top_services": { namespace: "emojivoto", sort_by: "latency_p95", limit: 5 },
  "get_traffic_trends": { namespace: "emojivoto", window: "1h", compare_to: "previous" },
  "get_mesh_topology": { namespace: "booksapp", time_range: "5m" },
  "analyze_audit": { namespace: "booksapp", time_range: "1h" },
  "generate_policies": { namespace: "booksapp", time_range: "1h" },
  "list_clusters": {},
};

/** A number the metrics tool must have computed from the recording (not null, not 0). */
const NUMBERS: Record<string, (d: Data) => unknown> = {
  "get_service_metrics": (d) => d.requestRate,
  "analyze_traffic_flow": (d) => d.latencyP95,
  "get_service_health_summary": (d) => d.services[0]?.successRate,
  "get_top_services": (d) => d.services[0]?.latencyP95,
  "get_traffic_trends": (d) => d.anomalies[0]?.to,
};

Deno.test("every tool answers on the demo with realistic arguments", async () => {
  // As main.ts builds them for --demo.
  const deps: ToolDeps = {
    cluster: createDemoSource(),
    config: loadConfig({}),
    prom: createDemoPromClient(),
    log: SILENT,
    now: () => new Date(),
  };
  const { client, close } = await connectInProcess(deps);
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.length >= 11, `only ${tools.length} tools`);
    const missing = tools.map((t) => t.name).filter((n) => !(n in ARGS));
    assert.deepEqual(
      missing,
      [],
      "add realistic demo arguments for these tools to tests/demo/all_tools_test.ts",
    );
    for (const t of tools) {
      const r = await client.callTool({ name: t.name, arguments: ARGS[t.name] });
      const text = JSON.stringify(r.content);
      assert.ok(!r.isError, `${t.name}: ${text}`);
      assert.ok(r.structuredContent, `${t.name} has a structured answer`);
      const sc = r.structuredContent as Data;
      const pick = NUMBERS[t.name];
      if (pick) {
        const v = pick(sc);
        assert.ok(typeof v === "number" && Number.isFinite(v) && v > 0, `${t.name}: ${v}`);
        assert.match(sc.prometheus, /embedded demo recording/);
        assert.equal(sc.partial, false, `${t.name}: ${JSON.stringify(sc.warnings)}`);
      }
    }
    assert.deepEqual(Object.keys(NUMBERS).filter((n) => !tools.some((t) => t.name === n)), []);
  } finally {
    await close();
  }
});
