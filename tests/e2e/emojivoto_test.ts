/**
 * Opt-in end-to-end suite against a real cluster (kind + Linkerd + viz + emojivoto,
 * see .github/workflows/e2e.yml). Skipped unless E2E=1. Uses the cluster in KUBECONFIG.
 *
 * Tools are called the way a user would script them: `deno task start call TOOL JSON`
 * (the exact permission flags of the binary). When E2E_HTTP_URL and E2E_HTTP_TOKEN are
 * set (the workflow port-forwards to the Helm-installed server), the same checks run
 * through a real MCP client over Streamable HTTP.
 *
 * ```
 * E2E=1 deno test -A tests/e2e
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const enabled = Deno.env.get("E2E") === "1";
const root = new URL("../../", import.meta.url);
const ns = "emojivoto";
const services = ["emoji-svc", "voting-svc", "web-svc"];

/** Runs `deno task start call TOOL ARGS` and returns the parsed JSON on stdout. */
async function call(tool: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "start", "call", tool, JSON.stringify(args)],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${tool} exited ${out.code}: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** All string values in a JSON value (for loose "mentions X" checks). */
function strings(v: unknown, acc: string[] = []): string[] {
  if (typeof v === "string") acc.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, acc));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => strings(x, acc));
  return acc;
}

function test(name: string, fn: () => Promise<void>) {
  Deno.test({ name, ignore: !enabled, sanitizeOps: false, sanitizeResources: false, fn });
}

test("check_mesh_health finds a healthy Linkerd control plane", async () => {
  const r = await call("check_mesh_health") as Record<string, unknown>;
  const text = JSON.stringify(r).toLowerCase();
  assert.ok(text.includes("linkerd"), text.slice(0, 400));
  assert.ok(
    !/"status":\s*"(error|fail(ed)?|unhealthy)"/.test(JSON.stringify(r)),
    JSON.stringify(r).slice(0, 800),
  );
});

test("list_meshed_services lists the three emojivoto services as meshed", async () => {
  const r = await call("list_meshed_services", { namespace: ns });
  const all = strings(r);
  for (const s of services) {
    assert.ok(all.includes(s), `${s} missing: ${JSON.stringify(r).slice(0, 800)}`);
  }
});

test("analyze_connectivity lets web-svc call emoji-svc (no policy in emojivoto by default)", async () => {
  const r = await call("analyze_connectivity", {
    source_namespace: ns,
    source_service: "web-svc",
    target_service: "emoji-svc",
    target_port: 8080,
  }) as Record<string, unknown>;
  assert.ok(JSON.stringify(r).includes("allowed"), JSON.stringify(r).slice(0, 800));
});

test("get_allowed_sources for voting-svc includes web-svc", async () => {
  const r = await call("get_allowed_sources", {
    target_namespace: ns,
    target_service: "voting-svc",
  });
  assert.ok(strings(r).includes("web-svc"), JSON.stringify(r).slice(0, 800));
});

test("validate_mesh_config runs over emojivoto", async () => {
  const r = await call("validate_mesh_config", { namespace: ns });
  assert.ok(r && typeof r === "object");
});

test("get_service_metrics sees traffic to web-svc from the vote bot", async () => {
  // viz Prometheus needs a few scrape intervals after emojivoto starts; the workflow waits.
  const r = await call("get_service_metrics", { namespace: ns, service: "web-svc" });
  assert.ok(JSON.stringify(r).includes("web"), JSON.stringify(r).slice(0, 800));
});

Deno.test({
  name: "the Helm-installed server answers an MCP client over HTTP with its token",
  ignore: !enabled || !Deno.env.get("E2E_HTTP_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const url = new URL(Deno.env.get("E2E_HTTP_URL")!);
    const token = Deno.env.get("E2E_HTTP_TOKEN") ?? "";
    const unauthorized = await fetch(url, { method: "POST", body: "{}" });
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();
    const client = new Client({ name: "e2e", version: "0" });
    await client.connect(
      new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === "list_meshed_services"));
    const r = await client.callTool({ name: "list_meshed_services", arguments: { namespace: ns } });
    assert.ok(!r.isError, JSON.stringify(r).slice(0, 800));
    for (const s of services) assert.ok(JSON.stringify(r.structuredContent).includes(s), s);
    await client.close();
  },
});
