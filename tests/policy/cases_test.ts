/**
 * Table-driven behaviour suite: one small manifest set per inbound-policy behaviour,
 * with the verdict Linkerd gives (names follow linkerd-semantics.md §2.7 and §2.10).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/kube/types.ts";
import type { Pod } from "../../src/mesh/pods.ts";
import {
  type AccessAnalysis,
  allowedSources,
  allowedTargets,
  analyzeAccess,
} from "../../src/policy/mod.ts";
import type { Decision } from "../../src/policy/mod.ts";
import { indexOf, mkPod, mkService, yaml } from "./_mesh.ts";

const ID = (sa: string, ns = "ns") => `${sa}.${ns}.serviceaccount.identity.linkerd.cluster.local`;

interface Base {
  webAnnotations?: Record<string, string>;
  webMeshed?: boolean;
  clientIp?: string;
  legacyIp?: string;
  webPorts?: Array<{ name?: string; containerPort: number; protocol?: string }>;
}

function base(b: Base = {}): KubeObject[] {
  return [
    ...yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}"),
    mkPod("web-0", {
      app: "web",
      probePath: "/ready",
      annotations: b.webAnnotations ?? {},
      meshed: b.webMeshed ?? true,
      ...(b.webPorts ? { ports: b.webPorts } : {}),
    }),
    mkPod("client-0", { app: "client", ...(b.clientIp ? { ip: b.clientIp } : {}) }),
    mkPod("legacy-0", { app: "legacy", meshed: false, ...(b.legacyIp ? { ip: b.legacyIp } : {}) }),
    mkService("web", {}),
    mkService("client", {}),
    mkService("legacy", {}),
  ];
}

const SERVER = `
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: ns, labels: {tier: front}, creationTimestamp: "2026-01-01T00:00:00Z"}
spec: {podSelector: {matchLabels: {app: web}}, port: http}
`;

function ap(name: string, target: string, refs: string, targetGroup = "policy.linkerd.io"): string {
  const [kind, tname] = target.split("/");
  return `---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: ns}
spec:
  targetRef: {group: "${kind === "Namespace" ? "" : targetGroup}", kind: ${kind}, name: ${tname}}
  requiredAuthenticationRefs: ${refs}
`;
}

function meshtls(name: string, spec: string): string {
  return `---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: ${name}, namespace: ns}
spec: ${spec}
`;
}

function netauthn(name: string, networks: string): string {
  return `---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: ${name}, namespace: ns}
spec: {networks: ${networks}}
`;
}

const MTLS_REF = "[{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: client-id}]";
const NET_REF = "[{group: policy.linkerd.io, kind: NetworkAuthentication, name: pod-net}]";

function route(
  name: string,
  path: string,
  group = "policy.linkerd.io/v1beta3",
  status = "",
): string {
  return `---
apiVersion: ${group}
kind: HTTPRoute
metadata: {name: ${name}, namespace: ns}
spec:
  parentRefs: [{name: web-http, kind: Server, group: policy.linkerd.io}]
  rules: [{matches: [{path: {value: "${path}"}, method: GET}]}]
${status}`;
}

interface Case {
  name: string;
  base?: Base;
  yaml?: string;
  env?: Record<string, string>;
  source?: string;
  verdict: Decision;
  check?: (r: AccessAnalysis) => void;
}

const CASES: Case[] = [
  {
    name:
      "allows any client when no Server selects the port and the cluster default is all-unauthenticated",
    source: "legacy",
    verdict: "allowed",
    check: (r) => {
      assert.deepEqual(r.ports[0]!.server, {
        kind: "default",
        name: "all-unauthenticated",
        protocol: "detect",
      });
      assert.deepEqual(r.ports[0]!.authorization, "default/all-unauthenticated");
    },
  },
  {
    name:
      "denies when the pod's default-inbound-policy annotation is deny (default_policy_annotated)",
    base: { webAnnotations: { "config.linkerd.io/default-inbound-policy": "deny" } },
    verdict: "denied",
    check: (r) => assert.match(r.ports[0]!.reason, /probe/),
  },
  {
    name:
      "uses the cluster default when the annotation is invalid (default_policy_annotated_invalid)",
    base: { webAnnotations: { "config.linkerd.io/default-inbound-policy": "nonsense" } },
    env: { LINKERD_DEFAULT_INBOUND_POLICY: "deny" },
    verdict: "denied",
  },
  {
    name: "reads the cluster default from linkerd-config",
    yaml: `apiVersion: v1
kind: ConfigMap
metadata: {name: linkerd-config, namespace: linkerd}
data:
  values: |
    proxy:
      defaultInboundPolicy: deny
`,
    verdict: "denied",
  },
  {
    name: "denies an unmeshed client under all-authenticated",
    base: { webAnnotations: { "config.linkerd.io/default-inbound-policy": "all-authenticated" } },
    source: "legacy",
    verdict: "denied",
  },
  {
    name: "allows a meshed client under all-authenticated",
    base: { webAnnotations: { "config.linkerd.io/default-inbound-policy": "all-authenticated" } },
    verdict: "allowed",
  },
  {
    name: "allows an unmeshed in-cluster client under cluster-unauthenticated",
    base: {
      webAnnotations: { "config.linkerd.io/default-inbound-policy": "cluster-unauthenticated" },
      legacyIp: "10.1.2.3",
    },
    source: "legacy",
    verdict: "allowed",
  },
  {
    name: "denies a client outside the cluster networks under cluster-unauthenticated",
    base: {
      webAnnotations: { "config.linkerd.io/default-inbound-policy": "cluster-unauthenticated" },
      legacyIp: "203.0.113.9",
    },
    source: "legacy",
    verdict: "denied",
  },
  {
    name: "denies a meshed client outside the cluster networks under cluster-authenticated",
    base: {
      webAnnotations: { "config.linkerd.io/default-inbound-policy": "cluster-authenticated" },
      clientIp: "2001:db8::5",
    },
    verdict: "denied",
  },
  {
    name: "reports audit when only the audit default policy allows it",
    base: { webAnnotations: { "config.linkerd.io/default-inbound-policy": "audit" } },
    source: "legacy",
    verdict: "audit",
    check: (r) => assert.deepEqual(r.allowed, true),
  },
  {
    name: "denies an unmeshed client on a require-identity port (authenticated_annotated)",
    base: { webAnnotations: { "config.linkerd.io/proxy-require-identity-inbound-ports": "8080" } },
    source: "legacy",
    verdict: "denied",
    check: (r) => assert.deepEqual(r.ports[0]!.server.name, "all-authenticated"),
  },
  {
    name: "allows anything on a skip-inbound-ports port even under deny",
    base: {
      webAnnotations: {
        "config.linkerd.io/default-inbound-policy": "deny",
        "config.linkerd.io/skip-inbound-ports": "8000-8090",
      },
    },
    source: "legacy",
    verdict: "allowed",
    check: (r) => assert.deepEqual(r.ports[0]!.server.kind, "skipped"),
  },
  {
    name: "allows traffic to an unmeshed target (no proxy enforces policy)",
    base: { webMeshed: false },
    env: { LINKERD_DEFAULT_INBOUND_POLICY: "deny" },
    verdict: "allowed",
    check: (r) => assert.deepEqual(r.ports[0]!.server.kind, "unmeshed"),
  },
  {
    name: "denies everything on a Server with no authorization (accessPolicy deny)",
    yaml: SERVER,
    verdict: "denied",
    check: (r) => {
      assert.deepEqual(r.ports[0]!.server.name, "web-http");
      assert.match(r.ports[0]!.suggestion ?? "", /kind: AuthorizationPolicy/);
      assert.match(r.ports[0]!.suggestion ?? "", /name: client\n\s+namespace: ns/);
    },
  },
  {
    name: "reports audit on a Server with accessPolicy audit (server_audit)",
    yaml: SERVER.replace("port: http}", "port: http, accessPolicy: audit}"),
    source: "legacy",
    verdict: "audit",
  },
  {
    name:
      "reports audit for an unmeshed client when the pod was created with default audit (ns_audit)",
    base: { webAnnotations: { "config.linkerd.io/default-inbound-policy": "audit" } },
    env: { LINKERD_DEFAULT_INBOUND_POLICY: "cluster-authenticated" },
    source: "legacy",
    verdict: "audit",
  },
  {
    name: "allows the identity a MeshTLSAuthentication names (meshtls)",
    yaml: SERVER + ap("allow", "Server/web-http", MTLS_REF) +
      meshtls("client-id", `{identities: ["${ID("client")}"]}`),
    verdict: "allowed",
    check: (r) => {
      assert.deepEqual(r.ports[0]!.authorization, "authorizationpolicy/allow");
      assert.ok(r.policies.includes("MeshTLSAuthentication/client-id"));
    },
  },
  {
    name: "denies an unmeshed client under a MeshTLSAuthentication (meshtls)",
    yaml: SERVER + ap("allow", "Server/web-http", MTLS_REF) +
      meshtls("client-id", `{identities: ["*"]}`),
    source: "legacy",
    verdict: "denied",
    check: (r) => assert.match(r.ports[0]!.reason, /not meshed/),
  },
  {
    name: "allows any meshed identity with identities '*'",
    yaml: SERVER + ap("allow", "Server/web-http", MTLS_REF) +
      meshtls("client-id", `{identities: ["*"]}`),
    verdict: "allowed",
  },
  {
    name: "allows a suffix identity '*.ns...' and denies another namespace's suffix",
    yaml: SERVER + ap("allow", "Server/web-http", MTLS_REF) +
      meshtls(
        "client-id",
        `{identities: ["*.other.serviceaccount.identity.linkerd.cluster.local"]}`,
      ),
    verdict: "denied",
  },
  {
    name: "allows a ServiceAccount identityRef",
    yaml: SERVER + ap("allow", "Server/web-http", MTLS_REF) +
      meshtls("client-id", `{identityRefs: [{kind: ServiceAccount, name: client}]}`),
    verdict: "allowed",
  },
  {
    name: "allows a Namespace identityRef",
    yaml: SERVER + ap("allow", "Server/web-http", MTLS_REF) +
      meshtls("client-id", `{identityRefs: [{kind: Namespace, name: ns}]}`),
    verdict: "allowed",
  },
  {
    name: "denies another ServiceAccount than the identityRef names",
    yaml: SERVER + ap("allow", "Server/web-http", MTLS_REF) +
      meshtls("client-id", `{identityRefs: [{kind: ServiceAccount, name: web}]}`),
    verdict: "denied",
  },
  {
    name: "allows a client IP inside a NetworkAuthentication (network)",
    base: { legacyIp: "10.8.0.4" },
    yaml: SERVER + ap("allow", "Server/web-http", NET_REF) +
      netauthn("pod-net", `[{cidr: 10.8.0.0/16}]`),
    source: "legacy",
    verdict: "allowed",
  },
  {
    name: "denies a client IP in a NetworkAuthentication except block (network)",
    base: { legacyIp: "10.8.1.4" },
    yaml: SERVER + ap("allow", "Server/web-http", NET_REF) +
      netauthn("pod-net", `[{cidr: 10.8.0.0/16, except: [10.8.1.0/24]}]`),
    source: "legacy",
    verdict: "denied",
  },
  {
    name: "matches IPv6 client addresses against IPv6 networks",
    base: { legacyIp: "fd00:10::7" },
    yaml: SERVER + ap("allow", "Server/web-http", NET_REF) +
      netauthn(
        "pod-net",
        `["cidr": "fd00:10::/32"]`.replace('"cidr": "fd00:10::/32"', '{cidr: "fd00:10::/32"}'),
      ),
    source: "legacy",
    verdict: "allowed",
  },
  {
    name: "is undetermined for a NetworkAuthentication when pod IPs are unknown (manifests)",
    yaml: SERVER + ap("allow", "Server/web-http", NET_REF) +
      netauthn("pod-net", `[{cidr: 10.8.0.0/16}]`),
    source: "legacy",
    verdict: "undetermined",
    check: (r) => assert.match(r.ports[0]!.reason, /not known/),
  },
  {
    name: "requires both authentications of one policy (both)",
    base: { clientIp: "192.168.1.1" },
    yaml: SERVER +
      ap("both", "Server/web-http", `[${MTLS_REF.slice(1, -1)}, ${NET_REF.slice(1, -1)}]`) +
      meshtls("client-id", `{identities: ["${ID("client")}"]}`) +
      netauthn("pod-net", `[{cidr: 10.0.0.0/8}]`),
    verdict: "denied",
  },
  {
    name: "allows when both authentications of one policy match (both)",
    base: { clientIp: "10.1.1.1" },
    yaml: SERVER +
      ap("both", "Server/web-http", `[${MTLS_REF.slice(1, -1)}, ${NET_REF.slice(1, -1)}]`) +
      meshtls("client-id", `{identities: ["${ID("client")}"]}`) +
      netauthn("pod-net", `[{cidr: 10.0.0.0/8}]`),
    verdict: "allowed",
  },
  {
    name: "allows when either of two policies matches (either)",
    base: { legacyIp: "10.9.9.9" },
    yaml: SERVER + ap("by-id", "Server/web-http", MTLS_REF) +
      ap("by-net", "Server/web-http", NET_REF) +
      meshtls("client-id", `{identities: ["${ID("client")}"]}`) +
      netauthn("pod-net", `[{cidr: 10.9.0.0/16}]`),
    source: "legacy",
    verdict: "allowed",
    check: (r) => assert.deepEqual(r.ports[0]!.authorization, "authorizationpolicy/by-net"),
  },
  {
    name: "allows everyone with empty requiredAuthenticationRefs (empty_authentications)",
    yaml: SERVER + ap("everyone", "Server/web-http", "[]"),
    source: "legacy",
    verdict: "allowed",
  },
  {
    name:
      "ignores a policy that references a missing MeshTLSAuthentication (missing authentication refs)",
    yaml: SERVER + ap("allow", "Server/web-http", MTLS_REF),
    verdict: "denied",
    check: (r) => assert.ok(r.ports[0]!.notes.some((n) => /does not exist/.test(n))),
  },
  {
    name: "ignores a policy that references a missing NetworkAuthentication",
    yaml: SERVER + ap("allow", "Server/web-http", NET_REF),
    source: "legacy",
    verdict: "denied",
  },
  {
    name: "applies a Namespace-targeted policy to Servers in it (targets_namespace)",
    yaml: SERVER + ap("ns-wide", "Namespace/ns", "[]"),
    source: "legacy",
    verdict: "allowed",
  },
  {
    name:
      "does not apply a Namespace-targeted policy to ports without a Server (targets_namespace)",
    base: { webAnnotations: { "config.linkerd.io/default-inbound-policy": "deny" } },
    yaml: ap("ns-wide", "Namespace/ns", "[]"),
    verdict: "denied",
  },
  {
    name: "allows only the authorized route when routes are attached (targets_route)",
    yaml: SERVER + route("get-books", "/books") + route("admin", "/admin") +
      ap("books", "HTTPRoute/get-books", MTLS_REF) +
      meshtls("client-id", `{identities: ["${ID("client")}"]}`),
    verdict: "partial",
    check: (r) => {
      const routes = Object.fromEntries(r.ports[0]!.routes.map((x) => [x.route, x.decision]));
      assert.deepEqual(routes, { "HTTPRoute/get-books": "allowed", "HTTPRoute/admin": "denied" });
      assert.match(r.ports[0]!.reason, /404/);
      assert.match(r.ports[0]!.suggestion ?? "", /kind: HTTPRoute\n\s+name: admin/);
    },
  },
  {
    name: "lets a server-level policy authorize every route (targets_route)",
    yaml: SERVER + route("get-books", "/books") + route("admin", "/admin") +
      ap("srv", "Server/web-http", "[]"),
    verdict: "allowed",
  },
  {
    name: "attaches Gateway API HTTPRoutes and matches route policies by group",
    yaml: SERVER + route("get-books", "/books", "gateway.networking.k8s.io/v1") +
      ap("books", "HTTPRoute/get-books", "[]", "gateway.networking.k8s.io"),
    source: "legacy",
    verdict: "allowed",
  },
  {
    name: "does not apply a route policy whose group differs from the route's",
    yaml: SERVER + route("get-books", "/books", "gateway.networking.k8s.io/v1") +
      ap("books", "HTTPRoute/get-books", "[]", "policy.linkerd.io"),
    source: "legacy",
    verdict: "denied",
  },
  {
    name: "respects an explicit Accepted=False route status",
    yaml: SERVER + ap("srv", "Server/web-http", "[]") +
      route(
        "rejected",
        "/x",
        "policy.linkerd.io/v1beta3",
        `status:
  parents:
  - controllerName: linkerd.io/policy-controller
    parentRef: {group: policy.linkerd.io, kind: Server, name: web-http}
    conditions: [{type: Accepted, status: "False", reason: NoMatchingParent}]
`,
      ),
    verdict: "allowed",
    check: (r) => {
      assert.deepEqual(r.ports[0]!.routes, []);
      assert.ok(r.ports[0]!.notes.some((n) => /not accepted/.test(n)));
    },
  },
  {
    name: "lets the oldest Server win and lists the shadowed one (servers_ordered_by_creation)",
    yaml: SERVER.replace("2026-01-01", "2026-02-01") + ap("srv", "Server/web-http", "[]") + `---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: zz-older, namespace: ns, creationTimestamp: "2025-06-01T00:00:00Z"}
spec: {podSelector: {}, port: 8080}
`,
    source: "legacy",
    verdict: "denied",
    check: (r) => {
      assert.deepEqual(r.ports[0]!.server.name, "zz-older");
      assert.deepEqual(r.ports[0]!.shadowed, ["web-http"]);
    },
  },
  {
    name: "breaks creation-time ties by name (servers_ordered_by_creation)",
    yaml: SERVER + ap("srv", "Server/web-http", "[]") + `---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: zz-same-time, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z"}
spec: {podSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}, port: 8080}
`,
    source: "legacy",
    verdict: "allowed",
    check: (r) => assert.deepEqual(r.ports[0]!.shadowed, ["zz-same-time"]),
  },
  {
    name: "resolves a named Server port to TCP container ports only (named ports)",
    base: {
      webPorts: [{ name: "http", containerPort: 8080 }, {
        name: "http",
        containerPort: 9090,
        protocol: "UDP",
      }],
    },
    yaml: SERVER,
    verdict: "denied",
    check: (r) => assert.deepEqual(r.ports[0]!.targetPorts, [8080]),
  },
  {
    name: "does not select pods a matchExpressions selector excludes",
    yaml: SERVER.replace(
      "{matchLabels: {app: web}}",
      "{matchExpressions: [{key: app, operator: NotIn, values: [web]}]}",
    ),
    verdict: "allowed",
    check: (r) => assert.deepEqual(r.ports[0]!.server.kind, "default"),
  },
  {
    name: "allows through a ServerAuthorization linked by name (links_server_authz_by_name)",
    yaml: SERVER + `---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: web-public, namespace: ns}
spec: {server: {name: web-http}, client: {unauthenticated: true, networks: [{cidr: 0.0.0.0/0}, {cidr: "::/0"}]}}
`,
    source: "legacy",
    verdict: "allowed",
    check: (r) => assert.deepEqual(r.ports[0]!.authorization, "serverauthorization/web-public"),
  },
  {
    name: "allows through a ServerAuthorization linked by label (links_server_authz_by_label)",
    yaml: SERVER + `---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: front, namespace: ns}
spec: {server: {selector: {matchLabels: {tier: front}}}, client: {meshTLS: {serviceAccounts: [{name: client}]}}}
`,
    verdict: "allowed",
  },
  {
    name: "limits a ServerAuthorization without networks to the cluster networks",
    base: { legacyIp: "198.51.100.7" },
    yaml: SERVER + `---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: anyone, namespace: ns}
spec: {server: {name: web-http}, client: {unauthenticated: true}}
`,
    source: "legacy",
    verdict: "denied",
  },
  {
    name: "marks a port opaque from the pod annotation and drops its probe route",
    base: {
      webAnnotations: {
        "config.linkerd.io/opaque-ports": "8080",
        "config.linkerd.io/default-inbound-policy": "deny",
      },
    },
    verdict: "denied",
    check: (r) => {
      assert.equal(r.ports[0]!.server.protocol, "opaque");
      assert.doesNotMatch(r.ports[0]!.reason, /probe/);
    },
  },
  {
    name: "allows a meshed client through ServerAuthorization unauthenticatedTLS",
    yaml: SERVER + `---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: tls-any, namespace: ns}
spec: {server: {name: web-http}, client: {meshTLS: {unauthenticatedTLS: true}}}
`,
    verdict: "allowed",
  },
  {
    name: "denies an unmeshed client under ServerAuthorization unauthenticatedTLS",
    yaml: SERVER + `---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: tls-any, namespace: ns}
spec: {server: {name: web-http}, client: {meshTLS: {unauthenticatedTLS: true}}}
`,
    source: "legacy",
    verdict: "denied",
  },
  {
    name: "reports allowed, not audit, when a real authorization matches on an audit Server",
    yaml: SERVER.replace("port: http}", "port: http, accessPolicy: audit}") +
      ap("allow", "Server/web-http", MTLS_REF) +
      meshtls("client-id", `{identities: ["${ID("client")}"]}`),
    verdict: "allowed",
    check: (r) => assert.equal(r.ports[0]!.authorization, "authorizationpolicy/allow"),
  },
  {
    name: "rejects a policy whose Server targetRef omits the group",
    yaml: SERVER + ap("allow", "Server/web-http", "[]", ""),
    source: "legacy",
    verdict: "denied",
    check: (r) => assert.ok(r.ports[0]!.notes.some((n) => /unsupported kind/.test(n))),
  },
  {
    name: "ignores route policies on an opaque Server",
    yaml: SERVER.replace("port: http}", "port: http, proxyProtocol: opaque}") +
      route("get-books", "/books") +
      ap("books", "HTTPRoute/get-books", "[]"),
    source: "legacy",
    verdict: "denied",
  },
];

for (const c of CASES) {
  Deno.test(`analyzeAccess() ${c.name}`, () => {
    const idx = indexOf([...base(c.base), ...(c.yaml ? yaml(c.yaml) : [])], c.env ?? {});
    const r = analyzeAccess(idx, {
      source: { namespace: "ns", service: c.source ?? "client" },
      target: { namespace: "ns", service: "web" },
    });
    assert.deepEqual(r.verdict, c.verdict, r.explanation);
    assert.deepEqual(r.allowed, c.verdict === "allowed" || c.verdict === "audit");
    c.check?.(r);
  });
  Deno.test(`allowedTargets() and allowedSources() agree with analyzeAccess() when the case ${c.name}`, () => {
    const idx = indexOf([...base(c.base), ...(c.yaml ? yaml(c.yaml) : [])], c.env ?? {});
    const source = c.source ?? "client";
    const t = allowedTargets(idx, { namespace: "ns", service: source });
    const web = t.allowedTargets.find((x) => x.service === "web");
    assert.equal(web?.verdict ?? "denied", c.verdict);
    const s = allowedSources(idx, { namespace: "ns", service: "web" });
    const entry = s.allowedSources.find((x) => x.kind === "service" && x.service === source);
    assert.equal(entry?.verdict ?? "denied", c.verdict);
  });
}

Deno.test("analyzeAccess() reports partial when the source's pods differ (one ServiceAccount authorized)", () => {
  const objects = [
    ...base(),
    mkPod("client-1", { app: "client", sa: "other" }),
    ...yaml(
      SERVER + ap("allow", "Server/web-http", MTLS_REF) +
        meshtls("client-id", `{identities: ["${ID("client")}"]}`),
    ),
  ];
  const r = analyzeAccess(indexOf(objects), {
    source: { namespace: "ns", service: "client" },
    target: { namespace: "ns", service: "web" },
  });
  assert.deepEqual(r.verdict, "partial");
  assert.deepEqual(r.allowed, false);
  assert.deepEqual(r.source.identities, [ID("client"), ID("other")]);
});

Deno.test("analyzeAccess() grants kubelet probes only while no route is attached (routes_created_for_probes)", async () => {
  const { inboundServer } = await import("../../src/policy/mod.ts");
  const pod = base()[1] as Pod;
  const without = indexOf([...base(), ...yaml(SERVER)]);
  assert.deepEqual(inboundServer(without, { pod, port: 8080 }).probePaths, ["/ready"]);
  const withRoute = indexOf([...base(), ...yaml(SERVER + route("r", "/x"))]);
  assert.deepEqual(inboundServer(withRoute, { pod, port: 8080 }).probePaths, []);
});

Deno.test("analyzeAccess() uses GRPCRoutes on a gRPC Server and rejects HTTPRoutes in conflict", async () => {
  const { inboundServer } = await import("../../src/policy/mod.ts");
  const objects = [
    ...base(),
    ...yaml(
      SERVER.replace("port: http}", "port: http, proxyProtocol: gRPC}") + `---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc-get, namespace: ns}
spec:
  parentRefs: [{name: web-http, kind: Server, group: policy.linkerd.io}]
  rules: [{matches: [{method: {service: books.Books, method: Get}}]}]
` + route("http-one", "/") + ap("g", "GRPCRoute/grpc-get", "[]", "gateway.networking.k8s.io"),
    ),
  ];
  const idx = indexOf(objects);
  const s = inboundServer(idx, { pod: objects[1] as Pod, port: 8080 });
  assert.deepEqual(s.routes.map((r) => r.name), ["grpc-get"]);
  assert.ok(s.notes.some((n) => /RouteReasonConflicted/.test(n)));
  const r = analyzeAccess(idx, {
    source: { namespace: "ns", service: "legacy" },
    target: { namespace: "ns", service: "web" },
  });
  assert.deepEqual(r.verdict, "allowed");
});
