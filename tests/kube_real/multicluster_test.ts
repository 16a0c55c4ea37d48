/**
 * Two real API servers at once: one holds the demo's west cluster, the other its east
 * cluster (objects created through the API, status written through the status
 * subresource). One kubeconfig names both (`west`, the current context, and `east`), and
 * the server's clusters are built as `main.ts` builds them (`buildSource`, then
 * `buildClusterSet`). Through `runTool`, with the `cluster` argument:
 * - list_clusters sees both contexts and west's Link to east, served as "east";
 * - a call's `cluster` reads that cluster's own source and cache, and only its API server
 *   is asked (counted in each server's audit log);
 * - check_mesh_health on west compares the trust anchors with east's ConfigMap;
 * - analyze_connectivity from west to east's exported Services evaluates east's policy;
 * - the embedded demo's two clusters give the same answers, apart from provenance, ages
 *   and what a real server adds.
 */
import assert from "node:assert/strict";
import { buildClusterSet, toolDepsOf } from "../../src/cli/clusters.ts";
import { buildSource } from "../../src/cli/source.ts";
import type { ClusterSet } from "../../src/clusters/set.ts";
import { loadConfig } from "../../src/config.ts";
import { demoObjects } from "../../src/demo/mod.ts";
import type { ClusterSource } from "../../src/kube/source.ts";
import { SILENT } from "../../src/log.ts";
import { createPromClient } from "../../src/metrics/mod.ts";
import type { ToolDeps } from "../../src/tools/_spec.ts";
import {
  KUBE_SKIP_REASON,
  multiContextKubeconfig,
  type RealKube,
  startRealKube,
} from "../support/kube_real.ts";
import { type Data, normalized, ok } from "./_sources.ts";

function log(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`  ${line}\n`));
}

/** Every request of the API server, logged at the end of each (one JSON line each). */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;

/** One audit event (the fields read here). */
interface AuditEvent {
  stage: string;
  verb: string;
  objectRef?: { resource?: string };
}

/** An API server's audit log: the events since a mark. */
class AuditLog {
  #offset = 0;
  constructor(readonly path: string) {}

  async #text(): Promise<string> {
    return await Deno.readTextFile(this.path).catch(() => "");
  }

  /** Forgets everything logged so far. */
  async mark(): Promise<void> {
    this.#offset = (await this.#text()).length;
  }

  /** The completed reads (list, get, watch) of resources since the mark, as `verb resource`. */
  async readsSinceMark(): Promise<string[]> {
    const events = (await this.#text()).slice(this.#offset).split("\n").flatMap((l) => {
      try {
        return [JSON.parse(l) as AuditEvent];
      } catch {
        return []; // blank, or a line being written
      }
    });
    return events.filter((e) =>
      ["list", "get", "watch"].includes(e.verb) && e.objectRef?.resource &&
      e.stage === "ResponseComplete"
    ).map((e) => `${e.verb} ${e.objectRef!.resource}`);
  }
}

/** The demo's east cluster has its Services in 10.53.0.0/16 (west: 10.43.0.0/16). */
const EAST_SERVICE_CIDR = "10.53.0.0/16";

/** Starts both API servers in parallel, each with an audit log; stops both on failure. */
async function startBoth(dir: string): Promise<{
  west: RealKube;
  east: RealKube;
  audit: { west: AuditLog; east: AuditLog };
}> {
  await Deno.writeTextFile(`${dir}/audit-policy.yaml`, AUDIT_POLICY);
  const auditArgs = (name: string) => [
    `--audit-policy-file=${dir}/audit-policy.yaml`,
    `--audit-log-path=${dir}/audit-${name}.log`,
    "--audit-log-format=json",
    "--audit-log-mode=blocking",
  ];
  const started = await Promise.allSettled([
    startRealKube({ apiserverArgs: auditArgs("west") }),
    startRealKube({ apiserverArgs: auditArgs("east"), serviceCidr: EAST_SERVICE_CIDR }),
  ]);
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await Promise.all(started.map((s) => s.status === "fulfilled" ? s.value.close() : undefined));
    throw (failed as PromiseRejectedResult).reason;
  }
  const [west, east] = started.map((s) => (s as PromiseFulfilledResult<RealKube>).value) as [
    RealKube,
    RealKube,
  ];
  return {
    west,
    east,
    audit: {
      west: new AuditLog(`${dir}/audit-west.log`),
      east: new AuditLog(`${dir}/audit-east.log`),
    },
  };
}

