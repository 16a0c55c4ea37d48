/**
 * The README is part of the interface: its Quick start must stay two commands, the
 * test command must be the one CI runs, and the `deno run` configuration it shows must
 * carry exactly the product's permission flags.
 */
import assert from "node:assert/strict";
import { productFlags } from "../scripts/permissions.ts";

const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
const ci = Deno.readTextFileSync(new URL("../.ci/run", import.meta.url));

Deno.test("README quick start is two commands: demo server and tests; CI runs the test one", () => {
  const quick = readme.slice(readme.indexOf("## Quick start"));
  const block = quick.slice(
    quick.indexOf("```sh") + 5,
    quick.indexOf("```", quick.indexOf("```sh") + 5),
  );
  const commands = block.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
  assert.equal(commands.length, 2, block);
  assert.match(commands[0]!, /task demo$/);
  assert.match(commands[1]!, /task test$/);
  const testCommand = commands[1]!.replace("deno@2.9.6", "deno@${DENO_VERSION}");
  assert.ok(
    ci.replaceAll(`"`, "").includes(`${testCommand} 2>&1`),
    `.ci/run does not run "${testCommand}"`,
  );
});

Deno.test("README's deno run configuration uses exactly the product's permission flags", () => {
  const start = readme.indexOf('"deno@2.9.6",\n        "run"');
  assert.ok(start > 0, "README shows the deno run configuration");
  const args = readme.slice(start, readme.indexOf("main.ts", start));
  const shown = [...args.matchAll(/"(--[^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual([...shown].sort(), [...productFlags()].sort());
});
