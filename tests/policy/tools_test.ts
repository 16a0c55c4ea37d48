/**
 * The policy tools through runTool: argument validation, errors that name what was
 * looked for, and structured output that conforms to each tool's outputSchema.
 *
 * @module
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { DATA_SOURCE_SHAPE, runTool, type ToolSpec } from "../../src/tools/_spec.ts";
import { policyTools } from "../../src/tools/policy.ts";
import { demoObjects } from "../../src/demo/mod.ts";
import { testDeps, upstreamFixture } from "../_helpers.ts";
import { type RbacRules, RbacSource } from "../support/rbac_source.ts";
import { podsFromWorkloads, yaml } from "./_mesh.ts";

// deno-lint-ignore no-explicit-any
function tool(name: string): ToolSpec<any, any> {
  const t = policyTools().find((t) => t.name === name);
  assert.ok(t, `tool ${name} exists`);
  return t;
}

const EMOJIVOTO = podsFromWorkloads(
  [
    ...yaml(upstreamFixture("demo-apps/emojivoto.yml")),
    ...yaml(upstreamFixture("docs-examples/emojivoto-restricting-access.yaml")),
  ],
  { inject: true },
);

async function call(name: string, args: unknown, env: Record<string, string> = {}) {
  const spec = tool(name);
  const out = await runTool(spec, args, testDeps(EMOJIVOTO, { env }));
  // runTool adds `dataSource` to every result (the server adds it to every output schema)
  if (out.ok) {
    z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE).strict() }).strict()
      .parse(out.data);
  }
  return out;
}

Deno.test("policyTools() describes four read-only tools with described inputs", () => {
  const tools = policyTools();
  assert.deepEqual(tools.map((t) => t.name), [
    "analyze_connectivity",
    "get_allowed_targets",
    "get_allowed_sources",
    "get_inbound_policy",
  ]);
  for (const t of tools) {
    assert.equal(t.annotations.readOnlyHint, true);
    assert.equal(t.annotations.openWorldHint, true);
    assert.match(t.description, /Example: \{/);
    for (const [k, v] of Object.entries(t.inputSchema)) {
      assert.ok((v as z.ZodType).description, `${t.name}.${k} has a description`);
    }
  }
});

Deno.test("analyze_connectivity returns a verdict per port that conforms to its outputSchema", async () => {
  const out = await call("analyze_connectivity", {
    source_namespace: "emojivoto",
    source_service: "web-svc",
    target_service: "voting-svc",
  });
  assert.ok(out.ok);
  const data = out.data as {
    verdict: string;
    allowed: boolean;
    ports: Array<{ port: number; decision: string }>;
  };
  assert.equal(data.verdict, "allowed");
  assert.equal(data.allowed, true);
  assert.deepEqual(data.ports.map((p) => [p.port, p.decision]), [[8080, "allowed"], [
    8801,
    "allowed",
  ]]);
});

Deno.test("analyze_connectivity honours the cluster default override and target_port", async () => {
  const out = await call("analyze_connectivity", {
    source_namespace: "emojivoto",
    source_service: "emoji-svc",
    target_namespace: "emojivoto",
    target_service: "voting-svc",
    target_port: "prom",
  }, { LINKERD_DEFAULT_INBOUND_POLICY: "deny" });
  assert.ok(out.ok);
  assert.equal((out.data as { verdict: string }).verdict, "denied");
});

Deno.test("analyze_connectivity fails naming the missing Service and how to list services", async () => {
  const out = await call("analyze_connectivity", {
    source_namespace: "emojivoto",
    source_service: "nope",
    target_service: "voting-svc",
  });
  assert.equal(out.ok, false);
  assert.match(
    !out.ok ? out.error : "",
    /source Service "nope" in namespace "emojivoto".*kubectl get services -n emojivoto/,
  );
});

Deno.test("analyze_connectivity fails listing the ports when target_port is not a port of the target", async () => {
  const out = await call("analyze_connectivity", {
    source_namespace: "emojivoto",
    source_service: "web-svc",
    target_service: "voting-svc",
    target_port: 9999,
  });
  assert.equal(out.ok, false);
  assert.match(
    !out.ok ? out.error : "",
    /has no port "9999": its ports are 8080 \(grpc\), 8801 \(prom\)/,
  );
});

Deno.test("analyze_connectivity rejects names that are not Kubernetes names", async () => {
  for (
    const bad of [
      { source_namespace: "Emojivoto", source_service: "web", target_service: "x" },
      { source_namespace: "emojivoto", source_service: "web;rm -rf /", target_service: "x" },
      { source_namespace: "emojivoto", source_service: "a".repeat(10_000), target_service: "x" },
      {
        source_namespace: "emojivoto",
        source_service: "web",
        target_service: "x",
        target_port: 70000,
      },
      {
        source_namespace: "emojivoto",
        source_service: "web",
        target_service: "x",
        target_port: "$(id)",
      },
      { source_namespace: "emojivoto", source_service: "web" },
    ]
  ) {
    const out = await call("analyze_connectivity", bad);
    assert.equal(out.ok, false, JSON.stringify(bad).slice(0, 80));
    assert.match(!out.ok ? out.error : "", /Invalid arguments for analyze_connectivity/);
  }
});

Deno.test("get_allowed_targets lists targets that are not denied and counts denied ones", async () => {
  const out = await call("get_allowed_targets", {
    source_namespace: "emojivoto",
    source_service: "emoji-svc",
  });
  assert.ok(out.ok);
  const data = out.data as {
    allowedTargets: Array<{ service: string; verdict: string }>;
    deniedTargets: number;
    totalTargets: number;
  };
  assert.deepEqual(data.allowedTargets.map((t) => [t.service, t.verdict]), [
    ["voting-svc", "partial"],
    ["web-svc", "allowed"],
  ]);
  assert.equal(data.totalTargets, 2);
});

Deno.test("get_allowed_targets counts a target denied on every port", async () => {
  const out = await call("get_allowed_targets", {
    source_namespace: "emojivoto",
    source_service: "emoji-svc",
  }, {
    LINKERD_DEFAULT_INBOUND_POLICY: "deny",
  });
  assert.ok(out.ok);
  const data = out.data as { allowedTargets: unknown[]; deniedTargets: number };
  assert.equal(data.allowedTargets.length, 0);
  assert.equal(data.deniedTargets, 2);
});

Deno.test("get_allowed_sources lists Services and non-Service principals", async () => {
  const out = await call("get_allowed_sources", {
    target_namespace: "emojivoto",
    target_service: "voting-svc",
  });
  assert.ok(out.ok);
  const data = out.data as {
    matchingServers: string[];
    allowedSources: Array<{ kind: string; principal: string }>;
    totalSources: number;
  };
  assert.deepEqual(data.matchingServers, ["Server/voting-grpc", "default/all-unauthenticated"]);
  assert.deepEqual(data.allowedSources.map((s) => `${s.kind}:${s.principal}`), [
    "service:emojivoto/emoji-svc",
    "service:emojivoto/web-svc",
    // vote-bot has no Service but is a client the proxy admits (default all-unauthenticated port)
    "workload:emojivoto/Deployment/vote-bot",
    "unauthenticated:any client, meshed or not",
  ]);
  assert.equal(data.totalSources, 4);
});

Deno.test("get_allowed_sources fails for a missing target", async () => {
  const out = await call("get_allowed_sources", {
    target_namespace: "nowhere",
    target_service: "x",
  });
  assert.equal(out.ok, false);
  assert.match(
    !out.ok ? out.error : "",
    /target Service "x" in namespace "nowhere": the namespace has no Services/,
  );
});

// ------------------------------------------------------------------ RBAC scoped to namespaces

const DEMO = demoObjects();

/** analyze_connectivity over the demo mesh, through a source with the given RBAC. */
async function analyzeWith(rules: RbacRules | undefined, args: Record<string, unknown>) {
  const spec = tool("analyze_connectivity");
  const cluster = new RbacSource(DEMO, rules ?? { allowAllNamespaces: true });
  const out = await runTool(spec, args, testDeps(DEMO, { cluster }));
  // runTool adds `dataSource` to every result (the server adds it to every output schema)
  if (out.ok) {
    z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE).strict() }).strict()
      .parse(out.data);
  }
  return { out, calls: cluster.calls };
}

