/**
 * Records the demo's Prometheus (`src/demo/traffic.gen.ts`):
 *
 * 1. writes the demo mesh's known traffic (`tests/support/demo_traffic.ts`) as OpenMetrics,
 *    backfills it with `promtool tsdb create-blocks-from openmetrics` and starts a real
 *    Prometheus on it;
 * 2. calls every metrics tool on a grid of realistic arguments ({@linkcode demoCalls}) over the
 *    demo mesh, the clock at the traffic's "now", through a client that records each query the
 *    tools send and the answer Prometheus gives;
 * 3. writes the answers, keyed by a hash of the query and its relative time, with provenance.
 *
 * {@linkcode checkTraffic} (run by `gen_demo.ts --check`, no Prometheus needed) says whether the
 * recording is fresh: the generator's sources hash as recorded, and the tools, called on the same
 * grid, send exactly the recorded queries.
 *
 * Run through `deno task gen:demo` (`scripts/gen_demo.ts`), which also regenerates the mesh.
 *
 * @module
 */
import { loadConfig } from "../src/config.ts";
import { createDemoSource } from "../src/demo/mod.ts";
import {
  type DemoTrafficRecording,
  instantKey,
  offsetMinutes,
  queryHash,
  rangeKey,
  type RecordedAnswer,
  type RecordedValue,
  type RecordingCoverage,
} from "../src/demo/prom.ts";
import type { ClusterSource } from "../src/kube/source.ts";
import { SILENT } from "../src/log.ts";
import {
  HttpPromClient,
  type PromClient,
  type PromQueryOptions,
  type PromSample,
  type PromSeries,
} from "../src/metrics/prom_client.ts";
import { runTool, type ToolDeps } from "../src/tools/_spec.ts";
import { allTools } from "../src/tools/mod.ts";
import {
  DEMO_TRAFFIC_END,
  demoSeries,
  writeDemoOpenMetrics,
} from "../tests/support/demo_traffic.ts";

const ROOT = new URL("../", import.meta.url);
const OUTPUT = new URL("src/demo/traffic.gen.ts", ROOT);

/** The files whose content the recording depends on besides the tools (hashed). */
export const TRAFFIC_INPUTS = [
  "tests/support/demo_traffic.ts",
  "tests/support/openmetrics_gen.ts",
  "scripts/gen_demo_traffic.ts",
];

/** `time_range` values recorded for the instant-query tools. */
export const TIME_RANGES = ["1m", "5m", "10m", "15m", "30m", "1h", "6h", "24h"];
/** `time_range` values recorded for analyze_traffic_flow. */
export const FLOW_TIME_RANGES = ["5m", "10m", "15m", "1h"];
/** `time_range` values recorded for analyze_audit and generate_policies. */
export const LIFECYCLE_TIME_RANGES = ["1h", "6h", "24h"];
/** get_traffic_trends: `window` → `compare_to` values recorded. */
export const TRENDS: Record<string, string[]> = {
  "30m": ["previous"],
  "1h": ["previous", "1d", "7d"],
  "24h": ["previous", "1d", "7d"],
};

/** The recording's clock. */
export const RECORDING_NOW = new Date(DEMO_TRAFFIC_END * 1000);

/** One tool call of the grid. */
export interface DemoCall {
  tool: string;
  args: Record<string, unknown>;
}

/** Namespace → Service names (with a selector) and workload names, from the demo mesh. */
export async function demoNames(
  cluster: ClusterSource,
): Promise<{ services: Record<string, string[]>; all: Record<string, string[]> }> {
  const services: Record<string, string[]> = {};
  const all: Record<string, string[]> = {};
  for (const ns of (await cluster.list("namespaces")).map((n) => n.metadata.name)) {
    const svcs = (await cluster.list("services", { namespace: ns }))
      .filter((s) => Object.keys((s.spec as { selector?: object })?.selector ?? {}).length)
      .map((s) => s.metadata.name).sort();
    const workloads = (await Promise.all(
      (["deployments", "statefulsets", "daemonsets"] as const).map((r) =>
        cluster.list(r, { namespace: ns })
      ),
    )).flat().map((w) => w.metadata.name);
    services[ns] = svcs;
    all[ns] = [...new Set([...svcs, ...workloads])].sort();
  }
  return { services, all };
}

