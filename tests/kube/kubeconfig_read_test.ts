/**
 * Reading and selecting kubeconfig contexts without client-node (src/kube/kubeconfig_read.ts):
 * first-wins merging, paths relative to the file that wrote them, errors that name what is
 * wrong without quoting the file, and the chosen user's credentials registered as secrets.
 *
 * @module
 */
import assert from "node:assert/strict";
import { stringify as stringifyYaml } from "yaml";
import { KubeconfigError } from "../../src/errors.ts";
import { kubeconfigCredentials } from "../../src/kube/credentials.ts";
import {
  dirname,
  MAX_KUBECONFIG_BYTES,
  parseKubeconfigFile,
  readSelectedKubeconfig,
  resolveFrom,
  selectKubeconfigContext,
} from "../../src/kube/kubeconfig_read.ts";
import { redact } from "../../src/redact.ts";

const CERTS = new URL("../support/certs/", import.meta.url);
const CA_PEM = Deno.readTextFileSync(new URL("ca.crt", CERTS));
const CLIENT_CRT = Deno.readTextFileSync(new URL("client.crt", CERTS));
const CLIENT_KEY = Deno.readTextFileSync(new URL("client.key", CERTS));

/** Runs `fn` with a fresh temp dir, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kubeconfig-read-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function files(...paths: string[]) {
  return { kind: "files" as const, paths, origin: "KUBECONFIG" as const };
}

/** The KubeconfigError `fn` throws (sync or async). */
async function kubeconfigError(fn: () => unknown): Promise<KubeconfigError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KubeconfigError, `expected KubeconfigError, got ${String(caught)}`);
  return caught;
}

Deno.test("readSelectedKubeconfig() merges files first-wins, current-context included", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b`);
    const a = `${dir}/a/config`;
    const b = `${dir}/b/config`;
    await Deno.writeTextFile(
      a,
      stringifyYaml({
        "current-context": "one",
        clusters: [{ name: "shared", cluster: { server: "https://first.example:6443" } }],
        users: [{ name: "u", user: { token: "first-token-aaaaaaaa" } }],
        contexts: [{ name: "one", context: { cluster: "shared", user: "u" } }],
      }),
    );
    await Deno.writeTextFile(
      b,
      stringifyYaml({
        "current-context": "two",
        clusters: [
          { name: "shared", cluster: { server: "https://second.example:6443" } },
          { name: "only-b", cluster: { server: "https://b.example:6443" } },
        ],
        users: [{ name: "u", user: { token: "second-token-bbbbbbbb" } }],
        contexts: [
          { name: "one", context: { cluster: "only-b", user: "u" } },
          { name: "two", context: { cluster: "shared", user: "u" } },
          { name: "three", context: { cluster: "only-b", user: "u" } },
        ],
      }),
    );
    const def = await readSelectedKubeconfig(files(a, b), undefined);
    assert.equal(def.context, "one", "the first file's current-context wins");
    assert.equal(def.cluster.fields["server"], "https://first.example:6443");
    assert.equal(def.user.fields["token"], "first-token-aaaaaaaa");
    assert.equal(def.cluster.dir, `${dir}/a`);
    // A context only the second file defines, naming a cluster both define: the first wins.
    const two = await readSelectedKubeconfig(files(a, b), "two");
    assert.equal(two.cluster.fields["server"], "https://first.example:6443");
    assert.equal(two.user.fields["token"], "first-token-aaaaaaaa");
    const three = await readSelectedKubeconfig(files(a, b), "three");
    assert.equal(three.cluster.fields["server"], "https://b.example:6443");
    assert.equal(three.cluster.dir, `${dir}/b`);
    assert.equal(three.user.dir, `${dir}/a`, "the user comes from the first file");
    // In the other order, the other file wins.
    const swapped = await readSelectedKubeconfig(files(b, a), undefined);
    assert.equal(swapped.context, "two");
    assert.equal(swapped.cluster.fields["server"], "https://second.example:6443");
    assert.equal(swapped.user.fields["token"], "second-token-bbbbbbbb");
    // A file without current-context leaves it to the next one.
    await Deno.writeTextFile(a, stringifyYaml({ clusters: [], contexts: [] }));
    assert.equal((await readSelectedKubeconfig(files(a, b), undefined)).context, "two");
  });
});

Deno.test("relative paths resolve against the folder of the file that defined the entry", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/users`);
    await Deno.mkdir(`${dir}/clusters`);
    const userFile = `${dir}/users/config`;
    const clusterFile = `${dir}/clusters/config`;
    await Deno.writeTextFile(
      userFile,
      stringifyYaml({
        "current-context": "ctx",
        users: [{
          name: "u",
          user: {
            tokenFile: "token",
            "client-certificate": "client.crt",
            "client-key": "client.key",
          },
        }],
        contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
      }),
    );
    await Deno.writeTextFile(
      clusterFile,
      stringifyYaml({
        clusters: [{
          name: "c",
          cluster: { server: "https://127.0.0.1:1", "certificate-authority": "ca.crt" },
        }],
      }),
    );
    const selected = await readSelectedKubeconfig(files(userFile, clusterFile), undefined);
    assert.equal(selected.user.dir, `${dir}/users`);
    assert.equal(selected.cluster.dir, `${dir}/clusters`);
    const material: Record<string, [string, string]> = {
      // file: [where it belongs, content]
      "token": ["users", "user-dir-token-11112222\n"],
      "client.crt": ["users", CLIENT_CRT],
      "client.key": ["users", CLIENT_KEY],
      "ca.crt": ["clusters", CA_PEM],
    };
    const other = (d: string) => d === "users" ? "clusters" : "users";
    const applied = async () => {
      const creds = kubeconfigCredentials(selected);
      try {
        return await creds.apply();
      } finally {
        creds.close();
      }
    };
    // Each file in the wrong folder (and none in the current directory): the one looked for
    // is the one next to the kubeconfig that named it.
    for (const [n, [d, text]] of Object.entries(material)) {
      await Deno.writeTextFile(`${dir}/${d}/${n}`, text);
    }
    for (const [name, [home]] of Object.entries(material)) {
      await Deno.rename(`${dir}/${home}/${name}`, `${dir}/${other(home)}/${name}`);
      const err = await applied().then(() => undefined, (e) => e);
      assert.equal(err?.path, `${dir}/${home}/${name}`, `${name}: ${String(err)}`);
      await Deno.rename(`${dir}/${other(home)}/${name}`, `${dir}/${home}/${name}`);
    }
    assert.deepEqual((await applied()).headers, {
      authorization: "Bearer user-dir-token-11112222",
    });
  });
});

