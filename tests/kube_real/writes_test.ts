/**
 * The write tools against the REAL kube-apiserver (dry run, field managers, conflicts,
 * optimistic concurrency all implemented by the server itself): a dry run changes nothing;
 * a real apply creates exactly the objects, marked and owned by field manager linkerd-mcp;
 * a field another manager owns is a reported conflict; rollback deletes what a change
 * created and restores what it changed; enforce refuses while (fake) audit analysis sees
 * would-be-denied traffic and flips accessPolicy when clean.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import type { LiveSource } from "../../src/kube/live.ts";
import { SILENT } from "../../src/log.ts";
import { runTool, type ToolDeps } from "../../src/tools/_spec.ts";
import { type AnalyzeAuditFn, writeTools } from "../../src/tools/writes.ts";
import { parse, parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/kube/types.ts";
import { NO_PROMETHEUS } from "../_helpers.ts";
import { render } from "../helm/_template.ts";
import { KUBE_SKIP_REASON, type RealKube, startRealKube } from "../support/kube_real.ts";
import { type Data, liveSource } from "./_sources.ts";

const NS = "shop";
const SERVERS = `/apis/policy.linkerd.io/v1beta3/namespaces/${NS}/servers`;
const MESHTLS = `/apis/policy.linkerd.io/v1alpha1/namespaces/${NS}/meshtlsauthentications`;
const AUTHZ = `/apis/policy.linkerd.io/v1alpha1/namespaces/${NS}/authorizationpolicies`;

const WEB_SERVER = {
  apiVersion: "policy.linkerd.io/v1beta3",
  kind: "Server",
  metadata: { name: "web-http", namespace: NS, labels: { team: "web" } },
  spec: { podSelector: { matchLabels: { app: "web" } }, port: "http", accessPolicy: "audit" },
};

const NEW_POLICY = `apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: web-clients, namespace: ${NS}}
spec: {identities: ["client.${NS}.serviceaccount.identity.linkerd.cluster.local"]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-clients, namespace: ${NS}}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-clients}]
`;

/** Sets fields nobody owns yet (a label, a selector key): no conflict. */
const CHANGE_WEB = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: ${NS}, labels: {tier: frontend}}
spec:
  podSelector: {matchLabels: {app: web, tier: frontend}}
  port: http
`;

/** A later change of an object the first apply created (same field manager: no conflict). */
const CHANGE_MESHTLS = `apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: web-clients, namespace: ${NS}}
spec: {identities: ["other.${NS}.serviceaccount.identity.linkerd.cluster.local"]}
`;

/** Changes a field the creating manager owns (accessPolicy): a conflict. */
const CONFLICTING = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: ${NS}}
spec:
  podSelector: {matchLabels: {app: web}}
  port: http
  accessPolicy: deny
`;

const CHART = new URL("../../helm/linkerd-mcp/", import.meta.url);

/** The chart's ClusterRole (and binding) for `writes.enabled`, bound to the static user `user`. */
function chartClusterRole(user: string, writes: boolean): KubeObject[] {
  const values = parse(Deno.readTextFileSync(new URL("values.yaml", CHART))) as Record<
    string,
    Record<string, unknown>
  >;
  values["writes"] = { enabled: writes };
  const text = render(Deno.readTextFileSync(new URL("templates/clusterrole.yaml", CHART)), values);
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as KubeObject | null;
    if (!obj) continue;
    obj.metadata = { name: `${user}-writes-${writes}` };
    if (obj["roleRef"]) {
      (obj["roleRef"] as { name: string }).name = `${user}-writes-${writes}`;
      obj["subjects"] = [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: user }];
    }
    out.push(obj);
  }
  return out;
}

let n = 0;
function deps(cluster: LiveSource): ToolDeps {
  return {
    cluster,
    config: loadConfig({ LINKERD_MCP_ALLOW_WRITES: "1" }),
    prom: NO_PROMETHEUS,
    log: SILENT,
    // A new second per call: change ids sort by time.
    now: () => new Date(Date.UTC(2026, 11, 1, 9, 0, n++)),
  };
}

async function call(
  d: ToolDeps,
  name: string,
  args: Record<string, unknown>,
  audit?: AnalyzeAuditFn,
): Promise<Data> {
  const spec = writeTools(audit ? { analyzeAudit: audit } : {}).find((t) => t.name === name)!;
  const out = await runTool(spec, args, d);
  assert.ok(out.ok, !out.ok ? out.error : "");
  return out.data;
}

async function state(kube: RealKube) {
  const get = async (p: string) => (await kube.must("GET", p)).json.items as Data[];
  const strip = (o: Data) => ({
    name: o.metadata.name,
    labels: o.metadata.labels ?? {},
    annotations: o.metadata.annotations ?? {},
    spec: o.spec,
  });
  return {
    servers: (await get(SERVERS)).map(strip),
    meshtls: (await get(MESHTLS)).map(strip),
    authz: (await get(AUTHZ)).map(strip),
  };
}

