import assert from "node:assert/strict";
import {
  classifyMirror,
  mirrorConsistency,
  mirrorCounts,
  parseLink,
  selectorText,
} from "../../src/multicluster/links.ts";
import { compareTrustAnchors } from "../../src/multicluster/trust.ts";
import { anchorPem } from "../mesh/_fixtures.ts";
import { eastLink, eastMirrors } from "./_fixtures.ts";

Deno.test("parseLink reads a gateway Link as link-gen writes it, without its Secret", () => {
  const l = parseLink(eastLink());
  assert.deepEqual(l, {
    name: "east",
    namespace: "linkerd-multicluster",
    targetClusterName: "east",
    mode: "gateway",
    gatewayAddress: "172.18.0.5",
    gatewayPort: "4143",
    gatewayIdentity:
      "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local",
    probe: { path: "/ready", port: "4191", period: "3s", timeout: "30s", failureThreshold: "3" },
    selectors: {
      gateway: "mirror.linkerd.io/exported=true",
      remoteDiscovery: "mirror.linkerd.io/exported=remote-discovery",
      federated: "mirror.linkerd.io/federated=member",
    },
    apiVersion: "multicluster.linkerd.io/v1alpha3",
  });
  assert.ok(!JSON.stringify(l).includes("cluster-credentials"));
});

Deno.test("parseLink: a Link without a gateway is pod-to-pod remote discovery", () => {
  const l = parseLink(eastLink({ gatewayAddress: "", gatewayPort: "", probeSpec: {} }));
  assert.equal(l.mode, "remote-discovery");
  assert.equal(l.gatewayAddress, undefined);
  assert.equal(l.probe, undefined);
});

Deno.test("selectorText prints selectors as kubectl does", () => {
  assert.equal(
    selectorText({
      matchLabels: { a: "b" },
      matchExpressions: [
        { key: "c", operator: "In", values: ["d", "e"] },
        { key: "f", operator: "NotIn", values: ["g"] },
        { key: "h", operator: "Exists" },
        { key: "i", operator: "DoesNotExist" },
      ],
    }),
    "a=b,c in (d,e),f notin (g),h,!i",
  );
  assert.equal(selectorText({}), "");
  assert.equal(selectorText(undefined), undefined);
});

Deno.test("classifyMirror tells gateway, remote-discovery, federated and probe Services apart", () => {
  const kinds = eastMirrors().map((s) => {
    const m = classifyMirror(s)!;
    return [m.name, m.kind, m.cluster ?? null];
  });
  assert.deepEqual(kinds, [
    ["probe-gateway-east", "probe-gateway", "east"],
    ["books-east", "gateway", "east"],
    ["authors-east", "remote-discovery", "east"],
    ["webapp-federated", "federated", null],
  ]);
  const fed = classifyMirror(eastMirrors()[3]!)!;
  assert.deepEqual(fed.members, [{ service: "webapp", cluster: "east" }]);
  assert.equal(fed.localMember, "webapp");
  const plain = { ...eastMirrors()[1]!, metadata: { name: "web", namespace: "x", labels: {} } };
  assert.equal(classifyMirror(plain), undefined);
});

Deno.test("mirrorCounts and mirrorConsistency per Link", () => {
  const mirrors = eastMirrors().map(classifyMirror).filter((m) => m !== undefined);
  assert.deepEqual(mirrorCounts(mirrors, "east"), { gateway: 1, remoteDiscovery: 1, federated: 1 });
  assert.deepEqual(mirrorCounts(mirrors, "west"), { gateway: 0, remoteDiscovery: 0, federated: 0 });
  assert.deepEqual(mirrorConsistency([parseLink(eastLink())], mirrors), {
    orphans: [],
    inconsistent: [],
  });
  const noRd = parseLink(eastLink({ remoteDiscoverySelector: null }));
  assert.deepEqual(mirrorConsistency([noRd], mirrors).inconsistent, [
    "booksapp/authors-east is a remote-discovery mirror but Link linkerd-multicluster/east has no remoteDiscoverySelector",
  ]);
  const all = mirrorConsistency([], mirrors);
  assert.deepEqual(all.orphans, [
    'linkerd-multicluster/probe-gateway-east (cluster "east")',
    'booksapp/books-east (cluster "east")',
    'booksapp/authors-east (cluster "east")',
    "booksapp/webapp-federated (member webapp@east)",
  ]);
});

Deno.test("compareTrustAnchors: same bundle, different roots, and a rotation overlap", () => {
  const a = anchorPem("valid");
  const b = anchorPem("expiring");
  assert.deepEqual(compareTrustAnchors(a, a).same, true);
  const diff = compareTrustAnchors(a, b);
  assert.equal(diff.same, false);
  assert.equal(diff.overlap, false);
  assert.equal(diff.onlyLocal.length, 1);
  assert.equal(diff.onlyRemote.length, 1);
  const rotating = compareTrustAnchors(a, a + "\n" + b);
  assert.equal(rotating.same, false);
  assert.equal(rotating.overlap, true);
  assert.deepEqual(rotating.onlyLocal, []);
  const empty = compareTrustAnchors(a, "not a certificate");
  assert.equal(empty.same, false);
  assert.deepEqual(empty.errors, ["remote: no certificate"]);
});
