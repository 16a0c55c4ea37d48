/**
 * A real Kubernetes API server for tests: etcd and kube-apiserver, built from their Go
 * modules by `scripts/kube/build.sh` (versions pinned in `scripts/kube/go.mod`), started on
 * loopback with free ports and a temporary data dir. The harness generates a CA and a
 * serving certificate (openssl), a service-account signing key (so TokenRequest and
 * TokenReview work), a static token file with an admin (`system:masters`) and limited
 * users, runs `--authorization-mode=RBAC`, waits for `/readyz`, installs Linkerd's and the
 * Gateway API's CRDs from the vendored upstream fixtures, and can load a mesh (objects
 * created as a client would, then pod and workload status written through the status
 * subresource, since no kubelet or controller-manager runs).
 *
 * Every process runs under a small shell wrapper that stops it when its stdin closes, so
 * the pair goes away with the test process even if a test or the runner dies.
 *
 * Use it with `await using kube = await startRealKube()` (or try/finally and `close()`),
 * and skip with {@linkcode KUBE_SKIP_REASON} where the binaries cannot be had.
 *
 * @module
 */
import { stringify as stringifyYaml } from "yaml";
import {
  POLICY_KEYS,
  resourceKeyFor,
  RESOURCES,
  type ResourceType,
} from "../../src/kube/resources.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { objectsFromYaml } from "../_helpers.ts";

/** The Kubernetes release built by `scripts/kube/build.sh` (see its go.mod). */
export const KUBE_VERSION = "v1.34.4";
/** The etcd release built by `scripts/kube/build.sh`. */
export const ETCD_VERSION = "v3.6.4";

const REPO = new URL("../../", import.meta.url);
const BUILD_SCRIPT = new URL("scripts/kube/build.sh", REPO).pathname;
const UPSTREAM_CRDS = new URL("tests/fixtures/upstream/crds/", REPO);
/** The Service IP range; the demo mesh's ClusterIPs are in 10.43.0.0/16. */
export const SERVICE_CIDR = "10.43.0.0/16";
/** The service-account issuer (and default audience) of the test cluster. */
export const SA_ISSUER = "https://kubernetes.default.svc.cluster.local";

/** The paths of a built pair. */
export interface KubeBinaries {
  dir: string;
  apiserver: string;
  etcd: string;
}

function say(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`kube_real: ${line}\n`));
}

/** Whether `LINKERD_MCP_REQUIRE_KUBE=1`: then a missing Go or failed start fails the tests. */
export const REQUIRE_KUBE = Deno.env.get("LINKERD_MCP_REQUIRE_KUBE") === "1";

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function hasGo(): Promise<boolean> {
  try {
    return (await run("go", ["version"])).code === 0;
  } catch {
    return false;
  }
}

/**
 * Finds the built binaries, building them first when Go is present and `build` is set.
 * Returns why not otherwise (one line).
 */
