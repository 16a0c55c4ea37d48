/**
 * End to end against a live cluster: the server runs as a subprocess launched exactly as
 * `deno task start` launches it (`connectSubprocess`), reads the Kubernetes API stand-in
 * over HTTPS through its kubeconfig (`KUBECONFIG`, no `--demo`), and a real MCP client
 * calls its tools. Failure modes (RBAC, unreachable, slow, CRDs missing, bad token) must
 * come back as `isError` results in bounded time, and the server must keep serving.
 */
import assert from "node:assert/strict";
import { stringify as stringifyYaml } from "yaml";
import { demoObjects } from "../src/demo/mod.ts";
import type { KubeObject } from "../src/kube/types.ts";
import { type Connected, connectSubprocess } from "./_mcp.ts";
import { STANDIN_CA_PEM, STANDIN_TOKEN, startStandin } from "./support/kube_standin.ts";
import { openMetrics, scenario } from "./support/openmetrics_gen.ts";
import { SKIP_REASON, startPrometheus } from "./support/prometheus.ts";

type Conn = Connected & { stderr: () => string };
type CallResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content?: Array<{ type: string; text?: string }>;
};
// deno-lint-ignore no-explicit-any
type Data = any;

/** A bound on failing calls: the product must not hang (its own tool timeout is 60 s). */
const FAIL_BOUND_MS = 10_000;
// Generous enough for a loaded CI machine, where the recovery call must fit in it.
const KUBE_TIMEOUT_MS = 3000;

const CONNECT = {
  "source_namespace": "emojivoto",
  "source_service": "web-svc",
  "target_service": "emoji-svc",
};

function textOf(r: CallResult): string {
  return (r.content ?? []).map((c) => c.text ?? "").join("\n");
}

async function call(conn: Conn, name: string, args: Record<string, unknown> = {}) {
  const started = performance.now();
  const res = await conn.client.callTool({ name, arguments: args }) as CallResult;
  return { res, ms: performance.now() - started };
}

/** Calls a tool that must succeed and returns its structured content. */
async function ok(conn: Conn, name: string, args: Record<string, unknown> = {}): Promise<Data> {
  const { res } = await call(conn, name, args);
  assert.notEqual(res.isError, true, `${name} failed: ${textOf(res)}\n${conn.stderr()}`);
  assert.ok(res.structuredContent, `${name} returned no structuredContent`);
  return res.structuredContent;
}

/** Calls a tool that must fail within {@linkcode FAIL_BOUND_MS}; returns its text and time. */
async function failing(conn: Conn, name: string, args: Record<string, unknown> = {}) {
  const { res, ms } = await call(conn, name, args);
  assert.equal(res.isError, true, `${name} should fail, got ${textOf(res).slice(0, 300)}`);
  assert.ok(ms < FAIL_BOUND_MS, `${name} took ${ms.toFixed(0)} ms to fail`);
  return { text: textOf(res), ms };
}

/** The server still serves: tools/list and a tool that needs no cluster answer. */
async function stillServes(conn: Conn): Promise<void> {
  const { tools } = await conn.client.listTools();
  assert.ok(tools.length >= 11, `tools/list gave ${tools.length} tools`);
  // Invalid arguments are answered without the cluster: the request loop is alive.
  const { res } = await call(conn, "analyze_connectivity", { bogus: 1 });
  assert.equal(res.isError, true);
  assert.match(textOf(res), /Invalid arguments/);
}

function launch(kubeconfig: string, env: Record<string, string> = {}, args: string[] = []) {
  return connectSubprocess(args, { KUBECONFIG: kubeconfig, ...env });
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function log(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`  ${line}\n`));
}

/** The structured verdict of analyze_connectivity, without the source description. */
function verdictOf(d: Data) {
  return {
    verdict: d.verdict,
    allowed: d.allowed,
    policies: d.policies,
    ports: d.ports.map((p: Data) => ({
      port: p.port,
      decision: p.decision,
      authorization: p.authorization,
      server: p.server,
    })),
  };
}

