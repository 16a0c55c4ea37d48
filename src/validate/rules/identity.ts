/**
 * Identity cross-checks: the mesh identities and ServiceAccount references that
 * MeshTLSAuthentications, AuthorizationPolicies and ServerAuthorizations name, against
 * the namespaces and ServiceAccounts the view declares (a typo, a wrong namespace or
 * a wrong trust domain authorizes nobody).
 *
 * @module
 */
import type { KubeObject } from "../../kube/types.ts";
import { podTemplateOf } from "../../kube/workloads.ts";
import type { ValidationContext } from "../context.ts";
import { authnRefs, listOf, specOf } from "../refs.ts";
import type { Hit, Rule } from "../types.ts";
import { DOCS } from "./_docs.ts";

/** A mesh identity, split into its parts. */
export interface ParsedIdentity {
  /** ServiceAccount name; `undefined` for `*.<ns>...` wildcards. */
  serviceAccount?: string;
  namespace: string;
  /** `<control-plane-ns>.<trust-domain>` for DNS-like identities. */
  suffix?: string;
  /** Trust domain of a SPIFFE identity. */
  trustDomain?: string;
}

const DNS_IDENTITY =
  /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.serviceaccount\.identity\.(.+)$/;
const SPIFFE_IDENTITY = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** Parses `<sa>.<ns>.serviceaccount.identity.<cp-ns>.<td>` or `spiffe://<td>/ns/<ns>/sa/<sa>`. */
export function parseIdentity(id: string): ParsedIdentity | undefined {
  const dns = id.match(DNS_IDENTITY);
  if (dns) {
    return {
      ...(dns[1] !== "*" ? { serviceAccount: dns[1]! } : {}),
      namespace: dns[3]!,
      suffix: dns[5]!,
    };
  }
  const spiffe = id.match(SPIFFE_IDENTITY);
  if (spiffe) {
    return { trustDomain: spiffe[1]!, namespace: spiffe[2]!, serviceAccount: spiffe[3]! };
  }
  return undefined;
}

/** Edit distance, for "did you mean" hints (small strings only). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let dist = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d > 0 && d < dist && d <= Math.max(1, Math.floor(name.length / 4))) {
      best = c;
      dist = d;
    }
  }
  return best;
}

/** One reference to a (namespace, ServiceAccount) in a policy object. */
interface IdentityUse {
  obj: KubeObject;
  field: string;
  namespace: string;
  serviceAccount?: string;
  /** How it is written, for messages. */
  text: string;
}

function uses(ctx: ValidationContext): IdentityUse[] {
  const out: IdentityUse[] = [];
  const fromId = (obj: KubeObject, field: string, id: unknown) => {
    if (typeof id !== "string") return;
    const p = parseIdentity(id);
    // SPIFFE identities may belong to workloads outside Kubernetes: not cross-checked.
    if (!p || p.trustDomain !== undefined) return;
    out.push({
      obj,
      field,
      namespace: p.namespace,
      ...(p.serviceAccount ? { serviceAccount: p.serviceAccount } : {}),
      text: `identity "${id}"`,
    });
  };
  const fromRef = (obj: KubeObject, field: string, r: Record<string, unknown>) => {
    const kind = String(r["kind"] ?? "ServiceAccount").toLowerCase();
    const name = typeof r["name"] === "string" ? r["name"] : undefined;
    if (!name) return;
    if (kind === "namespace") {
      out.push({ obj, field, namespace: name, text: `Namespace "${name}"` });
    } else if (kind === "serviceaccount") {
      const ns = typeof r["namespace"] === "string" ? r["namespace"] : obj.metadata.namespace ?? "";
      out.push({
        obj,
        field,
        namespace: ns,
        serviceAccount: name,
        text: `ServiceAccount "${ns}/${name}"`,
      });
    }
  };
  for (const m of ctx.items("meshtlsauthentications")) {
    const spec = specOf(m);
    const ids = spec["identities"];
    if (Array.isArray(ids)) ids.forEach((id, i) => fromId(m, `spec.identities[${i}]`, id));
    listOf(spec["identityRefs"]).forEach((r, i) => fromRef(m, `spec.identityRefs[${i}]`, r));
  }
  for (const ap of ctx.items("authorizationpolicies")) {
    authnRefs(ap).forEach((r, i) => {
      if ((r.kind ?? "").toLowerCase() !== "serviceaccount") return;
      fromRef(ap, `spec.requiredAuthenticationRefs[${i}]`, r as Record<string, unknown>);
    });
  }
  for (const saz of ctx.items("serverauthorizations")) {
    const client = (specOf(saz)["client"] ?? {}) as Record<string, unknown>;
    const mtls = (client["meshTLS"] ?? {}) as Record<string, unknown>;
    const ids = mtls["identities"];
    if (Array.isArray(ids)) {
      ids.forEach((id, i) => fromId(saz, `spec.client.meshTLS.identities[${i}]`, id));
    }
    listOf(mtls["serviceAccounts"]).forEach((r, i) =>
      fromRef(saz, `spec.client.meshTLS.serviceAccounts[${i}]`, { kind: "ServiceAccount", ...r })
    );
  }
  return out;
}

/** Namespaces the view knows of: Namespace objects and namespaces holding objects. */
function knownNamespaces(ctx: ValidationContext): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(ctx.state.objects)) {
    for (const o of list ?? []) {
      if (o.kind === "Namespace") out.add(o.metadata.name);
      else if (o.metadata.namespace) out.add(o.metadata.namespace);
    }
  }
  return out;
}