// deno-lint-ignore no-explicit-any
function decisionOf(d: any) {
  return {
    verdict: d.verdict,
    allowed: d.allowed,
    policies: d.policies,
    source: d.source,
    target: d.target,
    ports: d.ports,
  };
}

const WEB_TO_EMOJI = {
  "source_namespace": "emojivoto",
  "source_service": "web-svc",
  "target_service": "emoji-svc",
};

Deno.test("analyze_connectivity falls back to the question's namespaces when cluster-wide lists are forbidden", async () => {
  const full = await analyzeWith(undefined, WEB_TO_EMOJI);
  const scoped = await analyzeWith({ namespaces: ["booksapp"] }, WEB_TO_EMOJI);
  assert.ok(full.out.ok && scoped.out.ok, !scoped.out.ok ? scoped.out.error : "");
  // deno-lint-ignore no-explicit-any
  const [f, s] = [full.out.data as any, scoped.out.data as any];
  assert.equal(s.verdict, "allowed");
  assert.deepEqual(decisionOf(s), decisionOf(f));
  assert.equal(f.notes, undefined, "no note when the cluster-wide read works");
  assert.equal(s.notes.length, 1);
  assert.match(s.notes[0], /RBAC forbids reading cluster-wide/);
  assert.match(s.notes[0], /used only namespace "emojivoto"\./);
  assert.doesNotMatch(s.notes[0], /Namespace objects/);
  assert.ok(s.explanation.startsWith(f.explanation), s.explanation);
  assert.ok(s.explanation.endsWith(`\nNote: ${s.notes[0]}`), s.explanation);
  // Namespaced lists after the refused one named emojivoto only.
  const namespaced = scoped.calls.filter((c) => c.startsWith("list ") && / -n /.test(c));
  assert.ok(namespaced.length > 0);
  assert.ok(namespaced.every((c) => c.endsWith(" -n emojivoto")), namespaced.join(", "));
});

