/**
 * Label selectors as Linkerd's policy controller matches them (`k8s/api/src/labels.rs`):
 * `In`/`NotIn` need a `values` list, `Exists`/`DoesNotExist` must have none; any other
 * combination (or an unknown operator) is an illegal expression and matches nothing.
 *
 * @module
 */
import {
  type LabelSelector,
  type LabelSelectorRequirement,
  matchesSelector,
} from "../../kube/selectors.ts";

/** Why an expression is illegal to Linkerd, or `undefined` when it is legal. */
export function illegalExpression(req: LabelSelectorRequirement): string | undefined {
  const hasValues = req.values !== undefined && req.values !== null;
  switch (req.operator) {
    case "In":
    case "NotIn":
      return hasValues ? undefined : `operator ${req.operator} needs a values list`;
    case "Exists":
    case "DoesNotExist":
      return hasValues ? `operator ${req.operator} must not have values` : undefined;
    default:
      return `unknown operator "${req.operator}"`;
  }
}

/** True when `labels` satisfy `selector` as labels.rs decides; an absent selector selects all. */
export function matchesLinkerdSelector(
  selector: LabelSelector | undefined | null,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return true;
  // an illegal expression matches nothing; legal ones mean what Kubernetes says
  if ((selector.matchExpressions ?? []).some((req) => illegalExpression(req) !== undefined)) {
    return false;
  }
  return matchesSelector(selector, labels);
}

/**
 * The selector as a function of the labels, for hot loops: the same answer as
 * {@linkcode matchesLinkerdSelector}, with the selector read once and nothing
 * allocated per call.
 */
export function compileLinkerdSelector(
  selector: LabelSelector | undefined | null,
): (labels: Record<string, string> | undefined) => boolean {
  if (!selector) return () => true;
  const exprs = selector.matchExpressions ?? [];
  if (exprs.some((req) => illegalExpression(req) !== undefined)) return () => false;
  const pairs = Object.entries(selector.matchLabels ?? {});
  const tests = exprs.map((req) => {
    const values = new Set(req.values ?? []);
    const key = req.key;
    switch (req.operator) {
      case "In":
        return (l: Record<string, string>) => Object.hasOwn(l, key) && values.has(l[key]!);
      case "NotIn":
        return (l: Record<string, string>) => !Object.hasOwn(l, key) || !values.has(l[key]!);
      case "Exists":
        return (l: Record<string, string>) => Object.hasOwn(l, key);
      default:
        return (l: Record<string, string>) => !Object.hasOwn(l, key);
    }
  });
  const empty: Record<string, string> = {};
  return (labels) => {
    const l = labels ?? empty;
    for (const t of tests) if (!t(l)) return false;
    for (const [k, v] of pairs) if (l[k] !== v) return false;
    return true;
  };
}
