/**
 * The live source's credentials without client-node (src/kube/credentials.ts), through
 * `createLiveSource` against the Kubernetes API stand-in: exec credentials renewed when they
 * expire or are refused, token files read again, basic auth, and the client-node fallback for
 * `auth-provider`. Time is advanced by replacing `Date.now`, so that the source's 10 s
 * credential cache does not make the tests wait.
 *
 * @module
 */
import assert from "node:assert/strict";
import { stringify as stringifyYaml } from "yaml";
import { KubeApiError } from "../../src/errors.ts";
import { kubeconfigCredentials, needsClientNode } from "../../src/kube/credentials.ts";
import { readSelectedKubeconfig } from "../../src/kube/kubeconfig_read.ts";
import { createLiveSource } from "../../src/kube/live.ts";
import type { Logger } from "../../src/log.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { type OpenLive, withLive } from "./_live.ts";
import { type Standin, STANDIN_CA_PEM, STANDIN_TOKEN } from "../support/kube_standin.ts";

const CERTS = new URL("../support/certs/", import.meta.url);
const WRONG_TOKEN = "wrong-token-for-the-standin-42";

const PODS: KubeObject[] = ["a", "b"].map((name) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "emojivoto" },
}));

/** `Date.now` moved forward by `advance()`, restored on dispose. */
function fakeClock(): { advance(ms: number): void } & Disposable {
  const real = Date.now;
  let offset = 0;
  Date.now = () => real() + offset;
  return {
    advance(ms: number) {
      offset += ms;
    },
    [Symbol.dispose]() {
      Date.now = real;
    },
  };
}

/** A kubeconfig at `path` with one cluster (`server`, the stand-in's CA) and these users. */
async function writeKubeconfig(
  path: string,
  server: string,
  users: Record<string, Record<string, unknown>>,
  cluster: Record<string, unknown> = {},
): Promise<void> {
  await Deno.writeTextFile(
    path,
    stringifyYaml({
      apiVersion: "v1",
      kind: "Config",
      "current-context": Object.keys(users)[0],
      clusters: [{
        name: "c",
        cluster: { server, "certificate-authority-data": btoa(STANDIN_CA_PEM), ...cluster },
      }],
      users: Object.entries(users).map(([name, user]) => ({ name, user })),
      contexts: Object.keys(users).map((name) => ({ name, context: { cluster: "c", user: name } })),
    }),
  );
}

function withStandin(fn: (api: Standin, live: OpenLive) => Promise<void>): Promise<void> {
  return withLive({ objects: PODS }, fn);
}

/** An exec plugin that logs each run to the file named by `$1` and prints `token`. */
async function writePlugin(path: string, body: string): Promise<void> {
  await Deno.writeTextFile(path, `#!/bin/sh\necho run >> "$1"\n${body}\n`);
  await Deno.chmod(path, 0o755);
}

function execCredential(token: string, expirationTimestamp?: string): string {
  return JSON.stringify({
    apiVersion: "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    status: { token, ...(expirationTimestamp ? { expirationTimestamp } : {}) },
  });
}

async function runs(path: string): Promise<number> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter(Boolean).length;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
}

async function rejects401(promise: Promise<unknown>): Promise<KubeApiError> {
  const err = await promise.then(() => undefined, (e) => e);
  assert.ok(err instanceof KubeApiError, `expected a 401, got ${String(err)}`);
  assert.equal(err.status, 401, err.message);
  return err;
}

Deno.test("an exec credential is run again once it (nearly) expires, and reused while valid", async () => {
  await withStandin(async (api, live) => {
    using clock = fakeClock();
    const plugin = `${api.dir}/plugin.sh`;
    // The timestamp comes in as $2: each user's plugin prints its own.
    await writePlugin(
      plugin,
      `printf '%s\\n' '${execCredential(STANDIN_TOKEN, "TS")}' | sed "s/TS/$2/"`,
    );
    const iso = (ms: number) => new Date(Date.now() + ms).toISOString();
    const user = (name: string, expires: string) => ({
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: plugin,
        args: [`${api.dir}/runs-${name}`, expires],
      },
    });
    const path = `${api.dir}/exec-config`;
    await writeKubeconfig(path, api.url, {
      past: user("past", iso(-3_600_000)),
      // 15 s: still valid on the first use; 4 s left after 11 s, inside the 10 s margin.
      near: user("near", iso(15_000)),
      far: user("far", iso(3_600_000)),
    });
    const names = ["past", "near", "far"] as const;
    const sources = await Promise.all(
      names.map((context) => live({ kubeconfigPath: path, context })),
    );
    const counts = () => Promise.all(names.map((n) => runs(`${api.dir}/runs-${n}`)));
    for (const src of sources) assert.equal((await src.list("pods")).length, 2);
    assert.deepEqual(await counts(), [1, 1, 1]);
    // Within the source's 10 s credentials cache nothing is run again, expired or not.
    for (const src of sources) await src.list("pods");
    assert.deepEqual(await counts(), [1, 1, 1]);
    clock.advance(11_000);
    for (const src of sources) assert.equal((await src.list("pods")).length, 2);
    assert.deepEqual(await counts(), [2, 2, 1], "past and near are renewed, far is reused");
    clock.advance(11_000);
    for (const src of sources) await src.list("pods");
    assert.deepEqual(await counts(), [3, 3, 1]);
  });
});

