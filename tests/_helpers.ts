/**
 * Shared test helpers: objects from YAML text, tool dependencies over in-memory
 * objects, and a Prometheus client that must not be called.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../src/config.ts";
import { MemorySource } from "../src/kube/memory.ts";
import type { KubeObject } from "../src/kube/types.ts";
import { SILENT } from "../src/log.ts";
import type { PromClient } from "../src/metrics/prom_client.ts";
import type { ToolDeps } from "../src/tools/_spec.ts";

/** Parses multi-document YAML into objects (skipping empty documents and expanding `List`s). */
export function objectsFromYaml(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    const v = doc.toJS() as KubeObject | null;
    if (!v || typeof v !== "object") continue;
    if (v.kind?.endsWith("List") && Array.isArray(v["items"])) {
      out.push(...(v["items"] as KubeObject[]));
    } else out.push(v);
  }
  return out;
}

/** Reads a fixture from the vendored upstream fixtures (tests/fixtures/upstream). */
export function upstreamFixture(path: string): string {
  return Deno.readTextFileSync(
    new URL(`./fixtures/upstream/${path}`, import.meta.url),
  );
}

/** A Prometheus client that fails every query (for tools that must not query). */
export const NO_PROMETHEUS: PromClient = {
  describe: () => "no Prometheus (tests)",
  query: () => Promise.reject(new Error("no Prometheus in this test")),
  queryRange: () => Promise.reject(new Error("no Prometheus in this test")),
};

/** Tool dependencies over the given objects. */
export function testDeps(
  objects: readonly KubeObject[],
  overrides: Partial<ToolDeps> & { env?: Record<string, string> } = {},
): ToolDeps {
  const { env, ...rest } = overrides;
  return {
    cluster: new MemorySource(objects, { kind: "manifests", description: "test objects" }),
    config: loadConfig(env ?? {}),
    prom: NO_PROMETHEUS,
    log: SILENT,
    now: () => new Date("2026-11-24T12:00:00Z"),
    ...rest,
  };
}
