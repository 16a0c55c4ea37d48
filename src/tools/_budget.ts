/**
 * Answers within a budget: a tool's default answer (structuredContent and its compact
 * JSON copy in the text block) must fit a model's context, about 8 KB for both. Long
 * lists are paged with an opaque cursor; a default page holds as many of the most
 * useful items as fit {@linkcode PAGE_BYTES}, an explicit `limit` exactly that many.
 *
 * @module
 */
import { z } from "zod";
import { InvalidArgumentError } from "../errors.ts";

/** The budget of one default answer: structuredContent plus the text block, in bytes. */
export const ANSWER_BYTES = 8192;

/**
 * Bytes of JSON a default page's items may take: the text block repeats
 * structuredContent, so half the budget, less room for the counts and notes around it.
 */
export const PAGE_BYTES = 2600;

/** The `limit` argument of a paged tool (absent: a default page that fits the budget). */
export function limitArg(max: number, what: string, defaultMax: number) {
  return z.number().int().min(1).max(max).optional().describe(
    `${what} per page, 1-${max}; default: as many as fit a page of about 8 KB, at most ${defaultMax}, most useful first`,
  );
}

/** The `cursor` argument of a paged tool. */
export function cursorArg() {
  return z.string().max(2048).optional().describe(
    "nextCursor from the previous answer, unchanged, with the same other arguments",
  );
}

/** One page of items, with what the caller needs to get the rest. */
export interface Page<T> {
  items: T[];
  /** Items over all pages. */
  total: number;
  /** Items after this page. */
  omitted: number;
  nextCursor?: string;
}

/** Options for {@linkcode paginate}. */
export interface PaginateOptions {
  /** Tool name, for error messages. */
  tool: string;
  /** What the cursor was issued for (the other arguments): a cursor from another call is refused. */
  filter: string;
  /** Explicit page size; absent: as many as fit `bytes`, at most `defaultMax`. */
  limit?: number | undefined;
  cursor?: string | undefined;
  /** Default page's most items. */
  defaultMax: number;
  /** Default page's byte budget (JSON of the items). Default {@linkcode PAGE_BYTES}. */
  bytes?: number;
  /** A default page's items' size (default: their JSON length). */
  size?: (item: unknown) => number;
}

/**
 * Cuts one page out of `items` (already in their final order, most useful first). A
 * page holds at least one item. The cursor carries the offset and a hash of `filter`.
 *
 * @throws {InvalidArgumentError} when the cursor is malformed or was issued for other arguments.
 */
export function paginate<T>(items: readonly T[], opts: PaginateOptions): Page<T> {
  const start = opts.cursor === undefined ? 0 : decodeCursor(opts.cursor, opts);
  const size = opts.size ?? ((x: unknown) => JSON.stringify(x).length + 1);
  let end: number;
  if (opts.limit !== undefined) {
    end = Math.min(items.length, start + opts.limit);
  } else {
    const bytes = opts.bytes ?? PAGE_BYTES;
    let used = 0;
    end = start;
    while (end < items.length && end - start < opts.defaultMax) {
      const n = size(items[end]);
      if (end > start && used + n > bytes) break;
      used += n;
      end++;
    }
  }
  const page = items.slice(start, end);
  return {
    items: page,
    total: items.length,
    omitted: items.length - end,
    ...(end < items.length ? { nextCursor: encodeCursor(end, opts.filter) } : {}),
  };
}

function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

function encodeCursor(offset: number, filter: string): string {
  return btoa(JSON.stringify({ v: 1, o: offset, f: hash(filter) }))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string, opts: PaginateOptions): number {
  let data: { v?: unknown; o?: unknown; f?: unknown } | undefined;
  try {
    data = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    data = undefined;
  }
  if (
    !data || data.v !== 1 || typeof data.o !== "number" || !Number.isSafeInteger(data.o) ||
    data.o < 0 || typeof data.f !== "string"
  ) {
    throw new InvalidArgumentError(
      `Cursor "${
        cursor.slice(0, 40)
      }" is not valid: pass the nextCursor of a previous ${opts.tool} answer unchanged, or omit cursor to start from the first page`,
    );
  }
  if (data.f !== hash(opts.filter)) {
    throw new InvalidArgumentError(
      `Cursor was issued for different arguments of ${opts.tool}; repeat the call with the same arguments as the call that returned it, or omit cursor to start over`,
    );
  }
  return data.o;
}
