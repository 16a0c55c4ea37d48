/**
 * Runs a kubeconfig `exec` credential plugin (aws, gke-gcloud-auth-plugin, kubelogin, ...)
 * as client-go does: the environment (only the variables the server is allowed to read)
 * plus the plugin's `env`, `KUBERNETES_EXEC_INFO`
 * (non-interactive; the cluster when `provideClusterInfo`), an `ExecCredential` read from
 * stdout. Unlike client-go, the plugin is killed after {@linkcode EXEC_PLUGIN_TIMEOUT_MS}
 * and its stderr is discarded: what it prints may hold credentials and never reaches an
 * answer or a log. What it did (exit code, signal, timeout, spawn failure) is recorded in an
 * {@linkcode ExecRecord} so that errors can say how it failed.
 *
 * @module
 */
import { registerSecret } from "../redact.ts";
import { resolveFrom } from "./kubeconfig_read.ts";

/** An exec credential plugin is killed after this. */
export const EXEC_PLUGIN_TIMEOUT_MS = 30_000;
/** Most bytes of an ExecCredential read from the plugin's stdout (1 MiB). */
export const MAX_EXEC_OUTPUT_BYTES = 1024 * 1024;

/** What the exec credential plugin did last (its output is never kept). */
export interface ExecRecord {
  /** Plugins still running (killed by the source's `close()`). */
  running: Set<{ kill(sig?: Deno.Signal): void }>;
  last?: {
    command: string;
    code?: number;
    signal?: string;
    timedOut: boolean;
    spawnError?: string;
  };
}

/** The `exec` mapping of a kubeconfig user. */
export interface ExecSpec {
  command: string;
  args?: unknown;
  env?: unknown;
  apiVersion?: unknown;
  provideClusterInfo?: unknown;
}

/** The cluster as `KUBERNETES_EXEC_INFO` shows it to a plugin that asks for it. */
export interface ExecClusterInfo {
  server: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
}

/** What a plugin printed that matters. */
export interface ExecCredential {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  /** Milliseconds since the epoch; undefined: valid until the server refuses it. */
  expires?: number;
}

/**
 * Runs the plugin once.
 *
 * @param dir the folder of the kubeconfig that names it (a relative command with a `/` is
 * resolved against it, as client-go does).
 * @throws {SyntaxError} when it exits 0 without printing an ExecCredential with a token or
 * a client certificate; the Deno error when it cannot be started; an `Error` when it fails.
 * `record.last` says which, in every case.
 */
export async function runExecPlugin(
  spec: ExecSpec,
  dir: string,
  cluster: ExecClusterInfo,
  record: ExecRecord,
): Promise<ExecCredential> {
  const last: NonNullable<ExecRecord["last"]> = {
    command: spec.command.split(/[\\/]/).pop() ?? spec.command,
    timedOut: false,
  };
  record.last = last;
  const command = spec.command.includes("/") || spec.command.includes("\\")
    ? resolveFrom(dir, spec.command)
    : spec.command;
  const apiVersion = typeof spec.apiVersion === "string"
    ? spec.apiVersion
    : "client.authentication.k8s.io/v1beta1";
  // The variables the server may read (its --allow-env list), not the whole environment.
  const env: Record<string, string> = { ...allowedEnv() };
  for (const e of Array.isArray(spec.env) ? spec.env : []) {
    const { name, value } = (e ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name === "string" && name) env[name] = typeof value === "string" ? value : "";
  }
  env["KUBERNETES_EXEC_INFO"] = JSON.stringify({
    apiVersion,
    kind: "ExecCredential",
    spec: { interactive: false, ...(spec.provideClusterInfo === true ? { cluster } : {}) },
  });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args: Array.isArray(spec.args) ? spec.args.map(String) : [],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch (err) {
    last.spawnError = err instanceof Deno.errors.NotFound
      ? "ENOENT"
      : err instanceof Deno.errors.PermissionDenied
      ? "EACCES"
      : err instanceof Deno.errors.NotCapable
      ? undefined // Deno's refusal: reported as a permission, not as the plugin's failure
      : "spawn error";
    throw err;
  }
  record.running.add(child);
  const timer = killLater(child, last);
  try {
    const [out, status] = await Promise.all([readBounded(child.stdout), child.status]);
    if (status.signal) last.signal = status.signal;
    last.code = status.code;
    if (!status.success) throw new Error("the exec plugin failed");
    if (out === undefined) throw new SyntaxError("the ExecCredential is too large");
    return parseExecCredential(out);
  } finally {
    clearTimeout(timer);
    record.running.delete(child);
  }
}

/**
 * Kills `child` after {@linkcode EXEC_PLUGIN_TIMEOUT_MS}, noting it in `last`; clear the
 * returned timer when the plugin ends first.
 */
export function killLater(
  child: { kill(sig: "SIGKILL"): void },
  last: NonNullable<ExecRecord["last"]>,
): ReturnType<typeof setTimeout> {
  return setTimeout(() => {
    last.timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, EXEC_PLUGIN_TIMEOUT_MS);
}

/** The environment as the server may read it (Deno's `--allow-env` list), or nothing. */
function allowedEnv(): Record<string, string> {
  try {
    return Deno.env.toObject();
  } catch {
    return {};
  }
}

/**
 * The credential in a plugin's output (its `status`), registered as a secret.
 *
 * @throws {SyntaxError} when it is not an ExecCredential with a token or a client certificate.
 */
export function parseExecCredential(text: string): ExecCredential {
  let doc: { kind?: unknown; status?: Record<string, unknown> } | null;
  try {
    doc = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: the plugin's output, which may hold a credential.
    throw new SyntaxError("the output is not JSON");
  }
  const s = doc && typeof doc === "object" ? doc.status : undefined;
  const str = (k: string) => s && typeof s[k] === "string" && s[k] ? s[k] as string : undefined;
  const token = str("token");
  const cert = str("clientCertificateData");
  const key = str("clientKeyData");
  if (!token && !(cert && key)) throw new SyntaxError("no token or client certificate");
  registerSecret(token);
  registerSecret(key);
  const exp = str("expirationTimestamp");
  const expires = exp ? Date.parse(exp) : NaN;
  return {
    ...(token ? { token } : {}),
    ...(cert && key ? { clientCertificateData: cert, clientKeyData: key } : {}),
    ...(Number.isFinite(expires) ? { expires } : {}),
  };
}

/** The stream as text, or undefined past {@linkcode MAX_EXEC_OUTPUT_BYTES} (then drained). */
async function readBounded(stream: ReadableStream<Uint8Array>): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size <= MAX_EXEC_OUTPUT_BYTES) chunks.push(chunk);
  }
  if (size > MAX_EXEC_OUTPUT_BYTES) return undefined;
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
