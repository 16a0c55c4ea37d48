/**
 * Decides what the target's proxy does with one client on one inbound server:
 * route-level authorizations first, then server-level ones (localhost aside), the
 * first match wins; an allowance only by the `audit` default is reported as audit.
 *
 * @module
 */
import { authzLabel, matchAuthentication, matchAuthz, matchNetworks } from "./authz.ts";
import type { Authz, Client, Decision, InboundServer, NetworkMatch } from "./types.ts";

/** The decision for one route of a Server. */
export interface RouteDecision {
  /** `HTTPRoute/authors-get-route`. */
  route: string;
  matches: string[];
  decision: Exclude<Decision, "partial">;
  /** The authorization that allows it (`authorizationpolicy/x`). */
  authorization?: string;
}

/** The decision for one client on one inbound server. */
export interface ClientDecision {
  decision: Decision;
  /** The authorization that allows the traffic, when one does. */
  authorization?: string;
  /** Why, in a sentence. */
  reason: string;
  routes: RouteDecision[];
}

function isAudit(a: Authz): boolean {
  return a.kind === "default" && a.name === "audit";
}

/** First-match evaluation of an ordered authorization list. */
export function evaluateAuthzs(
  authzs: readonly Authz[],
  client: Client,
  opts: { clusterNetworks: readonly NetworkMatch[] },
): { decision: Exclude<Decision, "partial">; authz?: Authz } {
  let audit: Authz | undefined;
  let unknown: Authz | undefined;
  for (const a of authzs) {
    const m = matchAuthz(a, client, opts);
    if (m === "yes") {
      if (!isAudit(a)) return { decision: "allowed", authz: a };
      audit ??= a;
    } else if (m === "unknown") unknown ??= a;
  }
  if (unknown) return { decision: "undetermined", authz: unknown };
  if (audit) return { decision: "audit", authz: audit };
  return { decision: "denied" };
}

/** Why an authorization does not allow the client, in words. */
export function missReason(
  a: Authz,
  client: Client,
  opts: { clusterNetworks: readonly NetworkMatch[] },
): string {
  const label = authzLabel(a);
  if (!matchAuthentication(a.authentication, client)) {
    if (!client.meshed) return `${label} requires mesh TLS and the client is not meshed`;
    const auth = a.authentication;
    if (auth.type === "tls") {
      const wanted = [...auth.identities, ...auth.suffixes.map((s) => (s ? `*.${s}` : "*"))];
      return `${label} requires identity ${
        wanted.map((w) => `"${w}"`).join(" or ")
      }; the client is "${client.identity}"`;
    }
  }
  const nets = a.networks.map((n) =>
    n.except.length ? `${n.net.text} except ${n.except.map((e) => e.text).join(",")}` : n.net.text
  ).join(", ");
  const m = matchNetworks(a.networks, client, opts);
  if (m === "unknown") {
    return client.pods.length
      ? `${label} requires client IPs in ${nets}, and the client's pod IPs are not known (manifests carry no pod IPs)`
      : `${label} requires client IPs in ${nets}, and an identity alone has no IP (name a pod, workload or source_ip instead)`;
  }
  return `${label} requires client IPs in ${nets}; the client has ${client.ips.join(", ")}`;
}

