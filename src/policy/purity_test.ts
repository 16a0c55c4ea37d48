import assert from "node:assert/strict";

Deno.test("src/policy imports no I/O: no live source, client-node or MCP SDK", () => {
  const dir = new URL("./", import.meta.url);
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.name.endsWith(".ts") || entry.name.endsWith("_test.ts")) continue;
    const text = Deno.readTextFileSync(new URL(entry.name, dir));
    const imports = [...text.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]!);
    for (const spec of imports) {
      assert.ok(
        !/kube\/live|client-node|modelcontextprotocol|kube\/manifests/.test(spec),
        `${entry.name} imports ${spec}`,
      );
    }
    assert.ok(!/\bDeno\.|console\./.test(text), `${entry.name} uses Deno or console`);
  }
});
