/**
 * The stdio fast path: answers the session's opening `initialize` and `tools/list` before
 * the MCP SDK (zod, its types, ajv: most of the start-up time) is loaded, then hands the
 * session to the SDK `Server` with no difference a client can see.
 *
 * Only an opening it can answer exactly is answered here: the first line must be an
 * `initialize` that the SDK's schemas and the guard (src/protocol_guard.ts) surely accept
 * (a stricter check than theirs), after which `notifications/initialized` and `tools/list`
 * lines are served the same way. The answers are the SDK `Server`'s own: the same
 * protocol-version negotiation, serverInfo, capabilities and instructions
 * (src/server_info.ts, which src/server.ts builds its `Server` from), the same listing
 * (src/tools/table.ts), serialized as the SDK's stdio transport does. The first line it
 * does not serve so (any other method, malformed JSON, a batch, a request before
 * `initialize`, a line over 1 MiB) and every byte after it are kept as they came, for
 * the SDK and the guard to answer as they always do: there is never a second behaviour.
 *
 * Handover ({@linkcode FastStart.handover}): the stream the SDK transport then reads
 * replays the recorded `initialize` (its SDK reply is dropped by
 * {@linkcode FastStart.adopt}, after checking that it is byte for byte the one already
 * sent) and `notifications/initialized`, so the SDK knows the client's capabilities
 * (elicitation), followed by the kept bytes and everything stdin brings later.
 *
 * No SDK, zod, tool or Node module is loaded before the handover (stdin and stdout are
 * Deno's: the first `node:` import alone costs ~25 ms). Turned off by
 * `LINKERD_MCP_FAST_START=0` (main.ts; where the variable is granted) and whenever stdin is
 * a terminal.
 *
 * @module
 */
import type { Readable } from "node:stream";
import type { Logger } from "./log.ts";
import { negotiatedVersion } from "./server_info.ts";

/** Longest line the fast path looks at; a longer one goes to the SDK path unread. */
export const FAST_LINE_MAX = 1024 * 1024;

/** Kept bytes above which stdin is no longer read until the SDK takes over. */
const KEPT_MAX = 16 * 1024 * 1024;

/** Options for {@linkcode startFastStdio}. */
export interface FastStartOptions {
  /** The `initialize` result's serverInfo, capabilities and instructions (as the SDK Server's). */
  serverInfo: Record<string, unknown>;
  capabilities: Record<string, unknown>;
  instructions?: string;
  /** The `tools/list` result's tools. */
  tools: () => unknown[];
  log: Logger;
  /** What the client sends (default `Deno.stdin`; neither a Node nor a web stream is made). */
  stdin?: { read(p: Uint8Array): Promise<number | null> };
  /** Writes all of `bytes` to the client (default: to stdout, synchronously). */
  write?: (bytes: Uint8Array) => void;
  /**
   * This long after `initialize` was answered, the SDK is wanted anyway (default 25 ms). It
   * is wanted at once when a line needs it, after `tools/list` was answered, and when stdin
   * ends. (No timer runs before the first message: the first one costs ~10 ms of set-up.)
   */
  idleMs?: number;
}

/** A running fast path (see the module documentation). */
export interface FastStart {
  /** Resolves when the SDK server should be loaded: a line needs it, or the opening is over. */
  readonly wanted: Promise<void>;
  /** Resolves when stdin ended (or failed): the client closed the session. */
  readonly ended: Promise<void>;
  /**
   * Stops answering and gives the stream for the SDK's stdio transport: the replayed
   * opening, the kept bytes, then the rest of stdin (ended when stdin ends).
   */
  handover(): Promise<Readable>;
  /**
   * Makes `transport` drop the SDK's reply to the replayed `initialize` (logging an error
   * should it differ from the reply already sent). Call before the server connects.
   */
  adopt<T extends { send(message: never, options?: never): Promise<void> }>(transport: T): T;
  /** How many messages the fast path answered (for tests and logs). */
  readonly answered: number;
}

