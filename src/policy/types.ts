/**
 * The pure inbound-policy model: what the policy controller serves a proxy for one
 * (pod, port), and what the analysis decides for one client.
 *
 * @module
 */
import type { DefaultPolicy } from "../config.ts";
import type { Cidr } from "./cidr.ts";

/** One network of an authorization: the block minus its exceptions. */
export interface NetworkMatch {
  net: Cidr;
  except: Cidr[];
}

/** How a client must authenticate. */
export type Authentication =
  /** Any client, meshed or not. */
  | { type: "unauthenticated" }
  /** Mesh TLS, identity not checked (ServerAuthorization `unauthenticatedTLS`). */
  | { type: "tls-unauthenticated" }
  /** Mesh TLS with an identity that equals one of `identities` or ends with `.<suffix>` (`""` = any). */
  | { type: "tls"; identities: string[]; suffixes: string[] };

/** One authorization the proxy checks. */
export interface Authz {
  /** Metric kind: `authorizationpolicy`, `serverauthorization` or `default`. */
  kind: "authorizationpolicy" | "serverauthorization" | "default";
  /** Object name, or the default's name (`all-unauthenticated`, `audit`, `probe`, ...). */
  name: string;
  namespace: string;
  authentication: Authentication;
  networks: NetworkMatch[];
  /** Policy objects behind this authorization (`MeshTLSAuthentication/x`, ...). */
  objects: string[];
}

/** An HTTPRoute or GRPCRoute attached to a Server, with its route-level authorizations. */
export interface InboundRoute {
  /** `HTTPRoute` or `GRPCRoute`. */
  kind: string;
  /** API group of the route. */
  group: string;
  name: string;
  /** One short line per rule match (`GET /authors.json`). */
  matches: string[];
  authorizations: Authz[];
  creationTimestamp?: string;
}

/** Protocol the proxy applies on the port. */
export type Protocol = "detect" | "http1" | "http2" | "grpc" | "opaque" | "tls";

/** What governs one (pod, port). */
export interface InboundServer {
  /**
   * - `server`: a Server selects the port.
   * - `default`: no Server; the default policy applies.
   * - `skipped`: the port is in `skip-inbound-ports`; traffic bypasses the proxy.
   * - `unmeshed`: the pod has no proxy.
   */
  kind: "server" | "default" | "skipped" | "unmeshed";
  /** Server name, or the default policy's name. */
  name: string;
  port: number;
  protocol: Protocol;
  /** Server-level authorizations (OR-ed). */
  authorizations: Authz[];
  /** Attached routes (HTTP or gRPC per protocol); empty means the default routes. */
  routes: InboundRoute[];
  /** httpGet probe paths covered by the automatic `probe` route (only without attached routes). */
  probePaths: string[];
  /** Later Servers that also select this port and lose to `name`. */
  shadowed: string[];
  /** Notes for the operator (ignored objects, annotations in effect). */
  notes: string[];
  /** The default policy in force when `kind` is `default`. */
  defaultPolicy?: DefaultPolicy;
}

/** A client as the target's proxy sees it. */
export interface Client {
  /** Pods this profile stands for (`ns/name`). */
  pods: string[];
  namespace: string;
  serviceAccount: string;
  meshed: boolean;
  /** mTLS identity, when meshed. */
  identity?: string;
  /** Pod IPs; empty when unknown (manifests). */
  ips: string[];
  /** `ips`, parsed (filled by the index; parsed on demand otherwise). */
  addrs?: Array<{ family: 4 | 6; bits: bigint }>;
}

/** A decision. `undetermined` when the data cannot decide (unknown client IPs). */
export type Decision = "allowed" | "audit" | "denied" | "undetermined" | "partial";

/** The result of one authorization check. */
export type MatchResult = "yes" | "no" | "unknown";
