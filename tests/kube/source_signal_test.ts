/**
 * Every `ClusterSource.get()` a tool starts carries the tool's AbortSignal, so no
 * request outlives the call that started it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MemorySource } from "../../src/kube/memory.ts";
import type { ResourceKey } from "../../src/kube/resources.ts";
import type { GetOptions, ListOptions } from "../../src/kube/source.ts";
import { loadState } from "../../src/kube/state.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { loadHealthInput } from "../../src/mesh/health.ts";
import { resolveService } from "../../src/metrics/workloads.ts";

/** Records, per call, whether it carried the expected signal. */
class SignalRecorder extends MemorySource {
  readonly calls: { call: string; signal: AbortSignal | undefined }[] = [];

  override list(resource: ResourceKey, opts: ListOptions = {}): Promise<KubeObject[]> {
    this.calls.push({ call: `list ${resource}`, signal: opts.signal });
    return super.list(resource, opts);
  }

  override get(
    resource: ResourceKey,
    name: string,
    namespace?: string,
    opts?: GetOptions,
  ): Promise<KubeObject | undefined> {
    this.calls.push({ call: `get ${resource} ${name}`, signal: opts?.signal });
    return super.get(resource, name, namespace);
  }

  without(signal: AbortSignal): string[] {
    return this.calls.filter((c) => c.signal !== signal).map((c) => c.call);
  }
}

const SERVICE: KubeObject = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "emojivoto" },
  spec: { selector: { app: "web" } },
} as KubeObject;

Deno.test("loadState passes the signal to the ConfigMap reads", async () => {
  const src = new SignalRecorder([], { kind: "live", description: "recorder" });
  const signal = new AbortController().signal;
  await loadState(src, ["configmaps", "pods"], { linkerdNamespace: "linkerd", signal });
  assert.ok(src.calls.some((c) => c.call.startsWith("get configmaps")), "no get recorded");
  assert.deepEqual(src.without(signal), []);
});

Deno.test("loadHealthInput passes the signal to every read", async () => {
  const src = new SignalRecorder([], { kind: "live", description: "recorder" });
  const signal = new AbortController().signal;
  await loadHealthInput(src, { namespace: "linkerd", vizNamespace: "linkerd-viz", signal });
  assert.ok(src.calls.filter((c) => c.call.startsWith("get ")).length >= 2, "no get recorded");
  assert.deepEqual(src.without(signal), []);
});

Deno.test("resolveService passes the signal to the Service read", async () => {
  const src = new SignalRecorder([SERVICE], { kind: "live", description: "recorder" });
  const signal = new AbortController().signal;
  await resolveService(src, "emojivoto", "web", signal);
  assert.deepEqual(src.calls.map((c) => c.call), ["get services web", "list pods"]);
  assert.deepEqual(src.without(signal), []);
});
