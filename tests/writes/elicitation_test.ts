/**
 * A real write asks for confirmation where the client supports MCP elicitation, and sends
 * nothing when the user declines; every request carries fieldManager=linkerd-mcp and, until
 * the real write, dryRun=All. The API server is a recording stand-in (no cluster needed).
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { loadConfig } from "../../src/config.ts";
import type { LiveSource, RawRequestOptions } from "../../src/kube/live.ts";
import { SILENT } from "../../src/log.ts";
import { createServer } from "../../src/server.ts";
import type { ToolDeps } from "../../src/tools/_spec.ts";
import { NO_PROMETHEUS } from "../_helpers.ts";

interface Sent {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  contentType?: string;
}

/** A live source whose API server holds nothing and accepts every apply. */
function recordingCluster(sent: Sent[]): LiveSource {
  return {
    kind: "live",
    context: "stand-in",
    server: "https://127.0.0.1:1",
    describe: () => 'cluster "stand-in"',
    list: () => Promise.resolve([]),
    get: () => Promise.resolve(undefined),
    proxyGet: () => Promise.reject(new Error("not used")),
    reviewToken: () => Promise.reject(new Error("not used")),
    close: () => Promise.resolve(),
    request(method, path, opts: RawRequestOptions = {}) {
      sent.push({
        method,
        path,
        query: opts.query ?? {},
        ...(opts.body ? { body: JSON.parse(opts.body) } : {}),
        ...(opts.contentType ? { contentType: opts.contentType } : {}),
      });
      if (method === "GET") {
        return Promise.resolve({
          status: 404,
          contentType: "application/json",
          body: JSON.stringify({ kind: "Status", reason: "NotFound", details: { name: "x" } }),
        });
      }
      return Promise.resolve({
        status: 201,
        contentType: "application/json",
        body: opts.body ?? "{}",
      });
    },
  };
}

const YAML = `apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: clients, namespace: shop}
spec: {identities: ["a.shop.serviceaccount.identity.linkerd.cluster.local"]}
`;

async function run(answer: "accept" | "decline" | undefined, elicitation = true) {
  const sent: Sent[] = [];
  const deps: ToolDeps = {
    cluster: recordingCluster(sent),
    config: loadConfig({ LINKERD_MCP_ALLOW_WRITES: "1" }),
    prom: NO_PROMETHEUS,
    log: SILENT,
    now: () => new Date("2026-12-01T09:00:00Z"),
  };
  const server = createServer(deps, elicitation ? {} : { elicitation: false });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client(
    { name: "t", version: "0" },
    answer ? { capabilities: { elicitation: {} } } : {},
  );
  const asked: string[] = [];
  if (answer) {
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(String(req.params.message));
      return answer === "accept"
        ? { action: "accept", content: { confirm: true } }
        : { action: "decline" };
    });
  }
  await Promise.all([server.connect(b), client.connect(a)]);
  try {
    const res = await client.callTool({
      name: "apply_policies",
      arguments: { yaml: YAML, dry_run: false },
    });
    return { res, sent, asked };
  } finally {
    await client.close();
    await server.close();
  }
}

Deno.test("declining the confirmation sends no real write", async () => {
  const { res, sent, asked } = await run("decline");
  assert.equal(asked.length, 1);
  assert.match(asked[0]!, /MeshTLSAuthentication shop\/clients/);
  assert.equal(res.isError, true);
  assert.match((res.content as { text: string }[])[0]!.text, /declined.*nothing was written/);
  const writes = sent.filter((s) => s.method !== "GET");
  assert.equal(writes.length, 1);
  assert.equal(writes[0]!.query["dryRun"], "All");
});

Deno.test("accepting it writes once, after the dry run, as field manager linkerd-mcp", async () => {
  const { res, sent, asked } = await run("accept");
  assert.equal(asked.length, 1);
  assert.notEqual(res.isError, true);
  const writes = sent.filter((s) => s.method !== "GET");
  assert.deepEqual(writes.map((w) => [w.method, w.query["dryRun"] ?? "real"]), [
    ["PATCH", "All"],
    ["PATCH", "real"],
  ]);
  for (const w of writes) {
    assert.equal(w.query["fieldManager"], "linkerd-mcp");
    assert.equal(w.query["force"], "false");
    assert.equal(w.query["fieldValidation"], "Strict");
    assert.equal(w.contentType, "application/apply-patch+yaml");
    assert.equal(
      w.path,
      "/apis/policy.linkerd.io/v1alpha1/namespaces/shop/meshtlsauthentications/clients",
    );
  }
  const body = writes[1]!.body as { metadata: { labels: Record<string, string> } };
  assert.equal(body.metadata.labels["app.kubernetes.io/managed-by"], "linkerd-mcp");
  // deno-lint-ignore no-explicit-any
  const data = res.structuredContent as any;
  assert.equal(data.written, true);
  assert.match(data.notes.join(" "), /confirmed/);
});

Deno.test("a client without elicitation: dry_run false is the consent, and the answer says so", async () => {
  const { res, sent, asked } = await run(undefined);
  assert.equal(asked.length, 0);
  // deno-lint-ignore no-explicit-any
  const data = res.structuredContent as any;
  assert.equal(data.written, true);
  assert.match(data.notes.join(" "), /does not support MCP elicitation/);
  assert.equal(sent.filter((s) => s.method === "PATCH").length, 2);
});

Deno.test("a transport that cannot carry server requests (stateless HTTP) never asks", async () => {
  const { res, asked } = await run("accept", false);
  assert.equal(asked.length, 0, "the elicitation request would never reach an HTTP client");
  // deno-lint-ignore no-explicit-any
  assert.equal((res.structuredContent as any).written, true);
});
