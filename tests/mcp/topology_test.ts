/**
 * get_mesh_topology through a real MCP client on the demo: the edges are the demo's
 * known traffic (tests/support/demo_traffic.ts), the verdicts its known policy, the
 * Mermaid string parses, and large graphs stay bounded.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_TOPOLOGY_LIMIT,
  topologyInboundQuery,
  topologyTrafficQuery,
} from "../../src/tools/topology.ts";
import { buildTopology, type TrafficSample } from "../../src/topology/graph.ts";
import { mermaidText, renderMermaid } from "../../src/topology/mermaid.ts";
import { demoEdges, edgeTruth } from "../support/demo_traffic.ts";
import { connectInProcess } from "../_mcp.ts";
import { demoDeps, withDemoClient } from "./_demo.ts";

// deno-lint-ignore no-explicit-any
type Data = any;

/** The demo's request edges of `ns` as `client workload → Service` (meshed clients only). */
function knownEdges(ns: string): string[] {
  return [
    ...new Set(
      demoEdges().filter((e) =>
        "name" in e.from && e.from.namespace === ns && e.to.service &&
        e.to.workload.namespace !== "linkerd"
      ).map((e) => `${(e.from as { name: string }).name}->${e.to.service}`),
    ),
  ].sort();
}

async function topology(args: Record<string, unknown>): Promise<Data> {
  let out: Data;
  await withDemoClient(async (client) => {
    const r = await client.callTool({ name: "get_mesh_topology", arguments: args });
    assert.ok(!r.isError, JSON.stringify(r.content));
    out = r.structuredContent;
  });
  return out;
}

const pair = (e: Data) => `${e.source.workload.split("/")[1]}->${e.target.service}`;

Deno.test("topology of emojivoto: the known edges, rates, mTLS and verdicts", async () => {
  const t = await topology({ namespace: "emojivoto", time_range: "5m" });
  assert.deepEqual(t.edges.map(pair).sort(), knownEdges("emojivoto"));
  for (const e of t.edges) {
    const truth = edgeTruth(
      `emojivoto/${e.source.workload.split("/")[1]}`,
      e.target.namespace,
      e.target.service,
    );
    assert.ok(
      Math.abs(e.requestRate - truth.rps) < 0.05 * truth.rps,
      `${pair(e)} ${e.requestRate}`,
    );
    assert.equal(e.mtls, "all", pair(e));
    assert.equal(e.verdict, "allowed", pair(e));
  }
  assert.equal(t.totalEdges, t.edges.length);
  assert.equal(t.dataSource.kind, "demo");
  // busiest first: vote-bot → web-svc (10 rps)
  assert.equal(pair(t.edges[0]), "vote-bot->web-svc");
});

Deno.test("topology of booksapp: audit, partial with denials, allowed by default", async () => {
  const t = await topology({ namespace: "booksapp" });
  assert.deepEqual(t.edges.map(pair).sort(), knownEdges("booksapp"));
  const by = Object.fromEntries(t.edges.map((e: Data) => [pair(e), e]));
  assert.equal(by["traffic->webapp"].verdict, "audit");
  assert.match(by["traffic->webapp"].policy, /Server\/webapp-server/);
  assert.equal(by["webapp->books"].verdict, "allowed");
  assert.equal(by["webapp->authors"].verdict, "allowed");
  assert.equal(by["books->authors"].verdict, "partial");
  const denied = edgeTruth("booksapp/books", "booksapp", "authors").deniedRps;
  assert.ok(denied > 0);
  assert.ok(
    Math.abs(by["books->authors"].deniedRate - denied) < 0.02,
    by["books->authors"].deniedRate,
  );
  for (const e of t.edges.filter((e: Data) => pair(e) !== "books->authors")) {
    assert.equal(e.deniedRate, 0, pair(e));
  }
  assert.deepEqual(t.verdicts, { audit: 1, allowed: 2, partial: 1 });
  // the picture: audit orange, partial yellow, each named in the edge label
  assert.match(t.mermaid, /\|"8 rps, 90% ok, mTLS, audit"\|/);
  assert.match(t.mermaid, /0\.2 rps denied, partial/);
});

Deno.test("topology: the whole mesh's default answer is at most 8 KB", async () => {
  const t = await topology({});
  assert.ok(t.totalEdges >= knownEdges("emojivoto").length + knownEdges("booksapp").length);
  const size = new TextEncoder().encode(JSON.stringify(t)).length;
  assert.ok(size <= 8192, `${size} bytes`);
});

Deno.test("topology: a bad namespace or window is an actionable error", async () => {
  await withDemoClient(async (client) => {
    const r = await client.callTool({
      name: "get_mesh_topology",
      arguments: { namespace: "Bad_NS" },
    });
    assert.equal(r.isError, true);
    assert.match(JSON.stringify(r.content), /namespace/);
    const w = await client.callTool({ name: "get_mesh_topology", arguments: { time_range: "5x" } });
    assert.equal(w.isError, true);
    assert.match(JSON.stringify(w.content), /time_range/);
  });
});