/** The grid of metrics-tool calls the recording covers. */
export async function demoCalls(cluster: ClusterSource): Promise<DemoCall[]> {
  const { all } = await demoNames(cluster);
  const calls: DemoCall[] = [];
  for (const [namespace, names] of Object.entries(all)) {
    for (const range of TIME_RANGES) {
      const tr = { "time_range": range };
      calls.push({ tool: "get_service_health_summary", args: { namespace, ...tr } });
      calls.push({ tool: "get_top_services", args: { namespace, ...tr } });
      calls.push({ tool: "get_mesh_topology", args: { namespace, ...tr } });
      for (const service of names) {
        calls.push({ tool: "get_service_metrics", args: { namespace, service, ...tr } });
      }
    }
    for (const range of FLOW_TIME_RANGES) {
      for (const source of names) {
        // Targets by Service name, and by workload name as the tools' own examples do
        for (const target of names) {
          calls.push({
            tool: "analyze_traffic_flow",
            args: {
              "source_namespace": namespace,
              "source_service": source,
              "target_service": target,
              "time_range": range,
            },
          });
        }
      }
    }
    for (const [window, compares] of Object.entries(TRENDS)) {
      for (const compare of compares) {
        for (const service of [undefined, ...names]) {
          calls.push({
            tool: "get_traffic_trends",
            args: { namespace, window, "compare_to": compare, ...(service ? { service } : {}) },
          });
        }
      }
    }
  }
  for (const range of TIME_RANGES) {
    calls.push({ tool: "get_mesh_topology", args: { "time_range": range } });
  }
  // the multicluster checks read the service mirror's gateway probes (west's Link to east)
  calls.push({ tool: "check_mesh_health", args: {} });
  // the policy lifecycle's read-only tools (not on the control plane, which they refuse)
  for (const range of LIFECYCLE_TIME_RANGES) {
    const tr = { "time_range": range };
    calls.push({ tool: "analyze_audit", args: tr });
    for (const namespace of Object.keys(all).filter((n) => n !== "linkerd")) {
      calls.push({ tool: "analyze_audit", args: { namespace, ...tr } });
      calls.push({ tool: "generate_policies", args: { namespace, ...tr } });
    }
  }
  return calls;
}

function round(v: number): RecordedValue {
  if (Number.isNaN(v)) return null;
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return Number(v.toPrecision(6));
}

/** Collects queries and (when it has an inner client) their answers, encoded. */
export class CapturePromClient implements PromClient {
  readonly entries = new Map<string, { key: string; answer: RecordedAnswer }>();
  readonly labels: Array<Record<string, string>> = [];
  #labelIndex = new Map<string, number>();
  #inner: PromClient | undefined;
  #now: Date;

  constructor(inner: PromClient | undefined, now: Date) {
    this.#inner = inner;
    this.#now = now;
  }

  describe(): string {
    return this.#inner?.describe() ?? "capture (no Prometheus)";
  }

