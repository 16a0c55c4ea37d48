/** LINKERD_MCP_CONFIG: per-cluster settings, never credentials, read with bounds. */
import assert from "node:assert/strict";
import { readClustersFile } from "../../src/cli/clusters.ts";
import { configFor, parseClustersFile } from "../../src/clusters/config_file.ts";
import { loadConfig } from "../../src/config.ts";

Deno.test("LINKERD_MCP_CONFIG: settings per cluster are read from YAML or JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const yaml = `${dir}/clusters.yaml`;
    await Deno.writeTextFile(
      yaml,
      `clusters:
  kind-east:
    linkName: east
    prometheusUrl: http://prom.east:9090/
    vizNamespace: viz
    clusterNetworks: [10.52.0.0/16]
  kind-west: null
`,
    );
    const file = await readClustersFile(yaml);
    assert.deepEqual(file.clusters, {
      "kind-east": {
        linkName: "east",
        prometheusUrl: "http://prom.east:9090",
        vizNamespace: "viz",
        clusterNetworks: ["10.52.0.0/16"],
      },
      "kind-west": {},
    });
    const json = `${dir}/clusters.json`;
    await Deno.writeTextFile(json, JSON.stringify({ clusters: { a: { linkName: "a" } } }));
    assert.deepEqual((await readClustersFile(json)).clusters, { a: { linkName: "a" } });
    await assert.rejects(
      readClustersFile(`${dir}/missing.yaml`),
      /cannot be read \(no such file\)/,
    );
    await assert.rejects(readClustersFile(dir), /is not a regular file/);
    await Deno.writeTextFile(`${dir}/big.yaml`, "#".repeat(1024 * 1024 + 1));
    await assert.rejects(readClustersFile(`${dir}/big.yaml`), /larger than 1 MiB/);
    await Deno.writeTextFile(`${dir}/bad.yaml`, "clusters: [\n");
    await assert.rejects(readClustersFile(`${dir}/bad.yaml`), /not valid YAML or JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LINKERD_MCP_CONFIG refuses credentials and says why, without echoing them", () => {
  const where = "test.yaml";
  for (const key of ["prometheusToken", "password", "bearerToken", "clientKey", "secretName"]) {
    assert.throws(
      () => parseClustersFile({ clusters: { east: { [key]: "s3cr3t" } } }, where),
      (err: Error) =>
        /credentials do not belong in this file/.test(err.message) &&
        !err.message.includes("s3cr3t"),
      key,
    );
  }
  assert.throws(
    () =>
      parseClustersFile(
        { clusters: { east: { prometheusUrl: "https://u:s3cr3t@p:9090" } } },
        where,
      ),
    (err: Error) => /carries credentials/.test(err.message) && !err.message.includes("s3cr3t"),
  );
  assert.throws(
    () => parseClustersFile({ clusters: { east: { prometheusURL: "http://p" } } }, where),
    /unknown setting \(known: linkName, prometheusUrl/,
  );
  assert.throws(() => parseClustersFile({ clusters: [] }, where), /must be a mapping/);
  assert.throws(() => parseClustersFile({ cluster: {} }, where), /unknown key "cluster"/);
  assert.throws(
    () => parseClustersFile({ clusters: { e: { defaultInboundPolicy: "allow" } } }, where),
    /must be one of all-unauthenticated/,
  );
  assert.throws(
    () => parseClustersFile({ clusters: { e: { clusterNetworks: ["ten"] } } }, where),
    /list of CIDRs/,
  );
});

Deno.test("configFor: another cluster never inherits the default cluster's Prometheus or its credentials", () => {
  const base = loadConfig({
    LINKERD_PROMETHEUS_URL: "http://127.0.0.1:9090",
    LINKERD_PROMETHEUS_TOKEN: "tok",
    LINKERD_CLUSTER_NETWORKS: "10.42.0.0/16",
    LINKERD_VIZ_NAMESPACE: "viz",
  });
  const def = configFor(base, undefined, { isDefault: true });
  assert.equal(def.prometheus.bearerToken, "tok");
  assert.deepEqual(def.clusterNetworks, ["10.42.0.0/16"]);

  const other = configFor(base, undefined, { isDefault: false });
  assert.equal(other.prometheus.url, "http://prometheus.linkerd-viz.svc.cluster.local:9090");
  assert.equal(other.prometheus.bearerToken, undefined);
  assert.equal(other.clusterNetworks, undefined, "read from its own linkerd-config");
  assert.equal(other.vizNamespace, "viz");

  const own = configFor(base, { prometheusUrl: "http://prom.east:9090" }, { isDefault: false });
  assert.equal(own.prometheus.url, "http://prom.east:9090");
  assert.equal(own.prometheus.bearerToken, undefined, "credentials go only where they were given");
  const same = configFor(base, { prometheusUrl: "http://127.0.0.1:9090" }, { isDefault: false });
  assert.equal(same.prometheus.bearerToken, "tok", "the same Prometheus keeps its credentials");
});