// ---------------------------------------------------------------- bounded, pure

function bigInput(n: number) {
  const traffic: TrafficSample[] = [];
  for (let i = 0; i < n; i++) {
    traffic.push({
      source: { namespace: "production-payments", kind: "deployment", name: `client-${i}` },
      dstNamespace: "production-payments",
      dstService: `payments-api-${i % 40}`,
      classification: "success",
      tls: i % 3 ? "true" : "no_identity",
      count: (n - i) * 60,
    });
  }
  return {
    windowSeconds: 60,
    traffic,
    denies: [],
    workloadsOfIdentity: () => [],
    servicesOfWorkload: () => [],
    verdict: (_s: unknown, t: { service: string }) => ({
      verdict: (t.service.endsWith("3") ? "denied" : "allowed") as "denied" | "allowed",
      policy: "Server/payments-api-http, AuthorizationPolicy/payments-api-callers",
    }),
  };
}

Deno.test("topology of a large namespace keeps the busiest edges and counts the rest", () => {
  const limit = DEFAULT_TOPOLOGY_LIMIT;
  const t = buildTopology({ ...bigInput(500), limit });
  assert.equal(t.edges.length, limit);
  assert.equal(t.totalEdges, 500);
  assert.equal(t.omitted.edges, 500 - limit);
  assert.ok(t.omitted.requestRate > 0);
  assert.equal(t.edges[0]!.source.workload, "deployment/client-0");
  assert.ok(t.omitted.nodes > 0);
  const rates = t.edges.map((e) => e.requestRate);
  assert.deepEqual(rates, [...rates].sort((a, b) => b - a));
  assert.equal(t.verdicts.allowed! + t.verdicts.denied!, 500);
  const size = new TextEncoder().encode(JSON.stringify({ ...t, mermaid: renderMermaid(t) })).length;
  assert.ok(size <= 8192, `${size} bytes for ${limit} edges`);
  assert.match(renderMermaid(t), new RegExp(`${500 - limit} more edges`));
});

// ---------------------------------------------------------------- Mermaid grammar

/**
 * A small grammar of the flowchart subset renderMermaid writes; returns the problems.
 * Node ids are [A-Za-z][A-Za-z0-9_]*, labels are "..." without a raw quote, every edge
 * joins declared nodes, linkStyle indices name existing links, subgraphs are closed.
 */