/** ServiceAccounts per namespace: declared ones, those pods and templates run as, `default`. */
function knownServiceAccounts(ctx: ValidationContext): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (ns: string | undefined, name: unknown) => {
    if (typeof name !== "string" || !name) return;
    const set = out.get(ns ?? "") ?? new Set(["default"]);
    set.add(name);
    out.set(ns ?? "", set);
  };
  for (const sa of ctx.items("serviceaccounts")) add(sa.metadata.namespace, sa.metadata.name);
  for (const pv of ctx.pods()) {
    const spec = pv.pod.spec ?? {};
    add(pv.pod.metadata.namespace, spec.serviceAccountName ?? spec.serviceAccount);
    const tmpl = podTemplateOf(pv.report)?.spec;
    if (tmpl) add(pv.pod.metadata.namespace, tmpl.serviceAccountName ?? tmpl.serviceAccount);
  }
  return out;
}

function identityHits(ctx: ValidationContext): Hit[] {
  const all = uses(ctx);
  if (!all.length) return [];
  const namespaces = knownNamespaces(ctx);
  const accounts = knownServiceAccounts(ctx);
  // Listing ServiceAccounts may be forbidden on a cluster: then only namespaces are checked.
  const saListed = ctx.partial || ctx.state.objects.serviceaccounts !== undefined;
  const out: Hit[] = [];
  for (const u of all) {
    const n = `${u.obj.kind} "${u.obj.metadata.name}"`;
    if (!ctx.loaded(u.namespace)) continue;
    if (!namespaces.has(u.namespace)) {
      // Policies often authorize clients that may not be installed (viz's Prometheus):
      // an absent namespace is reported only when it looks like a typo of one that exists.
      const guess = closest(u.namespace, namespaces);
      if (!guess) continue;
      out.push({
        obj: u.obj,
        field: u.field,
        message: `${n}: ${u.text} names namespace "${u.namespace}", which ${
          ctx.partial ? "the manifests do not declare" : "does not exist"
        } (did you mean "${guess}"?); no client presents that identity`,
      });
      continue;
    }
    // Judged only where the view shows what runs in the namespace (its ServiceAccounts or pods).
    const known = accounts.get(u.namespace);
    if (!u.serviceAccount || !saListed || !known || !ctx.complete(u.namespace)) continue;
    if (known.has(u.serviceAccount)) continue;
    const guess = closest(u.serviceAccount, known);
    const elsewhere = [...accounts].filter(([ns, set]) =>
      ns && ns !== u.namespace && set.has(u.serviceAccount!) && u.serviceAccount !== "default"
    ).map(([ns]) => ns).sort();
    const hint = guess
      ? ` (did you mean "${guess}"?)`
      : elsewhere.length
      ? ` (a ServiceAccount "${u.serviceAccount}" exists in namespace ${
        elsewhere.map((e) => `"${e}"`).join(", ")
      }: wrong namespace?)`
      : "";
    out.push({
      obj: u.obj,
      field: u.field,
      message:
        `${n}: ${u.text} names ServiceAccount "${u.serviceAccount}" in namespace "${u.namespace}", which no ServiceAccount, pod or workload there declares${hint}; no client presents that identity, so the traffic it should allow is denied`,
    });
  }
  return out;
}

/** Identity rules. */
export const IDENTITY_RULES: Rule[] = [
  {
    id: "identity-not-declared",
    severity: "warning",
    kind: "MeshTLSAuthentication",
    field: "spec.identities",
    summary:
      "An identity or ServiceAccount reference names a namespace or ServiceAccount the cluster state does not declare",
    remediation:
      "Fix the name (sa.namespace in identities, name/namespace in identityRefs or serviceAccounts) to a ServiceAccount the client pods run as",
    docs: DOCS.authzPolicy,
    check: identityHits,
  },
  {
    id: "meshtls-identity-foreign",
    severity: "warning",
    kind: "MeshTLSAuthentication",
    field: "spec.identities",
    summary: "Identity names another control-plane namespace or trust domain than this mesh's",
    remediation:
      "Write identities as <sa>.<ns>.serviceaccount.identity.<control-plane-ns>.<trust-domain>, or use identityRefs",
    docs: DOCS.authzPolicy,
    check: (ctx) => {
      const assumed = ctx.mesh.origin !== "linkerd-config";
      const want = `${ctx.mesh.controlPlaneNamespace}.${ctx.mesh.trustDomain}`;
      const hint = assumed
        ? ` (no linkerd-config in the view: assuming control-plane namespace "${ctx.mesh.controlPlaneNamespace}" and trust domain "${ctx.mesh.trustDomain}", the defaults; ignore this if the mesh uses another)`
        : "";
      const out: Hit[] = [];
      for (const u of uses(ctx)) {
        if (!u.text.startsWith("identity ")) continue;
        const id = u.text.slice('identity "'.length, -1);
        const p = parseIdentity(id);
        if (!p) continue;
        if (p.suffix !== undefined && p.suffix !== want) {
          out.push({
            obj: u.obj,
            field: u.field,
            message:
              `${u.obj.kind} "${u.obj.metadata.name}": identity "${id}" does not end in ".serviceaccount.identity.${want}", so no client of this mesh presents it${hint}`,
          });
        }
      }
      return out;
    },
  },
];