  #label(m: Record<string, string>): number {
    const sorted = Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
    const k = JSON.stringify(sorted);
    let i = this.#labelIndex.get(k);
    if (i === undefined) {
      i = this.labels.push(sorted) - 1;
      this.#labelIndex.set(k, i);
    }
    return i;
  }

  async query(promql: string, opts: PromQueryOptions = {}): Promise<PromSample[]> {
    const key = instantKey(promql, offsetMinutes(opts.time ?? this.#now, this.#now));
    // a query without a time is asked at the recording's "now", not the wall clock's
    const r = this.#inner
      ? await this.#inner.query(promql, { ...opts, time: opts.time ?? this.#now })
      : [];
    this.entries.set(queryHash(key), {
      key,
      answer: { v: r.map((s) => [this.#label(s.metric), round(s.value)]) },
    });
    return r;
  }

  async queryRange(
    promql: string,
    range: { start: Date; end: Date; stepSeconds: number },
    opts?: { signal?: AbortSignal; onWarning?(w: string): void },
  ): Promise<PromSeries[]> {
    const seconds = Math.round((range.end.getTime() - range.start.getTime()) / 1000);
    const key = rangeKey(
      promql,
      offsetMinutes(range.end, this.#now),
      seconds,
      range.stepSeconds,
    );
    const r = this.#inner ? await this.#inner.queryRange(promql, range, opts) : [];
    const start = range.start.getTime() / 1000;
    const m = r.map((s): [number, number, Array<RecordedValue | "gap">] => {
      const runs: Array<RecordedValue | "gap"> = [];
      let first = -1, k = -1;
      for (const [t, v] of s.values) {
        const i = Math.round((t - start) / range.stepSeconds);
        if (first < 0) first = k = i;
        for (; k < i; k++) push("gap");
        push(round(v));
        k = i + 1;
      }
      function push(v: RecordedValue | "gap") {
        if (runs.length && runs[runs.length - 2] === v) {
          (runs[runs.length - 1] as number)++;
        } else runs.push(v, 1);
      }
      return [this.#label(s.metric), Math.max(first, 0), runs];
    });
    this.entries.set(queryHash(key), { key, answer: { m } });
    return r;
  }
}

/** Runs the grid's calls with `prom`, at the recording's clock; throws when one fails. */
export async function runCalls(prom: PromClient, calls: readonly DemoCall[]): Promise<void> {
  const tools = new Map(allTools().map((t) => [t.name, t]));
  const deps: ToolDeps = {
    cluster: createDemoSource(),
    config: loadConfig({}),
    prom,
    log: SILENT,
    now: () => RECORDING_NOW,
  };
  const failed: string[] = [];
  for (const c of calls) {
    const spec = tools.get(c.tool);
    if (!spec) throw new Error(`no tool named ${c.tool}`);
    const out = await runTool(spec, c.args, deps);
    if (!out.ok) failed.push(`${c.tool} ${JSON.stringify(c.args)}: ${out.error}`);
  }
  if (failed.length) {
    throw new Error(`${failed.length} calls failed, e.g.\n${failed.slice(0, 5).join("\n")}`);
  }
}

/** SHA-256 of the generator's sources. */
export async function inputsHash(): Promise<string> {
  const parts: string[] = [];
  for (const f of TRAFFIC_INPUTS) {
    parts.push(f, (await Deno.readTextFile(new URL(f, ROOT))).replaceAll("\r\n", "\n"));
  }
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\0")));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function coverage(): Promise<RecordingCoverage> {
  return {
    namespaces: (await demoNames(createDemoSource())).all,
    timeRanges: TIME_RANGES,
    flowTimeRanges: FLOW_TIME_RANGES,
    trends: TRENDS,
  };
}

function templateLiteral(text: string): string {
  return "`" + text.replaceAll("\\", "\\\\").replaceAll("`", "\\`").replaceAll("${", "\\${") +
    "`";
}

/** Renders `traffic.gen.ts`. */
export function renderTrafficModule(rec: DemoTrafficRecording): string {
  return [
    "// Code generated by scripts/gen_demo_traffic.ts (deno task gen:demo). DO NOT EDIT.",
    "// The demo mesh's known traffic (tests/support/demo_traffic.ts) backfilled into a real",
    "// Prometheus with promtool, queried with the metrics tools' own queries; see src/demo/prom.ts.",
    "",
    "/** Where the recording comes from. */",
    "export const DEMO_TRAFFIC_PROVENANCE = {",
    ...Object.entries(rec.provenance).map(([k, v]) => `  ${k}: ${JSON.stringify(v)},`),
    "};",
    "",
    "/** The recording (`DemoTrafficRecording` of src/demo/prom.ts) as JSON. */",
    "export const DEMO_TRAFFIC_JSON: string =",
    `  ${templateLiteral(JSON.stringify(rec))};`,
    "",
  ].join("\n");
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text.slice(-2000)}`);
  return text;
}

function which(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Generates the recording (needs `prometheus` and `promtool` on PATH). */
export async function generateTraffic(log: (s: string) => void): Promise<void> {
  const prometheus = which("prometheus"), promtool = which("promtool");
  if (!prometheus || !promtool) {
    throw new Error(
      "recording the demo's Prometheus needs prometheus and promtool on PATH (apt-get install prometheus)",
    );
  }
  const version = `Prometheus ${
    /version (\S+)/.exec(await run(prometheus, ["--version"]))?.[1] ?? "(unknown version)"
  }`;
  const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-demo-prom-" });
  let child: Deno.ChildProcess | undefined;
  try {
    const t0 = Date.now();
    const file = await Deno.open(`${dir}/data.om`, { write: true, create: true });
    const enc = new TextEncoder();
    const stats = await writeDemoOpenMetrics(demoSeries(), DEMO_TRAFFIC_END, async (c) => {
      const data = enc.encode(c);
      for (let at = 0; at < data.length;) at += await file.write(data.subarray(at));
    });
    file.close();
    log(`wrote ${stats.series} series, ${stats.samples} samples (${Date.now() - t0} ms)`);
    await run(promtool, [
      "tsdb",
      "create-blocks-from",
      "openmetrics",
      "--max-block-duration=24h",
      `${dir}/data.om`,
      `${dir}/data`,
    ]);
    await Deno.remove(`${dir}/data.om`);
    log(`backfilled with promtool (${Date.now() - t0} ms)`);
    await Deno.writeTextFile(`${dir}/prometheus.yml`, "global:\n  scrape_interval: 15s\n");
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    child = new Deno.Command(prometheus, {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        "--storage.tsdb.retention.time=30d",
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const r = await fetch(`${url}/-/ready`);
        await r.body?.cancel();
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error("Prometheus did not become ready within 60 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    const capture = new CapturePromClient(
      new HttpPromClient({ url, timeoutMs: 60_000 }),
      RECORDING_NOW,
    );
    const calls = await demoCalls(createDemoSource());
    await runCalls(capture, calls);
    log(
      `recorded ${capture.entries.size} queries of ${calls.length} calls (${Date.now() - t0} ms)`,
    );
    const answers: RecordedAnswer[] = [];
    const answerIndex = new Map<string, number>();
    const entries: Record<string, number> = {};
    for (const [hash, { answer }] of [...capture.entries].sort(([a], [b]) => a.localeCompare(b))) {
      const k = JSON.stringify(answer);
      let i = answerIndex.get(k);
      if (i === undefined) {
        i = answers.push(answer) - 1;
        answerIndex.set(k, i);
      }
      entries[hash] = i;
    }
    const rec: DemoTrafficRecording = {
      provenance: {
        generator: "scripts/gen_demo_traffic.ts from tests/support/demo_traffic.ts",
        prometheus: version,
        generated: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        end: RECORDING_NOW.toISOString().replace(/\.\d{3}Z$/, "Z"),
        inputsHash: await inputsHash(),
      },
      coverage: await coverage(),
      labels: capture.labels,
      answers,
      entries,
    };
    const text = renderTrafficModule(rec);
    await Deno.writeTextFile(OUTPUT, text);
    log(
      `wrote src/demo/traffic.gen.ts: ${answers.length} distinct answers, ${capture.labels.length} label sets, ${
        (text.length / 1024).toFixed(0)
      } KiB`,
    );
  } finally {
    if (child) {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      await child.status;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Problems that make the recording stale (empty when fresh): the generator's sources
 * changed, or the tools now send queries the recording does not hold (or no longer send
 * some it holds). Needs no Prometheus.
 */
export async function checkTraffic(): Promise<string[]> {
  let rec: DemoTrafficRecording;
  try {
    const m = await import("../src/demo/traffic.gen.ts");
    rec = JSON.parse(m.DEMO_TRAFFIC_JSON) as DemoTrafficRecording;
  } catch (err) {
    return [`src/demo/traffic.gen.ts cannot be read: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  if (rec.provenance.inputsHash !== await inputsHash()) {
    problems.push(`the traffic generator changed (${TRAFFIC_INPUTS.join(", ")})`);
  }
  const capture = new CapturePromClient(undefined, RECORDING_NOW);
  await runCalls(capture, await demoCalls(createDemoSource()));
  const missing = [...capture.entries].filter(([h]) => !(h in rec.entries));
  if (missing.length) {
    problems.push(
      `the metrics tools send ${missing.length} queries the recording does not hold, e.g. ${
        missing.slice(0, 3).map(([, e]) => JSON.stringify(e.key)).join(", ")
      }`,
    );
  }
  const extra = Object.keys(rec.entries).filter((h) => !capture.entries.has(h)).length;
  if (extra) problems.push(`the recording holds ${extra} queries the tools no longer send`);
  if (JSON.stringify(rec.coverage) !== JSON.stringify(await coverage())) {
    problems.push("the grid of recorded arguments changed");
  }
  return problems;
}
