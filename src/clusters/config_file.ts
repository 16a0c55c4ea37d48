/**
 * Per-cluster settings from the file `LINKERD_MCP_CONFIG` names (pure: the caller reads
 * the file). YAML or JSON:
 *
 * ```yaml
 * clusters:
 *   kind-east:                 # a kubeconfig context, a --manifests NAME, or east/west on --demo
 *     linkName: east           # the name other clusters' Links give it (spec.targetClusterName)
 *     prometheusUrl: https://prometheus.east.example:9090
 *     prometheusTimeoutMs: 10000
 *     linkerdNamespace: linkerd
 *     vizNamespace: linkerd-viz
 *     defaultInboundPolicy: all-unauthenticated
 *     clusterNetworks: [10.0.0.0/8]
 * ```
 *
 * Never credentials: a key that names a token, password or secret, and a URL with
 * userinfo, are refused. `LINKERD_PROMETHEUS_TOKEN`/`_USERNAME`/`_PASSWORD` are sent only
 * to the Prometheus that `LINKERD_PROMETHEUS_URL` names: a cluster whose own
 * `prometheusUrl` differs gets no credentials.
 *
 * @module
 */
import {
  type Config,
  DEFAULT_POLICIES,
  DEFAULT_PROMETHEUS_URL,
  type DefaultPolicy,
} from "../config.ts";
import { redactUrl } from "../redact.ts";

/** One cluster's overrides. */
export interface ClusterOverrides {
  linkName?: string;
  prometheusUrl?: string;
  prometheusTimeoutMs?: number;
  linkerdNamespace?: string;
  vizNamespace?: string;
  defaultInboundPolicy?: DefaultPolicy;
  clusterNetworks?: string[];
}

/** The whole file. */
export interface ClustersFile {
  clusters: Record<string, ClusterOverrides>;
}

/** The file cannot be used; the message says where and why. */
export class ClustersFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClustersFileError";
  }
}

const KEYS = new Set([
  "linkName",
  "prometheusUrl",
  "prometheusTimeoutMs",
  "linkerdNamespace",
  "vizNamespace",
  "defaultInboundPolicy",
  "clusterNetworks",
]);
const CREDENTIAL_KEY = /token|password|secret|credential|auth|key|cert/i;
const NAME = /^[A-Za-z0-9]([A-Za-z0-9._@:/-]{0,251}[A-Za-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Checks a parsed file (`doc`: what the YAML/JSON parser gave) and returns its settings.
 * `where` names the file in messages.
 *
 * @throws {ClustersFileError} when a key is unknown, a value is of the wrong kind, or a
 * credential appears.
 */
export function parseClustersFile(doc: unknown, where: string): ClustersFile {
  const bad = (what: string) => new ClustersFileError(`${where}: ${what}`);
  if (doc === null || doc === undefined) return { clusters: {} };
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw bad("expected a mapping with a `clusters` mapping");
  }
  for (const k of Object.keys(doc)) {
    if (k !== "clusters") throw bad(`unknown key "${k.slice(0, 60)}" (expected only clusters)`);
  }
  const raw = (doc as { clusters?: unknown }).clusters ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw bad("`clusters` must be a mapping of cluster name to settings");
  }
  const clusters: Record<string, ClusterOverrides> = {};
  for (const [name, value] of Object.entries(raw)) {
    const at = `clusters.${name.slice(0, 60)}`;
    if (!NAME.test(name)) throw bad(`${at}: not a cluster or context name`);
    if (value === null) {
      clusters[name] = {};
      continue;
    }
    if (typeof value !== "object" || Array.isArray(value)) throw bad(`${at} must be a mapping`);
    const out: ClusterOverrides = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const key = `${at}.${k.slice(0, 60)}`;
      if (!KEYS.has(k)) {
        throw bad(
          CREDENTIAL_KEY.test(k)
            ? `${key}: credentials do not belong in this file (it is not a secret store); give Prometheus credentials by LINKERD_PROMETHEUS_TOKEN or LINKERD_PROMETHEUS_USERNAME/PASSWORD`
            : `${key}: unknown setting (known: ${[...KEYS].join(", ")})`,
        );
      }
      switch (k) {
        case "linkName":
          if (typeof v !== "string" || !DNS_NAME.test(v)) {
            throw bad(`${key} must be a cluster name as Links name it (lower-case DNS label)`);
          }
          out.linkName = v;
          break;
        case "prometheusUrl": {
          if (typeof v !== "string" || !/^https?:\/\/[^\s]+$/.test(v)) {
            throw bad(`${key} must be an http:// or https:// URL`);
          }
          if (/^https?:\/\/[^/]*@/.test(v)) {
            throw bad(
              `${key} (${
                redactUrl(v)
              }) carries credentials (user:password@): remove them; this file must hold none`,
            );
          }
          out.prometheusUrl = v.replace(/\/+$/, "");
          break;
        }
        case "prometheusTimeoutMs":
          if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > 600_000) {
            throw bad(`${key} must be a whole number of milliseconds from 1 to 600000`);
          }
          out.prometheusTimeoutMs = v;
          break;
        case "linkerdNamespace":
        case "vizNamespace":
          if (typeof v !== "string" || !DNS_NAME.test(v)) throw bad(`${key} must be a namespace`);
          out[k] = v;
          break;
        case "defaultInboundPolicy":
          if (typeof v !== "string" || !(DEFAULT_POLICIES as readonly string[]).includes(v)) {
            throw bad(`${key} must be one of ${DEFAULT_POLICIES.join(", ")}`);
          }
          out.defaultInboundPolicy = v as DefaultPolicy;
          break;
        case "clusterNetworks":
          if (
            !Array.isArray(v) || v.length === 0 ||
            !v.every((n) => typeof n === "string" && /^[0-9a-fA-F.:]+\/\d{1,3}$/.test(n))
          ) {
            throw bad(`${key} must be a list of CIDRs, e.g. [10.0.0.0/8]`);
          }
          out.clusterNetworks = [...v] as string[];
          break;
      }
    }
    clusters[name] = out;
  }
  return { clusters };
}

