/**
 * `inboundPolicy()` (the get_inbound_policy tool) against the expectations of the
 * upstream `policy-test/tests/inbound_api.rs`: a `mk_pause` pod whose admin port 4191
 * is watched while Servers, authorizations and routes are added.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/kube/types.ts";
import { inboundPolicy } from "../../src/policy/mod.ts";
import {
  at,
  indexFor,
  mkAuthorizationPolicy,
  mkHttpRoute,
  mkNetworkAuthn,
  mkPause,
  mkServer,
  mkServerAuthorization,
  mkService,
  NS,
} from "./_builders.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** `mk_admin_server`: every pod, port 4191, HTTP/1. */
function mkAdminServer(name: string, accessPolicy?: string, created?: string): KubeObject {
  return mkServer(name, {
    port: 4191,
    proxyProtocol: "HTTP/1",
    ...(accessPolicy ? { accessPolicy } : {}),
    ...(created ? { created } : {}),
  });
}

/** `mk_admin_route_with_path`. */
function mkAdminRoute(name: string, path: string, created?: string): KubeObject {
  return mkHttpRoute(name, {
    parents: [{ group: "policy.linkerd.io", kind: "Server", name: "linkerd-admin" }],
    rules: [{ matches: [{ path: { type: "Exact", value: path }, method: "GET" }] }],
    ...(created ? { created } : {}),
  });
}

const ALL_NETS = mkNetworkAuthn("all-admin", [{ cidr: "0.0.0.0/0" }, { cidr: "::/0" }]);

function watch(objects: KubeObject[], port: number | string = 4191): Json {
  const { idx } = indexFor([mkPause(), ...objects]);
  return inboundPolicy(idx, { namespace: NS, pod: "pause", port });
}

const SERVER_LABELS = (name: string) => ({ group: "policy.linkerd.io", kind: "server", name });
const UNAUTHENTICATED = { Permit: { Unauthenticated: {} } };

/** `grpc::defaults::probe_route()` for the pause pod's `/live` and `/ready` probes. */
const PROBE_ROUTE = {
  metadata: { Kind: { Default: "probe" } },
  authorizations: [{
    networks: [{ net: { ip: { Ip: { Ipv4: 0 } } } }, { net: { ip: { Ip: { Ipv6: {} } } } }],
    authentication: UNAUTHENTICATED,
    labels: { group: "", kind: "default", name: "probe" },
    metadata: { Kind: { Default: "probe" } },
  }],
  rules: [{
    matches: [
      { path: { Kind: { Exact: "/live" } }, method: { Type: { Registered: 0 } } },
      { path: { Kind: { Exact: "/ready" } }, method: { Type: { Registered: 0 } } },
    ],
  }],
};
/** `grpc::defaults::http_route()`. */
const DEFAULT_ROUTE = {
  metadata: { Kind: { Default: "default" } },
  rules: [{ matches: [{ path: { Kind: { Prefix: "/" } } }] }],
};
/** `grpc::defaults::proxy_protocol_no_ratelimit()`: HTTP/1 with the default and probe routes. */
const PROXY_PROTOCOL_NO_RATELIMIT = { Kind: { Http1: { routes: [DEFAULT_ROUTE, PROBE_ROUTE] } } };

Deno.test("inbound_api default_http_routes: no Server → detect, default all-unauthenticated, default and probe routes", () => {
  const v = watch([]);
  assert.equal(v.kind, "default");
  assert.deepEqual(v.server.labels, { group: "", kind: "default", name: "all-unauthenticated" });
  const detect = v.server.protocol.Kind.Detect;
  assert.deepEqual(detect.timeout, { seconds: 10 });
  assert.equal(detect.http_routes.length, 2);
  assert.equal(detect.http_routes[0].authorizations, undefined, "route 0 has no authorizations");
  assert.deepEqual(detect.http_routes, [DEFAULT_ROUTE, PROBE_ROUTE]);
  // assert_is_default_all_unauthenticated: one unauthenticated authz on all networks
  assert.equal(v.server.authorizations.length, 1);
  assert.deepEqual(v.server.authorizations[0].authentication, UNAUTHENTICATED);
  assert.deepEqual(v.server.authorizations[0].metadata, {
    Kind: { Default: "all-unauthenticated" },
  });
  assert.match(v.assumes, /Linkerd/);
});

