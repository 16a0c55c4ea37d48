/**
 * Builds the release binaries with `deno compile`, one per platform, embedding the
 * exact permission flags of `deno task start` (read from deno.json, so the binary
 * and `deno run` never drift apart).
 *
 * Usage: deno task compile [--target TRIPLE]...   (default: all five targets)
 *
 * `deno compile` downloads its runtime (denort) from Deno's release host; where that
 * host is unreachable set DENORT_BIN to a local denort binary.
 */
import { compileArgs, RELEASE_TARGETS } from "./permissions.ts";

const requested: string[] = [];
for (let i = 0; i < Deno.args.length; i++) {
  if (Deno.args[i] === "--target" && Deno.args[i + 1]) requested.push(Deno.args[++i]!);
}
const targets = requested.length ? requested : [...RELEASE_TARGETS];
await Deno.mkdir("dist", { recursive: true });
for (const target of targets) {
  const args = compileArgs(target);
  Deno.stderr.writeSync(new TextEncoder().encode(`deno ${args.join(" ")}\n`));
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) Deno.exit(code);
}
