import assert from "node:assert/strict";
import { stringify } from "yaml";
import { z } from "zod";
import { createClusterSet } from "../../src/clusters/set.ts";
import { loadConfig } from "../../src/config.ts";
import { loadManifests } from "../../src/kube/manifests.ts";
import { SILENT } from "../../src/log.ts";
import { NO_PROMETHEUS } from "../_helpers.ts";
import { policyTools } from "../../src/tools/policy.ts";
import { DATA_SOURCE_SHAPE, runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { planMirror } from "../../src/multicluster/connectivity.ts";
import { parseLink } from "../../src/multicluster/links.ts";
import { eastLink } from "./_fixtures.ts";
import {
  type Admits,
  eastCluster,
  GATEWAY_ID,
  GATEWAY_IP,
  manifestSets,
  policyFor,
  TRAFFIC_ID,
  TRAFFIC_IP,
  twoClusterDeps,
  westCluster,
} from "./_two_clusters.ts";

const spec = policyTools().find((t) => t.name === "analyze_connectivity")!;

// deno-lint-ignore no-explicit-any
type Data = any;

async function analyze(deps: ToolDeps, target: string, extra: object = {}): Promise<Data> {
  const outcome = await runTool(spec, {
    source_namespace: "booksapp",
    source_workload: "deployment/traffic",
    target_service: target,
    ...extra,
  }, deps);
  assert.ok(outcome.ok, !outcome.ok ? outcome.error : "");
  z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE) }).strict()
    .parse(outcome.data);
  const text = JSON.stringify(outcome.data);
  assert.ok(text.length < 8192, `answer is ${text.length} bytes`);
  return outcome.data;
}

Deno.test("gateway mirror: east's policy admits the gateway's identity, so traffic reaches books", async () => {
  const deps = twoClusterDeps(westCluster(), eastCluster({ books: { identities: [GATEWAY_ID] } }));
  const r = await analyze(deps, "books-east");
  const cc = r.crossCluster;
  assert.equal(cc.kind, "gateway");
  assert.equal(cc.mirror, "booksapp/books-east");
  assert.equal(cc.members.length, 1);
  const m = cc.members[0];
  assert.equal(m.targetCluster, "east");
  assert.equal(m.served, true);
  assert.equal(m.mode, "gateway");
  assert.equal(m.remoteService, "booksapp/books");
  assert.equal(m.clientIdentity, GATEWAY_ID);
  assert.deepEqual(m.clientIps, [GATEWAY_IP]);
  assert.equal(m.gateway.address, "172.18.0.5");
  assert.equal(m.gateway.port, 4143);
  // the upstream gateway policy (any-meshed + 0.0.0.0/0) admits the source's identity
  assert.equal(m.gateway.verdict, "allowed");
  assert.deepEqual(m.remoteTargets, [{ workload: "deployment/books", pods: 2, meshedPods: 2 }]);
  assert.equal(m.verdict, "allowed");
  assert.deepEqual(m.ports, [{
    port: 7002,
    name: "http",
    decision: "allowed",
    server: "server/books",
  }]);
  assert.equal(cc.verdict, "allowed");
  assert.equal(r.verdict, "allowed");
  assert.equal(r.allowed, true);
  assert.equal(r.source.service, "deployment/traffic");
  assert.deepEqual(r.source.identities, [TRAFFIC_ID]);
  assert.equal(r.ports[0].authorization, "authorizationpolicy/books");
  assert.ok(r.policies.includes("AuthorizationPolicy/books"), r.policies.join(","));
  assert.equal(r.dataSource.cluster, "west");
});

Deno.test("gateway mirror: a policy that admits only the source's identity denies it (east sees the gateway)", async () => {
  const deps = twoClusterDeps(westCluster(), eastCluster({ books: { identities: [TRAFFIC_ID] } }));
  const r = await analyze(deps, "books-east");
  const m = r.crossCluster.members[0];
  assert.equal(m.clientIdentity, GATEWAY_ID);
  assert.equal(m.verdict, "denied");
  assert.equal(r.crossCluster.verdict, "denied");
  assert.equal(r.verdict, "denied");
  assert.equal(r.allowed, false);
  assert.match(r.ports[0].reason, new RegExp(GATEWAY_ID.replaceAll(".", "\\.")));
  assert.match(r.explanation, /gateway's identity, not the source's/);
  // the suggestion is for east's policy, and names the gateway's identity
  assert.match(r.ports[0].suggestion ?? "", /linkerd-gateway\.linkerd-multicluster/);
});

