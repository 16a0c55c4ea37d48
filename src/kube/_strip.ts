/**
 * Cuts `metadata.managedFields` out of an API server's JSON text before it is parsed. The
 * field managers' record is often the larger half of an object (a pod that a controller
 * and a kubelet both wrote carries two), nothing here reads it, and the compactor dropped
 * it after parsing anyway: cutting it from the text first halves what a page of a real
 * cluster allocates when parsed.
 *
 * Only the structural key is cut: `"managedFields":` with both quotes unescaped (inside a
 * JSON string a quote is always escaped), followed by an array, which is skipped with its
 * strings read as strings (their brackets and escaped quotes do not count). Anything else
 * (another shape, malformed text) is left as it is, for the parser to judge.
 *
 * Pure: no I/O.
 *
 * @module
 */

const KEY = '"managedFields":';

/** `text` without any `"managedFields":[...]` member (and its comma). */
export function stripManagedFields(text: string): string {
  let at = text.indexOf(KEY);
  if (at < 0) return text;
  const parts: string[] = [];
  let kept = 0;
  while (at >= 0) {
    const end = escaped(text, at) ? -1 : arrayEnd(text, at + KEY.length);
    if (end < 0) {
      at = text.indexOf(KEY, at + KEY.length);
      continue;
    }
    // The member and one comma: the one before it, else the one after it.
    let from = at;
    let to = end;
    let before = at - 1;
    while (before >= 0 && isSpace(text.charCodeAt(before))) before--;
    let after = end;
    while (after < text.length && isSpace(text.charCodeAt(after))) after++;
    if (text[before] === ",") from = before;
    else if (text[after] === ",") to = after + 1;
    parts.push(text.slice(kept, from));
    kept = to;
    at = text.indexOf(KEY, to);
  }
  if (kept === 0) return text;
  parts.push(text.slice(kept));
  return parts.join("");
}

/** JSON whitespace: space, tab, CR, LF. */
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** Whether the quote at `at` is escaped (an odd run of backslashes before it). */
function escaped(text: string, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && text.charCodeAt(i) === 92; i--) n++;
  return n % 2 === 1;
}

const STRUCTURE = /["[\]]/g;

/**
 * The index just past the array that starts at `start` (after optional whitespace), or -1
 * when there is no array there or it does not end.
 */
function arrayEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  if (text[i] !== "[") return -1;
  let depth = 0;
  STRUCTURE.lastIndex = i;
  for (let m = STRUCTURE.exec(text); m; m = STRUCTURE.exec(text)) {
    const c = m[0];
    if (c === '"') {
      // Skip the string: to the next unescaped quote.
      let q = m.index;
      do q = text.indexOf('"', q + 1); while (q > 0 && escaped(text, q));
      if (q < 0) return -1;
      STRUCTURE.lastIndex = q + 1;
    } else if (c === "[") depth++;
    else if (--depth === 0) return m.index + 1;
  }
  return -1;
}
