/**
 * JSON-RPC 2.0 hygiene in front of the SDK's server, for every transport.
 *
 * The SDK drops what it cannot parse without a word (a line that is not JSON, a
 * batch array, `params: "x"`, a missing `jsonrpc`, an `id` of `null` or `true`), answers
 * bad `params` with -32603 and a raw zod dump, serves `tools/call` before
 * `initialize`, and ends a stdio session silently (exit 0) on a line over 10 MiB.
 * This module screens each message first and answers what it must with the error the
 * JSON-RPC 2.0 specification requires: -32700 parse error, -32600 invalid request,
 * -32602 invalid params (with a readable message). The SDK itself is wrapped, not
 * changed: valid messages reach it untouched.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { PassThrough, type Readable, type Writable } from "node:stream";
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/shared/transport"
import type {
  Transport,
  TransportSendOptions,
} from "@modelcontextprotocol/sdk/shared/transport.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  CallToolRequestSchema,
  InitializeRequestSchema,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  ListToolsRequestSchema,
  PingRequestSchema,
  SetLevelRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import type { Logger } from "./log.ts";

/** Largest message accepted on stdio: 10 MiB, the SDK's own buffer limit. */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** JSON-RPC 2.0 error codes used here. */
export const PARSE_ERROR = -32700;
/** The JSON is not a valid Request object. */
export const INVALID_REQUEST = -32600;
/** The method's parameters are invalid. */
export const INVALID_PARAMS = -32602;

/** A JSON-RPC error response; `id` is `null` when the request's id could not be read. */
export interface ErrorReply {
  jsonrpc: "2.0";
  id: string | number | null;
  error: { code: number; message: string };
}

/** The outcome of screening one message. */
export type Screened =
  | { ok: true; message: JSONRPCMessage }
  /** `reply` is absent when the specification forbids an answer (a malformed response). */
  | { ok: false; reason: string; reply?: ErrorReply };

/** The request methods this server serves, with the SDK's schema for each. */
const METHOD_SCHEMAS: Record<string, z.ZodType> = {
  "initialize": InitializeRequestSchema,
  "ping": PingRequestSchema,
  "tools/list": ListToolsRequestSchema,
  "tools/call": CallToolRequestSchema,
  "logging/setLevel": SetLevelRequestSchema,
};

const MEMBERS = new Set(["jsonrpc", "id", "method", "params", "result", "error"]);

function reply(id: unknown, code: number, message: string): ErrorReply {
  const ok = typeof id === "string" || (typeof id === "number" && Number.isSafeInteger(id));
  return { jsonrpc: "2.0", id: ok ? id as string | number : null, error: { code, message } };
}