function writeStdout(bytes: Uint8Array): void {
  // A pipe may take fewer bytes than offered: write until all of it is out.
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type Json = Record<string, unknown>;

function isPlainObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is string | number {
  return typeof v === "string" || (typeof v === "number" && Number.isSafeInteger(v));
}

function optional(v: unknown, test: (v: unknown) => boolean): boolean {
  return v === undefined || test(v);
}

const isString = (v: unknown) => typeof v === "string";
const isBoolean = (v: unknown) => typeof v === "boolean";

/** `v` is an object whose every member is a plain object (the SDK's `record(AssertObject)`). */
function isRecordOfObjects(v: unknown): boolean {
  return isPlainObject(v) && Object.values(v).every(isPlainObject);
}

/** The members of a JSON-RPC message served here; anything else goes to the SDK path. */
function membersOk(m: Json, withId: boolean): boolean {
  for (const k of Object.keys(m)) {
    if (k !== "jsonrpc" && k !== "method" && k !== "params" && !(withId && k === "id")) {
      return false;
    }
  }
  return m["jsonrpc"] === "2.0" && (withId ? isId(m["id"]) : !Object.hasOwn(m, "id")) &&
    optional(m["params"], isPlainObject) &&
    !(isPlainObject(m["params"]) && Object.hasOwn(m["params"], "_meta"));
}

/**
 * Client capabilities the SDK's ClientCapabilitiesSchema surely accepts (its objects are
 * not strict: unknown members pass). `tasks` is left to the SDK path.
 */
function capabilitiesOk(c: unknown): boolean {
  if (!isPlainObject(c)) return false;
  if (Object.hasOwn(c, "tasks")) return false;
  const { experimental, extensions, sampling, elicitation, roots } = c;
  if (!optional(experimental, isRecordOfObjects) || !optional(extensions, isRecordOfObjects)) {
    return false;
  }
  if (
    !optional(sampling, (s) =>
      isPlainObject(s) && optional(s["context"], isPlainObject) &&
      optional(s["tools"], isPlainObject))
  ) return false;
  if (
    !optional(elicitation, (e) =>
      isPlainObject(e) &&
      optional(e["form"], (f) => isPlainObject(f) && optional(f["applyDefaults"], isBoolean)) &&
      optional(e["url"], isPlainObject))
  ) return false;
  return optional(roots, (r) => isPlainObject(r) && optional(r["listChanged"], isBoolean));
}

/** An `initialize` request the guard and the SDK's InitializeRequestSchema surely accept. */
function isServableInitialize(m: Json): boolean {
  if (m["method"] !== "initialize" || !membersOk(m, true)) return false;
  const p = m["params"];
  if (!isPlainObject(p) || !isString(p["protocolVersion"]) || !capabilitiesOk(p["capabilities"])) {
    return false;
  }
  const info = p["clientInfo"];
  return isPlainObject(info) && isString(info["name"]) && isString(info["version"]) &&
    !Object.hasOwn(info, "icons") && optional(info["title"], isString) &&
    optional(info["websiteUrl"], isString) && optional(info["description"], isString);
}

function isServableToolsList(m: Json): boolean {
  if (m["method"] !== "tools/list" || !membersOk(m, true)) return false;
  const p = m["params"];
  return p === undefined || (isPlainObject(p) && optional(p["cursor"], isString));
}

function isInitializedNotification(m: Json): boolean {
  return m["method"] === "notifications/initialized" && membersOk(m, false);
}

/**
 * Starts the fast path on stdin/stdout (see the module documentation). The SDK server
 * must be created once {@linkcode FastStart.wanted} resolves and connected to a stdio
 * transport reading {@linkcode FastStart.handover}'s stream.
 */
export function startFastStdio(opts: FastStartOptions): FastStart {
  const write = opts.write ?? writeStdout;
  const idleMs = opts.idleMs ?? 25;
  const encoder = new TextEncoder();
  // Fatal, and keeping a BOM: a line that is not clean UTF-8 goes to the SDK path unread.
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  /** Lines the SDK must see again first (the opening), without their answers. */
  const replay: Uint8Array[] = [];
  /** Bytes for the SDK path, as they came: a partial line, or all from the first line it must serve. */
  let kept: Uint8Array[] = [];
  let keptSize = 0;
  let serving = true;
  let initialized = false;
  /** The recorded initialize: its id and the exact reply sent. */
  let initReply: { id: string | number; text: string } | undefined;
  let answered = 0;
  /** Where bytes go once the SDK took over. */
  let sink:
    | { write(b: Uint8Array): unknown; end(): unknown; destroy(e: Error): unknown }
    | undefined;
  let handedOver!: () => void;
  const handed = new Promise<void>((resolve) => handedOver = resolve);
  let ended = false;
  let failed: Error | undefined;
  let endedResolve!: () => void;
  const endedPromise = new Promise<void>((resolve) => endedResolve = resolve);

  let want!: () => void;
  const wanted = new Promise<void>((resolve) => want = resolve);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let isWanted = false;
  const wantNow = () => {
    isWanted = true;
    if (timer !== undefined) clearTimeout(timer);
    want();
  };

  const send = (message: Json): string => {
    const text = JSON.stringify(message) + "\n";
    write(encoder.encode(text));
    answered++;
    return text;
  };

  /** Serves one complete line, or returns false (the line and all after it go to the SDK). */
  const serve = (line: Uint8Array): boolean => {
    let text: string;
    let m: unknown;
    try {
      text = decoder.decode(line).replace(/\r$/, "");
      if (text.trim() === "") return true;
      m = JSON.parse(text);
    } catch {
      return false;
    }
    if (!isPlainObject(m)) return false;
    if (!initialized) {
      if (!isServableInitialize(m)) return false;
      const params = m["params"] as Json;
      const result = {
        protocolVersion: negotiatedVersion(params["protocolVersion"]),
        capabilities: opts.capabilities,
        serverInfo: opts.serverInfo,
        ...(opts.instructions && { instructions: opts.instructions }),
      };
      const id = m["id"] as string | number;
      initReply = { id, text: send({ result, jsonrpc: "2.0", id }) };
      initialized = true;
      replay.push(encoder.encode(text + "\n"));
      return true;
    }
    if (isInitializedNotification(m)) {
      replay.push(encoder.encode(text + "\n"));
      return true;
    }
    if (isServableToolsList(m)) {
      send({ result: { tools: opts.tools() }, jsonrpc: "2.0", id: m["id"] });
      // The opening is over: load the SDK now, while the client reads the list.
      wantNow();
      return true;
    }
    return false;
  };

  const keep = (data: Uint8Array) => {
    if (sink) {
      sink.write(data);
      return;
    }
    kept.push(data);
    keptSize += data.length;
  };

  const stopServing = () => {
    serving = false;
    wantNow();
  };

  const onData = (chunk: Uint8Array) => {
    if (!serving) {
      keep(chunk);
      return;
    }
    serveChunk(chunk);
    // After the replies are out: the SDK is wanted soon even if the client says no more.
    if (initialized && !isWanted && timer === undefined) timer = setTimeout(wantNow, idleMs);
  };
  const serveChunk = (chunk: Uint8Array) => {
    let data = chunk;
    while (data.length > 0) {
      const nl = data.indexOf(10);
      if (nl === -1) {
        keep(data);
        if (keptSize > FAST_LINE_MAX) stopServing();
        return;
      }
      const head = data.subarray(0, nl);
      const line = kept.length ? concat([...kept, head]) : head;
      if (line.length > FAST_LINE_MAX || !serve(line)) {
        stopServing();
        keep(data);
        return;
      }
      kept = [];
      keptSize = 0;
      data = data.subarray(nl + 1);
    }
  };
  const onEnd = (err?: Error) => {
    if (ended) return;
    ended = true;
    failed = err;
    wantNow();
    if (sink) {
      if (err) sink.destroy(err);
      else sink.end();
    }
    endedResolve();
  };

  (async () => {
    const stdin = opts.stdin ?? Deno.stdin;
    try {
      while (true) {
        if (!sink && keptSize > KEPT_MAX) await handed;
        const buf = new Uint8Array(64 * 1024);
        const n = await stdin.read(buf);
        if (n === null) break;
        if (n > 0) onData(n < buf.length / 2 ? buf.slice(0, n) : buf.subarray(0, n));
      }
      onEnd();
    } catch (err) {
      onEnd(err instanceof Error ? err : new Error(String(err)));
    }
  })();

  return {
    wanted,
    ended: endedPromise,
    get answered() {
      return answered;
    },
    async handover() {
      const { PassThrough } = await import("node:stream");
      serving = false;
      if (timer !== undefined) clearTimeout(timer);
      const pass = new PassThrough();
      for (const line of replay) pass.write(line);
      for (const data of kept) pass.write(data);
      kept = [];
      keptSize = 0;
      sink = pass;
      if (failed) pass.destroy(failed);
      else if (ended) pass.end();
      handedOver();
      if (answered) opts.log.debug("fast start: handed the session to the SDK", { answered });
      return pass;
    },
    adopt(transport) {
      const t = transport as unknown as { send(m: unknown, o?: unknown): Promise<void> };
      const inner = t.send.bind(t);
      let pending = initReply;
      t.send = (message: unknown, options?: unknown) => {
        const m = message as { id?: unknown; result?: { protocolVersion?: unknown } };
        if (
          pending && m.id === pending.id && isPlainObject(m.result) &&
          typeof m.result.protocolVersion === "string"
        ) {
          const sent = pending.text;
          pending = undefined;
          if (JSON.stringify(message) + "\n" !== sent) {
            opts.log.error(
              "fast start: the SDK's initialize reply differs from the one sent; src/server_info.ts is out of step with src/server.ts",
            );
          }
          return Promise.resolve();
        }
        return inner(message, options);
      };
      return transport;
    },
  };
}
