/**
 * The emojivoto and booksapp policy examples from Linkerd's docs give the verdicts the
 * docs describe.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  allowedSources,
  allowedTargets,
  analyzeAccess,
  inboundServer,
} from "../../src/policy/mod.ts";
import type { Pod } from "../../src/mesh/pods.ts";
import { upstreamFixture } from "../_helpers.ts";
import { indexOf, podsFromWorkloads, yaml } from "./_mesh.ts";

function emojivoto(policy: string) {
  return indexOf(
    podsFromWorkloads([...yaml(upstreamFixture("demo-apps/emojivoto.yml")), ...yaml(policy)], {
      inject: true,
    }),
  );
}

function booksapp(policy: string) {
  return indexOf(
    podsFromWorkloads(
      [...yaml(upstreamFixture("demo-apps/booksapp.yml")), ...yaml(policy)],
      { inject: true, namespace: "booksapp" },
    ),
  );
}

const ev = (source: string, target: string, port?: number | string) => ({
  source: { namespace: "emojivoto", service: source },
  target: { namespace: "emojivoto", service: target },
  ...(port !== undefined ? { port } : {}),
});

Deno.test("analyzeAccess() emojivoto-policy.yml lets web call emoji and voting over gRPC", () => {
  const idx = emojivoto(upstreamFixture("demo-apps/emojivoto-policy.yml"));
  for (const target of ["emoji-svc", "voting-svc"]) {
    const r = analyzeAccess(idx, ev("web-svc", target, "grpc"));
    assert.equal(r.verdict, "allowed", r.explanation);
    assert.equal(r.ports[0]!.authorization, "serverauthorization/internal-grpc");
    assert.equal(r.ports[0]!.server.protocol, "grpc");
  }
});

Deno.test("analyzeAccess() emojivoto-policy.yml denies voting calling emoji's gRPC port", () => {
  const idx = emojivoto(upstreamFixture("demo-apps/emojivoto-policy.yml"));
  const r = analyzeAccess(idx, ev("voting-svc", "emoji-svc", 8080));
  assert.equal(r.verdict, "denied");
  assert.match(r.ports[0]!.reason, /web\.emojivoto\.serviceaccount/);
  assert.ok(r.policies.includes("ServerAuthorization/internal-grpc"));
});

Deno.test("analyzeAccess() emojivoto-policy.yml keeps web public and prom open to in-cluster scrapes", () => {
  const idx = emojivoto(upstreamFixture("demo-apps/emojivoto-policy.yml"));
  const web = analyzeAccess(idx, ev("emoji-svc", "web-svc"));
  assert.equal(web.verdict, "allowed");
  assert.equal(web.ports[0]!.authorization, "serverauthorization/web-public");
  const prom = analyzeAccess(idx, ev("web-svc", "voting-svc", "prom"));
  assert.equal(prom.verdict, "allowed");
  assert.equal(prom.ports[0]!.authorization, "serverauthorization/prom-prometheus");
  // the admin Server selects linkerd-admin on every (injected) pod
  const pod = idx.podsByNs.get("emojivoto")!.find((p) => p.metadata.name === "web-0") as Pod;
  assert.equal(inboundServer(idx, { pod, port: 4191 }).name, "admin");
});

Deno.test("analyzeAccess() emojivoto restricting-access example allows only web to voting", () => {
  const idx = emojivoto(upstreamFixture("docs-examples/emojivoto-restricting-access.yaml"));
  assert.equal(analyzeAccess(idx, ev("web-svc", "voting-svc", "grpc")).verdict, "allowed");
  const denied = analyzeAccess(idx, ev("emoji-svc", "voting-svc", "grpc"));
  assert.equal(denied.verdict, "denied");
  assert.match(denied.ports[0]!.suggestion ?? "", /name: emoji\n/);
  // other ports keep the default policy
  assert.equal(
    analyzeAccess(idx, ev("emoji-svc", "voting-svc", "prom")).ports[0]!.server.name,
    "all-unauthenticated",
  );
});

Deno.test("allowedSources() emojivoto restricting-access lists web as voting's only gRPC source", () => {
  const idx = emojivoto(upstreamFixture("docs-examples/emojivoto-restricting-access.yaml"));
  const r = allowedSources(idx, { namespace: "emojivoto", service: "voting-svc" });
  assert.deepEqual(r.matchingServers, ["Server/voting-grpc", "default/all-unauthenticated"]);
  const services = r.allowedSources.filter((s) => s.kind === "service");
  assert.deepEqual(
    services.map((s) => [s.service, s.verdict, s.ports]),
    [["emoji-svc", "partial", [8801]], ["web-svc", "allowed", [8080, 8801]]],
  );
  assert.ok(r.allowedSources.some((s) => s.kind === "unauthenticated"));
});

const PER_ROUTE = upstreamFixture("docs-examples/booksapp-per-route-policy.yaml");
const SERVER_ONLY = PER_ROUTE.split("# --- from lines 163-183")[0]!;
const bk = (source: string) => ({
  source: { namespace: "booksapp", service: source },
  target: { namespace: "booksapp", service: "authors" },
});

Deno.test("analyzeAccess() booksapp authors-server alone denies everyone but keeps probes", () => {
  const idx = booksapp(SERVER_ONLY);
  const r = analyzeAccess(idx, bk("webapp"));
  assert.equal(r.verdict, "denied");
  assert.match(r.ports[0]!.reason, /GET \/ping/);
});

Deno.test("analyzeAccess() booksapp per-route policy lets webapp use every authors route", () => {
  const r = analyzeAccess(booksapp(PER_ROUTE), bk("webapp"));
  assert.equal(r.verdict, "allowed", r.explanation);
  assert.deepEqual(
    r.ports[0]!.routes.map((x) => [x.route, x.authorization]),
    [
      ["HTTPRoute/authors-get-route", "authorizationpolicy/authors-get-policy"],
      ["HTTPRoute/authors-modify-route", "authorizationpolicy/authors-modify-policy"],
      ["HTTPRoute/authors-probe-route", "authorizationpolicy/authors-probe-policy"],
    ].sort(),
  );
});

Deno.test("analyzeAccess() booksapp per-route policy lets books read but not modify authors", () => {
  const r = analyzeAccess(booksapp(PER_ROUTE), bk("books"));
  assert.equal(r.verdict, "partial");
  const byRoute = Object.fromEntries(r.ports[0]!.routes.map((x) => [x.route, x.decision]));
  assert.deepEqual(byRoute, {
    "HTTPRoute/authors-get-route": "allowed",
    "HTTPRoute/authors-modify-route": "denied",
    "HTTPRoute/authors-probe-route": "allowed",
  });
});

Deno.test("allowedTargets() booksapp per-route policy: books reaches authors in part and webapp fully", () => {
  const r = allowedTargets(booksapp(PER_ROUTE), { namespace: "booksapp", service: "books" });
  assert.deepEqual(
    r.allowedTargets.map((t) => [t.service, t.verdict]),
    [["authors", "partial"], ["webapp", "allowed"]],
  );
  assert.equal(r.totalTargets, 2);
  assert.equal(r.deniedTargets, 0);
});
