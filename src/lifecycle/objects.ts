/**
 * The policy objects the lifecycle tools propose (Server, MeshTLSAuthentication,
 * NetworkAuthentication, AuthorizationPolicy) and their rendering as one multi-document
 * YAML string that `kubectl apply -f -` accepts.
 *
 * @module
 */
import { stringify } from "yaml";
import type { KubeObject } from "../kube/types.ts";
import type { MeshConfig } from "../mesh/config.ts";
import { serviceAccountIdentity } from "../mesh/config.ts";
import { POLICY_GROUP } from "../policy/model/policies.ts";
import { parseIdentity } from "./observe.ts";

/** A Kubernetes object to apply, as plain data. */
export type Doc = Record<string, unknown>;

/** A DNS-1123 label of at most 63 characters made of parts (`a-b-c`). */
export function dnsLabel(...parts: string[]): string {
  const raw = parts.join("-").toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/-+/g, "-")
    .replace(/^-+/, "");
  if (raw.length <= 63) return raw.replace(/-+$/, "") || "policy";
  // keep it unique when cut: a short hash of the whole name
  let h = 0;
  for (const ch of raw) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const tag = h.toString(36).slice(0, 6);
  return `${raw.slice(0, 56).replace(/-+$/, "")}-${tag}`;
}

/** A new Server for `port` of the pods `matchLabels` selects. */
export function serverDoc(opts: {
  name: string;
  namespace: string;
  matchLabels: Record<string, string>;
  port: number;
  accessPolicy?: string;
  proxyProtocol?: string;
}): Doc {
  return {
    apiVersion: `${POLICY_GROUP}/v1beta3`,
    kind: "Server",
    metadata: { name: opts.name, namespace: opts.namespace },
    spec: {
      podSelector: { matchLabels: opts.matchLabels },
      port: opts.port,
      ...(opts.proxyProtocol ? { proxyProtocol: opts.proxyProtocol } : {}),
      ...(opts.accessPolicy ? { accessPolicy: opts.accessPolicy } : {}),
    },
  };
}

/** An existing object stripped of what the API server owns, ready to be re-applied. */
export function appliable(obj: KubeObject): Doc {
  const { name, namespace, labels, annotations } = obj.metadata;
  const ann = Object.fromEntries(
    Object.entries(annotations ?? {}).filter(([k]) =>
      k !== "kubectl.kubernetes.io/last-applied-configuration"
    ),
  );
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      ...(labels && Object.keys(labels).length ? { labels } : {}),
      ...(Object.keys(ann).length ? { annotations: ann } : {}),
    },
    spec: structuredClone(obj.spec ?? {}),
  };
}

/** How an identity is written in a MeshTLSAuthentication: a ServiceAccount ref when it is one. */
function identityEntry(
  id: string,
  mesh: MeshConfig,
): { ref?: { kind: string; name: string; namespace: string }; identity?: string } {
  const p = parseIdentity(id);
  if (p && serviceAccountIdentity(p.serviceAccount, p.namespace, mesh) === id) {
    return { ref: { kind: "ServiceAccount", name: p.serviceAccount, namespace: p.namespace } };
  }
  return { identity: id };
}

/** A MeshTLSAuthentication admitting exactly `identities`. */
export function meshTlsDoc(
  name: string,
  namespace: string,
  identities: readonly string[],
  mesh: MeshConfig,
): Doc {
  const entries = [...new Set(identities)].sort().map((id) => identityEntry(id, mesh));
  const refs = entries.flatMap((e) => (e.ref ? [e.ref] : []));
  const ids = entries.flatMap((e) => (e.identity ? [e.identity] : []));
  return {
    apiVersion: `${POLICY_GROUP}/v1alpha1`,
    kind: "MeshTLSAuthentication",
    metadata: { name, namespace },
    spec: {
      ...(refs.length ? { identityRefs: refs } : {}),
      ...(ids.length ? { identities: ids } : {}),
    },
  };
}

/** A NetworkAuthentication admitting `cidrs`. */
export function networkDoc(name: string, namespace: string, cidrs: readonly string[]): Doc {
  return {
    apiVersion: `${POLICY_GROUP}/v1alpha1`,
    kind: "NetworkAuthentication",
    metadata: { name, namespace },
    spec: { networks: cidrs.map((cidr) => ({ cidr })) },
  };
}

/** An AuthorizationPolicy on `target` requiring one authentication. */
export function authorizationDoc(
  name: string,
  namespace: string,
  target: { group: string; kind: string; name: string },
  authn: { kind: "MeshTLSAuthentication" | "NetworkAuthentication"; name: string },
): Doc {
  return {
    apiVersion: `${POLICY_GROUP}/v1alpha1`,
    kind: "AuthorizationPolicy",
    metadata: { name, namespace },
    spec: {
      targetRef: target,
      requiredAuthenticationRefs: [{ group: POLICY_GROUP, kind: authn.kind, name: authn.name }],
    },
  };
}

/** An AuthorizationPolicy on `target` requiring a ServiceAccount's identity. */
export function serviceAccountAuthorizationDoc(
  name: string,
  namespace: string,
  target: { group: string; kind: string; name: string },
  sa: { name: string; namespace: string },
): Doc {
  return {
    apiVersion: `${POLICY_GROUP}/v1alpha1`,
    kind: "AuthorizationPolicy",
    metadata: { name, namespace },
    spec: {
      targetRef: target,
      requiredAuthenticationRefs: [{
        kind: "ServiceAccount",
        name: sa.name,
        namespace: sa.namespace,
      }],
    },
  };
}

/** One multi-document YAML string (`---` between documents). */
export function renderYaml(docs: readonly Doc[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}
