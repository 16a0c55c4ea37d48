/**
 * Answers within a budget (issue 14): on 10,000-pod synthetic meshes, every tool's
 * default answer (the text block and structuredContent together) fits 8 KB, through a
 * real MCP client; and following the cursor of the paged tools returns every item
 * exactly once.
 *
 * Metrics tools get a fake Prometheus that answers every query with hundreds of series
 * (the labels the query groups by, filled in).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../src/kube/types.ts";
import type { PromClient, PromSample } from "../src/metrics/prom_client.ts";
import { toolListing } from "../src/server.ts";
import { type Connected, connectInProcess } from "./_mcp.ts";
import { testDeps } from "./_helpers.ts";
import { loadConfig } from "../src/config.ts";
import { createDemoSource } from "../src/demo/mod.ts";
import { createDemoPromClient } from "../src/demo/prom.ts";
import { SILENT } from "../src/log.ts";
import type { ToolDeps } from "../src/tools/_spec.ts";
import {
  syntheticCluster,
  syntheticPolicyMesh,
  syntheticValidationMesh,
} from "./support/synthetic.ts";

/** The budget of one default answer, in bytes of JSON text. */
const BUDGET = 8192;

/** Series per query the fake Prometheus answers with. */
const SERIES = 400;

/** The labels a query groups by (`by (a, b)`), `le` dropped (quantiles have none). */
function groupLabels(promql: string): string[] {
  const all = [...promql.matchAll(/by \(([^)]*)\)/g)];
  const last = all.at(-1)?.[1] ?? "";
  return last.split(",").map((s) => s.trim()).filter((s) => s && s !== "le");
}

function fakeSamples(promql: string): PromSample[] {
  const ns = /namespace="([^"]+)"/.exec(promql)?.[1] ?? "ns-0";
  const labels = groupLabels(promql);
  const out: PromSample[] = [];
  for (let i = 0; i < SERIES; i++) {
    const metric: Record<string, string> = {};
    for (const l of labels) {
      if (l.endsWith("namespace")) metric[l] = ns;
      else if (l === "classification") metric[l] = i % 3 === 0 ? "failure" : "success";
      else if (l === "direction") metric[l] = i % 2 ? "inbound" : "outbound";
      else if (l === "tls") metric[l] = "true";
      else if (l === "status_code") metric[l] = i % 5 ? "200" : "503";
      else if (l.startsWith("dst_")) metric[l] = `svc-${(i + 1) % SERIES}`;
      else metric[l] = `svc-${i}`;
    }
    out.push({ metric, value: 1 + (i % 17) * 3.5 });
  }
  return out;
}

/** A Prometheus that has many series for every query. */
const MANY_SERIES: PromClient = {
  describe: () => "fake Prometheus with many series (tests)",
  query: (promql) => Promise.resolve(fakeSamples(promql)),
  queryRange: (promql, range) => {
    const steps: number[] = [];
    const start = range.start.getTime() / 1000, end = range.end.getTime() / 1000;
    for (let t = start; t <= end && steps.length < 60; t += range.stepSeconds) steps.push(t);
    return Promise.resolve(
      fakeSamples(promql).map((s, i) => ({
        metric: s.metric,
        values: steps.map((t, j) => [t, s.value + ((i + j) % 7)] as [number, number]),
      })),
    );
  },
};

/** One synthetic mesh and realistic arguments for each tool on it. */
interface Scenario {
  name: string;
  deps: () => ToolDeps;
  args: Record<string, Record<string, unknown>>;
}

/** Dependencies over synthetic objects, with the many-series Prometheus. */
function synthetic(objects: () => KubeObject[]): () => ToolDeps {
  return () => testDeps(objects(), { prom: MANY_SERIES, now: () => new Date() });
}

