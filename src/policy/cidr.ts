/**
 * IPv4 and IPv6 addresses and CIDR blocks, as NetworkAuthentication, ServerAuthorization
 * `networks` and the cluster networks use them. Pure: no DNS, no I/O.
 *
 * @module
 */

/** A parsed CIDR block; `bits` holds the whole address as a bigint. */
export interface Cidr {
  family: 4 | 6;
  bits: bigint;
  prefix: number;
  /** Network mask as a bigint. */
  mask: bigint;
  /** The block as written (`10.0.0.0/8`, or a bare IP). */
  text: string;
}

/** Parses an IPv4 or IPv6 address into its family and numeric value; `undefined` when invalid. */
export function parseIp(text: string): { family: 4 | 6; bits: bigint } | undefined {
  const s = text.trim();
  if (s.includes(":")) {
    const bits = parseIpv6(s);
    return bits === undefined ? undefined : { family: 6, bits };
  }
  const bits = parseIpv4(s);
  return bits === undefined ? undefined : { family: 4, bits };
}

function parseIpv4(s: string): bigint | undefined {
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(s)) return undefined;
  let v = 0;
  for (const p of s.split(".")) {
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return BigInt(v);
}

function parseIpv6(s: string): bigint | undefined {
  let text = s;
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIpv4(last);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${
      (v4 & 0xffffn).toString(16)
    }`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  let words: string[];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    words = [...head, ...new Array<string>(fill).fill("0"), ...rest];
  } else words = head;
  if (words.length !== 8) return undefined;
  return words.reduce((acc, w) => (acc << 16n) | BigInt(parseInt(w, 16)), 0n);
}

/** Parses `addr/prefix` or a bare address (a /32 or /128); `undefined` when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, prefixText, extra] = text.trim().split("/");
  if (addr === undefined || extra !== undefined) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > max) return undefined;
  }
  const m = mask(ip.family, prefix);
  return { family: ip.family, bits: ip.bits & m, prefix, mask: m, text: text.trim() };
}

function mask(family: 4 | 6, prefix: number): bigint {
  const width = family === 4 ? 32n : 128n;
  const all = (1n << width) - 1n;
  return prefix === 0 ? 0n : (all << (width - BigInt(prefix))) & all;
}

/** True when the address lies inside the block (families must agree). */
export function cidrContains(cidr: Cidr, ip: { family: 4 | 6; bits: bigint }): boolean {
  if (cidr.family !== ip.family) return false;
  return (ip.bits & cidr.mask) === cidr.bits;
}

/** True when block `inner` lies entirely inside block `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix &&
    cidrContains(outer, { family: inner.family, bits: inner.bits });
}

/** True when the block is the whole address space of its family (`0.0.0.0/0`, `::/0`). */
export function isWholeFamily(cidr: Cidr): boolean {
  return cidr.prefix === 0;
}
