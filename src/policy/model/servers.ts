/**
 * Servers and pod ports as the policy controller reads them: Server parsing
 * (int-or-string ports, selectors, protocol, accessPolicy), the pod's named ports,
 * probes and port-set annotations, and Kubernetes' resolution of a Service's named
 * `targetPort`.
 *
 * @module
 */
import { DEFAULT_POLICIES, type DefaultPolicy } from "../../config.ts";
import type { LabelSelector } from "../../kube/selectors.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Pod } from "../../mesh/pods.ts";
import {
  declaredTcpPorts,
  parsePortSet,
  type PortSet,
  probePaths,
  tcpPortNames,
} from "../ports.ts";
import type { Protocol } from "../types.ts";
import { illegalExpression } from "./labels.ts";
import type { PodPorts, Problem, ServerModel } from "./types.ts";
import type { Features } from "./version.ts";

/** Pod annotation: the pod's default inbound policy. */
export const DEFAULT_POLICY_ANNOTATION = "config.linkerd.io/default-inbound-policy";
/** Pod annotation: ports whose traffic bypasses the proxy. */
export const SKIP_INBOUND_ANNOTATION = "config.linkerd.io/skip-inbound-ports";
/** Pod annotation: ports that require mesh identity under an allow default policy. */
export const REQUIRE_IDENTITY_ANNOTATION = "config.linkerd.io/proxy-require-identity-inbound-ports";
/** Pod annotation: opaque ports. */
export const OPAQUE_PORTS_ANNOTATION = "config.linkerd.io/opaque-ports";

/** Orders objects by creation time (timestamped first), then by name: the controller's order. */
export function byCreation(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta === "" ? 1 : tb === "" ? -1 : ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** `proxyProtocol` → the protocol the proxy applies. */
export function protocolOf(proxyProtocol: string): Protocol {
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

const PROTOCOLS = ["unknown", "HTTP/1", "HTTP/2", "gRPC", "opaque", "TLS"];

/** True for a valid default policy name (`audit` only from 2.16). */
export function isDefaultPolicy(v: unknown, features?: Features): v is DefaultPolicy {
  if (typeof v !== "string" || !(DEFAULT_POLICIES as readonly string[]).includes(v)) return false;
  return v !== "audit" || features === undefined || features.accessPolicy;
}

/** Parses one Server (precedence `order` is set by the caller). */
export function parseServer(obj: KubeObject, features: Features): ServerModel {
  const spec = (obj.spec ?? {}) as {
    podSelector?: LabelSelector | null;
    externalWorkloadSelector?: LabelSelector | null;
    port?: unknown;
    proxyProtocol?: string;
    accessPolicy?: string;
  };
  const problems: Problem[] = [];
  let port: number | string = 0;
  // int-or-string: a YAML string is a port name even when all digits
  if (typeof spec.port === "number" && Number.isInteger(spec.port)) port = spec.port;
  else if (typeof spec.port === "string" && spec.port !== "") {
    port = spec.port;
    if (/^\d+$/.test(spec.port)) {
      problems.push({
        code: "port-string-digits",
        field: "spec.port",
        message:
          `Server "${obj.metadata.name}" port "${spec.port}" is a string, so Linkerd reads it as a port NAME; no container port is named "${spec.port}", so the Server selects no port (write the number without quotes)`,
      });
    }
  } else {
    problems.push({ code: "port-missing", field: "spec.port", message: "spec.port is missing" });
  }
  const selector = spec.podSelector ?? undefined;
  for (const [i, req] of (selector?.matchExpressions ?? []).entries()) {
    const bad = illegalExpression(req);
    if (bad) {
      problems.push({
        code: "illegal-expression",
        field: `spec.podSelector.matchExpressions[${i}]`,
        message:
          `podSelector expression on "${req.key}" is illegal to Linkerd (${bad}): it matches no pod`,
      });
    }
  }
  const proxyProtocol = spec.proxyProtocol ?? "unknown";
  if (!PROTOCOLS.includes(proxyProtocol)) {
    problems.push({
      code: "invalid-proxy-protocol",
      field: "spec.proxyProtocol",
      message: `proxyProtocol "${proxyProtocol}" is not one of ${PROTOCOLS.join(", ")}`,
    });
  }
  let accessPolicy = spec.accessPolicy ?? "deny";
  if (spec.accessPolicy !== undefined && !features.accessPolicy) {
    problems.push({
      code: "access-policy-unsupported",
      field: "spec.accessPolicy",
      message:
        `accessPolicy needs Linkerd 2.16 or later; this control plane ignores it (the Server denies by default)`,
    });
    accessPolicy = "deny";
  }
  return {
    obj,
    name: obj.metadata.name,
    namespace: obj.metadata.namespace ?? "",
    order: 0,
    port,
    ...(selector ? { selector } : {}),
    selectsPods: spec.podSelector !== undefined && spec.podSelector !== null,
    proxyProtocol,
    protocol: protocolOf(proxyProtocol),
    accessPolicy,
    problems,
  };
}

/** The pod's port facts (policy-controller `workload.rs`). */
export function readPodPorts(
  pod: Pod,
  clusterDefault: DefaultPolicy,
  features: Features,
): PodPorts {
  const ann = pod.metadata.annotations ?? {};
  const raw = ann[DEFAULT_POLICY_ANNOTATION];
  const valid = raw !== undefined && isDefaultPolicy(raw, features);
  const out: PodPorts = {
    byName: tcpPortNames(pod),
    tcp: declaredTcpPorts(pod),
    // a kept query string never equals a request path: such probes are not authorized
    probes: features.probeQueryStripped
      ? probePaths(pod)
      : withoutQueries(probePaths(pod, { keepQuery: true })),
    opaque: portSetOf(ann, OPAQUE_PORTS_ANNOTATION),
    skipInbound: portSetOf(ann, SKIP_INBOUND_ANNOTATION),
    requireIdentity: portSetOf(ann, REQUIRE_IDENTITY_ANNOTATION),
    defaultPolicy: valid ? raw as DefaultPolicy : clusterDefault,
  };
  if (raw !== undefined) out.defaultPolicyAnnotation = { value: raw, valid };
  return out;
}

function portSetOf(ann: Record<string, string>, key: string): PortSet {
  const v = ann[key];
  return v === undefined ? NO_PORTS : parsePortSet(v);
}

function withoutQueries(probes: Map<number, string[]>): Map<number, string[]> {
  return new Map([...probes].map(([k, v]) => [k, v.filter((p) => !p.includes("?"))]));
}

const NO_PORTS: PortSet = Object.freeze([]) as PortSet;

/**
 * The container port a Service's named `targetPort` reaches, as Kubernetes resolves it
 * (`FindPort`): the first container, in container order, declaring a port with that name
 * and the Service port's protocol; then native-sidecar init containers. Not the lowest
 * number, and not ordinary init containers.
 */
export function containerPortByName(
  pod: Pod,
  name: string,
  protocol = "TCP",
): number | undefined {
  const want = protocol.toUpperCase();
  // no allocation per port: an unset protocol is TCP
  const same = (p: string | undefined) =>
    p === undefined || p === "" ? want === "TCP" : p === want || p.toUpperCase() === want;
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === name && same(p.protocol)) return p.containerPort;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy !== "Always") continue;
    for (const p of c.ports ?? []) if (p.name === name && same(p.protocol)) return p.containerPort;
  }
  return undefined;
}
