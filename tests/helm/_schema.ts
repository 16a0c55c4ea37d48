/**
 * A small JSON Schema (draft-07) validator for the keywords values.schema.json uses:
 * type, properties, required, additionalProperties, items, enum, minimum, maximum,
 * minLength, maxLength, pattern and local `$ref`s. An unknown keyword throws, so the
 * test cannot silently ignore a rule it does not understand.
 *
 * @module
 */

type Schema = Record<string, unknown>;

const KNOWN = new Set([
  "$schema",
  "$ref",
  "title",
  "description",
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "definitions",
]);

/** Returns the problems found (empty when `value` is valid). */
export function validate(
  value: unknown,
  schema: Schema,
  root: Schema = schema,
  path = "$",
): string[] {
  for (const k of Object.keys(schema)) {
    if (!KNOWN.has(k)) throw new Error(`Schema keyword "${k}" at ${path} is not supported`);
  }
  if (typeof schema.$ref === "string") {
    const ref = schema.$ref;
    if (!ref.startsWith("#/")) throw new Error(`Only local $ref is supported: ${ref}`);
    let target: unknown = root;
    for (const key of ref.slice(2).split("/")) target = (target as Schema)[key];
    if (!target) throw new Error(`Unresolved $ref ${ref}`);
    return validate(value, target as Schema, root, path);
  }
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => hasType(value, t as string))) {
      return [`${path}: expected ${types.join(" or ")}, got ${JSON.stringify(value)}`];
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      errors.push(`${path}: ${value} < minimum ${schema.minimum}`);
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      errors.push(`${path}: ${value} > maximum ${schema.maximum}`);
    }
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) {
      errors.push(`${path}: shorter than ${schema.minLength}`);
    }
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) {
      errors.push(`${path}: longer than ${schema.maxLength}`);
    }
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) {
      errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((v, i) =>
      errors.push(...validate(v, schema.items as Schema, root, `${path}[${i}]`))
    );
  }
  if (isObject(value)) {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) {
      if (!(r in value)) errors.push(`${path}: missing required "${r}"`);
    }
    for (const [k, v] of Object.entries(value)) {
      if (k in props) errors.push(...validate(v, props[k]!, root, `${path}.${k}`));
      else if (schema.additionalProperties === false) {
        errors.push(`${path}: unknown key "${k}"`);
      } else if (isObject(schema.additionalProperties)) {
        errors.push(...validate(v, schema.additionalProperties, root, `${path}.${k}`));
      }
    }
  }
  return errors;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function hasType(v: unknown, t: string): boolean {
  switch (t) {
    case "object":
      return isObject(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "null":
      return v === null;
    default:
      throw new Error(`Unknown type ${t}`);
  }
}
