import assert from "node:assert/strict";
import { runValidateCommand } from "../../src/cli/validate.ts";
import { setPosition } from "../../src/kube/types.ts";
import { runTool } from "../../src/tools/_spec.ts";
import { validateTools } from "../../src/tools/validate.ts";
import { kindsFor, RESOURCE_TYPES } from "../../src/validate/filters.ts";
import { z } from "zod";
import { objectsFromYaml, testDeps } from "../_helpers.ts";

const BROKEN = new URL("../fixtures/broken/", import.meta.url);
const tool = validateTools()[0]!;

function deps(file: string) {
  const objects = objectsFromYaml(Deno.readTextFileSync(new URL(file, BROKEN)));
  objects.forEach((o, i) => setPosition(o, { file: `broken/${file}`, line: 10 + i }));
  return testDeps(objects);
}

Deno.test("validate_mesh_config keeps the original output shape and adds rule, url, file, line", async () => {
  const out = await runTool(tool, {}, deps("server-port-not-found.yaml"));
  assert.ok(out.ok);
  const data = out.data as Record<string, unknown> & {
    results: Array<
      { resourceType: string; name: string; valid: boolean; issues: Array<Record<string, unknown>> }
    >;
    summary: { errors: number };
  };
  for (const k of ["results", "summary", "totalResources", "validResources"]) {
    assert.ok(k in data, k);
  }
  const srv = data.results.find((r) => r.resourceType === "Server")!;
  assert.equal(srv.valid, false);
  const issue = srv.issues.find((i) => i["rule"] === "server-port-not-found")!;
  assert.equal(issue["code"], "server-port-not-found");
  assert.equal(issue["severity"], "error");
  assert.match(String(issue["url"]), /^https:\/\/linkerd\.io\/2-edge\//);
  assert.equal(issue["file"], "broken/server-port-not-found.yaml");
  assert.equal(typeof issue["line"], "number");
  assert.ok(data.summary.errors >= 1);
});

Deno.test("validate_mesh_config filters by resource_type, resource_name and include_warnings", async () => {
  const d = deps("server-selects-no-pods.yaml");
  const all = await runTool(tool, {}, d);
  const servers = await runTool(tool, { resource_type: "server" }, d);
  const named = await runTool(tool, { resource_type: "all", resource_name: "web-authz" }, d);
  const errorsOnly = await runTool(tool, { include_warnings: false }, d);
  assert.ok(all.ok && servers.ok && named.ok && errorsOnly.ok);
  const types = (
    o: typeof all,
  ) => (o.ok ? (o.data as { results: Array<{ resourceType: string; name: string }> }).results : []);
  assert.ok(types(all).length > types(servers).length);
  assert.ok(types(servers).every((r) => r.resourceType === "Server"));
  assert.deepEqual(types(named).map((r) => r.name), ["web-authz"]);
  const summary = (errorsOnly.data as { summary: { warnings: number; info: number } }).summary;
  assert.equal(summary.warnings + summary.info, 0);
});

Deno.test("validate_mesh_config rejects an unknown resource_type listing the valid ones", async () => {
  // Object.prototype names must not be found in a lookup table either.
  for (const bad of ["deployment-ish", "constructor", "__proto__", "toString", "hasOwnProperty"]) {
    const out = await runTool(tool, { resource_type: bad }, testDeps([]));
    assert.ok(!out.ok, bad);
    assert.match(out.error, /^Invalid arguments for validate_mesh_config: resource_type: /, bad);
    assert.match(out.error, /"authpolicy".*"httproute"/, bad);
    assert.doesNotMatch(out.error, /is not a function|TypeError|undefined/, bad);
  }
});

Deno.test("resource_type is an enum in the tool's input schema", () => {
  const schema = z.object(tool.inputSchema).shape.resource_type;
  assert.deepEqual(schema.unwrap().out.options, [...RESOURCE_TYPES]);
  // as the original server: case-insensitive, "" means all
  assert.equal(schema.parse("Server"), "server");
  assert.equal(schema.parse(""), "all");
  assert.throws(() => schema.parse("constructor"));
  assert.ok(z.toJSONSchema(z.object(tool.inputSchema)).properties?.["resource_type"]);
  const json = z.toJSONSchema(z.object(tool.inputSchema)) as {
    properties: Record<string, { enum?: string[] }>;
  };
  assert.deepEqual(json.properties["resource_type"]!.enum, [...RESOURCE_TYPES]);
});

Deno.test("kindsFor() looks user strings up without touching Object.prototype", () => {
  assert.deepEqual(kindsFor("server"), ["Server"]);
  assert.equal(kindsFor(undefined), undefined);
  assert.equal(kindsFor("ALL"), undefined);
  for (const bad of ["constructor", "__proto__", "valueOf"]) {
    assert.throws(() => kindsFor(bad), /Invalid resource_type ".*": must be one of all, server/);
  }
});

Deno.test("validate_mesh_config is deterministic", async () => {
  const a = await runTool(tool, {}, deps("server-shadowed.yaml"));
  const b = await runTool(tool, {}, deps("server-shadowed.yaml"));
  assert.deepEqual(a, b);
});

Deno.test("runValidateCommand() prints file:line findings and fails on errors", async () => {
  const text = await runValidateCommand(deps("authz-policy-authn-missing.yaml"), {
    format: "text",
  });
  assert.equal(text.exitCode, 1);
  assert.match(
    text.output,
    /^broken\/authz-policy-authn-missing\.yaml:\d+: error \[authz-policy-authn-missing\] AuthorizationPolicy\/web-authz: /m,
  );
  const json = await runValidateCommand(deps("authz-policy-authn-missing.yaml"), {
    format: "json",
  });
  assert.equal(json.exitCode, 1);
  assert.ok(JSON.parse(json.output).summary.errors >= 1);
  const clean = await runValidateCommand(testDeps([]), { format: "text" });
  assert.equal(clean.exitCode, 0);
  assert.match(clean.output, /0 error\(s\)/);
});

Deno.test("src/validate is pure: no I/O, client-node or SDK imports", () => {
  const root = new URL("../../src/validate/", import.meta.url);
  const files: URL[] = [];
  const walk = (dir: URL) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        files.push(new URL(e.name, dir));
      }
    }
  };
  walk(root);
  for (const f of files) {
    const text = Deno.readTextFileSync(f);
    assert.doesNotMatch(
      text,
      /@kubernetes\/client-node|@modelcontextprotocol|Deno\.|fetch\(|console\./,
      f.pathname,
    );
    // The validator queries the policy model (src/policy/model), never tools or the CLI.
    assert.doesNotMatch(text, /from "\.\.\/(\.\.\/)?(tools|cli)\//, f.pathname);
    assert.doesNotMatch(text, /from "[./]*\/kube\/(live|manifests|kubeconfig)\.ts"/, f.pathname);
  }
});

Deno.test("validate_mesh_config restricts results to the namespace argument", async () => {
  const broken = await Deno.readTextFile(new URL("server-no-authorization.yaml", BROKEN));
  const text = broken + "\n---\n" + broken.replaceAll("shop", "other");
  const out = await runTool(tool, { namespace: "other" }, testDeps(objectsFromYaml(text)));
  assert.ok(out.ok);
  const results = (out.data as { results: Array<{ namespace: string; name: string }> }).results;
  assert.ok(results.length > 0);
  assert.ok(results.every((r) => r.namespace === "other" || r.name === "other"));
});
