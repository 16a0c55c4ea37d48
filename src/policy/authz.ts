/**
 * Authorizations: built from ServerAuthorizations, AuthorizationPolicies and default
 * policies exactly as the policy controller builds them, and checked against a client
 * exactly as the proxy checks them.
 *
 * @module
 */
import type { DefaultPolicy } from "../config.ts";
import type { MeshConfig } from "../mesh/config.ts";
import { cidrContains, parseCidr, parseIp } from "./cidr.ts";
import type { Authentication, Authz, Client, MatchResult, NetworkMatch } from "./types.ts";

/** `0.0.0.0/0` and `::/0`. */
export const ALL_NETWORKS: NetworkMatch[] = ["0.0.0.0/0", "::/0"].map((t) => ({
  net: parseCidr(t)!,
  except: [],
}));

/** Parses `[{cidr, except}]`; invalid entries are skipped (admission rejects them). */
export function parseNetworks(raw: unknown): NetworkMatch[] {
  if (!Array.isArray(raw)) return [];
  const out: NetworkMatch[] = [];
  for (const n of raw as Array<{ cidr?: string; except?: string[] }>) {
    const net = typeof n?.cidr === "string" ? parseCidr(n.cidr) : undefined;
    if (!net) continue;
    const except = (n.except ?? []).map((e) => parseCidr(String(e))).filter((e) => e !== undefined);
    out.push({ net, except });
  }
  return out;
}

/** Cluster networks as network matches. */
export function clusterNetworkMatches(mesh: MeshConfig): NetworkMatch[] {
  return parseNetworks(mesh.clusterNetworks.map((cidr) => ({ cidr })));
}

/** Splits identity strings into exact names and suffixes (`*` = any, `*.a.b` = suffix `a.b`). */
export function parseIdentities(
  ids: readonly string[],
): { identities: string[]; suffixes: string[] } {
  const identities: string[] = [];
  const suffixes: string[] = [];
  for (const id of ids) {
    if (id === "*") suffixes.push("");
    else if (id.startsWith("*.")) suffixes.push(id.slice(2));
    else identities.push(id);
  }
  return { identities, suffixes };
}

/** The authorizations a default policy grants (none for `deny`). */
export function defaultAuthzs(
  policy: DefaultPolicy,
  opts: { namespace: string; clusterNetworks: NetworkMatch[] },
): Authz[] {
  const any: Authentication = { type: "tls", identities: [], suffixes: [""] };
  const unauth: Authentication = { type: "unauthenticated" };
  const mk = (authentication: Authentication, networks: NetworkMatch[]): Authz[] => [{
    kind: "default",
    name: policy,
    namespace: opts.namespace,
    authentication,
    networks,
    objects: [],
  }];
  switch (policy) {
    case "all-unauthenticated":
    case "audit":
      return mk(unauth, ALL_NETWORKS);
    case "all-authenticated":
      return mk(any, ALL_NETWORKS);
    case "cluster-unauthenticated":
      return mk(unauth, opts.clusterNetworks);
    case "cluster-authenticated":
      return mk(any, opts.clusterNetworks);
    case "deny":
      return [];
  }
}

/**
 * Checks the client's authentication against an authorization: mesh TLS needs a meshed
 * client; identities match exactly or by suffix (DNS names only).
 */
export function matchAuthentication(authn: Authentication, client: Client): boolean {
  switch (authn.type) {
    case "unauthenticated":
      return true;
    case "tls-unauthenticated":
      return client.meshed;
    case "tls": {
      const id = client.identity;
      if (!client.meshed || !id) return false;
      if (authn.identities.includes(id)) return true;
      if (id.includes("://")) return false;
      return authn.suffixes.some((s) => s === "" || id.endsWith(`.${s}`));
    }
  }
}

/**
 * Checks the client's IPs against the networks. With no IPs known, all-address
 * networks still match; cluster networks match in-cluster pods (their IPs are pod
 * IPs); anything narrower is `unknown`.
 */
export function matchNetworks(
  networks: readonly NetworkMatch[],
  client: Client,
  opts: { clusterNetworks: readonly NetworkMatch[] },
): MatchResult {
  if (coversEverything(networks)) return "yes";
  // parsed once per client, on first use
  const addrs = client.addrs ??= client.ips.map((t) => parseIp(t)).filter((a) => a !== undefined);
  if (addrs.length === 0) {
    if (networks.length > 0 && sameNetworks(networks, opts.clusterNetworks)) return "yes";
    return "unknown";
  }
  let yes = 0;
  for (const ip of addrs) {
    if (
      networks.some((n) => cidrContains(n.net, ip) && !n.except.some((e) => cidrContains(e, ip)))
    ) yes++;
  }
  return yes === addrs.length ? "yes" : yes === 0 ? "no" : "unknown";
}

function coversEverything(networks: readonly NetworkMatch[]): boolean {
  let v4 = false;
  let v6 = false;
  for (const n of networks) {
    if (n.net.prefix !== 0 || n.except.length) continue;
    if (n.net.family === 4) v4 = true;
    else v6 = true;
  }
  return v4 && v6;
}

function sameNetworks(a: readonly NetworkMatch[], b: readonly NetworkMatch[]): boolean {
  const key = (ns: readonly NetworkMatch[]) =>
    ns.map((n) => `${n.net.family}:${n.net.bits}/${n.net.prefix}-${n.except.length}`).sort()
      .join(",");
  return key(a) === key(b);
}

/** The full check of one authorization against one client. */
export function matchAuthz(
  authz: Authz,
  client: Client,
  opts: { clusterNetworks: readonly NetworkMatch[] },
): MatchResult {
  if (!matchAuthentication(authz.authentication, client)) return "no";
  return matchNetworks(authz.networks, client, opts);
}

/** `kind/name` as `linkerd viz authz` prints it (`authorizationpolicy/web-get`, `default/probe`). */
export function authzLabel(authz: Authz): string {
  return `${authz.kind}/${authz.name}`;
}