/** Decides one client on one inbound server, with per-route detail. */
export function decideClient(
  server: InboundServer,
  client: Client,
  opts: { clusterNetworks: readonly NetworkMatch[] },
): ClientDecision {
  if (server.kind === "unmeshed") {
    return {
      decision: "allowed",
      reason: "the target pod has no Linkerd proxy, so no inbound policy is enforced",
      routes: [],
    };
  }
  if (server.kind === "skipped") {
    return {
      decision: "allowed",
      reason:
        `port ${server.port} is in ${server.name}: traffic bypasses the proxy (no policy, no mTLS)`,
      routes: [],
    };
  }
  const top = evaluateAuthzs(server.authorizations, client, opts);
  const useRoutes = server.routes.length > 0;
  const routes: RouteDecision[] = server.routes.map((r) => {
    const d = evaluateAuthzs([...r.authorizations, ...server.authorizations], client, opts);
    return {
      route: `${r.kind}/${r.name}`,
      matches: r.matches,
      decision: d.decision,
      ...(d.decision === "allowed" || d.decision === "audit"
        ? { authorization: authzLabel(d.authz!) }
        : {}),
    };
  });
  if (top.decision === "allowed" || top.decision === "audit") {
    return {
      decision: top.decision,
      authorization: authzLabel(top.authz!),
      reason: top.decision === "audit"
        ? `allowed only by audit mode (${
          authzLabel(top.authz!)
        }); it would be denied once the policy is enforced`
        : `allowed by ${authzLabel(top.authz!)}${useRoutes ? " on every route" : ""}`,
      routes,
    };
  }
  if (useRoutes) {
    const kinds = new Set(routes.map((r) => r.decision));
    const allowedRoutes = routes.filter((r) => r.decision === "allowed" || r.decision === "audit");
    const decision: Decision = kinds.size === 1 ? routes[0]!.decision : "partial";
    const why = explainMisses(server.authorizations, client, opts);
    return {
      decision,
      ...(allowedRoutes.length ? { authorization: allowedRoutes[0]!.authorization! } : {}),
      reason: decision === "partial"
        ? `allowed only on route(s) ${
          allowedRoutes.map((r) => r.route).join(", ")
        }; other routes are denied (403) and requests matching no route get 404`
        : decision === "allowed" || decision === "audit"
        ? `allowed by route-level authorizations on every attached route; requests matching no route get 404`
        : `no route-level or server-level authorization allows the client on any attached route (HTTP 403; requests matching no route get 404)${why}`,
      routes,
    };
  }
  if (top.decision === "undetermined") {
    return { decision: "undetermined", reason: missReason(top.authz!, client, opts), routes };
  }
  const probe = server.probePaths.length
    ? `; only kubelet probes (GET ${
      server.probePaths.join(", ")
    }) are allowed through the automatic probe route`
    : "";
  let reason: string;
  if (server.authorizations.length === 0) {
    reason = server.kind === "default"
      ? `the default policy "${server.name}" allows no clients${probe}`
      : `Server "${server.name}" has no authorizations and accessPolicy deny, so it denies all traffic${probe}`;
  } else {
    reason = `no authorization allows the client${
      explainMisses(server.authorizations, client, opts)
    }${probe}`;
  }
  return { decision: "denied", reason, routes };
}

function explainMisses(
  authzs: readonly Authz[],
  client: Client,
  opts: { clusterNetworks: readonly NetworkMatch[] },
): string {
  if (authzs.length === 0) return "";
  return `: ${authzs.map((a) => missReason(a, client, opts)).join("; ")}`;
}

/**
 * The decision of {@linkcode decideClient} without the explanation, for bulk queries:
 * server-level authorizations, else the routes' combined decision.
 */
export function decideQuick(
  server: InboundServer,
  client: Client,
  opts: { clusterNetworks: readonly NetworkMatch[] },
): { decision: Decision; authorization?: string } {
  if (server.kind === "unmeshed" || server.kind === "skipped") return { decision: "allowed" };
  const top = evaluateAuthzs(server.authorizations, client, opts);
  if (top.decision === "allowed" || top.decision === "audit" || server.routes.length === 0) {
    return top.authz && top.decision !== "undetermined"
      ? { decision: top.decision, authorization: authzLabel(top.authz) }
      : { decision: top.decision };
  }
  let first: string | undefined;
  const seen = new Set<Decision>();
  for (const r of server.routes) {
    const d = evaluateAuthzs([...r.authorizations, ...server.authorizations], client, opts);
    seen.add(d.decision);
    if (!first && (d.decision === "allowed" || d.decision === "audit")) {
      first = authzLabel(d.authz!);
    }
  }
  const decision: Decision = seen.size === 1 ? [...seen][0]! : "partial";
  return first ? { decision, authorization: first } : { decision };
}
