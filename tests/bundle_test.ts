/**
 * `deno compile` cannot fetch its runtime on our machines, so the compiled program is
 * proven through `deno bundle`: the single-file bundle runs under exactly the
 * permission flags the binaries are compiled with, from an empty module cache, and
 * completes MCP initialize, tools/list and a tool call on the embedded demo mesh.
 */
import assert from "node:assert/strict";
import { productFlags } from "../scripts/permissions.ts";
import { connectSubprocess } from "./_mcp.ts";

Deno.test({
  name: "the bundle serves MCP under the compiled binary's permission flags",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const emptyCache = await Deno.makeTempDir();
    try {
      const bundle = `${dir}/linkerd-mcp.js`;
      const cfg = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
      const bundleArgs = String(cfg.tasks.bundle).split(/\s+/).slice(1);
      const oIndex = bundleArgs.indexOf("-o");
      bundleArgs[oIndex + 1] = bundle;
      const built = await new Deno.Command(Deno.execPath(), {
        args: bundleArgs,
        cwd: new URL("..", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));

      const conn = await connectSubprocess(["--demo"], { DENO_DIR: emptyCache }, {
        entry: bundle,
        flags: productFlags(),
      });
      try {
        const { tools } = await conn.client.listTools();
        assert.ok(tools.length >= 11, `bundle lists ${tools.length} tools`);
        const res = await conn.client.callTool({ name: "list_meshed_services", arguments: {} }) as {
          isError?: boolean;
          structuredContent?: { services?: unknown[] };
        };
        assert.notEqual(res.isError, true);
        assert.ok(
          (res.structuredContent?.services?.length ?? 0) > 0,
          "demo mesh carried in the bundle",
        );
      } finally {
        await conn.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(emptyCache, { recursive: true });
    }
  },
});

Deno.test("compile and start use one set of permission flags", async () => {
  const { compileArgs, RELEASE_TARGETS } = await import("../scripts/permissions.ts");
  assert.equal(RELEASE_TARGETS.length, 5);
  for (const target of RELEASE_TARGETS) {
    const args = compileArgs(target);
    for (const flag of productFlags()) assert.ok(args.includes(flag), `${target} lacks ${flag}`);
    assert.ok(args.includes(target));
  }
  const cfg = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const demoFlags = String(cfg.tasks.demo).split(/\s+/).filter((w: string) => w.startsWith("--"));
  assert.deepEqual(demoFlags.filter((f: string) => f !== "--demo"), productFlags());
});
