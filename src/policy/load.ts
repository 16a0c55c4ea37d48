/**
 * The policy use case's loading step: read the state the policy model needs through a
 * {@linkcode ClusterSource} (never a concrete client), falling back to the namespaces a
 * question involves when RBAC forbids cluster-wide lists, and build the index once for
 * that snapshot.
 *
 * @module
 */
import type { Config } from "../config.ts";
import { POLICY_KEYS, type ResourceKey } from "../kube/resources.ts";
import type { ClusterSource } from "../kube/source.ts";
import {
  type ClusterState,
  isForbidden,
  itemsOf,
  loadState,
  loadStateInNamespaces,
  mergeStates,
} from "../kube/state.ts";
import { readMeshConfig } from "../mesh/config.ts";
import { buildPolicyIndex, type PolicyIndex } from "./policy_index.ts";

/** Resources the policy model reads. */
export const POLICY_RESOURCES: readonly ResourceKey[] = [
  "namespaces",
  "pods",
  "services",
  "configmaps",
  "serviceprofiles",
  ...POLICY_KEYS,
];

/** Authentication types an AuthorizationPolicy may reference in another namespace. */
const AUTHN_KEYS: readonly ResourceKey[] = ["meshtlsauthentications", "networkauthentications"];

/** What {@linkcode loadPolicyIndex} returns. */
export interface LoadedPolicy {
  idx: PolicyIndex;
  state: ClusterState;
  /** Limits of the data (RBAC fallback), one sentence each; empty when none. */
  notes: string[];
}

/**
 * Loads the policy state and builds its index. With `fallbackNamespaces`, a 403 on a
 * cluster-wide list is retried per namespace (plus the authentications referenced in
 * other namespaces, where RBAC allows), and a note says so.
 *
 * @throws {KubeApiError} when the API server refuses or cannot be reached.
 */
export async function loadPolicyIndex(
  deps: { cluster: ClusterSource; config: Config },
  opts: { signal?: AbortSignal; fallbackNamespaces?: readonly string[] },
): Promise<LoadedPolicy> {
  const load = {
    linkerdNamespace: deps.config.linkerdNamespace,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const fallback = opts.fallbackNamespaces;
  let state: ClusterState;
  const notes: string[] = [];
  try {
    state = await loadState(deps.cluster, POLICY_RESOURCES, load);
  } catch (err) {
    if (!isForbidden(err) || !fallback?.length) throw err;
    // RBAC forbids a cluster-wide list: read only the namespaces the question involves.
    try {
      state = await loadStateInNamespaces(deps.cluster, POLICY_RESOURCES, fallback, load);
    } catch (retry) {
      if (isForbidden(retry)) throw err;
      throw retry;
    }
    const authn = await loadReferencedAuthentications(deps.cluster, state, fallback, load);
    state = authn.state;
    notes.push(scopeNote(err, fallback, state, authn));
  }
  const mesh = readMeshConfig(state, deps.config);
  return { idx: buildPolicyIndex(state, { mesh }), state, notes };
}

async function loadReferencedAuthentications(
  cluster: ClusterSource,
  state: ClusterState,
  scope: readonly string[],
  opts: { linkerdNamespace: string; signal?: AbortSignal },
): Promise<{ state: ClusterState; read: string[]; unread: string[] }> {
  const elsewhere = new Set<string>();
  for (const ap of itemsOf(state, "authorizationpolicies")) {
    const refs = (ap.spec?.["requiredAuthenticationRefs"] ?? []) as Array<{ namespace?: string }>;
    for (const ref of Array.isArray(refs) ? refs : []) {
      if (typeof ref?.namespace === "string" && !scope.includes(ref.namespace)) {
        elsewhere.add(ref.namespace);
      }
    }
  }
  const read: string[] = [];
  const unread: string[] = [];
  const parts = await Promise.all(
    [...elsewhere].sort().map(async (namespace) => {
      try {
        const part = await loadStateInNamespaces(cluster, AUTHN_KEYS, [namespace], opts);
        read.push(namespace);
        return part;
      } catch (err) {
        if (!isForbidden(err)) throw err;
        unread.push(namespace);
        return undefined;
      }
    }),
  );
  const more = parts.filter((p) => p !== undefined);
  return {
    state: more.length
      ? mergeStates(state.source, state.linkerdNamespace, [state, ...more])
      : state,
    read: read.sort(),
    unread: unread.sort(),
  };
}

function quoted(namespaces: readonly string[]): string {
  return namespaces.map((n) => `"${n}"`).join(" and ");
}

function scopeNote(
  err: Error,
  namespaces: readonly string[],
  state: ClusterState,
  authn: { read: string[]; unread: string[] },
): string {
  const scope = [...new Set(namespaces)];
  const parts = [
    `RBAC forbids reading cluster-wide (${err.message}), so this analysis used only namespace${
      scope.length > 1 ? "s" : ""
    } ${quoted(scope)}`,
  ];
  if (authn.read.length) {
    parts.push(`, plus the authentications its policies reference in ${quoted(authn.read)}`);
  }
  parts.push(".");
  if (authn.unread.length) {
    parts.push(
      ` Authentications referenced in ${
        quoted(authn.unread)
      } could not be read (RBAC) and count as missing, so policies that reference them are ignored, as if they did not exist.`,
    );
  }
  if ((state.forbidden ?? []).includes("namespaces")) {
    parts.push(
      " Namespace objects could not be read either; the analysis does not depend on them (each pod's default inbound policy comes from its own annotation, else the cluster default).",
    );
  }
  return parts.join("");
}

/** Names the resource types the cluster does not serve (read as empty), or `""`. */
export function missingNote(state: ClusterState): string {
  const policy = state.missing.filter((m) => m !== "pods" && m !== "services");
  return policy.length
    ? `\nNot installed in this cluster (read as empty): ${policy.join(", ")}.`
    : "";
}
