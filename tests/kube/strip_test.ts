/**
 * `stripManagedFields` (src/kube/_strip.ts): the text of a list without the field managers'
 * record parses to the same objects, minus `metadata.managedFields`, whatever the strings
 * around it hold.
 */
import assert from "node:assert/strict";
import { stripManagedFields } from "../../src/kube/_strip.ts";
import { MANAGED_FIELDS } from "../support/managed_fields.ts";

const MANAGED = MANAGED_FIELDS;

function without(o: Record<string, unknown>): Record<string, unknown> {
  const { managedFields: _m, ...meta } = o["metadata"] as Record<string, unknown>;
  return { ...o, metadata: meta };
}

Deno.test("stripManagedFields: first, middle, last and only member; every item of a list", () => {
  const items = [
    { metadata: { managedFields: MANAGED, name: "first" }, spec: { a: [1, [2]] } },
    { metadata: { name: "middle", managedFields: MANAGED, uid: "u" } },
    { metadata: { name: "last", managedFields: MANAGED } },
    { metadata: { managedFields: MANAGED } },
  ];
  for (const space of [undefined, 2]) {
    const text = JSON.stringify({ kind: "PodList", items }, null, space);
    const stripped = stripManagedFields(text);
    assert.ok(!stripped.includes("managedFields"), stripped.slice(0, 200));
    assert.deepEqual(JSON.parse(stripped), {
      kind: "PodList",
      items: items.map((o) => without(o)),
    });
    assert.ok(stripped.length < text.length / 2);
  }
});

Deno.test("stripManagedFields: the key inside a string, another shape, or broken text is left alone", () => {
  const inString = JSON.stringify({
    metadata: {
      name: "x",
      annotations: {
        "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({
          metadata: { managedFields: [{ manager: "m" }] },
        }),
        note: "ends with a backslash \\",
      },
    },
  });
  assert.equal(stripManagedFields(inString), inString);
  const notArray = JSON.stringify({ metadata: { managedFields: { a: 1 }, name: "x" } });
  assert.equal(stripManagedFields(notArray), notArray);
  const unterminated = '{"metadata":{"managedFields":[{"manager":"m"';
  assert.equal(stripManagedFields(unterminated), unterminated);
  const none = JSON.stringify({ items: [{ metadata: { name: "a" } }] });
  assert.equal(stripManagedFields(none), none);
});

Deno.test("stripManagedFields: random objects parse to the same, minus managedFields", () => {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const chars = ['"', "\\", "[", "]", "{", "}", ",", ":", "a", " ", "\n", "é", "managedFields"];
  const str = () =>
    Array.from({ length: Math.floor(rand() * 8) }, () => chars[Math.floor(rand() * chars.length)])
      .join("");
  const value = (depth: number): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.3) return str();
    if (r < 0.4) return Math.floor(rand() * 100);
    if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    return Object.fromEntries(
      Array.from({ length: Math.floor(rand() * 4) }, () => [str(), value(depth + 1)]),
    );
  };
  for (let n = 0; n < 500; n++) {
    const meta: Record<string, unknown> = { name: str(), labels: value(1) };
    if (rand() < 0.7) meta["managedFields"] = [value(1), value(1)];
    const obj = { metadata: meta, spec: value(0), status: { note: str() } };
    const text = JSON.stringify({ items: [obj, obj] }, null, n % 2 ? 1 : undefined);
    assert.deepEqual(JSON.parse(stripManagedFields(text)), { items: [without(obj), without(obj)] });
  }
});