/**
 * The configuration of one cluster: `base` (from the environment) with its overrides.
 *
 * The environment describes the default cluster. Another cluster keeps the namespaces
 * and time limits but not what belongs to one cluster: its Prometheus is its own
 * `prometheusUrl`, else viz's in-cluster default (reached through its own API server),
 * never the default cluster's `LINKERD_PROMETHEUS_URL` and never its credentials; its
 * default inbound policy and cluster networks come from its own `linkerd-config` unless
 * overridden here. Credentials reach only the Prometheus they were given for.
 */
export function configFor(
  base: Config,
  overrides: ClusterOverrides | undefined,
  opts: { isDefault: boolean },
): Config {
  const out: Config = { ...base, prometheus: { ...base.prometheus } };
  if (!opts.isDefault) {
    delete out.defaultInboundPolicy;
    delete out.clusterNetworks;
    out.prometheus = {
      url: DEFAULT_PROMETHEUS_URL,
      isDefault: true,
      timeoutMs: base.prometheus.timeoutMs,
    };
  }
  if (!overrides) return out;
  if (overrides.linkerdNamespace) out.linkerdNamespace = overrides.linkerdNamespace;
  if (overrides.vizNamespace) out.vizNamespace = overrides.vizNamespace;
  if (overrides.defaultInboundPolicy) out.defaultInboundPolicy = overrides.defaultInboundPolicy;
  if (overrides.clusterNetworks) out.clusterNetworks = [...overrides.clusterNetworks];
  const url = overrides.prometheusUrl;
  if (url !== undefined) {
    // The credentials were given for LINKERD_PROMETHEUS_URL: only that Prometheus gets them.
    out.prometheus = url === base.prometheus.url && !base.prometheus.isDefault
      ? { ...base.prometheus }
      : { url, isDefault: false, timeoutMs: base.prometheus.timeoutMs };
  }
  if (overrides.prometheusTimeoutMs) out.prometheus.timeoutMs = overrides.prometheusTimeoutMs;
  return out;
}