export async function findKubeBinaries(
  opts: { build?: boolean } = {},
): Promise<{ bins: KubeBinaries } | { reason: string }> {
  const from = (dir: string): KubeBinaries => ({
    dir,
    apiserver: `${dir}/kube-apiserver`,
    etcd: `${dir}/etcd`,
  });
  const explicit = Deno.env.get("LINKERD_MCP_KUBE_BIN_DIR");
  const printed = await run("bash", [BUILD_SCRIPT, "--print"]).catch(() => undefined);
  if (printed?.code === 0) return { bins: from(printed.stdout.trim()) };
  if (!(await hasGo())) {
    return {
      reason: `Go is not installed, so kube-apiserver ${KUBE_VERSION} and etcd ${ETCD_VERSION} ` +
        `cannot be built (scripts/kube/build.sh)${explicit ? ` and ${explicit} has none` : ""}`,
    };
  }
  if (!opts.build) return { reason: "the binaries are not built yet: run scripts/kube/build.sh" };
  say(`building kube-apiserver ${KUBE_VERSION} and etcd ${ETCD_VERSION} (scripts/kube/build.sh)`);
  const started = performance.now();
  const built = await new Deno.Command("bash", {
    args: [BUILD_SCRIPT],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (built.code !== 0) return { reason: `scripts/kube/build.sh failed (exit ${built.code})` };
  say(`built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return { bins: from(new TextDecoder().decode(built.stdout).trim()) };
}

/**
 * Whether this run asked for the real server (`deno task test:kube` sets
 * `LINKERD_MCP_KUBE=1`): `deno task test` skips these suites instead of building for
 * half an hour or starting the pair beside every other test.
 */
export const WANT_KUBE = REQUIRE_KUBE || Deno.env.get("LINKERD_MCP_KUBE") === "1";

const found: { bins: KubeBinaries } | { reason: string } = WANT_KUBE
  ? await findKubeBinaries({ build: true })
  : { reason: "the real API server suites run with `deno task test:kube`" };

/**
 * Why the real-server tests cannot run here, or `undefined` when they can. With
 * `LINKERD_MCP_REQUIRE_KUBE=1` it is always `undefined` (the tests run and fail instead).
 */
export const KUBE_SKIP_REASON: string | undefined = "reason" in found && !REQUIRE_KUBE
  ? found.reason
  : undefined;
// Said once per run: each test file evaluates this module again, in the same process (and
// in turn), so the first one leaves its process id in a scratch file.
if (KUBE_SKIP_REASON) {
  const marker = `${Deno.env.get("TMPDIR") ?? "/tmp"}/linkerd-mcp-kube-skip`;
  const said = (() => {
    try {
      return Deno.readTextFileSync(marker) === String(Deno.pid);
    } catch {
      return false;
    }
  })();
  if (!said) {
    say(`skipped: ${KUBE_SKIP_REASON}`);
    try {
      Deno.writeTextFileSync(marker, String(Deno.pid));
    } catch { /* read-only TMPDIR: the line may repeat */ }
  }
}

/** A user of the static token file. */
export interface KubeUser {
  name: string;
  groups: string[];
  token: string;
  /** A kubeconfig whose current context is this user. */
  kubeconfigPath: string;
}

/** The users the token file defines. */
export type UserName = "admin" | "reader" | "nsReader" | "nobody";

/** One answer of {@linkcode RealKube.request}. */
export interface KubeResponse {
  status: number;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** Options of {@linkcode RealKube.request}. */
export interface RequestOptions {
  /** Bearer token; the admin's by default, `null` for none. */
  token?: string | null;
  query?: Record<string, string>;
  contentType?: string;
}

/** A running etcd + kube-apiserver pair. */
export interface RealKube extends AsyncDisposable {
  /** `https://127.0.0.1:PORT`. */
  readonly url: string;
  /** etcd's client URL (plain HTTP on loopback). */
  readonly etcdUrl: string;
  readonly dir: string;
  readonly caPem: string;
  readonly users: Record<UserName, KubeUser>;
  /** Milliseconds: etcd ready, apiserver ready (after etcd), CRDs established. */
  readonly timings: { etcdMs: number; apiserverMs: number; crdsMs: number };
  /** One request to the API server (JSON in and out). */
  request(
    method: string,
    path: string,
    body?: unknown,
    opts?: RequestOptions,
  ): Promise<KubeResponse>;
  /** Like `request`, throwing unless the status is 2xx. */
  must(method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<KubeResponse>;
  /**
   * Creates objects as a client would (kinds the server reads, see `RESOURCES`; others are
   * skipped and returned), then writes pod and workload `status` through the status
   * subresource. Owner references are re-pointed at the owners' new UIDs.
   */
  loadObjects(
    objects: readonly KubeObject[],
  ): Promise<{ created: number; skipped: KubeObject[]; notes: string[] }>;
  /** Compacts etcd up to its current revision; returns that revision. */
  compact(): Promise<number>;
  /** A kubeconfig for any token (e.g. a service account's). */
  writeKubeconfig(name: string, token: string): Promise<string>;
  /** Stops both processes and removes the temp dir. Safe to call twice. */
  close(): Promise<void>;
}

/** Options of {@linkcode startRealKube}. */
export interface RealKubeOptions {
  /** Install the Linkerd, multicluster and Gateway API CRDs (default true). */
  crds?: boolean;
  /** Objects to load after the CRDs (see {@linkcode RealKube.loadObjects}). */
  objects?: readonly KubeObject[];
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[];
  /** How long to wait for each process to get ready. Default 120 s (a loaded 2-core CI box). */
  readyTimeoutMs?: number;
  /**
   * The Service IP range (`--service-cluster-ip-range`); default {@linkcode SERVICE_CIDR}.
   * The demo's east cluster has its ClusterIPs in `10.53.0.0/16`.
   */
  serviceCidr?: string;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A child process that dies when its stdin closes (i.e. also when this process dies). */
class Supervised {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pidFile: string;
  readonly logFile: string;
  readonly name: string;
  #stopped: Promise<void> | undefined;

  constructor(name: string, bin: string, args: string[], dir: string) {
    this.name = name;
    this.logFile = `${dir}/${name}.log`;
    this.#pidFile = `${dir}/${name}.pid`;
    // The wrapper starts the program, waits for its own stdin to close (the test process
    // closed it, or died), then stops the program: TERM, and KILL after 10 s.
    const wrapper = `"$@" >"$LOG" 2>&1 </dev/null & pid=$!; echo $pid >"$PIDFILE"
      cat >/dev/null; kill -TERM $pid 2>/dev/null
      for i in $(seq 100); do kill -0 $pid 2>/dev/null || exit 0; sleep 0.1; done
      kill -KILL $pid 2>/dev/null; wait $pid`;
    this.#child = new Deno.Command("sh", {
      args: ["-c", wrapper, name, bin, ...args],
      env: { LOG: this.logFile, PIDFILE: this.#pidFile },
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
  }

  /** The program's exit, if it already exited (its wrapper then stays until stop). */
  async exited(): Promise<boolean> {
    const pid = Number((await Deno.readTextFile(this.#pidFile).catch(() => "")).trim());
    if (!pid) return false;
    try {
      Deno.kill(pid, "SIGCONT"); // harmless to a running process; throws if it is gone
      return false;
    } catch {
      return true;
    }
  }

  async logTail(lines = 30): Promise<string> {
    const text = await Deno.readTextFile(this.logFile).catch(() => "");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await this.#stdin.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 15_000);
      await this.#child.status;
      clearTimeout(timer);
    })();
    return this.#stopped;
  }
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await run("openssl", args, { cwd: dir });
  if (out.code !== 0) throw new Error(`openssl ${args[0]} failed: ${out.stderr.trim()}`);
}

/** CA, serving certificate for 127.0.0.1/localhost, service-account key pair. */
async function makeCerts(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=linkerd-mcp-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  await openssl(
    dir,
    "req",
    ...ec,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=kube-apiserver",
  );
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n" +
      "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  );
  await openssl(
    dir,
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    "sa.key",
  );
  await openssl(dir, "pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub");
}

async function waitFor(
  what: string,
  proc: Supervised,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (await proc.exited()) {
      throw new Error(`${what}: ${proc.name} exited during start-up:\n${await proc.logTail()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${timeoutMs} ms:\n${await proc.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function kubeconfigText(url: string, caPem: string, name: string, token: string): string {
  return stringifyYaml({
    apiVersion: "v1",
    kind: "Config",
    "current-context": name,
    clusters: [{
      name: "real",
      cluster: { server: url, "certificate-authority-data": btoa(caPem) },
    }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: "real", user: name } }],
  });
}

/** One context of {@linkcode multiContextKubeconfig}: a server, its CA and a token. */
export interface KubeconfigContext {
  /** The context's name (also its cluster's and user's). */
  name: string;
  /** `https://127.0.0.1:PORT`. */
  url: string;
  caPem: string;
  token: string;
}

/**
 * The text of one kubeconfig with a context per entry, each with its own cluster (server
 * and CA) and user (token); the current context is `current`, else the first.
 */
export function multiContextKubeconfig(
  contexts: readonly KubeconfigContext[],
  current?: string,
): string {
  return stringifyYaml({
    apiVersion: "v1",
    kind: "Config",
    "current-context": current ?? contexts[0]?.name ?? "",
    clusters: contexts.map((c) => ({
      name: c.name,
      cluster: { server: c.url, "certificate-authority-data": btoa(c.caPem) },
    })),
    users: contexts.map((c) => ({ name: c.name, user: { token: c.token } })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.name, user: c.name } })),
  });
}

/** `/api/v1/namespaces/ns/pods`-style collection path for an object. */
export function collectionPath(r: ResourceType, version: string, namespace?: string): string {
  const prefix = r.group ? `/apis/${r.group}/${version}` : `/api/${version}`;
  return `${prefix}${r.namespaced ? `/namespaces/${namespace ?? "default"}` : ""}/${r.plural}`;
}

/** The upstream CRD documents the harness installs. */
export function upstreamCrds(): KubeObject[] {
  const out: KubeObject[] = [];
  for (const sub of ["linkerd", "gateway-api", "multicluster"]) {
    const dir = new URL(`${sub}/`, UPSTREAM_CRDS);
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      if (!e.name.endsWith(".yaml")) continue;
      out.push(...objectsFromYaml(Deno.readTextFileSync(new URL(e.name, dir))));
    }
  }
  return out.filter((o) => o.kind === "CustomResourceDefinition");
}

/** Fields a client may not set on create. */
function forCreate(obj: KubeObject): KubeObject {
  const {
    uid: _u,
    resourceVersion: _r,
    creationTimestamp: _c,
    generation: _g,
    managedFields: _m,
    selfLink: _s,
    ...metadata
  } = obj.metadata as Record<string, unknown> & KubeObject["metadata"];
  const { status: _status, ...rest } = obj;
  return { ...rest, metadata } as KubeObject;
}

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/**
 * Starts etcd and kube-apiserver (see the module doc). Throws when the binaries are missing
 * or either process does not get ready; whatever was started is stopped first.
 */
export async function startRealKube(opts: RealKubeOptions = {}): Promise<RealKube> {
  if ("reason" in found) throw new Error(`Cannot start a real API server: ${found.reason}`);
  const bins = found.bins;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-kube-" });
  const procs: Supervised[] = [];
  let client: Deno.HttpClient | undefined;
  const cleanup = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    client?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await makeCerts(dir);
    const caPem = await Deno.readTextFile(`${dir}/ca.crt`);
    const tok = () => crypto.randomUUID().replaceAll("-", "");
    const spec: Record<UserName, { name: string; groups: string[] }> = {
      admin: { name: "kube-admin", groups: ["system:masters"] },
      reader: { name: "mcp-reader", groups: [] },
      nsReader: { name: "mcp-ns-reader", groups: [] },
      nobody: { name: "mcp-nobody", groups: [] },
    };
    const tokens = Object.fromEntries(Object.keys(spec).map((k) => [k, tok()])) as Record<
      UserName,
      string
    >;
    await Deno.writeTextFile(
      `${dir}/tokens.csv`,
      (Object.keys(spec) as UserName[]).map((k) =>
        `${tokens[k]},${spec[k].name},${spec[k].name}${
          spec[k].groups.length ? `,"${spec[k].groups.join(",")}"` : ""
        }`
      ).join("\n") + "\n",
    );

    const etcdPort = freePort();
    const peerPort = freePort();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const t0 = performance.now();
    const etcd = new Supervised("etcd", bins.etcd, [
      "--name=test",
      `--data-dir=${dir}/etcd`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=test=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
      "--quota-backend-bytes=1073741824",
    ], dir);
    procs.push(etcd);
    await waitFor("etcd", etcd, readyTimeoutMs, async () => {
      const res = await fetch(`${etcdUrl}/health`);
      const body = await res.json() as { health?: string };
      return res.ok && body.health === "true";
    });
    const etcdMs = performance.now() - t0;

    const port = freePort();
    const url = `https://127.0.0.1:${port}`;
    const t1 = performance.now();
    const apiserver = new Supervised("kube-apiserver", bins.apiserver, [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${port}`,
      `--cert-dir=${dir}/certs`,
      `--tls-cert-file=${dir}/server.crt`,
      `--tls-private-key-file=${dir}/server.key`,
      `--client-ca-file=${dir}/ca.crt`,
      `--service-account-issuer=${SA_ISSUER}`,
      `--service-account-key-file=${dir}/sa.pub`,
      `--service-account-signing-key-file=${dir}/sa.key`,
      `--token-auth-file=${dir}/tokens.csv`,
      "--authorization-mode=RBAC",
      `--service-cluster-ip-range=${opts.serviceCidr ?? SERVICE_CIDR}`,
      // No controller-manager runs: nothing would create the service-account tokens.
      "--disable-admission-plugins=ServiceAccount",
      "--endpoint-reconciler-type=none",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
      // The tests compact etcd themselves.
      "--etcd-compaction-interval=0",
      // ConfigMaps are watched straight from etcd, so a compaction reaches the watcher.
      "--watch-cache-sizes=configmaps#0",
      "--v=1",
      ...(opts.apiserverArgs ?? []),
    ], dir);
    procs.push(apiserver);
    client = Deno.createHttpClient({ caCerts: [caPem] });
    const httpClient = client;
    const request = async (
      method: string,
      path: string,
      body?: unknown,
      o: RequestOptions = {},
    ): Promise<KubeResponse> => {
      const token = o.token === undefined ? tokens.admin : o.token;
      const q = o.query ? `?${new URLSearchParams(o.query)}` : "";
      const res = await fetch(`${url}${path}${q}`, {
        method,
        client: httpClient,
        headers: {
          accept: "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { "content-type": o.contentType ?? "application/json" } : {}),
        },
        ...(body !== undefined
          ? { body: typeof body === "string" ? body : JSON.stringify(body) }
          : {}),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json };
    };
    const must = async (method: string, path: string, body?: unknown, o?: RequestOptions) => {
      const res = await request(method, path, body, o);
      if (res.status < 200 || res.status > 299) {
        throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 600)}`);
      }
      return res;
    };
    await waitFor("kube-apiserver", apiserver, readyTimeoutMs, async () => {
      const res = await request("GET", "/readyz");
      return res.status === 200;
    });
    const apiserverMs = performance.now() - t1;

    const users = {} as Record<UserName, KubeUser>;
    for (const k of Object.keys(spec) as UserName[]) {
      const kubeconfigPath = `${dir}/kubeconfig-${k}`;
      await Deno.writeTextFile(kubeconfigPath, kubeconfigText(url, caPem, spec[k].name, tokens[k]));
      users[k] = { ...spec[k], token: tokens[k], kubeconfigPath };
    }

    const t2 = performance.now();
    if (opts.crds !== false) {
      const crds = upstreamCrds();
      await pool(
        crds,
        4,
        (crd) =>
          must("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", forCreate(crd)),
      );
      // Established, and every served version answers a list.
      await pool(crds, 4, async (crd) => {
        const spec = crd.spec as {
          group: string;
          names: { plural: string };
          versions: Array<{ name: string; served: boolean }>;
        };
        const deadline = Date.now() + readyTimeoutMs;
        for (const v of spec.versions.filter((v) => v.served)) {
          for (;;) {
            const res = await request(
              "GET",
              `/apis/${spec.group}/${v.name}/${spec.names.plural}`,
              undefined,
              {
                query: { limit: "1" },
              },
            );
            if (res.status === 200) break;
            if (Date.now() > deadline) {
              throw new Error(`CRD ${crd.metadata.name} ${v.name} not served: ${res.status}`);
            }
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      });
    }
    const crdsMs = performance.now() - t2;

    const loadObjects = async (objects: readonly KubeObject[]) => {
      const skipped: KubeObject[] = [];
      const uids = new Map<string, string>();
      const groups: KubeObject[][] = [[], [], [], []];
      for (const o of objects) {
        const key = resourceKeyFor(o.apiVersion, o.kind);
        if (!key || key === "crds") {
          skipped.push(o);
          continue;
        }
        // Namespaces, then unowned objects, then owned ones, then pods (owners' UIDs known).
        const stage = o.kind === "Namespace"
          ? 0
          : o.kind === "Pod"
          ? 3
          : o.metadata.ownerReferences
          ? 2
          : 1;
        groups[stage]!.push(o);
      }
      let created = 0;
      const notes: string[] = [];
      const createOne = async (o: KubeObject): Promise<string> => {
        const key = resourceKeyFor(o.apiVersion, o.kind)!;
        const r: ResourceType = RESOURCES[key];
        const version = o.apiVersion.includes("/") ? o.apiVersion.split("/")[1]! : o.apiVersion;
        const body = forCreate(o);
        if (o.kind === "Pod") {
          // What the ServiceAccount admission plugin (off here: no token controller runs)
          // does on a real cluster: a pod without a service account runs as "default".
          const spec = body.spec as Record<string, unknown>;
          if (!spec["serviceAccountName"]) {
            spec["serviceAccountName"] = "default";
            notes.push(
              `Pod ${o.metadata.namespace}/${o.metadata.name}: no spec.serviceAccountName; ` +
                `a real cluster sets "default"`,
            );
          }
        }
        const owners = body.metadata.ownerReferences as Array<{ uid?: string }> | undefined;
        if (owners) {
          body.metadata.ownerReferences = owners.map((ref) => ({
            ...ref,
            uid: (ref.uid && uids.get(ref.uid)) ?? ref.uid,
          })) as never;
        }
        const path = collectionPath(r, version, o.metadata.namespace);
        const exists = o.kind === "Namespace" &&
          (await request("GET", `${path}/${o.metadata.name}`)).status === 200;
        const res = exists
          ? await must("GET", `${path}/${o.metadata.name}`)
          : await must("POST", path, body);
        if (o.metadata.uid) uids.set(o.metadata.uid, res.json.metadata.uid);
        created++;
        if (o.status && o.kind !== "Namespace") {
          const status = { ...o.status } as Record<string, unknown>;
          // The server computes a pod's QoS class at creation and never lets it change.
          const qos = res.json.status?.qosClass;
          if (o.kind === "Pod" && status["qosClass"] !== undefined) {
            if (status["qosClass"] !== qos) {
              notes.push(
                `Pod ${o.metadata.namespace}/${o.metadata.name}: status.qosClass ` +
                  `${status["qosClass"]} given, the server computed ${qos}`,
              );
            }
            delete status["qosClass"];
          }
          await must("PATCH", `${path}/${encodeURIComponent(o.metadata.name)}/status`, {
            status,
          }, { contentType: "application/merge-patch+json" });
        }
        return String(res.json.metadata.creationTimestamp);
      };
      // Precedence among Servers and among routes is by creationTimestamp (then name), and
      // the server stamps whole seconds: objects of one policy kind in one namespace whose
      // given timestamps differ are created in that order, a second apart. Everything else
      // is created in parallel.
      const chains = (group: KubeObject[]): KubeObject[][] => {
        const byKind = new Map<string, KubeObject[]>();
        const out: KubeObject[][] = [];
        for (const o of group) {
          const key = resourceKeyFor(o.apiVersion, o.kind)!;
          if (!POLICY_KEYS.includes(key)) out.push([o]);
          else {
            const k = `${key}|${o.metadata.namespace}`;
            byKind.set(k, [...(byKind.get(k) ?? []), o]);
          }
        }
        for (const chain of byKind.values()) {
          out.push(chain.sort((a, b) =>
            String(a.metadata.creationTimestamp ?? "").localeCompare(
              String(b.metadata.creationTimestamp ?? ""),
            )
          ));
        }
        return out.sort((a, b) => b.length - a.length); // long chains first
      };
      for (const group of groups) {
        await pool(chains(group), 6, async (chain) => {
          let last: { given: string; second: number } | undefined;
          for (const o of chain) {
            const given = String(o.metadata.creationTimestamp ?? "");
            if (last && given !== last.given) {
              const wait = (last.second + 1) * 1000 - Date.now() + 20;
              if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            }
            const stamped = await createOne(o);
            last = { given, second: Math.floor(Date.parse(stamped) / 1000) };
          }
        });
      }
      return { created, skipped, notes };
    };

    const kube: RealKube = {
      url,
      etcdUrl,
      dir,
      caPem,
      users,
      timings: { etcdMs, apiserverMs, crdsMs },
      request,
      must,
      loadObjects,
      async compact() {
        const res = await fetch(`${etcdUrl}/v3/kv/range`, {
          method: "POST",
          body: JSON.stringify({ key: btoa("/"), limit: 1 }),
        });
        const rev = Number(
          ((await res.json()) as { header: { revision: string } }).header.revision,
        );
        const c = await fetch(`${etcdUrl}/v3/kv/compaction`, {
          method: "POST",
          body: JSON.stringify({ revision: String(rev), physical: true }),
        });
        if (!c.ok) throw new Error(`etcd compaction failed: ${c.status} ${await c.text()}`);
        await c.body?.cancel();
        return rev;
      },
      async writeKubeconfig(name: string, token: string) {
        const path = `${dir}/kubeconfig-${name.replace(/[^\w.-]/g, "_")}`;
        await Deno.writeTextFile(path, kubeconfigText(url, caPem, name, token));
        return path;
      },
      close: cleanup,
      [Symbol.asyncDispose]: cleanup,
    };
    if (opts.objects) await loadObjects(opts.objects);
    return kube;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
