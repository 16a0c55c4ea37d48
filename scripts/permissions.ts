/**
 * The Deno permission flags of the product, read from `deno task start` in deno.json:
 * one place for `deno run`, the compiled binaries and the bundle check.
 *
 * @module
 */

/** The platforms release binaries are built for. */
export const RELEASE_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** The permission flags of `deno task start`. */
export function productFlags(): string[] {
  const cfg = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  const words = String(cfg.tasks.start).split(/\s+/);
  return words.filter((w) => w.startsWith("--"));
}

/** `deno compile` arguments for one target. */
export function compileArgs(target: string): string[] {
  const ext = target.includes("windows") ? ".exe" : "";
  return [
    "compile",
    ...productFlags(),
    "--target",
    target,
    "--output",
    `dist/linkerd-mcp-${target}${ext}`,
    "main.ts",
  ];
}
