/**
 * Starts a real Prometheus (Debian's `prometheus` 2.42) on 127.0.0.1 and a random
 * free port, over a temporary data directory backfilled with
 * `promtool tsdb create-blocks-from openmetrics`. No scrape targets.
 *
 * @module
 */

/** A running Prometheus. */
export interface TestPrometheus {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

function which(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      const p = `${dir}/${cmd}`;
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Paths of the binaries, or `undefined` when Prometheus is not installed. */
export const PROMETHEUS_BIN = which("prometheus");
export const PROMTOOL_BIN = which("promtool");

/** Why the real-Prometheus tests are skipped, or `undefined` when they run. */
export const SKIP_REASON = PROMETHEUS_BIN && PROMTOOL_BIN
  ? undefined
  : "prometheus/promtool are not installed (apt-get install prometheus): real-Prometheus tests skipped";

if (SKIP_REASON) {
  Deno.stderr.writeSync(new TextEncoder().encode(`SKIP: ${SKIP_REASON}\n`));
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Backfills `openMetricsText` and starts Prometheus; waits for `/-/ready`. */
export async function startPrometheus(openMetricsText: string): Promise<TestPrometheus> {
  if (SKIP_REASON) throw new Error(SKIP_REASON);
  const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-prom-" });
  await Deno.writeTextFile(`${dir}/data.om`, openMetricsText);
  await Deno.writeTextFile(`${dir}/prometheus.yml`, "global:\n  scrape_interval: 15s\n");
  const backfill = await new Deno.Command(PROMTOOL_BIN!, {
    args: ["tsdb", "create-blocks-from", "openmetrics", `${dir}/data.om`, `${dir}/data`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!backfill.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`promtool failed: ${new TextDecoder().decode(backfill.stderr)}`);
  }
  await Deno.remove(`${dir}/data.om`);
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = await Deno.open(`${dir}/prometheus.log`, { write: true, create: true });
  const child = new Deno.Command(PROMETHEUS_BIN!, {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--storage.tsdb.retention.time=30d`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const pump = child.stderr.pipeTo(log.writable).catch(() => {});
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await pump;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/-/ready`);
      await r.body?.cancel();
      if (r.ok) return { url, dir, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const text = await Deno.readTextFile(`${dir}/prometheus.log`).catch(() => "");
  await stop();
  throw new Error(`Prometheus did not become ready within 20 s: ${text.slice(-2000)}`);
}
