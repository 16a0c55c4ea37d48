/**
 * The command line (a stable interface), run as a subprocess with the exact
 * permission flags of `deno task start`.
 */
import assert from "node:assert/strict";
import { denoDir, startFlags } from "./_mcp.ts";
import { cannotRunReason } from "../src/cli/validate.ts";
import { KubeApiError, KubeconfigError, ManifestError } from "../src/errors.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...startFlags(), MAIN, ...args],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      NO_COLOR: "1",
      DENO_DIR: denoDir(),
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("main.ts --help and --version exit 0 and print to stdout", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage:/);
  assert.match(help.stdout, /call TOOL/);
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^linkerd-mcp \d+\.\d+\.\d+/);
});

Deno.test("main.ts call prints the structured result as JSON and exits 0", async () => {
  const res = await run(["call", "list_meshed_services", '{"namespace":"emojivoto"}', "--demo"]);
  assert.equal(res.code, 0, res.stderr);
  const data = JSON.parse(res.stdout);
  assert.ok(Array.isArray(data.services));
  const names = data.services.map((s: { service: string }) => s.service).sort();
  assert.deepEqual(names, ["emoji-svc", "voting-svc", "web-svc"]);
  assert.ok(data.services.every((s: { namespace: string }) => s.namespace === "emojivoto"));
});

Deno.test("main.ts call reports a tool error on stderr with exit 1", async () => {
  const res = await run([
    "call",
    "analyze_connectivity",
    '{"source_namespace":"emojivoto","source_service":"no-such-svc","target_service":"web-svc"}',
    "--demo",
  ]);
  assert.equal(res.code, 1);
  assert.equal(res.stdout, "");
  assert.match(res.stderr, /no-such-svc/);
});

Deno.test("main.ts exits 2 on bad usage", async (t) => {
  for (
    const args of [
      ["call"],
      ["call", "no_such_tool", "{}", "--demo"],
      ["call", "check_mesh_health", "{not json", "--demo"],
      ["--frobnicate"],
    ]
  ) {
    await t.step(args.join(" "), async () => {
      const res = await run(args);
      assert.equal(res.code, 2, res.stderr);
      assert.equal(res.stdout, "");
      assert.ok(res.stderr.length > 0);
    });
  }
});

