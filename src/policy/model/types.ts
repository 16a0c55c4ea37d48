/**
 * Types of the single policy model: cluster state as Linkerd's policy controller sees it.
 *
 * @module
 */
import type { DefaultPolicy } from "../../config.ts";
import type { LabelSelector } from "../../kube/selectors.ts";
import type { ClusterState } from "../../kube/state.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { MeshConfig } from "../../mesh/config.ts";
import type { Pod } from "../../mesh/pods.ts";
import type { PortSet } from "../ports.ts";
import type { Authz, InboundServer, NetworkMatch, Protocol } from "../types.ts";
import type { ControlPlaneVersion, Features } from "./version.ts";

/**
 * A reference as written in a manifest (targetRef, requiredAuthenticationRefs,
 * identityRefs, parentRefs): every field optional, as the YAML may omit it.
 */
export interface RefSpec {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  port?: number;
  sectionName?: string;
}

/** Why the controller (or its admission webhook) rejects or ignores something. */
export interface Problem {
  /** Stable code (`unsupported-kind`, `not-found`, `duplicate-mtls`, ...). */
  code: string;
  message: string;
  /** Field path of the offending value (`spec.requiredAuthenticationRefs[1]`). */
  field?: string;
}

/** A Server, parsed as the controller parses it. */
export interface ServerModel {
  obj: KubeObject;
  name: string;
  namespace: string;
  /** Position in the namespace's precedence order (0 = oldest). */
  order: number;
  /** A number is a port number; a string is a port NAME (even when all digits). */
  port: number | string;
  selector?: LabelSelector;
  /** False for `externalWorkloadSelector` Servers (they select no pods). */
  selectsPods: boolean;
  proxyProtocol: string;
  protocol: Protocol;
  /** `accessPolicy` as in force for the control-plane version (`deny` before 2.16). */
  accessPolicy: string;
  problems: Problem[];
}

/** A Server's claim on pod ports. */
export interface ServerClaims {
  selected: Pod[];
  /** Pods on which the port (name) resolved to at least one port number. */
  resolved: Pod[];
  claimed: Array<{ pod: Pod; port: number }>;
  shadowed: Array<{ pod: Pod; port: number; winner: ServerModel }>;
}

/** Port facts of a pod, as `workload.rs` reads them. */
export interface PodPorts {
  /** TCP container ports by name (containers and init containers). */
  byName: Map<string, number[]>;
  /** Declared TCP port numbers, sorted. */
  tcp: number[];
  /** httpGet probe paths per port. */
  probes: Map<number, string[]>;
  opaque: PortSet;
  skipInbound: PortSet;
  requireIdentity: PortSet;
  /** The pod's default policy (valid annotation, else the cluster default). */
  defaultPolicy: DefaultPolicy;
  defaultPolicyAnnotation?: { value: string; valid: boolean };
}

/** One `requiredAuthenticationRefs` entry. */
export interface AuthnRef {
  field: string;
  kind: string;
  /** Group as written (`""` when omitted). */
  group: string;
  name: string;
  namespace: string;
  resolved?: "MeshTLSAuthentication" | "NetworkAuthentication" | "ServiceAccount";
  object?: KubeObject;
  rejected?: Problem;
}

/** An AuthorizationPolicy or ServerAuthorization, resolved. */
export interface PolicyEntry {
  obj: KubeObject;
  kind: "AuthorizationPolicy" | "ServerAuthorization";
  name: string;
  namespace: string;
  /** Normalised target (group `""` = core); for a ServerAuthorization kind `Server` or `ServerSelector`. */
  target?: { kind: string; group: string; name: string };
  refs: AuthnRef[];
  /** The authorization the controller builds; absent when the policy is ignored. */
  authz?: Authz;
  /** Why the policy is ignored (empty when it is in force). */
  ignored: Problem[];
}

/** A structured route match (for the proxy API view). */
export interface RouteMatch {
  path?: { type: string; value: string };
  method?: string;
  headers?: Array<{ type: string; name: string; value: string }>;
  queryParams?: Array<{ type: string; name: string; value: string }>;
  grpc?: { service?: string; method?: string; type?: string };
}

/** A route rule. */
export interface RouteRule {
  matches: RouteMatch[];
  filters: string[];
}

/** A route parent reference. */
export interface RouteParent {
  field: string;
  /** The Server it names, when it is a Server parent. */
  server?: string;
  accepted: boolean;
  problem?: Problem;
}

/** An HTTPRoute (either group) or GRPCRoute as the inbound index reads it. */
export interface RouteModel {
  obj: KubeObject;
  kind: "HTTPRoute" | "GRPCRoute";
  group: string;
  name: string;
  namespace: string;
  /** Precedence among all routes of the namespace (oldest first, then name). */
  order: number;
  hostnames: string[];
  parents: RouteParent[];
  /** Why the whole route is not used for inbound policy. */
  ignored: Problem[];
  rules: RouteRule[];
  /** One line per match, for people. */
  matches: string[];
  /** Route-level authorizations (APs targeting the route). */
  authorizations: Authz[];
  /** Matches that an older route with the identical match always wins. */
  unreachable: Array<{ rule: number; match: number; by: string; message: string }>;
}

/** The model of one cluster state. */
export interface PolicyModel {
  readonly state: ClusterState;
  readonly mesh: MeshConfig;
  readonly clusterNetworks: NetworkMatch[];
  readonly version: ControlPlaneVersion;
  readonly features: Features;
  readonly pods: readonly Pod[];
  podsIn(namespace: string): readonly Pod[];
  readonly servers: readonly ServerModel[];
  serversIn(namespace: string): readonly ServerModel[];
  server(namespace: string, name: string): ServerModel | undefined;
  serverOf(obj: KubeObject): ServerModel | undefined;
  claims(server: ServerModel): ServerClaims;
  serversFor(pod: Pod, port: number): ServerModel[];
  serverFor(pod: Pod, port: number): ServerModel | undefined;
  podPorts(pod: Pod): PodPorts;
  inbound(pod: Pod, port: number): InboundServer;
  /** What the controller serves for the port even when no proxy enforces it (unmeshed, skipped). */
  served(pod: Pod, port: number): InboundServer;
  readonly policies: readonly PolicyEntry[];
  policyOf(obj: KubeObject): PolicyEntry | undefined;
  readonly routes: readonly RouteModel[];
  routeOf(obj: KubeObject): RouteModel | undefined;
  routesOf(server: ServerModel): RouteModel[];
  serverAuthz(server: ServerModel): Authz[];
  /** Notes about ignored objects, per namespace. */
  notesIn(namespace: string): readonly string[];
  /** Clears per-query memos (benches). */
  clearMemos(): void;
}
