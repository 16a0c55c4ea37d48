/**
 * Service ports and how they resolve to container ports on each backing pod, and the
 * rule that combines many decisions into one verdict.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import type { Pod, Service } from "../mesh/pods.ts";
import { containerPortByName } from "./model/servers.ts";
import { declaredTcpPorts } from "./ports.ts";
import type { Decision } from "./types.ts";

/** One port of a Service. */
export interface ServicePort {
  port: number;
  name?: string;
  targetPort: number | string;
  /** The Service port's protocol (`TCP` when unset). */
  protocol?: string;
  /** True for a port the Service does not define (asked for by a container port number). */
  undefined?: boolean;
}

/**
 * The Service's TCP ports (all, or the one `wanted` names by port number, port name or
 * target port). A Service without ports is analysed on its pods' declared TCP ports.
 *
 * @throws {InvalidArgumentError} when `wanted` matches no port of the Service.
 */
export function servicePorts(
  svc: Service,
  opts: { pods: readonly Pod[]; wanted?: number | string },
): ServicePort[] {
  let ports: ServicePort[] = (svc.spec?.ports ?? [])
    .filter((p) => !p.protocol || p.protocol.toUpperCase() === "TCP")
    .map((p) => ({
      port: p.port,
      ...(p.name ? { name: p.name } : {}),
      targetPort: p.targetPort ?? p.port,
      ...(p.protocol ? { protocol: p.protocol } : {}),
    }));
  if (ports.length === 0) {
    const declared = [...new Set(opts.pods.flatMap((p) => declaredTcpPorts(p)))].sort((a, b) =>
      a - b
    );
    ports = declared.map((port) => ({ port, targetPort: port }));
  }
  const wanted = opts.wanted;
  if (wanted === undefined) return ports.sort((a, b) => a.port - b.port);
  const n = typeof wanted === "number" ? wanted : /^\d+$/.test(wanted) ? Number(wanted) : undefined;
  const hit = ports.filter((p) =>
    n !== undefined
      ? p.port === n || p.targetPort === n
      : p.name === wanted || p.targetPort === wanted
  );
  if (hit.length) return hit;
  if (n !== undefined && opts.pods.some((p) => declaredTcpPorts(p).includes(n))) {
    return [{ port: n, targetPort: n, undefined: true }];
  }
  const listed = ports.map((p) => (p.name ? `${p.port} (${p.name})` : String(p.port))).join(", ");
  throw new InvalidArgumentError(
    `Service "${svc.metadata.namespace}/${svc.metadata.name}" has no port "${wanted}": its ports are ${
      listed || "none"
    }`,
  );
}

/**
 * The container port a Service port reaches on a pod, as Kubernetes resolves it: a number
 * as is; a name in the first container (container order) that declares it with the
 * Service port's protocol. `undefined` when no container declares the name.
 */
export function containerPort(pod: Pod, sp: ServicePort): number | undefined {
  if (typeof sp.targetPort === "number") return sp.targetPort;
  // a digits-only string is not a valid port name (the API server rejects it as a name)
  if (/^\d+$/.test(sp.targetPort)) return Number(sp.targetPort);
  return containerPortByName(pod, sp.targetPort, sp.protocol ?? "TCP");
}

/**
 * Combines decisions: all equal gives that decision; allowed with audit gives audit;
 * allowed (or audit) with denied gives partial; otherwise undetermined wins.
 */
export function combineDecisions(decisions: Iterable<Decision>): Decision {
  const set = new Set(decisions);
  if (set.size === 0) return "undetermined";
  if (set.size === 1) return [...set][0]!;
  const pos = set.has("allowed") || set.has("audit");
  if (set.has("partial") || (pos && set.has("denied"))) return "partial";
  if (set.has("undetermined")) return "undetermined";
  return "audit";
}
