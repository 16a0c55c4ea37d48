/**
 * Peak memory of the server at 1k and 10k pods (50k with `MEMORY_BENCH_50K=1`): for each
 * scale a synthetic cluster (tests/support/synthetic.ts: pods/5 Services, Deployments,
 * ReplicaSets, ServiceAccounts, Servers and policies in proportion) is served by the
 * Kubernetes API stand-in in its own process (its memory is not counted), the server runs
 * as `deno task start` runs it (same flags, `KUBECONFIG`, stdio), and a real MCP client calls
 * `list_meshed_services`, `check_mesh_health`, `get_allowed_sources` and
 * `validate_mesh_config`, each a first time and again at once (warm: the watch-fed cache).
 * After each call it prints the server's time, its RSS and peak RSS (VmRSS and VmHWM of its
 * process) and its V8 heap as the server last logged it (the live source logs
 * `Deno.memoryUsage()` at debug level when a kind's first list is stored).
 *
 * Run: `deno run -A bench/memory_bench.ts [PODS...]` (Linux, for `/proc/<pid>/status`);
 * default 1000 10000, plus 50000 with `MEMORY_BENCH_50K=1` (about a minute more).
 * `MEMORY_BENCH_FLAGS="--v8-flags=..."` adds Deno flags to the server's (experiments only);
 * `MEMORY_BENCH_VERBOSE=1` shows the server's memory after each kind's first list.
 * Each scale takes 10-30 s at 10k pods; not a pass/fail test.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { serverTransport, startStandinProcess } from "./_server_proc.ts";

const write = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
const scales = Deno.args.length
  ? Deno.args.map(Number)
  : [1_000, 10_000, ...(Deno.env.get("MEMORY_BENCH_50K") === "1" ? [50_000] : [])];
/** `MEMORY_BENCH_VERBOSE=1`: the server's "kube list stored" lines go to stderr. */
const verbose = Deno.env.get("MEMORY_BENCH_VERBOSE") === "1";
const extraFlags = (Deno.env.get("MEMORY_BENCH_FLAGS") ?? "").split(/\s+/).filter(Boolean);

/** `VmHWM` (peak RSS) and `VmRSS` of a process, in MB, from `/proc/<pid>/status`. */
function memoryOf(pid: number): { peakMb: number; rssMb: number } | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    if (verbose) {
      const roll = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
      const r = (key: string) =>
        Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(roll)?.[1]) >> 10;
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `  rss anon ${kb("RssAnon") >> 10} MB, file ${kb("RssFile") >> 10} MB; private dirty ${
            r("Private_Dirty")
          } MB\n`,
        ),
      );
    }
    return { peakMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024 };
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

/** The calls made at every scale, in order. */
const CALLS: Array<[string, Record<string, unknown>]> = [
  ["list_meshed_services", {}],
  ["check_mesh_health", {}],
  ["get_allowed_sources", { target_namespace: "app-000", target_service: "svc-00000" }],
  ["validate_mesh_config", {}],
];

/** One scale: the stand-in, the server, the calls; returns the server's final peak RSS. */
async function runScale(pods: number): Promise<number | undefined> {
  const { child: standin, api } = await startStandinProcess(pods);
  let client: Client | undefined;
  /** The V8 heap the server logged last ("heapUsedMb" of a debug line). */
  let heap = "";
  try {
    const transport = serverTransport({
      kubeconfigPath: api.kubeconfigPath,
      timeoutMs: 60_000,
      flags: extraFlags,
      onLine(l) {
        const m = /heapUsedMb=(\d+)/.exec(l);
        if (m) heap = `${m[1]} MB`;
        if (/ (warn|error) /.test(l) || (verbose && l.includes("kube list stored"))) {
          Deno.stderr.writeSync(new TextEncoder().encode(l + "\n"));
        }
      },
    });
    client = new Client({ name: "memory-bench", version: "0.0.0" });
    const t0 = performance.now();
    await client.connect(transport);
    const pid = transport.pid;
    if (pid === null) throw new Error("The server process has no pid");
    const rows: string[][] = [];
    const row = (what: string, ms: number) => {
      const m = memoryOf(pid);
      rows.push([
        what,
        `${ms.toFixed(0)} ms`,
        m ? `${m.rssMb.toFixed(0)} MB` : "n/a",
        m ? `${m.peakMb.toFixed(0)} MB` : "n/a",
        heap || "-",
      ]);
    };
    row("spawn + initialize", performance.now() - t0);
    for (const [name, args] of CALLS) {
      for (const when of ["first", "warm"]) {
        const started = performance.now();
        const res = await client.callTool({ name, arguments: args }) as {
          isError?: boolean;
          content?: Array<{ text?: string }>;
        };
        const ms = performance.now() - started;
        if (res.isError) {
          throw new Error(`${name} failed: ${res.content?.[0]?.text?.slice(0, 300)}`);
        }
        await new Promise((r) => setTimeout(r, 30)); // the last debug line may trail
        row(`${name} (${when})`, ms);
      }
    }
    const head = ["step", "time", "RSS", "peak RSS", "V8 heap used*"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    write(`\n${pods} pods (${Math.round(pods / 5)} Services), stand-in ${api.url}`);
    for (const r of [head, ...rows]) {
      write(r.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join("  "));
    }
    return memoryOf(pid)?.peakMb;
  } finally {
    await client?.close();
    await standin.stdin.close();
    await standin.status;
  }
}

const peaks: string[] = [];
for (const pods of scales) {
  const peak = await runScale(pods);
  peaks.push(`${pods} pods: ${peak === undefined ? "n/a" : `${peak.toFixed(0)} MB`}`);
}
write(`\nserver peak RSS (VmHWM) over the four tools: ${peaks.join(", ")}`);
write("* V8 heap used as the server logged it when its last kind's first list was stored");
