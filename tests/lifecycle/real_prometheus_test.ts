/**
 * The policy lifecycle's read-only tools against a real Prometheus backfilled with an
 * audit-mode namespace whose truth is known (tests/lifecycle/_scenario.ts):
 * `analyze_audit` returns exactly the would-be-denied flows, and the policy
 * `generate_policies` drafts, applied to the same state, gives through
 * `analyze_connectivity` the verdicts the traffic implies and leaves
 * `validate_mesh_config` without errors.
 */
import assert from "node:assert/strict";
import { HttpPromClient } from "../../src/metrics/prom_client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { resultSchema, runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { allTools } from "../../src/tools/mod.ts";
import { objectsFromYaml, testDeps } from "../_helpers.ts";
import { demoSeries, writeDemoOpenMetrics } from "../support/demo_traffic.ts";
import { SKIP_REASON, startPrometheus, type TestPrometheus } from "../support/prometheus.ts";
import { NS, scenarioEdges, scenarioObjects } from "./_scenario.ts";

const tools = new Map(allTools().map((t) => [t.name, t]));
/** Evaluation time: a whole minute, one minute in the past. */
const END = Math.floor(Date.now() / 60_000) * 60 - 60;

// deno-lint-ignore no-explicit-any
type Data = any;

async function call(deps: ToolDeps, name: string, args: Record<string, unknown>): Promise<Data> {
  const spec = tools.get(name)!;
  const out = await runTool(spec, args, deps);
  assert.ok(out.ok, `${name} failed: ${!out.ok && out.error}`);
  resultSchema(spec).strict().parse(out.data);
  return out.data;
}

async function withPrometheus(fn: (prom: TestPrometheus) => Promise<void>) {
  let text = "";
  await writeDemoOpenMetrics(demoSeries(scenarioEdges()), END, (c) => {
    text += c;
    return Promise.resolve();
  });
  const prom = await startPrometheus(text);
  try {
    await fn(prom);
  } finally {
    await prom.stop();
  }
}

function depsFor(prom: TestPrometheus, objects: KubeObject[] = scenarioObjects()): ToolDeps {
  return testDeps(objects, {
    prom: new HttpPromClient({ url: prom.url, timeoutMs: 20_000 }),
    now: () => new Date(END * 1000),
  });
}

/** `client → workload:port[ route] (protocol)` of a reported flow. */
function flowText(e: Data): string {
  const who = e.client.unauthenticated ? "unauthenticated" : e.client.serviceAccount;
  return `${who} → ${e.target.workload}:${e.target.port}${
    e.target.route ? ` ${e.target.route}` : ""
  } (${e.protocol})`;
}

const DENIED_1H = [
  "front → deployment/api:9000 HTTPRoute/api-read (http)",
  "unauthenticated → deployment/front:8080 (http)",
  "worker → deployment/api:9000 HTTPRoute/api-write (http)",
  "worker → deployment/db:5432 (tcp)",
  "worker → deployment/front:8080 (http)",
];

/** The applied state: the scenario plus the generated objects (replacing same-named ones). */
function applied(yaml: string): KubeObject[] {
  const gen = objectsFromYaml(yaml);
  const same = (a: KubeObject, b: KubeObject) =>
    a.kind === b.kind && a.metadata.name === b.metadata.name &&
    a.metadata.namespace === b.metadata.namespace;
  return [...scenarioObjects().filter((o) => !gen.some((g) => same(o, g))), ...gen];
}

