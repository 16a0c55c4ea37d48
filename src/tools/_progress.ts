/**
 * Progress of one tool call, for clients that asked for it (MCP `progressToken`): each
 * read of cluster state that completes is reported ("listed pods: 10000"), and while a
 * call runs longer than a second a heartbeat says what it is waiting for — so that a
 * client can show it and keep its request timeout from firing on a long first listing.
 *
 * @module
 */
import {
  type ClusterSource,
  type GetOptions,
  type ListOptions,
  WRAPPED_SOURCE,
} from "../kube/source.ts";
import type { ResourceKey } from "../kube/resources.ts";

/** Where progress goes (`ToolContext.progress`). */
export type ProgressSink = (progress: number, total?: number, message?: string) => void;

/** How often the heartbeat reports a call that is still running. */
export const HEARTBEAT_MS = 1_000;

/**
 * A source that reports to `sink` as reads complete, and a heartbeat; `stop()` ends the
 * heartbeat. Every other member of `source` is forwarded untouched (writes, snapshot
 * info, kubeconfig contexts), and caches keyed by source see the wrapped one.
 */
export function withProgress(
  source: ClusterSource,
  sink: ProgressSink,
  tool: string,
): { source: ClusterSource; stop(): void } {
  let step = 0;
  const started = Date.now();
  const waiting = new Map<number, string>();
  let nextId = 0;
  const track = async <T>(what: string, run: () => Promise<T>, done: (v: T) => string) => {
    const id = nextId++;
    waiting.set(id, what);
    try {
      const value = await run();
      sink(++step, undefined, done(value));
      return value;
    } finally {
      waiting.delete(id);
    }
  };
  const timer = setInterval(() => {
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    const pending = [...new Set(waiting.values())];
    sink(
      ++step,
      undefined,
      pending.length
        ? `${tool}: still reading ${pending.slice(0, 3).join(", ")} (${secs} s)`
        : `${tool}: still working (${secs} s)`,
    );
  }, HEARTBEAT_MS);
  Deno.unrefTimer(timer);
  const list = (resource: ResourceKey, opts?: ListOptions) =>
    track(
      resource + (opts?.namespace ? ` in ${opts.namespace}` : ""),
      () => source.list(resource, opts),
      (items) => `read ${resource}: ${items.length}`,
    );
  const get = (resource: ResourceKey, name: string, namespace?: string, opts?: GetOptions) =>
    track(
      `${resource} ${namespace ? `${namespace}/` : ""}${name}`,
      () => source.get(resource, name, namespace, opts),
      () => `read ${resource} ${name}`,
    );
  const wrapped = new Proxy(source, {
    get(target, prop) {
      if (prop === "list") return list;
      if (prop === "get") return get;
      if (prop === WRAPPED_SOURCE) return target;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { source: wrapped, stop: () => clearInterval(timer) };
}
