/**
 * Cold start: process spawn until `tools/list` is answered, median of N runs (and the
 * CPU time the server used until then, less disturbed by a busy machine), for `deno task start` (live source, kubeconfig
 * given) and `--demo`, from source and from the bundle, with and without V8's code
 * cache (`--no-code-cache`), beside a bare `deno run` of an empty script and the SDK's
 * own floor (`bench/_sdk_floor.ts`: SDK Server + stdio + zod, nothing of ours) and, where
 * its binary is found (`findGoServer`, bench/peer_bench.ts), the Go kubernetes-mcp-server. The
 * runs of all variants are interleaved, so a neighbour's load shifts all of them alike.
 *
 * Run: deno run -A bench/cold_start.ts [SUBSTRING...]   (only the variants whose name
 * contains one of the substrings; RUNS=N, default 10; COLD_FLAGS="..." adds `deno run`
 * flags to every variant, e.g. V8 flags). The `bundle:` variants need
 * `deno task bundle` first (dist/linkerd-mcp.js); the code-splitting one (chunks loaded on
 * their first dynamic import) is built here. A bundle is run from outside the repository,
 * as a user would run the file (no deno.json or deno.lock to read). `deno compile` is measured only where
 * DENORT_BIN names a local denort (it cannot fetch its runtime otherwise).
 * Prints a table; not a pass/fail test.
 */
import { denoDir, startFlags } from "../tests/_mcp.ts";
import { findGoServer } from "./peer_bench.ts";

const RUNS = Number(Deno.env.get("RUNS") ?? 10);
const root = new URL("..", import.meta.url).pathname;
const filters = Deno.args;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Timing {
  /** Wall time, spawn until `tools/list` is answered. */
  total: number;
  /**
   * CPU time the server's threads had used by then (Linux: /proc/PID/task/N/schedstat;
   * NaN elsewhere). Less sensitive than wall time to neighbours sharing the machine.
   */
  cpu: number;
}

