/**
 * Cold start: process spawn until `tools/list` is answered, median of N runs, for
 * `deno task start` (live source, kubeconfig given) and `--demo`, beside a bare
 * `deno run` of an empty script in the same run. Optionally the bundle.
 *
 * Run: deno task bench:start   (prints a table; not a pass/fail test)
 */
import { denoDir, startFlags } from "../tests/_mcp.ts";

const RUNS = Number(Deno.env.get("RUNS") ?? 10);
const root = new URL("..", import.meta.url).pathname;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timeEmpty(): Promise<number> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, "export {};\n");
  const t0 = performance.now();
  await new Deno.Command(Deno.execPath(), { args: ["run", file], stdout: "null", stderr: "null" })
    .output();
  const t = performance.now() - t0;
  await Deno.remove(file);
  return t;
}

/**
 * Spawns the server and speaks raw JSON-RPC on its stdio (so the time is the server's,
 * not an SDK client's schema compilation): initialize, initialized, tools/list.
 */
async function timeToolsList(entry: string, args: string[], env: Record<string, string>) {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...startFlags(), entry, ...args],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      DENO_DIR: denoDir(),
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
  let elapsed = 0;
  let count = 0;
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    const line = buffered.split("\n").find((l) => l.includes('"id":2'));
    if (line) {
      elapsed = performance.now() - t0;
      count = JSON.parse(line).result.tools.length;
      break;
    }
  }
  await writer.close().catch(() => {});
  child.kill();
  await child.status;
  if (count < 11) throw new Error(`only ${count} tools listed`);
  return elapsed;
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

const variants: Array<[string, () => Promise<number>]> = [
  ["bare deno run (empty script)", timeEmpty],
  [
    "deno task start (live, lazy client-node)",
    () => timeToolsList(`${root}main.ts`, [], { KUBECONFIG: kubeconfig }),
  ],
  ["deno task demo", () => timeToolsList(`${root}main.ts`, ["--demo"], {})],
];
try {
  await Deno.stat(`${root}dist/linkerd-mcp.js`);
  variants.push([
    "bundle (dist/linkerd-mcp.js), live",
    () => timeToolsList(`${root}dist/linkerd-mcp.js`, [], { KUBECONFIG: kubeconfig }),
  ]);
} catch {
  // no bundle built: run `deno task bundle` first to include it
}

const rows: string[] = [];
for (const [name, fn] of variants) {
  await fn(); // warm the module cache
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await fn());
  rows.push(
    `${name.padEnd(44)} median ${median(times).toFixed(0).padStart(5)} ms   min ${
      Math.min(...times).toFixed(0)
    }   max ${Math.max(...times).toFixed(0)}`,
  );
}
await Deno.remove(kubeconfig);
const out = `cold start, spawn → tools/list answered, ${RUNS} runs each (${Deno.build.target}):\n${
  rows.join("\n")
}\n`;
await Deno.stdout.write(new TextEncoder().encode(out));
