/**
 * Lists the pods of a synthetic 10,000-pod cluster through the live source (real
 * `@kubernetes/client-node` credentials, HTTPS, 500 items a page) against the
 * Kubernetes API stand-in (in a child process, so that its memory is not counted), and
 * prints time and memory.
 *
 * Run: `deno run -A bench/live_bench.ts [PODS] [RUNS]`
 *
 * @module
 */
import { createLiveSource } from "../src/kube/live.ts";
import { startStandinProcess } from "./_server_proc.ts";

const pods = Number(Deno.args[0] ?? 10_000);
const runs = Number(Deno.args[1] ?? 5);
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
const write = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

const { child: child, api } = await startStandinProcess(pods, { stderr: "null" });
try {
  const baseline = Deno.memoryUsage().rss;
  let started = performance.now();
  const src = await createLiveSource({
    kubeconfigPath: api.kubeconfigPath,
    env: {},
    timeoutMs: 30_000,
    cacheTtlMs: 0,
  });
  write(
    `createLiveSource (lazy client-node import): ${(performance.now() - started).toFixed(0)} ms`,
  );

  let peak = 0;
  const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 5);
  const times: number[] = [];
  let count = 0;
  for (let i = 0; i < runs; i++) {
    started = performance.now();
    count = (await src.list("pods")).length;
    times.push(performance.now() - started);
  }
  clearInterval(sampler);
  times.sort((a, b) => a - b);
  write(
    `list pods: ${count} pods in ${Math.ceil(count / 500)} pages; ` +
      `best ${times[0]!.toFixed(0)} ms, median ${times[Math.floor(runs / 2)]!.toFixed(0)} ms, ` +
      `worst ${times.at(-1)!.toFixed(0)} ms of ${runs} runs`,
  );
  write(
    `memory: rss before ${mb(baseline)}, peak ${mb(peak)}, heap used now ${
      mb(Deno.memoryUsage().heapUsed)
    }`,
  );

  const cached = await createLiveSource({
    kubeconfigPath: api.kubeconfigPath,
    env: {},
    timeoutMs: 30_000,
  });
  await cached.list("pods");
  started = performance.now();
  await cached.list("pods");
  write(`list pods again (watch-fed cache): ${(performance.now() - started).toFixed(1)} ms`);
  await cached.close();
  await src.close();
} finally {
  await child.stdin.close();
  await child.status;
}
