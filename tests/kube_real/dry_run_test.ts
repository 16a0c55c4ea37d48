/**
 * CRD schemas decide: every policy YAML the tools generate (analyze_connectivity's
 * suggestions for each kind of denial, validate_mesh_config's remediations) is accepted by
 * the real kube-apiserver with the upstream CRDs, in a server-side dry run with strict field
 * validation. And the schema facts some validation rules rest on (fields a version lacks are
 * dropped) hold on the real server.
 */
import assert from "node:assert/strict";
import { MemorySource } from "../../src/kube/memory.ts";
import { resourceKeyFor, RESOURCES, type ResourceType } from "../../src/kube/resources.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { objectsFromYaml } from "../_helpers.ts";
import {
  collectionPath,
  KUBE_SKIP_REASON,
  type RealKube,
  startRealKube,
} from "../support/kube_real.ts";
import { type Data, depsFor, ok } from "./_sources.ts";

const NS = "dryrun";

function pod(name: string, app: string, opts: { meshed: boolean; ip?: string }): string {
  return `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${NS}
  labels: {app: ${app}${opts.meshed ? ", linkerd.io/control-plane-ns: linkerd" : ""}}
spec:
  serviceAccountName: ${app}
  containers:
    - name: main
      image: example/app:1
      ports: [{name: http, containerPort: 8080}]
${
    opts.meshed
      ? "    - {name: linkerd-proxy, image: cr.l5d.io/linkerd/proxy:stable-2.14.10}\n"
      : ""
  }${opts.ip ? `status: {phase: Running, podIP: ${opts.ip}, podIPs: [{ip: ${opts.ip}}]}\n` : ""}---
apiVersion: v1
kind: Service
metadata: {name: ${app}, namespace: ${NS}}
spec:
  selector: {app: ${app}}
  ports: [{name: http, port: 80, targetPort: 8080}]
`;
}

const BASE = [
  pod("web-0", "web", { meshed: true, ip: "10.42.0.10" }),
  pod("client-0", "client", { meshed: true, ip: "10.42.0.11" }),
  pod("legacy-0", "legacy", { meshed: false, ip: "10.42.0.12" }),
  pod("noip-0", "noip", { meshed: false }),
].join("---\n");

const SERVER = `---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: ${NS}}
spec: {podSelector: {matchLabels: {app: web}}, port: http}
`;

const route = (apiVersion: string, kind: string, name: string) =>
  `---
apiVersion: ${apiVersion}
kind: ${kind}
metadata: {name: ${name}, namespace: ${NS}}
spec:
  parentRefs: [{name: web-http, kind: Server, group: policy.linkerd.io}]
  rules: [{matches: [{path: {value: /books}}]}]
`;

/** Scenarios whose analysis must end in a suggestion: [name, YAML, source, env]. */
const SCENARIOS: Array<[string, string, string, Record<string, string>?]> = [
  ["a Server denies a meshed client", SERVER, "client"],
  [
    "a Linkerd HTTPRoute denies",
    SERVER + route("policy.linkerd.io/v1beta3", "HTTPRoute", "books"),
    "client",
  ],
  [
    "a Gateway API HTTPRoute denies",
    SERVER + route("gateway.networking.k8s.io/v1", "HTTPRoute", "books-gw"),
    "client",
  ],
  ["the default policy is deny", "", "client", { LINKERD_DEFAULT_INBOUND_POLICY: "deny" }],
  ["an unmeshed client with a pod IP", SERVER, "legacy"],
  ["an unmeshed client without a pod IP", SERVER, "noip"],
  ["deny by default, unmeshed client", "", "legacy", { LINKERD_DEFAULT_INBOUND_POLICY: "deny" }],
];

/** ServerAuthorizations of every shape the remediation translates. */
const SAZ = [
  [
    "identities",
    "client: {meshTLS: {identities: ['client.dryrun.serviceaccount.identity.linkerd.cluster.local']}}",
  ],
  [
    "service-accounts",
    "client: {meshTLS: {serviceAccounts: [{name: client}, {name: other, namespace: elsewhere}]}}",
  ],
  ["unauthenticated-tls", "client: {meshTLS: {unauthenticatedTLS: true}}"],
  [
    "networks",
    "client: {unauthenticated: true, networks: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]}",
  ],
  ["cluster-networks", "client: {unauthenticated: true}"],
].map(([name, client]) =>
  `---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: saz-${name}, namespace: ${NS}}
spec:
  server: {name: web-http}
  ${client}
`
).join("");

/** Every YAML block in a tool answer: text from an `apiVersion:` line on. */
function yamlIn(data: Data): KubeObject[] {
  const out: KubeObject[] = [];
  const walk = (v: Data) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
    else if (typeof v === "string") {
      const at = v.search(/^apiVersion: /m);
      if (at >= 0) out.push(...objectsFromYaml(v.slice(at)));
    }
  };
  walk(data);
  return out;
}

async function dryRun(kube: RealKube, obj: KubeObject, validation = "Strict") {
  const key = resourceKeyFor(obj.apiVersion, obj.kind);
  assert.ok(key, `generated an unknown kind: ${obj.apiVersion} ${obj.kind}`);
  const r: ResourceType = RESOURCES[key];
  const version = obj.apiVersion.split("/").at(-1)!;
  return await kube.request("POST", collectionPath(r, version, obj.metadata.namespace), obj, {
    query: { dryRun: "All", fieldValidation: validation },
  });
}

