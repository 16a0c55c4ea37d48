/** Helpers of the watch-cache tests (tests/kube/informer_test.ts, warm_cache_test.ts). */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/kube/types.ts";

/** Waits until `cond()` holds (polling), or fails after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A stand-in request that opened a watch. */
export const isWatch = (r: { query: Record<string, string> }) => r.query["watch"] === "1";
/** The names of `items`, sorted. */
export const names = (items: readonly KubeObject[]) => items.map((o) => o.metadata.name).sort();
