/**
 * What the subprocess benchmarks share: the stand-in API server in its own process
 * (`tests/support/kube_standin.ts POD_COUNT`), and our server as a stdio subprocess under
 * the product's permission flags, with its stderr handed over line by line.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { denoDir, startFlags } from "../tests/_mcp.ts";

const ROOT = new URL("..", import.meta.url);

/** A stand-in serving a synthetic cluster of `pods` pods, in a child process. */
export async function startStandinProcess(
  pods: number,
  opts: { args?: string[]; stderr?: "inherit" | "null" } = {},
): Promise<{ child: Deno.ChildProcess; api: { url: string; kubeconfigPath: string } }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("tests/support/kube_standin.ts", ROOT).pathname,
      String(pods),
      ...(opts.args ?? []),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: opts.stderr ?? "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The stand-in exited before printing its address");
    line += value;
  }
  reader.releaseLock();
  return { child, api: JSON.parse(line) as { url: string; kubeconfigPath: string } };
}

/**
 * Our server over stdio against `kubeconfigPath`, at debug log level (its " kube request "
 * lines count API requests); `onLine` gets every stderr line.
 */
export function serverTransport(opts: {
  kubeconfigPath: string;
  timeoutMs: number;
  /** Deno flags before the product's (e.g. `--v8-flags=...`). */
  flags?: string[];
  onLine(line: string): void;
}): StdioClientTransport {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    // `BENCH_ENTRY=dist/linkerd-mcp.js` runs the bundle (`deno task bundle`) instead.
    args: [
      "run",
      ...(opts.flags ?? []),
      ...startFlags(),
      new URL(Deno.env.get("BENCH_ENTRY") ?? "main.ts", ROOT).pathname,
    ],
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      DENO_DIR: denoDir(),
      KUBECONFIG: opts.kubeconfigPath,
      LINKERD_KUBE_TIMEOUT_MS: String(opts.timeoutMs),
      LINKERD_MCP_LOG_LEVEL: "debug",
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    },
    stderr: "pipe",
  });
  void (async () => {
    const err = transport.stderr;
    if (!err) return;
    let rest = "";
    for await (const chunk of err as unknown as AsyncIterable<Uint8Array | string>) {
      rest += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const l of lines) opts.onLine(l);
    }
  })();
  return transport;
}

/**
 * The policy and health tools the benchmarks call, with arguments naming the synthetic
 * cluster's objects (tests/support/synthetic.ts; app-000 is meshed).
 */
export const BENCH_TOOLS: Array<[string, Record<string, unknown>]> = [
  ["check_mesh_health", {}],
  ["list_meshed_services", {}],
  ["get_allowed_sources", { target_namespace: "app-000", target_service: "svc-00000" }],
  ["analyze_connectivity", {
    source_namespace: "app-000",
    source_service: "svc-00020",
    target_service: "svc-00000",
  }],
  ["validate_mesh_config", {}],
];
