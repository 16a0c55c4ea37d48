/**
 * What the policy controller serves for one pod port, in the shape
 * `linkerd diagnostics policy po/X PORT -o json` prints: the proxy API's inbound
 * `Server` message (Go `encoding/json` of the generated protobuf structs, so oneofs
 * appear as `{"Kind": {"Detect": ...}}`), built from the policy model.
 *
 * @module
 */
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { Pod } from "../mesh/pods.ts";
import type { Cidr } from "./cidr.ts";
import { podIsMeshed } from "./clients.ts";
import { ALL_NETWORKS } from "./authz.ts";
import type { RouteMatch, RouteModel } from "./model/types.ts";
import type { PolicyIndex } from "./policy_index.ts";
import { containerPort, servicePorts } from "./service_ports.ts";
import { resolveSource } from "./sources.ts";
import type { Authz, InboundServer, NetworkMatch } from "./types.ts";

/** Which pod port to show. */
export interface InboundPolicyQuery {
  namespace: string;
  pod?: string;
  workload?: { kind: string; name: string };
  service?: string;
  /** Pod port number or name; for `service`, a Service port number or name. */
  port: number | string;
}

/** The answer. */
export interface InboundPolicyView {
  namespace: string;
  pod: string;
  port: number;
  /** The proxy API `Server` message, as `linkerd diagnostics policy -o json` prints it. */
  server: Record<string, unknown>;
  /** `server` (a Server), `default`, `skipped` (skip-inbound-ports) or `unmeshed`. */
  kind: InboundServer["kind"];
  /** Servers that also select the port and lose to the one in force. */
  shadowed: string[];
  notes: string[];
  assumes: string;
}

const HTTP_METHODS = [
  "GET",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "CONNECT",
  "HEAD",
  "TRACE",
];

function u64(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function ipNet(c: Cidr): Record<string, unknown> {
  const ip = c.family === 4 ? { Ip: { Ipv4: Number(c.bits) } } : {
    Ip: {
      Ipv6: {
        ...(c.bits >> 64n ? { first: u64(c.bits >> 64n) } : {}),
        ...(c.bits & 0xffffffffffffffffn ? { last: u64(c.bits & 0xffffffffffffffffn) } : {}),
      },
    },
  };
  return { ip, ...(c.prefix ? { prefix_len: c.prefix } : {}) };
}

function network(n: NetworkMatch): Record<string, unknown> {
  return { net: ipNet(n.net), ...(n.except.length ? { except: n.except.map(ipNet) } : {}) };
}

function authzMessage(a: Authz, clusterNetworks: readonly NetworkMatch[]): Record<string, unknown> {
  const auth = a.authentication;
  const permit = auth.type === "unauthenticated"
    ? { Unauthenticated: {} }
    : auth.type === "tls-unauthenticated"
    ? { MeshTLS: { Clients: { Unauthenticated: {} } } }
    : {
      MeshTLS: {
        Clients: {
          Identities: {
            ...(auth.identities.length
              ? { identities: auth.identities.map((name) => ({ name })) }
              : {}),
            ...(auth.suffixes.length
              ? { suffixes: auth.suffixes.map((s) => (s ? { parts: s.split(".") } : {})) }
              : {}),
          },
        },
      },
    };
  const isDefault = a.kind === "default";
  const nets = a.networks.length ? a.networks : clusterNetworks;
  return {
    networks: nets.map(network),
    authentication: { Permit: permit },
    labels: isDefault
      ? { group: "", kind: "default", name: a.name }
      : { group: "policy.linkerd.io", kind: a.kind, name: a.name },
    metadata: {
      Kind: isDefault
        ? { Default: a.name }
        : { Resource: { group: "policy.linkerd.io", kind: a.kind, name: a.name } },
    },
  };
}

function httpMatch(m: RouteMatch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.path) {
    const kind = m.path.type === "Exact"
      ? { Exact: m.path.value }
      : m.path.type === "RegularExpression"
      ? { Regex: m.path.value }
      : { Prefix: m.path.value };
    out["path"] = { Kind: kind };
  }
  if (m.headers?.length) {
    out["headers"] = m.headers.map((h) => ({
      name: h.name,
      Value: h.type === "RegularExpression" ? { Regex: h.value } : { Exact: h.value },
    }));
  }
  if (m.queryParams?.length) {
    out["query_params"] = m.queryParams.map((q) => ({
      name: q.name,
      Value: q.type === "RegularExpression" ? { Regex: q.value } : { Exact: q.value },
    }));
  }
  if (m.method) {
    const i = HTTP_METHODS.indexOf(m.method.toUpperCase());
    out["method"] = { Type: i >= 0 ? { Registered: i } : { Unregistered: m.method } };
  }
  return out;
}

function grpcMatch(m: RouteMatch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.grpc) {
    out["rpc"] = {
      ...(m.grpc.service ? { service: m.grpc.service } : {}),
      ...(m.grpc.method ? { method: m.grpc.method } : {}),
    };
  }
  if (m.headers?.length) {
    out["headers"] = m.headers.map((h) => ({ name: h.name, Value: { Exact: h.value } }));
  }
  return out;
}

function routeMessage(
  r: RouteModel,
  authzs: (a: readonly Authz[]) => unknown[],
): Record<string, unknown> {
  const grpc = r.kind === "GRPCRoute";
  return {
    metadata: { Kind: { Resource: { group: r.group, kind: r.kind, name: r.name } } },
    ...(r.hostnames.length ? { hosts: r.hostnames.map((h) => ({ Match: { Exact: h } })) } : {}),
    ...(r.authorizations.length ? { authorizations: authzs(r.authorizations) } : {}),
    rules: r.rules.map((rule) => ({
      matches: rule.matches.map((m) => (grpc ? grpcMatch(m) : httpMatch(m))),
    })),
  };
}