Deno.test("analyze_connectivity's fallback reads the source and the target namespace across namespaces", async () => {
  const args = {
    "source_namespace": "linkerd-viz",
    "source_service": "prometheus",
    "target_namespace": "emojivoto",
    "target_service": "emoji-svc",
    "target_port": "prom",
  };
  const full = await analyzeWith(undefined, args);
  const scoped = await analyzeWith({ resources: ["namespaces"] }, args);
  assert.ok(full.out.ok && scoped.out.ok, !scoped.out.ok ? scoped.out.error : "");
  // deno-lint-ignore no-explicit-any
  const [f, s] = [full.out.data as any, scoped.out.data as any];
  assert.deepEqual(decisionOf(s), decisionOf(f));
  assert.ok(s.source.pods > 0, "the source's pods were read from linkerd-viz");
  assert.match(s.notes[0], /used only namespaces "linkerd-viz" and "emojivoto"/);
  // The Namespace list is forbidden too: the note says the analysis does not need it.
  assert.match(s.notes[0], /Namespace objects could not be read either/);
  const namespaced = new Set(
    scoped.calls.filter((c) => / -n /.test(c)).map((c) => c.split(" -n ")[1]),
  );
  assert.deepEqual([...namespaced].sort(), ["emojivoto", "linkerd-viz"]);
});

Deno.test("analyze_connectivity returns the original RBAC error when the namespaces are forbidden too", async () => {
  const { out, calls } = await analyzeWith({ namespaces: ["emojivoto"] }, WEB_TO_EMOJI);
  assert.equal(out.ok, false);
  const error = !out.ok ? out.error : "";
  assert.match(error, /at the cluster scope: access is forbidden by RBAC \(403\)/);
  assert.doesNotMatch(error, /in the namespace/);
  assert.ok(calls.some((c) => c.endsWith(" -n emojivoto")), "the fallback was tried");
});

Deno.test("get_allowed_sources and get_allowed_targets still need cluster-wide reads", async () => {
  const cluster = new RbacSource(DEMO, { namespaces: ["booksapp"] });
  for (
    const [name, args] of [
      ["get_allowed_sources", { target_namespace: "emojivoto", target_service: "emoji-svc" }],
      ["get_allowed_targets", { source_namespace: "emojivoto", source_service: "web-svc" }],
    ] as const
  ) {
    const out = await runTool(tool(name), args, testDeps(DEMO, { cluster }));
    assert.equal(out.ok, false, name);
    assert.match(!out.ok ? out.error : "", /forbidden by RBAC \(403\)/);
  }
});

Deno.test("analyze_connectivity's fallback reads authentications referenced in other namespaces", async () => {
  // emoji-svc may call voting-svc only through an AuthorizationPolicy whose
  // MeshTLSAuthentication lives in another namespace, "shared".
  const objects = [
    ...DEMO,
    ...yaml(`
apiVersion: v1
kind: Namespace
metadata: { name: shared }
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: { name: emoji-identity, namespace: shared }
spec:
  identityRefs: [{ kind: ServiceAccount, name: emoji, namespace: emojivoto }]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: { name: emoji-to-voting, namespace: emojivoto }
spec:
  targetRef: { group: policy.linkerd.io, kind: Server, name: voting-grpc }
  requiredAuthenticationRefs:
    - { group: policy.linkerd.io, kind: MeshTLSAuthentication, name: emoji-identity, namespace: shared }
`),
  ];
  const args = {
    "source_namespace": "emojivoto",
    "source_service": "emoji-svc",
    "target_service": "voting-svc",
    "target_port": 8080,
  };
  const spec = tool("analyze_connectivity");
  const run = async (rules: RbacRules) => {
    const cluster = new RbacSource(objects, rules);
    const out = await runTool(spec, args, testDeps(objects, { cluster }));
    assert.ok(out.ok, !out.ok ? out.error : "");
    z.object({ ...spec.outputSchema, dataSource: z.object(DATA_SOURCE_SHAPE).strict() }).strict()
      .parse(out.data);
    // deno-lint-ignore no-explicit-any
    return { d: out.data as any, calls: cluster.calls };
  };
  const full = await run({ allowAllNamespaces: true });
  assert.equal(full.d.verdict, "allowed");
  assert.ok(full.d.policies.includes("AuthorizationPolicy/emoji-to-voting"), full.d.policies);

  const scoped = await run({ namespaces: ["booksapp"] });
  assert.deepEqual(decisionOf(scoped.d), decisionOf(full.d));
  assert.match(
    scoped.d.notes[0],
    /used only namespace "emojivoto", plus the authentications its policies reference in "shared"\./,
  );
  assert.ok(scoped.calls.includes("list meshtlsauthentications -n shared"), scoped.calls.join());
  assert.ok(!scoped.calls.includes("list pods -n shared"), "only authentications in shared");

  const unread = await run({ namespaces: ["shared"] });
  assert.equal(unread.d.verdict, "denied");
  assert.match(unread.d.notes[0], /Authentications referenced in "shared" could not be read/);
});
