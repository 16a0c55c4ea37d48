// deno-lint-ignore-file no-console
/**
 * Times `get_service_health_summary` over a namespace of N services (default 500) in a
 * real Prometheus (backfilled like the tests) and counts the queries it sent.
 *
 *   deno run -A bench/metrics_bench.ts [services=500] [runs=5]
 *
 * Runs once without cluster access (services named after their workloads) and once
 * with N Services and N pods in an in-memory cluster (Service → workload resolution).
 *
 * @module
 */
import { HttpPromClient, RecordingPromClient } from "../src/metrics/prom_client.ts";
import { runTool } from "../src/tools/_spec.ts";
import { metricsTools } from "../src/tools/metrics.ts";
import type { KubeObject } from "../src/kube/types.ts";
import { testDeps } from "../tests/_helpers.ts";
import { manyServices, NS, openMetrics } from "../tests/support/openmetrics_gen.ts";
import { SKIP_REASON, startPrometheus } from "../tests/support/prometheus.ts";
import { syntheticServicePods } from "../tests/support/synthetic.ts";

const n = Number(Deno.args[0] ?? 500);
const runs = Number(Deno.args[1] ?? 5);
if (SKIP_REASON) {
  console.error(SKIP_REASON);
  Deno.exit(2);
}
const end = Math.floor(Date.now() / 60_000) * 60 - 60;
let t0 = performance.now();
const prom = await startPrometheus(openMetrics(manyServices(n), end, 15 * 60, 15));
console.log(
  `backfill + start of Prometheus with ${n} services: ${(performance.now() - t0).toFixed(0)} ms`,
);
const spec = metricsTools().find((t) => t.name === "get_service_health_summary")!;
const cluster = syntheticServicePods(n, NS);
try {
  for (
    const [label, objects] of [["no cluster", []], [
      `${n} Services + pods in memory`,
      cluster,
    ]] as const
  ) {
    const times: number[] = [];
    let queries = 0, services = 0;
    for (let r = 0; r < runs; r++) {
      const rec = new RecordingPromClient(new HttpPromClient({ url: prom.url, timeoutMs: 30_000 }));
      const deps = testDeps(objects as KubeObject[], {
        prom: rec,
        now: () => new Date(end * 1000),
      });
      t0 = performance.now();
      const out = await runTool(spec, { namespace: NS, time_range: "5m" }, deps);
      times.push(performance.now() - t0);
      if (!out.ok) throw new Error(out.error);
      queries = rec.queries.length;
      // deno-lint-ignore no-explicit-any
      services = (out.data as any).services.length;
    }
    times.sort((a, b) => a - b);
    console.log(
      `get_service_health_summary, ${label}: ${services} services, ${queries} queries per call, ` +
        `median ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms (min ${
          times[0]!.toFixed(0)
        }, max ${times[times.length - 1]!.toFixed(0)}) over ${runs} runs`,
    );
  }
} finally {
  await prom.stop();
}
