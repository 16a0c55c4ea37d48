/**
 * Rules for ServerAuthorization, AuthorizationPolicy, MeshTLSAuthentication and
 * NetworkAuthentication: admission limits, dangling references, identity formats.
 *
 * @module
 */
import { renderChange } from "../../policy/suggest.ts";
import type { ResourceKey } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { LabelSelector } from "../../kube/selectors.ts";
import { matchesLinkerdSelector, type ServerModel } from "../../policy/model/mod.ts";
import type { ValidationContext } from "../context.ts";
import { cidrCovers, parseCidr } from "../../policy/cidr.ts";
import { identityError } from "../parse.ts";
import { GATEWAY_GROUP, listOf, POLICY_GROUP, type Ref, specOf, targetOf } from "../refs.ts";
import type { Hit, Rule } from "../types.ts";
import { DOCS } from "./_docs.ts";

const lc = (s: string | undefined) => (s ?? "").toLowerCase();

/** Target kinds an AuthorizationPolicy may name (the model decides which groups go with them). */
const TARGET_KINDS = new Set(["server", "httproute", "grpcroute", "namespace"]);

/** Resource keys of route targets by the model's normalised `kind|group`. */
const ROUTE_KEYS = new Map<string, ResourceKey>([
  [`HTTPRoute|${POLICY_GROUP}`, "httproutes"],
  [`HTTPRoute|${GATEWAY_GROUP}`, "gatewayhttproutes"],
  [`GRPCRoute|${GATEWAY_GROUP}`, "grpcroutes"],
]);

function networksHits(obj: KubeObject, nets: Record<string, unknown>[], field: string): Hit[] {
  const out: Hit[] = [];
  nets.forEach((n, i) => {
    const cidr = typeof n["cidr"] === "string" ? parseCidr(n["cidr"]) : undefined;
    if (!cidr) {
      out.push({
        obj,
        field: `${field}[${i}].cidr`,
        message: `${obj.kind} "${obj.metadata.name}" has network ${
          JSON.stringify(n["cidr"])
        }, which is not a CIDR or IP address`,
      });
    }
    const except = Array.isArray(n["except"]) ? n["except"] : [];
    except.forEach((e, j) => {
      const ex = typeof e === "string" ? parseCidr(e) : undefined;
      if (!ex) {
        out.push({
          obj,
          field: `${field}[${i}].except[${j}]`,
          message: `${obj.kind} "${obj.metadata.name}" has except ${
            JSON.stringify(e)
          }, which is not a CIDR or IP address`,
        });
      } else if (cidr && (!cidrCovers(cidr, ex) || ex.prefix === cidr.prefix)) {
        out.push({
          obj,
          field: `${field}[${i}].except[${j}]`,
          message: `${obj.kind} "${obj.metadata.name}": except ${e} ${
            ex.prefix === cidr.prefix && cidrCovers(cidr, ex) ? "covers all of" : "is not inside"
          } ${n["cidr"]}; the admission webhook rejects it`,
        });
      }
    });
  });
  return out;
}

/** NetworkAuthentication, ServerAuthorization and EgressNetwork networks. */
function allNetworks(ctx: ValidationContext): Hit[] {
  return [
    ...ctx.items("networkauthentications").flatMap((n) =>
      networksHits(n, listOf(specOf(n)["networks"]), "spec.networks")
    ),
    ...ctx.items("serverauthorizations").flatMap((s) =>
      networksHits(
        s,
        listOf(((specOf(s)["client"] ?? {}) as Record<string, unknown>)["networks"]),
        "spec.client.networks",
      )
    ),
    ...ctx.items("egressnetworks").flatMap((e) =>
      networksHits(e, listOf(specOf(e)["networks"]), "spec.networks")
    ),
  ];
}