Deno.test("inbound_api server_with_server_authorization", () => {
  const server = mkAdminServer("linkerd-admin");
  let v = watch([server]);
  assert.deepEqual(v.server.protocol, PROXY_PROTOCOL_NO_RATELIMIT);
  assert.equal(v.server.authorizations, undefined, "no authorizations");
  assert.deepEqual(v.server.labels, SERVER_LABELS("linkerd-admin"));
  v = watch([
    server,
    mkServerAuthorization("all-admin", { name: "linkerd-admin" }, { unauthenticated: true }),
  ]);
  assert.deepEqual(v.server.protocol, PROXY_PROTOCOL_NO_RATELIMIT);
  assert.deepEqual(v.server.authorizations[0].labels, {
    group: "policy.linkerd.io",
    kind: "serverauthorization",
    name: "all-admin",
  });
  assert.deepEqual(v.server.authorizations[0].authentication, UNAUTHENTICATED);
  // a ServerAuthorization without networks gets the cluster networks
  assert.equal(v.server.authorizations[0].networks.length, 5);
  assert.deepEqual(v.server.labels, SERVER_LABELS("linkerd-admin"));
  // deleting the Server reverts to the default
  assert.equal(watch([]).server.labels.kind, "default");
});

Deno.test("inbound_api server_with_authorization_policy", () => {
  const v = watch([
    mkAdminServer("linkerd-admin"),
    ALL_NETS,
    mkAuthorizationPolicy(
      "all-admin",
      { group: "policy.linkerd.io", kind: "Server", name: "linkerd-admin" },
      [{ group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "all-admin" }],
    ),
  ]);
  assert.deepEqual(v.server.protocol, PROXY_PROTOCOL_NO_RATELIMIT);
  assert.equal(v.server.authorizations.length, 1);
  assert.deepEqual(v.server.authorizations[0].labels, {
    group: "policy.linkerd.io",
    kind: "authorizationpolicy",
    name: "all-admin",
  });
  assert.deepEqual(v.server.authorizations[0].authentication, UNAUTHENTICATED);
  assert.deepEqual(v.server.labels, SERVER_LABELS("linkerd-admin"));
});

Deno.test("inbound_api servers_ordered_by_creation", () => {
  const s0 = mkAdminServer("linkerd-admin-0", undefined, at(1));
  const s1 = mkAdminServer("linkerd-admin-1", undefined, at(2));
  const v = watch([s1, s0]);
  assert.deepEqual(v.server.labels, SERVER_LABELS("linkerd-admin-0"));
  assert.deepEqual(v.shadowed, ["linkerd-admin-1"]);
  assert.deepEqual(watch([s1]).server.labels, SERVER_LABELS("linkerd-admin-1"));
});

Deno.test("inbound_api server_with_audit_policy", () => {
  const v = watch([mkAdminServer("linkerd-admin", "audit")]);
  assert.deepEqual(v.server.protocol, PROXY_PROTOCOL_NO_RATELIMIT);
  assert.equal(v.server.authorizations.length, 1);
  assert.deepEqual(v.server.authorizations[0].labels, {
    group: "",
    kind: "default",
    name: "audit",
  });
  assert.deepEqual(v.server.authorizations[0].authentication, UNAUTHENTICATED);
  assert.deepEqual(v.server.labels, SERVER_LABELS("linkerd-admin"));
});

