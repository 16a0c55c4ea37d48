/**
 * PromQL parsing for tests, with Prometheus's own Lezer grammar.
 *
 * @module
 */
import { parser } from "@prometheus-io/lezer-promql";

/** Error nodes in the parse of `promql` (0 when it parses cleanly). */
export function parseErrors(promql: string): number {
  let errors = 0;
  parser.parse(promql).iterate({
    enter(n) {
      if (n.type.isError) errors++;
    },
  });
  return errors;
}

/** The tree's node names in order, without positions (the query's structure). */
export function shape(promql: string): string {
  const names: string[] = [];
  parser.parse(promql).iterate({
    enter(n) {
      names.push(n.type.name);
    },
  });
  return names.join(" ");
}

/** The text of every string literal in the query. */
export function stringLiterals(promql: string): string[] {
  const out: string[] = [];
  parser.parse(promql).iterate({
    enter(n) {
      if (n.type.name === "StringLiteral") out.push(promql.slice(n.from, n.to));
    },
  });
  return out;
}

/** Values a caller might send to break out of a label matcher. */
export const HOSTILE = [
  'x"}) or vector(1) or foo{a="',
  '"}',
  'a"b',
  "a\\",
  'a\\"} or vector(1) #',
  "{}",
  "}",
  "web\nor vector(1)",
  "web\r\n",
  "web\u2028x",
  "tab\there",
  "ümlaut",
  "emoji-🙂",
  "\u202eevil",
  "zero\u200bwidth",
  "nul\u0000byte",
  "`backtick`",
  "'single'",
  'a=~".*"',
  'web,namespace="kube-system"',
  "x".repeat(10_000),
  "Web",
  "-web",
  "web-",
  "a..b",
  "",
];