function defaultRoutes(
  s: InboundServer,
  authzs: (a: readonly Authz[]) => unknown[],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [{
    metadata: { Kind: { Default: "default" } },
    rules: [{ matches: [{ path: { Kind: { Prefix: "/" } } }] }],
  }];
  if (s.probePaths.length) {
    const probe: Authz = {
      kind: "default",
      name: "probe",
      namespace: "",
      authentication: { type: "unauthenticated" },
      networks: ALL_NETWORKS,
      objects: [],
    };
    out.push({
      metadata: { Kind: { Default: "probe" } },
      authorizations: authzs([probe]),
      rules: [{
        matches: s.probePaths.map((p) => ({
          path: { Kind: { Exact: p } },
          method: { Type: { Registered: 0 } },
        })),
      }],
    });
  }
  return out;
}

/** The proxy API `Server` message for an inbound server. */
export function serverMessage(
  idx: PolicyIndex,
  pod: Pod,
  s: InboundServer,
): Record<string, unknown> {
  const authzs = (list: readonly Authz[]) => list.map((a) => authzMessage(a, idx.clusterNetworks));
  const model = idx.model;
  const srv = s.kind === "server" ? model.server(pod.metadata.namespace ?? "", s.name) : undefined;
  const attached = srv
    ? model.routesOf(srv).filter((r) =>
      s.routes.some((x) => x.kind === r.kind && x.name === r.name)
    )
    : [];
  const routes = attached.length
    ? attached.map((r) => routeMessage(r, authzs))
    : s.protocol === "grpc"
    ? [{ metadata: { Kind: { Default: "default" } }, rules: [{ matches: [{}] }] }]
    : defaultRoutes(s, authzs);
  let protocol: Record<string, unknown>;
  switch (s.protocol) {
    case "detect":
      protocol = { Detect: { timeout: { seconds: 10 }, http_routes: routes } };
      break;
    case "http1":
      protocol = { Http1: { routes } };
      break;
    case "http2":
      protocol = { Http2: { routes } };
      break;
    case "grpc":
      protocol = { Grpc: { routes } };
      break;
    case "opaque":
      protocol = { Opaque: {} };
      break;
    case "tls":
      protocol = { Tls: {} };
      break;
  }
  return {
    protocol: { Kind: protocol },
    ...(s.authorizations.length ? { authorizations: authzs(s.authorizations) } : {}),
    labels: s.kind === "server"
      ? { group: "policy.linkerd.io", kind: "server", name: s.name }
      : { group: "", kind: "default", name: s.name },
  };
}

/**
 * What the policy controller serves for a pod port (the first pod of a workload or
 * Service when one of those is named).
 *
 * @throws {NotFoundError} when the pod, workload or Service does not exist.
 * @throws {InvalidArgumentError} when the port cannot be resolved.
 */
export function inboundPolicy(idx: PolicyIndex, q: InboundPolicyQuery): InboundPolicyView {
  const pods = idx.podsByNs.get(q.namespace) ?? [];
  let pod: Pod | undefined;
  let port: number | undefined;
  if (q.service !== undefined) {
    const key = `${q.namespace}/${q.service}`;
    const svc = idx.services.get(key);
    if (!svc) {
      throw new NotFoundError(`Cannot find Service "${q.service}" in namespace "${q.namespace}"`);
    }
    const backing = idx.servicePods.get(key) ?? [];
    pod = backing[0];
    if (!pod) throw new NotFoundError(`Service "${q.namespace}/${q.service}" selects no pods`);
    const [sp] = servicePorts(svc, { pods: backing, wanted: q.port });
    port = containerPort(pod, sp!);
  } else if (q.workload !== undefined) {
    const src = resolveSource(idx, { namespace: q.namespace, workload: q.workload });
    const first = src.clients[0]?.pods[0];
    pod = pods.find((p) => `${p.metadata.namespace}/${p.metadata.name}` === first);
  } else if (q.pod !== undefined) {
    pod = pods.find((p) => p.metadata.name === q.pod);
    if (!pod) throw new NotFoundError(`Cannot find pod "${q.pod}" in namespace "${q.namespace}"`);
  } else {
    throw new InvalidArgumentError("Name a pod, a workload or a Service");
  }
  if (!pod) throw new NotFoundError(`No running pod found in namespace "${q.namespace}"`);
  if (port === undefined) {
    if (typeof q.port === "number") port = q.port;
    else if (/^\d+$/.test(q.port)) port = Number(q.port);
    else port = idx.model.podPorts(pod).byName.get(q.port)?.[0];
  }
  if (port === undefined) {
    throw new InvalidArgumentError(
      `Pod "${pod.metadata.name}" declares no TCP port named "${q.port}"`,
    );
  }
  const enforced = idx.model.inbound(pod, port);
  const s = idx.model.served(pod, port);
  const notes = [...s.notes];
  if (!podIsMeshed(pod)) {
    notes.unshift(
      `pod "${pod.metadata.name}" has no Linkerd proxy: the controller would still answer, but nothing enforces it`,
    );
  }
  if (enforced.kind === "skipped") {
    notes.unshift(
      `port ${port} is in config.linkerd.io/skip-inbound-ports: traffic bypasses the proxy, so this policy is never applied`,
    );
  }
  return {
    namespace: q.namespace,
    pod: pod.metadata.name,
    port,
    server: serverMessage(idx, pod, s),
    kind: enforced.kind === "server" || enforced.kind === "default" ? s.kind : enforced.kind,
    shadowed: s.shadowed,
    notes,
    assumes: idx.model.version.text,
  };
}