/** The Servers a ServerAuthorization names or selects, as the model resolves its target. */
function sazServers(ctx: ValidationContext, saz: KubeObject): ServerModel[] {
  const ns = saz.metadata.namespace ?? "";
  const t = ctx.model.policyOf(saz)?.target;
  if (!t) return [];
  if (t.kind === "Server") {
    const s = ctx.model.server(ns, t.name);
    return s ? [s] : [];
  }
  const sel = ((specOf(saz)["server"] ?? {}) as { selector?: LabelSelector }).selector;
  if (!sel || typeof sel !== "object") return [];
  return ctx.model.serversIn(ns).filter((s) => matchesLinkerdSelector(sel, s.obj.metadata.labels));
}

/** The AuthorizationPolicy (and authentications) a ServerAuthorization is equivalent to. */
export function equivalentPolicy(
  saz: KubeObject,
  opts: { clusterNetworks: readonly string[]; servers: readonly string[] },
): Record<string, unknown>[] {
  const spec = specOf(saz);
  const server = (spec["server"] ?? {}) as { name?: string };
  const client = (spec["client"] ?? {}) as Record<string, unknown>;
  const mtls = (client["meshTLS"] ?? {}) as Record<string, unknown>;
  const name = saz.metadata.name;
  const ns = saz.metadata.namespace;
  const docs: unknown[] = [];
  const refs: Ref[] = [];
  const ids = Array.isArray(mtls["identities"]) ? mtls["identities"] as string[] : [];
  const sas = listOf(mtls["serviceAccounts"]);
  if (ids.length || sas.length) {
    docs.push({
      apiVersion: `${POLICY_GROUP}/v1alpha1`,
      kind: "MeshTLSAuthentication",
      metadata: { name, namespace: ns },
      spec: ids.length ? { identities: ids } : {
        identityRefs: sas.map((sa) => ({
          kind: "ServiceAccount",
          name: sa["name"],
          ...(sa["namespace"] ? { namespace: sa["namespace"] } : {}),
        })),
      },
    });
    refs.push({ group: POLICY_GROUP, kind: "MeshTLSAuthentication", name });
  } else if (mtls["unauthenticatedTLS"] === true) {
    docs.push({
      apiVersion: `${POLICY_GROUP}/v1alpha1`,
      kind: "MeshTLSAuthentication",
      metadata: { name, namespace: ns },
      spec: { identities: ["*"] },
    });
    refs.push({ group: POLICY_GROUP, kind: "MeshTLSAuthentication", name });
  }
  const nets = listOf(client["networks"]);
  docs.push({
    apiVersion: `${POLICY_GROUP}/v1alpha1`,
    kind: "NetworkAuthentication",
    metadata: { name: `${name}-networks`, namespace: ns },
    spec: {
      networks: nets.length ? nets : opts.clusterNetworks.map((cidr) => ({ cidr })),
    },
  });
  refs.push({ group: POLICY_GROUP, kind: "NetworkAuthentication", name: `${name}-networks` });
  const targets = opts.servers.length ? opts.servers : [server.name ?? "<server>"];
  docs.unshift(...targets.map((target, i) => ({
    apiVersion: `${POLICY_GROUP}/v1alpha1`,
    kind: "AuthorizationPolicy",
    metadata: { name: targets.length > 1 ? `${name}-${i + 1}` : name, namespace: ns },
    spec: {
      targetRef: { group: POLICY_GROUP, kind: "Server", name: target },
      requiredAuthenticationRefs: refs,
    },
  })));
  return docs as Record<string, unknown>[];
}

