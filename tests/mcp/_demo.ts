/**
 * A real MCP client connected in process to the server over the demo, as `--demo`
 * builds it (the demo mesh and its recorded Prometheus).
 *
 * @module
 */
import { loadConfig } from "../../src/config.ts";
import { createDemoSource } from "../../src/demo/mod.ts";
import { createDemoPromClient } from "../../src/demo/prom.ts";
import { SILENT } from "../../src/log.ts";
import type { ToolDeps } from "../../src/tools/_spec.ts";
import { type Connected, connectInProcess } from "../_mcp.ts";

/** The demo's tool dependencies. */
export function demoDeps(): ToolDeps {
  return {
    cluster: createDemoSource(),
    config: loadConfig({}),
    prom: createDemoPromClient(),
    log: SILENT,
    now: () => new Date(),
  };
}

/** Runs `fn` with a client connected to the demo server, then closes both. */
export async function withDemoClient(fn: (c: Connected["client"]) => Promise<void>): Promise<void> {
  const { client, close } = await connectInProcess(demoDeps());
  try {
    await fn(client);
  } finally {
    await close();
  }
}
