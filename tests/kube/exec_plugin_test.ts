/**
 * Exec credential plugins run without client-node (src/kube/exec_plugin.ts), with small
 * shell scripts as plugins: what they receive, what is read back, and how failures are
 * recorded without their output.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type ExecClusterInfo,
  type ExecRecord,
  type ExecSpec,
  MAX_EXEC_OUTPUT_BYTES,
  parseExecCredential,
  runExecPlugin,
} from "../../src/kube/exec_plugin.ts";
import { redact } from "../../src/redact.ts";

const CLUSTER: ExecClusterInfo = {
  server: "https://127.0.0.1:6443",
  "certificate-authority-data": btoa("a CA"),
  "tls-server-name": "kubernetes.default",
};
/** What every failing plugin writes to stderr: it must never reach an error. */
const STDERR_SECRET = "plugin-stderr-SECRET-4c3b2a19";

function credential(status: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    status,
  });
}

/** Runs `fn` with a temp dir and a helper writing executable `#!/bin/sh` scripts in it. */
async function withPlugins(
  fn: (dir: string, script: (name: string, body: string) => Promise<string>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "exec-plugin-" });
  try {
    await fn(dir, async (name, body) => {
      const path = `${dir}/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, `#!/bin/sh\necho "${STDERR_SECRET}" >&2\n${body}\n`);
      await Deno.chmod(path, 0o755);
      return path;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function record(): ExecRecord {
  return { running: new Set() };
}

/** The error `promise` rejects with; asserts that no stderr text is in it. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error, `expected an Error, got ${String(caught)}`);
  assert.ok(!caught.message.includes(STDERR_SECRET), caught.message);
  assert.ok(!String(caught.stack).includes(STDERR_SECRET), String(caught.stack));
  return caught;
}

Deno.test("runExecPlugin() passes env, args and KUBERNETES_EXEC_INFO without the cluster", async () => {
  await withPlugins(async (dir, script) => {
    const token = "exec-token-env-7d6c5b4a";
    const plugin = await script(
      "plugin.sh",
      `printf '%s' "$KUBERNETES_EXEC_INFO" > "${dir}/info"\n` +
        `printf '%s|%s|%s' "$FOO" "$EMPTY" "$PATH" > "${dir}/env"\n` +
        `for a in "$@"; do printf '%s\\n' "$a"; done > "${dir}/args"\n` +
        `echo '${credential({ token })}'`,
    );
    const rec = record();
    const spec: ExecSpec = {
      command: plugin,
      apiVersion: "client.authentication.k8s.io/v1",
      args: ["get-token", "--cluster", "a b"],
      env: [{ name: "FOO", value: "bar baz" }, { name: "EMPTY" }, { value: "nameless" }],
    };
    const cred = await runExecPlugin(spec, "/nowhere", CLUSTER, rec);
    assert.deepEqual(cred, { token });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/info`)), {
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      spec: { interactive: false },
    });
    const [foo, empty, path] = (await Deno.readTextFile(`${dir}/env`)).split("|");
    assert.equal(foo, "bar baz");
    assert.equal(empty, "");
    assert.equal(path, Deno.env.get("PATH"), "the process environment is passed on");
    assert.equal(await Deno.readTextFile(`${dir}/args`), "get-token\n--cluster\na b\n");
    assert.deepEqual(rec.last, { command: "plugin.sh", timedOut: false, code: 0 });
    assert.equal(rec.running.size, 0, "a finished plugin is no longer running");
    assert.equal(redact(`got ${token}`), "got [redacted]", "the token is a secret");
  });
});

Deno.test("runExecPlugin() gives the cluster only with provideClusterInfo: true", async () => {
  await withPlugins(async (dir, script) => {
    const plugin = await script(
      "plugin.sh",
      `printf '%s' "$KUBERNETES_EXEC_INFO" > "${dir}/info"\n` +
        `echo '${credential({ token: "exec-token-cluster-1a2b3c" })}'`,
    );
    await runExecPlugin({ command: plugin, provideClusterInfo: true }, dir, CLUSTER, record());
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/info`)), {
      apiVersion: "client.authentication.k8s.io/v1beta1",
      kind: "ExecCredential",
      spec: { interactive: false, cluster: CLUSTER },
    });
    // Anything but `true` (a string from a hand-written kubeconfig) does not.
    await runExecPlugin({ command: plugin, provideClusterInfo: "true" }, dir, CLUSTER, record());
    const info = JSON.parse(await Deno.readTextFile(`${dir}/info`));
    assert.deepEqual(info.spec, { interactive: false });
  });
});

Deno.test("runExecPlugin() resolves a relative command with a slash against the kubeconfig's folder", async () => {
  await withPlugins(async (dir, script) => {
    await script("bin/plugin.sh", `echo '${credential({ token: "exec-token-relative-9z8y" })}'`);
    for (const command of ["bin/plugin.sh", "./bin/plugin.sh"]) {
      const rec = record();
      const cred = await runExecPlugin({ command }, dir, CLUSTER, rec);
      assert.equal(cred.token, "exec-token-relative-9z8y", command);
      assert.equal(rec.last?.command, "plugin.sh");
    }
    // Not against the current directory: from elsewhere it is not found.
    const rec = record();
    await failure(runExecPlugin({ command: "bin/plugin.sh" }, `${dir}/bin`, CLUSTER, rec));
    assert.equal(rec.last?.spawnError, "ENOENT");
    // A bare name is looked up in PATH, never in the kubeconfig's folder.
    await script("plugin-in-dir.sh", `echo '${credential({ token: "exec-token-bare-8x7w" })}'`);
    const bare = record();
    const err = await failure(runExecPlugin({ command: "plugin-in-dir.sh" }, dir, CLUSTER, bare));
    assert.ok(err instanceof Deno.errors.NotFound, String(err));
    assert.deepEqual(bare.last, {
      command: "plugin-in-dir.sh",
      timedOut: false,
      spawnError: "ENOENT",
    });
    assert.equal(bare.running.size, 0);
  });
});

Deno.test("runExecPlugin() records and throws a failed exit, without its output", async () => {
  await withPlugins(async (dir, script) => {
    const plugin = await script(
      "fail.sh",
      `echo '${credential({ token: "exec-token-ignored-6v5u" })}'\nexit 3`,
    );
    const rec = record();
    const err = await failure(runExecPlugin({ command: plugin }, dir, CLUSTER, rec));
    assert.equal(err.message, "the exec plugin failed");
    assert.deepEqual(rec.last, { command: "fail.sh", timedOut: false, code: 3 });
    assert.equal(rec.running.size, 0);
    // Killed by a signal.
    const killed = await script("killed.sh", "kill -TERM $$");
    const r2 = record();
    await failure(runExecPlugin({ command: killed }, dir, CLUSTER, r2));
    assert.equal(r2.last?.signal, "SIGTERM");
    assert.notEqual(r2.last?.code, 0);
  });
});

Deno.test("runExecPlugin() rejects output that is no ExecCredential with a token", async () => {
  await withPlugins(async (dir, script) => {
    const cases: Array<[string, string, RegExp]> = [
      ["not JSON", "echo 'hello, I am not JSON'", /JSON/],
      ["empty", "true", /JSON/],
      [
        "no token",
        `echo '${credential({ expirationTimestamp: "2030-01-01T00:00:00Z" })}'`,
        /no token/,
      ],
      ["no status", `echo '{"kind":"ExecCredential"}'`, /no token/],
      ["null", "echo null", /no token/],
      ["empty token", `echo '${credential({ token: "" })}'`, /no token/],
      [
        "a certificate without a key",
        `echo '${credential({ clientCertificateData: "CERT" })}'`,
        /no token or client certificate/,
      ],
    ];
    for (const [name, body, expected] of cases) {
      const plugin = await script("plugin.sh", body);
      const rec = record();
      const err = await failure(runExecPlugin({ command: plugin }, dir, CLUSTER, rec));
      assert.ok(err instanceof SyntaxError, `${name}: ${String(err)}`);
      assert.match(err.message, expected, name);
      assert.ok(!err.message.includes("hello"), `${name}: ${err.message}`);
      assert.deepEqual(rec.last, { command: "plugin.sh", timedOut: false, code: 0 }, name);
    }
  });
});

Deno.test("runExecPlugin() refuses output over MAX_EXEC_OUTPUT_BYTES", async () => {
  await withPlugins(async (dir, script) => {
    // A valid ExecCredential padded past the limit: refused for its size, not its content.
    const pad = await script(
      "big.sh",
      `printf '{"kind":"ExecCredential","status":{"token":"exec-token-big-5t4r"},"pad":"'\n` +
        `head -c ${MAX_EXEC_OUTPUT_BYTES} /dev/zero | tr '\\0' a\n` +
        `printf '"}'`,
    );
    const rec = record();
    const err = await failure(runExecPlugin({ command: pad }, dir, CLUSTER, rec));
    assert.ok(err instanceof SyntaxError, String(err));
    assert.equal(err.message, "the ExecCredential is too large");
    assert.deepEqual(rec.last, { command: "big.sh", timedOut: false, code: 0 });
    // Just under the limit is read.
    const small = await script(
      "small.sh",
      `printf '{"kind":"ExecCredential","status":{"token":"exec-token-small-3e2w"},"pad":"'\n` +
        `head -c ${MAX_EXEC_OUTPUT_BYTES - 100} /dev/zero | tr '\\0' a\n` +
        `printf '"}'`,
    );
    const cred = await runExecPlugin({ command: small }, dir, CLUSTER, record());
    assert.equal(cred.token, "exec-token-small-3e2w");
  });
});

Deno.test("runExecPlugin() returns a client certificate and the expiry", async () => {
  await withPlugins(async (dir, script) => {
    // A key no redaction pattern recognises: only its registration hides it.
    const key = "exec7key7material7p9o8i";
    const plugin = await script(
      "cert.sh",
      `echo '${
        credential({
          clientCertificateData: "exec-client-certificate",
          clientKeyData: key,
          expirationTimestamp: "2031-02-03T04:05:06Z",
        })
      }'`,
    );
    assert.equal(redact(`k ${key}`), `k ${key}`);
    const cred = await runExecPlugin({ command: plugin }, dir, CLUSTER, record());
    assert.deepEqual(cred, {
      clientCertificateData: "exec-client-certificate",
      clientKeyData: key,
      expires: Date.UTC(2031, 1, 3, 4, 5, 6),
    });
    assert.equal(redact(`k ${key}`), "k [redacted]", "the key is a secret");
  });
});

Deno.test("parseExecCredential() reads the token and a valid expirationTimestamp only", () => {
  assert.deepEqual(
    parseExecCredential(credential({
      token: "parse-token-1q2w3e4r",
      expirationTimestamp: "2030-01-01T00:00:00+01:00",
    })),
    { token: "parse-token-1q2w3e4r", expires: Date.UTC(2029, 11, 31, 23, 0, 0) },
  );
  assert.deepEqual(
    parseExecCredential(credential({ token: "parse-token-1q2w3e4r", expirationTimestamp: "soon" })),
    { token: "parse-token-1q2w3e4r" },
  );
  // A token and a certificate: both.
  assert.deepEqual(
    parseExecCredential(credential({
      token: "parse-token-5t6y7u8i",
      clientCertificateData: "C",
      clientKeyData: "K",
    })),
    { token: "parse-token-5t6y7u8i", clientCertificateData: "C", clientKeyData: "K" },
  );
  assert.throws(() => parseExecCredential("{"), SyntaxError);
  // JSON.parse's own message would quote the output (it may be a credential in another format).
  assert.throws(
    () => parseExecCredential("stdout-SECRET-2b3c4d5e"),
    (e: unknown) => e instanceof SyntaxError && !e.message.includes("stdout-SECRET"),
  );
  assert.throws(() => parseExecCredential(credential({ token: 42 })), /no token/);
});

Deno.test("runExecPlugin() under the product's flags: the plugin sees only the allowed variables", async () => {
  await withPlugins(async (dir, script) => {
    const plugin = await script(
      "env.sh",
      `env | cut -d= -f1 | sort > "${dir}/seen"\necho '${credential({ token: "t" })}'\n`,
    );
    const runner = `${dir}/runner.ts`;
    await Deno.writeTextFile(
      runner,
      `import { runExecPlugin } from ${
        JSON.stringify(new URL("../../src/kube/exec_plugin.ts", import.meta.url).href)
      };\nawait runExecPlugin({ command: ${
        JSON.stringify(plugin)
      }, env: [{ name: "FROM_KUBECONFIG", value: "1" }] }, "/", { server: "https://x" }, { running: new Set() });\n`,
    );
    const { productFlags } = await import("../../scripts/permissions.ts");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        ...productFlags().filter((f) => !f.startsWith("--allow-read")),
        `--allow-read=${dir},${new URL("../../src", import.meta.url).pathname}`,
        runner,
      ],
      env: {
        SECRET_NOT_ALLOWED: "x",
        AWS_PROFILE: "dev",
        DENO_DIR: Deno.env.get("DENO_DIR") ?? "",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const seen = (await Deno.readTextFile(`${dir}/seen`)).trim().split("\n");
    assert.ok(seen.includes("AWS_PROFILE"), seen.join(","));
    assert.ok(seen.includes("FROM_KUBECONFIG") && seen.includes("KUBERNETES_EXEC_INFO"));
    assert.ok(!seen.includes("SECRET_NOT_ALLOWED"), seen.join(","));
  });
});