Deno.test({
  name: "live cluster (stand-in serving the demo objects) answers as --demo does",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const api = await startStandin({ objects: demoObjects() });
    const [live, demo] = await Promise.all([
      launch(api.kubeconfigPath),
      connectSubprocess(["--demo"]),
    ]);
    try {
      const instructions = live.client.getInstructions() ?? "";
      assert.match(instructions, /Cluster state comes from: cluster/);
      assert.ok(instructions.includes(api.kubeconfigPath), instructions);
      assert.doesNotMatch(instructions, /demo/i);

      const health = await ok(live, "check_mesh_health");
      const demoHealth = await ok(demo, "check_mesh_health");
      assert.deepEqual(
        health.checks.map((c: Data) => [c.name, c.status]),
        demoHealth.checks.map((c: Data) => [c.name, c.status]),
      );
      assert.equal(health.healthy, true, JSON.stringify(health.checks, null, 1));
      const checkText = health.checks.map((c: Data) => `${c.name}: ${c.message}`).join("\n");
      assert.match(checkText, /control plane/i);
      assert.match(checkText, /linkerd-destination/);
      assert.ok(
        health.checks.every((c: Data) => c.status !== "error"),
        checkText,
      );
      assert.match(String(health.source), new RegExp(api.url.replace(/[.]/g, "\\.")));

      const listed = await ok(live, "list_meshed_services");
      const emojivoto = listed.services
        .filter((s: Data) => s.namespace === "emojivoto")
        .map((s: Data) => s.service)
        .sort();
      for (const svc of ["emoji-svc", "voting-svc", "web-svc"]) {
        assert.ok(emojivoto.includes(svc), `${svc} missing from ${emojivoto}`);
      }
      const demoListed = await ok(demo, "list_meshed_services");
      assert.deepEqual(listed.summary, demoListed.summary);
      assert.deepEqual(listed.services, demoListed.services);

      // One analysis, two sources: the same structured verdict.
      const [liveVerdict, demoVerdict] = await Promise.all([
        ok(live, "analyze_connectivity", CONNECT),
        ok(demo, "analyze_connectivity", CONNECT),
      ]);
      assert.equal(liveVerdict.verdict, "allowed");
      assert.deepEqual(verdictOf(liveVerdict), verdictOf(demoVerdict));

      const sources = await ok(live, "get_allowed_sources", {
        target_namespace: "emojivoto",
        target_service: "emoji-svc",
      });
      const demoSources = await ok(demo, "get_allowed_sources", {
        target_namespace: "emojivoto",
        target_service: "emoji-svc",
      });
      assert.ok(
        sources.allowedSources.some((s: Data) => s.principal === "emojivoto/web-svc"),
        JSON.stringify(sources.allowedSources.map((s: Data) => s.principal)),
      );
      assert.deepEqual(sources.allowedSources, demoSources.allowedSources);

      const validation = await ok(live, "validate_mesh_config");
      assert.equal(validation.summary.errors, 0, JSON.stringify(validation.summary));
      assert.ok(validation.totalResources > 0);

      // The answers came over HTTPS from the API: the list calls are in its log.
      const paths = new Set(api.requests.map((r) => `${r.method} ${r.path}`));
      for (
        const p of [
          "GET /api/v1/pods",
          "GET /api/v1/services",
          "GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        ]
      ) {
        assert.ok(
          [...paths].some((x) => x.startsWith(p) || x === p),
          `${p} not requested: ${[...paths].join(", ")}`,
        );
      }
      assert.ok([...paths].some((p) => p.includes("/apis/policy.linkerd.io/")), "policy lists");
      assert.ok(api.requests.every((r) => r.status === 200 || r.status === 404));
      const secrets = api.requests.filter((r) => /secrets/i.test(r.path));
      assert.deepEqual(secrets, [], "the server must never read Secrets");
    } finally {
      await Promise.all([live.close(), demo.close()]);
      await api.close();
    }
  },
});

