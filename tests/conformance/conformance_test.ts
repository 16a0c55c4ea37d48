/**
 * The official MCP conformance suite against the Streamable HTTP transport, with the
 * expected failures named (with reasons) in baseline.yml. Fails when a scenario that
 * passed starts failing, or when an expected failure starts passing.
 */
import assert from "node:assert/strict";

Deno.test("the MCP conformance suite passes against its baseline", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./run.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text.slice(-3000));
  assert.match(text, /Baseline check passed/);
});
