/**
 * The policy tools through runTool: argument validation, errors that name what was
 * looked for, and structured output that conforms to each tool's outputSchema.
 *
 * @module
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { runTool, type ToolSpec } from "../../src/tools/_spec.ts";
import { policyTools } from "../../src/tools/policy.ts";
import { testDeps, upstreamFixture } from "../_helpers.ts";
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
  if (out.ok) z.object(spec.outputSchema).strict().parse(out.data);
  return out;
}

Deno.test("policyTools() describes three read-only tools with described inputs", () => {
  const tools = policyTools();
  assert.deepEqual(tools.map((t) => t.name), [
    "analyze_connectivity",
    "get_allowed_targets",
    "get_allowed_sources",
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
    "unauthenticated:any client, meshed or not",
  ]);
  assert.equal(data.totalSources, 3);
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
