import assert from "node:assert/strict";
import { parseArgs, parseListenAddress, UsageError } from "./args.ts";

Deno.test("parseArgs() serves on the live cluster by default", () => {
  assert.deepEqual(parseArgs([]), { command: { kind: "serve" }, source: { kind: "live" } });
});

Deno.test("parseArgs() reads call with JSON arguments and repeated --manifests", () => {
  const opts = parseArgs([
    "call",
    "list_meshed_services",
    '{"namespace":"emojivoto"}',
    "--manifests",
    "a.yaml",
    "--manifests=dir",
  ]);
  assert.deepEqual(opts.command, {
    kind: "call",
    tool: "list_meshed_services",
    args: { namespace: "emojivoto" },
  });
  assert.deepEqual(opts.source, {
    kind: "manifests",
    paths: ["a.yaml", "dir"],
    sets: [{ name: "manifests", paths: ["a.yaml", "dir"] }],
  });
});

Deno.test("parseArgs() accepts flags before the subcommand and --context", () => {
  const opts = parseArgs(["--context", "kind-dev", "call", "check_mesh_health"]);
  assert.deepEqual(opts.source, { kind: "live", context: "kind-dev" });
  assert.deepEqual(opts.command, { kind: "call", tool: "check_mesh_health", args: {} });
});

Deno.test("parseArgs() rejects bad usage with UsageError", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["call"], /needs a tool name/],
    [["call", "x", "{nope"], /must be a JSON object/],
    [["call", "x", "[1]"], /must be a JSON object/],
    [["call", "x", "{}", "extra"], /extra/],
    [["--demo", "--manifests", "a"], /either --demo or --manifests/],
    [["--demo", "--context", "c"], /live cluster/],
    [["--bogus"], /Unknown option "--bogus"/],
    [["frobnicate"], /Unknown command "frobnicate"/],
    [["--manifests"], /needs a value/],
    [["--format", "xml", "validate"], /--format must be text or json/],
    [["call", "x", "--http", "8080"], /only when serving/],
    [["--http-token-file", "t"], /need --http/],
    [["--http", "99999"], /port must be 1-65535/],
  ];
  for (const [argv, re] of cases) {
    await t.step(argv.join(" "), () => {
      assert.throws(
        () => parseArgs(argv),
        (err: unknown) => err instanceof UsageError && re.test(err.message),
      );
    });
  }
});

Deno.test("parseArgs() reads validate --format json and --http options", () => {
  assert.deepEqual(parseArgs(["validate", "--format", "json", "--demo"]).command, {
    kind: "validate",
    format: "json",
  });
  const opts = parseArgs([
    "--http",
    "0.0.0.0:8080",
    "--http-token-file",
    "/t",
    "--http-token-review",
    "--allowed-host",
    "mcp.example",
  ]);
  assert.deepEqual(opts.http, {
    hostname: "0.0.0.0",
    port: 8080,
    tokenFile: "/t",
    tokenReview: true,
    allowedHosts: ["mcp.example"],
    allowedOrigins: [],
  });
});

Deno.test("parseListenAddress() defaults to loopback and accepts IPv6", () => {
  assert.deepEqual(parseListenAddress("8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListenAddress("[::1]:9000"), { hostname: "::1", port: 9000 });
  assert.throws(() => parseListenAddress("host:"), UsageError);
});

Deno.test("parseArgs() groups --manifests NAME=PATH by cluster, the first named first", () => {
  const opts = parseArgs([
    "--manifests",
    "east=./east",
    "--manifests=west=w.yaml",
    "--manifests",
    "east=more",
    "--manifests",
    "./odd=name.yaml",
  ]);
  assert.deepEqual(opts.source, {
    kind: "manifests",
    paths: ["./east", "w.yaml", "more", "./odd=name.yaml"],
    sets: [
      { name: "east", paths: ["./east", "more"] },
      { name: "west", paths: ["w.yaml"] },
      { name: "manifests", paths: ["./odd=name.yaml"] },
    ],
  });
  assert.throws(() => parseArgs(["--manifests", "east="]), /names no path/);
});
