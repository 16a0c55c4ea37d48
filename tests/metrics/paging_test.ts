/**
 * The namespace-wide metrics answers within a budget (issue 14): get_service_health_summary,
 * get_top_services and get_traffic_trends page their services with an opaque cursor;
 * analyze_traffic_flow and get_traffic_trends cap their sub-lists (failures by status,
 * mTLS breakdown, anomalies) to the most important entries and count the rest.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { PromClient, PromSample, PromSeries } from "../../src/metrics/prom_client.ts";
import {
  ANOMALIES_MAX,
  namespaceRowsOf,
  SUBLIST_MAX,
  topEntries,
  workloadNumbers,
} from "../../src/metrics/use_cases.ts";
import { type Connected, connectInProcess } from "../_mcp.ts";
import { testDeps } from "../_helpers.ts";

/** Workloads the fake Prometheus has series for. */
const N = 120;

const NOW = new Date("2026-11-24T12:00:00Z");

const name = (i: number) => `wl-${String(i).padStart(3, "0")}`;

/** The labels the query's last `by (…)` groups by, `le` dropped. */
function groupLabels(promql: string): string[] {
  const last = [...promql.matchAll(/by \(([^)]*)\)/g)].at(-1)?.[1] ?? "";
  return last.split(",").map((s) => s.trim()).filter((s) => s && s !== "le");
}

/** Edge series: 30 tls/no_tls_reason groups, 15 failure status codes. */
function edgeSamples(): PromSample[] {
  const out: PromSample[] = [];
  for (let i = 0; i < 30; i++) {
    const tls: Record<string, string> = i < 20
      ? { tls: "true" }
      : { tls: "", no_tls_reason: `reason-${i}` };
    out.push({ metric: { classification: "success", status_code: "200", ...tls }, value: 100 + i });
    out.push({
      metric: { classification: "failure", status_code: String(500 + (i % 15)), ...tls },
      value: 1 + i,
    });
  }
  return out;
}

/** Namespace series by workload: every 4th workload fails half its requests. */
function namespaceSamples(promql: string): PromSample[] {
  const labels = groupLabels(promql);
  const out: PromSample[] = [];
  for (let i = 0; i < N; i++) {
    if (labels.includes("classification")) {
      out.push({ metric: { deployment: name(i), classification: "success" }, value: 100 });
      out.push({
        metric: { deployment: name(i), classification: "failure" },
        value: i % 4 === 0 ? 100 : 0,
      });
    } else {
      out.push({ metric: { deployment: name(i) }, value: 10 + i });
    }
  }
  return out;
}

/** Range series: flat baseline; in the current window workload i's rate jumps by 5 (i + 1). */
function rangeSeries(promql: string, start: Date, end: Date, step: number): PromSeries[] {
  const current = end.getTime() === NOW.getTime();
  const labels = groupLabels(promql);
  const times: number[] = [];
  for (let t = start.getTime() / 1000; t <= end.getTime() / 1000; t += step) times.push(t);
  const out: PromSeries[] = [];
  for (let i = 0; i < N; i++) {
    if (labels.includes("classification")) {
      out.push({
        metric: { deployment: name(i), classification: "success" },
        values: times.map((t, j) => [t, current && j >= times.length - 3 ? 10 + 5 * (i + 1) : 10]),
      });
    } else {
      out.push({ metric: { deployment: name(i) }, values: times.map((t) => [t, 20]) });
    }
  }
  return out;
}

const FAKE: PromClient = {
  describe: () => "fake Prometheus (paging tests)",
  query: (promql) =>
    Promise.resolve(
      promql.includes("dst_service=")
        ? (promql.includes("response_total") ? edgeSamples() : [])
        : groupLabels(promql).includes("deployment")
        ? namespaceSamples(promql)
        : [],
    ),
  queryRange: (promql, range) =>
    Promise.resolve(rangeSeries(promql, range.start, range.end, range.stepSeconds)),
};

type Data = Record<string, unknown>;
interface CallResult {
  content: { type: string; text: string }[];
  structuredContent?: Data;
  isError?: boolean;
}