Deno.test({
  name: "live cluster: RBAC 403, CRDs not installed, slow API server, wrong token",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await t.step(
      "pods forbidden by RBAC: isError naming RBAC, the server keeps serving",
      async () => {
        const api = await startStandin({
          objects: demoObjects(),
          forbidden: { resources: ["pods"] },
        });
        const conn = await launch(api.kubeconfigPath);
        try {
          const { text, ms } = await failing(conn, "list_meshed_services");
          assert.match(text, /forbidden/i);
          assert.match(text, /RBAC/);
          assert.match(text, /pods/);
          log(`403: isError after ${ms.toFixed(0)} ms`);
          await stillServes(conn);
          assert.ok(api.requests.some((r) => r.status === 403));
        } finally {
          await conn.close();
          await api.close();
        }
      },
    );

    await t.step("a namespace forbidden by RBAC: other namespaces still answer", async () => {
      const api = await startStandin({
        objects: demoObjects(),
        forbidden: { namespaces: ["booksapp"] },
      });
      const conn = await launch(api.kubeconfigPath);
      try {
        const { text } = await failing(conn, "list_meshed_services");
        assert.match(text, /forbidden by RBAC \(403\)/);
        const listed = await ok(conn, "list_meshed_services", { namespace: "emojivoto" });
        assert.ok(listed.services.length > 0);
        assert.ok(listed.services.every((s: Data) => s.namespace === "emojivoto"));

        // analyze_connectivity falls back to the namespaces the question involves, and says so.
        const analysis = await ok(conn, "analyze_connectivity", CONNECT);
        assert.equal(analysis.verdict, "allowed");
        assert.ok(analysis.ports.length > 0);
        assert.equal(analysis.notes?.length, 1, JSON.stringify(analysis.notes));
        assert.match(analysis.notes[0], /RBAC forbids reading cluster-wide/);
        assert.match(analysis.notes[0], /used only namespace "emojivoto"/);
        assert.match(analysis.explanation, /Note: RBAC forbids reading cluster-wide/);
        const refused = api.requests.filter((r) => r.status === 403).map((r) => r.path);
        assert.ok(refused.some((p) => p.startsWith("/api/v1/pods")), refused.join(", "));
        assert.ok(
          api.requests.some((r) =>
            r.status === 200 && r.path.startsWith("/api/v1/namespaces/emojivoto/pods")
          ),
          "pods were listed in emojivoto",
        );
        assert.ok(
          api.requests.every((r) => !r.path.includes("/namespaces/booksapp/") || r.status === 403),
        );

        // check_mesh_health keeps the control-plane checks; the data plane is one warning.
        const health = await ok(conn, "check_mesh_health");
        assert.equal(health.healthy, true, JSON.stringify(health.checks, null, 1));
        assert.ok(health.components.length > 0);
        const dataPlane = health.checks.filter((c: Data) => c.category === "linkerd-data-plane");
        assert.deepEqual(
          dataPlane.map((c: Data) => [c.name, c.status]),
          [["data plane can be read", "warning"]],
        );
        assert.match(dataPlane[0].message, /RBAC forbids listing pods in all namespaces/);
        assert.ok(
          health.checks.some((c: Data) =>
            c.name === "control plane pods are ready" && c.status === "ok"
          ),
        );
      } finally {
        await conn.close();
        await api.close();
      }
    });

    await t.step("policy CRDs not installed: an error check, not a crash", async () => {
      const api = await startStandin({
        objects: demoObjects().filter((o: KubeObject) =>
          !(o.kind === "CustomResourceDefinition" && o.metadata.name.endsWith(".policy.linkerd.io"))
        ),
        unserved: ["policy.linkerd.io/v1beta3", "policy.linkerd.io/v1beta2"].concat(
          ["policy.linkerd.io/v1beta1", "policy.linkerd.io/v1alpha1"],
        ),
      });
      const conn = await launch(api.kubeconfigPath);
      try {
        const health = await ok(conn, "check_mesh_health");
        assert.equal(health.healthy, false);
        const crd = health.checks.find((c: Data) =>
          c.name === "control plane CustomResourceDefinitions exist"
        );
        assert.ok(crd, JSON.stringify(health.checks.map((c: Data) => c.name)));
        assert.equal(crd.status, "error");
        assert.match(crd.message, /Missing: .*servers\.policy\.linkerd\.io/);
        // Without the CRDs no policy can exist: the default policy decides, and says so.
        const analysis = await ok(conn, "analyze_connectivity", CONNECT);
        assert.deepEqual(analysis.policies, []);
        assert.ok(analysis.ports.every((p: Data) => p.server.kind === "default"));
        assert.match(
          analysis.explanation,
          /Not installed in this cluster \(read as empty\): .*servers/,
        );
        const validation = await ok(conn, "validate_mesh_config");
        assert.match(validation.notes.join("\n"), /Not served by the cluster \(CRD missing\)/);
        assert.ok(
          api.requests.some((r) => r.path.includes("policy.linkerd.io") && r.status === 404),
        );
        await stillServes(conn);
      } finally {
        await conn.close();
        await api.close();
      }
    });

    await t.step("slow API server: isError within a bound, then recovers", async () => {
      const api = await startStandin({ objects: demoObjects(), latencyMs: 0 });
      const conn = await launch(api.kubeconfigPath, {
        LINKERD_KUBE_TIMEOUT_MS: String(KUBE_TIMEOUT_MS),
      });
      try {
        api.setLatency(KUBE_TIMEOUT_MS * 4);
        const { text, ms } = await failing(conn, "list_meshed_services");
        assert.match(text, new RegExp(`did not answer within ${KUBE_TIMEOUT_MS} ms`));
        assert.match(text, /could not be reached/);
        log(
          `slow API (latency ${KUBE_TIMEOUT_MS * 4} ms, timeout ${KUBE_TIMEOUT_MS} ms): ` +
            `isError after ${ms.toFixed(0)} ms`,
        );
        api.setLatency(0);
        // Recovery: the same server answers once the API server is fast again. On a loaded
        // CI machine one call may still miss the deadline, so allow a few attempts.
        let listed: Data | undefined;
        for (let attempt = 0; attempt < 3 && !listed; attempt++) {
          const res = await conn.client.callTool({
            name: "list_meshed_services",
            arguments: {},
          }) as CallResult;
          if (res.isError !== true) listed = res.structuredContent;
        }
        assert.ok(listed, "the server did not recover after the API server became fast again");
        assert.ok(listed.services.length > 0);
      } finally {
        await conn.close();
        await api.close();
      }
    });

    await t.step("wrong token: 401, isError saying the credentials were rejected", async () => {
      const api = await startStandin({ objects: demoObjects() });
      const conn = await launch(api.kubeconfigPath, {}, ["--context", "standin-wrong-token"]);
      try {
        const { text, ms } = await failing(conn, "check_mesh_health");
        assert.match(text, /rejected the credentials \(401 Unauthorized\)/);
        assert.match(text, /standin-wrong-token/);
        log(`401: isError after ${ms.toFixed(0)} ms`);
        assert.ok(api.requests.length > 0 && api.requests.every((r) => r.status === 401));
        await stillServes(conn);
      } finally {
        await conn.close();
        await api.close();
      }
    });
  },
});

