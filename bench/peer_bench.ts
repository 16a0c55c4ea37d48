/**
 * Side by side with the Go kubernetes-mcp-server (containers/kubernetes-mcp-server), on the
 * same synthetic cluster served over HTTPS by the Kubernetes API stand-in (in its own
 * process, `bench/_peer_standin.ts`), at each scale (pods; Services pods/5, Servers and
 * AuthorizationPolicies in proportion), in one run:
 *
 * - cold start, process spawn → `tools/list` answered (median of `--runs`, rounds
 *   interleaved): `deno run` with the `start` task's flags, the bundle (the `bundle` task's
 *   command, built into a temp file) with the same flags, and the Go server;
 * - the Go server's `pods_list` and our policy and health tools: first call (a fresh server
 *   process each) and a warm call `--warm-delay-ms` later (past the old 3 s list TTL), with
 *   the API requests each made (counted by the stand-in: lists and gets; watches opened in
 *   brackets; discovery and access reviews the Go client sends are counted with its lists)
 *   and the answer's size (`structuredContent` JSON + text blocks, UTF-8 bytes);
 * - peak RSS (`VmHWM` of the server process, read before it is closed).
 *
 * It prints markdown tables and the issue's targets met or not; it is not a pass/fail test.
 *
 * The Go binary: `$KUBERNETES_MCP_SERVER_BIN`, else the first of `kubernetes-mcp-server` on
 * `PATH`, `~/go/bin/kubernetes-mcp-server`,
 * `./node_modules/kubernetes-mcp-server-linux-amd64/bin/kubernetes-mcp-server-linux-amd64`
 * and the same under `/tmp/peer/` (`npm install --prefix /tmp/peer
 * kubernetes-mcp-server-linux-amd64@0.0.67`); without one the Go columns are skipped.
 *
 * Run: `deno run -A bench/peer_bench.ts [--scales 1000,10000,50000] [--runs 5]
 * [--warm-delay-ms 5000] [--call-delay-ms 0] [--bundle dist/linkerd-mcp.js | --no-bundle] [--out FILE]
 * [--ours-direct] [--tools pods_list,check_mesh_health]` (`--ours-direct`: ours skips the front
 * server, to measure what it costs; `--tools`: only these; `--runs 0`: no cold start)
 * (Linux, for `/proc/<pid>/status`). It takes about 2.5 minutes at 1k+10k and 2 more at 50k
 * on two busy cores (11 fresh server processes a scale), so it is not part of `deno task bench`.
 *
 * @module
 */
import { peakRssMb, RpcProcess } from "./_peer_rpc.ts";
import { BENCH_TOOLS as OUR_TOOLS } from "./_server_proc.ts";
import type { RequestCounts } from "./_peer_standin.ts";

const root = new URL("..", import.meta.url).pathname;
const BUDGET_BYTES = 8 * 1024;

interface Options {
  scales: number[];
  runs: number;
  warmDelayMs: number;
  /** Pause between `tools/list` and the first call (a client's usual pause; default 0). */
  callDelayMs: number;
  bundle: string | "build" | "none";
  out?: string;
  /** Our server talks to the stand-in directly, not through the front (to measure the front). */
  oursDirect: boolean;
  /** Only these tools (`pods_list` is the Go server's); all when absent. */
  tools?: Set<string>;
}