Deno.test({
  name: "real API server: every generated policy YAML passes a server-side dry run",
  ignore: KUBE_SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using kube = await startRealKube();
    await kube.must("POST", "/api/v1/namespaces", { metadata: { name: NS } });
    const generated: Array<{ from: string; obj: KubeObject }> = [];

    await t.step("analyze_connectivity suggests a change in every scenario", async () => {
      for (const [name, extra, source, env] of SCENARIOS) {
        const objects = objectsFromYaml(BASE + extra);
        const cluster = new MemorySource(objects, { kind: "manifests", description: name });
        const d: Data = await ok(depsFor(cluster, env), "analyze_connectivity", {
          source_namespace: NS,
          source_service: source,
          target_service: "web",
        });
        assert.notEqual(d.verdict, "allowed", `${name}: ${d.explanation}`);
        const docs = yamlIn(d.ports);
        assert.ok(docs.length > 0, `${name}: no YAML in ${JSON.stringify(d.ports)}`);
        for (const obj of docs) generated.push({ from: `suggestion (${name})`, obj });
      }
    });

    await t.step(
      "validate_mesh_config's remediations carry YAML for every ServerAuthorization",
      async () => {
        const objects = objectsFromYaml(BASE + SERVER + SAZ);
        const cluster = new MemorySource(objects, { kind: "manifests", description: "saz" });
        const d: Data = await ok(depsFor(cluster), "validate_mesh_config", { limit: 1000 });
        const docs = yamlIn(d.results ?? d);
        const names = new Set(docs.map((o) => o.metadata.name));
        for (
          const s of [
            "identities",
            "service-accounts",
            "unauthenticated-tls",
            "networks",
            "cluster-networks",
          ]
        ) {
          assert.ok(names.has(`saz-${s}`), `no replacement for saz-${s}: ${[...names].join(", ")}`);
        }
        for (const obj of docs) generated.push({ from: "validate_mesh_config remediation", obj });
      },
    );

    await t.step(
      "the real API server accepts each of them (dryRun=All, fieldValidation=Strict)",
      async () => {
        const kinds = new Set<string>();
        const rejected: string[] = [];
        for (const { from, obj } of generated) {
          const res = await dryRun(kube, obj);
          kinds.add(`${obj.apiVersion} ${obj.kind}`);
          if (res.status !== 201 && res.status !== 200) {
            rejected.push(
              `${from}: ${obj.kind} ${obj.metadata.name}: ${res.status} ${
                res.json?.message ?? res.text
              }`,
            );
          }
        }
        Deno.stderr.writeSync(new TextEncoder().encode(
          `  dry-run accepted ${generated.length - rejected.length} of ${generated.length} ` +
            `generated objects: ${[...kinds].sort().join(", ")}\n`,
        ));
        assert.deepEqual(rejected, [], rejected.join("\n"));
        for (
          const k of [
            "policy.linkerd.io/v1beta3 Server",
            "policy.linkerd.io/v1alpha1 AuthorizationPolicy",
            "policy.linkerd.io/v1alpha1 MeshTLSAuthentication",
            "policy.linkerd.io/v1alpha1 NetworkAuthentication",
          ]
        ) assert.ok(kinds.has(k), `no ${k} generated: ${[...kinds].join(", ")}`);
        // A dry run persists nothing.
        const list = await kube.must(
          "GET",
          `/apis/policy.linkerd.io/v1alpha1/namespaces/${NS}/authorizationpolicies`,
        );
        assert.deepEqual(list.json.items, []);
      },
    );

    await t.step("the dry run is a real check: a broken policy is refused", async () => {
      const bad = objectsFromYaml(`
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: broken, namespace: ${NS}}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs: [{kind: MeshTLSAuthentication, group: policy.linkerd.io, name: x, colour: red}]
`)[0]!;
      const res = await dryRun(kube, bad);
      assert.equal(res.status, 400, res.text.slice(0, 300));
      assert.match(res.json.message, /unknown field "spec.requiredAuthenticationRefs\[0\].colour"/);
    });

    await t.step(
      "fields older versions lack are dropped, as the validation rules say",
      async () => {
        // routes.ts: a v1beta1/v1beta2 HTTPRoute "has no timeouts field; the API server drops them".
        // server.ts: a Server before v1beta3 "has no accessPolicy field".
        const cases: Array<[string, string]> = [
          [
            "spec.rules[0].timeouts",
            `
apiVersion: policy.linkerd.io/v1beta2
kind: HTTPRoute
metadata: {name: old-route, namespace: ${NS}}
spec:
  parentRefs: [{name: web-http, kind: Server, group: policy.linkerd.io}]
  rules: [{timeouts: {request: 10s}}]
`,
          ],
          [
            "spec.accessPolicy",
            `
apiVersion: policy.linkerd.io/v1beta2
kind: Server
metadata: {name: old-server, namespace: ${NS}}
spec: {podSelector: {matchLabels: {app: web}}, port: 8080, accessPolicy: deny}
`,
          ],
        ];
        for (const [field, text] of cases) {
          const obj = objectsFromYaml(text)[0]!;
          const strict = await dryRun(kube, obj);
          assert.equal(strict.status, 400, `${field}: ${strict.text.slice(0, 300)}`);
          assert.ok(strict.json.message.includes(`unknown field "${field}"`), strict.json.message);
          const lax = await dryRun(kube, obj, "Ignore");
          assert.equal(lax.status, 201, lax.text.slice(0, 300));
          const path = field.split(".").map((p) => p.replace(/\[0\]$/, ""));
          let v: Data = lax.json;
          for (const p of path) v = Array.isArray(v) ? v[0]?.[p] : v?.[p];
          assert.equal(v, undefined, `${field} should be pruned: ${JSON.stringify(lax.json.spec)}`);
        }
      },
    );
  },
});
