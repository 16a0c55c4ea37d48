/**
 * MCP logging: the server's log lines also go to the client as `notifications/message`,
 * at the level the client chose with `logging/setLevel`, as one line
 * `message key=value ...` passed through `redact` (src/redact.ts). Nothing is sent until the
 * client chooses a level (so nothing before `initialize`, and nothing to a client that did
 * not ask). The stderr log is unchanged. Over stateless HTTP every request has its own
 * server, so a level chosen in one request does not carry over to the next.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/index"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { SetLevelRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Logger, LogLevel } from "../log.ts";
import { redact } from "../redact.ts";

/** MCP's syslog levels, least severe first. */
export const MCP_LEVELS = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
] as const;

/** One MCP logging level. */
export type McpLevel = typeof MCP_LEVELS[number];

const FROM_LOG: Record<LogLevel, McpLevel> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

/**
 * A logger that writes to `inner` and, once {@linkcode ClientLog.attach}ed to a server,
 * sends each line at or above the client's level as a logging notification.
 */
export class ClientLog {
  #server: Server | undefined;
  /** Unset until the client sends `logging/setLevel`: nothing is sent before it chooses. */
  #level: McpLevel | undefined;

  /** The level the client chose, or undefined when it has not chosen (nothing is sent). */
  get level(): McpLevel | undefined {
    return this.#level;
  }

  /** Sends to `server`'s client from now on, and answers its `logging/setLevel`. */
  attach(server: Server): void {
    this.#server = server;
    server.setRequestHandler(SetLevelRequestSchema, (request) => {
      this.#level = request.params.level;
      return {};
    });
  }

  /** `inner`, plus notifications to the client. */
  tee(inner: Logger): Logger {
    const send = (l: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      const level = FROM_LOG[l];
      const server = this.#server;
      const chosen = this.#level;
      if (!server || !chosen || MCP_LEVELS.indexOf(level) < MCP_LEVELS.indexOf(chosen)) return;
      const extra = fields
        ? Object.entries(fields).map(([k, v]) =>
          ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
        )
          .join("")
        : "";
      server.sendLoggingMessage({ level, logger: "linkerd-mcp", data: redact(msg + extra) }).catch(
        () => {/* not connected (yet, or any more): stderr has it */},
      );
    };
    return {
      debug: (m, f) => (inner.debug(m, f), send("debug", m, f)),
      info: (m, f) => (inner.info(m, f), send("info", m, f)),
      warn: (m, f) => (inner.warn(m, f), send("warn", m, f)),
      error: (m, f) => (inner.error(m, f), send("error", m, f)),
    };
  }
}
