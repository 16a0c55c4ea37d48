/**
 * RBAC, authentication and TokenReview decided by the real kube-apiserver: the Helm chart's
 * ClusterRole and Roles (rendered from the chart, which tests/helm/rbac_test.ts ties to
 * src/kube/resources.ts) bound to a test user let every cluster tool answer as the admin's
 * answers and nothing more; a namespace-scoped grant gives the degraded behaviour the README
 * describes; 401 and 403 carry the real server's messages with our hints; TokenReview works
 * with a real bound service-account token from the TokenRequest API.
 */
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { demoObjects } from "../../src/demo/mod.ts";
import { KubeApiError } from "../../src/errors.ts";
import { createLiveSource } from "../../src/kube/live.ts";
import { LINKERD_CONFIGMAPS } from "../../src/kube/state.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { render } from "../helm/_template.ts";
import { denoDir, startFlags } from "../_mcp.ts";
import { KUBE_SKIP_REASON, type RealKube, startRealKube } from "../support/kube_real.ts";
import { call, type Data, depsFor, liveSource, normalized, ok } from "./_sources.ts";

const CHART = new URL("../../helm/linkerd-mcp/", import.meta.url);

/** The chart's RBAC objects for `values` overrides, named for the test, bound to `user`. */
function chartRbac(user: string, overrides: Record<string, unknown> = {}): KubeObject[] {
  const values = parse(Deno.readTextFileSync(new URL("values.yaml", CHART))) as Record<
    string,
    Record<string, unknown>
  >;
  for (const [k, v] of Object.entries(overrides)) {
    const [a, b] = k.split(".") as [string, string];
    values[a] = { ...values[a], [b]: v };
  }
  const out: KubeObject[] = [];
  for (const file of ["clusterrole.yaml", "role-linkerd.yaml"]) {
    const text = render(Deno.readTextFileSync(new URL(`templates/${file}`, CHART)), values);
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJS() as KubeObject | null;
      if (!obj) continue;
      // `include` renders as "placeholder": name the objects after the test user instead.
      const suffix = obj.metadata.name.replace(/^placeholder/, "");
      obj.metadata = {
        name: `${user}${suffix}`,
        ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
      };
      if (obj["roleRef"]) {
        (obj["roleRef"] as { name: string }).name = `${user}${suffix}`;
        obj["subjects"] = [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: user }];
      }
      out.push(obj);
    }
  }
  return out;
}

async function createRbac(kube: RealKube, objs: readonly KubeObject[]): Promise<void> {
  for (const o of objs) {
    const plural = `${o.kind.toLowerCase()}s`.replace(/ys$/, "ies");
    const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : "";
    await kube.must("POST", `/apis/rbac.authorization.k8s.io/v1${ns}/${plural}`, o);
  }
}

/** The tools that read the cluster (the metrics tools read Prometheus). */
const CLUSTER_CALLS: Array<[string, Record<string, unknown>]> = [
  ["check_mesh_health", {}],
  ["list_meshed_services", {}],
  ["analyze_connectivity", {
    source_namespace: "emojivoto",
    source_service: "web-svc",
    target_service: "emoji-svc",
  }],
  ["analyze_connectivity", {
    source_namespace: "booksapp",
    source_service: "books",
    target_service: "authors",
  }],
  ["get_allowed_targets", { source_namespace: "emojivoto", source_service: "web-svc" }],
  ["get_allowed_sources", { target_namespace: "booksapp", target_service: "authors" }],
  ["validate_mesh_config", {}],
];

/**
 * The namespaces the namespace-scoped user may read (as in tests/live_server_test.ts, where
 * the stand-in forbids booksapp only).
 */
const GRANTED = ["linkerd", "linkerd-viz", "emojivoto"];

const CONNECT = {
  "source_namespace": "emojivoto",
  "source_service": "web-svc",
  "target_service": "emoji-svc",
};

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function log(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`  ${line}\n`));
}

