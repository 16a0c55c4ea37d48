/**
 * Long calls over MCP: a client that sends a progress token gets progress notifications
 * (each completed read, and a heartbeat while a read is still running), and a client that
 * cancels a call stops its work — no API request is made after the cancellation.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { createLiveSource, type LiveSource } from "../../src/kube/live.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { createServer } from "../../src/server.ts";
import { testDeps } from "../_helpers.ts";
import { type Standin, startStandin } from "../support/kube_standin.ts";

const OBJECTS: KubeObject[] = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
  ...Array.from({ length: 40 }, (_, i): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `web-${i}`, namespace: "shop", labels: { app: "web" } },
    status: { phase: "Running", podIP: `10.0.0.${i + 1}` },
  })),
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withServer(
  fn: (api: Standin, client: Client, live: LiveSource, received: string[]) => Promise<void>,
): Promise<void> {
  const api = await startStandin({ objects: OBJECTS });
  // Small pages and a slow API server: the first listing takes seconds.
  const live = await createLiveSource({
    kubeconfigPath: api.kubeconfigPath,
    env: {},
    timeoutMs: 10_000,
    pageSize: 2,
  });
  const server = createServer(testDeps([], { cluster: live }));
  const client = new Client({ name: "t", version: "1" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  // The method of every message the client receives, before the SDK client handles it.
  const received: string[] = [];
  const deliver = b.onmessage!;
  b.onmessage = (message, extra) => {
    received.push((message as { method?: string }).method ?? "(response)");
    deliver(message, extra);
  };
  try {
    await fn(api, client, live, received);
  } finally {
    await client.close();
    await server.close();
    await live.close();
    await api.close();
  }
}

Deno.test("progress: a long first listing reports progress, increasing, with what it reads", async () => {
  await withServer(async (api, client, _live, received) => {
    api.setLatency(120); // 20 pages of pods: about 2.5 s
    const seen: Array<{ progress: number; message?: string }> = [];
    const res = await client.callTool(
      { name: "list_meshed_services", arguments: {} },
      CallToolResultSchema,
      { onprogress: (p) => seen.push(p), timeout: 30_000 },
    );
    assert.ok(!res.isError, JSON.stringify(res.content));
    assert.ok(seen.length >= 2, `progress notifications: ${JSON.stringify(seen)}`);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]!.progress > seen[i - 1]!.progress, "progress must increase");
    }
    assert.ok(
      seen.some((p) => /still reading pods/.test(p.message ?? "")),
      `a heartbeat names the read in flight: ${JSON.stringify(seen)}`,
    );
    assert.ok(seen.some((p) => /read pods: 40/.test(p.message ?? "")), JSON.stringify(seen));
    assert.equal(received.filter((m) => m === "notifications/progress").length, seen.length);
  });
});

Deno.test("progress: none is sent to a client that asked for none", async () => {
  await withServer(async (api, client, _live, received) => {
    api.setLatency(60); // long enough for heartbeats, were any sent
    const res = await client.callTool({ name: "list_meshed_services", arguments: {} });
    assert.ok(!res.isError);
    assert.ok(received.includes("(response)"), "the recorder sees what the client receives");
    assert.deepEqual(received.filter((m) => m === "notifications/progress"), []);
  });
});

Deno.test("cancellation: a cancelled call stops its API requests", async () => {
  await withServer(async (api, client) => {
    api.setLatency(100);
    const controller = new AbortController();
    const call = client.callTool(
      { name: "list_meshed_services", arguments: {} },
      CallToolResultSchema,
      { signal: controller.signal, timeout: 30_000 },
    );
    await sleep(700);
    const before = api.received;
    controller.abort("the user pressed stop");
    await assert.rejects(call, /stop|abort|cancel/i);
    await sleep(250); // a request already on the wire may still arrive
    const settled = api.received;
    await sleep(1_200);
    assert.ok(before > 2, `the call was working (${before} requests)`);
    assert.equal(api.received - settled, 0, "requests went on after the cancellation");
    assert.equal(api.inFlight, 0, "a request is still open after the cancellation");
  });
});
