/**
 * `list_meshed_services` on a synthetic 10,000-pod cluster served by the Kubernetes API
 * stand-in: the server runs as `deno task start` runs it (same permission flags,
 * `KUBECONFIG`, stdio), a real MCP client calls the tool, and the server's time and peak
 * memory (VmHWM of its process) are printed, with the API requests each call sent (counted
 * from the server's debug log: lists and gets, not the long-lived watch requests). The
 * stand-in runs in its own process so that its memory is not counted.
 *
 * Run: `deno run -A bench/list_meshed_bench.ts [PODS]` (Linux, for `/proc/<pid>/status`)
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { serverTransport, startStandinProcess } from "./_server_proc.ts";

const pods = Number(Deno.args[0] ?? 10_000);
const write = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

/** `VmHWM` (peak RSS) and `VmRSS` of a process, in MB, from `/proc/<pid>/status`. */
function memoryOf(pid: number): { peakMb: number; rssMb: number } | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    return { peakMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024 };
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

// The stand-in (synthetic cluster: PODS pods, PODS/5 Services) in a child process.
const { child: standin, api } = await startStandinProcess(pods);

const rows: Array<[string, string, string, string]> = [];
/** API requests the server logged ("kube request" debug lines) so far. */
let requests = 0;
let counts = "";
let client: Client | undefined;
try {
  let t0 = performance.now();
  const transport = serverTransport({
    kubeconfigPath: api.kubeconfigPath,
    timeoutMs: 30_000,
    onLine(l) {
      if (l.includes(" kube request ")) requests++;
      else if (!l.includes(" debug ")) Deno.stderr.writeSync(new TextEncoder().encode(l + "\n"));
    },
  });
  client = new Client({ name: "list-meshed-bench", version: "0.0.0" });
  await client.connect(transport);
  const pid = transport.pid;
  if (pid === null) throw new Error("The server process has no pid");
  const mem = () => {
    const m = memoryOf(pid);
    return m ? `${m.rssMb.toFixed(0)} MB (peak ${m.peakMb.toFixed(0)} MB)` : "n/a";
  };
  rows.push(["spawn + initialize", `${(performance.now() - t0).toFixed(0)} ms`, "0", mem()]);

  const list = async (label: string, args: Record<string, unknown> = {}) => {
    t0 = performance.now();
    const before = requests;
    const res = await client!.callTool({ name: "list_meshed_services", arguments: args }) as {
      isError?: boolean;
      structuredContent?: { totalServices?: number; summary?: { selectedPods?: number } };
      content?: Array<{ text?: string }>;
    };
    const ms = performance.now() - t0;
    if (res.isError) throw new Error(`list_meshed_services failed: ${res.content?.[0]?.text}`);
    const s = res.structuredContent;
    counts = `${s?.totalServices} meshed Services, ${s?.summary?.selectedPods} selected pods`;
    // The log line of the last request may trail the answer a little.
    await new Promise((r) => setTimeout(r, 50));
    rows.push([label, `${ms.toFixed(0)} ms`, String(requests - before), mem()]);
  };
  await list("first call (loads its modules, lists)");
  await list("second call (at once)");
  await new Promise((r) => setTimeout(r, 3_100));
  await list("third call (3.1 s later: past the list TTL)");
  await list("fourth call");
  await list("limit 1000", { limit: 1000 });

  const width = Math.max(...rows.map((r) => r[0].length));
  write(`list_meshed_services on a synthetic ${pods}-pod cluster (${counts}), stand-in ${api.url}`);
  write(`${"step".padEnd(width)}  ${"time".padStart(8)}  requests  server RSS after`);
  for (const [what, time, n, m] of rows) {
    write(`${what.padEnd(width)}  ${time.padStart(8)}  ${n.padStart(8)}  ${m}`);
  }
  const final = memoryOf(pid);
  if (final) write(`server peak RSS (VmHWM): ${final.peakMb.toFixed(0)} MB`);
} finally {
  await client?.close();
  await standin.stdin.close();
  await standin.status;
}
