/**
 * The official MCP conformance suite against the Streamable HTTP transport (in process, and
 * the shipped `--demo --http` command line with a bearer token), with the
 * expected failures named (with reasons) in baseline.yml. Fails when a scenario that
 * passed starts failing, or when an expected failure starts passing.
 */
import assert from "node:assert/strict";

async function suite(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./run.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text.slice(-3000));
  assert.match(text, /Baseline check passed/);
  return text;
}

Deno.test("the MCP conformance suite passes against its baseline", async () => {
  const text = await suite();
  // prompts, resources and completions are offered: their list scenarios really pass
  for (const s of ["prompts-list", "resources-list", "completion-complete", "tools-list"]) {
    assert.match(text, new RegExp(`✓ ${s} — [1-9]`), s);
  }
});

Deno.test("the conformance suite passes against the shipped --http command line with a token", async () => {
  const text = await suite("--cli");
  assert.match(text, /main\.ts --demo --http, bearer token\) exit code 0/);
  assert.match(text, /✓ dns-rebinding-protection — 2 ok/);
});
