/**
 * Builds the MCP server from the tool table.
 *
 * The low-level SDK `Server` is used with our own `tools/list` and `tools/call`
 * handlers, not `McpServer.registerTool`: the SDK's high-level path parses the
 * arguments with the tool's schema before the handler runs, which silently drops
 * unknown keys (a misspelt `targetPort` gave an answer for every port). Here the raw
 * arguments reach {@linkcode runTool}, which parses them strictly, exactly as the
 * `call` command does; and the advertised input schemas say `additionalProperties:
 * false`. Every result names its data source (`structuredContent.dataSource`).
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/index"
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  CallToolRequestParamsSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { GuardedTransport } from "./protocol_guard.ts";
import { registerExtras } from "./mcp_extras/register.ts";
import { ClientLog } from "./mcp_extras/logging.ts";
import {
  type ConfirmAnswer,
  runTool,
  sourceInfoOf,
  type ToolDeps,
  type ToolSpec,
} from "./tools/_spec.ts";
import { isWriteTool, listedTools, loadTool, toolNames } from "./tools/table.ts";
import { serverCapabilities, serverInfo, serverInstructions } from "./server_info.ts";

/** Options for {@linkcode createServer}. */
export interface CreateServerOptions {
  /** Per-call time bound. */
  toolTimeoutMs?: number;
  /** A notice every client should see (e.g. that answers come from the demo mesh). */
  notice?: string;
  /**
   * Refuse requests before `initialize` on transports that are not already guarded
   * (default true; the stateless HTTP transport guards its own transport without it).
   */
  requireInitialize?: boolean;
  /**
   * Ask for confirmation of a real write by MCP elicitation where the client supports it
   * (default true). False on transports that cannot carry a server-to-client request, such
   * as the stateless JSON HTTP transport (the request would never reach the client).
   */
  elicitation?: boolean;
}

/**
 * The advertised tool table (the write tools only with `writes`): the listing generated
 * from the tool specs (src/tools/listing.gen.ts, equal to `toolListing()` of
 * src/tools/listing.ts), so that neither a tool module nor a schema conversion is
 * loaded before the first `tools/call`.
 */
export { listedTools as toolListing } from "./tools/table.ts";

/**
 * `tools/call` as the SDK dispatches it. `params` is `unknown` on purpose: the SDK
 * hands the handler what this schema returns, so the arguments arrive untouched
 * (the SDK's own CallToolRequestSchema check still runs before the handler).
 */
const RawCallToolRequestSchema = z.object({
  method: z.literal("tools/call"),
  params: z.unknown(),
});

/**
 * The text block of a result: the tool's compact summary where it has one, else compact
 * JSON (the MCP spec's serialized copy of structuredContent; indentation would triple
 * the bytes of every answer in the model's context).
 */