function bytes(res: CallResult): number {
  const enc = new TextEncoder();
  return res.content.reduce((n, c) => n + enc.encode(c.text).length, 0) +
    enc.encode(JSON.stringify(res.structuredContent ?? {})).length;
}

async function call(client: Connected["client"], tool: string, args: Data): Promise<Data> {
  const res = await client.callTool({ name: tool, arguments: args }) as CallResult;
  assert.notEqual(res.isError, true, `${tool}: ${res.content[0]?.text}`);
  if (args.limit === undefined) {
    // a default page fits the budget; an explicit limit gets what it asks for
    assert.ok(bytes(res) <= 8192, `${tool} ${JSON.stringify(args)}: ${bytes(res)} B`);
  }
  return res.structuredContent!;
}

/** Every page of `tool` from the first, following nextCursor. */
async function pages(client: Connected["client"], tool: string, args: Data): Promise<Data[]> {
  const out: Data[] = [];
  let cursor: string | undefined;
  do {
    const page = await call(client, tool, { ...args, ...(cursor ? { cursor } : {}) });
    assert.ok((page.services as Data[]).length > 0, `${tool}: empty page ${out.length + 1}`);
    out.push(page);
    cursor = page.nextCursor as string | undefined;
    assert.ok(out.length < 100, `${tool}: too many pages`);
  } while (cursor);
  return out;
}

async function withClient(fn: (client: Connected["client"]) => Promise<void>) {
  const { client, close } = await connectInProcess(
    testDeps([], { prom: FAKE, now: () => NOW }),
  );
  try {
    await fn(client);
  } finally {
    await close();
  }
}

const services = (ps: Data[]) => ps.flatMap((p) => p.services as Data[]);

Deno.test("get_service_health_summary pages services, worst first, counts over all", async () => {
  await withClient(async (client) => {
    const ps = await pages(client, "get_service_health_summary", { namespace: "shop" });
    assert.ok(ps.length > 1, "several default pages");
    const first = ps[0]!;
    const all = await call(client, "get_service_health_summary", {
      namespace: "shop",
      limit: 1000,
    });
    const key = (d: Data) => d.service as string;
    assert.deepEqual(services(ps).map(key), (all.services as Data[]).map(key));
    assert.equal(new Set(services(ps).map(key)).size, N, "every service once");
    assert.equal(first.total, N);
    assert.equal(first.omitted, N - (first.services as Data[]).length);
    assert.equal(ps.at(-1)!.omitted, 0);
    const counts = first.counts as Record<string, number>;
    assert.equal(counts.unhealthy, N / 4, "counts are over all pages");
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), N);
    // the first page holds the unhealthy ones
    assert.ok((first.services as Data[]).every((s) => s.healthStatus === "unhealthy"));
    // one note for the workloads listed under their own names, not one per workload
    assert.ok((first.notes as string[]).length <= 4, JSON.stringify(first.notes));
    // a cursor is tied to its arguments
    const other = await client.callTool({
      name: "get_service_health_summary",
      arguments: { namespace: "shop", error_rate_warning: 1, cursor: first.nextCursor },
    }) as CallResult;
    assert.equal(other.isError, true);
    assert.match(other.content[0]!.text, /Cursor was issued for different arguments/);
  });
});

