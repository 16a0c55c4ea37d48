/**
 * The inbound server for one (pod, port): the Server that wins (oldest first, then by
 * name; later ones are shadowed), or the pod's default policy, with its
 * authorizations and routes, as the policy controller serves it to the proxy.
 *
 * @module
 */
import { DEFAULT_POLICIES, type DefaultPolicy } from "../config.ts";
import { matchesSelector } from "../kube/selectors.ts";
import { type Pod } from "../mesh/pods.ts";
import { defaultAuthzs } from "./authz.ts";
import { podIsMeshed } from "./clients.ts";
import type { PolicyIndex, ServerEntry } from "./policy_index.ts";
import { inPortSet, parsePortSet, probePaths, tcpPortsByName } from "./ports.ts";
import type { InboundServer, Protocol } from "./types.ts";

/** Pod annotation: the pod's default inbound policy. */
export const DEFAULT_POLICY_ANNOTATION = "config.linkerd.io/default-inbound-policy";
/** Pod annotation: ports whose traffic bypasses the proxy. */
export const SKIP_INBOUND_ANNOTATION = "config.linkerd.io/skip-inbound-ports";
/** Pod annotation: ports that require mesh identity under an allow default policy. */
export const REQUIRE_IDENTITY_ANNOTATION = "config.linkerd.io/proxy-require-identity-inbound-ports";
/** Pod annotation: opaque ports. */
export const OPAQUE_PORTS_ANNOTATION = "config.linkerd.io/opaque-ports";

function isDefaultPolicy(v: string | undefined): v is DefaultPolicy {
  return v !== undefined && (DEFAULT_POLICIES as readonly string[]).includes(v);
}

function serverPorts(server: ServerEntry, pod: Pod): number[] {
  return typeof server.port === "number" ? [server.port] : tcpPortsByName(pod, server.port);
}

function protocolOf(proxyProtocol: string): Protocol {
  switch (proxyProtocol) {
    case "HTTP/1":
      return "http1";
    case "HTTP/2":
      return "http2";
    case "gRPC":
      return "grpc";
    case "opaque":
      return "opaque";
    case "TLS":
      return "tls";
    default:
      return "detect";
  }
}

/** The pod's effective default policy (its annotation when valid, else the cluster default). */
export function podDefaultPolicy(idx: PolicyIndex, pod: Pod): DefaultPolicy {
  const ann = pod.metadata.annotations?.[DEFAULT_POLICY_ANNOTATION];
  return isDefaultPolicy(ann) ? ann : idx.mesh.defaultInboundPolicy;
}

/** The Servers in the pod's namespace that select (pod, port), winner first. */
export function serversFor(idx: PolicyIndex, target: { pod: Pod; port: number }): ServerEntry[] {
  const { pod, port } = target;
  return (idx.serversByNs.get(pod.metadata.namespace ?? "") ?? []).filter((s) =>
    s.selectsPods && matchesSelector(s.selector, pod.metadata.labels) &&
    serverPorts(s, pod).includes(port)
  );
}

/** Computes (and memoises in the index) what governs inbound traffic to `pod` on `port`. */
export function inboundServer(
  idx: PolicyIndex,
  target: { pod: Pod; port: number },
): InboundServer {
  const { pod, port } = target;
  const key = `${pod.metadata.namespace}/${pod.metadata.name}:${port}`;
  const hit = idx.cache.get(key);
  if (hit) return hit;
  const result = computeInbound(idx, pod, port);
  idx.cache.set(key, result);
  return result;
}

function computeInbound(idx: PolicyIndex, pod: Pod, port: number): InboundServer {
  const ns = pod.metadata.namespace ?? "";
  const ann = pod.metadata.annotations ?? {};
  const base = { port, authorizations: [], routes: [], probePaths: [], shadowed: [], notes: [] };
  if (!podIsMeshed(pod)) {
    const unenforced = serversFor(idx, { pod, port }).map((s) =>
      `Server "${s.name}" selects this port, but pod "${pod.metadata.name}" has no Linkerd proxy, so its policy is not enforced: inject the workload (linkerd.io/inject: enabled) and restart it`
    );
    return { ...base, kind: "unmeshed", name: "no proxy", protocol: "opaque", notes: unenforced };
  }
  if (inPortSet(parsePortSet(ann[SKIP_INBOUND_ANNOTATION]), port)) {
    return { ...base, kind: "skipped", name: SKIP_INBOUND_ANNOTATION, protocol: "opaque" };
  }
  const notes = [...(idx.namespaceNotes.get(ns) ?? [])];
  const [server, ...shadowed] = serversFor(idx, { pod, port });
  const probes = probePaths(pod).get(port) ?? [];
  if (server) {
    const key = `${ns}/${server.name}`;
    const protocol = protocolOf(server.proxyProtocol);
    const authorizations = [
      ...(idx.serverAuthz.get(key) ?? []),
      ...(idx.namespaceAuthz.get(ns) ?? []),
    ];
    if (server.accessPolicy !== "deny") {
      if (isDefaultPolicy(server.accessPolicy)) {
        authorizations.push(
          ...defaultAuthzs(server.accessPolicy, {
            namespace: ns,
            clusterNetworks: idx.clusterNetworks,
          }),
        );
      } else {notes.push(
          `Server "${server.name}" has an invalid accessPolicy "${server.accessPolicy}"`,
        );}
    }
    const routes = protocol === "grpc"
      ? idx.grpcRoutes.get(key) ?? []
      : protocol === "opaque" || protocol === "tls"
      ? []
      : idx.httpRoutes.get(key) ?? [];
    notes.push(...(idx.serverNotes.get(key) ?? []));
    if ((protocol === "opaque" || protocol === "tls") && idx.httpRoutes.has(key)) {
      notes.push(
        `Server "${server.name}" is ${server.proxyProtocol}: its HTTPRoutes and their authorizations do not apply`,
      );
    }
    return {
      kind: "server",
      name: server.name,
      port,
      protocol,
      authorizations,
      routes,
      probePaths:
        routes.length === 0 && protocol !== "grpc" && protocol !== "opaque" && protocol !== "tls"
          ? probes
          : [],
      shadowed: shadowed.map((s) => s.name),
      notes,
    };
  }
  let policy = podDefaultPolicy(idx, pod);
  const requireIdentity = inPortSet(parsePortSet(ann[REQUIRE_IDENTITY_ANNOTATION]), port);
  if (requireIdentity) {
    if (policy === "all-unauthenticated") policy = "all-authenticated";
    if (policy === "cluster-unauthenticated") policy = "cluster-authenticated";
    notes.push(
      `Port ${port} is in ${REQUIRE_IDENTITY_ANNOTATION}: only meshed clients are allowed`,
    );
  }
  const opaque = inPortSet(parsePortSet(ann[OPAQUE_PORTS_ANNOTATION]), port);
  return {
    kind: "default",
    name: policy,
    port,
    protocol: opaque ? "opaque" : "detect",
    authorizations: defaultAuthzs(policy, { namespace: ns, clusterNetworks: idx.clusterNetworks }),
    routes: [],
    probePaths: opaque ? [] : probes,
    shadowed: [],
    notes: notes.filter((n) => n.includes(REQUIRE_IDENTITY_ANNOTATION)),
    defaultPolicy: policy,
  };
}
