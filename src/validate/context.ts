/**
 * Everything the rules look at, computed once per validation: objects by kind, pod
 * views (real pods, or workload templates when a namespace has none), which Server
 * claims each pod port, and the authorizations and routes of each Server.
 *
 * @module
 */
import { DEFAULT_POLICIES, type DefaultPolicy } from "../config.ts";
import type { ResourceKey } from "../kube/resources.ts";
import { type LabelSelector, matchesSelector } from "../kube/selectors.ts";
import { type ClusterState, itemsOf } from "../kube/state.ts";
import type { KubeObject } from "../kube/types.ts";
import type { MeshConfig } from "../mesh/config.ts";
import { isMeshed, type Pod, PROXY_CONTAINER } from "../mesh/pods.ts";
import { parsePortList, type PortRange } from "./parse.ts";

/** Workload kinds whose pod templates stand in for pods. */
export const WORKLOAD_KEYS = [
  "deployments",
  "statefulsets",
  "daemonsets",
  "replicasets",
  "jobs",
  "cronjobs",
] as const satisfies readonly ResourceKey[];

/** An httpGet probe on a resolved port. */
export interface HttpProbe {
  port: number;
  path: string;
  scheme: string;
}

/** A pod as the policy controller sees it. */
export interface PodView {
  pod: Pod;
  /** The object findings about this pod are reported on (its workload when known). */
  report: KubeObject;
  meshed: boolean;
  /** Annotations that decide inbound policy (the pod's own, or template + namespace). */
  annotations: Record<string, string>;
  /** TCP container ports by name (a name may map to several numbers). */
  portsByName: Map<string, number[]>;
  /** Declared TCP container port numbers (app containers and init containers). */
  ports: Set<number>;
  httpProbes: HttpProbe[];
  /** Ports with a `grpc` probe (not covered by Linkerd's automatic probe route). */
  grpcProbePorts: number[];
  defaultPolicy: DefaultPolicy;
  opaquePorts: PortRange[];
  skipInboundPorts: PortRange[];
}

/** A Server's claim on the pods it selects. */
export interface ServerClaims {
  selected: PodView[];
  /** Pods on which the port name resolved to at least one port. */
  resolved: PodView[];
  claimed: Array<{ pv: PodView; port: number }>;
  shadowed: Array<{ pv: PodView; port: number; winner: KubeObject }>;
}

/** Inputs of a validation run. */
export interface ContextOptions {
  mesh: MeshConfig;
  /** Manifests may hold only part of the cluster; live and demo sources hold all of it. */
  partial: boolean;
  /** The namespace the state was restricted to, if any. */
  namespace?: string;
}

/** What every rule reads. */
export class ValidationContext {
  readonly mesh: MeshConfig;
  readonly state: ClusterState;
  readonly #opts: ContextOptions;
  readonly #byKey = new Map<string, KubeObject>();
  readonly #byNs = new Map<ResourceKey, Map<string, KubeObject[]>>();
  #pods?: PodView[];
  #podsByNs?: Map<string, PodView[]>;
  #claims?: Map<KubeObject, ServerClaims>;
  #portServer?: Map<PodView, Map<number, KubeObject>>;

  constructor(state: ClusterState, opts: ContextOptions) {
    this.state = state;
    this.mesh = opts.mesh;
    this.#opts = opts;
    for (const [key, list] of Object.entries(state.objects)) {
      for (const o of list ?? []) {
        this.#byKey.set(`${key}|${o.metadata.namespace ?? ""}|${o.metadata.name}`, o);
      }
    }
  }

  /** Objects of one resource type (optionally one namespace). */
  items(key: ResourceKey, namespace?: string): readonly KubeObject[] {
    if (namespace === undefined) return itemsOf(this.state, key);
    let byNs = this.#byNs.get(key);
    if (!byNs) {
      byNs = new Map();
      for (const o of itemsOf(this.state, key)) {
        const ns = o.metadata.namespace ?? "";
        const list = byNs.get(ns);
        if (list) list.push(o);
        else byNs.set(ns, [o]);
      }
      this.#byNs.set(key, byNs);
    }
    return byNs.get(namespace) ?? [];
  }

  /** HTTPRoutes of both API groups. */
  httpRoutes(namespace?: string): KubeObject[] {
    return [...this.items("httproutes", namespace), ...this.items("gatewayhttproutes", namespace)];
  }

  /** One object by resource type, namespace and name. */
  find(key: ResourceKey, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#byKey.get(`${key}|${namespace ?? ""}|${name}`);
  }

