/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, 0.1.16 by
 * default: the newest release on npm) against the Streamable HTTP transport, exactly as
 * shipped (stateless, JSON responses, Host/Origin checks), with the expected failures
 * named in `baseline.yml`.
 *
 * ```
 * deno run -A tests/conformance/run.ts [--cli] [--version V] [--verbose] [--keep]
 * ```
 *
 * - default: an in-process server (`createServer` + `serveHttp`) over an empty cluster;
 * - `--cli`: the shipped command line, `main.ts --demo --http 127.0.0.1:PORT` with
 *   `LINKERD_MCP_HTTP_TOKEN` set, behind a small local proxy that adds the bearer token
 *   (the suite cannot send headers) and passes every other header, Host and Origin
 *   included, untouched (so dns-rebinding-protection still tests the server);
 * - `--version V`: another release of the suite, e.g. the prerelease `0.2.0-alpha.12`
 *   (its scenarios differ: compare by hand, the baseline is for the default version).
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
import { startFlags } from "../_mcp.ts";
import http from "node:http";

const argv = [...Deno.args];
const versionAt = argv.indexOf("--version");
const VERSION = versionAt >= 0 ? argv[versionAt + 1] ?? "0.1.16" : "0.1.16";
const CONFORMANCE = `npm:@modelcontextprotocol/conformance@${VERSION}`;
const verbose = argv.includes("--verbose");
const cli = argv.includes("--cli");
const baseline = new URL("./baseline.yml", import.meta.url).pathname;

const target = cli ? await startCli() : startInProcess();
const url = target.url;

/** An in-process server over an empty cluster. */
function startInProcess() {
  const deps = testDeps([]);
  const server = serveHttp({
    createMcpServer: () => createServer(deps),
    hostname: "127.0.0.1",
    port: 0,
    log: SILENT,
  });
  return { url: `http://127.0.0.1:${server.addr.port}/mcp`, stop: () => server.shutdown() };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** `main.ts --demo --http` with a token, behind a proxy that adds it. */
async function startCli() {
  const token = crypto.randomUUID();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...startFlags(),
      new URL("../../main.ts", import.meta.url).pathname,
      "--demo",
      "--http",
      `127.0.0.1:${port}`,
    ],
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", LINKERD_MCP_HTTP_TOKEN: token },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/mcp`, { method: "GET" });
      await r.body?.cancel();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const proxy = http.createServer((req, res) => {
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    // The suite's own Host (this proxy) becomes the server's; any other Host is passed on.
    if (headers.host === `127.0.0.1:${proxyPort}`) headers.host = `127.0.0.1:${port}`;
    const up = http.request(
      { host: "127.0.0.1", port, path: req.url, method: req.method, headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
  const proxyPort = (proxy.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${proxyPort}/mcp`,
    stop: async () => {
      proxy.close();
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

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
await target.stop();

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
    `conformance suite ${VERSION} (${
      cli ? "main.ts --demo --http, bearer token" : "in process"
    }) exit code ${out.code}${
      keep ? ` (results in ${work}/results)` : " (pass --keep to keep checks.json)"
    }\n`,
  ),
);
Deno.exit(out.code);
