/**
 * MCP resources: context a user attaches to a conversation.
 *
 * - `linkerd://mesh/summary`: the mesh at a glance (control plane, versions, meshed
 *   services per namespace, checks that are not ok);
 * - `linkerd://namespaces/{namespace}/policy` (a template): a namespace's Servers, routes
 *   and policies and, per Service, who they allow, in readable Markdown;
 * - `linkerd://validation/report`: the validation report (every issue, info included).
 *
 * `resources/list` lists the two fixed resources and one policy resource per namespace,
 * {@linkcode PAGE_SIZE} per page with an opaque cursor.
 *
 * @module
 */
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { ToolDeps } from "../tools/_spec.ts";
import { block, evidence, pickHealth, pickValidation } from "./evidence.ts";

/** Resources per `resources/list` page. */
export const PAGE_SIZE = 50;

/** The URI of the mesh summary. */
export const SUMMARY_URI = "linkerd://mesh/summary";
/** The URI of the validation report. */
export const VALIDATION_URI = "linkerd://validation/report";
/** The template of a namespace's policy. */
export const POLICY_TEMPLATE = "linkerd://namespaces/{namespace}/policy";

const NS = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** One `resources/list` entry. */
export interface ResourceEntry {
  uri: string;
  name: string;
  title: string;
  description: string;
  mimeType: string;
}

/** The resource templates. */
export const RESOURCE_TEMPLATES = [{
  uriTemplate: POLICY_TEMPLATE,
  name: "namespace-policy",
  title: "Namespace policy",
  description:
    "A namespace's Linkerd inbound policy in readable form: Servers (port, selector, access policy), HTTP/gRPC routes, AuthorizationPolicies and ServerAuthorizations (and any ignored), and for each Service who may call it.",
  mimeType: "text/markdown",
}];

/** A page of `resources/list`. */
export async function listResources(
  deps: ToolDeps,
  cursor?: string,
): Promise<{ resources: ResourceEntry[]; nextCursor?: string }> {
  const start = cursor === undefined ? 0 : Number.parseInt(cursor, 10);
  if (!Number.isInteger(start) || start < 0 || String(start) !== (cursor ?? "0")) {
    throw new InvalidArgumentError(`Invalid cursor ${JSON.stringify(cursor)}`);
  }
  const namespaces = (await deps.cluster.list("namespaces")).map((n) => n.metadata.name).sort();
  const all: ResourceEntry[] = [
    {
      uri: SUMMARY_URI,
      name: "mesh-summary",
      title: "Mesh summary",
      description: "Control plane, versions, meshed services per namespace, failing checks",
      mimeType: "text/markdown",
    },
    {
      uri: VALIDATION_URI,
      name: "validation-report",
      title: "Validation report",
      description: "Every configuration issue validate_mesh_config finds (errors, warnings, info)",
      mimeType: "text/markdown",
    },
    ...namespaces.map((ns) => ({
      uri: policyUri(ns),
      name: `policy-${ns}`,
      title: `Policy of ${ns}`,
      description: `Servers, routes, policies and allowed clients in namespace ${ns}`,
      mimeType: "text/markdown",
    })),
  ];
  const page = all.slice(start, start + PAGE_SIZE);
  const next = start + PAGE_SIZE;
  return { resources: page, ...(next < all.length ? { nextCursor: String(next) } : {}) };
}

/** The URI of a namespace's policy resource. */
export function policyUri(namespace: string): string {
  return `linkerd://namespaces/${namespace}/policy`;
}

/** The namespace a policy URI names, or undefined when `uri` is not one. */
export function namespaceOfPolicyUri(uri: string): string | undefined {
  const m = /^linkerd:\/\/namespaces\/([^/]+)\/policy$/.exec(uri);
  return m && NS.test(m[1]!) ? m[1] : undefined;
}

/** Reads a resource as Markdown. */
export async function readResource(
  uri: string,
  deps: ToolDeps,
  signal?: AbortSignal,
): Promise<{ uri: string; mimeType: string; text: string }> {
  if (uri === SUMMARY_URI) return md(uri, await meshSummary(deps, signal));
  if (uri === VALIDATION_URI) {
    const v = await evidence("validate_mesh_config", { limit: 1000 }, deps, signal);
    return md(
      uri,
      `# Validation report\n\n${block("validate_mesh_config", v, (d) => pickValidation(d, true))}`,
    );
  }
  const ns = namespaceOfPolicyUri(uri);
  if (ns) return md(uri, await namespacePolicy(ns, deps, signal));
  throw new NotFoundError(
    `Unknown resource ${
      JSON.stringify(uri)
    }; known: ${SUMMARY_URI}, ${VALIDATION_URI}, ${POLICY_TEMPLATE}`,
  );
}

function md(uri: string, text: string) {
  return { uri, mimeType: "text/markdown", text };
}

type Rec = Record<string, unknown>;
const arr = (v: unknown): Rec[] => (Array.isArray(v) ? v as Rec[] : []);

