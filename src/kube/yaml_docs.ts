/**
 * Kubernetes objects from manifest text: multi-document YAML, JSON, streams of
 * concatenated JSON objects (as `kubectl apply -f` accepts), and `List` kinds
 * (`kubectl get -o yaml` dumps), each with the line it starts on.
 *
 * Nothing here throws on bad input: a document that cannot be parsed becomes a
 * {@linkcode LoadProblem} with its line, and every other document is still read.
 *
 * @module
 */
import {
  Composer,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  Parser,
  visit,
} from "yaml";
import type { KubeObject } from "./types.ts";

/** One object read from a manifest, with its 1-based start line. */
export interface ManifestEntry {
  object: KubeObject;
  line: number;
}

/**
 * Stable rule ids of load problems (a public interface, like the validator's rule ids):
 * - `manifest-parse-error` (error): the YAML or JSON of a document cannot be parsed, or
 *   an alias or merge key in it cannot be resolved; the document is not validated.
 * - `manifest-limit` (error): a file or the whole set is over a documented limit; what
 *   is over it is not read.
 * - `manifest-unreadable` (error): a file or folder exists but cannot be read.
 * - `manifest-skipped` (warning): something deliberately not read: a symlink out of the
 *   given paths, a FIFO, socket or device, a file that is not UTF-8 text, a document
 *   that is not a Kubernetes object.
 */
export type LoadProblemRule =
  | "manifest-parse-error"
  | "manifest-limit"
  | "manifest-unreadable"
  | "manifest-skipped";

/** Something that went wrong while reading manifests, reported as a finding. */
export interface LoadProblem {
  /** The file (or folder) as the user named it, e.g. `gitops/apps/web.yaml`. */
  file: string;
  /** 1-based line, when the problem has one. */
  line?: number;
  severity: "error" | "warning";
  rule: LoadProblemRule;
  /** What happened, in plain words. */
  message: string;
}

/** The severity of each {@linkcode LoadProblemRule}. */
export const LOAD_PROBLEM_SEVERITY: Readonly<Record<LoadProblemRule, "error" | "warning">> = {
  "manifest-parse-error": "error",
  "manifest-limit": "error",
  "manifest-unreadable": "error",
  "manifest-skipped": "warning",
};

/** What {@linkcode parseManifestText} found. */
export interface ParsedManifest {
  /** Objects with `apiVersion`, `kind` and `metadata.name`, in document order. */
  entries: ManifestEntry[];
  /** Documents that were skipped or could not be parsed. */
  problems: LoadProblem[];
  /** {@linkcode problems} as `file:line: message` lines. */
  warnings: string[];
}

/** Options for {@linkcode parseManifestText}. */
export interface ParseManifestOptions {
  /** Stop after this many documents (counting empty ones); default unlimited. */
  maxDocuments?: number;
}

/** Largest number of aliases a document may expand (YAML "billion laughs" guard). */
export const MAX_YAML_ALIAS_COUNT = 1000;

/**
 * Parses manifest text. Empty documents are ignored; documents that are not objects or
 * lack `apiVersion`, `kind` or `metadata.name` are skipped with a `manifest-skipped`
 * warning; a document that cannot be parsed gives a `manifest-parse-error` with its line
 * while the other documents are still read. `List` kinds are expanded into their items.
 * Text that starts with `{` is read as a stream of JSON objects (`{...}{...}`, or one
 * per line), as kubectl reads it; outside `.json` files, text that is not JSON is then
 * tried as YAML (flow style).
 *
 * @param file Names the text in problems.
 */
