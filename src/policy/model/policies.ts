/**
 * AuthorizationPolicies and ServerAuthorizations resolved as the policy controller
 * resolves them (`inbound/authorization_policy.rs`, `index.rs::policy_client_authz`,
 * `runtime/src/admission.rs`): target and authentication refs matched by group and kind
 * (an omitted group is core, `core` written out is the same), refs resolved against the
 * MeshTLSAuthentication / NetworkAuthentication objects, at most one identity source and
 * one network source; a policy with any bad ref is ignored as a whole.
 *
 * @module
 */
import type { KubeObject } from "../../kube/types.ts";
import type { MeshConfig } from "../../mesh/config.ts";
import { namespaceIdentitySuffix, serviceAccountIdentity } from "../../mesh/config.ts";
import { ALL_NETWORKS, parseIdentities, parseNetworks } from "../authz.ts";
import type { Authentication, NetworkMatch } from "../types.ts";
import type { AuthnRef, PolicyEntry, Problem, RefSpec } from "./types.ts";

/** Linkerd's policy API group. */
export const POLICY_GROUP = "policy.linkerd.io";
/** The Gateway API group. */
export const GATEWAY_GROUP = "gateway.networking.k8s.io";

/** `targets_kind`: group (omitted or empty = core) and kind compared case-insensitively. */
export function targetsKind(
  ref: { group?: string | null; kind?: string | null },
  group: string,
  kind: string,
): boolean {
  const g = (ref.group ?? "") === "" ? "core" : ref.group!;
  const want = group === "" ? "core" : group;
  return g.toLowerCase() === want.toLowerCase() &&
    (ref.kind ?? "").toLowerCase() === kind.toLowerCase();
}

/** `group/kind` for messages (`core` spelled out for an omitted group). */
export function canonicalKind(ref: { group?: string | null; kind?: string | null }): string {
  const g = (ref.group ?? "") === "" ? "" : `${ref.group}/`;
  return `${g}${ref.kind ?? "(no kind)"}`;
}

/** Lookups of authentication objects by namespace and name. */
export interface AuthnObjects {
  meshTls: Map<string, KubeObject>;
  network: Map<string, KubeObject>;
  /** Parsed authentications, filled on first use (many policies share one). */
  parsed?: Map<KubeObject, ReturnType<typeof meshTlsMatches> | NetworkMatch[]>;
}

type RawRef = RefSpec;

/** A MeshTLSAuthentication's identity matches, or why it is invalid (the index drops it). */
export function meshTlsMatches(
  obj: KubeObject,
  mesh: MeshConfig,
): { identities: string[]; suffixes: string[] } | Problem {
  const spec = (obj.spec ?? {}) as { identities?: string[]; identityRefs?: RawRef[] };
  const { identities, suffixes } = parseIdentities(spec.identities ?? []);
  for (const [i, r] of (spec.identityRefs ?? []).entries()) {
    if (targetsKind(r, "", "ServiceAccount")) {
      identities.push(
        serviceAccountIdentity(r.name ?? "", r.namespace ?? obj.metadata.namespace ?? "", mesh),
      );
    } else if (targetsKind(r, "", "Namespace")) {
      suffixes.push(namespaceIdentitySuffix(r.name ?? "", mesh));
    } else {
      return {
        code: "unsupported-identity-ref",
        field: `spec.identityRefs[${i}]`,
        message: `identityRef of unsupported kind "${canonicalKind(r)}"`,
      };
    }
  }
  if (identities.length + suffixes.length === 0) {
    return { code: "empty", field: "spec", message: "it lists no identities" };
  }
  return { identities, suffixes };
}

function cached<T>(authn: AuthnObjects, obj: KubeObject, make: () => T): T {
  if (!authn.parsed) return make();
  if (!authn.parsed.has(obj)) authn.parsed.set(obj, make() as never);
  return authn.parsed.get(obj) as T;
}