async function meshSummary(deps: ToolDeps, signal?: AbortSignal): Promise<string> {
  const [health, services] = await Promise.all([
    evidence("check_mesh_health", {}, deps, signal),
    evidence("list_meshed_services", { limit: 500 }, deps, signal),
  ]);
  const lines = ["# Linkerd mesh summary", ""];
  if (health.ok) {
    const h = pickHealth(health.data);
    lines.push(
      `- ${h.summary}`,
      `- Control plane ${h.controlPlaneVersion ?? "unknown"}, proxy ${h.proxyVersion ?? "unknown"}`,
      `- Checks: ${h.checksOk} ok, ${h.notOk.length} not ok`,
      ...h.notOk.map((c) => `  - ${c.status}: ${c.name}: ${c.message}`),
    );
  } else lines.push(`- Health not available: ${health.error}`);
  if (services.ok) {
    const byNs = new Map<string, { services: number; meshed: number; total: number }>();
    for (const s of arr(services.data.services)) {
      const n = byNs.get(String(s.namespace)) ?? { services: 0, meshed: 0, total: 0 };
      n.services += 1;
      n.meshed += Number(s.meshedPods ?? 0);
      n.total += Number(s.totalPods ?? 0);
      byNs.set(String(s.namespace), n);
    }
    lines.push(
      "",
      "## Meshed services",
      "",
      "| namespace | services | meshed pods |",
      "|---|---|---|",
    );
    for (const [ns, n] of [...byNs].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`| ${ns} | ${n.services} | ${n.meshed}/${n.total} |`);
    }
  } else lines.push(`- Services not available: ${services.error}`);
  lines.push("", `Source: ${deps.cluster.describe()}`);
  return lines.join("\n");
}

async function namespacePolicy(ns: string, deps: ToolDeps, signal?: AbortSignal): Promise<string> {
  const { loadPolicyIndex } = await import("../policy/load.ts");
  const { allowedSources } = await import("../policy/allowed_sources.ts");
  const { idx } = await loadPolicyIndex(deps, {
    ...(signal ? { signal } : {}),
    fallbackNamespaces: [ns],
  });
  if (!idx.namespaces.has(ns)) {
    throw new NotFoundError(
      `Namespace "${ns}" not found; known: ${[...idx.namespaces.keys()].sort().join(", ")}`,
    );
  }
  const m = idx.model;
  const out = [`# Linkerd policy in namespace ${ns}`, "", m.version.text, ""];
  const servers = m.serversIn(ns);
  out.push(`## Servers (${servers.length})`, "");
  if (!servers.length) out.push("None: every meshed port uses the default policy.");
  for (const s of servers) {
    const sel = s.selector ? JSON.stringify(s.selector) : "(none)";
    out.push(
      `- **${s.name}**: port ${s.port}, protocol ${s.proxyProtocol}, accessPolicy ${s.accessPolicy}, selector ${sel}`,
    );
    for (const a of m.serverAuthz(s)) out.push(`  - allows ${authzText(a)}`);
    for (const p of s.problems) out.push(`  - problem: ${p.message}`);
  }
  const routes = m.routes.filter((r) => r.namespace === ns);
  out.push("", `## Routes (${routes.length})`, "");
  for (const r of routes) {
    const parents = r.parents.map((p) =>
      `${p.server ?? "?"}${p.accepted ? "" : " (not accepted)"}`
    );
    out.push(
      `- **${r.kind} ${r.name}** → ${parents.join(", ") || "no parent"}: ${r.matches.join("; ")}`,
    );
    for (const a of r.authorizations) out.push(`  - allows ${authzText(a)}`);
    for (const p of r.ignored) out.push(`  - ignored: ${p.message}`);
  }
  const policies = m.policies.filter((p) => p.namespace === ns);
  out.push("", `## Authorization policies (${policies.length})`, "");
  for (const p of policies) {
    const target = p.target ? `${p.target.kind}/${p.target.name}` : "(server selector)";
    out.push(
      `- **${p.kind} ${p.name}** → ${target}: ${
        p.authz ? authzText(p.authz) : `IGNORED: ${p.ignored.map((i) => i.message).join("; ")}`
      }`,
    );
  }
  const services = idx.serviceKeys.filter((k) => k.startsWith(`${ns}/`));
  out.push("", `## Who may call each Service (${services.length})`, "");
  for (const key of services) {
    const service = key.slice(ns.length + 1);
    try {
      const r = allowedSources(idx, { namespace: ns, service });
      // With "any client" allowed, only the principals whose verdict differs say more.
      const anyone = r.allowedSources.find((s) => s.kind === "unauthenticated");
      const listed = r.allowedSources.filter((s) =>
        !anyone || s === anyone || s.verdict !== anyone.verdict
      );
      const who = listed.slice(0, 15).map((s) => `${s.principal} (${s.verdict})`);
      if (listed.length > 15) who.push(`+${listed.length - 15} more`);
      out.push(
        `- **${service}**: ${who.length ? who.join(", ") : "nobody (every client is denied)"}`,
      );
    } catch (err) {
      out.push(`- **${service}**: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out.join("\n");
}

function authzText(a: {
  kind: string;
  name: string;
  authentication: unknown;
  networks: { net: { text: string }; except: { text: string }[] }[];
  objects: string[];
}): string {
  const au = a.authentication as { type: string; identities?: string[]; suffixes?: string[] };
  const auth = au.type === "unauthenticated"
    ? "any client"
    : au.type === "tls-unauthenticated"
    ? "any meshed (mTLS) client"
    : `mTLS identities ${
      [...(au.identities ?? []), ...(au.suffixes ?? []).map((s) => (s ? `*.${s}` : "*"))].join(
        ", ",
      ) || "(none)"
    }`;
  const nets = a.networks.length
    ? ` from networks ${
      a.networks.map((n) =>
        n.net.text + (n.except.length ? ` except ${n.except.map((e) => e.text).join(", ")}` : "")
      ).join(", ")
    }`
    : "";
  return `${a.kind}/${a.name}: ${auth}${nets}`;
}
