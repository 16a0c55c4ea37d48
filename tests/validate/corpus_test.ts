/**
 * The broken-manifest corpus (`tests/fixtures/broken/`, one file per rule, each
 * declaring `# expect: <rule-id>`) must trigger its rule; the clean counterparts
 * (`tests/validate/clean/`, `# clean-for: <rule-id>`) must not, and must hold no error.
 *
 * @module
 */
import assert from "node:assert/strict";
import { RULES_BY_ID } from "../../src/validate/catalogue.ts";
import { findingsFor, ruleIds } from "./_state.ts";

const BROKEN = new URL("../fixtures/broken/", import.meta.url);
const CLEAN = new URL("./clean/", import.meta.url);

function corpus(dir: URL, tag: string): Array<{ file: string; text: string; ids: string[] }> {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".yaml"))
    .map((e) => e.name)
    .sort()
    .map((file) => {
      const text = Deno.readTextFileSync(new URL(file, dir));
      const ids = [...text.matchAll(new RegExp(`^# ${tag}: (\\S+)`, "gm"))].map((m) => m[1]!);
      return { file, text, ids };
    });
}

Deno.test("broken corpus: every file triggers the rules it declares", async (t) => {
  for (const { file, text, ids } of corpus(BROKEN, "expect")) {
    await t.step(file, () => {
      assert.ok(ids.length > 0, `${file} declares no "# expect: <rule-id>"`);
      const found = ruleIds(findingsFor(text, { partial: true }));
      for (const id of ids) {
        assert.ok(found.includes(id), `${file}: ${id} not in ${found.join(", ")}`);
      }
    });
  }
});

Deno.test("clean corpus: near-misses trigger neither their rule nor any error", async (t) => {
  for (const { file, text, ids } of corpus(CLEAN, "clean-for")) {
    await t.step(file, () => {
      const findings = findingsFor(text, { partial: true });
      for (const id of ids) {
        assert.ok(!ruleIds(findings).includes(id), `${file} triggers ${id}`);
      }
      const errors = findings.filter((f) => f.severity === "error");
      assert.deepEqual(errors.map((f) => `${f.rule}: ${f.message}`), []);
    });
  }
});

Deno.test("every rule in the catalogue has a broken and a clean example", () => {
  const broken = new Set(corpus(BROKEN, "expect").flatMap((c) => c.ids));
  const clean = new Set(corpus(CLEAN, "clean-for").flatMap((c) => c.ids));
  const ids = [...RULES_BY_ID.keys()];
  assert.deepEqual(ids.filter((id) => !broken.has(id)), [], "rules without a broken example");
  assert.deepEqual(ids.filter((id) => !clean.has(id)), [], "rules without a clean example");
});

Deno.test("rule ids are unique, kebab-case, with docs links", () => {
  for (const [id, r] of RULES_BY_ID) {
    assert.match(id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.match(r.docs, /^https:\/\/linkerd\.io\/2-edge\//);
    assert.ok(r.summary && r.remediation && r.field, id);
  }
});
