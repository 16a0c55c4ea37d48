/**
 * The demo's recorded Prometheus, loaded on the first query so that start-up does not pay
 * for decoding the recording.
 *
 * @module
 */
import type { PromClient } from "../metrics/prom_client.ts";

/** A {@linkcode PromClient} over the demo recording (`./prom.ts`), imported on first use. */
export function lazyDemoPromClient(): PromClient {
  let loaded: Promise<PromClient> | undefined;
  const client = () => loaded ??= import("./prom.ts").then((m) => m.createDemoPromClient());
  return {
    describe: () => "the demo mesh's recorded Prometheus (embedded; no Prometheus is contacted)",
    query: async (promql, opts) => (await client()).query(promql, opts),
    queryRange: async (promql, range, opts) => (await client()).queryRange(promql, range, opts),
  };
}