Deno.test("a 401 makes the source run the exec plugin again on the next request", async () => {
  await withStandin(async (api, live) => {
    const plugin = `${api.dir}/plugin.sh`;
    // The first run prints a token the stand-in refuses, later runs the right one; both are
    // valid for an hour, so only the 401 can make the source ask again.
    const far = new Date(Date.now() + 3_600_000).toISOString();
    await writePlugin(
      plugin,
      `if [ "$(wc -l < "$1")" -le 1 ]; then echo '${execCredential(WRONG_TOKEN, far)}'; ` +
        `else echo '${execCredential(STANDIN_TOKEN, far)}'; fi`,
    );
    const path = `${api.dir}/exec-config`;
    const counter = `${api.dir}/runs`;
    await writeKubeconfig(path, api.url, {
      e: {
        exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin, args: [counter] },
      },
    });
    const src = await live({ kubeconfigPath: path });
    const err = await rejects401(src.list("pods"));
    assert.ok(!err.message.includes(WRONG_TOKEN), err.message);
    assert.equal(await runs(counter), 1);
    assert.equal((await src.list("pods")).length, 2, "renewed after the 401, without waiting");
    assert.equal(await runs(counter), 2);
    await src.list("pods");
    await src.get("pods", "a", "emojivoto");
    assert.equal(await runs(counter), 2, "the renewed credential is kept");
    assert.deepEqual(api.requests.map((r) => r.status), [401, 200, 200, 200]);
  });
});

Deno.test("a tokenFile is read again after a 401 and when the source renews its credentials", async () => {
  await withStandin(async (api, live) => {
    using clock = fakeClock();
    const tokenFile = `${api.dir}/token-file`;
    const path = `${api.dir}/token-config`;
    // Relative: against the kubeconfig's folder.
    await writeKubeconfig(path, api.url, { t: { tokenFile: "token-file" } });
    await Deno.writeTextFile(tokenFile, `${WRONG_TOKEN}\n`);
    const src = await live({ kubeconfigPath: path });
    await rejects401(src.list("pods"));
    await Deno.writeTextFile(tokenFile, `${STANDIN_TOKEN}\n`);
    assert.equal((await src.list("pods")).length, 2, "read again after the 401");
    // Rotated to a token the server refuses: kept for up to 10 s, then read again.
    await Deno.writeTextFile(tokenFile, WRONG_TOKEN);
    assert.equal((await src.list("pods")).length, 2);
    clock.advance(11_000);
    await rejects401(src.list("pods"));
    await Deno.writeTextFile(tokenFile, STANDIN_TOKEN);
    assert.equal((await src.list("pods")).length, 2);
    // Gone: the error names the file, not its content.
    await Deno.remove(tokenFile);
    clock.advance(11_000);
    const err = await src.list("pods").then(() => undefined, (e) => e);
    assert.ok(err instanceof KubeApiError, String(err));
    assert.equal(err.reason, "Credentials");
    assert.match(err.message, /cannot read ".*\/token-file" \(ENOENT\)/);
  });
});

Deno.test("kubeconfigCredentials() reads the tokenFile on every apply()", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await writeKubeconfig(path, "https://127.0.0.1:1", { t: { tokenFile: "tok" } });
    await Deno.writeTextFile(`${dir}/tok`, " file-token-one-8a7b6c \n");
    const selected = await readSelectedKubeconfig(
      { kind: "files", paths: [path], origin: "path" },
      undefined,
    );
    const creds = kubeconfigCredentials(selected);
    try {
      const first = await creds.apply();
      assert.deepEqual(first.headers, { authorization: "Bearer file-token-one-8a7b6c" });
      await Deno.writeTextFile(`${dir}/tok`, "file-token-two-5d4e3f");
      const second = await creds.apply();
      assert.deepEqual(second.headers, { authorization: "Bearer file-token-two-5d4e3f" });
      assert.equal(second.transport, first.transport, "the same TLS material, the same transport");
    } finally {
      creds.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an auth-provider context authenticates through client-node", async () => {
  await withStandin(async (api, live) => {
    const right = `${api.dir}/provider-token`;
    const wrong = `${api.dir}/provider-wrong`;
    // client-node's FileAuth sends the file as it is (no trimming): no newline.
    await Deno.writeTextFile(right, STANDIN_TOKEN);
    await Deno.writeTextFile(wrong, WRONG_TOKEN);
    const path = `${api.dir}/provider-config`;
    const provider = (tokenFile: string) => ({
      "auth-provider": { name: "file", config: { tokenFile } },
    });
    await writeKubeconfig(path, api.url, { ok: provider(right), bad: provider(wrong) });
    const logged: Array<Record<string, unknown>> = [];
    const log: Logger = {
      debug: (msg, fields) => msg === "kubeconfig" && logged.push(fields ?? {}),
      info() {},
      warn() {},
      error() {},
    };
    const src = await live({ kubeconfigPath: path, log });
    assert.equal((await src.list("pods")).length, 2);
    assert.equal(logged[0]?.["credentials"], "client-node");
    const bad = await live({ kubeconfigPath: path, context: "bad" });
    const err = await rejects401(bad.list("pods"));
    assert.ok(!err.message.includes(WRONG_TOKEN), err.message);
    // A token user of the same kubeconfig stays built in.
    const plain = `${api.dir}/plain-config`;
    await writeKubeconfig(plain, api.url, { t: { token: STANDIN_TOKEN } });
    const builtIn = await live({ kubeconfigPath: plain, log });
    assert.equal((await builtIn.list("pods")).length, 2);
    assert.equal(logged[1]?.["credentials"], "built-in");
  });
});

