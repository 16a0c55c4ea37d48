/**
 * Everything the rules look at, computed once per validation: objects by kind, the
 * pods (real ones, and for each workload without pods one pod synthesised from its
 * template and meshed as the injector would mesh it), and the policy model of the
 * state (`src/policy/model`): which Server claims each pod port, default policies,
 * authorizations, routes. The rules query the model; they only check shapes
 * themselves.
 *
 * @module
 */
import type { ResourceKey } from "../kube/resources.ts";
import { type ClusterState, itemsOf } from "../kube/state.ts";
import type { ContainerSpec, KubeObject, Pod } from "../kube/types.ts";
import { injectorConfigFromObjects } from "../kube/injector_config.ts";
import { synthesizeWorkloadPods } from "../kube/workload_pods.ts";
import {
  controllerOf,
  isControlledWorkload,
  isWorkloadKind,
  ownerWorkloadOf,
  WORKLOAD_KEYS as KUBE_WORKLOAD_KEYS,
  WORKLOAD_RESOURCE_KEYS,
} from "../kube/workloads.ts";
import type { MeshConfig } from "../mesh/config.ts";
import { isMeshed, isTerminated } from "../mesh/pods.ts";
import {
  type PodPorts,
  type PolicyModel,
  policyModel,
  type PortSet,
  type RouteModel,
  type ServerClaims,
  type ServerModel,
} from "../policy/model/mod.ts";
import type { Authz } from "../policy/types.ts";
import type { Duplicate } from "./duplicates.ts";

/** Workload kinds whose pod templates stand in for pods (`src/kube/workloads.ts`). */
export const WORKLOAD_KEYS = KUBE_WORKLOAD_KEYS;

/** An httpGet probe on a resolved port. */
export interface HttpProbe {
  port: number;
  path: string;
}

/** A pod as the policy controller sees it. */
export interface PodView {
  pod: Pod;
  /** The object findings about this pod are reported on (its workload when known). */
  report: KubeObject;
  meshed: boolean;
  /** The pod's annotations (for a synthesised pod, as the injector writes them). */
  annotations: Record<string, string>;
  /** Port facts as the policy controller reads them (from the model). */
  ports: PodPorts;
  /** Kubelet httpGet probes on each port, as the policy controller reads them (HTTP scheme only). */
  httpProbes: HttpProbe[];
  /** Ports with a `grpc` probe (not covered by Linkerd's automatic probe route). */
  grpcProbePorts: number[];
  /** httpGet probes whose path carries a query string (`/ready?full=1`), as written. */
  queryProbes: HttpProbe[];
  opaquePorts: PortSet;
  skipInboundPorts: PortSet;
}

/** Inputs of a validation run. */
export interface ContextOptions {
  mesh: MeshConfig;
  /** Manifests may hold only part of the cluster; live and demo sources hold all of it. */
  partial: boolean;
  /** The namespace the state was restricted to, if any. */
  namespace?: string;
  /** Definitions replaced by a later definition of the same object (see `duplicates.ts`). */
  duplicates?: readonly Duplicate[];
}

const NO_CLAIMS: ServerClaims = { selected: [], resolved: [], claimed: [], shadowed: [] };

export type { ServerClaims };

/** What every rule reads. */
export class ValidationContext {
  readonly mesh: MeshConfig;
  readonly state: ClusterState;
  /** Definitions replaced by a later definition of the same object. */
  readonly duplicates: readonly Duplicate[];
  readonly #opts: ContextOptions;
  readonly #byKey = new Map<string, KubeObject>();
  readonly #byNs = new Map<ResourceKey, Map<string, KubeObject[]>>();
  #pods?: PodView[];
  #podsByNs?: Map<string, PodView[]>;
  #views?: Map<Pod, PodView>;
  #model?: PolicyModel;
  #naming?: Map<string, RouteModel[]>;
  #synthesised = false;
  readonly #routes = new Map<KubeObject, { http: RouteModel[]; grpc: RouteModel[] }>();

  constructor(state: ClusterState, opts: ContextOptions) {
    this.state = state;
    this.mesh = opts.mesh;
    this.duplicates = opts.duplicates ?? [];
    this.#opts = opts;
    for (const [key, list] of Object.entries(state.objects)) {
      for (const o of list ?? []) {
        this.#byKey.set(`${key}|${o.metadata.namespace ?? ""}|${o.metadata.name}`, o);
      }
    }
  }