Deno.test("gateway mirror: network authorization sees the gateway pod's IP, not the source's", async () => {
  const allowGw = twoClusterDeps(
    westCluster(),
    eastCluster({ books: { networks: [`${GATEWAY_IP}/32`] } }),
  );
  assert.equal((await analyze(allowGw, "books-east")).crossCluster.verdict, "allowed");
  const allowSrc = twoClusterDeps(
    westCluster(),
    eastCluster({ books: { networks: [`${TRAFFIC_IP}/32`] } }),
  );
  assert.equal((await analyze(allowSrc, "books-east")).crossCluster.verdict, "denied");
});

Deno.test("pod-to-pod mirror: east's policy sees the source's own identity and pod IP", async () => {
  const onlySource = twoClusterDeps(
    westCluster(),
    eastCluster({ authors: { identities: [TRAFFIC_ID] } }),
  );
  const r = await analyze(onlySource, "authors-east");
  const m = r.crossCluster.members[0];
  assert.equal(r.crossCluster.kind, "remote-discovery");
  assert.equal(m.mode, "remote-discovery");
  assert.equal(m.remoteService, "booksapp/authors");
  assert.equal(m.clientIdentity, TRAFFIC_ID);
  assert.deepEqual(m.clientIps, [TRAFFIC_IP]);
  assert.equal(m.gateway, undefined);
  assert.equal(m.verdict, "allowed");
  assert.equal(r.verdict, "allowed");

  const onlyGateway = twoClusterDeps(
    westCluster(),
    eastCluster({ authors: { identities: [GATEWAY_ID] } }),
  );
  const d = await analyze(onlyGateway, "authors-east");
  assert.equal(d.crossCluster.members[0].verdict, "denied");
  assert.equal(d.verdict, "denied");

  const bySourceIp = twoClusterDeps(
    westCluster(),
    eastCluster({ authors: { networks: [`${TRAFFIC_IP}/32`] } }),
  );
  assert.equal((await analyze(bySourceIp, "authors-east")).verdict, "allowed");
});

Deno.test("federated Service: one verdict per member, in east and in west, combined", async () => {
  const deps = twoClusterDeps(
    westCluster({ webapp: { identities: [TRAFFIC_ID] } }),
    eastCluster({
      webapp: {
        identities: ["someone-else.booksapp.serviceaccount.identity.linkerd.cluster.local"],
      },
    }),
  );
  const r = await analyze(deps, "webapp-federated");
  const cc = r.crossCluster;
  assert.equal(cc.kind, "federated");
  const byCluster = Object.fromEntries(cc.members.map((m: Data) => [m.targetCluster, m]));
  assert.deepEqual(Object.keys(byCluster).sort(), ["east", "west"]);
  assert.equal(byCluster.east.mode, "remote-discovery");
  assert.equal(byCluster.east.clientIdentity, TRAFFIC_ID);
  assert.equal(byCluster.east.verdict, "denied");
  assert.equal(byCluster.west.mode, "local");
  assert.equal(byCluster.west.remoteService, "booksapp/webapp");
  assert.equal(byCluster.west.verdict, "allowed");
  assert.equal(cc.verdict, "partial");
  assert.equal(r.verdict, "partial");

  const both = twoClusterDeps(
    westCluster({ webapp: { identities: [TRAFFIC_ID] } }),
    eastCluster({ webapp: { identities: [TRAFFIC_ID] } }),
  );
  assert.equal((await analyze(both, "webapp-federated")).crossCluster.verdict, "allowed");
});

Deno.test("a cluster this server does not serve: path and identity, verdict unknown, how to fix", async () => {
  const deps = twoClusterDeps(westCluster(), null);
  const r = await analyze(deps, "books-east");
  const m = r.crossCluster.members[0];
  assert.equal(m.served, false);
  assert.equal(m.mode, "gateway");
  assert.equal(m.clientIdentity, GATEWAY_ID);
  assert.equal(m.verdict, "unknown");
  assert.match(m.reason, /does not serve cluster "east"/);
  assert.match(m.reason, /--manifests east=PATH/);
  assert.equal(r.crossCluster.verdict, "unknown");
  assert.equal(r.verdict, "undetermined");
  assert.equal(r.allowed, false);

  const p2p = await analyze(deps, "authors-east");
  assert.equal(p2p.crossCluster.members[0].clientIdentity, TRAFFIC_ID);
  assert.equal(p2p.crossCluster.members[0].verdict, "unknown");
});

