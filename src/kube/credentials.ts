/**
 * Request credentials for the live source, read from the selected kubeconfig context (or the
 * in-cluster service account) without `@kubernetes/client-node`: a bearer token (inline,
 * `tokenFile`, or from an `exec` plugin), basic auth, a client certificate (inline, from
 * files, or from the plugin), the cluster's CA, `insecure-skip-tls-verify` and
 * `tls-server-name`, in an `https.Agent`. What this does not do (`auth-provider`, `proxy-url`)
 * is left to client-node: {@linkcode needsClientNode} says when.
 *
 * @module
 */
import { KubeconfigError } from "../errors.ts";
import { registerSecret } from "../redact.ts";
import {
  type ExecClusterInfo,
  type ExecCredential,
  type ExecRecord,
  type ExecSpec,
  runExecPlugin,
} from "./exec_plugin.ts";
import { type HttpTransport, nodeTransport } from "./_live_http.ts";
import { fetchTransport } from "./_fetch_http.ts";
import type { KubeconfigLocation } from "./kubeconfig.ts";
import { resolveFrom, type SelectedKubeconfig } from "./kubeconfig_read.ts";

/** What one request carries, and how it is sent. */
export interface AppliedCredentials {
  headers: Record<string, string>;
  /** Basic auth, `user:password`. */
  auth?: string;
  /** The same transport while the TLS material is the same. */
  transport: HttpTransport;
}

/** What the live source needs of a context's credentials, from either implementation. */
export interface KubeCredentials {
  /** The context's name (`in-cluster` for the service account). */
  readonly context: string;
  /** The API server URL as written (may hold userinfo). */
  readonly server: string;
  readonly skipTLSVerify: boolean;
  /** What the context's exec plugin did last, when it has one. */
  readonly exec: ExecRecord | undefined;
  /** `built-in` (this module) or `client-node`. */
  readonly implementation: "built-in" | "client-node";
  /** The headers, basic auth and transport of the next request. */
  apply(): Promise<AppliedCredentials>;
  /** The server refused the credentials (401): renew what can be renewed. */
  invalidate(): void;
  /** Closes the transport's connections. */
  close(): void;
}

/**
 * True when the context uses what only client-node implements: an `auth-provider` (the
 * legacy gcp, azure and oidc providers) or a `proxy-url`.
 */
export function needsClientNode(selected: SelectedKubeconfig): boolean {
  return selected.user.fields["auth-provider"] !== undefined ||
    (typeof selected.cluster.fields["proxy-url"] === "string" &&
      selected.cluster.fields["proxy-url"] !== "");
}

/** Credentials of a kubeconfig context. */
export function kubeconfigCredentials(selected: SelectedKubeconfig): KubeCredentials {
  const c = selected.cluster.fields;
  const u = selected.user.fields;
  const str = (m: Record<string, unknown>, k: string) =>
    typeof m[k] === "string" && m[k] !== "" ? m[k] as string : undefined;
  const execSpec = u["exec"] && typeof u["exec"] === "object" &&
      typeof (u["exec"] as ExecSpec).command === "string"
    ? u["exec"] as ExecSpec
    : undefined;
  const cdir = selected.cluster.dir;
  const udir = selected.user.dir;
  const caFile = str(c, "certificate-authority");
  const certFile = str(u, "client-certificate");
  const keyFile = str(u, "client-key");
  const tokenFile = str(u, "tokenFile");
  const username = str(u, "username");
  return new Credentials({
    context: selected.context,
    server: str(c, "server")!,
    skipTLSVerify: c["insecure-skip-tls-verify"] === true,
    ...(str(c, "tls-server-name") ? { tlsServerName: str(c, "tls-server-name") } : {}),
    ca: str(c, "certificate-authority-data")
      ? { data: str(c, "certificate-authority-data")!, what: "certificate-authority-data" }
      : caFile
      ? { file: resolveFrom(cdir, caFile) }
      : undefined,
    cert: str(u, "client-certificate-data")
      ? { data: str(u, "client-certificate-data")!, what: "client-certificate-data" }
      : certFile
      ? { file: resolveFrom(udir, certFile) }
      : undefined,
    key: str(u, "client-key-data")
      ? { data: str(u, "client-key-data")!, what: "client-key-data" }
      : keyFile
      ? { file: resolveFrom(udir, keyFile) }
      : undefined,
    ...(str(u, "token") ? { token: str(u, "token") } : {}),
    ...(tokenFile ? { tokenFile: resolveFrom(udir, tokenFile) } : {}),
    ...(username !== undefined || str(u, "password")
      ? { basic: `${username ?? ""}:${str(u, "password") ?? ""}` }
      : {}),
    ...(execSpec ? { exec: { spec: execSpec, dir: udir } } : {}),
  });
}

/** Credentials of the pod's service account (the token file is read again as it rotates). */
export function inClusterCredentials(
  location: Extract<KubeconfigLocation, { kind: "in-cluster" }>,
): KubeCredentials {
  return new Credentials({
    context: "in-cluster",
    server: location.server,
    skipTLSVerify: false,
    ca: { file: location.caFile },
    tokenFile: location.tokenFile,
  });
}

/** PEM material: base64 data from the kubeconfig, or a file. */
type Material = { data: string; what: string } | { file: string };