function argsFor(ns: string, svc: string, other: string, port: number) {
  return {
    check_mesh_health: {},
    list_meshed_services: {},
    analyze_connectivity: {
      source_namespace: ns,
      source_service: other,
      target_namespace: ns,
      target_service: svc,
    },
    get_allowed_targets: { source_namespace: ns, source_service: svc },
    get_allowed_sources: { target_namespace: ns, target_service: svc },
    get_inbound_policy: { namespace: ns, service: svc, port },
    validate_mesh_config: {},
    get_service_metrics: { namespace: ns, service: svc },
    analyze_traffic_flow: { source_namespace: ns, source_service: other, target_service: svc },
    get_service_health_summary: { namespace: ns },
    get_top_services: { namespace: ns },
    get_traffic_trends: { namespace: ns },
    get_mesh_topology: {},
    generate_policies: { namespace: ns },
    analyze_audit: {},
    list_clusters: {},
  };
}

const SCENARIOS: Scenario[] = [
  {
    name: "cluster (10k pods, 2k Services, control plane)",
    deps: synthetic(() => syntheticCluster({ pods: 10_000, proxyVersion: "edge-25.4.3" })),
    args: argsFor("app-000", "svc-00000", "svc-00020", 80),
  },
  {
    name: "policy mesh (10k pods, 2k Services, 1k Servers, 2k policies)",
    deps: synthetic(() => syntheticPolicyMesh()),
    args: argsFor("ns-7", "svc-3", "svc-4", 80),
  },
  {
    name: "validation mesh (10k pods, 1k Services, Servers, routes, policies)",
    deps: synthetic(() => syntheticValidationMesh()),
    args: argsFor("ns-0", "app-0", "app-1", 80),
  },
  {
    name: "demo mesh (its recorded Prometheus)",
    deps: () => ({
      cluster: createDemoSource(),
      config: loadConfig({}),
      prom: createDemoPromClient(),
      log: SILENT,
      now: () => new Date(),
    }),
    args: {
      ...argsFor("emojivoto", "emoji-svc", "web-svc", 8080),
      get_inbound_policy: { namespace: "emojivoto", workload: "deployment/web", port: 8080 },
      analyze_traffic_flow: {
        source_namespace: "emojivoto",
        source_service: "web-svc",
        target_service: "emoji-svc",
        time_range: "5m",
      },
      get_service_metrics: { namespace: "emojivoto", service: "emoji-svc", time_range: "5m" },
      get_service_health_summary: { namespace: "emojivoto", time_range: "5m" },
      get_top_services: { namespace: "emojivoto", time_range: "5m" },
      get_traffic_trends: { namespace: "emojivoto", window: "1h" },
      get_mesh_topology: { namespace: "booksapp", time_range: "5m" },
      analyze_audit: { namespace: "booksapp", time_range: "1h" },
      generate_policies: { namespace: "booksapp", time_range: "1h" },
    },
  },
];

/** Tools whose text block is a compact human summary instead of the JSON copy. */
const SUMMARISED = new Set(["check_mesh_health"]);

/**
 * Tools not yet paged (their families are other work in issue 14): answered, but not held
 * to the budget here. BUDGET_VERBOSE=1 prints every size.
 */
const ELSEWHERE = new Set<string>([]);