Deno.test("a mirror of a cluster no Link targets (orphan) is not evaluated, and says why", async () => {
  const orphan: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "books-north",
      namespace: "booksapp",
      labels: {
        "mirror.linkerd.io/mirrored-service": "true",
        "mirror.linkerd.io/cluster-name": "north",
      },
      annotations: { "mirror.linkerd.io/remote-svc-fq-name": "books.booksapp.svc.cluster.local" },
    },
    spec: { ports: [{ name: "http", port: 7002 }] },
  };
  const deps = twoClusterDeps(
    westCluster({ extra: [orphan] }),
    eastCluster({ books: { identities: [GATEWAY_ID] } }),
  );
  const r = await analyze(deps, "books-north");
  const m = r.crossCluster.members[0];
  assert.equal(m.targetCluster, "north");
  assert.equal(m.remoteService, "booksapp/books");
  assert.equal(m.verdict, "unknown");
  assert.match(m.reason, /no Link in this cluster targets "north"/);
  assert.equal(r.verdict, "undetermined");
});

Deno.test("an unmeshed source cannot use a gateway mirror: the gateway requires an identity", async () => {
  const west = westCluster().map((o) => {
    if (o.kind !== "Pod" || !o.metadata.name.startsWith("traffic")) return o;
    const labels = { ...o.metadata.labels };
    delete labels["linkerd.io/control-plane-ns"];
    return { ...o, metadata: { ...o.metadata, labels } };
  });
  const deps = twoClusterDeps(west, eastCluster({ books: { identities: [GATEWAY_ID] } }));
  const r = await analyze(deps, "books-east");
  assert.equal(r.crossCluster.members[0].verdict, "denied");
  assert.match(r.crossCluster.members[0].reason, /no Linkerd proxy/);
});

Deno.test("an ordinary Service gets no crossCluster field", async () => {
  const deps = twoClusterDeps(westCluster(), eastCluster());
  const r = await analyze(deps, "webapp");
  assert.equal(r.crossCluster, undefined);
  assert.equal(r.target.service, "webapp");
});

Deno.test("gateway mirror: the gateway's own policy must admit the source before east's target sees the gateway", async () => {
  const east = eastCluster({ books: { identities: [GATEWAY_ID] } }).map((o) =>
    o.kind === "MeshTLSAuthentication" && o.metadata.name === "any-meshed"
      ? { ...o, spec: { identities: ["*.other-ns.serviceaccount.identity.linkerd.cluster.local"] } }
      : o
  );
  const r = await analyze(twoClusterDeps(westCluster(), east), "books-east");
  const m = r.crossCluster.members[0];
  assert.equal(m.gateway.verdict, "denied");
  assert.match(m.gateway.reason, /any-meshed|linkerd-gateway/);
  // books itself admits the gateway, but the call never gets past it
  assert.equal(m.ports[0].decision, "allowed");
  assert.equal(m.verdict, "denied");
  assert.equal(r.verdict, "denied");
});

Deno.test("gateway mirror without a gateway pod in east: the Link's identity, no client IP", async () => {
  const deps = twoClusterDeps(
    westCluster(),
    eastCluster({ books: { identities: [GATEWAY_ID] }, noGatewayPod: true }),
  );
  const m = (await analyze(deps, "books-east")).crossCluster.members[0];
  assert.equal(m.clientIdentity, GATEWAY_ID);
  assert.equal(m.clientIps, undefined);
  assert.equal(m.verdict, "allowed");
  assert.match(m.reason, /no meshed gateway pod/);
});