Deno.test({
  name: "real API server: the chart's RBAC, namespace-scoped RBAC, 401/403 and TokenReview",
  ignore: KUBE_SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    // without the demo's Endpoints: the service-proxy checks below expect no endpoints
    await using kube = await startRealKube({
      objects: demoObjects().filter((o) => o.kind !== "Endpoints"),
    });
    const { reader, nsReader, nobody, admin } = kube.users;
    await createRbac(kube, chartRbac(reader.name, { "auth.tokenReview": { enabled: true } }));

    await t.step("the chart's roles let every cluster tool answer as the admin does", async () => {
      const asAdmin = await liveSource(admin.kubeconfigPath);
      const asReader = await liveSource(reader.kubeconfigPath);
      try {
        for (const [name, args] of CLUSTER_CALLS) {
          assert.deepEqual(
            normalized(await ok(depsFor(asReader), name, args), asReader),
            normalized(await ok(depsFor(asAdmin), name, args), asAdmin),
            `${name} as the chart's reader`,
          );
        }
        // The Prometheus fallback through the API server's service proxy is authorized
        // (no endpoints run here, so the real server answers 503, not 403).
        for (const svc of ["prometheus:9090", "prometheus"]) {
          const res = await asReader.proxyGet(
            `/api/v1/namespaces/linkerd-viz/services/${svc}/proxy/api/v1/query`,
            { query: "up" },
          );
          // Authorized: the real server then answers 404/503 (no such Service or endpoints).
          assert.ok(
            ![401, 403].includes(res.status),
            `${svc}: ${res.status} ${res.body.slice(0, 200)}`,
          );
        }
        const denied = await asReader.proxyGet(
          "/api/v1/namespaces/emojivoto/services/web-svc:80/proxy/",
          {},
        );
        assert.equal(denied.status, 403, "the proxy grant is for viz's Prometheus only");
      } finally {
        await asAdmin.close();
        await asReader.close();
      }
    });

    await t.step("and nothing more: writes, Secrets and ConfigMap lists are refused", async () => {
      const as = { token: reader.token };
      const refused: Array<[string, string, unknown?]> = [
        ["POST", "/api/v1/namespaces/emojivoto/configmaps", { metadata: { name: "x" } }],
        ["GET", "/api/v1/secrets"],
        ["GET", "/api/v1/namespaces/linkerd/secrets"],
        ["GET", "/api/v1/namespaces/linkerd/secrets/linkerd-identity-issuer"],
        ["GET", "/api/v1/namespaces/linkerd/configmaps"],
        ["GET", "/api/v1/namespaces/emojivoto/configmaps/kube-root-ca.crt"],
        ["DELETE", "/apis/policy.linkerd.io/v1beta3/namespaces/emojivoto/servers/emoji-grpc"],
        ["PATCH", "/apis/apps/v1/namespaces/emojivoto/deployments/web", "{}"],
        ["GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles"],
      ];
      for (const [method, path, body] of refused) {
        const res = await kube.request(method, path, body, {
          ...as,
          ...(method === "PATCH" ? { contentType: "application/merge-patch+json" } : {}),
        });
        assert.equal(res.status, 403, `${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`);
        assert.equal(res.json.reason, "Forbidden");
        assert.match(res.json.message, new RegExp(`User "${reader.name}" cannot`));
      }
      // The by-name ConfigMap grant works.
      const cm = await kube.request(
        "GET",
        "/api/v1/namespaces/linkerd/configmaps/linkerd-config",
        undefined,
        as,
      );
      assert.equal(cm.status, 200, cm.text.slice(0, 200));
    });

    await t.step(
      "the chart's Role lets the two ConfigMaps be watched by name, and only them",
      async () => {
        const as = { token: reader.token };
        const byName = (name: string, watch = false) =>
          `/api/v1/namespaces/linkerd/configmaps?fieldSelector=${
            encodeURIComponent(`metadata.name=${name}`)
          }${watch ? "&watch=1&timeoutSeconds=1" : ""}`;
        for (const name of LINKERD_CONFIGMAPS) {
          const list = await kube.request("GET", byName(name), undefined, as);
          assert.equal(list.status, 200, `list ${name}: ${list.text.slice(0, 200)}`);
          assert.deepEqual(list.json.items.map((o: KubeObject) => o.metadata.name), [name]);
          const watch = await kube.request("GET", byName(name, true), undefined, as);
          assert.equal(watch.status, 200, `watch ${name}: ${watch.text.slice(0, 200)}`);
        }
        for (const path of [byName("kube-root-ca.crt"), byName("kube-root-ca.crt", true)]) {
          const res = await kube.request("GET", path, undefined, as);
          assert.equal(res.status, 403, `${path}: ${res.status}`);
        }
        // The live source, under exactly these grants: a warm check_mesh_health sends nothing.
        let requests = 0;
        const counting = {
          debug(msg: string) {
            if (msg === "kube request") requests++;
          },
          info() {},
          warn() {},
          error() {},
        };
        const src = await createLiveSource({
          kubeconfigPath: reader.kubeconfigPath,
          env: {},
          timeoutMs: 15_000,
          cacheTtlMs: 50,
          log: counting,
        });
        try {
          const first = await call(depsFor(src), "check_mesh_health");
          assert.ok(first.ok, first.ok ? "" : first.error);
          const watched = src.snapshotInfo!().watched;
          for (const name of LINKERD_CONFIGMAPS) {
            assert.ok(watched.includes(`configmaps (linkerd/${name})`), watched.join(", "));
          }
          assert.ok(!src.snapshotInfo!().listed.length, JSON.stringify(src.snapshotInfo!()));
          await new Promise((r) => setTimeout(r, 300)); // past the TTL, watches open
          const before = requests;
          const warm = await call(depsFor(src), "check_mesh_health");
          assert.ok(warm.ok, warm.ok ? "" : warm.error);
          assert.equal(requests - before, 0, "no API request on the warm call");
          assert.deepEqual(normalized(warm.data, src), normalized(first.data, src));
        } finally {
          await src.close();
        }
      },
    );

    await t.step("403 and 401 carry the real server's message and our hint", async () => {
      const none = await liveSource(nobody.kubeconfigPath);
      const wrong = await liveSource(await kube.writeKubeconfig("wrong", "not-a-known-token"));
      try {
        const forbidden = await call(depsFor(none), "list_meshed_services");
        assert.ok(!forbidden.ok);
        log(`real 403: ${forbidden.error}`);
        assert.match(
          forbidden.error,
          new RegExp(
            `[\\w.]+ is forbidden: User "${nobody.name}" cannot list resource "\\w+" in API group "[\\w.]*" at the cluster scope`,
          ),
        );
        assert.match(forbidden.error, /access is forbidden by RBAC \(403\)/);
        const unauthorized = await call(depsFor(wrong), "check_mesh_health");
        assert.ok(!unauthorized.ok);
        log(`real 401: ${unauthorized.error}`);
        assert.match(unauthorized.error, /Unauthorized/);
        assert.match(unauthorized.error, /rejected the credentials \(401 Unauthorized\)/);
        assert.match(unauthorized.error, /context "wrong"/);
        assert.ok(!unauthorized.error.includes("not-a-known-token"), "the token never shows");
      } finally {
        await none.close();
        await wrong.close();
      }
    });

    await t.step("a namespace-scoped grant gives the README's degraded behaviour", async () => {
      // What an operator would do without cluster-wide reads: the chart's namespaced rules
      // in linkerd, linkerd-viz and emojivoto only (not booksapp); namespaces and CRDs
      // cluster-wide; the chart's Role for the two ConfigMaps.
      const chart = chartRbac(nsReader.name);
      const clusterRole = chart.find((o) => o.kind === "ClusterRole")!;
      const rules = clusterRole["rules"] as Array<{ apiGroups: string[]; resources: string[] }>;
      const clusterScoped = ["namespaces", "customresourcedefinitions"];
      const namespaced = rules.map((r) => ({
        ...r,
        resources: r.resources.filter((x) => !clusterScoped.includes(x)),
      })).filter((r) => r.resources.length);
      const cluster = rules.map((r) => ({
        ...r,
        resources: r.resources.filter((x) => clusterScoped.includes(x)),
      })).filter((r) => r.resources.length);
      const user = [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: nsReader.name }];
      const nsBinding = (ns: string): KubeObject => ({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "ns-reader", namespace: ns },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "ns-reader-namespaced",
        },
        subjects: user,
      } as unknown as KubeObject);
      const objs: KubeObject[] = [
        ...chart.filter((o) => o.kind === "Role" || o.kind === "RoleBinding"),
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRole",
          metadata: { name: "ns-reader-namespaced" },
          rules: namespaced,
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRole",
          metadata: { name: "ns-reader-cluster" },
          rules: cluster,
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name: "ns-reader-cluster" },
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: "ns-reader-cluster",
          },
          subjects: user,
        },
        ...GRANTED.map(nsBinding),
      ];
      await createRbac(kube, objs);
      const source = await liveSource(nsReader.kubeconfigPath);
      try {
        const deps = depsFor(source);
        const all = await call(deps, "list_meshed_services");
        assert.ok(!all.ok);
        assert.match(all.error, /forbidden by RBAC \(403\)/);
        assert.match(all.error, new RegExp(`User "${nsReader.name}" cannot list resource`));
        const listed: Data = await ok(deps, "list_meshed_services", { namespace: "emojivoto" });
        assert.ok(listed.services.length > 0);
        assert.ok(listed.services.every((s: Data) => s.namespace === "emojivoto"));

        const analysis: Data = await ok(deps, "analyze_connectivity", CONNECT);
        assert.equal(analysis.verdict, "allowed");
        assert.equal(analysis.notes?.length, 1, JSON.stringify(analysis.notes));
        assert.match(analysis.notes[0], /RBAC forbids reading cluster-wide/);
        assert.match(analysis.notes[0], /used only namespace "emojivoto"/);

        // check_mesh_health also lists Deployments and pods in the multicluster namespace; a
        // real server refuses that without a grant there (and a Role can only be granted in a
        // namespace that exists): that extension degrades to one warning, like the data plane.
        const health: Data = await ok(deps, "check_mesh_health");
        assert.equal(health.healthy, true, JSON.stringify(health.checks, null, 1));
        const dataPlane = health.checks.filter((c: Data) => c.category === "linkerd-data-plane");
        assert.deepEqual(
          dataPlane.map((c: Data) => [c.name, c.status]),
          [["data plane can be read", "warning"]],
        );
        assert.match(dataPlane[0].message, /RBAC forbids listing pods in all namespaces/);
        const mc = health.checks.filter((c: Data) => c.category === "linkerd-multicluster");
        assert.deepEqual(
          mc.map((c: Data) => [c.name, c.status]),
          [["multicluster extension is installed", "warning"]],
        );
        assert.match(mc[0].message, /Cannot read .* in namespace "linkerd-multicluster"/);
        assert.match(mc[0].message, /forbidden by RBAC \(403\)/);
        assert.match(mc[0].message, new RegExp(`User "${nsReader.name}" cannot list resource`));
        assert.match(mc[0].hint, /or ignore this if the multicluster extension is not installed/);
        // viz is granted and checked in full.
        const viz = health.checks.filter((c: Data) => c.category === "linkerd-viz");
        assert.ok(viz.length > 1, JSON.stringify(viz));
        assert.ok(viz.every((c: Data) => !/Cannot read/.test(c.message)), JSON.stringify(viz));

        // booksapp stays closed, with the real server's words.
        const books = await call(deps, "list_meshed_services", { namespace: "booksapp" });
        assert.ok(!books.ok);
        assert.match(books.error, /in the namespace "booksapp"/);
      } finally {
        await source.close();
      }
    });

    await t.step("TokenReview: a real bound service-account token, and only that", async () => {
      await kube.must("POST", "/api/v1/namespaces", { metadata: { name: "team-a" } });
      await kube.must("POST", "/api/v1/namespaces/team-a/serviceaccounts", {
        metadata: { name: "assistant" },
      });
      const requested = await kube.must(
        "POST",
        "/api/v1/namespaces/team-a/serviceaccounts/assistant/token",
        {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600 },
        },
      );
      const saToken = requested.json.status.token as string;
      assert.match(saToken, /^ey/, "a JWT");
      const reviewer = await liveSource(reader.kubeconfigPath);
      const noGrant = await liveSource(nobody.kubeconfigPath);
      try {
        assert.deepEqual(await reviewer.reviewToken(saToken), {
          authenticated: true,
          username: "system:serviceaccount:team-a:assistant",
        });
        // A user that is not a service account is authenticated by the server, refused by us.
        const user = await reviewer.reviewToken(nobody.token);
        assert.deepEqual(user, { authenticated: false, username: nobody.name });
        assert.equal((await reviewer.reviewToken("garbage")).authenticated, false);
        // The chart grants tokenreviews create only with auth.tokenReview.enabled.
        await assert.rejects(
          () => noGrant.reviewToken(saToken),
          (err: unknown) =>
            err instanceof KubeApiError && err.status === 403 &&
            /cannot create resource "tokenreviews" in API group "authentication\.k8s\.io"/.test(
              err.message,
            ) &&
            // the resource name after "client token: " is not taken for a credential
            /client token: tokenreviews\.authentication\.k8s\.io is forbidden: User/.test(
              err.message,
            ) && !err.message.includes("[redacted]"),
        );
        // End to end: the server under `deno task start`'s flags, --http --http-token-review,
        // reading the cluster as the chart's reader, admits the service account's token only.
        const port = freePort();
        const server = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            ...startFlags(),
            new URL("../../main.ts", import.meta.url).pathname,
            "--http",
            `127.0.0.1:${port}`,
            "--http-token-review",
          ],
          env: {
            KUBECONFIG: reader.kubeconfigPath,
            PATH: Deno.env.get("PATH") ?? "",
            HOME: Deno.env.get("HOME") ?? "/tmp",
            DENO_DIR: denoDir(),
            NO_COLOR: "1",
          },
          clearEnv: true,
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        try {
          const base = `http://127.0.0.1:${port}`;
          const deadline = Date.now() + 30_000;
          for (;;) {
            const up = await fetch(`${base}/healthz`).then((r) => r.body?.cancel().then(() => true))
              .catch(() => false);
            if (up) break;
            assert.ok(Date.now() < deadline, "the HTTP server did not start");
            await new Promise((r) => setTimeout(r, 200));
          }
          const mcp = (token?: string) =>
            fetch(`${base}/mcp`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                accept: "application/json, text/event-stream",
                ...(token ? { authorization: `Bearer ${token}` } : {}),
              },
              body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
            }).then(async (r) => ({ status: r.status, text: await r.text() }));
          const admitted = await mcp(saToken);
          assert.equal(admitted.status, 200, admitted.text.slice(0, 300));
          assert.match(admitted.text, /analyze_connectivity/);
          assert.equal(
            (await mcp(nobody.token)).status,
            401,
            "a user token is not a service account",
          );
          assert.equal((await mcp("garbage")).status, 401);
          assert.equal((await mcp()).status, 401);
        } finally {
          server.kill("SIGTERM");
          const out = await server.output();
          assert.ok(
            !new TextDecoder().decode(out.stderr).includes(saToken),
            "the token never logs",
          );
        }

        // A bound token dies with its service account: the real server checks.
        await kube.must("DELETE", "/api/v1/namespaces/team-a/serviceaccounts/assistant");
        // The server's service-account lookup is an informer: give it a moment.
        let stillValid = true;
        for (let i = 0; i < 50 && stillValid; i++) {
          stillValid = (await reviewer.reviewToken(saToken)).authenticated;
          if (stillValid) await new Promise((r) => setTimeout(r, 200));
        }
        assert.equal(stillValid, false, "the token of a deleted service account still passes");
      } finally {
        await reviewer.close();
        await noGrant.close();
      }
    });
  },
});