Deno.test("main.ts call reads manifests from a folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fixture = new URL(
      "./fixtures/upstream/demo-apps/emojivoto.yml",
      import.meta.url,
    );
    await Deno.copyFile(fixture, `${dir}/emojivoto.yml`);
    const res = await run([
      "call",
      "list_meshed_services",
      '{"includeUnmeshed":true}',
      "--manifests",
      dir,
    ]);
    assert.equal(res.code, 0, res.stderr);
    const data = JSON.parse(res.stdout);
    const web = data.services.find((s: { service: string }) => s.service === "web-svc");
    // The upstream emojivoto namespace has no linkerd.io/inject annotation: nothing is meshed.
    assert.equal(web?.totalPods, 1);
    assert.equal(web?.meshedPods, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts without a kubeconfig: call fails clearly, naming --demo", async () => {
  const home = await Deno.makeTempDir();
  try {
    const res = await run(["call", "check_mesh_health"], { HOME: home });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /--demo/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("main.ts validate gates a GitOps folder: file:line findings and exit 1 on errors", async () => {
  const broken =
    new URL("./fixtures/broken/server-no-authorization.yaml", import.meta.url).pathname;
  const res = await run(["validate", "--manifests", broken]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stdout, /server-no-authorization\.yaml:\d+: error \[server-no-authorization\]/);

  const clean = await run(["validate", "--demo"]);
  assert.equal(clean.code, 0, clean.stdout);
  assert.match(clean.stdout, /0 error\(s\)/);

  const json = await run(["validate", "--format", "json", "--manifests", broken]);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout);
  assert.equal(report.summary.errors, 1);
  assert.ok(
    report.results.some((r: { issues: Array<{ line?: number }> }) =>
      r.issues.some((i) => typeof i.line === "number")
    ),
  );
});

/** A stack trace line, as printed for an unexpected error. */
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

Deno.test("main.ts validate: an unparsable file is a finding (exit 1) and the other files are still validated", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(
      new URL("./fixtures/broken/server-no-authorization.yaml", import.meta.url),
      `${dir}/a.yaml`,
    );
    await Deno.writeTextFile(`${dir}/b.yaml`, "kind: ConfigMap\nmetadata:\n  name: x\n bad: 1\n");
    const res = await run(["validate", "--manifests", dir]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stdout, /b\.yaml:4: error \[manifest-parse-error\]: Cannot parse YAML/);
    assert.match(res.stdout, /a\.yaml:\d+: error \[server-no-authorization\]/);
    assert.doesNotMatch(res.stderr, STACK);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts validate exits 2 without a stack trace when it cannot run", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const kubeconfig = (server: string) =>
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "${server}"}\n` +
      `users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n` +
      `current-context: x\n`;
    await Deno.writeTextFile(`${dir}/unreachable`, kubeconfig("https://127.0.0.1:1"));
    await Deno.writeTextFile(`${dir}/garbage`, "apiVersion: v1\nclusters: [\n  : : bad\n");
    const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
      ["unreadable path", ["validate", "--manifests", `${dir}/nope`], {}, /nope.*does not exist/],
      ["no cluster configured", ["validate"], { HOME: dir }, /--manifests/],
      [
        "cluster unreachable",
        ["validate"],
        { KUBECONFIG: `${dir}/unreachable` },
        /could not be reached/,
      ],
      ["kubeconfig that does not parse", ["validate"], { KUBECONFIG: `${dir}/garbage` }, /garbage/],
    ];
    for (const [name, args, env, stderr] of cases) {
      await t.step(name, async () => {
        const res = await run(args, { HOME: dir, ...env });
        assert.equal(res.code, 2, res.stdout + res.stderr);
        assert.equal(res.stdout, "");
        assert.match(res.stderr, stderr);
        assert.doesNotMatch(res.stderr, STACK);
        assert.doesNotMatch(res.stderr, /unexpected error/);
        if (name === "kubeconfig that does not parse") {
          assert.doesNotMatch(res.stderr, /could not be reached/);
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts --help names the validate exit codes", async () => {
  const help = await run(["--help"]);
  assert.match(help.stdout, /Exit codes: 0 success \(validate: no errors found\)/);
  assert.match(help.stdout, /validate:\s+configuration errors found/);
  assert.match(help.stdout, /2 bad usage, or validate could\s+not run/);
});

Deno.test("main.ts call on manifests with an unparsable file answers, and its dataSource says so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(
      new URL("./fixtures/upstream/demo-apps/emojivoto.yml", import.meta.url),
      `${dir}/emojivoto.yml`,
    );
    await Deno.writeTextFile(`${dir}/broken.yaml`, "kind: [\n");
    const res = await run([
      "call",
      "list_meshed_services",
      '{"include_unmeshed":true}',
      "--manifests",
      dir,
    ]);
    assert.equal(res.code, 0, res.stderr);
    const data = JSON.parse(res.stdout);
    assert.ok(data.services.some((s: { service: string }) => s.service === "web-svc"));
    assert.match(data.dataSource.description, /; 1 load error\)$/);
    assert.match(res.stderr, /broken\.yaml:\d+: Cannot parse YAML/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cannotRunReason() says 'could not be reached' only for network failures", () => {
  const reached = /could not be reached/;
  const eacces = new KubeconfigError('Cannot read kubeconfig "/k": permission denied', {
    reason: "PermissionDenied",
  });
  assert.equal(cannotRunReason(eacces), 'Cannot read kubeconfig "/k": permission denied');
  const parse = new KubeconfigError('Cannot load kubeconfig "/k": not valid YAML', {
    reason: "InvalidKubeconfig",
  });
  assert.doesNotMatch(cannotRunReason(parse), reached);
  const denied = new KubeApiError("Cannot list pods: Deno refused a permission", {
    status: 0,
    reason: "PermissionDenied",
  });
  assert.doesNotMatch(cannotRunReason(denied), reached);
  for (const reason of ["ECONNREFUSED", "ENOTFOUND", "Timeout"]) {
    const net = new KubeApiError("Cannot list pods: cannot reach https://k:6443", {
      status: 0,
      reason,
    });
    assert.match(cannotRunReason(net), reached, reason);
  }
  assert.match(
    cannotRunReason(new KubeApiError("x", { status: 403, reason: "Forbidden" })),
    /RBAC/,
  );
  assert.equal(
    cannotRunReason(new ManifestError("Cannot read manifests", { file: "f" })),
    "Cannot read manifests",
  );
});