  /**
   * True when the view holds every object of `namespace`, so that an absent object
   * really is absent: always for a live cluster or the demo (within the loaded
   * namespace); for manifests only when they declare the Namespace itself.
   */
  complete(namespace: string): boolean {
    if (this.#opts.namespace !== undefined && namespace !== this.#opts.namespace) return false;
    if (!this.#opts.partial) return true;
    return this.find("namespaces", undefined, namespace) !== undefined;
  }

  /** True when the namespace's objects were loaded at all. */
  loaded(namespace: string): boolean {
    return this.#opts.namespace === undefined || this.#opts.namespace === namespace;
  }

  /** Pod views, from pods or, for namespaces without pods, workload templates. */
  pods(namespace?: string): readonly PodView[] {
    if (!this.#pods) this.#buildPods();
    return namespace === undefined ? this.#pods! : this.#podsByNs!.get(namespace) ?? [];
  }

  /** Namespaces that hold pods or workloads. */
  podNamespaces(): string[] {
    if (!this.#pods) this.#buildPods();
    return [...this.#podsByNs!.keys()].sort();
  }

  /** How each Server claims pod ports (oldest Server first, then by name). */
  claims(server: KubeObject): ServerClaims {
    if (!this.#claims) this.#resolveServers();
    return this.#claims!.get(server) ?? { selected: [], resolved: [], claimed: [], shadowed: [] };
  }

  /** The Server that won `port` on the pod, if any. */
  serverFor(pv: PodView, port: number): KubeObject | undefined {
    if (!this.#portServer) this.#resolveServers();
    return this.#portServer!.get(pv)?.get(port);
  }

  #buildPods(): void {
    const all: PodView[] = [];
    const byNs = new Map<string, PodView[]>();
    const podNs = new Set<string>();
    for (const p of this.items("pods")) {
      const pod = p as Pod;
      if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
      podNs.add(pod.metadata.namespace ?? "");
      all.push(
        this.#view(pod, this.#ownerOf(pod), pod.metadata.annotations ?? {}, isMeshed(pod)),
      );
    }
    for (const key of WORKLOAD_KEYS) {
      for (const wl of this.items(key)) {
        const ns = wl.metadata.namespace ?? "";
        if (podNs.has(ns)) continue;
        if (key === "replicasets" || key === "jobs") {
          if ((wl.metadata.ownerReferences ?? []).length > 0) continue;
        }
        const pod = podFromTemplate(wl);
        if (!pod) continue;
        const nsAnn = this.find("namespaces", undefined, ns)?.metadata.annotations ?? {};
        const annotations = { ...inheritedAnnotations(nsAnn), ...(pod.metadata.annotations ?? {}) };
        const inject = pod.metadata.annotations?.["linkerd.io/inject"] ??
          nsAnn["linkerd.io/inject"];
        const meshed = isMeshed(pod) || inject === "enabled" || inject === "ingress";
        all.push(this.#view(pod, wl, annotations, meshed));
      }
    }
    for (const pv of all) {
      const ns = pv.pod.metadata.namespace ?? "";
      const list = byNs.get(ns) ?? [];
      list.push(pv);
      byNs.set(ns, list);
    }
    this.#pods = all;
    this.#podsByNs = byNs;
  }

  #ownerOf(pod: Pod): KubeObject {
    const ns = pod.metadata.namespace;
    for (const ref of pod.metadata.ownerReferences ?? []) {
      const key = ({
        ReplicaSet: "replicasets",
        StatefulSet: "statefulsets",
        DaemonSet: "daemonsets",
        Job: "jobs",
        Deployment: "deployments",
        CronJob: "cronjobs",
      } as Record<string, ResourceKey>)[ref.kind];
      if (!key) continue;
      const owner = this.find(key, ns, ref.name);
      if (owner) {
        const up = owner.metadata.ownerReferences?.find((r) =>
          r.kind === "Deployment" || r.kind === "CronJob"
        );
        const top = up &&
          this.find(up.kind === "Deployment" ? "deployments" : "cronjobs", ns, up.name);
        return top ?? owner;
      }
      if (ref.kind === "ReplicaSet") {
        const dep = pod.metadata.labels?.["linkerd.io/proxy-deployment"] ??
          ref.name.replace(/-[a-z0-9]{5,10}$/, "");
        const d = this.find("deployments", ns, dep);
        if (d) return d;
      }
    }
    return pod as KubeObject;
  }

  #view(
    pod: Pod,
    report: KubeObject,
    annotations: Record<string, string>,
    meshed: boolean,
  ): PodView {
    const portsByName = new Map<string, number[]>();
    const ports = new Set<number>();
    const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]
      .filter((c) => c.name !== PROXY_CONTAINER);
    const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
    const addPort = (name: string | undefined, port: number) => {
      ports.add(port);
      if (name) portsByName.set(name, [...(portsByName.get(name) ?? []), port]);
    };
    for (const c of all) {
      for (const p of c.ports ?? []) {
        if (p.protocol && p.protocol !== "TCP") continue;
        if (typeof p.containerPort !== "number") continue;
        addPort(p.name, p.containerPort);
      }
    }
    if (!all.some((c) => c.name === PROXY_CONTAINER)) {
      // Not injected (yet): once meshed, the proxy adds its own named ports; unmeshed, no
      // Server applies at all. Either way a Server naming them is not wrong.
      const num = (k: string, d: number) => Number(annotations[`config.linkerd.io/${k}`] ?? d) || d;
      addPort("linkerd-proxy", num("inbound-port", 4143));
      addPort("linkerd-admin", num("admin-port", 4191));
    }
    const httpProbes: HttpProbe[] = [];
    const grpcProbePorts: number[] = [];
    for (const c of containers) {
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        if (probe?.httpGet) {
          const raw = probe.httpGet.port;
          const port = typeof raw === "number"
            ? raw
            : (c.ports ?? []).find((p) => p.name === raw)?.containerPort;
          if (port === undefined) continue;
          const path = (probe.httpGet.path || "/").split("?")[0] || "/";
          httpProbes.push({ port, path, scheme: probe.httpGet.scheme ?? "HTTP" });
        } else if (probe?.grpc && typeof probe.grpc.port === "number") {
          grpcProbePorts.push(probe.grpc.port);
        }
      }
    }
    const pol = annotations["config.linkerd.io/default-inbound-policy"];
    const defaultPolicy = pol && (DEFAULT_POLICIES as readonly string[]).includes(pol)
      ? pol as DefaultPolicy
      : this.mesh.defaultInboundPolicy;
    const portSet = (name: string, unparsable: PortRange[]) => {
      const v = annotations[name];
      if (!v) return [];
      const parsed = parsePortList(v);
      return parsed.error || parsed.names.length ? unparsable : parsed.ranges;
    };
    return {
      pod,
      report,
      meshed,
      annotations,
      portsByName,
      ports,
      httpProbes,
      grpcProbePorts,
      defaultPolicy,
      // The policy controller drops an opaque-ports list it cannot parse.
      opaquePorts: portSet("config.linkerd.io/opaque-ports", []),
      // A skip list we cannot read may skip any port: rules then stay silent.
      skipInboundPorts: portSet("config.linkerd.io/skip-inbound-ports", [{ from: 1, to: 65535 }]),
    };
  }

  #resolveServers(): void {
    const claims = new Map<KubeObject, ServerClaims>();
    const portServer = new Map<PodView, Map<number, KubeObject>>();
    const byNs = new Map<string, KubeObject[]>();
    for (const s of this.items("servers")) {
      const ns = s.metadata.namespace ?? "";
      byNs.set(ns, [...(byNs.get(ns) ?? []), s]);
      claims.set(s, { selected: [], resolved: [], claimed: [], shadowed: [] });
    }
    for (const [ns, servers] of byNs) {
      servers.sort(serverOrder);
      for (const pv of this.pods(ns)) {
        const won = new Map<number, KubeObject>();
        for (const s of servers) {
          const spec = (s.spec ?? {}) as Record<string, unknown>;
          const sel = spec["podSelector"] as LabelSelector | undefined;
          if (!sel || typeof sel !== "object") continue;
          if (!matchesSelector(sel, pv.pod.metadata.labels)) continue;
          const c = claims.get(s)!;
          c.selected.push(pv);
          const port = spec["port"];
          const numbers = typeof port === "number"
            ? [port]
            : typeof port === "string"
            ? pv.portsByName.get(port) ?? []
            : [];
          if (numbers.length) c.resolved.push(pv);
          for (const n of numbers) {
            const winner = won.get(n);
            if (winner) c.shadowed.push({ pv, port: n, winner });
            else {
              won.set(n, s);
              c.claimed.push({ pv, port: n });
            }
          }
        }
        if (won.size) portServer.set(pv, won);
      }
    }
    this.#claims = claims;
    this.#portServer = portServer;
  }
}

/** The policy controller's Server order: oldest `creationTimestamp` first, then name. */
export function serverOrder(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) {
    if (!ta) return 1;
    if (!tb) return -1;
    return ta < tb ? -1 : 1;
  }
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** A pod built from a workload's template (`spec.template` or a CronJob's job template). */
export function podFromTemplate(wl: KubeObject): Pod | undefined {
  const spec = wl.spec as Record<string, unknown> | undefined;
  const tmpl =
    (wl.kind === "CronJob"
      ? ((spec?.["jobTemplate"] as Record<string, unknown> | undefined)?.["spec"] as
        | Record<string, unknown>
        | undefined)?.["template"]
      : spec?.["template"]) as
        | { metadata?: Partial<Pod["metadata"]>; spec?: Pod["spec"] }
        | undefined;
  if (!tmpl || typeof tmpl !== "object") return undefined;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...(tmpl.metadata ?? {}),
      name: wl.metadata.name,
      ...(wl.metadata.namespace !== undefined ? { namespace: wl.metadata.namespace } : {}),
    },
    ...(tmpl.spec ? { spec: tmpl.spec } : {}),
  };
}

/** The namespace annotations the proxy injector copies onto pods (`config.*` ones). */
function inheritedAnnotations(ns: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ns)) {
    if (k.startsWith("config.linkerd.io/") || k.startsWith("config.alpha.linkerd.io/")) out[k] = v;
  }
  return out;
}
