/**
 * The validator's data types: rules are data (id, severity, docs) plus one pure
 * check function over a {@linkcode ValidationContext}.
 *
 * @module
 */
import type { KubeObject } from "../kube/types.ts";
import type { ValidationContext } from "./context.ts";

/** How bad a finding is. */
export type Severity =
  /** Traffic or configuration breaks. */
  | "error"
  /** Risky or surprising; may break traffic depending on what is not visible. */
  | "warning"
  /** Advice. */
  | "info";

/** What a rule is, independent of any cluster. */
export interface RuleMeta {
  /** Stable kebab-case id (a public interface: never rename). */
  id: string;
  severity: Severity;
  /** The kind of resource the rule reports on (`Server`, `Workload`, ...). */
  kind: string;
  /** The field the rule checks, as a path. */
  field: string;
  /** One line: what the rule catches. */
  summary: string;
  /** What to do about it, unless the finding says something more specific. */
  remediation: string;
  /** Linkerd docs page. */
  docs: string;
}

/** One thing a check found. */
export interface Hit {
  /** The object the finding is reported on. */
  obj: KubeObject;
  message: string;
  field?: string;
  remediation?: string;
  /**
   * The finding rests on an object being absent, and the view may not hold every
   * object (a manifests set without the Namespace). It is then reported under
   * `unresolved-in-manifests` as a warning.
   */
  unresolved?: boolean;
}

/** A rule: metadata plus a pure check. */
export interface Rule extends RuleMeta {
  check(ctx: ValidationContext): Hit[];
}

/** A finding as reported. */
export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  field: string;
  remediation: string;
  url: string;
  object: KubeObject;
}
