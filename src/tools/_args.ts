/**
 * Argument schemas shared by the tools, so that `namespace`, `service` and
 * `time_range` mean and check the same thing everywhere.
 *
 * Convention: arguments are snake_case, output fields camelCase. Where a public
 * argument was camelCase, the tool keeps it as a deprecated alias beside the snake_case
 * name ({@linkcode deprecatedAlias}, {@linkcode pickAlias}).
 *
 * @module
 */
import { z } from "zod";
import { InvalidArgumentError } from "../errors.ts";
import { type NameKind, validateName } from "../metrics/labels.ts";

/** A string checked as a Kubernetes name of `kind` (the message names `field`). */
function kubeName(kind: NameKind, field: string): z.ZodString {
  return z.string().superRefine((value, ctx) => {
    try {
      validateName(value, kind, field);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      ctx.addIssue({ code: "custom", message: err.message });
    }
  });
}

/** A Kubernetes namespace (DNS-1123 label), e.g. `emojivoto`. */
export function namespaceArg(
  description = 'Kubernetes namespace, e.g. "emojivoto"',
  field = "namespace",
): z.ZodString {
  return kubeName("namespace", field).describe(description);
}

/** A Kubernetes Service name (DNS-1035 label), e.g. `web-svc`. */
export function serviceArg(
  description = 'Kubernetes Service name, e.g. "web-svc"',
  field = "service",
): z.ZodString {
  return kubeName("service", field).describe(description);
}

/** The window a metrics answer aggregates over: a Prometheus duration (checked by the tool). */
export function timeRangeArg(defaultWindow = "5m"): z.ZodDefault<z.ZodString> {
  return z.string().default(defaultWindow).describe(
    `Window to aggregate over, a Prometheus duration from 1m to 30d, e.g. "5m", "1h", "24h", "7d". Default: ${defaultWindow}`,
  );
}

/** A deprecated camelCase alias of a snake_case argument: same schema, optional, said so. */
export function deprecatedAlias<T extends z.ZodType>(schema: T, replacement: string) {
  return schema.optional().describe(`Deprecated: use ${replacement} (same meaning)`);
}

/**
 * The value of an argument given under its snake_case name or its deprecated alias.
 *
 * @throws {InvalidArgumentError} when both are given with different values
 */
export function pickAlias<T>(
  name: string,
  value: T | undefined,
  alias: string,
  aliasValue: T | undefined,
): T | undefined {
  if (value !== undefined && aliasValue !== undefined && value !== aliasValue) {
    throw new InvalidArgumentError(
      `Cannot use both ${name} and ${alias} with different values: ${alias} is the deprecated name of ${name}; pass only ${name}`,
    );
  }
  return value ?? aliasValue;
}
