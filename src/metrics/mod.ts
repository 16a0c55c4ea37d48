/**
 * Prometheus access for the composition root: {@linkcode createPromClient} builds the
 * client `main.ts` hands to the tools.
 *
 * - The configured URL (`LINKERD_PROMETHEUS_URL`, default the viz Prometheus) with its
 *   auth and timeout.
 * - When the cluster is live, a fallback through the Kubernetes API server's service
 *   proxy to `<vizNamespace>/prometheus:9090`, used when the URL cannot be reached (a
 *   laptop outside the cluster needs no port-forward). Every tool answer names the
 *   Prometheus that answered.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { ClusterSource } from "../kube/source.ts";
import type { Logger } from "../log.ts";
import { summarize } from "../redact.ts";
import {
  FallbackPromClient,
  HttpPromClient,
  type PromClient,
  ProxyPromClient,
  type ServiceProxy,
} from "./prom_client.ts";

export * from "./prom_client.ts";

/** What the live cluster source offers (structurally; `src/kube/live.ts` `LiveSource.proxyGet`). */
interface ProxyCapable {
  readonly server?: string;
  proxyGet(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ status: number; contentType: string; body: string }>;
}

function isProxyCapable(c: ClusterSource): c is ClusterSource & ProxyCapable {
  return c.kind === "live" && typeof (c as Partial<ProxyCapable>).proxyGet === "function";
}

/**
 * Adapts the live cluster's `proxyGet` to a {@linkcode ServiceProxy}: Prometheus JSON
 * bodies (including its own error bodies) are returned; any other answer (403 from RBAC,
 * 503 "no endpoints available") is thrown with its status.
 */
export function serviceProxyOf(cluster: ClusterSource & ProxyCapable): ServiceProxy {
  return {
    describe: () => `API server ${cluster.server ?? cluster.describe()}`,
    async get(path, params, signal) {
      const res = await cluster.proxyGet(path, params, signal);
      let body: unknown;
      try {
        body = JSON.parse(res.body);
      } catch {
        body = undefined;
      }
      const status = (body as { status?: unknown } | undefined)?.status;
      if (status === "success" || status === "error") return body;
      throw new Error(
        `the API server proxy answered HTTP ${res.status}: ${
          summarize(res.body, 160) || "empty body"
        }`,
      );
    },
  };
}

/** Options for {@linkcode createPromClient}. */
export interface CreatePromClientOptions {
  /** The cluster source; a live one enables the API server proxy fallback. */
  cluster?: ClusterSource;
  log?: Logger;
  /** Injected for tests. */
  fetch?: typeof fetch;
}

/** The Prometheus client the tools use. */
export function createPromClient(config: Config, opts: CreatePromClientOptions = {}): PromClient {
  const http = new HttpPromClient({
    url: config.prometheus.url,
    timeoutMs: config.prometheus.timeoutMs,
    ...(config.prometheus.bearerToken ? { bearerToken: config.prometheus.bearerToken } : {}),
    ...(config.prometheus.basicAuth ? { basicAuth: config.prometheus.basicAuth } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  if (!opts.cluster || !isProxyCapable(opts.cluster)) return http;
  const proxy = new ProxyPromClient({
    proxy: serviceProxyOf(opts.cluster),
    namespace: config.vizNamespace,
    timeoutMs: config.prometheus.timeoutMs,
  });
  opts.log?.debug("Prometheus: URL first, API server proxy as fallback", {
    url: http.url,
    proxy: proxy.describe(),
  });
  return new FallbackPromClient(http, proxy);
}
