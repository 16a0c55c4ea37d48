/**
 * Credentials through `@kubernetes/client-node`, for what `src/kube/credentials.ts` does not
 * implement (`auth-provider`, `proxy-url`): client-node is imported only then.
 *
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { RequestOptions } from "node:http";
import { registerBasicAuth, registerSecret } from "../redact.ts";
import type { Agent } from "node:http";
import { type HttpTransport, nodeTransport } from "./_live_http.ts";
import type { KubeCredentials } from "./credentials.ts";
import { type ExecRecord, killLater } from "./exec_plugin.ts";
import { type KubeconfigLocation, loadKubeConfig } from "./kubeconfig.ts";

/** The context's credentials, as client-node applies them. */
export async function clientNodeCredentials(
  location: Extract<KubeconfigLocation, { kind: "files" }>,
  context: string | undefined,
): Promise<KubeCredentials> {
  const k8s = await import("@kubernetes/client-node");
  const kc = loadKubeConfig(k8s.KubeConfig, location, context);
  const cluster = kc.getCurrentCluster()!;
  const http = cluster.server.startsWith("http:")
    ? await import("node:http")
    : await import("node:https");
  // client-node makes a new agent each time: the first is kept (its connections are reused).
  let transport: HttpTransport | undefined;
  return {
    context: kc.getCurrentContext(),
    server: cluster.server,
    skipTLSVerify: cluster.skipTLSVerify === true,
    exec: guardExecPlugin(kc),
    implementation: "client-node",
    async apply() {
      const o: RequestOptions = {};
      await kc.applyToHTTPSOptions(o);
      registerHeaderSecrets(o);
      const agent = o.agent as Agent | undefined;
      if (!transport) transport = nodeTransport(http.request, agent);
      else agent?.destroy?.();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(o.headers ?? {})) {
        if (typeof v === "string") headers[k] = v;
      }
      return { headers, ...(typeof o.auth === "string" ? { auth: o.auth } : {}), transport };
    },
    invalidate() {},
    close() {
      transport?.close();
      transport = undefined;
    },
  };
}

/** Registers the credentials client-node put in the request options (see src/redact.ts). */
function registerHeaderSecrets(o: RequestOptions): void {
  const headers = (o.headers ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== "authorization" || typeof v !== "string") continue;
    const m = /^\s*\S+\s+(.+)$/.exec(v);
    registerSecret(m ? m[1] : v);
  }
  if (typeof o.auth === "string") {
    const i = o.auth.indexOf(":");
    if (i >= 0) registerBasicAuth(o.auth.slice(0, i), o.auth.slice(i + 1));
  }
  const key = (o as { key?: unknown }).key;
  if (typeof key === "string") registerSecret(key);
  else if (key instanceof Uint8Array) registerSecret(new TextDecoder().decode(key));
}

/**
 * client-node runs exec plugins with `child_process.spawn`, no timeout, and rejects with the
 * plugin's stderr (or a JSON error quoting its stdout). This wraps its spawn so that the
 * plugin is killed after `EXEC_PLUGIN_TIMEOUT_MS` (exec_plugin.ts) and its exit code is known; the
 * errors then say that the plugin failed and how, never what it printed.
 */
function guardExecPlugin(kc: KubeConfig): ExecRecord | undefined {
  const user = kc.getCurrentUser() as
    | { exec?: { command?: string }; authProvider?: { config?: { exec?: { command?: string } } } }
    | null;
  const exec = user?.exec ?? user?.authProvider?.config?.exec;
  if (!exec) return undefined;
  const authenticators = (kc as unknown as { authenticators?: unknown[] }).authenticators ?? [];
  const execAuth = authenticators.find((a) =>
    typeof (a as { execFn?: unknown }).execFn === "function"
  ) as { execFn: (...args: unknown[]) => unknown } | undefined;
  const record: ExecRecord = { running: new Set() };
  if (!execAuth) return record;
  const spawn = execAuth.execFn;
  execAuth.execFn = (command: unknown, args: unknown, options: unknown) => {
    const last: NonNullable<ExecRecord["last"]> = {
      command: String(command).split(/[\\/]/).pop() ?? String(command),
      timedOut: false,
    };
    record.last = last;
    const child = spawn(command, args, options) as {
      kill(sig?: string): void;
      on(ev: string, f: (...a: unknown[]) => void): void;
    };
    record.running.add(child);
    const timer = killLater(child, last);
    child.on("error", (err) => {
      last.spawnError = (err as { code?: string }).code ?? "spawn error";
    });
    child.on("exit", (code, sig) => {
      clearTimeout(timer);
      if (typeof code === "number") last.code = code;
      if (typeof sig === "string") last.signal = sig;
    });
    child.on("close", () => {
      clearTimeout(timer);
      record.running.delete(child);
    });
    return child;
  };
  return record;
}
