/**
 * Parsers for the value formats Linkerd and Kubernetes accept: port lists, resource
 * quantities, Go durations, proxy log filters and identities (CIDRs: `src/policy/cidr.ts`). Pure; each
 * returns a reason string when the value is invalid and `undefined` when it is valid.
 *
 * @module
 */
import { parsePortSet } from "../policy/ports.ts";

/** A parsed port list: numeric ranges, and the names the Go components resolve. */
export interface PortList {
  /** `[from, to]` ranges, as the policy controller reads them (`parsePortSet`). */
  ranges: Array<readonly [number, number]>;
  names: string[];
  /** Why the list is invalid, when it is. */
  error?: string;
}

const PORT_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/** True for a valid IANA service name as Kubernetes uses for port names. */
export function isPortName(s: string): boolean {
  return s.length <= 15 && PORT_NAME.test(s) && /[a-z]/.test(s) && !s.includes("--");
}

/** True for an integer port 1–65535. */
export function isPortNumber(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/**
 * Reads a Linkerd port list (`80,443,8000-9000`) entry by entry, to say which entry is
 * wrong: each entry is parsed as the policy controller parses it (`parsePortSet`);
 * names, which only the Go components resolve, are collected apart.
 */
export function parsePortList(text: string): PortList {
  const out: PortList = { ranges: [], names: [] };
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (!part) continue;
    const set = parsePortSet(part);
    if (set.length) out.ranges.push(...set);
    else if (isPortName(part)) out.names.push(part);
    else if (/^\d+(-\d+)?$/.test(part)) {
      const [from, to = from] = part.split("-").map(Number) as [number, number?];
      out.error ??= from > to!
        ? `range "${part}" ends before it starts`
        : `"${part}" is not a port between 1 and 65535`;
    } else out.error ??= `"${part}" is neither a port, a range like 8000-9000, nor a port name`;
  }
  return out;
}

const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[mkMGTPE]|n|u)?$/;
const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The numeric value of a Kubernetes resource quantity (`500m`, `1k`, `1Gi`, `1e3`), or `undefined`. */
export function parseQuantity(text: string): number | undefined {
  const s = text.trim();
  if (!QUANTITY.test(s)) return undefined;
  const m = s.match(/^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(.*)$/)!;
  const num = Number(m[1]);
  const suffix = m[2]!;
  if (/^[eE]/.test(suffix)) return num * 10 ** Number(suffix.slice(1));
  const mult = SUFFIX[suffix];
  return mult === undefined ? undefined : num * mult;
}

const DURATION_UNIT: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1e3,
  m: 60e3,
  h: 3600e3,
};

/** Milliseconds of a Go duration (`300ms`, `1m30s`, `0`), or `undefined` when invalid. */
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = s.startsWith("+") || s.startsWith("-") ? 1 : 0;
  if (pos >= s.length) return undefined;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNIT[m[2]!]!;
    pos = re.lastIndex;
  }
  return s.startsWith("-") ? -total : total;
}

/** True for a Gateway API duration (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`). */
export function isGatewayDuration(text: string): boolean {
  return /^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(text);
}

const LEVELS = new Set(["trace", "debug", "info", "warn", "warning", "error", "off"]);
const TARGET = /^[A-Za-z_][\w:.-]*$/;

/**
 * Checks a proxy log filter as the proxy's `tracing` EnvFilter reads it:
 * `warn,linkerd=info,hickory=error,[{headers}]=off`. Returns the reason it is invalid.
 */
export function logLevelError(text: string): string | undefined {
  const directives = splitTopLevel(text);
  if (directives.every((d) => !d.trim())) return "the filter is empty";
  for (const raw of directives) {
    const d = raw.trim();
    if (!d) continue;
    const eq = lastTopLevel(d, "=");
    const lhs = eq < 0 ? d : d.slice(0, eq);
    const level = eq < 0 ? undefined : d.slice(eq + 1).trim();
    if (level !== undefined && !LEVELS.has(level.toLowerCase())) {
      return `"${level}" in "${d}" is not a level (trace, debug, info, warn, error, off)`;
    }
    if (level === undefined && LEVELS.has(lhs.toLowerCase())) continue;
    const span = lhs.indexOf("[");
    const target = (span < 0 ? lhs : lhs.slice(0, span)).trim();
    const spanPart = span < 0 ? "" : lhs.slice(span).trim();
    if (target && !TARGET.test(target)) return `"${target}" in "${d}" is not a module path`;
    if (spanPart && !/^\[[^\]]*\]$/.test(spanPart)) return `"${spanPart}" is not a span filter`;
    if (!target && !spanPart) return `"${d}" names no target`;
  }
  return undefined;
}

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "[" || ch === "{") depth++;
    if (ch === "]" || ch === "}") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function lastTopLevel(text: string, needle: string): number {
  let depth = 0;
  let found = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "[" || ch === "{") depth++;
    if (ch === "]" || ch === "}") depth--;
    if (ch === needle && depth === 0) found = i;
  }
  return found;
}

const DNS_ID = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a MeshTLSAuthentication identity is rejected (admission's `validation.rs`), if it is. */
export function identityError(id: string): string | undefined {
  if (id.startsWith("spiffe://")) {
    const rest = id.slice("spiffe://".length);
    const slash = rest.indexOf("/");
    const domain = slash < 0 ? rest : rest.slice(0, slash);
    if (!/^[a-z0-9._-]+$/.test(domain)) return `"${id}" has an invalid SPIFFE trust domain`;
    const path = slash < 0 ? "" : rest.slice(slash);
    if (path && !/^(\/[A-Za-z0-9._-]+)+$/.test(path)) return `"${id}" has an invalid SPIFFE path`;
    return undefined;
  }
  return DNS_ID.test(id) ? undefined : `"${id}" is neither a DNS-like identity nor a spiffe:// URI`;
}
