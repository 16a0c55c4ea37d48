/**
 * Kubernetes label selectors: structured (`matchLabels`/`matchExpressions`),
 * Service-style maps, and the string form used in list requests.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";

/** One `matchExpressions` requirement. */
export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | string;
  values?: string[];
}

/** A `metav1.LabelSelector`. */
export interface LabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirement[] | null;
}

/**
 * True when `labels` satisfy `selector`. An empty selector selects everything, as
 * Kubernetes (and Linkerd's `podSelector: {}`) define it. An unknown operator selects nothing.
 */
export function matchesSelector(
  selector: LabelSelector | undefined | null,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
        if (!has || !values.includes(l[req.key]!)) return false;
        break;
      case "NotIn":
        if (has && values.includes(l[req.key]!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * True when a Service's `spec.selector` map selects `labels`. A Service with no
 * selector (or an empty one) selects no pods: its endpoints are managed by hand.
 */
export function serviceSelects(
  selector: Record<string, string> | undefined | null,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  const l = labels ?? {};
  return Object.entries(selector).every(([k, v]) => l[k] === v);
}

/**
 * Parses the string form of a label selector (`a=b,c!=d,e in (x,y),!f,g`), with the API
 * server's meaning: every requirement must hold (`a=b,a=c` selects nothing); `!=` and
 * `notin` also select objects without the label; `in`/`notin` need at least one value.
 *
 * @throws {InvalidArgumentError} when the selector is malformed.
 */
export function parseSelector(text: string): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  const parts = splitTopLevel(text.trim());
  for (const raw of parts) {
    const part = raw.trim();
    if (!part) continue;
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const values = m[3]!.split(",").map((s) => s.trim());
      if (values.some((v) => !/^[\w.-]+$/.test(v))) {
        throw new InvalidArgumentError(
          `Cannot parse label selector "${text}": "${part}" needs one or more values`,
        );
      }
      matchExpressions.push({
        key: m[1]!,
        operator: m[2] === "in" ? "In" : "NotIn",
        values,
      });
    } else if ((m = part.match(/^([\w./-]+)\s*!=\s*([\w.-]*)$/))) {
      matchExpressions.push({ key: m[1]!, operator: "NotIn", values: [m[2]!] });
    } else if ((m = part.match(/^([\w./-]+)\s*==?\s*([\w.-]*)$/))) {
      // A second requirement on the same key must hold too (`a=b,a=c` selects nothing).
      if (Object.hasOwn(matchLabels, m[1]!)) {
        matchExpressions.push({ key: m[1]!, operator: "In", values: [m[2]!] });
      } else matchLabels[m[1]!] = m[2]!;
    } else if ((m = part.match(/^!\s*([\w./-]+)$/))) {
      matchExpressions.push({ key: m[1]!, operator: "DoesNotExist" });
    } else if ((m = part.match(/^([\w./-]+)$/))) {
      matchExpressions.push({ key: m[1]!, operator: "Exists" });
    } else {
      throw new InvalidArgumentError(`Cannot parse label selector "${text}": unexpected "${part}"`);
    }
  }
  return { matchLabels, matchExpressions };
}

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
