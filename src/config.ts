/**
 * Configuration from environment variables and flags (pure, tested).
 *
 * `main.ts` is the only file that reads `Deno.env` and `Deno.args`; it hands the
 * values to {@linkcode loadConfig}.
 *
 * @module
 */
import { redactUrl } from "./redact.ts";

/** Linkerd's six default inbound policies. */
export const DEFAULT_POLICIES = [
  "all-unauthenticated",
  "all-authenticated",
  "cluster-unauthenticated",
  "cluster-authenticated",
  "deny",
  "audit",
] as const;

/** One of Linkerd's default inbound policies. */
export type DefaultPolicy = typeof DEFAULT_POLICIES[number];

/** How to reach Prometheus. */
export interface PrometheusConfig {
  /** Base URL, e.g. `http://prometheus.linkerd-viz.svc.cluster.local:9090`. */
  url: string;
  /** True when the URL was not set by the user (the viz default). */
  isDefault: boolean;
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** Per-request timeout. */
  timeoutMs: number;
}

/** Everything the server is configured with. */
export interface Config {
  /** Control plane namespace (`LINKERD_NAMESPACE`, default `linkerd`). */
  linkerdNamespace: string;
  /** Viz namespace (`LINKERD_VIZ_NAMESPACE`, default `linkerd-viz`). */
  vizNamespace: string;
  prometheus: PrometheusConfig;
  /** Overrides the cluster's default inbound policy (`LINKERD_DEFAULT_INBOUND_POLICY`). */
  defaultInboundPolicy?: DefaultPolicy;
  /** Overrides the cluster networks (`LINKERD_CLUSTER_NETWORKS`, comma-separated CIDRs). */
  clusterNetworks?: string[];
  /** Timeout for one Kubernetes API request. */
  kubeTimeoutMs: number;
  /**
   * Offer the write tools (apply_policies, enforce_policies, rollback_policies):
   * `--allow-writes` or `LINKERD_MCP_ALLOW_WRITES=1`. Absent or false: read-only.
   */
  allowWrites?: boolean;
}

/** The viz Prometheus, as `linkerd viz install` deploys it. */
export const DEFAULT_PROMETHEUS_URL = "http://prometheus.linkerd-viz.svc.cluster.local:9090";

/**
 * Builds the configuration from environment variables.
 *
 * @throws {TypeError} when a variable holds a value that cannot be used.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const get = (k: string) => {
    const v = env[k]?.trim();
    return v ? v : undefined;
  };
  const promUrl = get("LINKERD_PROMETHEUS_URL");
  if (promUrl !== undefined && !/^https?:\/\//.test(promUrl)) {
    throw new TypeError(
      `LINKERD_PROMETHEUS_URL must start with http:// or https://: got "${redactUrl(promUrl)}"`,
    );
  }
  const policy = get("LINKERD_DEFAULT_INBOUND_POLICY");
  if (policy !== undefined && !(DEFAULT_POLICIES as readonly string[]).includes(policy)) {
    throw new TypeError(
      `LINKERD_DEFAULT_INBOUND_POLICY must be one of ${
        DEFAULT_POLICIES.join(", ")
      }: got "${policy}"`,
    );
  }
  const user = get("LINKERD_PROMETHEUS_USERNAME");
  const password = env["LINKERD_PROMETHEUS_PASSWORD"] ?? "";
  const writes = get("LINKERD_MCP_ALLOW_WRITES");
  if (writes !== undefined && !["1", "true", "0", "false"].includes(writes.toLowerCase())) {
    throw new TypeError(
      `LINKERD_MCP_ALLOW_WRITES must be 1 (or true) to enable the write tools, 0 (or false) or unset for read-only: got "${
        writes.slice(0, 40)
      }"`,
    );
  }
  const networks = get("LINKERD_CLUSTER_NETWORKS")?.split(",").map((s) => s.trim()).filter(Boolean);
  return {
    linkerdNamespace: get("LINKERD_NAMESPACE") ?? "linkerd",
    vizNamespace: get("LINKERD_VIZ_NAMESPACE") ?? "linkerd-viz",
    prometheus: {
      url: (promUrl ?? DEFAULT_PROMETHEUS_URL).replace(/\/+$/, ""),
      isDefault: promUrl === undefined,
      ...(get("LINKERD_PROMETHEUS_TOKEN") ? { bearerToken: get("LINKERD_PROMETHEUS_TOKEN")! } : {}),
      ...(user ? { basicAuth: { username: user, password } } : {}),
      timeoutMs: positiveInt(
        get("LINKERD_PROMETHEUS_TIMEOUT_MS"),
        10_000,
        "LINKERD_PROMETHEUS_TIMEOUT_MS",
      ),
    },
    ...(policy ? { defaultInboundPolicy: policy as DefaultPolicy } : {}),
    ...(networks && networks.length ? { clusterNetworks: networks } : {}),
    kubeTimeoutMs: positiveInt(get("LINKERD_KUBE_TIMEOUT_MS"), 15_000, "LINKERD_KUBE_TIMEOUT_MS"),
    ...(writes === "1" || writes?.toLowerCase() === "true" ? { allowWrites: true } : {}),
  };
}

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 600_000) {
    throw new TypeError(
      `${name} must be a whole number of milliseconds from 1 to 600000: got "${value}"`,
    );
  }
  return n;
}

/** Environment variables the server reads (and so needs `--allow-env` for). */
export const ENV_VARS = [
  "KUBECONFIG",
  "HOME",
  "USERPROFILE",
  "KUBERNETES_SERVICE_HOST",
  "KUBERNETES_SERVICE_PORT",
  "LINKERD_NAMESPACE",
  "LINKERD_VIZ_NAMESPACE",
  "LINKERD_PROMETHEUS_URL",
  "LINKERD_PROMETHEUS_TOKEN",
  "LINKERD_PROMETHEUS_USERNAME",
  "LINKERD_PROMETHEUS_PASSWORD",
  "LINKERD_PROMETHEUS_TIMEOUT_MS",
  "LINKERD_DEFAULT_INBOUND_POLICY",
  "LINKERD_CLUSTER_NETWORKS",
  "LINKERD_KUBE_TIMEOUT_MS",
  "LINKERD_MCP_LOG_LEVEL",
  "LINKERD_MCP_HTTP_TOKEN",
  "LINKERD_MCP_ALLOW_WRITES",
  "LINKERD_MCP_CONFIG",
  "LINKERD_MCP_FAST_START",
] as const;

/**
 * Variables the server does not read itself but passes to kubeconfig exec credential
 * plugins (`aws`, `gke-gcloud-auth-plugin`, `kubelogin`): with `--ignore-env` a plugin
 * sees only allowed variables.
 */
export const PLUGIN_ENV_VARS = [
  "PATH",
  "AWS_*",
  "CLOUDSDK_*",
  "AZURE_*",
  "GOOGLE_APPLICATION_CREDENTIALS",
] as const;