Deno.test("get_top_services: the default is the top 10, ranks go on across pages", async () => {
  await withClient(async (client) => {
    const args = { namespace: "shop", "sort_by": "latency_p95" };
    const first = await call(client, "get_top_services", args);
    const top = first.services as Data[];
    assert.equal(top.length, 10);
    assert.deepEqual(top.map((s) => s.rank), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(top[0]!.service, name(N - 1), "slowest first");
    assert.equal(first.totalServices, N);
    assert.equal(first.total, N);
    assert.equal(first.omitted, N - 10);
    const next = await call(client, "get_top_services", {
      ...args,
      limit: 5,
      cursor: first.nextCursor,
    });
    assert.deepEqual((next.services as Data[]).map((s) => s.rank), [11, 12, 13, 14, 15]);
    const all = await call(client, "get_top_services", { ...args, limit: 1000 });
    assert.equal((all.services as Data[]).length, N);
    assert.equal(all.nextCursor, undefined);
  });
});

Deno.test("get_traffic_trends pages services and lists the strongest anomalies", async () => {
  await withClient(async (client) => {
    const ps = await pages(client, "get_traffic_trends", { namespace: "shop", window: "1h" });
    assert.ok(ps.length > 1, "several default pages");
    const names = services(ps).map((s) => s.service);
    assert.deepEqual(names, Array.from({ length: N }, (_, i) => name(i)));
    const d = ps[0]!;
    const anomalies = d.anomalies as Array<{ service: string; zScore: number }>;
    assert.equal(anomalies.length, ANOMALIES_MAX);
    assert.ok((d.anomaliesTotal as number) > ANOMALIES_MAX, `${d.anomaliesTotal}`);
    assert.equal(d.anomaliesOmitted, (d.anomaliesTotal as number) - ANOMALIES_MAX);
    const z = anomalies.map((a) => Math.abs(a.zScore));
    assert.deepEqual(z, [...z].sort((a, b) => b - a), "strongest first");
    assert.equal(anomalies[0]!.service, name(N - 1), "the biggest jump first");
    const summary = d.summary as string[];
    assert.equal(summary.length, ANOMALIES_MAX + 1);
    assert.match(summary.at(-1)!, new RegExp(`^${d.anomaliesOmitted} more anomalies`));
  });
});

Deno.test("analyze_traffic_flow caps failures by status and the mTLS breakdown", async () => {
  await withClient(async (client) => {
    const d = await call(client, "analyze_traffic_flow", {
      source_namespace: "shop",
      source_service: "web",
      target_service: "api",
    });
    const errors = d.errorsByStatus as Record<string, number>;
    assert.equal(Object.keys(errors).length, SUBLIST_MAX);
    assert.equal(d.errorsByStatusOmitted, 15 - SUBLIST_MAX);
    // the largest kept: code 500+i gets (1+i) + (16+i) for i < 15, so 505-514 are kept
    assert.deepEqual(
      Object.keys(errors).sort(),
      Array.from({ length: 10 }, (_, i) => `${505 + i}`),
    );
    assert.equal(errors["514"], 15 + 30);
    const mtls = d.mtls as { breakdown: unknown[]; breakdownOmitted: number; percent: number };
    assert.equal(mtls.breakdown.length, SUBLIST_MAX);
    assert.equal(mtls.breakdownOmitted, 11 - SUBLIST_MAX, "1 tls group + 10 reasons");
    // the percent is over every request, not only the listed ones
    let tls = 0, all = 0;
    for (const s of edgeSamples()) {
      all += s.value;
      if (s.metric.tls === "true") tls += s.value;
    }
    assert.equal(mtls.percent, Math.round((tls / all) * 10_000) / 100);
  });
});

Deno.test("namespaceRowsOf() names a few stray workloads and counts the rest", () => {
  const samples: PromSample[] = Array.from({ length: 7 }, (_, i) => ({
    metric: { deployment: `stray-${i}`, classification: "success" },
    value: 1,
  }));
  const n = workloadNumbers(samples, undefined, undefined);
  const { rows, notes } = namespaceRowsOf("shop", n, {
    services: ["web"],
    workloadToServices: new Map(),
  }, "test cluster");
  assert.equal(rows.length, 8);
  assert.equal(notes.length, 4);
  assert.match(notes[0]!, /deployment\/stray-0 has metrics but no Service selects it/);
  assert.match(notes[3]!, /^4 more workloads have metrics but no Service selects them/);
});

Deno.test("topEntries() keeps the largest entries and counts the rest", () => {
  assert.deepEqual(topEntries({ a: 1, b: 5, c: 3 }, 2), { kept: { b: 5, c: 3 }, omitted: 1 });
  assert.deepEqual(topEntries({ a: 1 }, 2), { kept: { a: 1 }, omitted: 0 });
});
