import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { RESOURCES } from "../../src/kube/resources.ts";
import { LINKERD_CONFIGMAPS } from "../../src/kube/state.ts";
import { WRITABLE_KEYS } from "../../src/writes/policy_yaml.ts";
import { render } from "./_template.ts";

const chart = new URL("../../helm/linkerd-mcp/", import.meta.url);
const defaults = parse(Deno.readTextFileSync(new URL("values.yaml", chart))) as Record<
  string,
  unknown
>;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
}

/** Renders the chart's RBAC templates and returns the Roles and ClusterRoles. */
function roles(overrides: Record<string, unknown> = {}): RbacObject[] {
  const values = structuredClone(defaults);
  for (const [path, v] of Object.entries(overrides)) {
    const keys = path.split(".");
    let o = values as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
    o[keys.at(-1)!] = v;
  }
  const out: RbacObject[] = [];
  for (const file of ["clusterrole.yaml", "role-linkerd.yaml"]) {
    const text = render(Deno.readTextFileSync(new URL(`templates/${file}`, chart)), values);
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}\n${text}`);
      const obj = doc.toJS() as RbacObject | null;
      if (obj && (obj.kind === "ClusterRole" || obj.kind === "Role")) out.push(obj);
    }
  }
  return out;
}

/** `group/resource` pairs with their verbs and names, per kind. */
function grants(objs: RbacObject[]) {
  const list: { kind: string; ns?: string; key: string; verbs: string[]; names?: string[] }[] = [];
  for (const o of objs) {
    for (const r of o.rules ?? []) {
      for (const g of r.apiGroups) {
        for (const res of r.resources) {
          list.push({
            kind: o.kind,
            ...(o.metadata.namespace ? { ns: o.metadata.namespace } : {}),
            key: `${g}/${res}`,
            verbs: [...r.verbs].sort(),
            ...(r.resourceNames ? { names: [...r.resourceNames].sort() } : {}),
          });
        }
      }
    }
  }
  return list;
}

const READ = ["get", "list", "watch"];
const BY_NAME_ONLY = new Set(["/configmaps"]);
const codeReads = new Set(
  Object.values(RESOURCES).map((r) => `${r.group}/${r.plural}`),
);

Deno.test("the ClusterRole grants get/list/watch on every resource the code reads", () => {
  const cluster = grants(roles()).filter((g) => g.kind === "ClusterRole");
  for (const key of codeReads) {
    if (BY_NAME_ONLY.has(key)) continue;
    const g = cluster.find((c) => c.key === key);
    assert.ok(g, `${key} is read by the code (src/kube/resources.ts) but not granted`);
    assert.deepEqual(g.verbs, READ, key);
  }
});

Deno.test("the chart grants nothing the code does not read", () => {
  const extras = new Set(["/services/proxy", "authentication.k8s.io/tokenreviews"]);
  for (
    const overrides of [{}, { "auth.tokenReview": { enabled: true } }]
  ) {
    for (const g of grants(roles(overrides))) {
      assert.ok(
        codeReads.has(g.key) || extras.has(g.key),
        `${g.key} is granted but src/kube/resources.ts does not list it`,
      );
      assert.ok(!g.key.endsWith("/secrets"), "Secrets must never be granted");
      assert.ok(!g.key.includes("*") && !g.verbs.includes("*"), `wildcard in ${g.key}`);
      if (g.key === "authentication.k8s.io/tokenreviews") assert.deepEqual(g.verbs, ["create"]);
      else if (g.key === "/services/proxy") assert.deepEqual(g.verbs, ["get"], g.key);
      else assert.deepEqual(g.verbs, READ, g.key);
    }
  }
});

Deno.test("ConfigMaps are granted by name only (get, and list/watch by name), in the control-plane namespace", () => {
  // list/watch by resourceNames serve the live source's single-object watches
  // (fieldSelector=metadata.name=NAME, src/kube/live.ts); no ConfigMap is listed otherwise.
  const cms = grants(roles()).filter((g) => g.key === "/configmaps");
  assert.deepEqual(cms, [{
    kind: "Role",
    ns: "linkerd",
    key: "/configmaps",
    verbs: READ,
    names: [...LINKERD_CONFIGMAPS].sort(),
  }]);
  const moved = grants(roles({ "linkerd.namespace": "mesh-system" }))
    .filter((g) => g.key === "/configmaps");
  assert.equal(moved[0]?.ns, "mesh-system");
});

Deno.test("the Prometheus proxy grant is get on the viz Prometheus service only, and optional", () => {
  const proxy = grants(roles()).filter((g) => g.key === "/services/proxy");
  assert.deepEqual(proxy, [{
    kind: "Role",
    ns: "linkerd-viz",
    key: "/services/proxy",
    verbs: ["get"],
    names: ["prometheus", "prometheus:9090"],
  }]);
  const off = grants(roles({ "prometheus.proxyFallback": false }));
  assert.ok(!off.some((g) => g.key === "/services/proxy"));
});

Deno.test("tokenreviews create is granted only when the TokenReview option is on", () => {
  const key = "authentication.k8s.io/tokenreviews";
  assert.ok(!grants(roles()).some((g) => g.key === key));
  const on = grants(roles({ "auth.tokenReview": { enabled: true } })).filter((g) => g.key === key);
  assert.deepEqual(on.map((g) => [g.kind, g.verbs]), [["ClusterRole", ["create"]]]);
});

Deno.test("no RBAC objects are rendered when rbac.create is false", () => {
  assert.deepEqual(roles({ "rbac.create": false }), []);
});

Deno.test("write verbs exist only with writes.enabled, only on the policy resources the write tools write", () => {
  const WRITE = ["create", "delete", "patch"];
  const isWrite = (g: { verbs: string[] }) => g.verbs.some((v) => !READ.includes(v));
  for (const overrides of [{}, { "auth.tokenReview": { enabled: true } }]) {
    const writes = grants(roles(overrides)).filter(isWrite);
    assert.deepEqual(
      writes.filter((g) => g.key !== "authentication.k8s.io/tokenreviews"),
      [],
      "no write verb without writes.enabled",
    );
  }
  const on = grants(roles({ "writes.enabled": true })).filter(isWrite);
  const expected = WRITABLE_KEYS.map((k) => `${RESOURCES[k].group}/${RESOURCES[k].plural}`).sort();
  assert.deepEqual(on.map((g) => g.key).sort(), expected);
  for (const g of on) {
    assert.equal(g.kind, "ClusterRole");
    assert.deepEqual(g.verbs, WRITE, g.key);
    assert.ok(!g.key.endsWith("/secrets"));
  }
  // Reads are unchanged by writes.enabled.
  const reads = (o: Record<string, unknown>) =>
    grants(roles(o)).filter((g) => !isWrite(g)).map((g) => `${g.kind} ${g.key} ${g.verbs}`).sort();
  assert.deepEqual(reads({ "writes.enabled": true }), reads({}));
});

Deno.test("the Deployment passes --allow-writes only inside the writes.enabled condition", () => {
  const tpl = Deno.readTextFileSync(new URL("templates/deployment.yaml", chart));
  const uses = [...tpl.matchAll(/--allow-writes/g)];
  assert.equal(uses.length, 1);
  assert.match(
    tpl,
    /\{\{- if \.Values\.writes\.enabled \}\}\s*\n\s*- --allow-writes\s*\n\s*\{\{- end \}\}/,
  );
});