function parseArgs(args: string[]): Options {
  const o: Options = {
    scales: [1_000, 10_000, 50_000],
    runs: 5,
    warmDelayMs: 5_000,
    callDelayMs: 0,
    bundle: "build",
    oursDirect: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const name = a.split("=")[0];
    if (name === "--scales") {
      o.scales = value().split(",").map((s) => Number(s.trim().replace(/k$/i, "000")));
      if (o.scales.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`bad --scales`);
    } else if (name === "--runs") o.runs = Math.max(0, Number(value()));
    else if (name === "--warm-delay-ms") o.warmDelayMs = Math.max(0, Number(value()));
    else if (name === "--call-delay-ms") o.callDelayMs = Math.max(0, Number(value()));
    else if (name === "--bundle") o.bundle = value();
    else if (name === "--no-bundle") o.bundle = "none";
    else if (name === "--out") o.out = value();
    else if (name === "--ours-direct") o.oursDirect = true;
    else if (name === "--tools") o.tools = new Set(value().split(",").map((t) => t.trim()));
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

/** The permission flags of `deno task start`, read from deno.json (the product's truth). */
function startFlags(): string[] {
  const task: string = readTasks()["start"]!;
  const words = task.split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run") throw new Error(`unexpected start task: ${task}`);
  return words.slice(2).filter((w) => w.startsWith("--"));
}

function readTasks(): Record<string, string> {
  return JSON.parse(Deno.readTextFileSync(`${root}deno.json`)).tasks;
}

function denoDir(): string {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${cache}/deno`;
}

function isExecutable(path: string): boolean {
  try {
    const s = Deno.statSync(path);
    return s.isFile && ((s.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The Go server's binary (see the module doc), or `undefined`. */
export function findGoServer(env = Deno.env.toObject()): string | undefined {
  const explicit = env["KUBERNETES_MCP_SERVER_BIN"];
  if (explicit) return isExecutable(explicit) ? explicit : undefined;
  const npmBin = "node_modules/kubernetes-mcp-server-linux-amd64/bin/" +
    "kubernetes-mcp-server-linux-amd64";
  const candidates = [
    ...(env["PATH"] ?? "").split(":").filter(Boolean).map((d) => `${d}/kubernetes-mcp-server`),
    `${env["HOME"] ?? "/nonexistent"}/go/bin/kubernetes-mcp-server`,
    `${root}${npmBin}`,
    `/tmp/peer/${npmBin}`,
  ];
  return candidates.find(isExecutable);
}

/** Builds the bundle with the `bundle` task's command, written to `out` instead of dist/. */
async function buildBundle(out: string): Promise<string | undefined> {
  const words = readTasks()["bundle"]!.split(/\s+/);
  const o = words.indexOf("-o");
  if (words[0] !== "deno" || o < 0) return `unexpected bundle task: ${words.join(" ")}`;
  words[o + 1] = out;
  const res = await new Deno.Command(Deno.execPath(), {
    args: words.slice(1),
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  return res.success ? undefined : new TextDecoder().decode(res.stderr).slice(-600);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The stand-in process (see `_peer_standin.ts`). */
class StandinProcess {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  info!: {
    url: string;
    kubeconfigPath: string;
    directKubeconfigPath: string;
    objects: number;
    kinds: Record<string, number>;
  };

  constructor(pods: number) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}bench/_peer_standin.ts`, String(pods)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  async #line(): Promise<unknown> {
    while (!this.#buffer.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("the stand-in exited");
      this.#buffer += value;
    }
    const nl = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, nl);
    this.#buffer = this.#buffer.slice(nl + 1);
    return JSON.parse(line);
  }

  async start(): Promise<this> {
    this.info = await this.#line() as StandinProcess["info"];
    return this;
  }

  async counts(): Promise<RequestCounts> {
    await this.#writer.write(new TextEncoder().encode("count\n"));
    return await this.#line() as RequestCounts;
  }

  /** Distinct paths of the non-watch requests answered after the first `total`. */
  async since(total: number): Promise<string[]> {
    await this.#writer.write(new TextEncoder().encode(`since ${total}\n`));
    return (await this.#line() as { paths: string[] }).paths;
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel().catch(() => {});
    await this.#child.status;
  }
}

/** Requests between two counts: non-watch requests, and watches opened. */
function delta(a: RequestCounts, b: RequestCounts): { requests: number; watches: number } {
  const nonWatch = (c: RequestCounts) => c.lists + c.gets + c.other + c.discovery;
  return { requests: nonWatch(b) - nonWatch(a), watches: b.watches - a.watches };
}

/** A server process to spawn. */
export interface Server {
  label: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** Our server as `deno task start` runs it, against `kubeconfig`. */
export function ourServer(entry: string, kubeconfig: string, label: string): Server {
  return {
    label,
    command: Deno.execPath(),
    args: ["run", ...startFlags(), entry],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      DENO_DIR: denoDir(),
      KUBECONFIG: kubeconfig,
      LINKERD_KUBE_TIMEOUT_MS: "120000",
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    },
  };
}

/** The Go server, read-only, against `kubeconfig`. */
export function goServer(bin: string, kubeconfig: string, home: string): Server {
  return {
    label: "Go kubernetes-mcp-server",
    command: bin,
    args: ["--kubeconfig", kubeconfig, "--read-only"],
    env: { PATH: "/usr/bin:/bin", HOME: home },
  };
}

/** Spawn → `tools/list` answered, in ms. */
async function coldStart(s: Server): Promise<number> {
  const p = RpcProcess.spawn(s.command, s.args, s.env);
  try {
    const { tools, at } = await p.handshake();
    const ms = at - p.spawnedAt;
    if (tools < 5) throw new Error(`${s.label}: only ${tools} tools listed`);
    return ms;
  } finally {
    await p.close();
  }
}

interface CallRow {
  server: string;
  tool: string;
  firstMs: number;
  firstRequests: number;
  firstWatches: number;
  warmMs: number;
  warmRequests: number;
  warmWatches: number;
  bytes: number;
  structuredBytes: number;
  textBytes: number;
  peakMb: number | undefined;
  /** The front's Table printing inside the call (the API server's share), ms. */
  firstTableMs: number;
  warmTableMs: number;
  note: string;
}

/** A fresh server: handshake, a first call, a warm call `warmDelayMs` later, its peak RSS. */
async function session(
  s: Server,
  standin: StandinProcess,
  tool: string,
  args: Record<string, unknown>,
  warmDelayMs: number,
  callDelayMs = 0,
): Promise<CallRow> {
  const p = RpcProcess.spawn(s.command, s.args, s.env);
  try {
    await p.handshake();
    if (callDelayMs) await new Promise((r) => setTimeout(r, callDelayMs));
    const c0 = await standin.counts();
    const first = await p.callTool(tool, args);
    // the stand-in logs a request when it answers; the last may trail the tool's answer
    await new Promise((r) => setTimeout(r, 50));
    const c1 = await standin.counts();
    await new Promise((r) => setTimeout(r, warmDelayMs));
    const c2 = await standin.counts();
    const warm = await p.callTool(tool, args);
    await new Promise((r) => setTimeout(r, 50));
    const c3 = await standin.counts();
    const d1 = delta(c0, c1);
    const d2 = delta(c2, c3);
    const warmPaths = d2.requests > 0 && tool !== "pods_list" ? await standin.since(c2.total) : [];
    const notes = [
      warmPaths.length
        ? `warm re-read: ${warmPaths.slice(0, 3).join(", ")}${
          warmPaths.length > 3 ? ` (+${warmPaths.length - 3} more)` : ""
        }`
        : "",
      first.error ?? (first.size.isError ? `isError: ${first.size.firstText}` : ""),
      warm.error ?? (warm.size.isError && !first.size.isError ? "warm isError" : ""),
    ].filter(Boolean);
    return {
      server: s.label,
      tool,
      firstMs: first.ms,
      firstRequests: d1.requests,
      firstWatches: d1.watches,
      warmMs: warm.ms,
      warmRequests: d2.requests,
      warmWatches: d2.watches,
      bytes: first.size.total,
      structuredBytes: first.size.structuredBytes,
      textBytes: first.size.textBytes,
      peakMb: peakRssMb(p.pid),
      firstTableMs: c1.tableMs - c0.tableMs,
      warmTableMs: c3.tableMs - c2.tableMs,
      note: notes.join("; ").replaceAll("|", "\\|").replaceAll("\n", " ").slice(0, 400),
    };
  } finally {
    await p.close();
  }
}

const ms = (n: number) => n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`;
const kb = (n: number) =>
  n >= 1024 * 1024
    ? `${(n / 1024 / 1024).toFixed(1)} MB`
    : n >= 1024
    ? `${(n / 1024).toFixed(1)} KB`
    : `${n} B`;
const reqs = (n: number, w: number) => (w ? `${n} (+${w}w)` : String(n));

async function benchScale(pods: number, o: Options, goBin: string | undefined, bundle?: string) {
  const lines: string[] = [];
  const t0 = performance.now();
  const standin = await new StandinProcess(pods).start();
  const k = standin.info.kinds;
  lines.push(
    `### ${pods.toLocaleString("en-US")} pods`,
    "",
    `${k["Service"] ?? 0} Services, ${k["Server"] ?? 0} Servers, ` +
      `${k["AuthorizationPolicy"] ?? 0} AuthorizationPolicies, ${standin.info.objects} objects; ` +
      `stand-in ready in ${ms(performance.now() - t0)}.`,
    "",
  );
  const home = await Deno.makeTempDir({ prefix: "peer-bench-home-" });
  try {
    const kubeconfig = standin.info.kubeconfigPath;
    const ourConfig = o.oursDirect ? standin.info.directKubeconfigPath : kubeconfig;
    const servers: Server[] = [ourServer(`${root}main.ts`, ourConfig, "ours: deno run main.ts")];
    if (bundle) servers.push(ourServer(bundle, ourConfig, "ours: bundle"));
    if (goBin) servers.push(goServer(goBin, kubeconfig, home));

    // Cold start: one warm-up each (module cache), then rounds interleaved.
    const times = new Map<string, number[]>(servers.map((s) => [s.label, []]));
    if (o.runs > 0) {
      for (const s of servers) await coldStart(s);
      for (let r = 0; r < o.runs; r++) {
        for (const s of servers) times.get(s.label)!.push(await coldStart(s));
      }
      lines.push(
        `| cold start, spawn → tools/list (${o.runs} run${
          o.runs === 1 ? "" : "s"
        }) | median | min | max |`,
        "|---|---:|---:|---:|",
      );
      for (const s of servers) {
        const t = times.get(s.label)!;
        lines.push(
          `| ${s.label} | ${ms(median(t))} | ${ms(Math.min(...t))} | ${ms(Math.max(...t))} |`,
        );
      }
      lines.push("");
    }

    const wanted = (tool: string) => !o.tools || o.tools.has(tool);
    const rows: CallRow[] = [];
    let go: CallRow | undefined;
    if (goBin && wanted("pods_list")) {
      go = await session(servers.at(-1)!, standin, "pods_list", {}, o.warmDelayMs, o.callDelayMs);
      rows.push(go);
    }
    for (const [tool, args] of OUR_TOOLS.filter(([t]) => wanted(t))) {
      rows.push(await session(servers[0]!, standin, tool, args, o.warmDelayMs, o.callDelayMs));
    }
    lines.push(
      `| server: tool (fresh process) | first call | API req | warm (+${o.warmDelayMs / 1000} s) ` +
        `| API req | answer (struct + text) | peak RSS | first ÷ Go |`,
      "|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const r of rows) {
      const ratio = go && r !== go ? `${(r.firstMs / go.firstMs).toFixed(2)}×` : "";
      const size = r.structuredBytes
        ? `${kb(r.bytes)} (${kb(r.structuredBytes)} + ${kb(r.textBytes)})`
        : kb(r.bytes);
      lines.push(
        `| ${r === go ? "Go" : "ours"}: ${r.tool}${r.note ? " ⚠" : ""} | ${ms(r.firstMs)} | ` +
          `${reqs(r.firstRequests, r.firstWatches)} | ${ms(r.warmMs)} | ` +
          `${reqs(r.warmRequests, r.warmWatches)} | ${size} | ` +
          `${r.peakMb === undefined ? "n/a" : `${r.peakMb.toFixed(0)} MB`} | ${ratio} |`,
      );
    }
    const noted = rows.filter((r) => r.note);
    if (noted.length) lines.push("");
    for (const r of noted) lines.push(`⚠ ${r === go ? "Go" : "ours"} ${r.tool}: ${r.note}  `);
    if (go) {
      lines.push(
        "",
        `Go pods_list includes the front's server-side Table printing (what a real API server ` +
          `does; here in Deno): ${ms(go.firstTableMs)} of the first call, ` +
          `${ms(go.warmTableMs)} of the warm one.`,
      );
    }
    lines.push("");

    // The issue's targets.
    const ours = rows.filter((r) => r !== go);
    const check = (ok: boolean) => (ok ? "met" : "NOT met");
    const targets: string[] = [];
    if (go && ours.length) {
      const worst = ours.reduce((a, b) => (b.firstMs > a.firstMs ? b : a));
      targets.push(
        `first call ≤ 1.5× Go pods_list (${ms(go.firstMs)}): ${
          check(worst.firstMs <= 1.5 * go.firstMs)
        } (worst ${worst.tool} ${(worst.firstMs / go.firstMs).toFixed(2)}×)`,
      );
    }
    const slowWarm = ours.reduce((a, b) => (b.warmMs > a.warmMs ? b : a), ours[0]!);
    const warmReqs = ours.reduce((n, r) => n + r.warmRequests, 0);
    if (ours.length) {
      targets.push(
        `warm call ≤ 50 ms with 0 API requests: ${
          check(slowWarm.warmMs <= 50 && warmReqs === 0)
        } (slowest ${slowWarm.tool} ${
          ms(slowWarm.warmMs)
        }; ${warmReqs} requests in all warm calls)`,
      );
    }
    const peak = Math.max(0, ...ours.map((r) => r.peakMb ?? 0));
    targets.push(
      `peak RSS ≤ 150 MB (target at 10k): ${check(peak <= 150)} (max ${peak.toFixed(0)} MB)`,
    );
    const big = ours.filter((r) => r.bytes > BUDGET_BYTES);
    targets.push(
      `every default answer ≤ 8 KB: ${check(big.length === 0)}${
        big.length ? ` (over: ${big.map((r) => `${r.tool} ${kb(r.bytes)}`).join(", ")})` : ""
      }`,
    );
    if (goBin && o.runs > 0) {
      const goCold = median(times.get(servers.at(-1)!.label)!);
      for (const s of servers.slice(0, -1)) {
        const t = median(times.get(s.label)!);
        targets.push(
          `cold start ≤ Go's (${s.label}): ${check(t <= goCold)} (${ms(t)} vs ${ms(goCold)})`,
        );
      }
    }
    lines.push(...targets.map((t) => `- ${t}`), "");
    lines.push(`(${pods} pods took ${ms(performance.now() - t0)} in all.)`, "");
  } finally {
    await standin.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
  return lines;
}

