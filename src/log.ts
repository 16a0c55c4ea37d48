/**
 * Logging to stderr only: stdout belongs to the MCP protocol.
 *
 * @module
 */
import { redact } from "./redact.ts";

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** True when `value` names a log level. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && Object.hasOwn(ORDER, value);
}

/** A minimal structured logger. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Creates a logger that writes `level msg key=value` lines to stderr. */
export function createLogger(level: LogLevel = "info"): Logger {
  const encoder = new TextEncoder();
  const write = (l: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < ORDER[level]) return;
    const extra = fields
      ? " " + Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ")
      : "";
    try {
      // No credential leaves in a log line (see src/redact.ts).
      Deno.stderr.writeSync(encoder.encode(`linkerd-mcp ${l} ${redact(`${msg}${extra}`)}\n`));
    } catch {
      // stderr closed: nothing sensible to do
    }
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/** A logger that drops everything (tests). */
export const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };
