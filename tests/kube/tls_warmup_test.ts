/**
 * `warmUpTlsInBackground` (src/kube/_fetch_http.ts, started by main.ts after the opening):
 * best effort, never an error, and never what keeps the process alive, with or without the
 * network permission.
 */
import assert from "node:assert/strict";

Deno.test("warmUpTlsInBackground neither throws nor keeps the process alive", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/warm.ts`;
    await Deno.writeTextFile(
      script,
      `import { warmUpTlsInBackground } from ${
        JSON.stringify(new URL("../../src/kube/_fetch_http.ts", import.meta.url).href)
      };\nwarmUpTlsInBackground();\nconsole.log("started");\n`,
    );
    const src = new URL("../../src", import.meta.url).pathname;
    for (
      const flags of [["--allow-net", `--allow-read=${dir},${src}`], [`--allow-read=${dir},${src}`]]
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", "--no-prompt", ...flags, script],
        stdout: "piped",
        stderr: "piped",
        // Its own 10 s timer must not hold the process: killed (a failure) past 5 s.
        signal: AbortSignal.timeout(5_000),
      }).output();
      assert.ok(out.success, `${flags.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "started");
      assert.equal(new TextDecoder().decode(out.stderr), "");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
