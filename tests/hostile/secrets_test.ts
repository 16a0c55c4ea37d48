/**
 * No credential reaches the model, a log line or an error. Distinctive secrets are planted
 * in every place a credential can sit — the kubeconfig's token, a client key, the kubeconfig
 * `server:` userinfo, an exec plugin's stderr, stdout and token, `LINKERD_PROMETHEUS_URL`
 * userinfo, `LINKERD_PROMETHEUS_TOKEN` and `LINKERD_PROMETHEUS_PASSWORD` — with upstreams
 * that echo the `Authorization` header into their error bodies. Then every output is
 * searched: tool results (through `runTool` and through a real MCP client talking to the
 * server as a subprocess), the server's stderr at debug level, error messages, describe().
 *
 * @module
 */
import assert from "node:assert/strict";
import { stringify as stringifyYaml } from "yaml";
import { loadConfig } from "../../src/config.ts";
import { createLazyLiveSource, createLiveSource } from "../../src/kube/live.ts";
import { createPromClient } from "../../src/metrics/mod.ts";
import { allTools } from "../../src/tools/mod.ts";
import { runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { SILENT } from "../../src/log.ts";
import { connectSubprocess } from "../_mcp.ts";
import { STANDIN_CA_PEM, startStandin } from "../support/kube_standin.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { clearSecrets, redact, redactUrl, registerSecret } from "../../src/redact.ts";

const S = {
  kubeToken: "kubetoken-SECRET-7Qw3Er5Ty8",
  kubeUrlPassword: "kubeurlpass-SECRET-4Hj6Kl9Zx",
  clientKeyMarker: "CLIENTKEYSECRET9Vb2Nm4As6Df",
  execStderr: "execstderr-SECRET-2Gh5Jk8Lq",
  execStdout: "execstdout-SECRET-6Wp1Oi3Uy",
  execToken: "exectoken-SECRET-9Rt4Yu7Io",
  promUrlPassword: "promurlpass-SECRET-3Fd6Sa9Zc",
  promToken: "promtoken-SECRET-8Mn2Bv5Cx",
  promPassword: "prompassword-SECRET-1Lk4Jh7Gf",
};

/** Every form a planted secret could leak in. */
function forms(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(S)) {
    out.push([k, v], [`${k} (base64)`, btoa(v).replace(/=+$/, "")]);
  }
  out.push(["kube basic (base64)", btoa(`kubeuser:${S.kubeUrlPassword}`).replace(/=+$/, "")]);
  out.push(["prom url basic (base64)", btoa(`promuser:${S.promUrlPassword}`).replace(/=+$/, "")]);
  out.push(["prom basic (base64)", btoa(`prom:${S.promPassword}`).replace(/=+$/, "")]);
  out.push(["client key data", btoa(clientKeyPem()).slice(0, 40)]);
  return out;
}

function assertClean(where: string, text: string): void {
  for (const [name, value] of forms()) {
    assert.ok(!text.includes(value), `${name} leaked in ${where}:\n${text.slice(0, 2000)}`);
  }
}

function clientKeyPem(): string {
  return `-----BEGIN PRIVATE KEY-----\n${S.clientKeyMarker}AAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n`;
}

const OBJECTS: KubeObject[] = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "emojivoto" } },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "emojivoto", labels: { app: "web" } },
  },
];

/** A Prometheus that echoes the Authorization header, as text or in its JSON error. */
function echoingPrometheus() {
  let mode: "text" | "json" | "ok" = "text";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const auth = req.headers.get("authorization") ?? "(none)";
    if (mode === "text") {
      return new Response(`proxy refused request with Authorization: ${auth}`, { status: 502 });
    }
    if (mode === "json") {
      return Response.json({
        status: "error",
        errorType: "bad_data",
        error: `cannot parse; your header was ${auth}`,
        warnings: [`seen ${auth}`],
      }, { status: 400 });
    }
    return Response.json({
      status: "success",
      warnings: [`request authorised by ${auth}`],
      data: { resultType: "vector", result: [] },
    });
  });
  return {
    port: server.addr.port,
    setMode(m: typeof mode) {
      mode = m;
    },
    close: () => server.shutdown(),
  };
}