Deno.test({
  name: "live cluster: an unreachable API server gives isError quickly and the server serves on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-unreachable-" });
    const server = `https://127.0.0.1:${freePort()}`;
    const kubeconfig = `${dir}/config`;
    await Deno.writeTextFile(
      kubeconfig,
      stringifyYaml({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "closed",
        clusters: [{
          name: "closed",
          cluster: { server, "certificate-authority-data": btoa(STANDIN_CA_PEM) },
        }],
        users: [{ name: "closed", user: { token: STANDIN_TOKEN } }],
        contexts: [{ name: "closed", context: { cluster: "closed", user: "closed" } }],
      }),
    );
    const conn = await launch(kubeconfig);
    try {
      for (const tool of ["check_mesh_health", "list_meshed_services"]) {
        const { text, ms } = await failing(conn, tool);
        assert.match(text, /could not be reached/);
        assert.ok(text.includes(server), text);
        log(`unreachable: ${tool} isError after ${ms.toFixed(0)} ms`);
      }
      await stillServes(conn);
    } finally {
      await conn.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "live cluster: an API server that accepts TCP but never answers TLS is bounded too",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // A black hole: connections are accepted and then nothing happens (no TLS handshake).
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const c of listener) held.push(c);
    })().catch(() => {});
    const api = await startStandin({ objects: [] });
    const port = (listener.addr as Deno.NetAddr).port;
    const kubeconfig = `${api.dir}/silent-config`;
    const text = await Deno.readTextFile(api.kubeconfigPath);
    await Deno.writeTextFile(kubeconfig, text.replaceAll(api.url, `https://127.0.0.1:${port}`));
    const conn = await launch(kubeconfig, { LINKERD_KUBE_TIMEOUT_MS: String(KUBE_TIMEOUT_MS) });
    try {
      const { text, ms } = await failing(conn, "list_meshed_services");
      assert.match(text, new RegExp(`did not answer within ${KUBE_TIMEOUT_MS} ms`));
      log(`silent API server (timeout ${KUBE_TIMEOUT_MS} ms): isError after ${ms.toFixed(0)} ms`);
      assert.ok(held.length > 0, "the server never connected");
      await stillServes(conn);
    } finally {
      await conn.close();
      listener.close();
      for (const c of held) c.close();
      await accepting;
      await api.close();
    }
  },
});

