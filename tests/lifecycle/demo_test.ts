/**
 * The lifecycle tools on --demo (booksapp): they answer from the recorded Prometheus with
 * the demo traffic's truth (tests/support/demo_traffic.ts): the audit-credited edges are
 * what analyze_audit reports, and generate_policies covers every observed edge.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { createDemoSource } from "../../src/demo/mod.ts";
import { createDemoPromClient } from "../../src/demo/prom.ts";
import { SILENT } from "../../src/log.ts";
import { resultSchema, runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { lifecycleTools } from "../../src/tools/lifecycle.ts";
import { AUDIT, demoEdges, identity } from "../support/demo_traffic.ts";
import { objectsFromYaml } from "../_helpers.ts";

// deno-lint-ignore no-explicit-any
type Data = any;

const tools = new Map(lifecycleTools().map((t) => [t.name, t]));
const deps: ToolDeps = {
  cluster: createDemoSource(),
  config: loadConfig({}),
  prom: createDemoPromClient(),
  log: SILENT,
  now: () => new Date(),
};

async function call(name: string, args: Record<string, unknown>): Promise<Data> {
  const spec = tools.get(name)!;
  const out = await runTool(spec, args, deps);
  assert.ok(out.ok, `${name}: ${!out.ok && out.error}`);
  resultSchema(spec).strict().parse(out.data);
  return out.data;
}

const booksapp = demoEdges().filter((e) => e.to.workload.namespace === "booksapp");

Deno.test("demo: analyze_audit reports booksapp's audit-credited traffic", async () => {
  const truth = booksapp.filter((e) =>
    e.to.authz.name === AUDIT.name && e.to.authz.kind === AUDIT.kind
  );
  assert.ok(truth.length > 0, "the demo has audit traffic");
  for (
    const args of [
      { namespace: "booksapp", time_range: "1h", limit: 1000 },
      { time_range: "24h", limit: 1000 },
    ]
  ) {
    const d = await call("analyze_audit", args);
    assert.equal(d.partial, false, JSON.stringify(d.warnings));
    assert.match(d.prometheus, /embedded demo recording/);
    assert.deepEqual(
      d.wouldBeDenied.map((e: Data) =>
        `${e.client.identity} → ${e.target.workload}:${e.target.port}`
      ),
      truth.map((e) =>
        `${
          identity((e.from as { serviceAccount: string }).serviceAccount, "booksapp")
        } → deployment/${e.to.workload.name}:${e.to.port}`
      ),
    );
    for (const [i, e] of d.wouldBeDenied.entries()) {
      assert.ok(Math.abs(e.requestRate - truth[i]!.behaviour(0).rps) < 0.01, `${e.requestRate}`);
      assert.equal(e.fixChecked, true);
      assert.equal(e.target.server, truth[i]!.to.srv.name);
    }
    assert.ok(d.auditedServers.some((s: Data) => s.server === "webapp-server"));
  }
});

Deno.test("demo: generate_policies covers every observed booksapp edge and self-checks", async () => {
  const g = await call("generate_policies", {
    namespace: "booksapp",
    time_range: "1h",
    limit: 1000,
  });
  assert.equal(g.selfCheck.passed, true, JSON.stringify(g.selfCheck.failures));
  const docs = objectsFromYaml(g.yaml);
  assert.ok(docs.length > 0);
  // the audited Server is reused, not duplicated
  assert.ok(g.resources.some((r: Data) => r.name === "webapp-server" && r.action === "reuse"));
  assert.equal(
    docs.filter((d) => d.kind === "Server" && d.metadata.name === "webapp-server").length,
    0,
  );
  const seen = new Set(
    g.flows.map((f: Data) =>
      `${f.client.serviceAccount ?? "-"} → ${f.target.workload}:${f.target.port}`
    ),
  );
  for (const e of booksapp) {
    const sa = "unmeshed" in e.from ? "-" : e.from.serviceAccount;
    assert.ok(
      seen.has(`${sa} → deployment/${e.to.workload.name}:${e.to.port}`),
      `${sa} → ${e.to.workload.name}`,
    );
  }
  for (const f of g.flows) {
    assert.ok(f.status !== "not-authorized" || f.client.unauthenticated, JSON.stringify(f));
  }
});

Deno.test("demo: generate_policies pages its explanations with a complete yaml on every page", async () => {
  const args = { namespace: "booksapp", "time_range": "1h" };
  const whole = await call("generate_policies", { ...args, limit: 1000 });
  const expected = [...whole.resources, ...whole.flows].map((x) => JSON.stringify(x));
  assert.equal(whole.total, expected.length);
  assert.equal(whole.omitted, 0);
  assert.equal(whole.nextCursor, undefined);
  const got: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const p = await call("generate_policies", { ...args, ...(cursor ? { cursor } : {}) });
    pages++;
    // the yaml is whole on every page
    assert.equal(p.yaml, whole.yaml);
    const items = [...p.resources, ...p.flows];
    assert.ok(items.length > 0, `page ${pages} is empty`);
    got.push(...items.map((x: Data) => JSON.stringify(x)));
    assert.equal(p.omitted, whole.total - got.length);
    // structuredContent and its compact JSON copy together fit 8 KB
    assert.ok(2 * JSON.stringify(p).length <= 8192, `page ${pages}`);
    cursor = p.nextCursor;
    assert.ok(pages < 50);
  } while (cursor);
  assert.ok(pages > 1, "the demo's explanations take several default pages");
  assert.deepEqual(got, expected);
  // flows that need attention come first
  const ranks = whole.flows.map((f: Data) => f.status === "not-authorized" ? 0 : 1);
  assert.deepEqual(ranks, [...ranks].sort((a: number, b: number) => a - b));
  // a cursor is refused with other arguments, and before any query
  const first = await call("generate_policies", args);
  const wrong = await runTool(tools.get("generate_policies")!, {
    ...args,
    time_range: "24h",
    cursor: first.nextCursor,
  }, deps);
  assert.equal(wrong.ok, false);
  assert.match(String(!wrong.ok && wrong.error), /Cursor was issued for different arguments/);
});

Deno.test("demo: analyze_audit pages its flows", async () => {
  const args = { "time_range": "24h" };
  const whole = await call("analyze_audit", { ...args, limit: 1000 });
  const one = await call("analyze_audit", { ...args, limit: 1 });
  assert.ok(whole.total >= 1);
  assert.equal(one.total, whole.total);
  assert.equal(one.wouldBeDenied.length + one.undetermined.length, 1);
  assert.equal(one.omitted, whole.total - 1);
  assert.equal(typeof one.nextCursor === "string", whole.total > 1);
  assert.deepEqual(
    one.wouldBeDenied[0] ?? one.undetermined[0],
    whole.wouldBeDenied[0] ?? whole.undetermined[0],
  );
});