async function writeScript(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

/** A kubeconfig with one context per place a kube credential can sit. */
async function hostileKubeconfig(dir: string, url: string): Promise<string> {
  const execFail = await writeScript(
    dir,
    "exec-fail.sh",
    `echo "token expired: ${S.execStderr}" >&2\necho "${S.execStdout}"\nexit 3`,
  );
  const execGarbage = await writeScript(dir, "exec-garbage.sh", `echo "${S.execStdout} not json"`);
  const execOk = await writeScript(
    dir,
    "exec-ok.sh",
    `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${S.execToken}"}}'`,
  );
  const exec = (command: string) => ({
    exec: { apiVersion: "client.authentication.k8s.io/v1", command, interactiveMode: "Never" },
  });
  const u = new URL(url);
  const userinfoUrl = `https://kubeuser:${S.kubeUrlPassword}@${u.host}`;
  const caData = btoa(STANDIN_CA_PEM);
  const users = {
    token: { token: S.kubeToken },
    "client-key": {
      token: S.kubeToken,
      "client-certificate-data": btoa(
        await Deno.readTextFile(new URL("../support/certs/client.crt", import.meta.url)),
      ),
      "client-key-data": btoa(clientKeyPem()),
    },
    "exec-fail": exec(execFail),
    "exec-garbage": exec(execGarbage),
    "exec-ok": exec(execOk),
  };
  const config = {
    apiVersion: "v1",
    kind: "Config",
    "current-context": "token",
    clusters: [
      { name: "plain", cluster: { server: url, "certificate-authority-data": caData } },
      { name: "userinfo", cluster: { server: userinfoUrl, "certificate-authority-data": caData } },
    ],
    users: Object.entries(users).map(([name, user]) => ({ name, user })),
    contexts: [
      ...Object.keys(users).map((name) => ({ name, context: { cluster: "plain", user: name } })),
      { name: "server-userinfo", context: { cluster: "userinfo", user: "token" } },
    ],
  };
  const path = `${dir}/config`;
  await Deno.writeTextFile(path, stringifyYaml(config));
  return path;
}

const CONTEXTS = ["token", "client-key", "exec-fail", "exec-garbage", "exec-ok", "server-userinfo"];
const TOOL_CALLS: Array<[string, Record<string, unknown>]> = [
  ["list_meshed_services", { namespace: "emojivoto" }],
  ["check_mesh_health", {}],
  ["get_top_services", { namespace: "emojivoto" }],
];

function promEnvs(port: number): Array<Record<string, string>> {
  const withUserinfo = `http://promuser:${S.promUrlPassword}@127.0.0.1:${port}`;
  return [
    { LINKERD_PROMETHEUS_URL: withUserinfo },
    { LINKERD_PROMETHEUS_URL: withUserinfo, LINKERD_PROMETHEUS_TOKEN: S.promToken },
    {
      LINKERD_PROMETHEUS_URL: `http://127.0.0.1:${port}`,
      LINKERD_PROMETHEUS_USERNAME: "prom",
      LINKERD_PROMETHEUS_PASSWORD: S.promPassword,
    },
  ];
}

Deno.test({
  name: "secrets: no planted credential appears in tool results, errors or describe()",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const api = await startStandin({ objects: OBJECTS, token: S.kubeToken });
    const prom = echoingPrometheus();
    const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-secrets-" });
    try {
      const kubeconfig = await hostileKubeconfig(dir, api.url);
      let checked = 0;
      let redactedSeen = 0;
      let promShown = 0;
      for (const [c, context] of CONTEXTS.entries()) {
        // Each context with two of the three Prometheus credential settings, in turn.
        for (const i of [c % 3, (c + 1) % 3]) {
          const promEnv = promEnvs(prom.port)[i]!;
          const config = loadConfig(promEnv);
          const lazy = (c + i) % 2 === 0;
          const cluster = await (lazy ? createLazyLiveSource : createLiveSource)({
            kubeconfigPath: kubeconfig,
            context,
            env: {},
            timeoutMs: 3_000,
            cacheTtlMs: 0,
          }).catch((err) => err as Error);
          if (cluster instanceof Error) {
            assertClean(`createLiveSource(${context}) error`, cluster.message);
            checked++;
            continue;
          }
          const deps: ToolDeps = {
            cluster,
            config,
            prom: createPromClient(config, { cluster }),
            log: SILENT,
            now: () => new Date(),
          };
          try {
            for (const fault of ["status", "text", "none"] as const) {
              api.clearFaults();
              if (fault !== "none") api.fault({ echoAuthorization: { as: fault, status: 403 } });
              for (const mode of ["text", "json", "ok"] as const) {
                prom.setMode(mode);
                for (const [name, args] of TOOL_CALLS) {
                  const spec = allTools().find((t) => t.name === name)!;
                  const outcome = await runTool(spec, args, deps, { timeoutMs: 10_000 });
                  const where =
                    `${name} (context ${context}, kube ${fault}, prom ${mode}, env ${i})`;
                  const text = JSON.stringify(outcome);
                  assertClean(where, text);
                  checked++;
                  if (text.includes("[redacted]")) redactedSeen++;
                  if (outcome.ok && /"prometheus":"http:\/\/127\.0\.0\.1:\d+"/.test(text)) {
                    promShown++;
                  }
                }
              }
              // Direct errors too, and describe().
              const err = await cluster.list("pods").then(() => undefined, (e: Error) => e);
              if (err) {
                assertClean(`list error (${context}, ${fault})`, `${err.message} ${err.stack}`);
              }
              assertClean("cluster.describe()", `${cluster.describe()} ${cluster.server}`);
              assertClean("prom.describe()", deps.prom.describe());
            }
          } finally {
            await cluster.close();
          }
        }
      }
      assert.ok(checked > 100, `${checked} outputs checked`);
      // The searches were meaningful: echoed credentials reached the outputs (redacted), and
      // answers named their Prometheus (without userinfo).
      assert.ok(redactedSeen > 20, `${redactedSeen} outputs carried a redacted echo`);
      assert.ok(promShown > 0, "some answer named its Prometheus");
    } finally {
      api.clearFaults();
      await prom.close();
      await api.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "secrets: nothing leaks over MCP or on the server's stderr at debug level",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const api = await startStandin({ objects: OBJECTS, token: S.kubeToken });
    const prom = echoingPrometheus();
    const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-secrets-" });
    try {
      const kubeconfig = await hostileKubeconfig(dir, api.url);
      const runs: Array<[string, Record<string, string>]> = [
        ["server-userinfo", promEnvs(prom.port)[0]!],
        ["exec-fail", promEnvs(prom.port)[1]!],
        ["exec-ok", promEnvs(prom.port)[2]!],
      ];
      for (const [context, promEnv] of runs) {
        const conn = await connectSubprocess(["--context", context], {
          KUBECONFIG: kubeconfig,
          LINKERD_MCP_LOG_LEVEL: "debug",
          LINKERD_KUBE_TIMEOUT_MS: "3000",
          ...promEnv,
        });
        let results = "";
        try {
          for (const fault of ["status", "text", "none"] as const) {
            api.clearFaults();
            if (fault !== "none") api.fault({ echoAuthorization: { as: fault, status: 500 } });
            for (const mode of ["text", "json", "ok"] as const) {
              prom.setMode(mode);
              for (const [name, args] of TOOL_CALLS) {
                const r = await conn.client.callTool({ name, arguments: args });
                results += JSON.stringify(r) + "\n";
              }
            }
          }
        } finally {
          await conn.close();
        }
        assertClean(`MCP results (${context})`, results);
        const stderr = conn.stderr();
        assertClean(`stderr (${context})`, stderr);
        // The outputs are real: errors were reported, and the server did log.
        assert.match(results, /isError/);
        assert.match(stderr, /linkerd-mcp (debug|info)/);
        if (context === "exec-fail") {
          assert.match(results, /exec plugin \\?"exec-fail\.sh\\?" failed with exit code 3/);
        }
      }
    } finally {
      api.clearFaults();
      await prom.close();
      await api.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("redact() removes registered secrets and credential-looking text, not ordinary words", () => {
  const removed: Array<[string, string]> = [
    ["Authorization: Bearer abc.def-123456", "Authorization: Bearer [redacted]"],
    ["see https://ops:pw-123@prom.example:9090/x", "see https://prom.example:9090/x"],
    ["id eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl end", "id [redacted] end"],
    ['{"token": "zz-top-1234"}', '{"token": "[redacted]"}'],
    ["password=hunter22&x=1", "password=[redacted]&x=1"],
    ["Basic dXNlcjpwYXNzd29yZA==", "Basic [redacted]"],
  ];
  for (const [input, output] of removed) assert.equal(redact(input), output);
  const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----";
  assert.ok(!redact(`key: ${pem}`).includes("MIIEow"));
  const kept = [
    "Cannot review a client token: the API server refused it",
    "the API server kept returning a continue token; narrow the request",
    "check LINKERD_PROMETHEUS_TOKEN or LINKERD_PROMETHEUS_USERNAME/PASSWORD",
    "Basic authentication failed",
    "a Bearer token is required",
  ];
  for (const text of kept) assert.equal(redact(text), text);
  registerSecret("planted-opaque-value-42");
  assert.equal(redact("echo <planted-opaque-value-42>"), "echo <[redacted]>");
  assert.equal(redact(`b64 ${btoa("planted-opaque-value-42")}`), "b64 [redacted]");
  assert.equal(redactUrl("http://u:p@h:1/a"), "http://h:1/a");
  assert.equal(redactUrl("http://h:1"), "http://h:1");
});

Deno.test("redact() keeps API resource and host names after a credential word", () => {
  // The real kube-apiserver's 403 on TokenReview, behind live.ts's prefix: the resource name
  // followed "token: " and was eaten by the `key: value` pattern.
  const forbidden =
    'Cannot review a client token: tokenreviews.authentication.k8s.io is forbidden: User "mcp-reader" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope';
  assert.equal(redact(forbidden), forbidden);
  const kept = [
    "secret: linkerd-identity-issuer.linkerd is missing",
    '{"token": "tokenreviews.authentication.k8s.io"}',
    "token=policy.linkerd.io",
  ];
  for (const text of kept) assert.equal(redact(text), text);
  // Credentials in the same positions are still removed, whatever their case.
  const removed: Array<[string, string]> = [
    ["token: AbCdEf.GhIjKlMnOpQr", "token: [redacted]"],
    ["password=My.Secret.Value", "password=[redacted]"],
    ["token: s3cr3t-v4lu3-0123456789", "token: [redacted]"],
    // bootstrap tokens are dotted lowercase, and have a pattern of their own
    ["kubeadm join --token abcdef.0123456789abcdef", "kubeadm join --token [redacted]"],
    ["token: abcdef.ghijklmnopqrstuv", "token: [redacted]"],
  ];
  for (const [input, output] of removed) assert.equal(redact(input), output);
});

Deno.test("registerSecret() ignores values shorter than 8 characters", () => {
  clearSecrets();
  try {
    for (const short of ["admin", "linkerd", "default", "k8s.io", "  token "]) {
      registerSecret(short);
    }
    const text = "admin of linkerd in default, tokenreviews.authentication.k8s.io";
    assert.equal(redact(text), text);
    registerSecret("opaque-8");
    assert.equal(redact("x opaque-8 y"), "x [redacted] y");
  } finally {
    clearSecrets();
  }
});
