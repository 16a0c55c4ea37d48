/**
 * Zero false alarms: no `error` on any upstream Linkerd fixture (install goldens, viz,
 * multicluster, inject goldens, demo apps with and without policy, docs examples) or
 * on the demo mesh, whether read as partial manifests or as a complete cluster.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createDemoSource } from "../../src/demo/mod.ts";
import { validateMeshConfig } from "../../src/tools/validate.ts";
import { objectsFromYaml, testDeps, upstreamFixture } from "../_helpers.ts";
import { findingsFor } from "./_state.ts";

const ROOT = new URL("../fixtures/upstream/", import.meta.url);

function dir(name: string): string[] {
  return [...Deno.readDirSync(new URL(`${name}/`, ROOT))].map((e) => `${name}/${e.name}`).sort();
}

/** Fixture sets: one file, or files applied together (`a+b`). */
export const UPSTREAM_SETS = [
  "control-plane/install_default.golden.yaml",
  "viz/install_default.golden.yaml",
  "multicluster/install_default.golden.yaml",
  "multicluster/service_mirror_default.golden.yaml",
  "control-plane/install_default.golden.yaml+viz/install_default.golden.yaml+multicluster/install_default.golden.yaml",
  ...dir("inject"),
  "demo-apps/emojivoto.yml",
  "demo-apps/emojivoto-policy.yml",
  "demo-apps/emojivoto.yml+demo-apps/emojivoto-policy.yml",
  "demo-apps/booksapp.yml",
  "demo-apps/booksapp.yml+docs-examples/booksapp-per-route-policy.yaml",
  ...dir("docs-examples"),
];

/** Warnings the fixtures produce (besides unresolved-in-manifests on partial docs snippets). */
const EXPECTED_WARNINGS = [
  "multicluster/install_default.golden.yaml: server-selects-no-pods Server/controller",
  "multicluster/install_default.golden.yaml: server-selects-no-pods Server/service-mirror",
  "control-plane/install_default.golden.yaml+viz/install_default.golden.yaml+multicluster/install_default.golden.yaml: server-selects-no-pods Server/controller",
  "control-plane/install_default.golden.yaml+viz/install_default.golden.yaml+multicluster/install_default.golden.yaml: server-selects-no-pods Server/service-mirror",
  "inject/inject_emojivoto_deployment_opaque_ports.golden.yml: annotation-ports-named Deployment/web",
];

for (const partial of [true, false]) {
  Deno.test(`upstream fixtures: no errors (${partial ? "partial manifests" : "complete view"})`, async (t) => {
    const warnings: string[] = [];
    // Single code blocks of the reference pages refer to objects in other blocks, so they
    // are only meaningful as partial manifests.
    const sets = partial
      ? UPSTREAM_SETS
      : UPSTREAM_SETS.filter((s) => !s.startsWith("docs-examples/ref-"));
    for (const set of sets) {
      await t.step(set, () => {
        const objects = set.split("+").flatMap((f) => objectsFromYaml(upstreamFixture(f)));
        const findings = findingsFor(objects, { partial });
        const errors = findings.filter((f) => f.severity === "error");
        assert.deepEqual(errors.map((f) => `${f.rule}: ${f.message}`), []);
        for (const f of findings) {
          if (f.severity === "warning" && f.rule !== "unresolved-in-manifests") {
            warnings.push(`${set}: ${f.rule} ${f.object.kind}/${f.object.metadata.name}`);
          }
        }
      });
    }
    assert.deepEqual(warnings.sort(), [...EXPECTED_WARNINGS].sort());
  });
}

Deno.test("upstream fixtures: a complete view reports no unresolved findings", () => {
  const objects = objectsFromYaml(
    upstreamFixture(
      "docs-examples/ref-authorization-policy__04_authorizationpolicy-authors-policy.yaml",
    ),
  );
  const partial = findingsFor(objects, { partial: true }).map((f) => f.rule);
  const complete = findingsFor(objects, { partial: false }).map((f) => f.rule);
  assert.ok(partial.includes("unresolved-in-manifests"));
  assert.ok(complete.includes("authz-policy-target-missing"));
});

Deno.test("demo mesh: no errors, and only upstream's Server of the legacy service mirror warned", async () => {
  const report = await validateMeshConfig(testDeps([], { cluster: createDemoSource() }), {});
  assert.equal(report.summary.errors, 0);
  // `linkerd multicluster install` renders a Server for the legacy per-link service mirror
  // (`component: linkerd-service-mirror`); the extension-managed controller-east is not one
  const warned = report.results.flatMap((r) =>
    r.issues.filter((i) => i.severity === "warning").map((i) =>
      `${r.resourceType} ${r.namespace}/${r.name}: ${i.rule}`
    )
  );
  assert.deepEqual(warned, [
    "Server linkerd-multicluster/service-mirror: server-selects-no-pods",
  ]);
  assert.equal(report.summary.warnings, 1);
  assert.ok(report.totalResources > 20);
});
