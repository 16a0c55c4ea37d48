/**
 * Port facts of a pod as the policy controller reads them: port-set annotations,
 * named TCP container ports and the paths of httpGet probes.
 *
 * @module
 */
import type { ContainerSpec, Pod } from "../mesh/pods.ts";

/** A set of ports written as `80,443,8000-9000`. */
export type PortSet = ReadonlyArray<readonly [number, number]>;

/**
 * Parses a port-set annotation the way the policy controller does (`parse_portset`):
 * numbers and ranges only; one entry it cannot parse makes the whole value empty.
 */
export function parsePortSet(text: string | undefined): PortSet {
  if (!text || !text.trim()) return [];
  const out: Array<[number, number]> = [];
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (!part) continue;
    const m = part.match(/^(\d{1,5})(?:-(\d{1,5}))?$/);
    if (!m) return [];
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || hi < lo) return [];
    out.push([lo, hi]);
  }
  return out;
}

/** True when `port` is in the set. */
export function inPortSet(set: PortSet, port: number): boolean {
  return set.some(([lo, hi]) => port >= lo && port <= hi);
}

function allContainers(pod: Pod): ContainerSpec[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

function isTcp(protocol: string | undefined): boolean {
  return protocol === undefined || protocol === "" || protocol.toUpperCase() === "TCP";
}

/** TCP container ports by name, in containers and init containers (`workload.rs` `tcp_ports_by_name`). */
export function tcpPortNames(pod: Pod): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const c of allContainers(pod)) {
    for (const p of c.ports ?? []) {
      if (!p.name || !isTcp(p.protocol)) continue;
      const list = out.get(p.name);
      if (!list) out.set(p.name, [p.containerPort]);
      else if (!list.includes(p.containerPort)) list.push(p.containerPort);
    }
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

/** Every TCP container port (in containers and init containers) that carries `name`. */
export function tcpPortsByName(pod: Pod, name: string): number[] {
  return tcpPortNames(pod).get(name) ?? [];
}

/** Every TCP container port number the pod declares. */
export function declaredTcpPorts(pod: Pod): number[] {
  const out = new Set<number>();
  for (const c of allContainers(pod)) {
    for (const p of c.ports ?? []) if (isTcp(p.protocol)) out.add(p.containerPort);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The httpGet probe paths per port (liveness, readiness, startup; all containers).
 * A named probe port is resolved against the same container's TCP ports; the path
 * defaults to `/` and loses its query string.
 */
export function probePaths(pod: Pod, opts: { keepQuery?: boolean } = {}): Map<number, string[]> {
  const out = new Map<number, Set<string>>();
  for (const c of allContainers(pod)) {
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      const get = probe?.httpGet;
      if (!get) continue;
      let port: number | undefined;
      if (typeof get.port === "number") port = get.port;
      else if (/^\d+$/.test(get.port)) port = Number(get.port);
      else {
        port = (c.ports ?? []).find((p) => p.name === get.port && isTcp(p.protocol))
          ?.containerPort;
      }
      if (port === undefined) continue;
      // before edge-23.5.3 (#10934) the controller kept the query string in the path
      const path = opts.keepQuery ? get.path || "/" : (get.path || "/").split("?")[0] || "/";
      if (!out.has(port)) out.set(port, new Set());
      out.get(port)!.add(path);
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}
