import assert from "node:assert/strict";
import { readMeshConfig } from "../mesh/config.ts";
import { stateFromObjects } from "../kube/state.ts";
import { clusterNetworkMatches, defaultAuthzs, matchAuthz, parseIdentities } from "./authz.ts";
import type { Authz, Client } from "./types.ts";

const mesh = readMeshConfig(stateFromObjects([], { source: "t", linkerdNamespace: "linkerd" }));
const clusterNetworks = clusterNetworkMatches(mesh);
const client = (c: Partial<Client>): Client => ({
  pods: ["ns/p"],
  namespace: "ns",
  serviceAccount: "web",
  meshed: true,
  identity: "web.ns.serviceaccount.identity.linkerd.cluster.local",
  ips: [],
  ...c,
});
const tls = (ids: string[]): Authz => ({
  kind: "authorizationpolicy",
  name: "x",
  namespace: "ns",
  authentication: { type: "tls", ...parseIdentities(ids) },
  networks: defaultAuthzs("all-unauthenticated", { namespace: "ns", clusterNetworks })[0]!.networks,
  objects: [],
});

Deno.test("parseIdentities() parses '*', '*.suffix' and exact names (parse_star)", () => {
  assert.deepEqual(parseIdentities(["*", "*.ns.sa", "a.b", "**.x", "foo.*.x"]), {
    identities: ["a.b", "**.x", "foo.*.x"],
    suffixes: ["", "ns.sa"],
  });
});

Deno.test("matchAuthz() matches exact, suffix and any identity, never an unmeshed client", () => {
  assert.equal(
    matchAuthz(tls(["web.ns.serviceaccount.identity.linkerd.cluster.local"]), client({}), {
      clusterNetworks,
    }),
    "yes",
  );
  assert.equal(
    matchAuthz(tls(["*.ns.serviceaccount.identity.linkerd.cluster.local"]), client({}), {
      clusterNetworks,
    }),
    "yes",
  );
  assert.equal(
    matchAuthz(tls(["*.other.serviceaccount.identity.linkerd.cluster.local"]), client({}), {
      clusterNetworks,
    }),
    "no",
  );
  assert.equal(matchAuthz(tls(["*"]), client({}), { clusterNetworks }), "yes");
  assert.equal(matchAuthz(tls(["*"]), client({ meshed: false }), { clusterNetworks }), "no");
});

Deno.test("defaultAuthzs() gives no authorization for deny and cluster networks for cluster-*", () => {
  assert.deepEqual(defaultAuthzs("deny", { namespace: "ns", clusterNetworks }), []);
  const [c] = defaultAuthzs("cluster-unauthenticated", { namespace: "ns", clusterNetworks });
  assert.equal(c!.networks.length, mesh.clusterNetworks.length);
  assert.equal(
    matchAuthz(c!, client({ meshed: false, ips: ["8.8.8.8"] }), { clusterNetworks }),
    "no",
  );
  assert.equal(
    matchAuthz(c!, client({ meshed: false, ips: ["10.2.3.4"] }), { clusterNetworks }),
    "yes",
  );
  assert.equal(matchAuthz(c!, client({ meshed: false }), { clusterNetworks }), "yes");
});
