/** The write tools: listed only with writes enabled, refused otherwise, read-only on the demo. */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { createDemoSource } from "../../src/demo/mod.ts";
import { SILENT } from "../../src/log.ts";
import { toolListing } from "../../src/server.ts";
import { resultSchema, runTool, type ToolDeps, type ToolOutcome } from "../../src/tools/_spec.ts";
import { allTools } from "../../src/tools/mod.ts";
import { type AuditFindings, WRITE_TOOL_NAMES, writeTools } from "../../src/tools/writes.ts";
import { connectInProcess } from "../_mcp.ts";
import { NO_PROMETHEUS } from "../_helpers.ts";

function demoDeps(env: Record<string, string> = {}): ToolDeps {
  return {
    cluster: createDemoSource(),
    config: loadConfig(env),
    prom: NO_PROMETHEUS,
    log: SILENT,
    now: () => new Date("2026-12-01T09:00:00Z"),
  };
}

Deno.test("write tools are listed only with writes enabled, with honest annotations", () => {
  const names = (l: { name: string }[]) => l.map((t) => t.name);
  for (const n of WRITE_TOOL_NAMES) {
    assert.ok(!names(toolListing(false)).includes(n), `${n} listed without --allow-writes`);
    assert.ok(!names(allTools()).includes(n));
    assert.ok(names(toolListing(true)).includes(n), `${n} not listed with --allow-writes`);
  }
  const ann = Object.fromEntries(toolListing(true).map((t) => [t.name, t.annotations]));
  assert.equal(ann["apply_policies"]!["readOnlyHint"], false);
  assert.equal(ann["apply_policies"]!["destructiveHint"], false);
  assert.equal(ann["enforce_policies"]!["destructiveHint"], true);
  assert.equal(ann["rollback_policies"]!["destructiveHint"], true);
  assert.equal(ann["rollback_policies"]!["readOnlyHint"], false);
});

Deno.test("--allow-writes and LINKERD_MCP_ALLOW_WRITES enable writes; anything else does not", () => {
  assert.equal(parseArgs(["--allow-writes"]).allowWrites, true);
  assert.equal(parseArgs([]).allowWrites, undefined);
  assert.equal(loadConfig({ LINKERD_MCP_ALLOW_WRITES: "1" }).allowWrites, true);
  assert.equal(loadConfig({ LINKERD_MCP_ALLOW_WRITES: "true" }).allowWrites, true);
  assert.equal(loadConfig({ LINKERD_MCP_ALLOW_WRITES: "0" }).allowWrites, undefined);
  assert.equal(loadConfig({}).allowWrites, undefined);
  assert.throws(() => loadConfig({ LINKERD_MCP_ALLOW_WRITES: "yes please" }), /must be 1/);
});

Deno.test("over MCP: without writes the tools are absent and a direct call is refused clearly", async () => {
  const c = await connectInProcess(demoDeps());
  try {
    const { tools } = await c.client.listTools();
    assert.ok(!tools.some((t) => t.name === "apply_policies"));
    const res = await c.client.callTool({ name: "apply_policies", arguments: { yaml: "x" } });
    assert.equal(res.isError, true);
    const text = (res.content as { text: string }[])[0]!.text;
    assert.match(text, /--allow-writes/);
    assert.match(text, /Nothing was changed/);
  } finally {
    await c.close();
  }
  const w = await connectInProcess(demoDeps({ LINKERD_MCP_ALLOW_WRITES: "1" }));
  try {
    const { tools } = await w.client.listTools();
    for (const n of WRITE_TOOL_NAMES) assert.ok(tools.some((t) => t.name === n), n);
  } finally {
    await w.close();
  }
});

const NEW_AUTHZ = `apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: webapp-clients, namespace: booksapp}
spec: {identities: ["traffic.booksapp.serviceaccount.identity.linkerd.cluster.local"]}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: webapp-server, namespace: booksapp}
spec:
  podSelector: {matchLabels: {app: webapp, project: booksapp}}
  port: service
  proxyProtocol: HTTP/1
  accessPolicy: deny
`;

const tool = (name: string, opts = {}) => writeTools(opts).find((t) => t.name === name)!;