/** A loopback port nothing listens on. */
const CLOSED_PORT = (() => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
})();

/** The server's deps and clusters, built as main.ts builds them. */
async function serverDeps(
  choice: { kind: "live"; kubeconfig: string } | { kind: "demo" },
): Promise<{ deps: ToolDeps; clusters: ClusterSet }> {
  const env: Record<string, string | undefined> = {
    // No Prometheus runs: its URL refuses at once, and the API server proxy fallback (to
    // the demo's Endpoints of linkerd-viz/prometheus, a pod IP nothing serves) gives up
    // within 1.5 s wherever the test runs (west's health checks ask it on every call).
    "LINKERD_PROMETHEUS_URL": `http://127.0.0.1:${CLOSED_PORT}`,
    "LINKERD_PROMETHEUS_TIMEOUT_MS": "1500",
  };
  const config = loadConfig(env);
  const cluster = await buildSource(choice, { env, config, log: SILENT });
  const built = await buildClusterSet(choice, { env, config, log: SILENT, source: cluster });
  return {
    deps: toolDepsOf(cluster, built, SILENT),
    clusters: built.clusters,
  };
}

const FRONTEND = { "source_namespace": "test", "source_workload": "deployment/frontend" };

/** The calls asked of both servers (real and demo), compared after `normalized`. */
const CALLS: Array<[string, Record<string, unknown>]> = [
  ["list_clusters", {}],
  ["list_meshed_services", { cluster: "east", namespace: "test" }],
  ["list_meshed_services", { namespace: "test" }],
  ["check_mesh_health", {}],
  ["check_mesh_health", { cluster: "east" }],
  ["analyze_connectivity", { ...FRONTEND, target_service: "podinfo-east" }],
  ["analyze_connectivity", { ...FRONTEND, target_service: "bb-east" }],
  ["analyze_connectivity", { ...FRONTEND, target_service: "podinfo-federated" }],
  ["analyze_connectivity", {
    cluster: "east",
    source_namespace: "linkerd-multicluster",
    source_workload: "deployment/linkerd-gateway",
    target_namespace: "test",
    target_service: "podinfo",
  }],
];

function names(services: Data[]): string[] {
  return services.map((s) => `${s.namespace}/${s.service}`).sort();
}

/** The multicluster check of west's gateway probes (read from Prometheus). */
function gatewayProbeCheck(health: Data): Data {
  const found = health.checks.filter((c: Data) =>
    c.category === "linkerd-multicluster" &&
    /gateways? (alive|down|liveness)|Prometheus/.test(c.message)
  );
  assert.equal(found.length, 1, JSON.stringify(health.checks));
  return found[0];
}

function withoutCheck(health: Data, check: Data): Data {
  return { ...health, checks: health.checks.filter((c: Data) => c !== check) };
}

/** list_meshed_services, every page (following `nextCursor`). */
async function allServices(deps: ToolDeps, args: Record<string, unknown>): Promise<Data> {
  const first = await ok(deps, "list_meshed_services", args);
  const services = [...first.services];
  for (let next = first.nextCursor, pages = 1; next; pages++) {
    assert.ok(pages < 50, "list_meshed_services never ends");
    const page = await ok(deps, "list_meshed_services", { ...args, cursor: next });
    assert.equal(page.dataSource.cluster, first.dataSource.cluster);
    services.push(...page.services);
    next = page.nextCursor;
  }
  assert.equal(services.length, first.totalServices);
  return { ...first, services };
}