Deno.test({
  name: "live cluster: metrics through the API server's service proxy to a real Prometheus",
  ignore: SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const end = Math.floor(Date.now() / 60_000) * 60 - 60;
    const prom = await startPrometheus(openMetrics(scenario(), end, 3600));
    const proxied: string[] = [];
    const api = await startStandin({
      objects: demoObjects(),
      proxy: ({ namespace, service, rest, url }) => {
        proxied.push(`${namespace}/${service}${rest}`);
        if (namespace !== "linkerd-viz" || service !== "prometheus:9090") {
          return new Response("no endpoints available", { status: 503 });
        }
        // The stand-in's proxy hook is synchronous: stream Prometheus' answer as the body.
        const upstream = fetch(`${prom.url}${rest}${url.search}`);
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            try {
              const res = await upstream;
              controller.enqueue(new Uint8Array(await res.arrayBuffer()));
            } catch (err) {
              controller.enqueue(new TextEncoder().encode(`proxy error: ${err}`));
            }
            controller.close();
          },
        });
        return new Response(body, { headers: { "content-type": "application/json" } });
      },
    });
    const closedProm = `http://127.0.0.1:${freePort()}`;
    const conn = await launch(api.kubeconfigPath, { LINKERD_PROMETHEUS_URL: closedProm });
    try {
      const d = await ok(conn, "get_service_metrics", {
        namespace: "emojivoto",
        service: "web-svc",
        time_range: "5m",
      });
      assert.match(d.prometheus, /via the Kubernetes API server/);
      assert.ok(d.prometheus.includes(api.url), d.prometheus);
      assert.ok(d.prometheus.includes(closedProm), `names the unreachable URL: ${d.prometheus}`);
      assert.ok(proxied.length > 0, "no request went through the service proxy");
      assert.ok(
        proxied.every((p) => p.startsWith("linkerd-viz/prometheus:9090/api/v1/query")),
        proxied.join("\n"),
      );
      log(`metrics via the API server proxy: status ${d.status}, rate ${d.requestRate}`);
      // The backfilled samples end a minute or two ago: the 5-minute window sees web's traffic.
      assert.equal(d.status, "ok");
      assert.ok(d.requestRate > 0, `requestRate ${d.requestRate}`);
    } finally {
      await conn.close();
      await api.close();
      await prom.stop();
    }
  },
});
