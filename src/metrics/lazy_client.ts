/**
 * A Prometheus client built on its first query, so that start-up does not load the
 * Prometheus adapters (and zod, which validates their answers) before a client asks
 * for metrics.
 *
 * @module
 */
import type { PromClient } from "./prom_client.ts";

/**
 * A {@linkcode PromClient} that builds the real one with `load` on the first query;
 * `describe()` says `before` until then.
 */
export function lazyPromClient(load: () => Promise<PromClient>, before: string): PromClient {
  let loading: Promise<PromClient> | undefined;
  let ready: PromClient | undefined;
  const client = () => loading ??= load().then((c) => (ready = c));
  return {
    describe: () => ready?.describe() ?? before,
    query: async (promql, opts) => (await client()).query(promql, opts),
    queryRange: async (promql, range, opts) => (await client()).queryRange(promql, range, opts),
  };
}
