/**
 * Keeps credentials out of everything the server shows: tool results, errors and log lines.
 *
 * Two mechanisms, both applied by {@linkcode redact}:
 *
 * - **Known secrets**: every credential the server itself holds (the kubeconfig's token,
 *   password and client key, the token an exec plugin printed, `LINKERD_PROMETHEUS_TOKEN`,
 *   `LINKERD_PROMETHEUS_PASSWORD`, URL passwords, reviewed client tokens) is registered with
 *   {@linkcode registerSecret} when it is read, and any occurrence is replaced, whatever the
 *   surrounding format (an upstream that echoes headers in a JSON, HTML or text body).
 * - **Patterns**: anything that looks like a credential (`Bearer …`, `Basic …`, URL userinfo,
 *   JWTs, PEM private keys, `token=…`/`password: …` pairs) is replaced too.
 *
 * Error classes in `errors.ts` redact their message on construction, and the logger redacts
 * every line, so upstream text cannot carry a credential out by another path.
 *
 * @module
 */

/** What replaces a secret. */
export const REDACTED = "[redacted]";

/** Secrets shorter than this are not registered (they would match ordinary words). */
const MIN_SECRET_LENGTH = 8;
/** At most this many secrets are kept (reviewed client tokens could otherwise grow it). */
const MAX_SECRETS = 1000;

const secrets = new Set<string>();

/**
 * Remembers a credential so that {@linkcode redact} removes it from any text. Also registers
 * its base64, and the URL-encoded form when it differs. Values shorter than 8 characters are
 * ignored.
 */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== "string") return;
  const v = value.trim();
  if (v.length < MIN_SECRET_LENGTH || secrets.has(v)) return;
  if (secrets.size >= MAX_SECRETS) {
    // Forget the oldest: insertion order.
    const oldest = secrets.values().next().value;
    if (oldest !== undefined) secrets.delete(oldest);
  }
  secrets.add(v);
  const encoded = encodeURIComponent(v);
  if (encoded !== v) secrets.add(encoded);
  try {
    const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(v)));
    secrets.add(b64);
    secrets.add(b64.replace(/=+$/, ""));
  } catch {
    // not encodable: the raw value is enough
  }
}

/** Registers `user:password` of HTTP basic auth: the password, and the header's base64. */
export function registerBasicAuth(username: string, password: string): void {
  registerSecret(password);
  if (password) registerSecret(`${username}:${password}`);
}

/** Forgets every registered secret (tests). */
export function clearSecrets(): void {
  secrets.clear();
}

/** Names under which a credential travels (`token`, `client-key-data`, `api_key`, ...). */
const KEY = String
  .raw`\b((?:access[_-]?|id[_-]|refresh[_-]|bearer[_-]?|auth[_-]?|api[_-]?|client[_-]?|x-api-)?` +
  String
    .raw`(?:token|password|passwd|secret|api[_-]?key|authorization|cookie|client-key-data|client-key)s?)`;

/**
 * A dotted lowercase name (`tokenreviews.authentication.k8s.io`, `linkerd.io`, a host name):
 * an API resource or DNS name, never taken for the value of a `token: …` pair. Each label
 * starts with a letter; the value ends at a delimiter. Bootstrap tokens, the one credential
 * of that shape, are matched by their own pattern first.
 */
const NAME = String.raw`(?-i:[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+)(?=[\s"',;&}<>\]]|$)`;
/** Not a name, not already redacted. */
const NOT_WORD = String.raw`(?!\[redacted\])(?!${NAME})`;

const PATTERNS: Array<[RegExp, string]> = [
  // PEM private keys, complete or cut off.
  [
    /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
    `-----${REDACTED} PRIVATE KEY-----`,
  ],
  // URL userinfo: scheme://user:pass@host -> scheme://host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@"'<>]*@/gi, "$1"],
  // Authorization schemes.
  [
    /\b(Bearer|Basic|Digest|Negotiate)(\s+)(?=[A-Za-z0-9._~+/=:-]*[0-9=+/._~-]|[A-Za-z]{20})[A-Za-z0-9._~+/=:-]{6,}/gi,
    `$1$2${REDACTED}`,
  ],
  // JWTs (service-account tokens, OIDC id tokens).
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // Kubernetes bootstrap tokens (`abcdef.0123456789abcdef`).
  [/(?<![\w.-])[a-z0-9]{6}\.[a-z0-9]{16}(?![\w.-])/g, REDACTED],
  // key=value / "key": "value" / key: long-value pairs naming a credential; a value that is
  // a dotted name (an API resource, a host) is an ordinary word, not a credential.
  [
    new RegExp(`${KEY}(["']?\\s*[:=]\\s*["'])${NOT_WORD}([^"'\\r\\n]{4,})`, "gi"),
    `$1$2${REDACTED}`,
  ],
  [new RegExp(`${KEY}([:=])${NOT_WORD}([^\\s"',;&}<>\\]]{4,})`, "gi"), `$1$2${REDACTED}`],
  [new RegExp(`${KEY}(:\\s+)${NOT_WORD}([^\\s"',;&}<>\\]]{12,})`, "gi"), `$1$2${REDACTED}`],
];

/** Replaces registered secrets and credential-looking text with `[redacted]`. */
export function redact(text: string): string {
  if (typeof text !== "string" || text === "") return text;
  let out = redactKnown(text);
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out;
}

/**
 * Replaces only the registered secrets (no patterns): safe on data, e.g. a whole tool
 * result, where a pattern could alter a legitimate value.
 */
export function redactKnown(text: string): string {
  if (typeof text !== "string" || text === "" || secrets.size === 0) return text;
  let out = text;
  // Longest first, so that a secret containing another is removed whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/** Removes the userinfo (`user:password@`) of a URL; anything unparsable goes through {@linkcode redact}. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "";
      u.password = "";
      // URL keeps a trailing slash the input may not have had.
      const s = u.toString();
      return url.endsWith("/") || u.pathname !== "/" ? s : s.replace(/\/$/, "");
    }
    return url;
  } catch {
    return redact(url);
  }
}

/**
 * A short, single-line, redacted excerpt of an upstream body (an error page, a Status
 * message): control characters collapsed, at most `max` characters.
 */
export function summarize(text: string, max = 200): string {
  // deno-lint-ignore no-control-regex
  const flat = redact(text).replace(/[\u0000-\u001f\u007f]+/g, " ").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
