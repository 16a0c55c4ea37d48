/**
 * Warm calls of the policy and health tools on a synthetic cluster (issue 14: "≤ 50 ms at
 * 10k pods, with zero API requests while the watch is healthy"). One server process, run as
 * `deno task start` runs it, against the Kubernetes API stand-in in its own process: each
 * tool's first call, then `--rounds` rounds of warm calls, each round `--delay-ms` after the
 * last (past the 3 s list TTL, so a call not served by a watch re-lists). Prints per tool the
 * first call, the median / min / max of its warm calls and the API requests they sent
 * (counted from the server's debug log: lists and gets, not the long-lived watches).
 *
 * Run: `deno run -A bench/warm_bench.ts [--pods 10000] [--rounds 5] [--delay-ms 3500]
 * [--fresh] [--chart-rbac] [--tools check_mesh_health,...] [--root DIR] [--v8-flags FLAGS]`
 * (`--fresh`: a new server process per tool, so no tool warms another's caches;
 * `--chart-rbac`: ConfigMaps readable by name only, as the Helm chart's Role grants them;
 * `--root`: run the server of another copy of the tree, e.g. a baseline; `--v8-flags`: passed
 * to the server's `deno run`). Linux, for `/proc/<pid>/status`.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { BENCH_TOOLS, serverTransport, startStandinProcess } from "./_server_proc.ts";

/** The benchmarks' tools, and the lightest policy tool as a floor. */
const TOOLS: Array<[string, Record<string, unknown>]> = [
  ...BENCH_TOOLS,
  ["get_inbound_policy", { namespace: "app-000", service: "svc-00000", port: 8080 }],
];

function flag(name: string): string | undefined {
  const eq = Deno.args.find((a) => a.startsWith(`${name}=`));
  if (eq) return eq.slice(name.length + 1);
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}
const pods = Number(flag("--pods") ?? 10_000);
const rounds = Number(flag("--rounds") ?? 5);
const delayMs = Number(flag("--delay-ms") ?? 3_500);
const chartRbac = Deno.args.includes("--chart-rbac");
const only = flag("--tools")?.split(",");
const v8Flags = flag("--v8-flags");
const fresh = Deno.args.includes("--fresh");
const here = new URL("..", import.meta.url);
const root = flag("--root") ? new URL(`file://${flag("--root")!.replace(/\/?$/, "/")}`) : here;
const write = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

function peakMb(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of a process so far, in ms (10 ms resolution). */
function cpuMs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime in 1/100 s
  } catch {
    return NaN;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number) => x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`;

const { child: standin, api } = await startStandinProcess(pods, {
  args: chartRbac ? ["chart-rbac"] : [],
});

interface Sample {
  ms: number;
  cpuMs: number;
  requests: number;
  paths: string[];
}
interface Result {
  first: Sample;
  warm: Sample[];
}

/** One server process: each tool's first call, then `rounds` rounds of warm calls. */
async function runServer(tools: Array<[string, Record<string, unknown>]>) {
  let requests = 0;
  /** Paths of the requests counted since the last reset (what a warm call re-read). */
  let paths: string[] = [];
  const transport = serverTransport({
    kubeconfigPath: api.kubeconfigPath,
    timeoutMs: 60_000,
    flags: v8Flags ? [`--v8-flags=${v8Flags}`] : [],
    onLine(l) {
      if (l.includes(" kube request ")) {
        requests++;
        paths.push(/path=(\S+)/.exec(l)?.[1] ?? "?");
      } else if (
        !l.includes(" debug ") && !l.includes("DEP0040") && !l.includes(" serving MCP")
      ) {
        Deno.stderr.writeSync(new TextEncoder().encode(l + "\n"));
      }
    },
  });
  const client = new Client({ name: "warm-bench", version: "0.0.0" });
  await client.connect(transport);
  const pid = transport.pid!;
  try {
    const call = async (name: string, args: Record<string, unknown>) => {
      const before = requests;
      paths = [];
      const cpu0 = cpuMs(pid);
      const t0 = performance.now();
      const res = await client.callTool({ name, arguments: args }) as {
        isError?: boolean;
        content?: Array<{ text?: string }>;
      };
      const took = performance.now() - t0;
      const cpu = cpuMs(pid) - cpu0;
      if (res.isError) {
        throw new Error(`${name} failed: ${res.content?.[0]?.text?.slice(0, 300)}`);
      }
      await new Promise((r) => setTimeout(r, 30)); // the last request's log line may trail
      return { ms: took, cpuMs: cpu, requests: requests - before, paths: [...paths] };
    };
    const out = new Map<string, Result>();
    for (const [name, args] of tools) out.set(name, { first: await call(name, args), warm: [] });
    for (let r = 0; r < rounds; r++) {
      await new Promise((res) => setTimeout(res, delayMs));
      for (const [name, args] of tools) out.get(name)!.warm.push(await call(name, args));
    }
    return { results: out, peakMb: peakMb(pid) };
  } finally {
    await client.close();
  }
}

let client: Client | undefined;
try {
  const tools = TOOLS.filter(([t]) => !only || only.includes(t));
  const results = new Map<string, Result>();
  const peaks: number[] = [];
  for (const group of fresh ? tools.map((t) => [t]) : [tools]) {
    const run = await runServer(group);
    for (const [k, v] of run.results) results.set(k, v);
    if (run.peakMb !== undefined) peaks.push(run.peakMb);
  }
  write(
    `warm calls on a synthetic ${pods}-pod cluster${
      chartRbac ? " (chart RBAC for ConfigMaps)" : ""
    }` +
      `, server ${root.pathname}${v8Flags ? ` --v8-flags=${v8Flags}` : ""}, ${
        fresh ? "a fresh server per tool" : "one server for all tools"
      }; ${rounds} rounds, ${delayMs} ms apart; load ${
        Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
      }`,
  );
  write(
    "| tool | first call | CPU | req | warm median | min | max | warm CPU median | req per warm call |",
  );
  write("|---|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const [name] of tools) {
    const { first: f, warm: w } = results.get(name)!;
    const t = w.map((x) => x.ms);
    write(
      `| ${name} | ${ms(f.ms)} | ${ms(f.cpuMs)} | ${f.requests} | ${ms(median(t))} | ${
        ms(Math.min(...t))
      } | ${ms(Math.max(...t))} | ${ms(median(w.map((x) => x.cpuMs)))} | ${
        w.map((x) => x.requests).join(", ")
      } |`,
    );
    const reread = [...new Set(w.flatMap((x) => x.paths))];
    if (reread.length) write(`|  ↳ re-read | ${reread.slice(0, 6).join(" ")} ||||||||`);
  }
  if (peaks.length) {
    write(`server peak RSS (VmHWM): ${peaks.map((p) => p.toFixed(0)).join(", ")} MB`);
  }
} finally {
  await client?.close();
  await standin.stdin.close();
  await standin.status;
}
