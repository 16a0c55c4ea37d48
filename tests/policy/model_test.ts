/**
 * The policy model against the policy controller's own rules, one table per behaviour,
 * with the upstream test names (`k8s/index/src/inbound/tests*.rs`, `k8s/api/src/labels.rs`,
 * `runtime/src/admission.rs` via `policy-test/tests/admit_*.rs`).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/kube/types.ts";
import type { Pod } from "../../src/mesh/pods.ts";
import * as idxApi from "../../src/policy/mod.ts";
import { containerPort } from "../../src/policy/service_ports.ts";
import { matchesLinkerdSelector, parseVersion, policyModel } from "../../src/policy/model/mod.ts";
import {
  at,
  id,
  indexFor,
  linkerdConfig,
  mkAuthorizationPolicy,
  mkHttpRoute,
  mkMeshTls,
  mkNetworkAuthn,
  mkPod,
  mkServer,
  mkServerAuthorization,
  mkService,
  NS,
} from "./_builders.ts";

const SERVER_REF = { group: "policy.linkerd.io", kind: "Server", name: "srv" };

function inbound(objects: KubeObject[], pod = "web", port = 8080) {
  const { idx } = indexFor(objects);
  const p = idx.podsByNs.get(NS)!.find((x) => x.metadata.name === pod)!;
  return { s: idx.model.inbound(p, port), idx, pod: p };
}

// --- Server ports: int-or-string (tests/server.rs) ---

Deno.test("model links_named_server_port / links_unnamed_server_port / a quoted number is a port name", async (t) => {
  const cases: Array<[string, number | string, number, string]> = [
    ["links_named_server_port", "admin-http", 8080, "srv"],
    ["links_unnamed_server_port", 8080, 8080, "srv"],
    // int-or-string: a YAML *string* is a port NAME even when all digits
    ["server_port_string_digits_is_a_name", "8080", 8080, "all-unauthenticated"],
  ];
  for (const [name, port, podPort, want] of cases) {
    await t.step(name, () => {
      const { s } = inbound(
        [
          mkPod("web", { ports: [["admin-http", 8080]] }),
          mkServer("srv", { port, selector: { matchLabels: { app: "web" } } }),
        ],
        "web",
        podPort,
      );
      assert.equal(s.name, want);
    });
  }
});

Deno.test("model server_port_string_digits_is_a_name: the Server explains why it selects nothing", () => {
  const { idx } = indexFor([
    mkPod("web", { ports: [["http", 8080]] }),
    mkServer("srv", { port: "8080" }),
  ]);
  const srv = idx.model.server(NS, "srv")!;
  assert.equal(srv.port, "8080");
  assert.deepEqual(idx.model.claims(srv).claimed, []);
  assert.equal(idx.model.claims(srv).selected.length, 1);
  assert.match(srv.problems[0]!.message, /port NAME/);
});

Deno.test("model servers_ordered_by_creation: oldest wins, then name; the others are shadowed", async (t) => {
  const cases: Array<[string, KubeObject[], string, string[]]> = [
    [
      "older_wins",
      [
        mkServer("b-new", { port: 8080, created: at(5) }),
        mkServer("z-old", { port: 8080, created: at(1) }),
      ],
      "z-old",
      ["b-new"],
    ],
    [
      "same_time_by_name",
      [
        mkServer("b", { port: 8080, created: at(1) }),
        mkServer("a", { port: 8080, created: at(1) }),
      ],
      "a",
      ["b"],
    ],
    [
      "named_and_numbered_ports_compete",
      [
        mkServer("by-name", { port: "http", created: at(2) }),
        mkServer("by-number", { port: 8080, created: at(3) }),
      ],
      "by-name",
      ["by-number"],
    ],
  ];
  for (const [name, servers, winner, shadowed] of cases) {
    await t.step(name, () => {
      const { s, idx, pod } = inbound([mkPod("web"), ...servers]);
      assert.equal(s.name, winner);
      assert.deepEqual(s.shadowed, shadowed);
      const loser = idx.model.server(NS, shadowed[0]!)!;
      assert.equal(idx.model.claims(loser).shadowed[0]!.winner.name, winner);
      assert.equal(idx.model.serverFor(pod as Pod, 8080)!.name, winner);
    });
  }
});

// --- label selectors (k8s/api/src/labels.rs) ---

Deno.test("model labels.rs test_matches, and illegal expressions match nothing", async (t) => {
  const labels = { foo: "bar", bah: "baz" };
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ["empty match", {}, true],
    ["exact label match", { matchLabels: { foo: "bar" } }, true],
    [
      "In expression match",
      { matchExpressions: [{ key: "foo", operator: "In", values: ["bar"] }] },
      true,
    ],
    ["NotIn expression match", {
      matchExpressions: [{ key: "foo", operator: "NotIn", values: ["quux"] }],
    }, true],
    ["NotIn expression non-match", {
      matchExpressions: [{ key: "foo", operator: "NotIn", values: ["bar"] }],
    }, false],
    ["matches labels but not expressions", {
      matchLabels: { foo: "bar" },
      matchExpressions: [{ key: "bah", operator: "In", values: ["bar"] }],
    }, false],
    ["illegal: Exists with values", {
      matchExpressions: [{ key: "foo", operator: "Exists", values: ["bar"] }],
    }, false],
    ["illegal: DoesNotExist with values", {
      matchExpressions: [{ key: "nope", operator: "DoesNotExist", values: [] }],
    }, false],
    ["illegal: In without values", { matchExpressions: [{ key: "foo", operator: "In" }] }, false],
    ["illegal: unknown operator", {
      matchExpressions: [{ key: "foo", operator: "Gt", values: ["1"] }],
    }, false],
  ];
  for (const [name, selector, want] of cases) {
    await t.step(name, () => {
      assert.equal(matchesLinkerdSelector(selector, labels), want);
      // and through a Server: an illegal selector leaves the port to the default policy
      const { s } = inbound([
        mkPod("web", { labels }),
        mkServer("srv", { port: 8080, selector }),
      ]);
      assert.equal(s.kind, want ? "server" : "default");
    });
  }
});

// --- authentication refs (authorization_policy.rs, admission.rs) ---

function apCase(refs: KubeObject["spec"], extra: KubeObject[] = []) {
  const objects = [
    mkPod("web"),
    mkPod("client", { sa: "client" }),
    mkServer("srv", { port: 8080, selector: { matchLabels: { app: "web" } } }),
    mkMeshTls("client-authn", { identities: [id("client")] }),
    mkMeshTls("other-authn", { identities: [id("other")] }),
    mkNetworkAuthn("all-nets", [{ cidr: "0.0.0.0/0" }, { cidr: "::/0" }]),
    mkNetworkAuthn("pods", [{ cidr: "10.0.0.0/8" }]),
    mkAuthorizationPolicy("ap", SERVER_REF, refs as never),
    ...extra,
  ];
  const { idx } = indexFor(objects);
  const entry = idx.model.policies.find((p) => p.name === "ap")!;
  return { idx, entry };
}

Deno.test("model authentication refs are matched by group and kind as the controller does", async (t) => {
  const cases: Array<[string, unknown[], "in force" | string]> = [
    ["links_authorization_policy_with_service_account (group omitted = core)", [
      { kind: "ServiceAccount", name: "client" },
    ], "in force"],
    ["service_account_group_core_written_out", [
      { group: "core", kind: "ServiceAccount", name: "client" },
    ], "in force"],
    ["service_account_group_empty", [
      { group: "", kind: "ServiceAccount", name: "client" },
    ], "in force"],
    ["kind_case_insensitive", [
      { group: "policy.linkerd.io", kind: "meshtlsauthentication", name: "client-authn" },
    ], "in force"],
    ["meshtls_without_policy_group_is_not_one", [
      { kind: "MeshTLSAuthentication", name: "client-authn" },
    ], "unsupported-kind"],
    ["network_with_core_group_is_not_one", [
      { group: "core", kind: "NetworkAuthentication", name: "pods" },
    ], "unsupported-kind"],
    ["rejects_unsupported_kind (Deployment)", [
      { group: "apps", kind: "Deployment", name: "client" },
    ], "unsupported-kind"],
    ["missing_meshtls_authentication", [
      { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: "nope" },
    ], "not-found"],
    ["missing_network_authentication", [
      { group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "nope" },
    ], "not-found"],
    ["rejects_duplicate_mtls_authns", [
      { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: "client-authn" },
      { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: "other-authn" },
    ], "duplicate-mtls"],
    ["rejects_duplicate_network_authns", [
      { group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "all-nets" },
      { group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "pods" },
    ], "duplicate-network"],
    ["rejects_meshtls_and_service_account_together", [
      { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: "client-authn" },
      { kind: "ServiceAccount", name: "client" },
    ], "duplicate-mtls"],
    ["accepts_valid (one MeshTLS and one Network)", [
      { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: "client-authn" },
      { group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "all-nets" },
    ], "in force"],
    ["accepts_empty_required_authentications", [], "in force"],
  ];
  for (const [name, refs, want] of cases) {
    await t.step(name, () => {
      const { idx, entry } = apCase(refs as never);
      const s = idx.model.inbound(
        idx.podsByNs.get(NS)!.find((p) => p.metadata.name === "web")!,
        8080,
      );
      if (want === "in force") {
        assert.deepEqual(entry.ignored, []);
        assert.ok(entry.authz);
        assert.deepEqual(s.authorizations.map((a) => a.name), ["ap"]);
      } else {
        assert.equal(entry.authz, undefined, "ignored as a whole");
        assert.ok(entry.ignored.some((p) => p.code === want), JSON.stringify(entry.ignored));
        assert.ok(
          entry.ignored.every((p) => p.field?.startsWith("spec.requiredAuthenticationRefs[")),
        );
        assert.deepEqual(s.authorizations, [], "the Server then denies");
        assert.ok(s.notes.some((n) => n.includes('"ap"')), s.notes.join("\n"));
      }
    });
  }
});

Deno.test("model links_authorization_policy_with_mtls_name: MeshTLS in another namespace and a network make one authz", () => {
  const { idx, entry } = apCase([
    {
      group: "policy.linkerd.io",
      kind: "MeshTLSAuthentication",
      name: "foo-authn",
      namespace: "bar",
    },
    { group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "pods" },
  ] as never, [mkMeshTls("foo-authn", { identities: ["foo.bar"] }, "bar")]);
  assert.deepEqual(entry.authz?.authentication, {
    type: "tls",
    identities: ["foo.bar"],
    suffixes: [],
  });
  assert.deepEqual(entry.authz?.networks.map((n) => n.net.text), ["10.0.0.0/8"]);
  assert.equal(entry.refs[0]!.resolved, "MeshTLSAuthentication");
  assert.equal(entry.refs[0]!.object?.metadata.namespace, "bar");
  assert.ok(idx.model.policyOf(entry.obj) === entry);
});

Deno.test("model authorization_targets_namespace and rejects_targets_other_namespace", () => {
  const base = [mkPod("web"), mkServer("srv", { port: 8080 })];
  const ok = indexFor([
    ...base,
    mkAuthorizationPolicy("ns-wide", { kind: "Namespace", name: NS }, []),
  ]);
  const pod = ok.idx.podsByNs.get(NS)![0]!;
  assert.deepEqual(ok.idx.model.inbound(pod, 8080).authorizations.map((a) => a.name), ["ns-wide"]);
  // a Namespace target does not apply to ports without a Server
  assert.equal(ok.idx.model.inbound(pod, 9999).kind, "default");
  const other = indexFor([
    ...base,
    mkAuthorizationPolicy("ns-wide", { kind: "Namespace", name: "elsewhere" }, []),
  ]);
  const e = other.idx.model.policies[0]!;
  assert.equal(e.authz, undefined);
  assert.equal(e.ignored[0]!.code, "target-other-namespace");
  assert.equal(e.ignored[0]!.field, "spec.targetRef.name");
});

Deno.test("model links_server_authz_by_name / links_server_authz_by_label / no name and no selector selects every Server", async (t) => {
  const cases: Array<[string, { name?: string; selector?: Record<string, unknown> }, boolean]> = [
    ["links_server_authz_by_name", { name: "srv" }, true],
    ["links_server_authz_by_label", { selector: { matchLabels: { tier: "front" } } }, true],
    ["label_selector_miss", { selector: { matchLabels: { tier: "back" } } }, false],
    ["empty_server_ref_selects_all", {}, true],
  ];
  for (const [name, server, linked] of cases) {
    await t.step(name, () => {
      const { s } = inbound([
        mkPod("web"),
        mkServer("srv", { port: 8080, labels: { tier: "front" } }),
        mkServerAuthorization("saz", server, { unauthenticated: true }),
      ]);
      assert.deepEqual(s.authorizations.map((a) => a.name), linked ? ["saz"] : []);
    });
  }
});

// --- routes (routes.rs, index/http.rs) ---

Deno.test("model routes: parent refs, filters and status decide whether a route is used", async (t) => {
  const srv = { group: "policy.linkerd.io", kind: "Server", name: "srv" };
  const cases: Array<[string, KubeObject, boolean, string?]> = [
    ["route_attaches_to_server", mkHttpRoute("r", { parents: [srv] }), true],
    [
      "policy_route_parent_group_defaults_to_policy (CRD default)",
      mkHttpRoute("r", {
        parents: [{ kind: "Server", name: "srv" }],
      }),
      true,
    ],
    [
      "gateway_route_parent_without_group_is_not_a_server",
      mkHttpRoute("r", {
        gateway: true,
        parents: [{ kind: "Server", name: "srv" }],
      }),
      false,
      "parent-group",
    ],
    ["gateway_route_with_server_parent", mkHttpRoute("r", { gateway: true, parents: [srv] }), true],
    [
      "wrong_group_parent_is_filtered_out_not_fatal",
      mkHttpRoute("r", {
        parents: [{ group: "gateway.networking.k8s.io", kind: "Server", name: "srv" }, srv],
      }),
      true,
      "parent-group",
    ],
    [
      "parent_in_other_namespace_rejects_whole_route",
      mkHttpRoute("r", {
        parents: [srv, { ...srv, namespace: "other" }],
      }),
      false,
      "parent-other-namespace",
    ],
    [
      "parent_by_port_rejects_route",
      mkHttpRoute("r", { parents: [{ ...srv, port: 8080 }] }),
      false,
      "parent-port",
    ],
    [
      "parent_by_section_rejects_route",
      mkHttpRoute("r", {
        parents: [{ ...srv, sectionName: "http" }],
      }),
      false,
      "parent-section",
    ],
    [
      "url_rewrite_filter_not_supported",
      mkHttpRoute("r", {
        gateway: true,
        parents: [srv],
        rules: [{
          filters: [{
            type: "URLRewrite",
            urlRewrite: { path: { type: "ReplaceFullPath", replaceFullPath: "/" } },
          }],
        }],
      }),
      false,
      "unsupported-filter",
    ],
    [
      "request_mirror_filter_not_supported",
      mkHttpRoute("r", {
        gateway: true,
        parents: [srv],
        rules: [{ filters: [{ type: "RequestMirror" }] }],
      }),
      false,
      "unsupported-filter",
    ],
    [
      "extension_ref_filter_not_supported",
      mkHttpRoute("r", {
        gateway: true,
        parents: [srv],
        rules: [{ filters: [{ type: "ExtensionRef" }] }],
      }),
      false,
      "unsupported-filter",
    ],
    [
      "request_header_modifier_supported",
      mkHttpRoute("r", {
        gateway: true,
        parents: [srv],
        rules: [{ filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: {} }] }],
      }),
      true,
    ],
    [
      "rejects_relative_path_match",
      mkHttpRoute("r", {
        parents: [srv],
        rules: [{ matches: [{ path: { type: "PathPrefix", value: "foo" } }] }],
      }),
      false,
      "relative-path",
    ],
    [
      "status_accepted_false_is_respected",
      mkHttpRoute("r", {
        parents: [srv],
        status: {
          parents: [{
            controllerName: "linkerd.io/policy-controller",
            parentRef: srv,
            conditions: [{ type: "Accepted", status: "False", reason: "NoMatchingParent" }],
          }],
        },
      }),
      false,
    ],
  ];
  for (const [name, route, used, code] of cases) {
    await t.step(name, () => {
      const { s, idx } = inbound([
        mkPod("web"),
        mkServer("srv", { port: 8080, proxyProtocol: "HTTP/1" }),
        route,
      ]);
      assert.deepEqual(s.routes.map((r) => r.name), used ? ["r"] : []);
      const rm = idx.model.routeOf(route)!;
      // whole-route problems are in `ignored`, per-parent ones on the parent
      const problems = [...rm.ignored, ...rm.parents.flatMap((p) => p.problem ? [p.problem] : [])];
      if (code) assert.ok(problems.some((p) => p.code === code), JSON.stringify(problems));
      if (!used) assert.ok(s.notes.some((n) => n.includes('"r"')), s.notes.join("\n"));
    });
  }
});

Deno.test("model http_routes_ordered_by_creation, and an identical newer route is unreachable", () => {
  const srv = { group: "policy.linkerd.io", kind: "Server", name: "srv" };
  const rule = (path: string) => [{ matches: [{ path: { type: "Exact", value: path } }] }];
  const { s, idx } = inbound([
    mkPod("web"),
    mkServer("srv", { port: 8080, proxyProtocol: "HTTP/1" }),
    mkHttpRoute("b", { parents: [srv], rules: rule("/proxy-log-level"), created: at(4) }),
    mkHttpRoute("d", { parents: [srv], rules: rule("/metrics"), created: at(1) }),
    mkHttpRoute("c", { parents: [srv], rules: rule("/shutdown"), created: at(3) }),
    mkHttpRoute("a", { parents: [srv], rules: rule("/ready"), created: at(2) }),
    mkHttpRoute("dup", { parents: [srv], rules: rule("/metrics"), created: at(9) }),
  ]);
  // the identical newer route is never selected, so the proxy view leaves it out
  assert.deepEqual(s.routes.map((r) => r.name), ["d", "a", "c", "b"]);
  assert.ok(s.notes.some((n) => /"dup" is never selected/.test(n)), s.notes.join("\n"));
  const dup = idx.model.routes.find((r) => r.name === "dup")!;
  assert.equal(dup.unreachable.length, 1);
  assert.equal(dup.unreachable[0]!.by, "HTTPRoute/d");
  assert.ok(s.notes.some((n) => /"dup".*unreachable/.test(n)), s.notes.join("\n"));
  assert.deepEqual(idx.model.routes.find((r) => r.name === "d")!.unreachable, []);
});

// --- Service named targetPort (Kubernetes FindPort) ---

Deno.test("model a Service's named targetPort resolves to the first container declaring the name", async (t) => {
  const cases: Array<[string, Parameters<typeof mkPod>[1], number | undefined]> = [
    ["first_container_in_order_not_lowest_number", {
      containers: [{ name: "a", ports: [["http", 9000]] }, { name: "b", ports: [["http", 8080]] }],
    }, 9000],
    ["init_containers_are_not_first", {
      initContainers: [{ name: "init", ports: [["http", 7000]] }],
      containers: [{ name: "main", ports: [["http", 8080]] }],
    }, 8080],
    ["plain_init_container_is_never_an_endpoint", {
      initContainers: [{ name: "init", ports: [["http", 7000]] }],
      containers: [{ name: "main", ports: [["other", 8080]] }],
    }, undefined],
    ["native_sidecar_after_containers", {
      initContainers: [{ name: "sidecar", ports: [["http", 7000]], restartPolicy: "Always" }],
      containers: [{ name: "main", ports: [["other", 8080]] }],
    }, 7000],
  ];
  for (const [name, opts, want] of cases) {
    await t.step(name, () => {
      const pod = mkPod("web", opts) as Pod;
      assert.equal(containerPort(pod, { port: 80, targetPort: "http" }), want);
    });
  }
});

// --- versions ---

Deno.test("model follows the control-plane version: audit, accessPolicy and probe routes", async (t) => {
  const objects = (version?: string) => [
    ...(version ? [linkerdConfig(version)] : []),
    mkPod("web", { probes: [{ port: 8080, path: "/ready" }], annotations: {} }),
    mkPod("audited", { annotations: { "config.linkerd.io/default-inbound-policy": "audit" } }),
    mkServer("srv", {
      port: 8080,
      accessPolicy: "audit",
      selector: { matchLabels: { app: "web" } },
    }),
  ];
  const cases: Array<
    [string, string | undefined, { audit: boolean; probes: boolean; line: string }]
  > = [
    ["newest_stable_by_default", undefined, { audit: true, probes: true, line: "2.20" }],
    ["edge-24.7.5_has_access_policy", "edge-24.7.5", { audit: true, probes: true, line: "2.15" }],
    ["stable-2.14_ignores_access_policy_and_audit", "stable-2.14.10", {
      audit: false,
      probes: true,
      line: "2.14",
    }],
    ["stable-2.11_has_no_probe_route", "stable-2.11.5", {
      audit: false,
      probes: false,
      line: "2.11",
    }],
  ];
  for (const [name, version, want] of cases) {
    await t.step(name, () => {
      const { idx } = indexFor(objects(version));
      const [web, audited] = ["web", "audited"].map((n) =>
        idx.podsByNs.get(NS)!.find((p) => p.metadata.name === n)!
      );
      const s = idx.model.inbound(web!, 8080);
      assert.equal(s.authorizations.some((a) => a.name === "audit"), want.audit);
      assert.deepEqual(s.probePaths, want.probes ? ["/ready"] : []);
      assert.equal(
        idx.model.inbound(audited!, 8080).name,
        want.audit ? "audit" : "all-unauthenticated",
      );
      assert.equal(idx.model.version.line, want.line);
      assert.match(idx.model.version.text, version ? new RegExp(version) : /newest stable/);
    });
  }
  assert.deepEqual(parseVersion("enterprise-2.16.1"), { ordinal: 240802, line: "2.16" });
  assert.equal(parseVersion("not-a-version"), undefined);
});

Deno.test("model policyModel() is built once per state snapshot", () => {
  const { state, idx } = indexFor([mkPod("web"), mkServer("srv", { port: 8080 })]);
  const again = policyModel(state, { mesh: idx.mesh });
  assert.equal(again, idx.model);
  const other = indexFor([mkPod("web"), mkServer("srv", { port: 8080 })]);
  assert.notEqual(other.idx.model, idx.model, "a new snapshot gets a new model");
});

Deno.test("model undefined Service ports follow the version (#14149 edge-25.7.1, #15473 edge-26.7.1)", async (t) => {
  const profile: KubeObject = {
    apiVersion: "linkerd.io/v1alpha2",
    kind: "ServiceProfile",
    metadata: { name: `web.${NS}.svc.cluster.local`, namespace: NS },
    spec: { routes: [] },
  };
  const objects = (version: string | undefined, withProfile: boolean) => [
    ...(version ? [linkerdConfig(version)] : []),
    ...(withProfile ? [profile] : []),
    mkPod("web", { ports: [["http", 8080], ["admin", 9090]] }),
    mkPod("client", { sa: "client" }),
    mkPod("legacy", { meshed: false, ip: "10.1.1.1" }),
    mkService("web", { ports: [{ name: "http", port: 80, targetPort: "http" }] }),
  ];
  const cases: Array<[string, string | undefined, boolean, string]> = [
    ["newest_stable_refuses", undefined, false, "denied"],
    ["edge-25.6.1_forwards", "edge-25.6.1", false, "allowed"],
    ["stable_2.20_with_service_profile_forwards", "version-2.20.0", true, "allowed"],
    ["edge-26.8.3_with_service_profile_refuses", "edge-26.8.3", true, "denied"],
  ];
  for (const [name, version, withProfile, want] of cases) {
    await t.step(name, () => {
      const { idx } = indexFor(objects(version, withProfile));
      const { analyzeAccess } = idxApi;
      const r = analyzeAccess(idx, {
        source: { namespace: NS, pod: "client" },
        target: { namespace: NS, service: "web" },
        port: 9090,
      });
      assert.equal(r.verdict, want, r.explanation);
      assert.ok(r.ports[0]!.notes.some((n) => /not defined on Service/.test(n)));
      // an unmeshed client is not refused by a proxy: the pod's inbound policy decides
      const legacy = analyzeAccess(idx, {
        source: { ip: "10.1.1.1" },
        target: { namespace: NS, service: "web" },
        port: 9090,
      });
      assert.equal(legacy.verdict, "allowed");
    });
  }
});

Deno.test("model probe_with_params: a probe's query string breaks the probe route before edge-23.5.3 (#10877)", async (t) => {
  const cases: Array<[string, string | undefined, string[]]> = [
    ["newest_strips_the_query", undefined, ["/health"]],
    ["edge-23.5.3_strips_the_query", "edge-23.5.3", ["/health"]],
    ["stable-2.13_keeps_it_and_the_probe_is_not_authorized", "stable-2.13.3", []],
  ];
  for (const [name, version, want] of cases) {
    await t.step(name, () => {
      const { s } = inbound([
        ...(version ? [linkerdConfig(version)] : []),
        mkPod("web", { probes: [{ port: 8080, path: "/health?full=1" }] }),
      ]);
      assert.deepEqual(s.probePaths, want);
    });
  }
});

Deno.test("model routes_created_for_probes: once a route is attached the probe route is gone, and the model says so (#8945)", () => {
  const srv = { group: "policy.linkerd.io", kind: "Server", name: "srv" };
  const objects = [
    mkPod("web", { probes: [{ port: 8080, path: "/ready" }] }),
    mkServer("srv", { port: 8080, proxyProtocol: "HTTP/1" }),
  ];
  const without = inbound(objects).s;
  assert.deepEqual(without.probePaths, ["/ready"]);
  assert.ok(!without.notes.some((n) => /8945/.test(n)));
  const withRoute = inbound([...objects, mkHttpRoute("r", { parents: [srv] })]).s;
  assert.deepEqual(withRoute.probePaths, []);
  assert.ok(withRoute.notes.some((n) => /GET \/ready.*8945/.test(n)), withRoute.notes.join("\n"));
});