/** Every successful answer matches the output schema the server advertises. */
function conforms(name: string, out: ToolOutcome<unknown>): void {
  if (!out.ok) return;
  const parsed = resultSchema(tool(name)).safeParse(out.data);
  assert.ok(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`);
}

Deno.test("demo: a dry run is computed in memory, labelled not server-validated; a real write is refused", async () => {
  const deps = demoDeps();
  const dry = await runTool(tool("apply_policies"), { yaml: NEW_AUTHZ }, deps);
  assert.ok(dry.ok, !dry.ok ? dry.error : "");
  conforms("apply_policies", dry);
  // deno-lint-ignore no-explicit-any
  const d = dry.data as any;
  assert.equal(d.serverValidated, false);
  assert.equal(d.written, false);
  assert.match(d.notes.join(" "), /NOT server-validated/);
  const byName = Object.fromEntries(d.objects.map((o: { name: string }) => [o.name, o]));
  assert.equal(byName["webapp-clients"].action, "create");
  assert.equal(byName["webapp-server"].action, "update");
  assert.deepEqual(byName["webapp-server"].diff, ['~ spec.accessPolicy: "audit" -> "deny"']);
  const real = await runTool(tool("apply_policies"), { yaml: NEW_AUTHZ, dry_run: false }, deps);
  assert.equal(real.ok, false);
  assert.match(!real.ok ? real.error : "", /demo mesh is read-only/);
  const secret = await runTool(
    tool("apply_policies"),
    { yaml: "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: booksapp}\n" },
    deps,
  );
  assert.match(!secret.ok ? secret.error : "", /Secret \(v1\) cannot be written/);
});

Deno.test("demo: enforce refuses while audit sees would-be-denied traffic, plans the flip when clean", async () => {
  const deps = demoDeps();
  const flow = {
    client: { identity: "traffic.booksapp.serviceaccount.identity.linkerd.cluster.local" },
    target: { namespace: "booksapp", server: "webapp-server", port: 7000 },
    protocol: "http" as const,
    requestRate: 2.5,
    reason: "no policy names this identity",
  };
  const seen: unknown[] = [];
  const dirty = tool("enforce_policies", {
    analyzeAudit: (_d: unknown, o: unknown): Promise<AuditFindings> => {
      seen.push(o);
      return Promise.resolve({ wouldBeDenied: [flow] });
    },
  });
  const refused = await runTool(dirty, { namespace: "booksapp", time_range: "2h" }, deps);
  assert.ok(refused.ok);
  conforms("enforce_policies", refused);
  // deno-lint-ignore no-explicit-any
  const r = refused.data as any;
  assert.equal(r.refused, true);
  assert.equal(r.written, false);
  assert.equal(r.wouldBeDenied.length, 1);
  assert.match(r.wouldBeDenied[0].client, /^traffic\.booksapp/);
  assert.deepEqual(seen, [{ namespace: "booksapp", windowSeconds: 7200 }]);
  const forced = await runTool(dirty, { namespace: "booksapp", force: true }, deps);
  // deno-lint-ignore no-explicit-any
  assert.equal((forced as any).data.refused, false);

  const clean = tool("enforce_policies", {
    analyzeAudit: () => Promise.resolve({ wouldBeDenied: [] }),
  });
  const planned = await runTool(clean, { namespace: "booksapp" }, deps);
  assert.ok(planned.ok);
  conforms("enforce_policies", planned);
  // deno-lint-ignore no-explicit-any
  const p = planned.data as any;
  assert.equal(p.refused, false);
  assert.deepEqual(p.objects.map((o: { name: string }) => o.name), ["webapp-server"]);
  assert.deepEqual(p.objects[0].diff, ['~ spec.accessPolicy: "audit" -> "deny"']);
  const real = await runTool(clean, { namespace: "booksapp", dry_run: false }, deps);
  assert.match(!real.ok ? real.error : "", /read-only/);
  // No audited Server: a real answer, not an empty one.
  const none = await runTool(clean, { namespace: "emojivoto" }, deps);
  conforms("enforce_policies", none);
  // deno-lint-ignore no-explicit-any
  assert.match((none as any).data.summary, /nothing to enforce/);
  // Without the audit analysis, enforcing needs force.
  const blind = await runTool(tool("enforce_policies"), { namespace: "booksapp" }, deps);
  // deno-lint-ignore no-explicit-any
  assert.equal((blind as any).data.refused, true);
});

Deno.test("rollback_policies checks the change id and says when nothing carries it", async () => {
  const deps = demoDeps();
  const bad = await runTool(tool("rollback_policies"), { change_id: "nope" }, deps);
  assert.match(!bad.ok ? bad.error : "", /a change id looks like/);
  const none = await runTool(
    tool("rollback_policies"),
    { change_id: "c20261201-091500-a1b2c3" },
    deps,
  );
  assert.match(!none.ok ? none.error : "", /No policy resource carries change/);
});

Deno.test("write tools: unique names, described snake_case arguments, no clash with read tools", () => {
  const read = new Set(allTools().map((t) => t.name));
  const all = allTools({ writes: true });
  assert.equal(new Set(all.map((t) => t.name)).size, all.length, "duplicate tool name");
  for (const t of writeTools()) {
    assert.ok(!read.has(t.name));
    assert.ok(t.description.length >= 80, t.name);
    assert.match(t.description, /dry run/i, `${t.name} must say it is a dry run by default`);
    for (const [arg, schema] of Object.entries(t.inputSchema)) {
      assert.match(arg, /^[a-z][a-z0-9_]*$/, `${t.name}.${arg} is not snake_case`);
      const described = (schema as { description?: string }).description;
      assert.ok(described && described.length > 5, `${t.name}.${arg} has no description`);
    }
    assert.ok("dry_run" in t.inputSchema, `${t.name} has no dry_run`);
  }
});