/** CPU milliseconds the live threads of process `pid` have run (NaN where unknown). */
async function cpuMs(pid: number): Promise<number> {
  let ns = 0;
  try {
    for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
      const stat = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/schedstat`)
        .catch(() => "0");
      ns += Number(stat.split(" ")[0]) || 0;
    }
  } catch {
    return NaN;
  }
  return ns / 1e6;
}

async function timeEmpty(): Promise<Timing> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, "export {};\n");
  const t0 = performance.now();
  await new Deno.Command(Deno.execPath(), { args: ["run", file], stdout: "null", stderr: "null" })
    .output();
  const t = performance.now() - t0;
  await Deno.remove(file);
  return { total: t, cpu: NaN };
}

/**
 * Spawns the server and speaks raw JSON-RPC on its stdio (so the time is the server's,
 * not an SDK client's schema compilation): initialize, initialized, tools/list.
 * `cmd` is the program and its arguments (deno run ..., or a compiled binary).
 */
async function timeToolsList(
  cmd: string[],
  env: Record<string, string>,
  minTools = 11,
  cwd = root,
): Promise<Timing> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      DENO_DIR: denoDir(),
      DENO_NO_UPDATE_CHECK: "1",
      ...env,
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const send = (msg: unknown) => writer.write(new TextEncoder().encode(JSON.stringify(msg) + "\n"));
  await send({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "bench", version: "0" },
    },
  });
  await send({ jsonrpc: "2.0", method: "notifications/initialized" });
  await send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
  let buffered = "";
  let total = 0;
  let cpu = NaN;
  let count = 0;
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    const line = buffered.split("\n").find((l) => l.includes('"id":2'));
    if (line) {
      total = performance.now() - t0;
      cpu = await cpuMs(child.pid);
      count = JSON.parse(line).result.tools.length;
      break;
    }
  }
  await writer.close().catch(() => {});
  child.kill();
  await child.status;
  if (count < minTools) throw new Error(`${cmd.join(" ")}: only ${count} tools listed`);
  return { total, cpu };
}

const kubeconfig = await Deno.makeTempFile({ suffix: ".yaml" });
await Deno.writeTextFile(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{name: bench, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: bench, user: {token: bench-token}}]
contexts: [{name: bench, context: {cluster: bench, user: bench}}]
current-context: bench
`,
);
const tmp = await Deno.makeTempDir();

const deno = Deno.execPath();
/** COLD_FLAGS: more `deno run` flags for every variant, e.g. "--v8-flags=--max-lazy". */
const coldFlags = (Deno.env.get("COLD_FLAGS") ?? "").split(/\s+/).filter(Boolean);
const run = (entry: string, extra: string[] = [], args: string[] = []) => [
  deno,
  "run",
  ...startFlags(),
  ...coldFlags,
  ...extra,
  entry,
  ...args,
];
const live = { KUBECONFIG: kubeconfig };
const variants: Array<[string, () => Promise<Timing>]> = [
  ["bare deno run (empty script)", timeEmpty],
  ["sdk floor, source", () => timeToolsList(run(`${root}bench/_sdk_floor.ts`), {})],
  ["source: deno task start (live)", () => timeToolsList(run(`${root}main.ts`), live)],
  ["source: deno task demo", () => timeToolsList(run(`${root}main.ts`, [], ["--demo"]), {})],
  [
    "source: start, --no-code-cache",
    () => timeToolsList(run(`${root}main.ts`, ["--no-code-cache"]), live),
  ],
];

/** Bundles `entry` as `deno task bundle` does (or split into lazily loaded chunks in `out/`). */
async function bundle(entry: string, out: string, split = false): Promise<boolean> {
  const built = await new Deno.Command(deno, {
    args: [
      "bundle",
      "--platform",
      "deno",
      "--minify",
      ...(split ? ["--code-splitting", "--outdir", out] : ["-o", out]),
      entry,
    ],
    cwd: root,
    stdout: "null",
    stderr: "null",
  }).output();
  return built.success;
}

if (await bundle(`${root}bench/_sdk_floor.ts`, `${tmp}/floor.js`)) {
  variants.push([
    "sdk floor, bundle",
    () => timeToolsList(run(`${tmp}/floor.js`), {}, 11, tmp),
  ]);
}
const dist = `${root}dist/linkerd-mcp.js`;
try {
  await Deno.stat(dist);
  variants.push(
    ["bundle: live", () => timeToolsList(run(dist), live, 11, tmp)],
    ["bundle: demo", () => timeToolsList(run(dist, [], ["--demo"]), {}, 11, tmp)],
    [
      "bundle: live, --no-code-cache",
      () => timeToolsList(run(dist, ["--no-code-cache"]), live, 11, tmp),
    ],
  );
} catch {
  // no bundle built: run `deno task bundle` first to include it
}
const go = findGoServer();
if (go) {
  variants.splice(1, 0, [
    "Go kubernetes-mcp-server (peer)",
    () => timeToolsList([go, "--kubeconfig", kubeconfig, "--read-only"], {}, 5),
  ]);
}
if (await bundle(`${root}main.ts`, `${tmp}/split`, true)) {
  variants.push([
    "bundle --code-splitting: live",
    () => timeToolsList(run(`${tmp}/split/main.js`), live, 11, tmp),
  ]);
}
const denort = Deno.env.get("DENORT_BIN");
let compileNote = "deno compile: not measured (it cannot fetch its runtime here; set DENORT_BIN)";
if (denort) {
  const bin = `${tmp}/linkerd-mcp`;
  const built = await new Deno.Command(deno, {
    args: ["compile", ...startFlags(), "--output", bin, "main.ts"],
    cwd: root,
    env: { DENORT_BIN: denort },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (built.success) {
    compileNote = "";
    variants.push(["deno compile: live", () => timeToolsList([bin], live)]);
  } else {
    compileNote = `deno compile failed: ${new TextDecoder().decode(built.stderr).trim()}`;
  }
}

const chosen = variants.filter(([name]) =>
  filters.length === 0 || name.startsWith("bare") || filters.some((f) => name.includes(f))
);
const times = new Map(chosen.map(([name]) => [name, [] as Timing[]]));
for (const [, fn] of chosen) await fn(); // warm the module and code caches
for (let i = 0; i < RUNS; i++) {
  for (const [name, fn] of chosen) times.get(name)!.push(await fn());
}
await Deno.remove(kubeconfig);
await Deno.remove(tmp, { recursive: true });

const rows = chosen.map(([name]) => {
  const ts = times.get(name)!;
  const total = ts.map((t) => t.total);
  const cpu = median(ts.map((t) => t.cpu));
  return `${name.padEnd(34)} median ${median(total).toFixed(0).padStart(4)} ms  min ${
    Math.min(...total).toFixed(0).padStart(4)
  }  max ${Math.max(...total).toFixed(0).padStart(4)}  cpu ${
    Number.isNaN(cpu) ? "   -" : cpu.toFixed(0).padStart(4)
  } ms`;
});
const out =
  `cold start, spawn → tools/list answered, ${RUNS} interleaved runs each (${Deno.build.target}):\n${
    rows.join("\n")
  }\n${compileNote ? compileNote + "\n" : ""}`;
await Deno.stdout.write(new TextEncoder().encode(out));