// deno-lint-ignore no-explicit-any
function textOf(spec: ToolSpec<any, any>, data: unknown, deps: ToolDeps): string {
  if (spec.text) {
    try {
      return spec.text(data as Record<string, unknown>);
    } catch (err) {
      deps.log.error("tool text summary failed; sending JSON", {
        tool: spec.name,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
    }
  }
  return JSON.stringify(data);
}

/**
 * MCP progress for a call whose request carries `_meta.progressToken`: at most one
 * notification every 50 ms, progress strictly increasing (as the spec requires).
 */
function progressReporter(
  params: unknown,
  extra: {
    signal: AbortSignal;
    sendNotification: (n: { method: string; params?: Record<string, unknown> }) => Promise<void>;
  },
): { progress?: (progress: number, total?: number, message?: string) => void } {
  const token = (params as { _meta?: { progressToken?: unknown } } | undefined)?._meta
    ?.progressToken;
  if (typeof token !== "string" && typeof token !== "number") return {};
  let last = -Infinity;
  let lastAt = 0;
  return {
    progress(progress, total, message) {
      if (extra.signal.aborted || !(progress > last)) return;
      const now = Date.now();
      const final = total !== undefined && progress >= total;
      if (!final && now - lastAt < 50) return;
      last = progress;
      lastAt = now;
      extra.sendNotification({
        method: "notifications/progress",
        params: {
          progressToken: token,
          progress,
          ...(total !== undefined ? { total } : {}),
          ...(message ? { message } : {}),
        },
      }).catch(() => {/* the client went away: nothing to report to */});
    },
  };
}

/** Creates an MCP server exposing every tool over `deps`. */
export function createServer(deps: ToolDeps, opts: CreateServerOptions = {}): Server {
  // Log lines also reach the client (notifications/message) at its chosen level.
  const clientLog = new ClientLog();
  deps = { ...deps, log: clientLog.tee(deps.log) };
  const info = sourceInfoOf(deps.cluster);
  const writes = deps.config.allowWrites === true;
  const demoNote = info.kind === "demo"
    ? "This answer comes from the embedded DEMO mesh (clusters west and east: emojivoto, booksapp, podinfo), not from a real cluster."
    : undefined;
  const server = new Server(serverInfo(), {
    capabilities: serverCapabilities(),
    instructions: serverInstructions(deps, opts.notice),
  });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listedTools(writes) }));
  /** Confirmation of a real write by MCP elicitation, where the client supports it. */
  const confirm = async (message: string, signal: AbortSignal): Promise<ConfirmAnswer> => {
    if (opts.elicitation === false || !server.getClientCapabilities()?.elicitation) {
      return "unsupported";
    }
    try {
      const res = await server.elicitInput({
        message,
        requestedSchema: {
          type: "object",
          properties: {
            confirm: { type: "boolean", title: "Write to the cluster", description: message },
          },
          required: ["confirm"],
        },
      }, { signal });
      if (res.action !== "accept") return res.action;
      return res.content?.["confirm"] === true ? "accept" : "decline";
    } catch (err) {
      if (signal.aborted) throw err;
      deps.log.warn("elicitation failed; going on without confirmation", {
        error: err instanceof Error ? err.message : String(err),
      });
      return "unsupported";
    }
  };
  server.setRequestHandler(
    RawCallToolRequestSchema,
    async (
      request: { params?: unknown },
      extra: {
        signal: AbortSignal;
        sendNotification: (
          n: { method: string; params?: Record<string, unknown> },
        ) => Promise<void>;
      },
    ) => {
      const params = CallToolRequestParamsSchema.safeParse(request.params);
      if (!params.success) {
        throw new McpError(ErrorCode.InvalidParams, "Invalid params for tools/call");
      }
      // The tool's module (and its domain) is loaded on its first call.
      const spec = await loadTool(params.data.name, writes);
      if (!spec && isWriteTool(params.data.name)) {
        const { writesDisabledMessage } = await import("./tools/writes.ts");
        return {
          content: [{ type: "text" as const, text: writesDisabledMessage(params.data.name) }],
          isError: true,
        };
      }
      if (!spec) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Unknown tool "${params.data.name}"; available: ${toolNames(writes).join(", ")}`,
        );
      }
      // The raw arguments, not the SDK's parsed copy: runTool rejects unknown keys.
      const rawArgs = (request.params as { arguments?: unknown }).arguments;
      const outcome = await runTool(spec, rawArgs, deps, {
        signal: extra.signal,
        ...progressReporter(request.params, extra),
        ...(writes ? { confirm: (m: string) => confirm(m, extra.signal) } : {}),
        ...(opts.toolTimeoutMs ? { timeoutMs: opts.toolTimeoutMs } : {}),
      });
      const note = demoNote ? [{ type: "text" as const, text: demoNote }] : [];
      if (!outcome.ok) {
        return {
          content: [{ type: "text" as const, text: outcome.error }, ...note],
          isError: true,
        };
      }
      return {
        content: [{ type: "text" as const, text: textOf(spec, outcome.data, deps) }, ...note],
        structuredContent: outcome.data as Record<string, unknown>,
      };
    },
  );
  // Prompts, resources and completions (src/mcp_extras/).
  registerExtras(server, deps);
  clientLog.attach(server);
  // Every transport is screened (malformed JSON-RPC answered, bad params -32602,
  // nothing before initialize); HTTP and stdio pass an already guarded one.
  const connect = server.connect.bind(server);
  server.connect = (transport) =>
    connect(
      transport instanceof GuardedTransport ? transport : new GuardedTransport(transport, {
        requireInitialize: opts.requireInitialize ?? true,
        log: deps.log,
      }),
    );
  return server;
}