Deno.test("needsClientNode() is true for auth-provider and proxy-url only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const select = async (
      user: Record<string, unknown>,
      cluster: Record<string, unknown> = {},
    ) => {
      const path = `${dir}/config`;
      await writeKubeconfig(path, "https://127.0.0.1:1", { u: user }, cluster);
      return await readSelectedKubeconfig({ kind: "files", paths: [path], origin: "path" }, "u");
    };
    assert.equal(needsClientNode(await select({ "auth-provider": { name: "oidc" } })), true);
    assert.equal(needsClientNode(await select({}, { "proxy-url": "http://proxy:3128" })), true);
    assert.equal(needsClientNode(await select({ token: "t" })), false);
    assert.equal(needsClientNode(await select({ tokenFile: "t" })), false);
    assert.equal(needsClientNode(await select({ exec: { command: "x" } })), false);
    assert.equal(needsClientNode(await select({ username: "a", password: "b" })), false);
    assert.equal(needsClientNode(await select({}, { "proxy-url": "" })), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** An HTTPS API server (the stand-in's certificate) that wants basic auth alice:`password`. */
async function startBasicApi(password: string) {
  const seen: Array<string | null> = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(new URL("server.crt", CERTS)),
    key: await Deno.readTextFile(new URL("server.key", CERTS)),
    onListen() {},
  }, (req) => {
    const auth = req.headers.get("authorization");
    seen.push(auth);
    if (auth === `Basic ${btoa(`alice:${password}`)}`) {
      return Response.json({ kind: "PodList", apiVersion: "v1", metadata: {}, items: PODS });
    }
    // A careless server that quotes what it got.
    const got = auth?.startsWith("Basic ") ? atob(auth.slice(6)) : String(auth);
    return Response.json({
      kind: "Status",
      status: "Failure",
      reason: "Unauthorized",
      message: `wrong user or secret ${got.split(":")[1]} (as ${got})`,
      code: 401,
    }, { status: 401 });
  });
  return {
    url: `https://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => server.shutdown(),
  };
}

Deno.test("basic auth sends an Authorization Basic header and never shows the password", async () => {
  const password = "basic7pass7q1w2e3r4t";
  const wrongPassword = "basic7wrong7y5u6i7o8p";
  const api = await startBasicApi(password);
  const dir = await Deno.makeTempDir();
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const path = `${dir}/config`;
    await writeKubeconfig(path, api.url, {
      ok: { username: "alice", password },
      bad: { username: "alice", password: wrongPassword },
    });
    const open = async (context: string) => {
      const s = await createLiveSource({
        kubeconfigPath: path,
        context,
        env: {},
        timeoutMs: 5_000,
        cacheTtlMs: 0,
        watch: false,
      });
      opened.push(s);
      return s;
    };
    const src = await open("ok");
    assert.equal((await src.list("pods")).length, 2);
    assert.deepEqual(api.seen, [`Basic ${btoa(`alice:${password}`)}`]);
    const bad = await open("bad");
    const err = await rejects401(bad.list("pods"));
    assert.equal(api.seen[1], `Basic ${btoa(`alice:${wrongPassword}`)}`);
    for (const leak of [wrongPassword, btoa(`alice:${wrongPassword}`)]) {
      assert.ok(!err.message.includes(leak), err.message);
      assert.ok(!String(err.stack).includes(leak), String(err.stack));
    }
    assert.match(err.message, /wrong user or secret \[redacted\]/);
    // What apply() gives: basic auth, no bearer header.
    const selected = await readSelectedKubeconfig(
      { kind: "files", paths: [path], origin: "path" },
      "ok",
    );
    const creds = kubeconfigCredentials(selected);
    try {
      const applied = await creds.apply();
      assert.equal(applied.auth, `alice:${password}`);
      assert.deepEqual(applied.headers, {});
    } finally {
      creds.close();
    }
  } finally {
    for (const s of opened) await s.close();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