export function parseManifestText(
  text: string,
  file: string,
  opts: ParseManifestOptions = {},
): ParsedManifest {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out = new Collector(file);
  const max = opts.maxDocuments ?? Infinity;
  if (/^\s*\{/.test(text)) {
    const json = parseJsonStream(text, max);
    if (json.error && json.docs.length === 0 && !/\.json$/i.test(file)) {
      // Not JSON: maybe YAML flow style (`{apiVersion: v1, ...}`). When YAML fails too,
      // the JSON reason is the one that makes sense for text that looks like JSON.
      const yaml = new Collector(file);
      parseYaml(text, yaml, max);
      if (!yaml.problems.some((p) => p.rule === "manifest-parse-error")) return yaml.result();
    }
    for (const d of json.docs) out.document(d.value, d.span, d.items, text);
    if (json.error) {
      out.problem(
        json.error.line,
        "manifest-parse-error",
        `Cannot parse JSON: ${json.error.reason}`,
      );
    }
    if (json.truncated) out.tooManyDocuments(json.truncated, max);
    return out.result();
  }
  parseYaml(text, out, max);
  return out.result();
}

function parseYaml(text: string, out: Collector, max: number): void {
  const lineCounter = new LineCounter();
  const lineOf = (offset: number | undefined) => lineCounter.linePos(offset ?? 0).line;
  const composer = new Composer({ merge: true, prettyErrors: false });
  let count = 0;
  // Streaming: each document is converted and dropped before the next one is parsed.
  for (const doc of composer.compose(new Parser(lineCounter.addNewLine).parse(text))) {
    if (++count > max) {
      out.tooManyDocuments(lineOf(doc.range[0]), max);
      return;
    }
    const err = doc.errors[0];
    if (err) {
      const { line, col } = lineCounter.linePos(err.pos[0]);
      out.problem(
        line,
        "manifest-parse-error",
        `Cannot parse YAML (line ${line}, column ${col}): ${plainYamlReason(err.message)}`,
      );
      continue;
    }
    const contents = doc.contents;
    if (contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
    } catch (e) {
      const { reason, offset } = resolveFailure(doc, e);
      out.problem(
        lineOf(offset ?? contents.range?.[0]),
        "manifest-parse-error",
        `Cannot resolve YAML: ${reason}`,
      );
      continue;
    }
    const spanOf = (node: unknown): Span => {
      const range = (node as { range?: [number, number, number] }).range ?? [0, 0, 0];
      const { line, col } = lineCounter.linePos(range[0]);
      return { line, col, start: range[0], end: range[2] };
    };
    const items: Span[] = [];
    if (isMap(contents)) {
      const seq = contents.get("items", true);
      if (isSeq(seq)) { for (const item of seq.items) items.push(spanOf(item)); }
    }
    out.document(value, spanOf(contents), items, text);
  }
}

/** The YAML parser's message without its position suffix and token jargon. */
function plainYamlReason(message: string): string {
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return first
    .replace(/\bflow-map-start\b/g, '"{"')
    .replace(/\bflow-map-end\b/g, '"}"')
    .replace(/\bflow-seq-start\b/g, '"["')
    .replace(/\bflow-seq-end\b/g, '"]"')
    .replace(/\bmap-value-ind\b/g, '":"')
    .replace(/\bseq-item-ind\b/g, '"-"')
    .replace(/\bflow-error-end\b/g, "end of flow collection")
    .replace(/\b(double|single)-quoted-scalar\b/g, "quoted string")
    .replace(/\bblock-scalar\b/g, "block scalar");
}

/**
 * Why `toJS` failed, and where: the alias that names no anchor, the merge key whose
 * value is not a map, or the first alias of a document with too many.
 */
function resolveFailure(doc: Document.Parsed, err: unknown): { reason: string; offset?: number } {
  const message = err instanceof Error ? err.message : String(err);
  let offset: number | undefined;
  const unresolved = message.match(/^Unresolved alias[^:]*: (.+)$/);
  if (unresolved) {
    visit(doc, {
      Alias(_, node) {
        if (node.source === unresolved[1]) {
          offset = rangeStart(node);
          return visit.BREAK;
        }
      },
    });
    return {
      reason: `alias "*${unresolved[1]}" names no anchor defined before it ("&${unresolved[1]}")`,
      ...(offset !== undefined ? { offset } : {}),
    };
  }
  if (/^Merge sources/.test(message)) {
    const isMapLike = (n: unknown): boolean => isMap(n) || (isAlias(n) && isMap(n.resolve(doc)));
    visit(doc, {
      Pair(_, pair) {
        const key = pair.key;
        if (!isScalar(key) || (key.value !== "<<" && key.source !== "<<")) return;
        const v = pair.value;
        const ok = isMapLike(v) || (isSeq(v) && v.items.every(isMapLike));
        if (!ok) {
          offset = rangeStart(key);
          return visit.BREAK;
        }
      },
    });
    return {
      reason: 'the merge key "<<" must be given a map, an alias of a map, or a list of them',
      ...(offset !== undefined ? { offset } : {}),
    };
  }
  if (/Excessive alias count/.test(message)) {
    visit(doc, {
      Alias(_, node) {
        offset = rangeStart(node);
        return visit.BREAK;
      },
    });
    return {
      reason:
        `its aliases expand to more than ${MAX_YAML_ALIAS_COUNT} nodes (a "billion laughs" document); not expanded`,
      ...(offset !== undefined ? { offset } : {}),
    };
  }
  return { reason: message.split("\n")[0]! };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}

/** Where a document (or a `List` item) is in its text: 1-based line and column, offsets. */
interface Span {
  line: number;
  col: number;
  start: number;
  end: number;
}

/** One top-level JSON value of a stream, with where it and its `items` are. */
interface JsonDoc {
  value: unknown;
  span: Span;
  items: Span[];
}

/** The values read before any error; `truncated` is the line where `max` was reached. */
interface JsonStream {
  docs: JsonDoc[];
  error?: { line: number; reason: string };
  truncated?: number;
}

/**
 * Splits text into top-level JSON values (`{...}{...}`, one per line, or a single one)
 * and parses each with `JSON.parse`. Records the line of each element of a top-level
 * `"items"` array, for `List` kinds.
 */
function parseJsonStream(text: string, max: number): JsonStream {
  const docs: JsonDoc[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (c === 10 || c === 13 || c === 32 || c === 9) {
      i++;
      continue;
    }
    if (c !== 123 /* { */) {
      return {
        docs,
        error: { line, reason: `expected "{" to start an object, found "${text[i]}"` },
      };
    }
    if (docs.length >= max) return { docs, truncated: line };
    const start = i;
    const startLine = line;
    const items: Span[] = [];
    // Scan to the matching "}", tracking strings, depth and the key of each depth-1 array.
    let depth = 0;
    const stack: number[] = []; // 123 for objects, 91 for arrays
    let lastString = "";
    let itemsDepth = -1;
    let end = -1;
    while (i < n) {
      const ch = text.charCodeAt(i);
      if (ch === 10) line++;
      if (ch === 34 /* " */) {
        const s = i + 1;
        i++;
        while (i < n) {
          const x = text.charCodeAt(i);
          if (x === 92 /* \ */) i += 2;
          else if (x === 34) break;
          else {
            if (x === 10) line++;
            i++;
          }
        }
        if (depth === 1) lastString = text.slice(s, i);
        i++;
        continue;
      }
      if (ch === 123 || ch === 91) {
        if (depth === 2 && itemsDepth === 2 && stack[1] === 91) {
          items.push({ line, col: 1, start: i, end: i });
        }
        if (ch === 91 && depth === 1) itemsDepth = lastString === "items" ? 2 : -1;
        stack.push(ch);
        depth++;
      } else if (ch === 125 || ch === 93) {
        stack.pop();
        depth--;
        if (depth === 2 && itemsDepth === 2 && stack[1] === 91) {
          items[items.length - 1]!.end = i + 1;
        }
        if (depth === 1) itemsDepth = -1;
        if (depth === 0) {
          end = i + 1;
          i++;
          break;
        }
      }
      i++;
    }
    if (end < 0) {
      return {
        docs,
        error: { line: startLine, reason: `the object starting at line ${startLine} never ends` },
      };
    }
    try {
      docs.push({
        value: JSON.parse(text.slice(start, end)),
        span: { line: startLine, col: 1, start, end },
        items,
      });
    } catch (e) {
      const slice = text.slice(start, end);
      const at = jsonErrorOffset(slice);
      const errLine = startLine + countNewlines(slice, 0, at);
      const reason = (e as Error).message.replace(/, (?:\.\.\.)?"[^]*$/, "").split("\n")[0]!
        .replace(/ in JSON at position \d+( \(line \d+ column \d+\))?/, "")
        .replace(/^JSON\.parse: /, "");
      return { docs, error: { line: errLine, reason } };
    }
  }
  return { docs };
}

/**
 * The offset of the first syntax error in text that `JSON.parse` rejected (V8 does not
 * always say where): a small recursive-descent check of the JSON grammar.
 */
function jsonErrorOffset(t: string): number {
  let i = 0;
  const ws = () => {
    while (i < t.length && " \t\n\r".includes(t[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const str = () => {
    if (t[i] !== '"') fail();
    i++;
    while (i < t.length && t[i] !== '"') {
      if (t.charCodeAt(i) < 0x20) fail();
      if (t[i] === "\\") {
        i++;
        if (t[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(t[i] ?? "x")) fail();
      }
      i++;
    }
    if (i >= t.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = t[i];
    if (c === "{") {
      i++;
      ws();
      if (t[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        if (t[i] !== ":") fail();
        i++;
        value();
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === "}") {
          i++;
          return;
        } else fail();
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (t[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === "]") {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return str();
    const m = t.slice(i).match(/^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/);
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    if (i < t.length) fail();
  } catch (at) {
    // A number is the offset found; anything else (nesting too deep for the stack): unknown.
    return typeof at === "number" ? at : 0;
  }
  return i;
}

function countNewlines(text: string, from: number, to: number): number {
  let k = 0;
  for (let i = from; i < to && i < text.length; i++) if (text.charCodeAt(i) === 10) k++;
  return k;
}

class Collector {
  readonly entries: ManifestEntry[] = [];
  readonly problems: LoadProblem[] = [];

  constructor(readonly file: string) {}

  problem(line: number, rule: LoadProblemRule, message: string): void {
    this.problems.push({
      file: this.file,
      line,
      severity: LOAD_PROBLEM_SEVERITY[rule],
      rule,
      message,
    });
  }

  tooManyDocuments(line: number, max: number): void {
    this.problem(
      line,
      "manifest-limit",
      `more than ${max} documents in one file: the documents from this line on were not read`,
    );
  }

  document(value: unknown, span: Span, items: Span[], text: string): void {
    const v = value as Record<string, unknown> | null;
    const isList = v && typeof v === "object" && typeof v["kind"] === "string" &&
      (v["kind"] as string).endsWith("List") && Array.isArray(v["items"]);
    if (isList) {
      (v["items"] as unknown[]).forEach((item, i) => this.add(item, items[i] ?? span, text));
    } else this.add(value, span, text);
  }

  private add(value: unknown, span: Span, text: string): void {
    const line = span.line;
    if (value === null || value === undefined) return;
    if (typeof value !== "object" || Array.isArray(value)) {
      this.problem(line, "manifest-skipped", "skipped a document that is not an object");
      return;
    }
    const obj = value as Partial<KubeObject>;
    const missing = !obj.apiVersion
      ? "apiVersion"
      : !obj.kind
      ? "kind"
      : typeof obj.metadata?.name !== "string" || obj.metadata.name === ""
      ? "metadata.name"
      : undefined;
    if (missing) {
      this.problem(line, "manifest-skipped", `skipped an object without "${missing}"`);
      return;
    }
    this.entries.push({ object: obj as KubeObject, line });
    if (span.end > span.start) SOURCES.set(obj, { text, ...span });
  }

  result(): ParsedManifest {
    return {
      entries: this.entries,
      problems: this.problems,
      warnings: this.problems.map(formatLoadProblem),
    };
  }
}

/** The text an object was read from, for {@linkcode fieldLine}: the file's text is shared. */
const SOURCES = new WeakMap<object, Span & { text: string }>();
let lastParsed: { src: Span & { text: string }; doc: Document.Parsed; lc: LineCounter } | undefined;

/**
 * The 1-based line of the node at `path` inside a manifest object (map keys as strings,
 * list indexes as numbers), or of the deepest ancestor that exists; for a map entry, the
 * line of its key. `[]` gives the object's first line. Undefined for objects not read by
 * {@linkcode parseManifestText} (synthesised pods, live objects). The object's text is
 * parsed again on demand: there is no cost unless it is called.
 */
export function fieldLine(obj: KubeObject, path: readonly (string | number)[]): number | undefined {
  const src = SOURCES.get(obj);
  if (!src) return undefined;
  if (lastParsed?.src !== src) {
    const lc = new LineCounter();
    // Indent the first line as in the file, so that an item of a block list parses.
    const text = " ".repeat(Math.max(0, src.col - 1)) + src.text.slice(src.start, src.end);
    const doc = parseDocument(text, { lineCounter: lc, merge: true, prettyErrors: false });
    lastParsed = { src, doc, lc };
  }
  const { doc, lc } = lastParsed;
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const key of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        isScalar(p.key) ? String(p.key.value) === String(key) : false
      );
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === "number") {
      const item = node.items[key];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else break;
  }
  if (offset === undefined) return src.line;
  return src.line + lc.linePos(offset).line - 1;
}

/** A load problem as one line for people: `file:line: message`. */
export function formatLoadProblem(p: LoadProblem): string {
  return `${p.file}${p.line !== undefined ? `:${p.line}` : ""}: ${p.message}`;
}
