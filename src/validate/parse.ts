/**
 * Parsers for the value formats Linkerd and Kubernetes accept: port lists, resource
 * quantities, Go durations, proxy log filters, CIDRs and identities. Pure; each
 * returns a reason string when the value is invalid and `undefined` when it is valid.
 *
 * @module
 */

/** A port or an inclusive port range. */
export interface PortRange {
  from: number;
  to: number;
}

/** A parsed port list: numeric ranges, and the names the Go components resolve. */
export interface PortList {
  ranges: PortRange[];
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
 * Parses a Linkerd port list (`80,443,8000-9000`), as `pkg/util/parsing.go` does.
 * Names are collected separately; whether they are allowed depends on the annotation.
 */
export function parsePortList(text: string): PortList {
  const out: PortList = { ranges: [], names: [] };
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (!part) continue;
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (m) {
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (!isPortNumber(from) || !isPortNumber(to)) {
        out.error ??= `"${part}" is not a port between 1 and 65535`;
      } else if (from > to) out.error ??= `range "${part}" ends before it starts`;
      else out.ranges.push({ from, to });
    } else if (isPortName(part)) out.names.push(part);
    else out.error ??= `"${part}" is neither a port, a range like 8000-9000, nor a port name`;
  }
  return out;
}

/** True when `port` lies in one of the ranges. */
export function inRanges(ranges: readonly PortRange[], port: number): boolean {
  return ranges.some((r) => port >= r.from && port <= r.to);
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

/** A parsed IPv4 or IPv6 network. */
export interface Cidr {
  v6: boolean;
  /** Address bits as a bigint. */
  addr: bigint;
  prefix: number;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(Number(p));
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.split("::").length > 2) return undefined;
  let tail4: bigint | undefined;
  let text = s;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    text = s.slice(0, lastColon + 1) + "0:0";
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = rest === undefined ? [] : rest ? rest.split(":") : [];
  const missing = 8 - h.length - t.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...h, ...Array(rest === undefined ? 0 : missing).fill("0"), ...t];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail4 !== undefined) v = (v & ~0xffffffffn) | tail4;
  return v;
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a bare IP (a /32 or /128), or `undefined`. */
export function parseCidr(text: string): Cidr | undefined {
  const [ip, len, extra] = text.trim().split("/");
  if (ip === undefined || extra !== undefined) return undefined;
  const v6 = ip.includes(":");
  const addr = v6 ? parseV6(ip) : parseV4(ip);
  if (addr === undefined) return undefined;
  const max = v6 ? 128 : 32;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return undefined;
  const prefix = len === undefined ? max : Number(len);
  if (prefix > max) return undefined;
  return { v6, addr, prefix };
}

function mask(c: Cidr): bigint {
  const max = c.v6 ? 128n : 32n;
  return ((1n << BigInt(c.prefix)) - 1n) << (max - BigInt(c.prefix));
}

/** True when network `inner` lies entirely inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.v6 !== inner.v6 || inner.prefix < outer.prefix) return false;
  const m = mask(outer);
  return (outer.addr & m) === (inner.addr & m);
}

/** True when the two networks share any address. */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
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
