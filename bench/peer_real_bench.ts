/**
 * `bench/peer_bench.ts` on a real kube-apiserver (v1.34.4 + etcd, tests/support/kube_real.ts)
 * instead of the stand-in: the same synthetic cluster (tests/support/synthetic.ts, loaded
 * through the API with pod and workload status written through the status subresource), the
 * Go kubernetes-mcp-server's `pods_list` beside our policy and health tools, each a fresh
 * server process: first call, a warm call `--warm-delay-ms` later, answer size, peak RSS.
 * The real server answers a dozen parallel lists on all cores, sends compressed answers
 * to clients that ask (both do), and prints the Go client's Tables itself.
 *
 * Run: `LINKERD_MCP_KUBE=1 deno run -A bench/peer_real_bench.ts [--scales 1000,10000]
 * [--warm-delay-ms 5000]` (Linux; the binaries built by scripts/kube/build.sh; loading takes
 * about 15 s at 1k and 3 min at 10k pods on two cores). Not part of `deno task bench`, not a test.
 *
 * @module
 */
import { peakRssMb, RpcProcess } from "./_peer_rpc.ts";
import { BENCH_TOOLS as OUR_TOOLS } from "./_server_proc.ts";
import { findGoServer, goServer, ourServer, type Server } from "./peer_bench.ts";
import { startRealKube } from "../tests/support/kube_real.ts";
import { syntheticCluster } from "../tests/support/synthetic.ts";

const root = new URL("..", import.meta.url).pathname;
const arg = (name: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};
const scales = (arg("--scales") ?? "1000,10000").split(",").map((s) =>
  Number(s.trim().replace(/k$/i, "000"))
);
const warmDelayMs = Number(arg("--warm-delay-ms") ?? 5000);
const write = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
const ms = (n: number) => n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`;
const kb = (n: number) =>
  n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} KB`;

/** A fresh server: handshake, first call, a warm call later, its peak RSS. */
async function session(s: Server, tool: string, args: Record<string, unknown>) {
  const p = RpcProcess.spawn(s.command, s.args, s.env);
  try {
    await p.handshake();
    const first = await p.callTool(tool, args);
    await new Promise((r) => setTimeout(r, warmDelayMs));
    const warm = await p.callTool(tool, args);
    return { first, warm, peakMb: peakRssMb(p.pid) };
  } finally {
    await p.close();
  }
}

const goBin = findGoServer();
write(
  `Real kube-apiserver; Go server: ${goBin ?? "not found (its rows are skipped)"}; ours: ` +
    "`deno run` + the `start` task's flags.",
);
for (const pods of scales) {
  // The real server allocates Service IPs from its own range.
  const objects = syntheticCluster({ pods, services: Math.max(1, Math.round(pods / 5)) })
    .map((o) => {
      if (o.kind !== "Service") return o;
      const { clusterIP: _ip, clusterIPs: _ips, ...spec } = (o.spec ?? {}) as Record<
        string,
        unknown
      >;
      return { ...o, spec };
    });
  const t0 = performance.now();
  await using kube = await startRealKube({ objects });
  write(
    `\n### ${pods.toLocaleString("en")} pods\n\n${objects.length} objects loaded through the API ` +
      `in ${ms(performance.now() - t0)}.\n\n` +
      "| server: tool (fresh process) | first call | warm | answer | peak RSS | first ÷ Go |\n" +
      "|---|---:|---:|---:|---:|---:|",
  );
  const kubeconfig = kube.users.admin.kubeconfigPath;
  let goFirst: number | undefined;
  if (goBin) {
    const home = await Deno.makeTempDir();
    try {
      const r = await session(goServer(goBin, kubeconfig, home), "pods_list", {});
      goFirst = r.first.ms;
      write(
        `| Go: pods_list | ${ms(r.first.ms)} | ${ms(r.warm.ms)} | ${kb(r.first.size.total)} | ${
          r.peakMb?.toFixed(0) ?? "?"
        } MB | |`,
      );
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  }
  for (const [tool, args] of OUR_TOOLS) {
    const r = await session(ourServer(`${root}main.ts`, kubeconfig, "ours"), tool, args);
    const err = r.first.error ?? (r.first.size.isError ? r.first.size.firstText : "");
    write(
      `| ours: ${tool} | ${ms(r.first.ms)} | ${ms(r.warm.ms)} | ${kb(r.first.size.total)} | ${
        r.peakMb?.toFixed(0) ?? "?"
      } MB | ${goFirst ? `${(r.first.ms / goFirst).toFixed(2)}×` : ""} |${
        err ? ` ${err.slice(0, 120)}` : ""
      }`,
    );
  }
}