  /** The policy model of the state, over this context's pods. */
  get model(): PolicyModel {
    if (!this.#model) {
      // Without synthesised pods the model's own pods (the state's running pods) are the
      // same, and the model built for this state is shared with the policy tools.
      const pods = this.pods();
      this.#model = policyModel(this.state, {
        mesh: this.mesh,
        ...(this.#synthesised ? { pods: pods.map((pv) => pv.pod) } : {}),
      });
    }
    return this.#model;
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

  /** True when the view may hold only part of the cluster (manifests). */
  get partial(): boolean {
    return this.#opts.partial;
  }

  /** True when the namespace's objects were loaded at all. */
  loaded(namespace: string): boolean {
    return this.#opts.namespace === undefined || this.#opts.namespace === namespace;
  }

  /** Pod views: running pods, and one synthesised pod per workload without pods. */
  pods(namespace?: string): readonly PodView[] {
    if (!this.#pods) this.#buildPods();
    return namespace === undefined ? this.#pods! : this.#podsByNs!.get(namespace) ?? [];
  }

  /** Namespaces that hold pods or workloads. */
  podNamespaces(): string[] {
    if (!this.#pods) this.#buildPods();
    return [...this.#podsByNs!.keys()].sort();
  }

  /** The model's view of a Server object. */
  server(obj: KubeObject): ServerModel | undefined {
    return this.model.serverOf(obj);
  }

  /** How a Server claims pod ports (the model's precedence: oldest first, then name). */
  claims(server: KubeObject): ServerClaims {
    const sm = this.server(server);
    return sm ? this.model.claims(sm) : NO_CLAIMS;
  }

  /** The view of one of this context's pods (from {@linkcode claims}). */
  view(pod: Pod): PodView {
    if (!this.#views) this.#buildPods();
    return this.#views!.get(pod)!;
  }

  /** The Server that wins `port` on the pod, if any. */
  serverFor(pv: PodView, port: number): KubeObject | undefined {
    return this.model.serverFor(pv.pod, port)?.obj;
  }

  /** Server-level authorizations in force (ServerAuthorizations, APs on the Server or its Namespace, accessPolicy). */
  serverAuthz(server: KubeObject): Authz[] {
    const sm = this.server(server);
    return sm ? this.model.serverAuthz(sm) : [];
  }

  /** Routes the controller uses for a Server (attached, accepted, not conflicted). */
  routesOf(server: KubeObject): { http: RouteModel[]; grpc: RouteModel[] } {
    let hit = this.#routes.get(server);
    if (hit) return hit;
    const sm = this.server(server);
    const all = sm ? this.model.routesOf(sm) : [];
    hit = {
      http: all.filter((r) => r.kind === "HTTPRoute"),
      grpc: all.filter((r) => r.kind === "GRPCRoute"),
    };
    this.#routes.set(server, hit);
    return hit;
  }

  /** Routes that name the Server in an accepted parentRef (before GRPCRoute conflicts). */
  routesNaming(server: KubeObject): { http: RouteModel[]; grpc: RouteModel[] } {
    if (!this.#naming) {
      this.#naming = new Map();
      for (const r of this.model.routes) {
        if (r.ignored.length) continue;
        for (const p of new Set(r.parents.filter((x) => x.accepted).map((x) => x.server))) {
          if (p === undefined) continue;
          const key = `${r.namespace}/${p}`;
          const list = this.#naming.get(key);
          if (list) list.push(r);
          else this.#naming.set(key, [r]);
        }
      }
    }
    const all = this.#naming.get(`${server.metadata.namespace ?? ""}/${server.metadata.name}`) ??
      [];
    return {
      http: all.filter((r) => r.kind === "HTTPRoute"),
      grpc: all.filter((r) => r.kind === "GRPCRoute"),
    };
  }

  #buildPods(): void {
    const all: PodView[] = [];
    const byNs = new Map<string, PodView[]>();
    const views = new Map<Pod, PodView>();
    const withPods = new Set<KubeObject>();
    const owners = new Map<string, KubeObject | undefined>();
    for (const pod of this.items("pods") as readonly Pod[]) {
      const owner = this.#ownerOf(pod, owners);
      withPods.add(owner);
      if (!isTerminated(pod)) all.push(this.#view(pod, owner));
    }
    // Workloads without pods of their own stand in with one pod, injected as the
    // injector would inject it (the namespace's other pods do not matter).
    const workloads = WORKLOAD_KEYS.flatMap((k) => this.items(k)).filter((w) =>
      !withPods.has(w) && !isControlledWorkload(w)
    );
    if (workloads.length) {
      const objects = [...workloads, ...this.items("namespaces"), ...this.items("configmaps")];
      const injector = injectorConfigFromObjects(objects, this.state.linkerdNamespace);
      for (
        const { workload, pod } of synthesizeWorkloadPods(objects, { injector, maxReplicas: 1 })
      ) {
        all.push(this.#view(pod as unknown as Pod, workload));
        this.#synthesised = true;
      }
    }
    for (const pv of all) {
      views.set(pv.pod, pv);
      const ns = pv.pod.metadata.namespace ?? "";
      const list = byNs.get(ns);
      if (list) list.push(pv);
      else byNs.set(ns, [pv]);
    }
    this.#pods = all;
    this.#podsByNs = byNs;
    this.#views = views;
  }

  #ownerOf(pod: Pod, memo: Map<string, KubeObject | undefined>): KubeObject {
    const ns = pod.metadata.namespace;
    const find = (kind: string, name: string) =>
      isWorkloadKind(kind) ? this.find(WORKLOAD_RESOURCE_KEYS[kind], ns, name) : undefined;
    // Pods of one ReplicaSet or Job that the view holds share their owner: resolve it once.
    const ref = controllerOf(pod.metadata.ownerReferences);
    const key = ref && find(ref.kind, ref.name) ? `${ns}/${ref.kind}/${ref.name}` : undefined;
    if (key && memo.has(key)) return memo.get(key) ?? pod as KubeObject;
    const w = ownerWorkloadOf(pod, (kind, _ns, name) => find(kind, name));
    const owner = find(w.kind, w.name);
    if (key) memo.set(key, owner);
    return owner ?? pod as KubeObject;
  }

  #view(pod: Pod, report: KubeObject): PodView {
    return new View(pod, report, this);
  }
}

/** A pod view whose port facts come from the model, read on first use. */
class View implements PodView {
  readonly meshed: boolean;
  readonly annotations: Record<string, string>;
  readonly grpcProbePorts: number[] = [];
  readonly queryProbes: HttpProbe[] = [];
  #ctx: ValidationContext;
  #ports?: PodPorts;
  #probes?: HttpProbe[];
  #https?: Set<number | string>;

  constructor(readonly pod: Pod, readonly report: KubeObject, ctx: ValidationContext) {
    this.#ctx = ctx;
    this.meshed = isMeshed(pod);
    this.annotations = pod.metadata.annotations ?? {};
    for (const c of pod.spec?.containers ?? []) this.#probesOf(c);
    for (const c of pod.spec?.initContainers ?? []) this.#probesOf(c);
  }

  #probesOf(c: ContainerSpec): void {
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      if (!probe) continue;
      if (typeof probe.grpc?.port === "number") this.grpcProbePorts.push(probe.grpc.port);
      const get = probe.httpGet;
      if (!get) continue;
      const port = typeof get.port === "number" ? get.port : containerPortOf(c, get.port);
      // HTTPS probes reach the proxy as TLS it does not terminate: no probe route applies.
      if ((get.scheme ?? "HTTP").toUpperCase() !== "HTTP") (this.#https ??= new Set()).add(port);
      else if (get.path?.includes("?") && typeof port === "number") {
        this.queryProbes.push({ port, path: get.path });
      }
    }
  }

  get ports(): PodPorts {
    return this.#ports ??= this.#ctx.model.podPorts(this.pod);
  }

  get httpProbes(): HttpProbe[] {
    if (!this.#probes) {
      this.#probes = [];
      for (const [port, paths] of this.ports.probes) {
        if (this.#https?.has(port)) continue;
        for (const path of paths) this.#probes.push({ port, path });
      }
    }
    return this.#probes;
  }

  get opaquePorts(): PortSet {
    return this.ports.opaque;
  }

  get skipInboundPorts(): PortSet {
    return this.ports.skipInbound;
  }
}

function containerPortOf(
  c: { ports?: Array<{ name?: string; containerPort: number }> },
  name: string,
) {
  return c.ports?.find((p) => p.name === name)?.containerPort ?? name;
}