Deno.test("planMirror: remote Service from the FQ-name annotation, the remote-service label, or the name", () => {
  const link = parseLink(eastLink());
  const svc = (name: string, labels: Record<string, string>, annotations = {}): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "shop", labels, annotations },
  });
  const mirrored = { "mirror.linkerd.io/mirrored-service": "true" };
  const east = { ...mirrored, "mirror.linkerd.io/cluster-name": "east" };
  const fq = planMirror(
    svc("cart-east", east, {
      "mirror.linkerd.io/remote-svc-fq-name": "basket.shop.svc.east.local",
    }),
    [link],
  )!;
  assert.deepEqual(fq.members[0]!.remote, { namespace: "shop", service: "basket" });
  assert.equal(fq.members[0]!.mode, "gateway");
  assert.equal(fq.members[0]!.link?.targetClusterName, "east");
  const label = planMirror(
    svc("cart-east", {
      ...east,
      "multicluster.linkerd.io/remote-discovery": "east",
      "multicluster.linkerd.io/remote-service": "trolley",
    }),
    [link],
  )!;
  assert.equal(label.kind, "remote-discovery");
  assert.deepEqual(label.members[0]!.remote, { namespace: "shop", service: "trolley" });
  assert.deepEqual(planMirror(svc("cart-east", east), [link])!.members[0]!.remote, {
    namespace: "shop",
    service: "cart",
  });
  const fed = planMirror(
    svc("cart-federated", mirrored, {
      "multicluster.linkerd.io/remote-discovery": "cart@east,cart@north",
      "multicluster.linkerd.io/local-discovery": "cart",
    }),
    [link],
    "west",
  )!;
  assert.deepEqual(
    fed.members.map((m) => [m.cluster, m.mode, m.remote.service, m.problem !== undefined]),
    [["east", "remote-discovery", "cart", false], ["north", "remote-discovery", "cart", true], [
      "west",
      "local",
      "cart",
      false,
    ]],
  );
  assert.equal(planMirror(svc("cart", {}), [link]), undefined);
  assert.equal(
    planMirror(
      svc("probe-gateway-east", { "mirror.linkerd.io/mirrored-gateway": "true", ...east }),
      [link],
    ),
    undefined,
  );
});

Deno.test("gateway mirror: a Link whose gatewayIdentity differs from the gateway pods' identity is flagged", async () => {
  const other = "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.east.example";
  const west = westCluster({ links: [eastLink({ gatewayIdentity: other })] });
  const deps = twoClusterDeps(west, eastCluster({ books: { identities: [GATEWAY_ID] } }));
  const m = (await analyze(deps, "books-east")).crossCluster.members[0];
  // east's policy sees the gateway's real identity (its ServiceAccount in east's trust domain)
  assert.equal(m.clientIdentity, GATEWAY_ID);
  assert.equal(m.gateway.identity, other);
  assert.match(m.reason, /would refuse the gateway's certificate/);
});

Deno.test("a mirror whose Service is gone from east is stale: unknown, and says so", async () => {
  const east = eastCluster().filter((o) => !(o.kind === "Service" && o.metadata.name === "books"));
  const r = await analyze(twoClusterDeps(westCluster(), east), "books-east");
  const m = r.crossCluster.members[0];
  assert.equal(m.served, true);
  assert.equal(m.verdict, "unknown");
  assert.match(m.reason, /"east" has no Service booksapp\/books/);
  assert.equal(r.verdict, "undetermined");
});

Deno.test("two manifest sets: identities decide across clusters, networks are undetermined without pod IPs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = async (name: string, objects: KubeObject[]) => {
      const path = `${dir}/${name}.yaml`;
      await Deno.writeTextFile(path, objects.map((o) => stringify(o)).join("---\n"));
      return path;
    };
    const sets = manifestSets();
    const cp = await write("control-plane", sets.controlPlane);
    const westPath = await write("west", sets.west);
    const eastPath = await write("east", sets.east);
    const config = loadConfig({});
    const handle = async (name: string, paths: string[]) => ({
      name,
      linkName: name,
      source: await loadManifests(paths),
      prom: NO_PROMETHEUS,
      config,
    });
    const west = await handle("west", [cp, westPath]);
    const depsFor = async (books: Admits, tag: string): Promise<ToolDeps> => {
      const policy = await write(`policy-${tag}`, policyFor("booksapp", "books", 7002, books));
      return {
        cluster: west.source,
        config,
        prom: NO_PROMETHEUS,
        log: SILENT,
        now: () => new Date(),
        clusters: createClusterSet([
          { name: "west", build: () => Promise.resolve(west) },
          { name: "east", build: () => handle("east", [cp, eastPath, policy]) },
        ]),
      };
    };
    const allowed = await analyze(await depsFor({ identities: [GATEWAY_ID] }, "a"), "books-east");
    assert.equal(allowed.crossCluster.members[0].clientIdentity, GATEWAY_ID);
    assert.equal(allowed.crossCluster.members[0].clientIps, undefined);
    assert.equal(allowed.crossCluster.members[0].gateway.verdict, "allowed");
    assert.equal(allowed.verdict, "allowed");
    const denied = await analyze(await depsFor({ identities: [TRAFFIC_ID] }, "d"), "books-east");
    assert.equal(denied.verdict, "denied");
    const byIp = await analyze(
      await depsFor({ networks: [`${GATEWAY_IP}/32`] }, "n"),
      "books-east",
    );
    assert.equal(byIp.verdict, "undetermined");
    assert.match(byIp.ports[0].reason, /IPs/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