if (import.meta.main) {
  const o = parseArgs(Deno.args);
  const write = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
  const goBin = findGoServer();
  const header: string[] = [
    `## linkerd-mcp vs the Go kubernetes-mcp-server (${new Date().toISOString()}, ` +
    `${Deno.build.target}, ${navigator.hardwareConcurrency} CPUs)`,
    "",
  ];
  if (goBin) {
    const v = await new Deno.Command(goBin, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    })
      .output().then((r) => new TextDecoder().decode(r.stdout).trim()).catch(() => "?");
    header.push(`Go server: ${goBin} (${v}), flags --kubeconfig K --read-only.`);
  } else {
    header.push(
      "Go server NOT FOUND: its columns are skipped. Set KUBERNETES_MCP_SERVER_BIN, or " +
        "`npm install --prefix /tmp/peer kubernetes-mcp-server-linux-amd64@0.0.67`.",
    );
  }
  let bundle: string | undefined;
  let tmpDir: string | undefined;
  if (o.bundle === "build") {
    tmpDir = await Deno.makeTempDir({ prefix: "peer-bench-" });
    const out = `${tmpDir}/linkerd-mcp.js`;
    const failed = await buildBundle(out);
    if (failed) header.push(`Bundle NOT built (skipped): ${failed.replaceAll("\n", " ")}`);
    else bundle = out;
  } else if (o.bundle !== "none") {
    if (isExecutable(o.bundle) || Deno.statSync(o.bundle).isFile) bundle = o.bundle;
  }
  if (bundle) {
    header.push(
      `Bundle: the \`bundle\` task's command${
        o.bundle === "build" ? " (built now)" : `: ${bundle}`
      }.`,
    );
  }
  if (o.callDelayMs) {
    header.push(`Every first call is sent ${o.callDelayMs} ms after \`tools/list\` is answered.`);
  }
  header.push(
    `Ours: \`deno run\` + the \`start\` task's flags; LINKERD_KUBE_TIMEOUT_MS=120000. ` +
      (o.oursDirect
        ? "Ours talks to the stand-in directly (--ours-direct); the Go server through a front server "
        : "Both servers reach the stand-in through the same front server ") +
      "(discovery, SelfSubjectAccessReview, " +
      "server-side Table printing for the Go client; everything else forwarded). " +
      "API req: lists + gets (+ discovery/access reviews), (+Nw): watches opened. " +
      "Answer: UTF-8 bytes of structuredContent JSON + text blocks of the first call.",
    "",
  );
  write(header.join("\n"));
  const all = [...header];
  try {
    for (const pods of o.scales) {
      const lines = await benchScale(pods, o, goBin, bundle);
      write(lines.join("\n"));
      all.push(...lines);
    }
  } finally {
    if (tmpDir) await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
  if (o.out) await Deno.writeTextFile(o.out, all.join("\n") + "\n");
}
