/**
 * The server as Claude Desktop runs it: a subprocess speaking MCP over stdio,
 * launched with exactly the permission flags of `deno task start`.
 */
import assert from "node:assert/strict";
import { connectSubprocess, denoDir, startFlags } from "./_mcp.ts";

type CallResult = { isError?: boolean; structuredContent?: Record<string, unknown> };

Deno.test("stdio server on the demo mesh answers tools/list and tools/call", async () => {
  const conn = await connectSubprocess(["--demo"]);
  try {
    const { tools } = await conn.client.listTools();
    assert.ok(tools.some((t) => t.name === "analyze_connectivity"));
    const res = await conn.client.callTool({
      name: "check_mesh_health",
      arguments: {},
    }) as CallResult;
    assert.notEqual(res.isError, true);
    assert.equal(res.structuredContent?.["healthy"], true);
    assert.match(conn.client.getInstructions() ?? "", /demo/i);
  } finally {
    await conn.close();
  }
});

Deno.test("stdio server without any kubeconfig falls back to the demo mesh and says so", async () => {
  const home = await Deno.makeTempDir();
  try {
    const conn = await connectSubprocess([], { HOME: home });
    try {
      assert.match(conn.client.getInstructions() ?? "", /DEMO mesh, not a real cluster/);
      const { tools } = await conn.client.listTools();
      assert.ok(tools.length >= 11);
    } finally {
      await conn.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/** Runs main.ts with the start task's flags and a closed stdin. */
async function runMain(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...startFlags(), new URL("../main.ts", import.meta.url).pathname, ...args],
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_DIR: denoDir(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("a named kubeconfig that is missing or unusable is an error that says what to do, never the demo", async () => {
  const home = await Deno.makeTempDir();
  try {
    const cases: [string[], Record<string, string>][] = [
      [[], { HOME: home, KUBECONFIG: `${home}/does-not-exist` }],
      [["--kubeconfig", `${home}/does-not-exist`], { HOME: home }],
      [[], { HOME: home, KUBECONFIG: home }], // a directory
      [["--context", "prod"], { HOME: home }], // a context asked for, no kubeconfig at all
    ];
    for (const [args, env] of cases) {
      const res = await runMain(args, env);
      const what = `${args.join(" ")} ${JSON.stringify(env)}`;
      assert.equal(res.code, 2, `${what}: ${res.stderr}`);
      assert.equal(res.stdout, "", what);
      assert.match(res.stderr, /kubeconfig/i, what);
      assert.match(res.stderr, /--demo/, what);
      assert.doesNotMatch(res.stderr, /DEMO mesh|\n\s+at /, what);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("with nothing configured every answer says it comes from the demo mesh", async () => {
  const home = await Deno.makeTempDir();
  try {
    const conn = await connectSubprocess([], { HOME: home });
    try {
      const res = await conn.client.callTool({
        name: "list_meshed_services",
        arguments: {},
      }) as CallResult & { content: { text?: string }[] };
      assert.notEqual(res.isError, true);
      const source = res.structuredContent?.["dataSource"] as { kind?: string };
      assert.equal(source.kind, "demo");
      assert.match(res.content.map((c) => c.text).join("\n"), /DEMO mesh/);
    } finally {
      await conn.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