Deno.test({
  name: "real API server: apply, conflict, rollback and enforce",
  ignore: KUBE_SKIP_REASON !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using kube = await startRealKube();
    await kube.must("POST", "/api/v1/namespaces", { metadata: { name: NS } });
    // Created as kubectl would: the fields belong to another manager.
    await kube.must("POST", SERVERS, WEB_SERVER, { query: { fieldManager: "kubectl-create" } });
    const source = await liveSource(kube.users.admin.kubeconfigPath);
    const d = deps(source);
    const initial = await state(kube);

    await t.step("a dry run returns the diff and changes nothing", async () => {
      const r = await call(d, "apply_policies", { yaml: NEW_POLICY });
      assert.equal(r.dryRun, true);
      assert.equal(r.serverValidated, true);
      assert.equal(r.written, false);
      assert.deepEqual(r.objects.map((o: Data) => [o.kind, o.action]), [
        ["MeshTLSAuthentication", "create"],
        ["AuthorizationPolicy", "create"],
      ]);
      const paths = r.objects[0].changes.map((c: Data) => c.path);
      assert.ok(paths.includes("spec.identities"), paths.join());
      assert.deepEqual(await state(kube), initial);
    });

    let created = "";
    await t.step("a real apply creates exactly the objects, marked, as linkerd-mcp", async () => {
      const r = await call(d, "apply_policies", { yaml: NEW_POLICY, dry_run: false });
      assert.equal(r.written, true, r.summary);
      created = r.changeId;
      assert.equal(r.rollback.arguments.change_id, created);
      const now = await state(kube);
      assert.deepEqual(now.servers, initial.servers);
      assert.deepEqual(now.meshtls.map((o) => o.name), ["web-clients"]);
      assert.deepEqual(now.authz.map((o) => o.name), ["web-clients"]);
      for (const o of [...now.meshtls, ...now.authz]) {
        assert.equal(o.labels["app.kubernetes.io/managed-by"], "linkerd-mcp");
        assert.equal(o.labels["linkerd-mcp/change-id"], created);
      }
      const raw = (await kube.must("GET", `${MESHTLS}/web-clients`)).json;
      assert.deepEqual(
        raw.metadata.managedFields.map((m: Data) => [m.manager, m.operation]),
        [["linkerd-mcp", "Apply"]],
      );
    });

    await t.step(
      "a field another manager owns is reported as a conflict; nothing written",
      async () => {
        const before = await state(kube);
        const r = await call(d, "apply_policies", { yaml: CONFLICTING, dry_run: false });
        assert.equal(r.written, false);
        const o = r.objects[0];
        assert.match(o.error, /conflict/i);
        assert.ok(
          o.causes.some((c: string) => /kubectl-create/.test(c) && /accessPolicy/.test(c)),
          o.causes.join("; "),
        );
        assert.deepEqual(await state(kube), before);
      },
    );

    await t.step("an unknown field (a typo) is refused by strict field validation", async () => {
      const typo = CHANGE_WEB.replace("port: http", "port: http\n  acessPolicy: deny");
      const r = await call(d, "apply_policies", { yaml: typo });
      assert.equal(r.written, false);
      assert.match(r.objects[0].error, /acessPolicy/);
    });

    let changed = "";
    await t.step("a change to an existing object keeps its previous version", async () => {
      const dry = await call(d, "apply_policies", { yaml: CHANGE_WEB });
      assert.equal(dry.objects[0].error, undefined, dry.objects[0].error);
      assert.deepEqual(dry.objects[0].diff.sort(), [
        '+ metadata.labels.tier: "frontend"',
        '+ spec.podSelector.matchLabels.tier: "frontend"',
      ]);
      assert.deepEqual(await state(kube), await state(kube));
      const r = await call(d, "apply_policies", { yaml: CHANGE_WEB, dry_run: false });
      assert.equal(r.written, true, r.summary);
      changed = r.changeId;
      const web = (await state(kube)).servers[0]!;
      assert.equal(web.spec.podSelector.matchLabels.tier, "frontend");
      assert.equal(web.labels.tier, "frontend");
      assert.equal(web.labels["app.kubernetes.io/managed-by"], undefined, "not claimed");
      assert.ok(web.annotations[`linkerd-mcp/previous-${changed}`]);
    });

    let later = "";
    await t.step("rolling back a change a later change built on is refused", async () => {
      const r = await call(d, "apply_policies", { yaml: CHANGE_MESHTLS, dry_run: false });
      assert.equal(r.written, true, r.summary);
      later = r.changeId;
      const meshtls = (await state(kube)).meshtls[0]!;
      assert.equal(meshtls.labels["app.kubernetes.io/managed-by"], "linkerd-mcp", "marks kept");
      assert.equal(meshtls.annotations["linkerd-mcp/created-by-change"], created);
      const before = await state(kube);
      const refused = await call(d, "rollback_policies", { change_id: created, dry_run: false });
      assert.equal(refused.written, false);
      const blocked = refused.objects.find((o: Data) => o.action === "blocked");
      assert.match(blocked.error, new RegExp(later));
      assert.deepEqual(await state(kube), before);
    });

    await t.step("rollback, newest first, restores the previous state exactly", async () => {
      const dry = await call(d, "rollback_policies", { change_id: changed });
      assert.equal(dry.written, false);
      assert.deepEqual(dry.objects.map((o: Data) => o.action), ["restore"]);
      for (const id of [later, changed]) {
        const r = await call(d, "rollback_policies", { change_id: id, dry_run: false });
        assert.equal(r.written, true, r.summary);
      }
      const after = await state(kube);
      assert.deepEqual(after.servers, initial.servers, "web-http is back to its previous version");
      const r = await call(d, "rollback_policies", { change_id: created, dry_run: false });
      assert.deepEqual(r.objects.map((o: Data) => o.action).sort(), ["delete", "delete"]);
      assert.deepEqual(await state(kube), initial, "everything the change created is gone");
      const again = await runTool(
        writeTools().find((x) => x.name === "rollback_policies")!,
        { change_id: created },
        d,
      );
      assert.match(!again.ok ? again.error : "", /No policy resource carries change/);
    });

    await t.step("enforce refuses while audit sees would-be-denied traffic", async () => {
      const dirty: AnalyzeAuditFn = () =>
        Promise.resolve({
          wouldBeDenied: [{
            client: { identity: `client.${NS}.serviceaccount.identity.linkerd.cluster.local` },
            target: { namespace: NS, server: "web-http", port: 8080 },
            protocol: "http",
            requestRate: 1,
            reason: "no policy names this identity",
          }],
        });
      const r = await call(d, "enforce_policies", { namespace: NS, dry_run: false }, dirty);
      assert.equal(r.refused, true);
      assert.equal(r.wouldBeDenied.length, 1);
      assert.deepEqual(await state(kube), initial);
    });

    await t.step(
      "enforce flips accessPolicy to deny when clean; rollback restores audit",
      async () => {
        const clean: AnalyzeAuditFn = () => Promise.resolve({ wouldBeDenied: [] });
        const dry = await call(d, "enforce_policies", { namespace: NS }, clean);
        assert.deepEqual(dry.objects[0].diff, ['~ spec.accessPolicy: "audit" -> "deny"']);
        assert.deepEqual(await state(kube), initial);
        const r = await call(d, "enforce_policies", { namespace: NS, dry_run: false }, clean);
        assert.equal(r.written, true, r.summary);
        assert.equal((await state(kube)).servers[0]!.spec.accessPolicy, "deny");
        const raw = (await kube.must("GET", `${SERVERS}/web-http`)).json;
        assert.ok(raw.metadata.managedFields.some((m: Data) => m.manager === "linkerd-mcp"));
        const back = await call(d, "rollback_policies", { change_id: r.changeId, dry_run: false });
        assert.equal(back.written, true, back.summary);
        assert.deepEqual(await state(kube), initial);
      },
    );
    await t.step("the chart's RBAC: writes only with writes.enabled, never Secrets", async () => {
      const { reader, nobody } = kube.users;
      for (const [user, writes] of [[reader.name, false], [nobody.name, true]] as const) {
        for (const o of chartClusterRole(user, writes)) {
          const plural = o.kind === "ClusterRole" ? "clusterroles" : "clusterrolebindings";
          await kube.must("POST", `/apis/rbac.authorization.k8s.io/v1/${plural}`, o);
        }
      }
      const asReader = await liveSource(reader.kubeconfigPath);
      const asWriter = await liveSource(nobody.kubeconfigPath);
      try {
        // Read-only chart: the dry run itself is forbidden, with a message that says what to do.
        const ro = await call(deps(asReader), "apply_policies", { yaml: NEW_POLICY });
        assert.equal(ro.written, false);
        assert.match(ro.objects[0].error, /forbidden \(403\).*writes\.enabled=true/);
        // Write-enabled chart: apply, enforce and rollback all work.
        const w = deps(asWriter);
        const r = await call(w, "apply_policies", { yaml: NEW_POLICY, dry_run: false });
        assert.equal(r.written, true, r.summary);
        const back = await call(w, "rollback_policies", { change_id: r.changeId, dry_run: false });
        assert.equal(back.written, true, back.summary);
        assert.deepEqual(await state(kube), initial);
        // ...and still nothing else: no Secret, no Deployment.
        const secret = await kube.request("POST", `/api/v1/namespaces/${NS}/secrets`, {
          metadata: { name: "x" },
          stringData: { a: "b" },
        }, { token: nobody.token, query: { dryRun: "All" } });
        assert.equal(secret.status, 403);
        const read = await kube.request("GET", `/api/v1/namespaces/${NS}/secrets`, undefined, {
          token: nobody.token,
        });
        assert.equal(read.status, 403);
      } finally {
        await asReader.close();
        await asWriter.close();
      }
    });
    await source.close();
  },
});
