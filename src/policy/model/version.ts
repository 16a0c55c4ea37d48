/**
 * The control-plane version a policy answer assumes, and the behaviours that changed
 * between releases. Read from `linkerd-config` (`linkerdVersion`), then the policy
 * controller's image tag (the `linkerd-destination` pod), then `proxy.image.version`,
 * else the newest stable line.
 *
 * @module
 */
import type { ClusterState } from "../../kube/state.ts";
import { itemsOf } from "../../kube/state.ts";
import type { MeshConfig } from "../../mesh/config.ts";
import type { Pod } from "../../mesh/pods.ts";

/** The newest stable line (version-2.20 = edge-26.6.3 + 1). */
export const NEWEST_STABLE = "2.20";

/** Each stable line's first edge release (`version-2.NN` tags), as `[line, edge ordinal]`. */
const LINES: ReadonlyArray<readonly [string, number]> = [
  ["2.11", 210900],
  ["2.12", 220800],
  ["2.13", 230400],
  ["2.14", 230800],
  ["2.15", 240204],
  ["2.16", 240802],
  ["2.17", 241108],
  ["2.18", 250404],
  ["2.19", 251007],
  ["2.20", 260603],
];

/** The version an answer assumes. */
export interface ControlPlaneVersion {
  /** As found (`edge-24.7.5`, `stable-2.14.10`, `2.20`). */
  name: string;
  /** Stable line (`2.16`). */
  line: string;
  /** Edge ordinal (YYMMNN) used for comparisons. */
  ordinal: number;
  source: "policy-controller-image" | "linkerd-config" | "proxy-version" | "default";
  /** One sentence for answers: `assuming Linkerd 2.20 (newest stable; no version found)`. */
  text: string;
}

/** Behaviours that depend on the version. */
export interface Features {
  /** The automatic `probe` route on ports without attached routes (2.12, #9008). */
  probeRoutes: boolean;
  /** Probe paths are parsed as URIs, so a query string no longer breaks the probe route (edge-23.5.3, #10934). */
  probeQueryStripped: boolean;
  /** Server `accessPolicy` and the `audit` default policy (edge-24.7.5, 2.16). */
  accessPolicy: boolean;
  /** Inbound GRPCRoute (2.16, #12785). */
  grpcRoutes: boolean;
  /** Overlapping Servers admitted, oldest wins (edge-25.2.2, 2.18). */
  overlappingServers: boolean;
  /** A meshed client's connection to a port its Service does not define is refused (edge-25.7.1, #14149). */
  undefinedPortsForbidden: boolean;
  /** ... also when the Service has a ServiceProfile (edge-26.7.1, #15473). */
  undefinedPortsForbiddenWithProfile: boolean;
}

/** Parses a version string into an edge ordinal and line; `undefined` when unknown. */
export function parseVersion(text: string): { ordinal: number; line: string } | undefined {
  const t = text.trim().replace(/^v/, "");
  let m = t.match(/^edge-(\d{2})\.(\d{1,2})\.(\d{1,2})/);
  if (m) {
    const ordinal = Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]);
    return { ordinal, line: lineOf(ordinal) };
  }
  m = t.match(/^(?:stable-|enterprise-|version-)?2\.(\d{1,2})(?:\.\d+)?/);
  if (m) {
    const line = `2.${Number(m[1])}`;
    const known = LINES.find(([l]) => l === line);
    const ordinal = known ? known[1] : Number(m[1]) > 20 ? 999999 : 0;
    return { ordinal, line };
  }
  return undefined;
}

function lineOf(ordinal: number): string {
  let line = "2.10";
  for (const [l, o] of LINES) if (ordinal >= o) line = l;
  return line;
}

function tagOf(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const at = image.split("@")[0]!;
  const colon = at.lastIndexOf(":");
  return colon > at.lastIndexOf("/") ? at.slice(colon + 1) : undefined;
}

/** Finds the control-plane version in the state. */
export function detectVersion(state: ClusterState, mesh: MeshConfig): ControlPlaneVersion {
  // linkerd-config first: it is read by name, so it is there even under namespace-scoped RBAC
  const candidates: Array<[string | undefined, ControlPlaneVersion["source"], string]> = [
    [mesh.linkerdVersion, "linkerd-config", "linkerd-config linkerdVersion"],
  ];
  for (const pod of itemsOf(state, "pods", mesh.controlPlaneNamespace) as readonly Pod[]) {
    const labels = pod.metadata.labels ?? {};
    if (labels["linkerd.io/control-plane-component"] !== "destination") continue;
    const policy = pod.spec?.containers?.find((c) => c.name === "policy") ??
      pod.spec?.containers?.find((c) => c.name === "destination");
    candidates.push([
      tagOf(policy?.image),
      "policy-controller-image",
      `the image tag of pod ${pod.metadata.name}`,
    ]);
  }
  candidates.push([mesh.proxyVersion, "proxy-version", "linkerd-config proxy.image.version"]);
  for (const [name, source, where] of candidates) {
    if (!name) continue;
    const v = parseVersion(name);
    if (!v) continue;
    return { name, ...v, source, text: `assuming Linkerd ${name} (line ${v.line}, from ${where})` };
  }
  const v = parseVersion(NEWEST_STABLE)!;
  return {
    name: NEWEST_STABLE,
    ...v,
    source: "default",
    text:
      `assuming Linkerd ${NEWEST_STABLE}, the newest stable line (no control-plane version found)`,
  };
}

/** The behaviours in force for a version. */
export function featuresOf(v: { ordinal: number }): Features {
  return {
    probeRoutes: v.ordinal >= 220800,
    probeQueryStripped: v.ordinal >= 230503,
    accessPolicy: v.ordinal >= 240705,
    grpcRoutes: v.ordinal >= 240600,
    overlappingServers: v.ordinal >= 250202,
    undefinedPortsForbidden: v.ordinal >= 250701,
    undefinedPortsForbiddenWithProfile: v.ordinal >= 260701,
  };
}
