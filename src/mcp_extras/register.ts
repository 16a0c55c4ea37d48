/**
 * Adds prompts, resources and completions to the low-level SDK `Server`: capabilities
 * and request handlers. Everything the handlers do lives in plain functions
 * (`prompts.ts`, `resources.ts`, `completions.ts`) that take the request's fields and
 * return the result's, so that a port to another SDK only rewrites this file.
 *
 * Errors: an unknown prompt, resource or bad argument is a JSON-RPC error -32602
 * (invalid params) with a message that says what is known; a failure while gathering
 * evidence is reported inside the prompt or resource text instead (evidence.ts).
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/index"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import { describeError, type ToolDeps } from "../tools/_spec.ts";
import { complete, kindOf } from "./completions.ts";
import { allPrompts } from "./prompts.ts";
import { listResources, readResource, RESOURCE_TEMPLATES } from "./resources.ts";

/** The capabilities {@linkcode registerExtras} adds. */
export const EXTRA_CAPABILITIES = {
  prompts: { listChanged: false },
  resources: { listChanged: false, subscribe: false },
  completions: {},
};

function invalid(err: unknown, what: string, log: ToolDeps["log"]): never {
  if (err instanceof McpError) throw err;
  if (err instanceof InvalidArgumentError || err instanceof NotFoundError) {
    throw new McpError(ErrorCode.InvalidParams, err.message);
  }
  log.error(`${what} failed`, {
    error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  });
  throw new McpError(ErrorCode.InternalError, describeError(err, what));
}

/** Registers prompts, resources and completions on `server` (before `connect`). */
export function registerExtras(server: Server, deps: ToolDeps): void {
  server.registerCapabilities(EXTRA_CAPABILITIES);
  const prompts = allPrompts();

  server.setRequestHandler(ListPromptsRequestSchema, () => ({
    prompts: prompts.map((p) => ({
      name: p.name,
      title: p.title,
      description: p.description,
      arguments: p.arguments.map((a) => ({
        name: a.name,
        description: a.description,
        required: a.required,
      })),
    })),
  }));

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const p = prompts.find((x) => x.name === request.params.name);
    if (!p) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown prompt "${request.params.name}"; available: ${
          prompts.map((x) => x.name).join(", ")
        }`,
      );
    }
    const args = request.params.arguments ?? {};
    for (const a of p.arguments) {
      if (a.required && !args[a.name]) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Prompt ${p.name} needs argument ${a.name}: ${a.description}`,
        );
      }
    }
    const unknown = Object.keys(args).filter((k) => !p.arguments.some((a) => a.name === k));
    if (unknown.length) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown argument(s) ${unknown.join(", ")} for prompt ${p.name}; it takes ${
          p.arguments.map((a) => a.name).join(", ") || "none"
        }`,
      );
    }
    try {
      const result: Record<string, unknown> = { ...(await p.build(args, deps, extra.signal)) };
      return result;
    } catch (err) {
      invalid(err, `prompt ${p.name}`, deps.log);
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    try {
      return await listResources(deps, request.params?.cursor);
    } catch (err) {
      invalid(err, "resources/list", deps.log);
    }
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: RESOURCE_TEMPLATES,
  }));

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    try {
      return { contents: [await readResource(request.params.uri, deps, extra.signal)] };
    } catch (err) {
      invalid(err, "resources/read", deps.log);
    }
  });

  server.setRequestHandler(CompleteRequestSchema, async (request) => {
    const q = {
      ref: request.params.ref as { type: string; name?: string; uri?: string },
      argument: request.params.argument,
      context: request.params.context?.arguments ?? {},
    };
    try {
      return {
        completion: await complete(deps.cluster, kindOf(q, prompts), q.argument.value, q.context),
      };
    } catch (err) {
      invalid(err, "completion/complete", deps.log);
    }
  });
}