Deno.test("inbound_api server_with_http_route", () => {
  const server = mkAdminServer("linkerd-admin");
  const route = mkAdminRoute("metrics-route", "/metrics");
  let v = watch([server, route]);
  const [h1] = v.server.protocol.Kind.Http1.routes;
  assert.equal(v.server.protocol.Kind.Http1.routes.length, 1, "no default or probe route");
  assert.equal(h1.authorizations, undefined, "no authorizations by default");
  assert.deepEqual(h1.metadata, {
    Kind: { Resource: { group: "policy.linkerd.io", kind: "HTTPRoute", name: "metrics-route" } },
  });
  assert.deepEqual(h1.rules[0].matches[0].path, { Kind: { Exact: "/metrics" } });
  v = watch([
    server,
    route,
    ALL_NETS,
    mkAuthorizationPolicy(
      "all-admin",
      { group: "policy.linkerd.io", kind: "HTTPRoute", name: "metrics-route" },
      [{ group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "all-admin" }],
    ),
  ]);
  assert.equal(v.server.protocol.Kind.Http1.routes[0].authorizations.length, 1);
  assert.equal(v.server.authorizations, undefined, "a route-level policy is not server-level");
  // deleting the route reverts to the default routes
  assert.deepEqual(watch([server]).server.protocol, PROXY_PROTOCOL_NO_RATELIMIT);
});

Deno.test("inbound_api http_routes_ordered_by_creation", () => {
  const server = mkAdminServer("linkerd-admin");
  const paths = (v: Json) =>
    v.server.protocol.Kind.Http1.routes.map((r: Json) => r.rules[0].matches[0].path.Kind.Exact);
  const routes = [
    mkAdminRoute("d", "/metrics", at(1)),
    mkAdminRoute("a", "/ready", at(2)),
    mkAdminRoute("c", "/shutdown", at(3)),
    mkAdminRoute("b", "/proxy-log-level", at(4)),
  ];
  assert.deepEqual(paths(watch([server, ...[...routes].reverse()])), [
    "/metrics",
    "/ready",
    "/shutdown",
    "/proxy-log-level",
  ]);
  assert.deepEqual(paths(watch([server, ...routes.filter((r) => r.metadata.name !== "c")])), [
    "/metrics",
    "/ready",
    "/proxy-log-level",
  ]);
});

Deno.test("inboundPolicy() finds the pod through a Service port and a named pod port", () => {
  const { idx } = indexFor([
    mkPause(),
    mkService("pause", { ports: [{ name: "admin", port: 80, targetPort: "linkerd-admin" }] }),
    mkAdminServer("linkerd-admin"),
  ]);
  const bySvc = inboundPolicy(idx, { namespace: NS, service: "pause", port: "admin" });
  assert.equal(bySvc.port, 4191);
  assert.deepEqual(bySvc.server["labels"], SERVER_LABELS("linkerd-admin"));
  const byName = inboundPolicy(idx, { namespace: NS, pod: "pause", port: "linkerd-admin" });
  assert.equal(byName.port, 4191);
  assert.throws(
    () => inboundPolicy(idx, { namespace: NS, pod: "nope", port: 4191 }),
    /Cannot find pod "nope"/,
  );
  assert.throws(
    () => inboundPolicy(idx, { namespace: NS, pod: "pause", port: "nope" }),
    /no TCP port named "nope"/,
  );
});

Deno.test("inboundPolicy() prints opaque and MeshTLS identities as the proxy API does", () => {
  const { idx } = indexFor([
    mkPause(),
    mkServer("opaque", { port: 4191, proxyProtocol: "opaque" }),
    mkServerAuthorization("ids", { name: "opaque" }, {
      meshTLS: {
        identities: [
          "web.ns-0.serviceaccount.identity.linkerd.cluster.local",
          "*.linkerd.cluster.local",
        ],
      },
      networks: [{ cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] }],
    }),
  ]);
  const v = inboundPolicy(idx, { namespace: NS, pod: "pause", port: 4191 });
  const server = v.server as Json;
  assert.deepEqual(server.protocol, { Kind: { Opaque: {} } });
  assert.deepEqual(server.authorizations[0].authentication, {
    Permit: {
      MeshTLS: {
        Clients: {
          Identities: {
            identities: [{ name: "web.ns-0.serviceaccount.identity.linkerd.cluster.local" }],
            suffixes: [{ parts: ["linkerd", "cluster", "local"] }],
          },
        },
      },
    },
  });
  assert.deepEqual(server.authorizations[0].networks, [{
    net: { ip: { Ip: { Ipv4: 167772160 } }, prefix_len: 8 },
    except: [{ ip: { Ip: { Ipv4: 167837696 } }, prefix_len: 16 }],
  }]);
});