/** Resolves one AuthorizationPolicy. */
export function resolveAuthorizationPolicy(
  ap: KubeObject,
  opts: { mesh: MeshConfig; authn: AuthnObjects },
): PolicyEntry {
  const ns = ap.metadata.namespace ?? "";
  const name = ap.metadata.name;
  const spec = (ap.spec ?? {}) as { targetRef?: RawRef; requiredAuthenticationRefs?: RawRef[] };
  const t = spec.targetRef ?? {};
  const ignored: Problem[] = [];
  let target: PolicyEntry["target"];
  if (targetsKind(t, POLICY_GROUP, "Server")) {
    target = { kind: "Server", group: POLICY_GROUP, name: t.name ?? "" };
  } else if (targetsKind(t, "", "Namespace")) {
    target = { kind: "Namespace", group: "", name: t.name ?? "" };
    if (t.name !== ns) {
      ignored.push({
        code: "target-other-namespace",
        field: "spec.targetRef.name",
        message:
          `AuthorizationPolicy "${name}" targets another namespace "${t.name}": admission rejects it ("cannot target another namespace")`,
      });
    }
  } else if (
    targetsKind(t, POLICY_GROUP, "HTTPRoute") || targetsKind(t, GATEWAY_GROUP, "HTTPRoute")
  ) {
    target = { kind: "HTTPRoute", group: (t.group ?? "").toLowerCase(), name: t.name ?? "" };
  } else if (targetsKind(t, GATEWAY_GROUP, "GRPCRoute")) {
    target = { kind: "GRPCRoute", group: GATEWAY_GROUP, name: t.name ?? "" };
  } else {
    ignored.push({
      code: "unsupported-target",
      field: "spec.targetRef",
      message: `AuthorizationPolicy "${name}" targets unsupported kind "${
        canonicalKind(t)
      }": the policy controller rejects it`,
    });
  }
  const refs: AuthnRef[] = [];
  let identities: { identities: string[]; suffixes: string[] } | undefined;
  let networks: NetworkMatch[] | undefined;
  const objects = [`AuthorizationPolicy/${name}`];
  const raw = Array.isArray(spec.requiredAuthenticationRefs) ? spec.requiredAuthenticationRefs : [];
  for (const [i, r] of raw.entries()) {
    const refNs = r.namespace ?? ns;
    const refName = r.name ?? "";
    const ref: AuthnRef = {
      field: `spec.requiredAuthenticationRefs[${i}]`,
      kind: r.kind ?? "",
      group: r.group ?? "",
      name: refName,
      namespace: refNs,
    };
    refs.push(ref);
    const shown = refNs === ns ? refName : `${refNs}/${refName}`;
    const reject = (code: string, message: string) => {
      ref.rejected = { code, field: ref.field, message };
      ignored.push(ref.rejected);
    };
    if (targetsKind(r, POLICY_GROUP, "MeshTLSAuthentication")) {
      ref.resolved = "MeshTLSAuthentication";
      const obj = opts.authn.meshTls.get(`${refNs}/${refName}`);
      if (!obj) {
        reject(
          "not-found",
          `AuthorizationPolicy "${name}" references MeshTLSAuthentication "${refNs}/${refName}", which does not exist: the policy controller ignores the policy`,
        );
        continue;
      }
      ref.object = obj;
      const m = cached(opts.authn, obj, () => meshTlsMatches(obj, opts.mesh));
      if ("code" in m) {
        reject(
          "invalid",
          `MeshTLSAuthentication "${refNs}/${refName}" is invalid (${m.message}): the policy controller ignores AuthorizationPolicy "${name}"`,
        );
        continue;
      }
      if (identities) {
        reject(
          "duplicate-mtls",
          `AuthorizationPolicy "${name}" sets more than one identity source (MeshTLSAuthentication or ServiceAccount): admission rejects it ("only a single MeshTLSAuthentication may be set")`,
        );
        continue;
      }
      identities = m;
      objects.push(`MeshTLSAuthentication/${shown}`);
    } else if (targetsKind(r, POLICY_GROUP, "NetworkAuthentication")) {
      ref.resolved = "NetworkAuthentication";
      const obj = opts.authn.network.get(`${refNs}/${refName}`);
      if (!obj) {
        reject(
          "not-found",
          `AuthorizationPolicy "${name}" references NetworkAuthentication "${refNs}/${refName}", which does not exist: the policy controller ignores the policy`,
        );
        continue;
      }
      ref.object = obj;
      const nets = cached(opts.authn, obj, () => parseNetworks((obj.spec ?? {})["networks"]));
      if (nets.length === 0) {
        reject(
          "invalid",
          `NetworkAuthentication "${refNs}/${refName}" lists no valid networks: the policy controller ignores AuthorizationPolicy "${name}"`,
        );
        continue;
      }
      if (networks) {
        reject(
          "duplicate-network",
          `AuthorizationPolicy "${name}" references more than one NetworkAuthentication: admission rejects it ("only a single NetworkAuthentication may be set")`,
        );
        continue;
      }
      networks = nets;
      objects.push(`NetworkAuthentication/${shown}`);
    } else if (targetsKind(r, "", "ServiceAccount")) {
      ref.resolved = "ServiceAccount";
      if (identities) {
        reject(
          "duplicate-mtls",
          `AuthorizationPolicy "${name}" sets more than one identity source (MeshTLSAuthentication or ServiceAccount): admission rejects it ("a MeshTLSAuthentication and ServiceAccount may not be set together")`,
        );
        continue;
      }
      identities = {
        identities: [serviceAccountIdentity(refName, refNs, opts.mesh)],
        suffixes: [],
      };
      objects.push(`ServiceAccount/${shown}`);
    } else {
      reject(
        "unsupported-kind",
        `AuthorizationPolicy "${name}" references unsupported authentication "${canonicalKind(r)}"${
          /^(meshtls|network)authentication$/i.test(r.kind ?? "")
            ? ` (a ${r.kind} ref needs group ${POLICY_GROUP})`
            : ""
        }: the policy controller rejects the whole policy`,
      );
    }
  }
  const entry: PolicyEntry = {
    obj: ap,
    kind: "AuthorizationPolicy",
    name,
    namespace: ns,
    ...(target ? { target } : {}),
    refs,
    ignored,
  };
  if (ignored.length === 0) {
    const authentication: Authentication = identities
      ? { type: "tls", ...identities }
      : { type: "unauthenticated" };
    entry.authz = {
      kind: "authorizationpolicy",
      name,
      namespace: ns,
      authentication,
      networks: networks ?? ALL_NETWORKS,
      objects,
    };
  }
  return entry;
}

