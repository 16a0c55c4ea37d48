/**
 * Label values and durations that end up inside PromQL: validation and escaping.
 *
 * Two layers keep caller input from changing a query's structure:
 * 1. every value a caller sends is validated against the Kubernetes name rules
 *    ({@linkcode validateName}) before any builder sees it, and
 * 2. every builder prints values through {@linkcode quoteLabelValue}, which escapes
 *    backslashes, quotes and control characters, so even an unvalidated value can
 *    only ever become one string literal.
 *
 * Durations are parsed into seconds and printed back canonically; the caller's
 * text is never pasted into a query.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";

/** What kind of Kubernetes name a value must be. */
export type NameKind = "namespace" | "service" | "workload";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Checks a Kubernetes name: namespaces are DNS-1123 labels, services DNS-1035 labels
 * (63 characters at most), workloads DNS-1123 subdomains (253 at most).
 *
 * @param field the argument name, used in the message (`namespace`, `source_service`)
 * @returns the value unchanged
 * @throws {InvalidArgumentError} when the value is not a valid name
 */
export function validateName(value: string, kind: NameKind, field: string = kind): string {
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  const max = kind === "workload" ? 253 : 63;
  const re = kind === "namespace"
    ? DNS1123_LABEL
    : kind === "service"
    ? DNS1035_LABEL
    : DNS1123_SUBDOMAIN;
  if (value.length === 0) {
    throw new InvalidArgumentError(`Cannot use ${field}: the value is empty`);
  }
  if (value.length > max || !re.test(value)) {
    const rule = kind === "workload"
      ? "a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)"
      : kind === "service"
      ? "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)"
      : "a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)";
    throw new InvalidArgumentError(
      `Cannot use ${field} ${JSON.stringify(shown)}: a Kubernetes ${kind} name must be ${rule}`,
    );
  }
  return value;
}

/**
 * Prints a value as one PromQL double-quoted string literal. Backslash, quote and
 * every control or line-separator character are escaped, so the result is always a
 * single literal whatever the input.
 */
export function quoteLabelValue(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f || cp === 0x2028 || cp === 0x2029) {
      out += `\\u${cp.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return out + '"';
}

/** Escapes RE2 metacharacters so a value matches only itself inside `=~`. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}

/** One label matcher. */
export interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Prints `{a="x", b=~"y"}` with label names sorted (as viz's `LabelSet.String()`).
 * Label names come from code, never from callers; they are still checked.
 *
 * @throws {TypeError} when a label name is not a valid Prometheus label name
 */
export function formatMatchers(matchers: readonly Matcher[]): string {
  const sorted = [...matchers].sort((a, b) => a.label.localeCompare(b.label));
  return `{${
    sorted.map((m) => {
      if (!LABEL_NAME.test(m.label)) throw new TypeError(`Invalid label name "${m.label}"`);
      return `${m.label}${m.op}${quoteLabelValue(m.value)}`;
    }).join(", ")
  }}`;
}

/** Shorthand for equality matchers from an object (`undefined` values are skipped). */
export function eq(labels: Record<string, string | undefined>): Matcher[] {
  return Object.entries(labels).filter((e): e is [string, string] => e[1] !== undefined).map((
    [label, value],
  ) => ({ label, op: "=", value }));
}

/** Smallest and largest accepted `time_range`. */
export const MIN_RANGE_SECONDS = 60;
export const MAX_RANGE_SECONDS = 30 * 86_400;

const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
  y: 31_536_000,
};

/**
 * Parses a Prometheus duration (`5m`, `1h30m`, `7d`) into whole seconds.
 *
 * @throws {InvalidArgumentError} when the text is not a duration or is outside the bounds
 */
export function parseDuration(
  text: string,
  field = "time_range",
  bounds: { min: number; max: number } = { min: MIN_RANGE_SECONDS, max: MAX_RANGE_SECONDS },
): number {
  const t = text.trim();
  const shown = JSON.stringify(t.length > 40 ? `${t.slice(0, 37)}...` : t);
  if (t.length > 40 || !/^(\d+(ms|s|m|h|d|w|y))+$/.test(t)) {
    throw new InvalidArgumentError(
      `Cannot parse ${field} ${shown}: use a Prometheus duration such as "5m", "1h", "1h30m", "24h" or "7d"`,
    );
  }
  let seconds = 0;
  for (const m of t.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    seconds += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  }
  if (seconds < bounds.min || seconds > bounds.max) {
    throw new InvalidArgumentError(
      `Cannot use ${field} ${shown}: it must be between ${formatDuration(bounds.min)} and ${
        formatDuration(bounds.max)
      }`,
    );
  }
  return Math.round(seconds);
}

/** Prints whole seconds as the shortest Prometheus duration (`300` → `5m`, `5400` → `1h30m`). */
export function formatDuration(seconds: number): string {
  let s = Math.max(0, Math.round(seconds));
  if (s === 0) return "0s";
  let out = "";
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (s >= size) {
      out += `${Math.floor(s / size)}${unit}`;
      s %= size;
    }
  }
  return out;
}