interface CallResult {
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** The bytes a client (and a model) receives: every text block and structuredContent. */
function answerBytes(res: CallResult): number {
  const enc = new TextEncoder();
  let n = 0;
  for (const c of res.content) if (c.type === "text") n += enc.encode(c.text).length;
  if (res.structuredContent) n += enc.encode(JSON.stringify(res.structuredContent)).length;
  return n;
}

for (const sc of SCENARIOS) {
  Deno.test(`budget: every tool's default answer fits 8 KB on the ${sc.name}`, async () => {
    const { client, close } = await connectInProcess(sc.deps());
    try {
      const listed = (await client.listTools()).tools.map((t) => t.name);
      // every listed tool has arguments here: a new tool must be added to the budget test
      assert.deepEqual(listed.filter((n) => !(n in sc.args)), []);
      const sizes: string[] = [];
      const over: string[] = [];
      for (const name of listed) {
        const res = await client.callTool({ name, arguments: sc.args[name] }) as CallResult;
        const bytes = answerBytes(res);
        sizes.push(`${name}${res.isError ? " (error)" : ""}: ${bytes}`);
        if (bytes > BUDGET && !ELSEWHERE.has(name)) over.push(`${name}: ${bytes} B`);
        assert.notEqual(res.isError, true, `${name}: ${res.content[0]?.text}`);
        assert.ok(res.structuredContent, `${name} has structuredContent`);
        const text = res.content[0]!.text;
        if (sc.name.startsWith("demo")) {
          assert.match(res.content.at(-1)!.text, /embedded DEMO mesh/, `${name} keeps the notice`);
        }
        if (SUMMARISED.has(name)) {
          // a compact human summary, not a copy of the JSON
          assert.ok(!text.startsWith("{") && text.length < 3000, `${name}: ${text.slice(0, 80)}`);
        } else {
          // the text block is the compact JSON copy, not a pretty-printed one
          assert.equal(text, JSON.stringify(res.structuredContent), name);
        }
      }
      // deno-lint-ignore no-console
      if (Deno.env.get("BUDGET_VERBOSE")) console.error(sc.name, sizes);
      assert.deepEqual(over, [], `answers over ${BUDGET} B: ${over.join(", ")}`);
    } finally {
      await close();
    }
  });
}

type Data = Record<string, unknown>;

/** Calls `name` with `args`, then follows nextCursor to the end; every page within budget. */
async function allPages(
  client: Connected["client"],
  name: string,
  args: Record<string, unknown>,
  list: string,
): Promise<{ items: Data[]; pages: Data[] }> {
  const items: Data[] = [];
  const pages: Data[] = [];
  let cursor: string | undefined;
  do {
    const res = await client.callTool({
      name,
      arguments: { ...args, ...(cursor ? { cursor } : {}) },
    }) as CallResult;
    assert.notEqual(res.isError, true, `${name}: ${res.content[0]?.text}`);
    assert.ok(
      answerBytes(res) <= BUDGET,
      `${name} page ${pages.length + 1}: ${answerBytes(res)} B`,
    );
    const page = res.structuredContent!;
    const got = page[list] as Data[];
    assert.ok(got.length > 0, `${name}: an empty page ${pages.length + 1}`);
    items.push(...got);
    pages.push(page);
    cursor = page["nextCursor"] as string | undefined;
    assert.ok(pages.length < 500, `${name}: too many pages`);
  } while (cursor);
  return { items, pages };
}

/** Items as keys; asserts that none repeats. */
function keysOnce(items: readonly Data[], key: (d: Data) => string, what: string): string[] {
  const keys = items.map(key);
  const seen = new Set<string>();
  const repeated = keys.filter((k) => seen.has(k) || !seen.add(k));
  assert.deepEqual(repeated, [], `${what}: repeated across pages`);
  return keys;
}

Deno.test("budget: following nextCursor returns every item once (services, targets, sources, validation)", async () => {
  // Smaller meshes than above: every page is a call.
  const policy = testDeps(syntheticPolicyMesh({ namespaces: 6 }));
  const validation = testDeps(syntheticValidationMesh(8, 10, 3));
  const a = await connectInProcess(policy);
  const b = await connectInProcess(validation);
  try {
    // list_meshed_services: the pages together are the one big page
    const svc = await allPages(a.client, "list_meshed_services", {}, "services");
    assert.ok(svc.pages.length > 1, "several default pages");
    const key = (d: Data) => `${d["namespace"]}/${d["service"]}`;
    const whole = await a.client.callTool({
      name: "list_meshed_services",
      arguments: { limit: 1000 },
    }) as CallResult;
    const all = (whole.structuredContent!["services"] as Data[]).map(key);
    assert.deepEqual(keysOnce(svc.items, key, "services"), all);
    assert.equal(svc.pages[0]!["totalServices"], all.length);

    // get_allowed_targets / get_allowed_sources
    for (
      const [tool, args, list, k] of [
        [
          "get_allowed_targets",
          { source_namespace: "ns-2", source_service: "svc-3" },
          "allowedTargets",
          key,
        ],
        [
          "get_allowed_sources",
          { target_namespace: "ns-2", target_service: "svc-3" },
          "allowedSources",
          (d: Data) => `${d["kind"]}|${d["principal"]}`,
        ],
      ] as const
    ) {
      const paged = await allPages(a.client, tool, args, list);
      assert.ok(paged.pages.length > 1, `${tool}: several default pages`);
      const one = await a.client.callTool({
        name: tool,
        arguments: { ...args, limit: 1000 },
      }) as CallResult;
      const expected = (one.structuredContent![list] as Data[]).map(k);
      assert.deepEqual(keysOnce(paged.items, k, tool), expected, tool);
      assert.equal(paged.pages[0]!["total"], expected.length, tool);
      assert.equal(
        paged.pages[0]!["omitted"],
        expected.length - (paged.pages[0]![list] as Data[]).length,
      );
      assert.equal(paged.pages.at(-1)!["omitted"], 0);
    }

    // validate_mesh_config: errors first, byRule over everything, every resource once
    const v = await allPages(b.client, "validate_mesh_config", {}, "results");
    assert.ok(v.pages.length > 1, "several default pages");
    const first = v.pages[0]!;
    const rkey = (d: Data) => `${d["namespace"]}/${d["resourceType"]}/${d["name"]}`;
    assert.equal(keysOnce(v.items, rkey, "results").length, first["totalResources"]);
    const byRule = first["byRule"] as Array<{ rule: string; severity: string; count: number }>;
    const issues = v.items.flatMap((r) => r["issues"] as Array<{ rule: string; severity: string }>);
    assert.ok(issues.length > 0, "the validation mesh has findings");
    const counted = new Map<string, number>();
    for (const i of issues) {
      counted.set(`${i.severity}|${i.rule}`, (counted.get(`${i.severity}|${i.rule}`) ?? 0) + 1);
    }
    assert.deepEqual(
      new Map(byRule.map((r) => [`${r.severity}|${r.rule}`, r.count])),
      counted,
    );
    // resources with issues come before clean ones
    const ranks = v.items.map((r) => (r["issues"] as unknown[]).length ? 0 : 1);
    assert.deepEqual(ranks, [...ranks].sort((x, y) => x - y));
    // a cursor is refused with other arguments
    const wrong = await b.client.callTool({
      name: "validate_mesh_config",
      arguments: { namespace: "ns-1", cursor: first["nextCursor"] },
    }) as CallResult;
    assert.equal(wrong.isError, true);
    assert.match(wrong.content[0]!.text, /Cursor was issued for different arguments/);
    const garbage = await a.client.callTool({
      name: "get_allowed_sources",
      arguments: { target_namespace: "ns-2", target_service: "svc-3", cursor: "not-a-cursor" },
    }) as CallResult;
    assert.equal(garbage.isError, true);
    assert.match(garbage.content[0]!.text, /is not valid: pass the nextCursor/);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("budget: every advertised tool has arguments in every scenario", () => {
  const names = toolListing(false).map((t) => t.name);
  for (const sc of SCENARIOS) assert.deepEqual(names.filter((n) => !(n in sc.args)), []);
});

Deno.test("budget: check_mesh_health names workloads, not pods, when many proxies are outdated", async () => {
  const objects = syntheticCluster({ pods: 2_000, services: 20, proxyVersion: "edge-25.4.3" });
  // every pod of app-000 runs an older proxy: 10 Deployments of 100 pods
  let skewed = 0;
  for (const o of objects) {
    if (o.kind === "Pod" && o.metadata.namespace === "app-000" && o.metadata.annotations) {
      o.metadata.annotations["linkerd.io/proxy-version"] = "edge-25.1.1";
      skewed++;
    }
  }
  assert.ok(skewed >= 100, `${skewed} pods changed`);
  const { client, close } = await connectInProcess(testDeps(objects));
  try {
    const res = await client.callTool({ name: "check_mesh_health", arguments: {} }) as CallResult;
    const checks = res.structuredContent!["checks"] as Array<{ name: string; message: string }>;
    const version = checks.find((c) =>
      c.name === "data plane proxy versions match the control plane"
    )!;
    assert.match(version.message, new RegExp(`^${skewed} of \\d+ meshed pods`));
    // examples are workloads with their pod counts
    assert.match(version.message, /app-000\/deployment\/svc-\d+ \(\d+ pods\)/);
    assert.ok(answerBytes(res) <= BUDGET);
    // and the text block says what is wrong
    assert.match(res.content[0]!.text, /WARNING \[linkerd-data-plane\] data plane proxy versions/);
  } finally {
    await close();
  }
});