/** Resolves one ServerAuthorization (`inbound/server_authorization.rs`). */
export function resolveServerAuthorization(
  saz: KubeObject,
  opts: { mesh: MeshConfig; clusterNetworks: NetworkMatch[] },
): PolicyEntry {
  const ns = saz.metadata.namespace ?? "";
  const name = saz.metadata.name;
  const spec = (saz.spec ?? {}) as {
    server?: { name?: string; selector?: unknown };
    client?: {
      networks?: unknown;
      unauthenticated?: boolean;
      meshTLS?: {
        unauthenticatedTLS?: boolean;
        identities?: string[];
        serviceAccounts?: Array<{ name: string; namespace?: string }>;
      };
    };
  };
  const server = spec.server ?? {};
  const target = server.name !== undefined
    ? { kind: "Server", group: POLICY_GROUP, name: server.name }
    : { kind: "ServerSelector", group: POLICY_GROUP, name: "" };
  const client = spec.client ?? {};
  const ignored: Problem[] = [];
  let authentication: Authentication | undefined;
  if (client.unauthenticated) authentication = { type: "unauthenticated" };
  else if (client.meshTLS) {
    if (client.meshTLS.unauthenticatedTLS) authentication = { type: "tls-unauthenticated" };
    else {
      const parsed = parseIdentities(client.meshTLS.identities ?? []);
      for (const sa of client.meshTLS.serviceAccounts ?? []) {
        parsed.identities.push(serviceAccountIdentity(sa.name, sa.namespace ?? ns, opts.mesh));
      }
      if (parsed.identities.length + parsed.suffixes.length > 0) {
        authentication = { type: "tls", ...parsed };
      }
    }
  }
  if (!authentication) {
    ignored.push({
      code: "no-clients",
      field: "spec.client",
      message: `ServerAuthorization "${name}" authorizes no clients`,
    });
  }
  const networks = parseNetworks(client.networks);
  const entry: PolicyEntry = {
    obj: saz,
    kind: "ServerAuthorization",
    name,
    namespace: ns,
    target,
    refs: [],
    ignored,
  };
  if (authentication) {
    entry.authz = {
      kind: "serverauthorization",
      name,
      namespace: ns,
      authentication,
      // no networks: the controller sends the cluster networks (grpc/inbound.rs)
      networks: networks.length ? networks : opts.clusterNetworks,
      objects: [`ServerAuthorization/${name}`],
    };
  }
  return entry;
}
