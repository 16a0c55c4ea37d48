import assert from "node:assert/strict";
import { parseArgs, USAGE } from "../../src/cli/args.ts";

const deployment = Deno.readTextFileSync(
  new URL("../../helm/linkerd-mcp/templates/deployment.yaml", import.meta.url),
);

Deno.test("every flag the Deployment passes is one the command line knows", () => {
  const flags = [...deployment.matchAll(/^\s*- (--[a-z-]+)\s*$/gm)].map((m) => m[1]!);
  assert.ok(flags.includes("--http") && flags.includes("--http-token-file"));
  for (const flag of flags) {
    assert.ok(USAGE.includes(flag), `${flag} is passed by the chart but not in USAGE`);
  }
});

Deno.test("the Deployment's default command line parses", () => {
  const opts = parseArgs([
    "--http",
    "0.0.0.0:8080",
    "--http-token-file",
    "/var/run/secrets/linkerd-mcp/token",
    "--allowed-host",
    "localhost",
    "--allowed-host",
    "linkerd-mcp.linkerd-mcp.svc.cluster.local",
    "--log-level",
    "info",
  ]);
  assert.deepEqual(opts.http, {
    hostname: "0.0.0.0",
    port: 8080,
    tokenFile: "/var/run/secrets/linkerd-mcp/token",
    allowedHosts: ["localhost", "linkerd-mcp.linkerd-mcp.svc.cluster.local"],
    allowedOrigins: [],
  });
});