function fail(id: unknown, code: number, message: string): Screened {
  return { ok: false, reason: message, reply: reply(id, code, message) };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Formats zod issues as `params.name: expected string`, at most three, briefly. */
function issuesText(error: z.ZodError): string {
  const parts = error.issues.slice(0, 3).map((i) => {
    const path = i.path.length ? i.path.map(String).join(".") : "message";
    return `${path}: ${i.message.replace(/\s+/g, " ").slice(0, 200)}`;
  });
  if (error.issues.length > 3) parts.push(`and ${error.issues.length - 3} more`);
  return parts.join("; ");
}

/**
 * Screens one decoded JSON value: a single, well-formed JSON-RPC 2.0 message whose
 * parameters, for the methods served here, match the MCP schema.
 */
export function screenMessage(value: unknown): Screened {
  if (Array.isArray(value)) {
    return fail(
      null,
      INVALID_REQUEST,
      "Invalid Request: JSON-RPC batches are not supported (MCP removed batching in 2025-06-18); send one message at a time",
    );
  }
  if (!isPlainObject(value)) {
    return fail(null, INVALID_REQUEST, "Invalid Request: a JSON-RPC message must be a JSON object");
  }
  const hasId = Object.hasOwn(value, "id");
  const id = value["id"];
  const isResponse = !Object.hasOwn(value, "method") &&
    (Object.hasOwn(value, "result") || Object.hasOwn(value, "error"));
  if (isResponse) {
    // Never answer a response: log it and drop it (the SDK would too).
    const parsed = JSONRPCMessageSchema.safeParse(value);
    return parsed.success
      ? { ok: true, message: parsed.data }
      : { ok: false, reason: `malformed JSON-RPC response dropped: ${issuesText(parsed.error)}` };
  }
  if (value["jsonrpc"] !== "2.0") {
    return fail(id, INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be exactly "2.0"');
  }
  if (
    hasId &&
    !(typeof id === "string" || (typeof id === "number" && Number.isSafeInteger(id)))
  ) {
    return fail(
      null,
      INVALID_REQUEST,
      'Invalid Request: "id" must be a string or an integer (MCP does not allow null)',
    );
  }
  const method = value["method"];
  if (typeof method !== "string" || method === "") {
    return fail(id, INVALID_REQUEST, 'Invalid Request: "method" must be a non-empty string');
  }
  const extra = Object.keys(value).filter((k) =>
    !MEMBERS.has(k) || k === "result" || k === "error"
  );
  if (extra.length) {
    return fail(
      id,
      INVALID_REQUEST,
      `Invalid Request: unexpected member ${extra.map((k) => `"${k.slice(0, 40)}"`).join(", ")}`,
    );
  }
  const params = value["params"];
  if (params !== undefined && !isPlainObject(params)) {
    if (Array.isArray(params)) {
      return hasId
        ? fail(
          id,
          INVALID_PARAMS,
          `Invalid params for ${method}: MCP params must be an object, not an array`,
        )
        : { ok: false, reason: `notification ${method} with array params dropped` };
    }
    return fail(id, INVALID_REQUEST, 'Invalid Request: "params" must be an object when present');
  }
  const parsed = JSONRPCMessageSchema.safeParse(value);
  if (!parsed.success) {
    return hasId
      ? fail(id, INVALID_PARAMS, `Invalid params for ${method}: ${issuesText(parsed.error)}`)
      : {
        ok: false,
        reason: `malformed notification ${method} dropped: ${issuesText(parsed.error)}`,
      };
  }
  const schema = hasId ? METHOD_SCHEMAS[method] : undefined;
  if (schema) {
    const check = schema.safeParse({ method, ...(params !== undefined ? { params } : {}) });
    if (!check.success) {
      return fail(id, INVALID_PARAMS, `Invalid params for ${method}: ${issuesText(check.error)}`);
    }
  }
  // The original object, not the parsed copy: nothing is stripped.
  return { ok: true, message: value as JSONRPCMessage };
}

/** Parses and screens one line of text (stdio framing). */
export function screenText(text: string): Screened {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = err instanceof SyntaxError ? err.message.slice(0, 160) : "not JSON";
    return fail(null, PARSE_ERROR, `Parse error: the message is not valid JSON (${why})`);
  }
  return screenMessage(value);
}

/** Options for {@linkcode GuardedTransport}. */
export interface GuardOptions {
  /**
   * Refuse every request but `initialize` and `ping` until `initialize` was received
   * (stateful transports: stdio, in-memory). The stateless HTTP transport serves each
   * POST with a fresh server, so it sets this to false.
   */
  requireInitialize: boolean;
  log: Logger;
}

/**
 * A transport that screens every incoming message (see {@linkcode screenMessage})
 * before the SDK's server sees it, and answers the malformed ones itself.
 */
export class GuardedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport["onmessage"];
  readonly #inner: Transport;
  readonly #opts: GuardOptions;
  #initialized = false;

  constructor(inner: Transport, opts: GuardOptions) {
    this.#inner = inner;
    this.#opts = opts;
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.#inner.setProtocolVersion?.(version);
  }

  start(): Promise<void> {
    this.#inner.onclose = () => this.onclose?.();
    this.#inner.onerror = (err) => this.onerror?.(err);
    this.#inner.onmessage = (message, extra) => this.receive(message, extra);
    return this.#inner.start();
  }

  /** Screens one message that the inner transport decoded. */
  receive(message: unknown, extra?: Parameters<NonNullable<Transport["onmessage"]>>[1]): void {
    const screened = screenMessage(message);
    if (!screened.ok) {
      this.refuse(screened);
      return;
    }
    const m = screened.message as { id?: unknown; method?: unknown };
    if (typeof m.method === "string" && m.id !== undefined) {
      if (m.method === "initialize") this.#initialized = true;
      else if (this.#opts.requireInitialize && !this.#initialized && m.method !== "ping") {
        this.refuse({
          reason: `${m.method} before initialize`,
          reply: reply(
            m.id,
            INVALID_REQUEST,
            `Invalid Request: the session is not initialized; send "initialize" before "${
              m.method.slice(0, 60)
            }"`,
          ),
        });
        return;
      }
    }
    this.onmessage?.(screened.message, extra);
  }

  /** Logs a refused message and sends its error reply, if it gets one. */
  refuse(screened: { reason: string; reply?: ErrorReply }): void {
    this.#opts.log.warn("refused a malformed MCP message", { reason: screened.reason });
    if (!screened.reply) return;
    const options: TransportSendOptions = screened.reply.id !== null
      ? { relatedRequestId: screened.reply.id }
      : {};
    this.#inner.send(screened.reply as unknown as JSONRPCMessage, options).catch((err) =>
      this.#opts.log.warn("could not send an error reply", { error: String(err) })
    );
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.#inner.send(message, options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** Options for {@linkcode createStdioTransport}. */
export interface StdioOptions {
  log: Logger;
  stdin?: Readable;
  stdout?: Writable;
  /** Largest line accepted (default {@linkcode MAX_MESSAGE_BYTES}). */
  maxMessageBytes?: number;
}

/**
 * The stdio transport: the SDK's, behind a line filter that answers what the SDK would
 * drop (not JSON, not JSON-RPC, over the size limit) and keeps the session going, and
 * behind {@linkcode GuardedTransport}.
 */
export function createStdioTransport(opts: StdioOptions): GuardedTransport {
  const stdin = opts.stdin ?? process.stdin;
  const max = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const forward = new PassThrough();
  // The SDK's buffer holds one forwarded line at most: leave it room above our limit.
  const sdk = new StdioServerTransport(forward, opts.stdout ?? process.stdout, {
    maxBufferSize: max + 1024 * 1024,
  });
  const guarded = new GuardedTransport(sdk, { requireInitialize: true, log: opts.log });
  let chunks: Buffer[] = [];
  let size = 0;
  let discarding = false;

  const line = (buf: Buffer) => {
    const text = buf.toString("utf8").replace(/\r$/, "");
    if (text.trim() === "") return;
    const screened = screenText(text);
    if (!screened.ok) {
      guarded.refuse(screened);
      return;
    }
    forward.write(text + "\n");
  };
  const overflow = () => {
    discarding = true;
    chunks = [];
    size = 0;
    guarded.refuse({
      reason: `a message larger than ${max} bytes was discarded (stdio line limit)`,
      reply: reply(
        null,
        INVALID_REQUEST,
        `Invalid Request: the message is larger than ${max} bytes (${
          Math.round(max / 1024 / 1024)
        } MiB) and was discarded; the session goes on`,
      ),
    });
  };
  const onData = (chunk: Buffer | string) => {
    let data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    while (data.length > 0) {
      const nl = data.indexOf(10);
      if (nl === -1) {
        if (!discarding) {
          size += data.length;
          if (size > max) overflow();
          else chunks.push(data);
        }
        return;
      }
      const head = data.subarray(0, nl);
      data = data.subarray(nl + 1);
      if (discarding) {
        discarding = false;
        continue;
      }
      if (size + head.length > max) {
        overflow();
        discarding = false;
        continue;
      }
      const whole = chunks.length ? Buffer.concat([...chunks, head]) : head;
      chunks = [];
      size = 0;
      line(whole);
    }
  };
  stdin.on("data", onData);
  stdin.on("end", () => forward.end());
  stdin.on("error", (err: Error) => forward.destroy(err));
  return guarded;
}
