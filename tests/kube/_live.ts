/** Live sources against a fresh stand-in (tests/kube/live_test.ts, credentials_test.ts). */
import { createLiveSource, type CreateLiveSourceOptions } from "../../src/kube/live.ts";
import { type Standin, type StandinOptions, startStandin } from "../support/kube_standin.ts";

/** What {@linkcode withLive} hands its test: a source on the stand-in, closed afterwards. */
export type OpenLive = (
  o?: Partial<CreateLiveSourceOptions>,
) => ReturnType<typeof createLiveSource>;

/**
 * Runs `fn` with a stand-in started with `opts` and a maker of live sources (the stand-in's
 * kubeconfig, a 5 s timeout, no cache, no watch unless asked); stops them all afterwards.
 */
export async function withLive(
  opts: StandinOptions,
  fn: (api: Standin, live: OpenLive) => Promise<void>,
): Promise<void> {
  const api = await startStandin(opts);
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    await fn(api, async (o = {}) => {
      const s = await createLiveSource({
        kubeconfigPath: api.kubeconfigPath,
        env: {},
        timeoutMs: 5_000,
        cacheTtlMs: 0,
        // The list path; tests/kube/informer_test.ts covers watches.
        watch: false,
        ...o,
      });
      opened.push(s);
      return s;
    });
  } finally {
    for (const s of opened) await s.close();
    await api.close();
  }
}