function checkFlowchart(src: string): string[] {
  const problems: string[] = [];
  const lines = src.split("\n");
  if (!/^flowchart (LR|TD|TB|RL|BT)$/.test(lines[0] ?? "")) problems.push("no flowchart header");
  const ID = "[A-Za-z][A-Za-z0-9_]*";
  const LABEL = '"[^"]*"';
  const nodes = new Set<string>();
  const links: Array<[string, string]> = [];
  const styles: number[] = [];
  let depth = 0;
  for (const [i, raw] of lines.slice(1).entries()) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^subgraph (${ID})\\[${LABEL}\\]$`).exec(line))) depth++;
    else if (line === "end") depth--;
    else if ((m = new RegExp(`^(${ID})(?:\\[${LABEL}\\]|\\(\\[${LABEL}\\]\\))$`).exec(line))) {
      nodes.add(m[1]!);
    } else if (
      (m = new RegExp(`^(${ID}) (-->|-\\.->)\\|${LABEL}\\| (${ID})$`).exec(line)) ||
      (m = new RegExp(`^(${ID}) (---) (${ID})$`).exec(line))
    ) {
      links.push([m[1]!, m[3]!]);
    } else if ((m = /^linkStyle ([0-9,]+) ([a-z-]+:[^;\s]+(,[a-z-]+:[^;,]+)*)$/.exec(line))) {
      styles.push(...m[1]!.split(",").map(Number));
    } else problems.push(`line ${i + 2} does not parse: ${line}`);
    if (depth < 0) problems.push(`line ${i + 2}: end without subgraph`);
  }
  if (depth !== 0) problems.push("unclosed subgraph");
  for (const [a, b] of links) {
    if (!nodes.has(a) || !nodes.has(b)) problems.push(`link ${a} → ${b} to an undeclared node`);
  }
  for (const s of styles) if (s >= links.length) problems.push(`linkStyle ${s} has no link`);
  return problems;
}

Deno.test("the grammar check rejects broken flowcharts", () => {
  assert.deepEqual(checkFlowchart('flowchart LR\n  a["x"]\n  b["y"]\n  a -->|"z"| b'), []);
  assert.notDeepEqual(checkFlowchart('flowchart LR\n  a["x"]\n  a -->|"z"| b'), []);
  assert.notDeepEqual(checkFlowchart('flowchart LR\n  a["x "y""]'), []);
  assert.notDeepEqual(checkFlowchart('flowchart LR\n  a["x"]\n  linkStyle 0 stroke:#fff'), []);
  assert.notDeepEqual(checkFlowchart('flowchart LR\n  subgraph s["n"]\n  a["x"]'), []);
});

Deno.test("the demo's Mermaid flowcharts parse (node ids, edges, linkStyle)", async () => {
  for (const args of [{ namespace: "emojivoto" }, { namespace: "booksapp" }, {}]) {
    const t = await topology(args);
    assert.deepEqual(checkFlowchart(t.mermaid), [], t.mermaid);
    const arrows = t.mermaid.split("\n").filter((l: string) => / -(-|\.-)>\|/.test(l));
    assert.equal(arrows.length, t.edges.length);
  }
  const big = buildTopology({ ...bigInput(300), limit: 30 });
  assert.deepEqual(checkFlowchart(renderMermaid(big)), []);
});

Deno.test("Mermaid labels escape quotes and markup", () => {
  const s = mermaidText('a "b" <c> |d| [e]');
  assert.ok(!/["<>|[\]]/.test(s), s);
  assert.match(s, /#34;b#34;/);
});

// ---------------------------------------------------------------- callers from elsewhere

Deno.test("topology of a namespace includes its callers from other namespaces, once", async () => {
  const base = demoDeps();
  const sample = (ns: string, deployment: string, count: number) => ({
    metric: {
      namespace: ns,
      deployment,
      "dst_namespace": "booksapp",
      "dst_service": "authors",
      classification: "success",
      tls: "true",
    },
    value: count,
  });
  const prom = {
    describe: () => "fake Prometheus (tests)",
    query: (q: string) =>
      Promise.resolve(
        q === topologyTrafficQuery("booksapp", 300)
          ? [sample("booksapp", "webapp", 600)]
          : q === topologyInboundQuery("booksapp", 300)
          // webapp's own edge comes back here too: it must not be counted twice
          ? [sample("emojivoto", "web", 300), sample("booksapp", "webapp", 600)]
          : [],
      ),
    queryRange: () => Promise.resolve([]),
  };
  const { client, close } = await connectInProcess({ ...base, prom });
  try {
    const r = await client.callTool({
      name: "get_mesh_topology",
      arguments: { namespace: "booksapp" },
    });
    assert.ok(!r.isError, JSON.stringify(r.content));
    const t = r.structuredContent as Data;
    assert.deepEqual(
      t.edges.map((e: Data) => `${e.source.namespace}/${e.source.workload}`).sort(),
      ["booksapp/deployment/webapp", "emojivoto/deployment/web"],
    );
    const webapp = t.edges.find((e: Data) => e.source.namespace === "booksapp");
    assert.equal(webapp.requestRate, 2); // 600 in 5 minutes, not 1200
    const foreign = t.edges.find((e: Data) => e.source.namespace === "emojivoto");
    assert.equal(foreign.requestRate, 1);
    const conn = (await client.callTool({
      name: "analyze_connectivity",
      arguments: {
        source_namespace: "emojivoto",
        source_workload: "deployment/web",
        target_namespace: "booksapp",
        target_service: "authors",
      },
    })).structuredContent as Data;
    assert.equal(foreign.verdict, conn.verdict);
    assert.deepEqual(checkFlowchart(t.mermaid), []);
    assert.match(t.mermaid, /subgraph ns\d+\["emojivoto"\]/);
  } finally {
    await close();
  }
});

Deno.test("topology: following nextCursor returns every edge once, busiest first", async () => {
  const args = { "time_range": "5m" };
  const whole = await topology({ ...args, limit: 200 });
  assert.ok(whole.totalEdges > 4, `${whole.totalEdges} edges`);
  assert.equal(whole.total, whole.totalEdges);
  assert.equal(whole.nextCursor, undefined);
  const key = (e: Data) =>
    `${e.source.namespace}/${e.source.workload}>${e.target.namespace}/${e.target.service}`;
  const got: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const p = await topology({ ...args, limit: 3, ...(cursor ? { cursor } : {}) });
    pages++;
    // every edge of a page is drawn from the nodes of that page
    const ids = new Set(p.nodes.map((n: Data) => n.id));
    for (const e of p.edges) assert.ok(ids.has(e.from) && ids.has(e.to), key(e));
    got.push(...p.edges.map(key));
    assert.equal(p.omitted.edges, whole.totalEdges - p.edges.length);
    cursor = p.nextCursor;
    assert.ok(pages < 100);
  } while (cursor);
  assert.equal(pages, Math.ceil(whole.totalEdges / 3));
  assert.deepEqual(got, whole.edges.map(key));
  // the default page fits the budget and says how to get the rest
  const first = await topology(args);
  assert.ok(2 * JSON.stringify(first).length <= 8192);
  if (first.nextCursor) assert.ok(first.notes.some((n: string) => /pass nextCursor/.test(n)));
  await withDemoClient(async (client) => {
    const r = await client.callTool({
      name: "get_mesh_topology",
      arguments: { namespace: "booksapp", time_range: "5m", cursor: first.nextCursor ?? "x" },
    });
    assert.equal(r.isError, true);
    assert.match(
      JSON.stringify(r.content),
      /Cursor (was issued for different arguments|"x" is not valid)/,
    );
  });
});