Deno.test("dirname() and resolveFrom() keep absolute paths and join relative ones", () => {
  assert.equal(dirname("/a/b/config"), "/a/b");
  assert.equal(dirname("/config"), "/");
  assert.equal(dirname("config"), ".");
  assert.equal(dirname("rel/dir/config"), "rel/dir");
  assert.equal(resolveFrom("/a/b", "ca.crt"), "/a/b/ca.crt");
  assert.equal(resolveFrom("/a/b/", "certs/ca.crt"), "/a/b/certs/ca.crt");
  assert.equal(resolveFrom("/a/b", "../ca.crt"), "/a/b/../ca.crt");
  assert.equal(resolveFrom("/a/b", "/etc/ca.crt"), "/etc/ca.crt");
  assert.equal(resolveFrom("/", "ca.crt"), "/ca.crt");
});

Deno.test("selectKubeconfigContext() names the entry that is malformed", async () => {
  const check = async (doc: Record<string, unknown>, expected: RegExp, context?: string) => {
    const err = await kubeconfigError(() =>
      selectKubeconfigContext([{ path: "/k/config", doc }], context)
    );
    assert.equal(err.reason, "InvalidKubeconfig", err.message);
    assert.match(err.message, expected);
  };
  await check(
    { clusters: [{ name: "ok", cluster: { server: "https://x" } }, { name: "b", cluster: {} }] },
    /^Cannot load kubeconfig "\/k\/config": clusters\[1\]\.cluster\.server is missing$/,
  );
  await check(
    { clusters: [{ name: "a" }] },
    /^Cannot load kubeconfig "\/k\/config": clusters\[0\]\.cluster is missing$/,
  );
  await check(
    { clusters: [{ cluster: { server: "https://x" } }] },
    /^Cannot load kubeconfig "\/k\/config": clusters\[0\]\.name is missing$/,
  );
  await check(
    { users: [{ name: "u", user: {} }, { user: { token: "nameless-token-9999" } }] },
    /^Cannot load kubeconfig "\/k\/config": users\[1\]\.name is missing$/,
  );
  await check(
    { contexts: [{ name: "c" }] },
    /^Cannot load kubeconfig "\/k\/config": contexts\[0\]\.context is missing$/,
  );
  await check(
    { contexts: [{ name: "c", context: { user: "u" } }] },
    /^Cannot load kubeconfig "\/k\/config": contexts\[0\]\.context\.cluster is missing$/,
  );
  await check({ users: "nope" }, /^Cannot load kubeconfig "\/k\/config": users is not a list$/);
  await check({}, /it defines no contexts \(is it a kubeconfig\?/);
  await check(
    { contexts: [{ name: "c", context: { cluster: "gone", user: "u" } }] },
    /^Cannot use context "c": its cluster "gone" is not in kubeconfig "\/k\/config"$/,
    "c",
  );
  // A user the context names but no file defines: no credentials, not an error.
  const s = selectKubeconfigContext([{
    path: "/k/config",
    doc: {
      clusters: [{ name: "c", cluster: { server: "https://x" } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "ghost" } }],
    },
  }], "c");
  assert.deepEqual(s.user, { name: "ghost", fields: {}, dir: "/k" });
});

