/**
 * Kubernetes objects from manifest text: multi-document YAML, JSON, and `List` kinds
 * (`kubectl get -o yaml` dumps), each with the line it starts on.
 *
 * @module
 */
import { isMap, isSeq, LineCounter, parseAllDocuments } from "yaml";
import { ManifestError } from "../errors.ts";
import type { KubeObject } from "./types.ts";

/** One object read from a manifest, with its 1-based start line. */
export interface ManifestEntry {
  object: KubeObject;
  line: number;
}

/** What {@linkcode parseManifestText} found. */
export interface ParsedManifest {
  /** Objects with `apiVersion`, `kind` and `metadata.name`, in document order. */
  entries: ManifestEntry[];
  /** Documents that were skipped, as `file:line: reason`. */
  warnings: string[];
}

/**
 * Parses manifest text. Empty documents are ignored; documents that are not objects or
 * lack `apiVersion`, `kind` or `metadata.name` are skipped with a warning. `List` kinds
 * are expanded into their items.
 *
 * @param file Names the text in errors and warnings.
 * @throws {ManifestError} when the text is not valid YAML or JSON, naming the file and line.
 */
export function parseManifestText(text: string, file: string): ParsedManifest {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: false });
  if (!Array.isArray(docs)) return { entries: [], warnings: [] };
  const lineOf = (offset: number | undefined) => lineCounter.linePos(offset ?? 0).line;
  const entries: ManifestEntry[] = [];
  const warnings: string[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const line = lineOf(err.pos[0]);
      const json = file.endsWith(".json") ? tryJson(text) : undefined;
      if (json !== undefined) {
        // JSON that YAML rejects (tabs used as indentation): no per-object lines
        return collect([{ value: json, line: 1, items: [] }], file);
      }
      const reason = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      throw new ManifestError(`Cannot parse manifest "${file}" at line ${line}: ${reason}`, {
        file,
        line,
        cause: err,
      });
    }
    const contents = doc.contents;
    if (contents === null) continue;
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    const items: number[] = [];
    if (isMap(contents)) {
      const seq = contents.get("items", true);
      if (isSeq(seq)) { for (const item of seq.items) items.push(lineOf(rangeStart(item))); }
    }
    const result = collect([{ value, line: lineOf(contents.range?.[0]), items }], file);
    entries.push(...result.entries);
    warnings.push(...result.warnings);
  }
  return { entries, warnings };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function collect(
  docs: Array<{ value: unknown; line: number; items: number[] }>,
  file: string,
): ParsedManifest {
  const entries: ManifestEntry[] = [];
  const warnings: string[] = [];
  const add = (value: unknown, line: number) => {
    if (value === null || value === undefined) return;
    if (typeof value !== "object" || Array.isArray(value)) {
      warnings.push(`${file}:${line}: skipped a document that is not an object`);
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
      warnings.push(`${file}:${line}: skipped an object without "${missing}"`);
      return;
    }
    entries.push({ object: obj as KubeObject, line });
  };
  for (const doc of docs) {
    const v = doc.value as Record<string, unknown> | null;
    const isList = v && typeof v === "object" && typeof v["kind"] === "string" &&
      (v["kind"] as string).endsWith("List") && Array.isArray(v["items"]);
    if (isList) {
      (v["items"] as unknown[]).forEach((item, i) => add(item, doc.items[i] ?? doc.line));
    } else add(doc.value, doc.line);
  }
  return { entries, warnings };
}
