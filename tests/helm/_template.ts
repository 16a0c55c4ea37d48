/**
 * A deliberately small renderer for the subset of Go templates the chart's RBAC
 * templates use, so the tests can read the rules without helm: comments, `if`/`else`/
 * `end` with `.Values.x`, `not`, `and`, `or`, `eq`, whitespace trimming (`{{-`, `-}}`),
 * `.Values.x` and `toJson .Values.x` output. Anything else (include, printf, …) renders
 * as a placeholder, or as an indented placeholder map entry when piped to `nindent`.
 * Unknown control actions throw, so the tests notice when a template outgrows this.
 *
 * @module
 */

type Values = Record<string, unknown>;

const ACTION = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;

/** Renders `text` with `values` (the chart's values merged with overrides). */
export function render(text: string, values: Values): string {
  // Tokenize into text and actions, applying whitespace trimming.
  const tokens: ({ text: string } | { action: string })[] = [];
  let last = 0;
  let trimNext = false;
  for (const m of text.matchAll(ACTION)) {
    let t = text.slice(last, m.index);
    if (trimNext) t = t.replace(/^\s+/, "");
    if (m[1] === "-") t = t.replace(/\s+$/, "");
    tokens.push({ text: t });
    tokens.push({ action: m[2]! });
    trimNext = m[3] === "-";
    last = m.index! + m[0].length;
  }
  let tail = text.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, "");
  tokens.push({ text: tail });

  const out: string[] = [];
  const stack: { active: boolean; parentActive: boolean; taken: boolean }[] = [];
  const active = () => stack.every((s) => s.active);
  for (const tok of tokens) {
    if ("text" in tok) {
      if (active()) out.push(tok.text);
      continue;
    }
    const a = tok.action;
    if (a.startsWith("/*")) continue;
    if (a.startsWith("if ")) {
      const parentActive = active();
      const cond = parentActive && truthy(evaluate(a.slice(3), values));
      stack.push({ active: cond, parentActive, taken: cond });
    } else if (a === "else") {
      const top = stack.at(-1);
      if (!top) throw new Error("else without if");
      top.active = !top.taken && top.parentActive;
      top.taken = true;
    } else if (a === "end") {
      if (!stack.pop()) throw new Error("end without if");
    } else if (/^(range|with|define|block|template)\b/.test(a)) {
      throw new Error(`Unsupported template action in an RBAC template: {{ ${a} }}`);
    } else if (active()) {
      out.push(output(a, values));
    }
  }
  if (stack.length) throw new Error("if without end");
  return out.join("");
}

function output(expr: string, values: Values): string {
  const nindent = /\|\s*nindent\s+(\d+)\s*$/.exec(expr);
  if (nindent) return "\n" + " ".repeat(Number(nindent[1])) + "placeholder: x";
  if (expr.startsWith("toJson ")) return JSON.stringify(evaluate(expr.slice(7), values));
  if (/^\.Values(\.\w+)+$/.test(expr)) return String(evaluate(expr, values));
  return "placeholder";
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === "object") return Object.keys(v).length > 0;
  return Boolean(v);
}

/** Evaluates a prefix expression: `.Values.a.b`, `"str"`, `not X`, `and X Y`, `or X Y`, `eq X Y`. */
function evaluate(expr: string, values: Values): unknown {
  const parts = expr.trim().match(/"[^"]*"|\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const next = (): unknown => {
    const p = parts[i++];
    if (p === undefined) throw new Error(`Incomplete expression: ${expr}`);
    if (p === "(") {
      const v = next();
      if (parts[i++] !== ")") throw new Error(`Missing ) in: ${expr}`);
      return v;
    }
    if (p.startsWith('"')) return p.slice(1, -1);
    if (p === "true" || p === "false") return p === "true";
    if (p === "not") return !truthy(next());
    if (p === "and") return [next(), next()].every(truthy);
    if (p === "or") return [next(), next()].some(truthy);
    if (p === "eq") return next() === next();
    if (p.startsWith(".Values")) {
      let v: unknown = values;
      for (const key of p.split(".").slice(2)) {
        v = v && typeof v === "object" ? (v as Values)[key] : undefined;
      }
      return v;
    }
    throw new Error(`Unsupported template expression: ${expr}`);
  };
  const v = next();
  if (i !== parts.length) throw new Error(`Unsupported template expression: ${expr}`);
  return v;
}