Deno.test("an unknown or missing context lists the contexts of every file", async () => {
  const docs = [
    {
      path: "/a/config",
      doc: {
        clusters: [{ name: "c", cluster: { server: "https://x" } }],
        contexts: [{ name: "dev", context: { cluster: "c" } }],
      },
    },
    {
      path: "/b/config",
      doc: { contexts: [{ name: "prod", context: { cluster: "c" } }] },
    },
  ];
  const unknown = await kubeconfigError(() => selectKubeconfigContext(docs, "staging"));
  assert.equal(unknown.reason, "UnknownContext");
  assert.equal(
    unknown.message,
    'Cannot find context "staging" in kubeconfig "/a/config", "/b/config": ' +
      'available contexts are "dev", "prod"',
  );
  const none = await kubeconfigError(() => selectKubeconfigContext(docs, undefined));
  assert.equal(none.reason, "UnknownContext");
  assert.match(
    none.message,
    /sets no current-context; pass --context NAME \(available: "dev", "prod"\)$/,
  );
  assert.equal(selectKubeconfigContext(docs, "prod").cluster.fields["server"], "https://x");
});

Deno.test("parseKubeconfigFile() gives the line and column of a YAML error, never the text", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config`;
    const secret = "yaml-error-SECRET-5f4e3d2c1b";
    await Deno.writeTextFile(
      path,
      `apiVersion: v1\nusers:\n- name: u\n  user:\n    token: ${secret}\n   bad: [unclosed ${secret}\n`,
    );
    const err = await kubeconfigError(() => parseKubeconfigFile(path));
    assert.equal(err.reason, "InvalidKubeconfig");
    assert.match(
      err.message,
      /^Cannot load kubeconfig ".*\/config": it is not valid YAML at line \d+, column \d+: [a-z ]+; fix the file/,
    );
    assert.ok(!err.message.includes(secret), err.message);
    assert.ok(!err.message.includes("unclosed"), err.message);
    // A tab-indented mapping (a common hand-edit mistake).
    await Deno.writeTextFile(path, `users:\n\t- name: ${secret}\n`);
    const tab = await kubeconfigError(() => parseKubeconfigFile(path));
    assert.match(tab.message, /not valid YAML at line 2, column \d+/);
    assert.ok(!tab.message.includes(secret), tab.message);
    // JSON is YAML; a scalar is no kubeconfig but parses to an empty one.
    await Deno.writeTextFile(path, JSON.stringify({ "current-context": "x" }));
    assert.deepEqual(await parseKubeconfigFile(path), { "current-context": "x" });
    await Deno.writeTextFile(path, "just a string\n");
    assert.deepEqual(await parseKubeconfigFile(path), {});
    const isDir = await kubeconfigError(() => parseKubeconfigFile(dir));
    assert.match(isDir.message, /^Cannot read kubeconfig ".*": it is a directory$/);
  });
});

Deno.test("parseKubeconfigFile() refuses a file over MAX_KUBECONFIG_BYTES without reading it", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/huge`;
    // A sparse file: its size is past the limit, its blocks are not written.
    using f = await Deno.open(path, { create: true, write: true });
    await f.truncate(MAX_KUBECONFIG_BYTES + 1);
    const t0 = performance.now();
    const err = await kubeconfigError(() => parseKubeconfigFile(path));
    assert.ok(performance.now() - t0 < 500, "refused from its size, not parsed");
    assert.equal(err.reason, "InvalidKubeconfig");
    assert.equal(
      err.message,
      `Cannot load kubeconfig "${path}": it is ${
        MAX_KUBECONFIG_BYTES + 1
      } bytes, more than the 16 MiB a kubeconfig may have here`,
    );
    // Exactly at the limit is read, not refused for its size.
    await f.truncate(MAX_KUBECONFIG_BYTES);
    const atLimit = await parseKubeconfigFile(path).then(() => "parsed", (e) => String(e));
    assert.doesNotMatch(atLimit, /more than the 16 MiB/);
  });
});

Deno.test("the chosen user's inline token, key and password become secrets", () => {
  // Values no redaction pattern would recognise: only registration hides them.
  const token = "inline7token7k4q9z2w8x";
  const key = "inline7key7r5t6y7u8i9o";
  const password = "inline7pass7m3n4b5v6c";
  const other = "other7user7token7p0o9i8";
  const doc = {
    "current-context": "c",
    clusters: [{ name: "c", cluster: { server: "https://x" } }],
    users: [
      { name: "u", user: { token, "client-key-data": key, username: "alice", password } },
      { name: "v", user: { token: other } },
    ],
    contexts: [
      { name: "c", context: { cluster: "c", user: "u" } },
      { name: "d", context: { cluster: "c", user: "v" } },
    ],
  };
  const text = `seen ${token} and ${key} and ${password} and ${btoa(`alice:${password}`)}`;
  assert.equal(redact(text), text, "not yet registered");
  selectKubeconfigContext([{ path: "/k/config", doc }], undefined);
  assert.equal(redact(text), "seen [redacted] and [redacted] and [redacted] and [redacted]");
  // Only the chosen user's: another user's token is not registered until it is chosen.
  assert.equal(redact(`x ${other}`), `x ${other}`);
  selectKubeconfigContext([{ path: "/k/config", doc }], "d");
  assert.equal(redact(`x ${other}`), "x [redacted]");
});