Deno.test({
  name: "two real API servers: one server reads west and east, each through its own context",
  ignore: KUBE_SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const started = performance.now();
    const dir = await Deno.makeTempDir({ prefix: "linkerd-mcp-two-kube-" });
    const { west, east, audit } = await startBoth(dir);
    const toClose: Array<{ close(): Promise<void> }> = [];
    try {
      const [westLoad, eastLoad] = await Promise.all([
        west.loadObjects(demoObjects({ cluster: "west" })),
        east.loadObjects(demoObjects({ cluster: "east" })),
      ]);
      log(
        `two real API servers: west ${west.timings.apiserverMs.toFixed(0)} ms, east ` +
          `${east.timings.apiserverMs.toFixed(0)} ms (in parallel); ${westLoad.created} + ` +
          `${eastLoad.created} objects loaded; ${(performance.now() - started).toFixed(0)} ms`,
      );
      assert.deepEqual(
        [...westLoad.notes, ...eastLoad.notes],
        [],
        "the real servers corrected the demo",
      );
      assert.ok(eastLoad.created > 20 && westLoad.created > eastLoad.created);

      const kubeconfig = `${dir}/kubeconfig`;
      await Deno.writeTextFile(
        kubeconfig,
        multiContextKubeconfig([
          { name: "west", url: west.url, caPem: west.caPem, token: west.users.admin.token },
          { name: "east", url: east.url, caPem: east.caPem, token: east.users.admin.token },
        ], "west"),
      );
      const real = await serverDeps({ kind: "live", kubeconfig });
      toClose.push(real.clusters);
      const demo = await serverDeps({ kind: "demo" });
      toClose.push(demo.clusters);
      const answers: Data[] = [];
      const ask = async (name: string, args: Record<string, unknown>) => {
        const data = await ok(real.deps, name, args);
        answers.push(data);
        return data;
      };

      await t.step(
        "list_clusters: both contexts, west the default, its Link served as east",
        async () => {
          const d = await ask("list_clusters", {});
          assert.deepEqual(
            d.clusters.map((c: Data) => [c.name, c.default, c.serving, c.reachable]),
            [
              ["west", true, true, true],
              ["east", false, false, true],
            ],
          );
          assert.equal(d.defaultCluster, "west");
          assert.equal(d.servingCluster, "west");
          const [link, ...more] = d.clusters[0].links;
          assert.deepEqual(more, []);
          assert.equal(link.name, "east");
          assert.equal(link.targetClusterName, "east");
          assert.equal(link.mode, "gateway");
          assert.equal(link.servedAs, "east");
          assert.equal(link.gatewayAddress, "172.19.0.100");
          assert.deepEqual(link.mirroredServices, {
            gateway: 1,
            remoteDiscovery: 1,
            federated: 1,
            total: 3,
          });
          assert.deepEqual(d.clusters[1].links, []);
          assert.equal(d.dataSource.cluster, "west");
          assert.equal(d.dataSource.context, "west");
        },
      );

      await t.step(
        "a call's cluster reads that cluster only, from its own API server",
        async () => {
          await Promise.all([audit.west.mark(), audit.east.mark()]);
          const onEast = await allServices(real.deps, { cluster: "east" });
          const eastReads = {
            west: await audit.west.readsSinceMark(),
            east: await audit.east.readsSinceMark(),
          };
          await Promise.all([audit.west.mark(), audit.east.mark()]);
          const onWest = await allServices(real.deps, {});
          const westReads = {
            west: await audit.west.readsSinceMark(),
            east: await audit.east.readsSinceMark(),
          };
          log(
            `east call: reads of east [${eastReads.east.join(", ")}], of west [${
              eastReads.west.join(", ")
            }]; west call: reads of west [${westReads.west.join(", ")}], of east [${
              westReads.east.join(", ")
            }]`,
          );
          // east's services, not west's
          const eastNames = names(onEast.services);
          assert.ok(
            eastNames.includes("test/podinfo") && eastNames.includes("test/bb"),
            eastNames.join(", "),
          );
          assert.ok(
            !eastNames.some((n) => /^test\/(frontend|podinfo-east|bb-east)$|^emojivoto\//.test(n)),
            eastNames.join(", "),
          );
          assert.equal(onEast.dataSource.cluster, "east");
          assert.equal(onEast.dataSource.context, "east");
          assert.equal(onEast.dataSource.server, east.url);
          const westNames = names(onWest.services);
          assert.ok(westNames.some((n) => n.startsWith("emojivoto/")), westNames.join(", "));
          assert.ok(
            !westNames.includes("test/podinfo") && !westNames.includes("test/bb"),
            westNames.join(", "),
          );
          assert.equal(onWest.dataSource.cluster, "west");
          assert.equal(onWest.dataSource.context, "west");
          assert.equal(onWest.dataSource.server, west.url);
          // Each call asked its own API server only.
          assert.ok(eastReads.east.some((r) => r === "list pods"), eastReads.east.join(", "));
          assert.deepEqual(eastReads.west.filter((r) => !r.startsWith("watch")), []);
          assert.ok(westReads.west.some((r) => r === "list pods"), westReads.west.join(", "));
          assert.deepEqual(westReads.east.filter((r) => !r.startsWith("watch")), []);
          // Each cluster's own cache, of its own objects.
          const westSource = (await real.clusters.get("west")).source;
          const eastSource = (await real.clusters.get("east")).source;
          assert.notEqual(westSource, eastSource);
          assert.equal(
            westSource,
            real.deps.cluster,
            "the default cluster is the source built first",
          );
          for (const s of [westSource, eastSource]) {
            const info = s.snapshotInfo!();
            assert.ok(
              info.watched.includes("pods") && info.watched.includes("services"),
              JSON.stringify(info),
            );
          }
          const svc = async (s: ClusterSource) =>
            (await s.list("services", { namespace: "test" })).map((o) => o.metadata.name).sort();
          assert.deepEqual(await svc(eastSource), ["bb", "podinfo"]);
          assert.deepEqual(await svc(westSource), ["bb-east", "podinfo-east", "podinfo-federated"]);
        },
      );

      await t.step(
        "check_mesh_health on west: the multicluster checks, trust compared with east",
        async () => {
          await Promise.all([audit.west.mark(), audit.east.mark()]);
          const d = await ask("check_mesh_health", {});
          // east's trust roots come from east's API server, while the call is about west
          const eastReads = await audit.east.readsSinceMark();
          log(`check_mesh_health on west read from east: [${eastReads.join(", ")}]`);
          assert.ok(eastReads.includes("list configmaps"), eastReads.join(", "));
          const mc = d.checks.filter((c: Data) => c.category === "linkerd-multicluster");
          log(
            `west multicluster checks: ${mc.map((c: Data) => `${c.status} ${c.name}`).join("; ")}`,
          );
          assert.ok(mc.length >= 5, JSON.stringify(mc));
          const trust = mc.find((c: Data) =>
            /trust anchor/i.test(c.message) && /east/.test(c.message)
          );
          assert.ok(trust, JSON.stringify(mc));
          assert.equal(trust.status, "ok");
          assert.match(trust.message, /same trust anchors as east/);
          // No Prometheus answers here: the gateway probes cannot be read, said as such.
          const probe = mc.find((c: Data) =>
            /gateway/i.test(c.message) && /Prometheus|probe/i.test(c.message)
          );
          assert.ok(probe, JSON.stringify(mc));
          assert.notEqual(probe.status, "error", JSON.stringify(probe));
          // Nothing else fails.
          assert.deepEqual(mc.filter((c: Data) => c.status === "error"), []);
        },
      );

      await t.step("analyze_connectivity west → east: east's policy decides", async () => {
        await audit.east.mark();
        const gw = await ask("analyze_connectivity", {
          ...FRONTEND,
          target_service: "podinfo-east",
        });
        assert.equal(gw.crossCluster.kind, "gateway");
        assert.equal(gw.crossCluster.verdict, "allowed");
        const [m] = gw.crossCluster.members;
        assert.equal(m.targetCluster, "east");
        assert.equal(m.served, true);
        assert.equal(m.mode, "gateway");
        assert.equal(m.remoteService, "test/podinfo");
        assert.equal(
          m.clientIdentity,
          "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local",
        );
        assert.equal(gw.verdict, "allowed");
        assert.deepEqual(gw.ports.map((p: Data) => p.authorization), [
          "authorizationpolicy/podinfo-gateway-only",
        ]);

        const rd = await ask("analyze_connectivity", { ...FRONTEND, target_service: "bb-east" });
        assert.equal(rd.crossCluster.kind, "remote-discovery");
        assert.equal(
          rd.crossCluster.members[0].clientIdentity,
          "frontend.test.serviceaccount.identity.linkerd.cluster.local",
        );
        assert.equal(rd.crossCluster.verdict, "allowed");

        const fed = await ask("analyze_connectivity", {
          ...FRONTEND,
          target_service: "podinfo-federated",
        });
        assert.equal(fed.crossCluster.kind, "federated");
        assert.equal(fed.crossCluster.verdict, "denied");
        const member = fed.crossCluster.members.find((x: Data) => x.targetCluster === "east");
        assert.equal(member.mode, "remote-discovery");
        assert.equal(
          member.clientIdentity,
          "frontend.test.serviceaccount.identity.linkerd.cluster.local",
        );
        assert.equal(member.verdict, "denied");
        assert.match(member.reason, /podinfo-gateway-only/);
        assert.equal(fed.verdict, "denied");
        // east's policy was read from east's API server
        const eastReads = await audit.east.readsSinceMark();
        log(`analyze_connectivity on west read from east: [${eastReads.join(", ")}]`);
        for (const kind of ["servers", "authorizationpolicies", "meshtlsauthentications"]) {
          assert.ok(eastReads.includes(`list ${kind}`), eastReads.join(", "));
        }
      });

      await t.step("the embedded demo's two clusters give the same answers", async () => {
        for (const [name, args] of CALLS) {
          const what = `${name} ${JSON.stringify(args)}`;
          const [onReal, onDemo] = [
            await ok(real.deps, name, args),
            await ok(demo.deps, name, args),
          ];
          answers.push(onReal);
          if (name !== "check_mesh_health") {
            assert.deepEqual(normalized(onReal), normalized(onDemo), `real vs demo: ${what}`);
            continue;
          }
          // The default answer shortens passed checks to fit its budget, by its size: the
          // same checks with the same statuses, then each category in full.
          const outline = (d: Data) =>
            d.checks.map((c: Data) => `${c.category}/${c.name}: ${c.status}`);
          assert.deepEqual(outline(onReal), outline(onDemo), `real vs demo: ${what}`);
          const categories = [...new Set(onReal.checks.map((c: Data) => c.category as string))];
          log(
            `${what}: ${onReal.checks.length} checks in ${categories.length} categories${
              onReal.note ? ` (${onReal.note})` : ""
            }`,
          );
          assert.ok(categories.includes("linkerd-multicluster"), categories.join(", "));
          for (const category of categories) {
            const one = { ...args, category };
            const r: Data = await ok(real.deps, name, one);
            const d: Data = await ok(demo.deps, name, one);
            answers.push(r);
            if (category !== "linkerd-multicluster" || args["cluster"] === "east") {
              assert.deepEqual(
                normalized(r),
                normalized(d),
                `real vs demo: ${name} ${JSON.stringify(one)}`,
              );
              continue;
            }
            // West's gateway probes are read from Prometheus: the demo has its recording,
            // the real servers have none. Every other check is the same.
            const [probeReal, probeDemo] = [r, d].map(gatewayProbeCheck);
            assert.match(probeDemo.message, /gateways alive: east/);
            assert.deepEqual(
              normalized(withoutCheck(r, probeReal)),
              normalized(withoutCheck(d, probeDemo)),
              `real vs demo: ${name} ${JSON.stringify(one)}`,
            );
            // With no Prometheus reachable, the demo says what the real servers say.
            const noProm = gatewayProbeCheck(
              await ok({ ...demo.deps, prom: createPromClient(demo.deps.config) }, name, one),
            );
            assert.equal(probeReal.status, noProm.status);
            assert.equal(probeReal.hint, noProm.hint);
            assert.match(
              probeReal.message,
              /^gateway liveness not checked: Prometheus could not be read/,
            );
            // The real servers' Prometheus client also tries the API server proxy.
            assert.equal(
              probeReal.message.replace(/; the fallback failed too: .*\)$/, ")"),
              noProm.message,
            );
            assert.match(probeReal.hint, /172\.19\.0\.100:4143/);
          }
        }
      });

      await t.step("a different trust root in east is an error on west", async () => {
        // east's trust bundle becomes an unrelated CA (its API server's own): the linked
        // clusters share no root. The change reaches west's check through east's watch.
        await east.must(
          "PATCH",
          "/api/v1/namespaces/linkerd/configmaps/linkerd-identity-trust-roots",
          { data: { "ca-bundle.crt": east.caPem } },
          { contentType: "application/merge-patch+json" },
        );
        let trust: Data;
        for (const deadline = Date.now() + 15_000;;) {
          const d = await ask("check_mesh_health", {});
          trust = d.checks.find((c: Data) =>
            c.category === "linkerd-multicluster" && /trust anchor/i.test(c.message) &&
            /east/.test(c.message)
          );
          if (trust?.status !== "ok" || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        assert.equal(trust.status, "error", JSON.stringify(trust));
        assert.match(trust.message, /east shares no trust anchor with this cluster/);
      });

      await t.step("no credential in any answer", () => {
        const text = JSON.stringify(answers);
        for (const token of [west.users.admin.token, east.users.admin.token]) {
          assert.ok(!text.includes(token), "an admin token reached an answer");
        }
        assert.ok(
          !text.includes("BEGIN CERTIFICATE") && !text.includes(btoa(west.caPem).slice(0, 40)),
        );
      });
    } finally {
      for (const c of toClose) await c.close().catch(() => {});
      await Promise.all([west.close(), east.close()]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      log(`two real API servers: ${(performance.now() - started).toFixed(0)} ms in all`);
    }
  },
});