Deno.test({
  name: "lifecycle on a real Prometheus: audit analysis and generated policy",
  ignore: SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await withPrometheus(async (prom) => {
      const deps = depsFor(prom);

      await t.step("analyze_audit returns exactly the would-be-denied flows (1h)", async () => {
        const d = await call(deps, "analyze_audit", {
          namespace: NS,
          time_range: "1h",
          limit: 1000,
        });
        assert.deepEqual(d.wouldBeDenied.map(flowText).sort(), DENIED_1H);
        assert.deepEqual(d.undetermined, []);
        assert.equal(d.partial, false, JSON.stringify(d.warnings));
        const by = new Map(d.wouldBeDenied.map((e: Data) => [flowText(e), e]));
        const rate = (k: string) => (by.get(k) as Data).requestRate;
        assert.ok(Math.abs(rate("worker → deployment/front:8080 (http)") - 2) < 0.01);
        assert.ok(
          Math.abs(rate("front → deployment/api:9000 HTTPRoute/api-read (http)") - 3) < 0.01,
        );
        const tcp = by.get("worker → deployment/db:5432 (tcp)") as Data;
        assert.ok(Math.abs(tcp.connections - 0.05 * 3600) < 1, `connections ${tcp.connections}`);
        // reasons say why no authorization matched
        assert.match(
          (by.get("front → deployment/api:9000 HTTPRoute/api-read (http)") as Data).reason,
          /route HTTPRoute\/api-read has no authorization/,
        );
        assert.match(
          (by.get("unauthenticated → deployment/front:8080 (http)") as Data).reason,
          /unauthenticated client/,
        );
        assert.match(
          (by.get("worker → deployment/api:9000 HTTPRoute/api-write (http)") as Data).reason,
          /no policy names identity "worker\.shop\./,
        );
        // every fix was checked by the model, and is YAML
        for (const e of d.wouldBeDenied) {
          assert.equal(e.fixChecked, true, `${flowText(e)}: ${e.fix}`);
          assert.ok(objectsFromYaml(e.fix.slice(e.fix.indexOf(":\n") + 2)).length >= 2, e.fix);
        }
        // the superset: api → db is credited to audit but db-api allows it
        assert.ok(d.notes.some((n: string) => /superset/.test(n)), JSON.stringify(d.notes));
        const audited = d.auditedServers.map((s: Data) => `${s.kind}:${s.server ?? "-"}`).sort();
        assert.deepEqual(audited, ["default:-", "server:api-http", "server:db-tcp"]);
      });

      await t.step("the quiet period: batch shows in a 6h window only", async () => {
        const d = await call(deps, "analyze_audit", {
          namespace: NS,
          time_range: "6h",
          limit: 1000,
        });
        assert.deepEqual(
          d.wouldBeDenied.map(flowText).sort(),
          [...DENIED_1H, "batch → deployment/front:8080 (http)"].sort(),
        );
        const quiet = await call(deps, "analyze_audit", {
          namespace: NS,
          time_range: "30m",
          limit: 1000,
        });
        assert.deepEqual(quiet.wouldBeDenied.map(flowText).sort(), DENIED_1H);
      });

      await t.step("a fix applied removes its flow from the analysis", async () => {
        const d = await call(deps, "analyze_audit", {
          namespace: NS,
          time_range: "1h",
          limit: 1000,
        });
        const e = d.wouldBeDenied.find((x: Data) =>
          flowText(x) === "worker → deployment/api:9000 HTTPRoute/api-write (http)"
        );
        const fixed = depsFor(prom, applied(e.fix.slice(e.fix.indexOf(":\n") + 2)));
        const after = await call(fixed, "analyze_audit", {
          namespace: NS,
          time_range: "1h",
          limit: 1000,
        });
        assert.deepEqual(
          after.wouldBeDenied.map(flowText).sort(),
          DENIED_1H.filter((x) => x !== flowText(e)),
        );
      });

      for (const window of ["1h", "6h"]) {
        await t.step(
          `generate_policies (deny, ${window}) gives the traffic's verdicts`,
          async () => {
            const g = await call(deps, "generate_policies", {
              namespace: NS,
              time_range: window,
              access_policy: "deny",
              limit: 1000,
            });
            assert.equal(g.selfCheck.passed, true, JSON.stringify(g.selfCheck.failures));
            assert.ok(g.selfCheck.checked.unobservedPairs > 0);
            assert.ok(g.selfCheck.checked.probes > 0);
            assert.ok(g.selfCheck.checked.scrapes > 0);
            // the unmeshed client is reported, never authorized
            assert.equal(g.unmeshedClients.length, 1);
            assert.equal(g.unmeshedClients[0].target.workload, "deployment/front");
            assert.doesNotMatch(g.yaml, /NetworkAuthentication/);
            // existing Servers reused, not duplicated
            const servers = objectsFromYaml(g.yaml).filter((o) => o.kind === "Server");
            assert.deepEqual(
              servers.map((s) => s.metadata.name).sort(),
              ["api-http", "db-tcp", "front-http", "linkerd-admin"],
            );
            assert.ok(
              g.resources.some((r: Data) => r.name === "api-http" && r.action === "update"),
            );
            const objects = applied(g.yaml);
            const after = depsFor(prom, objects);
            const verdict = async (src: string, target: string) => {
              const c = await call(after, "analyze_connectivity", {
                source_namespace: NS,
                source_workload: `deployment/${src}`,
                target_service: target,
              });
              return c.verdict;
            };
            assert.equal(await verdict("worker", "front"), "allowed");
            assert.equal(await verdict("legacy", "front"), "denied");
            assert.equal(await verdict("batch", "front"), window === "6h" ? "allowed" : "denied");
            assert.equal(await verdict("front", "api"), "allowed");
            assert.equal(await verdict("worker", "api"), "partial"); // api-write only
            assert.equal(await verdict("batch", "api"), "denied");
            assert.equal(await verdict("api", "db"), "allowed");
            assert.equal(await verdict("worker", "db"), "allowed");
            assert.equal(await verdict("front", "db"), "denied");
            const v = await call(after, "validate_mesh_config", { namespace: NS });
            const errors = v.results.flatMap((r: Data) =>
              r.issues.filter((i: Data) => i.severity === "error").map((i: Data) =>
                `${r.resourceType}/${r.name}: ${i.rule}: ${i.message}`
              )
            );
            assert.deepEqual(errors, []);
          },
        );
      }

      await t.step("generate_policies in audit mode keeps every flow allowed", async () => {
        const g = await call(deps, "generate_policies", {
          namespace: NS,
          time_range: "1h",
          limit: 1000,
        });
        assert.equal(g.accessPolicy, "audit");
        assert.equal(g.selfCheck.passed, true, JSON.stringify(g.selfCheck.failures));
        const after = depsFor(prom, applied(g.yaml));
        // applied in audit mode, analyze_audit sees only the unmeshed client left
        const d = await call(after, "analyze_audit", {
          namespace: NS,
          time_range: "1h",
          limit: 1000,
        });
        assert.deepEqual(d.wouldBeDenied.map(flowText), [
          "unauthenticated → deployment/front:8080 (http)",
        ]);
        const statuses = g.flows.map((f: Data) => `${flowText(f)}=${f.status}`).sort();
        assert.ok(
          statuses.includes(
            "front → deployment/api:9000 HTTPRoute/api-write (http)=already-authorized",
          ),
        );
        assert.ok(statuses.includes("api → deployment/db:5432 (tcp)=already-authorized"));
        assert.ok(statuses.includes("worker → deployment/db:5432 (tcp)=authorized"));
        assert.ok(
          statuses.includes("unauthenticated → deployment/front:8080 (http)=not-authorized"),
        );
      });

      await t.step("errors are actionable", async () => {
        const spec = tools.get("generate_policies")!;
        const r = await runTool(spec, { namespace: NS, target_service: "nope" }, deps);
        assert.ok(!r.ok && /does not exist/.test(r.error));
        const cp = await runTool(spec, { namespace: "linkerd" }, deps);
        assert.ok(!cp.ok && /control plane/.test(cp.error));
        const long = await runTool(spec, { namespace: NS, time_range: "90d" }, deps);
        assert.ok(!long.ok);
      });
    });
  },
});
