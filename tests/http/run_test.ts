import assert from "node:assert/strict";
import type { Logger } from "../../src/log.ts";
import { startHttp } from "../../src/http/run.ts";
import { testServerFactory } from "./_helpers.ts";

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (m: string) => lines.push(m);
  return { lines, debug: rec, info: rec, warn: rec, error: rec };
}

const base = { hostname: "0.0.0.0", port: 0, allowedHosts: [], allowedOrigins: [] };

Deno.test("startHttp() exits 2 with a clear message on 0.0.0.0 without a token", async () => {
  const log = recorder();
  const code = await startHttp(base, { createMcpServer: testServerFactory(), log, env: {} });
  assert.equal(code, 2);
  assert.match(
    log.lines.join("\n"),
    /Refusing to serve HTTP on "0\.0\.0\.0" without a bearer token/,
  );
});

Deno.test("startHttp() exits 2 on a token that is too short or a missing token file", async () => {
  const log = recorder();
  const short = await startHttp(base, {
    createMcpServer: testServerFactory(),
    log,
    env: { LINKERD_MCP_HTTP_TOKEN: "short" },
  });
  assert.equal(short, 2);
  const missing = await startHttp({ ...base, tokenFile: "/nonexistent/token" }, {
    createMcpServer: testServerFactory(),
    log,
    env: {},
  });
  assert.equal(missing, 2);
  assert.match(log.lines.join("\n"), /too short/);
  assert.match(log.lines.join("\n"), /Cannot read the HTTP token file "\/nonexistent\/token"/);
});