interface CredentialsInit {
  context: string;
  server: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
  ca?: Material | undefined;
  cert?: Material | undefined;
  key?: Material | undefined;
  token?: string;
  tokenFile?: string;
  /** `username:password`. */
  basic?: string;
  exec?: { spec: ExecSpec; dir: string };
}

class Credentials implements KubeCredentials {
  readonly context: string;
  readonly server: string;
  readonly skipTLSVerify: boolean;
  readonly exec: ExecRecord | undefined;
  readonly implementation = "built-in" as const;
  readonly #init: CredentialsInit;
  /** The plugin's credential, shared by concurrent requests, kept until it expires. */
  #execCredential: Promise<ExecCredential> | undefined;
  #transport: { key: string; transport: HttpTransport } | undefined;

  constructor(init: CredentialsInit) {
    this.#init = init;
    this.context = init.context;
    this.server = init.server;
    this.skipTLSVerify = init.skipTLSVerify;
    this.exec = init.exec ? { running: new Set() } : undefined;
  }

  async apply(): Promise<AppliedCredentials> {
    const init = this.#init;
    const [ca, fileCert, fileKey] = await Promise.all([
      pem(init.ca),
      pem(init.cert),
      pem(init.key),
    ]);
    registerSecret(fileKey);
    let token = init.token;
    if (!token && init.tokenFile) {
      token = (await readFile(init.tokenFile)).trim();
      registerSecret(token);
    }
    let cert = fileCert;
    let key = fileKey;
    if (init.exec && !token) {
      const cred = await this.#execCredentialNow();
      token = cred.token;
      if (cred.clientCertificateData && cred.clientKeyData) {
        cert = cred.clientCertificateData;
        key = cred.clientKeyData;
      }
    }
    const headers: Record<string, string> = {};
    if (token) headers["authorization"] = `Bearer ${token}`;
    return {
      headers,
      ...(init.basic ? { auth: init.basic } : {}),
      transport: await this.#transportFor(ca, cert, key),
    };
  }

  invalidate(): void {
    this.#execCredential = undefined;
  }

  close(): void {
    this.#transport?.transport.close();
    this.#transport = undefined;
  }

  /** The plugin's credential: the one held while it has not expired, else a new run. */
  #execCredentialNow(): Promise<ExecCredential> {
    const held = this.#execCredential;
    if (held) {
      return held.then((c) => {
        if (c.expires === undefined || c.expires - 10_000 > Date.now()) return c;
        if (this.#execCredential === held) this.#execCredential = undefined;
        return this.#execCredentialNow();
      });
    }
    const { spec, dir } = this.#init.exec!;
    const init = this.#init;
    const cluster: ExecClusterInfo = {
      server: init.server,
      ...(init.ca && "data" in init.ca ? { "certificate-authority-data": init.ca.data } : {}),
      ...(init.skipTLSVerify ? { "insecure-skip-tls-verify": true } : {}),
      ...(init.tlsServerName ? { "tls-server-name": init.tlsServerName } : {}),
    };
    const run = runExecPlugin(spec, dir, cluster, this.exec!);
    this.#execCredential = run;
    run.catch(() => this.#execCredential === run && (this.#execCredential = undefined));
    return run;
  }

  /**
   * One transport while the TLS material is the same (a renewed client certificate gets a
   * new one, and the old one's connections are closed): Deno's client, or `node:http(s)` for
   * plain HTTP, `insecure-skip-tls-verify` and `tls-server-name`, which it cannot do.
   */
  async #transportFor(
    ca: string | undefined,
    cert: string | undefined,
    key: string | undefined,
  ): Promise<HttpTransport> {
    const init = this.#init;
    const id = JSON.stringify([ca, cert, key]);
    if (this.#transport?.key === id) return this.#transport.transport;
    let transport: HttpTransport;
    if (init.server.startsWith("http:")) {
      transport = nodeTransport((await import("node:http")).request, undefined);
    } else if (init.skipTLSVerify || init.tlsServerName) {
      const https = await import("node:https");
      const agent = new https.Agent({
        ...(ca ? { ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        rejectUnauthorized: !init.skipTLSVerify,
        ...(init.tlsServerName ? { servername: init.tlsServerName } : {}),
      });
      transport = nodeTransport(https.request, agent);
    } else {
      transport = fetchTransport({ ca, cert, key });
    }
    if (this.#transport?.key === id) {
      transport.close(); // a concurrent request made it first
      return this.#transport.transport;
    }
    this.#transport?.transport.close();
    this.#transport = { key: id, transport };
    return transport;
  }
}

/** The PEM text of `m`. @throws {KubeconfigError} for data that is not base64. */
async function pem(m: Material | undefined): Promise<string | undefined> {
  if (!m) return undefined;
  if ("file" in m) return await readFile(m.file);
  try {
    return atob(m.data.replace(/\s+/g, ""));
  } catch {
    throw new KubeconfigError(`the kubeconfig's ${m.what} is not base64`, {
      reason: "InvalidKubeconfig",
    });
  }
}

/** A file's text; errors carry `code` and `path` (the source's error wording reads them). */
async function readFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) throw err;
    const code = (err as { code?: string }).code ??
      (err instanceof Deno.errors.NotFound ? "ENOENT" : undefined);
    throw Object.assign(new Error(`cannot read ${path}`), { code, path });
  }
}
