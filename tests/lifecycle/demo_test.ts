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
  for (const args of [{ namespace: "booksapp", time_range: "1h" }, { time_range: "24h" }]) {
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
  const g = await call("generate_policies", { namespace: "booksapp", time_range: "1h" });
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