/** Authorization rules. */
export const AUTHZ_RULES: Rule[] = [
  {
    id: "server-authorization-deprecated",
    severity: "info",
    kind: "ServerAuthorization",
    field: "kind",
    summary: "ServerAuthorization is legacy; AuthorizationPolicy replaces it",
    remediation: "Replace it with the AuthorizationPolicy shown",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("serverauthorizations").map((s) => ({
        obj: s,
        message: `ServerAuthorization "${s.metadata.name}" is the legacy policy API` +
          ((specOf(s)["client"] as Record<string, unknown> | undefined)?.["networks"]
            ? ""
            : "; note that without client.networks it admits only the cluster networks, whereas an AuthorizationPolicy without a NetworkAuthentication admits all networks"),
        remediation: renderChange({
          change: "replace-server-authorization",
          intro: "Replace it with",
          docs: equivalentPolicy(s, {
            clusterNetworks: ctx.mesh.clusterNetworks,
            servers: sazServers(ctx, s).map((srv) => srv.name),
          }),
        }),
      })),
  },
  {
    id: "server-authorization-invalid",
    severity: "error",
    kind: "ServerAuthorization",
    field: "spec",
    summary: "ServerAuthorization breaks an admission or index rule",
    remediation:
      "Set exactly one of server.name and server.selector, and a client that is either unauthenticated or meshTLS",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("serverauthorizations").flatMap((s) => {
        const spec = specOf(s);
        const server = (spec["server"] ?? {}) as Record<string, unknown>;
        const client = (spec["client"] ?? {}) as Record<string, unknown>;
        const mtls = client["meshTLS"] as Record<string, unknown> | undefined;
        const n = `ServerAuthorization "${s.metadata.name}"`;
        const out: Hit[] = [];
        if ((server["name"] !== undefined) === (server["selector"] !== undefined)) {
          out.push({
            obj: s,
            field: "spec.server",
            message: `${n} must set exactly one of server.name and server.selector`,
          });
        }
        if (client["unauthenticated"] === true && mtls) {
          out.push({
            obj: s,
            field: "spec.client",
            message: `${n} sets both unauthenticated and meshTLS; the admission webhook rejects it`,
          });
        }
        const ids = [
          ...(Array.isArray(mtls?.["identities"]) ? mtls["identities"] as unknown[] : []),
          ...listOf(mtls?.["serviceAccounts"]),
        ];
        if (mtls?.["unauthenticatedTLS"] === true && ids.length) {
          out.push({
            obj: s,
            field: "spec.client.meshTLS",
            message:
              `${n} sets unauthenticatedTLS together with identities or serviceAccounts; the admission webhook rejects it`,
          });
        }
        if (
          client["unauthenticated"] !== true &&
          (!mtls || (!ids.length && !mtls["unauthenticatedTLS"]))
        ) {
          out.push({
            obj: s,
            field: "spec.client",
            message: `${n} authorizes no clients; the policy controller rejects it`,
          });
        }
        return out;
      }),
  },
  {
    id: "server-authorization-server-missing",
    severity: "error",
    kind: "ServerAuthorization",
    field: "spec.server",
    summary: "ServerAuthorization names or selects no existing Server",
    remediation: "Point spec.server at an existing Server in the same namespace",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("serverauthorizations").flatMap((s) => {
        const ns = s.metadata.namespace ?? "";
        const server = (specOf(s)["server"] ?? {}) as Record<string, unknown>;
        if (server["name"] === undefined && server["selector"] === undefined) return [];
        if (sazServers(ctx, s).length) return [];
        return [{
          obj: s,
          message: `ServerAuthorization "${s.metadata.name}" ${
            server["name"] !== undefined
              ? `names Server "${server["name"]}", which does not exist`
              : "selects no Server"
          } in namespace "${ns}"; it authorizes nothing`,
          unresolved: !ctx.complete(ns),
        }];
      }),
  },
  {
    id: "authz-policy-target-invalid",
    severity: "error",
    kind: "AuthorizationPolicy",
    field: "spec.targetRef",
    summary: "AuthorizationPolicy targets a kind, group or namespace Linkerd does not accept",
    remediation:
      "Target a Server (group policy.linkerd.io), an HTTPRoute, a GRPCRoute (group gateway.networking.k8s.io), or the policy's own Namespace (no group)",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("authorizationpolicies").flatMap((ap) => {
        const t = targetOf(ap);
        const n = `AuthorizationPolicy "${ap.metadata.name}"`;
        if (!t.kind) {
          return [{ obj: ap, field: "spec.targetRef", message: `${n} has no targetRef.kind` }];
        }
        const rejected = ctx.model.policyOf(ap)?.ignored.find((p) =>
          p.code === "unsupported-target" || p.code === "target-other-namespace"
        );
        if (rejected) {
          const knownKind = TARGET_KINDS.has(lc(t.kind));
          return [{
            obj: ap,
            field: rejected.code === "unsupported-target"
              ? `spec.targetRef.${knownKind ? "group" : "kind"}`
              : rejected.field ?? "spec.targetRef",
            message: rejected.message,
          }];
        }
        if (!t.name) {
          return [{ obj: ap, field: "spec.targetRef", message: `${n} has no targetRef.name` }];
        }
        return [];
      }),
  },
  {
    id: "authz-policy-target-namespace",
    severity: "error",
    kind: "AuthorizationPolicy",
    field: "spec.targetRef.namespace",
    summary:
      "AuthorizationPolicy targetRef has no namespace field; the target is always in the policy's own namespace",
    remediation:
      "Remove targetRef.namespace and create the AuthorizationPolicy in the target's namespace",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("authorizationpolicies").flatMap((ap) => {
        const t = targetOf(ap);
        if (t.namespace === undefined || t.namespace === null) return [];
        const own = ap.metadata.namespace ?? "";
        const n = `AuthorizationPolicy "${ap.metadata.name}"`;
        return [{
          obj: ap,
          message: t.namespace === own
            ? `${n} sets targetRef.namespace, which is not a field of AuthorizationPolicy: kubectl apply rejects the unknown field (strict field validation), or the API server drops it`
            : `${n} sets targetRef.namespace "${t.namespace}", which is not a field Linkerd reads: the API server drops it (or kubectl rejects it) and the policy targets ${
              t.kind ?? "its target"
            } "${t.name ?? ""}" in its own namespace "${own}", not in "${t.namespace}"`,
        }];
      }),
  },
  {
    id: "authz-policy-authn-invalid",
    severity: "error",
    kind: "AuthorizationPolicy",
    field: "spec.requiredAuthenticationRefs",
    summary:
      "requiredAuthenticationRefs break the admission limits or name an unsupported or invalid authentication; the whole policy is ignored",
    remediation:
      "Use at most one MeshTLSAuthentication or one ServiceAccount, and at most one NetworkAuthentication",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("authorizationpolicies").flatMap((ap) => {
        const n = `AuthorizationPolicy "${ap.metadata.name}"`;
        const out: Hit[] = [];
        for (const ref of ctx.model.policyOf(ap)?.refs ?? []) {
          if (!ref.name) {
            out.push({
              obj: ap,
              field: ref.field,
              message: `${n} has an authentication ref without a name`,
            });
          } else if (ref.rejected && ref.rejected.code !== "not-found") {
            out.push({ obj: ap, field: ref.field, message: ref.rejected.message });
          }
        }
        return out;
      }),
  },
  {
    id: "authz-policy-target-missing",
    severity: "error",
    kind: "AuthorizationPolicy",
    field: "spec.targetRef",
    summary: "AuthorizationPolicy targets a Server or route that does not exist",
    remediation: "Create the target, or fix spec.targetRef (name, kind and group must match)",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("authorizationpolicies").flatMap((ap) => {
        const e = ctx.model.policyOf(ap);
        const t = e?.target;
        const ns = ap.metadata.namespace ?? "";
        const key = t && ROUTE_KEYS.get(`${t.kind}|${t.group}`);
        if (!t || !t.name || e.ignored.some((p) => p.code.includes("target"))) return [];
        const found = t.kind === "Server"
          ? ctx.model.server(ns, t.name) !== undefined
          : key !== undefined && ctx.find(key, ns, t.name) !== undefined;
        if (found || t.kind === "Namespace") return [];
        return [{
          obj: ap,
          field: "spec.targetRef.name",
          message:
            `AuthorizationPolicy "${ap.metadata.name}" targets ${t.kind} "${t.name}" (group "${t.group}"), which does not exist in namespace "${ns}"; the policy authorizes nothing and that traffic is denied`,
          unresolved: !ctx.complete(ns),
        }];
      }),
  },
  {
    id: "authz-policy-authn-missing",
    severity: "error",
    kind: "AuthorizationPolicy",
    field: "spec.requiredAuthenticationRefs",
    summary:
      "AuthorizationPolicy references an authentication that does not exist, so it is ignored",
    remediation: "Create the referenced MeshTLSAuthentication/NetworkAuthentication or fix the ref",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("authorizationpolicies").flatMap((ap) =>
        (ctx.model.policyOf(ap)?.refs ?? []).flatMap((r) => {
          if (r.rejected?.code !== "not-found" || !ctx.loaded(r.namespace)) return [];
          return [{
            obj: ap,
            field: r.field,
            message:
              `AuthorizationPolicy "${ap.metadata.name}" requires ${r.kind} "${r.name}", which does not exist in namespace "${r.namespace}"; the policy controller ignores the whole policy, so the traffic it should allow is denied`,
            unresolved: !ctx.complete(r.namespace),
          }];
        })
      ),
  },
  {
    id: "meshtls-identities-invalid",
    severity: "error",
    kind: "MeshTLSAuthentication",
    field: "spec.identities",
    summary: "MeshTLSAuthentication must set exactly one of identities and identityRefs, validly",
    remediation:
      "Use identities (DNS-like names, *.suffix, * or spiffe:// URIs) or identityRefs (ServiceAccount or Namespace), not both",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("meshtlsauthentications").flatMap((m) => {
        const spec = specOf(m);
        const n = `MeshTLSAuthentication "${m.metadata.name}"`;
        const ids = Array.isArray(spec["identities"]) ? spec["identities"] as unknown[] : undefined;
        const refs = Array.isArray(spec["identityRefs"]) ? listOf(spec["identityRefs"]) : undefined;
        if (ids && refs) {
          return [{
            obj: m,
            message: `${n} sets both identities and identityRefs; the admission webhook rejects it`,
          }];
        }
        if (!ids?.length && !refs?.length) {
          return [{
            obj: m,
            message: `${n} lists no identities; the admission webhook rejects it`,
          }];
        }
        const out: Hit[] = [];
        (ids ?? []).forEach((id, i) => {
          const err = typeof id === "string" ? identityError(id) : "not a string";
          if (err) out.push({ obj: m, field: `spec.identities[${i}]`, message: `${n}: ${err}` });
        });
        (refs ?? []).forEach((r, i) => {
          const kind = lc(r["kind"] as string | undefined);
          if (kind !== "serviceaccount" && kind !== "namespace") {
            out.push({
              obj: m,
              field: `spec.identityRefs[${i}].kind`,
              message: `${n}: identityRefs kind "${
                r["kind"] ?? ""
              }" is not ServiceAccount or Namespace`,
            });
          } else if (kind === "namespace" && r["namespace"] !== undefined) {
            out.push({
              obj: m,
              field: `spec.identityRefs[${i}].namespace`,
              message: `${n}: a Namespace identityRef is cluster-scoped and must not set namespace`,
            });
          }
          if (!r["name"]) {
            out.push({
              obj: m,
              field: `spec.identityRefs[${i}].name`,
              message: `${n}: identityRefs[${i}] has no name`,
            });
          }
        });
        return out;
      }),
  },
  {
    id: "network-authn-invalid",
    severity: "error",
    kind: "NetworkAuthentication",
    field: "spec.networks",
    summary: "NetworkAuthentication lists no networks",
    remediation: "List at least one network (cidr), e.g. 10.0.0.0/8",
    docs: DOCS.authzPolicy,
    check: (ctx) =>
      ctx.items("networkauthentications").flatMap((n) =>
        listOf(specOf(n)["networks"]).length ? [] : [{
          obj: n,
          message:
            `NetworkAuthentication "${n.metadata.name}" lists no networks; the admission webhook rejects it`,
        }]
      ),
  },
  {
    id: "network-cidr-invalid",
    severity: "error",
    kind: "NetworkAuthentication",
    field: "spec.networks[].cidr",
    summary: "Network or except is not a CIDR, or except is not strictly inside its network",
    remediation:
      "Use CIDRs or IPs (10.0.0.0/8, 192.0.2.1); each except must lie inside its cidr and not cover all of it",
    docs: DOCS.authzPolicy,
    check: allNetworks,
  },
];
