/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance@0.1.16`)
 * against the Streamable HTTP transport, exactly as shipped (stateless, JSON responses,
 * Host/Origin checks), with the expected failures named in `baseline.yml`.
 *
 * ```
 * deno run -A tests/conformance/run.ts [--verbose] [--keep]
 * ```
 *
 * The suite's own summary line is rewritten ("conformance scenarios — N ok, N not ok")
 * so that it is not mistaken for this repository's test summary. Exits with the
 * suite's exit code: 0 when every failure is expected and nothing expected passes.
 *
 * @module
 */
import { createServer } from "../../src/server.ts";
import { serveHttp } from "../../src/http/serve.ts";
import { SILENT } from "../../src/log.ts";
import { testDeps } from "../_helpers.ts";

const CONFORMANCE = "npm:@modelcontextprotocol/conformance@0.1.16";
const verbose = Deno.args.includes("--verbose");
const baseline = new URL("./baseline.yml", import.meta.url).pathname;

const deps = testDeps([]);
const server = serveHttp({
  createMcpServer: () => createServer(deps),
  hostname: "127.0.0.1",
  port: 0,
  log: SILENT,
});
const url = `http://127.0.0.1:${server.addr.port}/mcp`;

// Run outside the project so the suite's npm dependencies do not enter deno.lock.
const work = await Deno.makeTempDir({ prefix: "linkerd-mcp-conformance-" });
await Deno.writeTextFile(`${work}/deno.json`, JSON.stringify({ nodeModulesDir: "auto" }));
const out = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    CONFORMANCE,
    "server",
    "--url",
    url,
    "--expected-failures",
    baseline,
    "-o",
    `${work}/results`,
  ],
  cwd: work,
  stdout: "piped",
  stderr: "piped",
  env: { NO_COLOR: "1" },
}).output();
await server.shutdown();

const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
const lines: string[] = [];
for (const raw of text.split("\n")) {
  // deno-lint-ignore no-control-regex
  const line = raw.replace(/\x1b\[[0-9;]*m/g, "");
  // "Total: 8 passed, 22 failed" reads like a test-runner summary: rewrite every such line.
  const rewritten = line.replace(
    /(\S+):\s*(\d+) passed, (\d+) failed/g,
    (_, what: string, p: string, f: string) => `${what} — ${p} ok, ${f} not ok`,
  );
  if (verbose || /baseline|unexpected|expected|✗|✓|~|total|error/i.test(line)) {
    lines.push(rewritten);
  }
}
const encoder = new TextEncoder();
Deno.stderr.writeSync(encoder.encode(lines.join("\n") + "\n"));
const keep = Deno.args.includes("--keep");
if (!keep) await Deno.remove(work, { recursive: true }).catch(() => {});
Deno.stderr.writeSync(
  encoder.encode(
    `conformance suite exit code ${out.code}${
      keep ? ` (results in ${work}/results)` : " (pass --keep to keep checks.json)"
    }\n`,
  ),
);
Deno.exit(out.code);
