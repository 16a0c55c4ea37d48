/**
 * Builds the MCP server from the tool table.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { runTool, type ToolDeps } from "./tools/_spec.ts";
import { allTools } from "./tools/mod.ts";
import { VERSION } from "./version.ts";

/** Options for {@linkcode createServer}. */
export interface CreateServerOptions {
  /** Per-call time bound. */
  toolTimeoutMs?: number;
  /** A notice every client should see (e.g. that answers come from the demo mesh). */
  notice?: string;
}

/** Creates an MCP server exposing every tool over `deps`. */
export function createServer(deps: ToolDeps, opts: CreateServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: "linkerd-mcp", version: VERSION, title: "Linkerd service mesh" },
    {
      capabilities: { tools: {}, logging: {} },
      instructions:
        "Inspect and explain a Linkerd service mesh: control-plane health (check_mesh_health), meshed services (list_meshed_services), whether one service may call another and why (analyze_connectivity, get_allowed_targets, get_allowed_sources), configuration mistakes (validate_mesh_config), and live traffic from Prometheus (get_service_metrics, analyze_traffic_flow, get_service_health_summary, get_top_services, get_traffic_trends). All tools are read-only." +
        ` Cluster state comes from: ${deps.cluster.describe()}.` +
        (opts.notice ? ` NOTE: ${opts.notice}` : ""),
    },
  );
  for (const spec of allTools()) {
    server.registerTool(
      spec.name,
      {
        title: spec.title,
        description: spec.description,
        inputSchema: spec.inputSchema,
        outputSchema: spec.outputSchema,
        annotations: { title: spec.title, ...spec.annotations },
      },
      async (args: unknown, extra: { signal: AbortSignal }) => {
        const outcome = await runTool(spec, args, deps, {
          signal: extra.signal,
          ...(opts.toolTimeoutMs ? { timeoutMs: opts.toolTimeoutMs } : {}),
        });
        if (!outcome.ok) {
          return { content: [{ type: "text" as const, text: outcome.error }], isError: true };
        }
        return {
          content: [{ type: "text" as const, text: JSON.stringify(outcome.data, null, 2) }],
          structuredContent: outcome.data as Record<string, unknown>,
        };
      },
    );
  }
  return server;
}
