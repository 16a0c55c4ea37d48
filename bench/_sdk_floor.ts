/**
 * The floor under any server built on the MCP SDK: the SDK's `Server`, its stdio
 * transport and zod, answering `tools/list` from a fixed listing. `bench/cold_start.ts`
 * times it beside the real server (from source and bundled), so the part of the cold
 * start that is ours can be told from the part that is the SDK's.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/index"
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

const tools = Array.from({ length: 20 }, (_, i) => ({
  name: `tool_${i}`,
  inputSchema: z.toJSONSchema(z.object({ n: z.number() })) as { type: "object" },
}));
const server = new Server({ name: "floor", version: "0" }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
await server.connect(new StdioServerTransport());
