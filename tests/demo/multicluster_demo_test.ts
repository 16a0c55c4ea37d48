/**
 * The demo's two clusters are consistent with each other as Linkerd's multicluster
 * extension would make them: west's Link names east's gateway as east serves it, west's
 * mirror Services are exactly those the service mirror derives from east's exported
 * Services and the Link's selectors, both clusters share the trust anchor, and east's
 * podinfo policy admits the gateway's identity (and so not west's clients pod-to-pod).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createClusterSet } from "../../src/clusters/set.ts";
import { loadConfig } from "../../src/config.ts";
import { eastNoPrometheusMessage } from "../../src/demo/cluster_prom.ts";
import {
  createDemoClusters,
  createDemoSource,
  DEMO_CLUSTER_NAMES,
  DEMO_DEFAULT_NOW,
  DEMO_EAST_GATEWAY_ADDRESS,
  type DemoCluster,
  demoObjects,
} from "../../src/demo/mod.ts";
import { NotFoundError } from "../../src/errors.ts";
import { SILENT } from "../../src/log.ts";
import { type LabelSelector, matchesSelector } from "../../src/kube/selectors.ts";
import { loadState } from "../../src/kube/state.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { loadGatewayProbes } from "../../src/mesh/health.ts";
import { readMeshConfig, serviceAccountIdentity } from "../../src/mesh/config.ts";
import { isMeshed, type Pod, podIPs } from "../../src/mesh/pods.ts";
import {
  classifyMirror,
  mirrorConsistency,
  type MirroredService,
  parseLink,
} from "../../src/multicluster/links.ts";
import { compareTrustAnchors } from "../../src/multicluster/trust.ts";
import { clientOfPod } from "../../src/policy/clients.ts";
import { decideClient } from "../../src/policy/evaluate.ts";
import { inboundServer } from "../../src/policy/inbound.ts";
import { loadPolicyIndex } from "../../src/policy/load.ts";
import type { Client } from "../../src/policy/types.ts";
import { runTool } from "../../src/tools/_spec.ts";
import { allTools } from "../../src/tools/mod.ts";
import { GATEWAY_PROBE, PROBE_BUCKETS } from "../support/demo_traffic.ts";
import { cdfAt } from "../support/openmetrics_gen.ts";

const clusters = createDemoClusters();
const [west, east] = clusters as [DemoCluster, DemoCluster];

type Svc = KubeObject & {
  spec: {
    selector?: Record<string, string>;
    ports?: Array<{ name?: string; port: number; protocol?: string; targetPort?: unknown }>;
    type?: string;
  };
};

async function list(c: DemoCluster, key: Parameters<DemoCluster["source"]["list"]>[0]) {
  return await c.source.list(key);
}

async function eastGateway(): Promise<Svc> {
  const gw = await east.source.get("services", "linkerd-gateway", "linkerd-multicluster");
  assert.ok(gw, "east runs the multicluster gateway Service");
  return gw as Svc;
}

async function theLink() {
  const links = await list(west, "links");
  assert.equal(links.length, 1);
  return { object: links[0]!, info: parseLink(links[0]!) };
}

Deno.test("createDemoClusters(): west (the default, createDemoSource()) then east", () => {
  assert.deepEqual(clusters.map((c) => c.name), ["west", "east"]);
  assert.deepEqual([...DEMO_CLUSTER_NAMES], ["west", "east"]);
  for (const c of clusters) assert.equal(c.source.kind, "demo");
  assert.match(east.source.describe(), /^embedded demo mesh, the demo's east cluster \(/);
  assert.match(west.source.describe(), /^embedded demo mesh, west cluster \(/);
  assert.deepEqual(west.source.all(), createDemoSource().all());
  assert.deepEqual(east.source.all(), createDemoSource({ cluster: "east" }).all());
  assert.deepEqual(demoObjects({ cluster: "east" }), demoObjects({ cluster: "east" }));
});

Deno.test("demo clusters: west keeps the mesh it had, east has its own nodes and networks", async () => {
  const westNs = (await list(west, "namespaces")).map((n) => n.metadata.name);
  for (const ns of ["linkerd", "linkerd-viz", "emojivoto", "booksapp"]) {
    assert.ok(westNs.includes(ns), ns);
  }
  const eastNs = (await list(east, "namespaces")).map((n) => n.metadata.name);
  assert.deepEqual(eastNs, ["linkerd", "linkerd-multicluster", "test"]);
  const ips = new Map<string, string>();
  for (const c of clusters) {
    const pods = (await list(c, "pods")) as unknown as Pod[];
    assert.ok(pods.length > 0);
    for (const pod of pods) {
      const name = `${c.name} ${pod.metadata.namespace}/${pod.metadata.name}`;
      assert.equal(pod.status?.phase, "Running", name);
      assert.ok(isMeshed(pod as unknown as KubeObject, "linkerd"), name);
      const [ip] = podIPs(pod);
      assert.match(ip!, c.name === "west" ? /^10\.42\./ : /^10\.52\./, name);
      assert.ok(!ips.has(ip!), `${name}: ${ip} also used by ${ips.get(ip!)}`);
      ips.set(ip!, name);
      const node = (pod.spec as { nodeName?: string }).nodeName!;
      assert.match(node, c.name === "west" ? /^demo-node-\d$/ : /^east-node-\d$/, name);
    }
    const uids = c.source.all().map((o) => o.metadata.uid);
    assert.equal(new Set(uids).size, uids.length, `${c.name}: unique uids`);
  }
  const westUids = new Set(west.source.all().map((o) => o.metadata.uid));
  assert.ok(east.source.all().every((o) => !westUids.has(o.metadata.uid)), "uids differ");
});

Deno.test("demo clusters: the same trust anchor, from the ConfigMaps (no Secrets)", async () => {
  const pems: string[] = [];
  for (const c of clusters) {
    assert.ok(c.source.all().every((o) => o.kind !== "Secret"), c.name);
    const cm = await c.source.get("configmaps", "linkerd-identity-trust-roots", "linkerd");
    const pem = cm?.data?.["ca-bundle.crt"];
    assert.ok(pem?.includes("BEGIN CERTIFICATE"), c.name);
    pems.push(pem!);
  }
  const cmp = compareTrustAnchors(pems[0]!, pems[1]!);
  assert.equal(cmp.same, true, JSON.stringify(cmp));
});

Deno.test("demo west: the Link to east names east's gateway as east serves it", async () => {
  const { info, object } = await theLink();
  const gw = await eastGateway();
  assert.equal(info.targetClusterName, "east");
  assert.equal(info.mode, "gateway");
  assert.equal(object.apiVersion, "multicluster.linkerd.io/v1alpha3");
  // link-gen: the gateway Service's ingress address, its mc-gateway port, its annotations
  const ingress = (gw.status as { loadBalancer?: { ingress?: Array<{ ip?: string }> } })
    ?.loadBalancer?.ingress?.map((i) => i.ip);
  assert.deepEqual(ingress, [DEMO_EAST_GATEWAY_ADDRESS]);
  assert.equal(info.gatewayAddress, DEMO_EAST_GATEWAY_ADDRESS);
  const port = (name: string) => gw.spec.ports?.find((p) => p.name === name)?.port;
  assert.equal(info.gatewayPort, String(port("mc-gateway")));
  const ann = gw.metadata.annotations ?? {};
  assert.equal(info.gatewayIdentity, ann["mirror.linkerd.io/gateway-identity"]);
  assert.equal(info.probe?.path, ann["mirror.linkerd.io/probe-path"]);
  assert.equal(info.probe?.port, String(port("mc-probe")));
  assert.equal(info.probe?.period, `${ann["mirror.linkerd.io/probe-period"]}s`);
  // ... and that identity is the one east's gateway pods have
  const mesh = readMeshConfig(
    await loadState(east.source, ["configmaps"], {
      linkerdNamespace: "linkerd",
    }),
  );
  const gwPods = ((await list(east, "pods")) as unknown as Pod[]).filter((p) =>
    p.metadata.namespace === "linkerd-multicluster" &&
    matchesSelector({ matchLabels: gw.spec.selector }, p.metadata.labels)
  );
  assert.equal(gwPods.length, 1);
  const sa = (gwPods[0]!.spec as { serviceAccountName?: string }).serviceAccountName!;
  assert.equal(info.gatewayIdentity, serviceAccountIdentity(sa, "linkerd-multicluster", mesh));
  assert.equal(
    info.gatewayIdentity,
    "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local",
  );
  assert.deepEqual(info.selectors, {
    gateway: "mirror.linkerd.io/exported=true",
    remoteDiscovery: "mirror.linkerd.io/exported=remote-discovery",
    federated: "mirror.linkerd.io/federated=member",
  });
});

Deno.test("demo west: a running controller for the Link, and its probe Service to east's gateway", async () => {
  const { info } = await theLink();
  const controllers = (await list(west, "deployments")).filter((d) =>
    d.metadata.labels?.["component"] === "controller" &&
    d.metadata.labels?.["mirror.linkerd.io/cluster-name"] === info.targetClusterName
  );
  assert.deepEqual(controllers.map((d) => d.metadata.name), ["controller-east"]);
  const ctl = controllers[0]!;
  const status = ctl.status as { availableReplicas?: number };
  assert.equal(status.availableReplicas, 1);
  const args = (ctl.spec as {
    template: { spec: { containers: Array<{ args?: string[] }> } };
  }).template.spec.containers[0]!.args!;
  assert.equal(args.at(-1), info.name, "the controller mirrors the Link by name");
  const probeSvc = args.find((a) => a.startsWith("-probe-service="))!.split("=")[1]!;
  const probe = await west.source.get("services", probeSvc, "linkerd-multicluster");
  assert.equal(classifyMirror(probe!)?.kind, "probe-gateway");
  assert.equal(classifyMirror(probe!)?.cluster, "east");
  const eps = await west.source.get("endpoints", probeSvc, "linkerd-multicluster");
  assert.deepEqual(eps?.["subsets"], [{
    addresses: [{ ip: info.gatewayAddress }],
    ports: [{ name: "mc-probe", port: Number(info.probe?.port), protocol: "TCP" }],
  }]);
});

Deno.test("demo west: the mirror Services are those the Link's selectors derive from east's exported Services", async () => {
  const { info, object } = await theLink();
  const spec = object.spec as Record<string, LabelSelector>;
  const eastServices = (await list(east, "services")) as Svc[];
  const selects = (sel: LabelSelector | undefined, s: KubeObject) =>
    sel !== undefined && matchesSelector(sel, s.metadata.labels);
  const stripped = (labels: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith("mirror.linkerd.io")));

  // what the service mirror would create (cluster_watcher.go)
  const expected: MirroredService[] = [];
  for (const s of eastServices) {
    const ns = s.metadata.namespace!;
    const name = s.metadata.name;
    if (selects(spec["remoteDiscoverySelector"], s)) {
      expected.push({
        namespace: ns,
        name: `${name}-east`,
        kind: "remote-discovery",
        cluster: "east",
      });
    } else if (selects(spec["selector"], s)) {
      expected.push({ namespace: ns, name: `${name}-east`, kind: "gateway", cluster: "east" });
    }
    if (selects(spec["federatedServiceSelector"], s)) {
      expected.push({
        namespace: ns,
        name: `${name}-federated`,
        kind: "federated",
        members: [{ service: name, cluster: "east" }],
      });
    }
  }
  const westServices = (await list(west, "services")) as Svc[];
  const mirrors = westServices.map(classifyMirror)
    .filter((m): m is MirroredService => m !== undefined && m.kind !== "probe-gateway");
  const key = (m: MirroredService) => `${m.namespace}/${m.name}`;
  // what the classifier reads beyond these (the remote Service's name) is checked below
  const seen = mirrors.map(({ namespace, name, kind, cluster, members }) => ({
    namespace,
    name,
    kind,
    ...(cluster ? { cluster } : {}),
    ...(members ? { members } : {}),
  }));
  assert.deepEqual(
    seen.sort((a, b) => key(a).localeCompare(key(b))),
    expected.sort((a, b) => key(a).localeCompare(key(b))),
  );
  for (const m of mirrors) {
    if (m.remoteService !== undefined) assert.equal(m.remoteService, m.name.replace(/-east$/, ""));
  }
  assert.deepEqual(
    new Set(mirrors.map((m) => m.kind)),
    new Set(["gateway", "remote-discovery", "federated"]),
  );
  assert.deepEqual(mirrorConsistency([info], mirrors), { orphans: [], inconsistent: [] });

  for (const m of mirrors) {
    const mirror = westServices.find((s) =>
      s.metadata.namespace === m.namespace && s.metadata.name === m.name
    )!;
    const remoteName = m.kind === "federated"
      ? m.members![0]!.service
      : m.name.replace(/-east$/, "");
    const remote = eastServices.find((s) =>
      s.metadata.namespace === m.namespace && s.metadata.name === remoteName
    )!;
    // no selector: the mirror owns the Endpoints; the same ports; the remote's labels copied
    assert.equal(mirror.spec.selector, undefined, key(m));
    assert.deepEqual(
      mirror.spec.ports?.map((p) => [p.name, p.port, p.protocol, p.targetPort]),
      remote.spec.ports?.map((p) => [p.name, p.port, p.protocol, p.targetPort]),
      key(m),
    );
    const { ["mirror.linkerd.io/mirrored-service"]: flag, ...own } = stripped(
      mirror.metadata.labels,
    );
    assert.equal(flag, undefined);
    const extra = Object.fromEntries(
      Object.entries(own).filter(([k]) => !k.startsWith("multicluster.linkerd.io/")),
    );
    assert.deepEqual(extra, stripped(remote.metadata.labels), key(m));
    assert.equal(mirror.metadata.labels?.["mirror.linkerd.io/mirrored-service"], "true");
    const ann = mirror.metadata.annotations ?? {};
    if (m.kind !== "federated") {
      assert.equal(
        ann["mirror.linkerd.io/remote-svc-fq-name"],
        `${remoteName}.${m.namespace}.svc.cluster.local`,
      );
      assert.equal(
        ann["mirror.linkerd.io/remote-resource-version"],
        remote.metadata.resourceVersion,
      );
    }
    if (m.kind === "remote-discovery") {
      assert.equal(mirror.metadata.labels?.["multicluster.linkerd.io/remote-service"], remoteName);
    }
    // gateway mirrors send to east's gateway; pod-to-pod and federated ones have no Endpoints
    const eps = await west.source.get("endpoints", m.name, m.namespace);
    if (m.kind === "gateway") {
      assert.equal(
        eps?.metadata.annotations?.["mirror.linkerd.io/remote-gateway-identity"],
        info.gatewayIdentity,
      );
      assert.deepEqual(eps?.["subsets"], [{
        addresses: [{ ip: info.gatewayAddress }],
        ports: remote.spec.ports!.map((p) => ({
          name: p.name,
          port: Number(info.gatewayPort),
          protocol: p.protocol ?? "TCP",
        })),
      }]);
    } else assert.equal(eps, undefined, key(m));
    // the exported Service runs: its Endpoints in east have ready addresses
    const remoteEps = await east.source.get("endpoints", remoteName, m.namespace);
    const addresses = (remoteEps?.["subsets"] as Array<{ addresses?: unknown[] }> | undefined)
      ?.flatMap((s) => s.addresses ?? []) ?? [];
    assert.ok(addresses.length > 0, `${remoteName} has endpoints in east`);
  }
  // one Service both exported through the gateway and a federated member, as upstream allows
  assert.ok(expected.some((m) => m.name === "podinfo-east" && m.kind === "gateway"));
  assert.ok(expected.some((m) => m.name === "podinfo-federated"));
});

Deno.test("demo east: podinfo admits only the gateway's identity (west's frontend is denied pod-to-pod)", async () => {
  const { info } = await theLink();
  const config = loadConfig({});
  const { idx } = await loadPolicyIndex({ cluster: east.source, config }, {});
  const eastPods = (await list(east, "pods")) as unknown as Pod[];
  const podinfo = eastPods.find((p) => p.metadata.labels?.["app"] === "podinfo")!;
  const bb = eastPods.find((p) => p.metadata.labels?.["app"] === "bb")!;
  const gatewayPod = eastPods.find((p) =>
    p.metadata.namespace === "linkerd-multicluster" &&
    p.metadata.labels?.["app"] === "linkerd-gateway"
  )!;
  // the policy: one MeshTLSAuthentication, naming exactly the Link's gateway identity
  const authns = await east.source.list("meshtlsauthentications", { namespace: "test" });
  assert.deepEqual(
    authns.map((a) => (a.spec as { identities?: string[] }).identities),
    [[info.gatewayIdentity]],
  );
  const gateway = clientOfPod(idx, gatewayPod);
  assert.equal(gateway.identity, info.gatewayIdentity);
  const frontendPod = ((await list(west, "pods")) as unknown as Pod[])
    .find((p) => p.metadata.namespace === "test" && p.metadata.labels?.["app"] === "frontend")!;
  const frontend: Client = {
    pods: [`test/${frontendPod.metadata.name}`],
    namespace: "test",
    serviceAccount: "frontend",
    meshed: true,
    identity: "frontend.test.serviceaccount.identity.linkerd.cluster.local",
    ips: podIPs(frontendPod),
  };
  const decide = (pod: Pod, port: number, client: Client) =>
    decideClient(inboundServer(idx, { pod, port }), client, {
      clusterNetworks: idx.clusterNetworks,
    }).decision;
  assert.equal(decide(podinfo, 9898, gateway), "allowed", "gateway mode: the gateway's identity");
  assert.equal(decide(podinfo, 9898, frontend), "denied", "federated, pod-to-pod: frontend's");
  // bb, exported pod-to-pod, has no Server: the default policy lets frontend in
  assert.equal(decide(bb, 8080, frontend), "allowed");
});

Deno.test("demo Prometheus: west records the gateway probes of the Link, east has none", async () => {
  const probes = await loadGatewayProbes(west.prom(DEMO_DEFAULT_NOW));
  assert.equal(probes.available, true);
  if (!probes.available) return;
  assert.deepEqual(probes.alive, { east: 1 });
  // histogram_quantile over the service mirror's buckets, from the generator's truth
  let prevB = 0, prevF = 0, p95 = NaN;
  for (const b of PROBE_BUCKETS) {
    const f = cdfAt(GATEWAY_PROBE.cdf, b);
    if (f >= 0.95) {
      p95 = prevB + ((0.95 - prevF) / (f - prevF)) * (b - prevB);
      break;
    }
    [prevB, prevF] = [b, f];
  }
  assert.ok(
    Math.abs(probes.latencyP95Ms["east"]! - p95) < 0.01,
    `${probes.latencyP95Ms["east"]} vs ${p95}`,
  );
  // the series are the controller's, scraped on its admin port
  const ctl = ((await list(west, "pods")) as unknown as Pod[]).find((p) =>
    p.metadata.name.startsWith("controller-east-")
  )!;
  assert.equal(GATEWAY_PROBE.instance, `${podIPs(ctl)[0]}:9999`);

  const none = east.prom();
  await assert.rejects(() => none.query("up"), (err: Error) => {
    assert.ok(err instanceof NotFoundError);
    assert.equal(err.message, eastNoPrometheusMessage("up"));
    assert.match(err.message, /east cluster has no Prometheus/);
    return true;
  });
  await assert.rejects(
    () => none.queryRange("up", { start: new Date(0), end: new Date(60_000), stepSeconds: 60 }),
    NotFoundError,
  );
  const eastProbes = await loadGatewayProbes(none);
  assert.equal(eastProbes.available, false);
});

Deno.test("demo clusters: analyze_connectivity from west's frontend teaches gateway vs pod-to-pod identities", async () => {
  const now = DEMO_DEFAULT_NOW;
  const config = loadConfig({});
  const set = createClusterSet(clusters.map((c) => ({
    name: c.name,
    build: () =>
      Promise.resolve({
        name: c.name,
        linkName: c.name,
        source: c.source,
        prom: c.prom(now),
        config,
      }),
  })));
  const spec = allTools().find((t) => t.name === "analyze_connectivity")!;
  const ask = async (target: string) => {
    const out = await runTool(spec, {
      "source_namespace": "test",
      "source_workload": "deployment/frontend",
      "target_service": target,
    }, {
      cluster: west.source,
      config,
      prom: west.prom(now),
      log: SILENT,
      now: () => now,
      clusters: set,
      clusterName: "west",
    });
    assert.ok(out.ok, target);
    return (out as { data: ConnectivityAnswer }).data;
  };
  const gatewayId =
    "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local";
  const frontendId = "frontend.test.serviceaccount.identity.linkerd.cluster.local";
  const cases: Array<[string, string, string, string]> = [
    ["podinfo-east", "gateway", gatewayId, "allowed"],
    ["podinfo-federated", "remote-discovery", frontendId, "denied"],
    ["bb-east", "remote-discovery", frontendId, "allowed"],
  ];
  for (const [target, mode, identity, verdict] of cases) {
    const a = await ask(target);
    assert.equal(a.verdict, verdict, target);
    const [member, ...more] = a.crossCluster?.members ?? [];
    assert.equal(more.length, 0, target);
    assert.equal(member?.targetCluster, "east", target);
    assert.equal(member?.served, true, target);
    assert.equal(member?.mode, mode, target);
    assert.equal(member?.clientIdentity, identity, target);
    assert.equal(member?.verdict, verdict, target);
  }
});

interface ConnectivityAnswer {
  verdict: string;
  crossCluster?: {
    members: Array<
      {
        targetCluster: string;
        served: boolean;
        mode: string;
        clientIdentity: string | null;
        verdict: string;
      }
    >;
  };
}
