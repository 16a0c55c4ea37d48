/**
 * Builds the policy model once per cluster-state snapshot: Servers in precedence order,
 * their pod-port claims, resolved policies and routes, and what the controller serves
 * for each (pod, port). Memoised on the state's identity.
 *
 * @module
 */
import { type ClusterState, itemsOf } from "../../kube/state.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { MeshConfig } from "../../mesh/config.ts";
import { isMeshed, isTerminated, type Pod } from "../../mesh/pods.ts";
import { clusterNetworkMatches, defaultAuthzs } from "../authz.ts";
import { inPortSet } from "../ports.ts";
import type { DefaultPolicy } from "../../config.ts";
import type { Authz, InboundRoute, InboundServer } from "../types.ts";
import { compileLinkerdSelector, matchesLinkerdSelector } from "./labels.ts";
import {
  type AuthnObjects,
  resolveAuthorizationPolicy,
  resolveServerAuthorization,
} from "./policies.ts";
import { isInboundRouteGroup, markUnreachable, parseRoute } from "./routes.ts";
import {
  byCreation,
  isDefaultPolicy,
  parseServer,
  readPodPorts,
  REQUIRE_IDENTITY_ANNOTATION,
  SKIP_INBOUND_ANNOTATION,
} from "./servers.ts";
import type {
  PodPorts,
  PolicyEntry,
  PolicyModel,
  RouteModel,
  ServerClaims,
  ServerModel,
} from "./types.ts";
import { detectVersion, featuresOf } from "./version.ts";

/** Options for {@linkcode policyModel}. */
export interface PolicyModelOptions {
  mesh: MeshConfig;
  /** Pods to model (e.g. pods synthesised from workload templates); default: the state's running pods. */
  pods?: readonly Pod[];
}

const NONE: readonly number[] = Object.freeze([]);
// shared and frozen: a caller that mutated an answer would throw, not corrupt the memo
const NO_PATHS = Object.freeze([]) as unknown as string[];
const NO_NAMES = Object.freeze([]) as unknown as string[];

const memo = new WeakMap<ClusterState, Array<{ opts: PolicyModelOptions; model: PolicyModel }>>();

/** Models kept per state (distinct mesh settings or pod lists); the oldest goes first. */
const MAX_MODELS_PER_STATE = 4;

/**
 * The model of `state`, built once per (state identity, mesh settings, pods identity). The
 * mesh settings compare by value: `readMeshConfig` returns a new object on every call.
 */
export function policyModel(state: ClusterState, opts: PolicyModelOptions): PolicyModel {
  let list = memo.get(state);
  if (!list) memo.set(state, list = []);
  const hit = list.find((e) => sameMesh(e.opts.mesh, opts.mesh) && e.opts.pods === opts.pods);
  if (hit) return hit.model;
  const model = buildPolicyModel(state, opts);
  list.push({ opts: { mesh: opts.mesh, ...(opts.pods ? { pods: opts.pods } : {}) }, model });
  if (list.length > MAX_MODELS_PER_STATE) list.shift();
  return model;
}

function sameMesh(a: PolicyModelOptions["mesh"], b: PolicyModelOptions["mesh"]): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const byKey = (objs: readonly KubeObject[]) =>
  new Map(objs.map((o) => [`${o.metadata.namespace ?? ""}/${o.metadata.name}`, o]));

/** Builds the model (not memoised). */
export function buildPolicyModel(state: ClusterState, opts: PolicyModelOptions): PolicyModel {
  const mesh = opts.mesh;
  const version = detectVersion(state, mesh);
  const features = featuresOf(version);
  const clusterNetworks = clusterNetworkMatches(mesh);
  const pods = opts.pods ??
    (itemsOf(state, "pods") as readonly Pod[]).filter((p) => !isTerminated(p));
  const podsByNs = new Map<string, Pod[]>();
  for (const p of pods) push(podsByNs, p.metadata.namespace ?? "", p);

  // Servers, in precedence order per namespace
  const serversByNs = new Map<string, ServerModel[]>();
  const serverByObj = new Map<KubeObject, ServerModel>();
  const serverByName = new Map<string, ServerModel>();
  for (const obj of [...itemsOf(state, "servers")].sort(byCreation)) {
    const s = parseServer(obj, features);
    const list = serversByNs.get(s.namespace) ?? [];
    s.order = list.length;
    list.push(s);
    serversByNs.set(s.namespace, list);
    serverByObj.set(obj, s);
    serverByName.set(`${s.namespace}/${s.name}`, s);
  }
  const servers = [...serversByNs.values()].flat();
  const selects = new Map(servers.map((s) => [s, compileLinkerdSelector(s.selector)]));

  // policies
  const notes = new Map<string, string[]>();
  const authn: AuthnObjects = {
    meshTls: byKey(itemsOf(state, "meshtlsauthentications")),
    network: byKey(itemsOf(state, "networkauthentications")),
    parsed: new Map(),
  };
  const policies: PolicyEntry[] = [];
  const serverAuthz = new Map<string, Authz[]>();
  const selectorSaz = new Map<string, PolicyEntry[]>();
  const namespaceAuthz = new Map<string, Authz[]>();
  const routeAuthz = new Map<string, Authz[]>();
  for (const saz of itemsOf(state, "serverauthorizations")) {
    const e = resolveServerAuthorization(saz, { mesh, clusterNetworks });
    policies.push(e);
    if (!e.authz) {
      e.ignored.forEach((p) => push(notes, e.namespace, p.message));
      continue;
    }
    if (e.target!.kind === "Server") push(serverAuthz, `${e.namespace}/${e.target!.name}`, e.authz);
    else push(selectorSaz, e.namespace, e);
  }
  for (const ap of itemsOf(state, "authorizationpolicies")) {
    const e = resolveAuthorizationPolicy(ap, { mesh, authn });
    policies.push(e);
    if (!e.authz || !e.target) {
      const key = e.target?.kind === "Server" ? `${e.namespace}/${e.target.name}` : undefined;
      for (const p of e.ignored) {
        if (key) push(notes, `server:${key}`, p.message);
        else push(notes, e.namespace, p.message);
      }
      continue;
    }
    const t = e.target;
    if (t.kind === "Server") push(serverAuthz, `${e.namespace}/${t.name}`, e.authz);
    else if (t.kind === "Namespace") push(namespaceAuthz, e.namespace, e.authz);
    else push(routeAuthz, routeKey(e.namespace, t.group, t.kind, t.name), e.authz);
  }
  const policyByObj = new Map(policies.map((p) => [p.obj, p]));

  // routes
  const routes: RouteModel[] = [];
  const routeSources: KubeObject[] = [
    ...itemsOf(state, "httproutes"),
    ...itemsOf(state, "gatewayhttproutes"),
    ...itemsOf(state, "grpcroutes"),
  ].sort(byCreation);
  const routesByServer = new Map<string, RouteModel[]>();
  for (const obj of routeSources) {
    const r = parseRoute(obj);
    if (!isInboundRouteGroup(r.kind, r.group)) continue;
    r.order = routes.length;
    r.authorizations = routeAuthz.get(routeKey(r.namespace, r.group, r.kind, r.name)) ?? [];
    routes.push(r);
    for (const p of r.parents) {
      if (!p.server) continue;
      const key = `${r.namespace}/${p.server}`;
      if (!serverByName.has(key)) continue;
      if (r.ignored.length) {
        r.ignored.forEach((x) => push(notes, `server:${key}`, x.message));
        continue;
      }
      if (!p.accepted) {
        if (p.problem) push(notes, `server:${key}`, p.problem.message);
        continue;
      }
      if (r.kind === "GRPCRoute" && !features.grpcRoutes) {
        push(
          notes,
          `server:${key}`,
          `GRPCRoute "${r.name}" needs Linkerd 2.16 or later for inbound policy: it is not used`,
        );
        continue;
      }
      const list = routesByServer.get(key) ?? [];
      if (!list.includes(r)) list.push(r);
      routesByServer.set(key, list);
    }
  }
  const routeByObj = new Map(routes.map((r) => [r.obj, r]));
  for (const [key, list] of routesByServer) {
    // GEP-1426: HTTPRoutes on a Server that also has a GRPCRoute are conflicted
    if (list.some((r) => r.kind === "GRPCRoute")) {
      for (const r of list.filter((x) => x.kind === "HTTPRoute")) {
        push(
          notes,
          `server:${key}`,
          `HTTPRoute "${r.name}" is not accepted: a GRPCRoute is attached to the same Server (RouteReasonConflicted)`,
        );
      }
      routesByServer.set(key, list.filter((r) => r.kind === "GRPCRoute"));
    }
    markUnreachable(routesByServer.get(key)!);
    for (const r of routesByServer.get(key)!) {
      for (const u of r.unreachable) {
        const n = notes.get(`server:${key}`) ?? [];
        if (!n.includes(u.message)) push(notes, `server:${key}`, u.message);
      }
    }
  }

  // per-pod memos
  // plain Maps, not WeakMaps: the model holds its pods anyway, and ephemeron tables
  // with 10k keys make the collector work hard
  const portsMemo = new Map<Pod, PodPorts>();
  const selectedMemo = new Map<Pod, ServerModel[]>();
  // one port per pod is the common case: the answer itself, a Map once a second port is asked
  const inboundMemo = new Map<Pod, InboundServer | Map<number, InboundServer>>();
  const claimsMemo = new Map<ServerModel, ServerClaims>();
  const serverAuthzMemo = new Map<ServerModel, Authz[]>();

  const podPorts = (pod: Pod): PodPorts => {
    let hit = portsMemo.get(pod);
    if (!hit) portsMemo.set(pod, hit = readPodPorts(pod, mesh.defaultInboundPolicy, features));
    return hit;
  };
  const portsOf = (s: ServerModel, pod: Pod): readonly number[] =>
    typeof s.port === "number"
      ? (s.port > 0 ? [s.port] : NONE)
      : podPorts(pod).byName.get(s.port) ?? NONE;
  const claimsPort = (s: ServerModel, pod: Pod, port: number): boolean =>
    typeof s.port === "number"
      ? s.port === port
      : podPorts(pod).byName.get(s.port)?.includes(port) ?? false;
  /** The Servers whose podSelector selects the pod, in precedence order. */
  const selectedBy = (pod: Pod): ServerModel[] => {
    let hit = selectedMemo.get(pod);
    if (hit) return hit;
    hit = [];
    for (const s of serversByNs.get(pod.metadata.namespace ?? "") ?? []) {
      if (s.selectsPods && selects.get(s)!(pod.metadata.labels)) hit.push(s);
    }
    selectedMemo.set(pod, hit);
    return hit;
  };
  /** Every Server claiming (pod, port), winner first. */
  const serversFor = (pod: Pod, port: number): ServerModel[] => {
    const selected = selectedBy(pod);
    return selected.length ? selected.filter((s) => claimsPort(s, pod, port)) : [];
  };

  const serverAuthzOf = (s: ServerModel): Authz[] => {
    let hit = serverAuthzMemo.get(s);
    if (hit) return hit;
    hit = [...(serverAuthz.get(`${s.namespace}/${s.name}`) ?? [])];
    for (const e of selectorSaz.get(s.namespace) ?? []) {
      const sel = ((e.obj.spec ?? {})["server"] as { selector?: never } | undefined)?.selector;
      if (matchesLinkerdSelector(sel, s.obj.metadata.labels)) hit.push(e.authz!);
    }
    hit.push(...(namespaceAuthz.get(s.namespace) ?? []));
    if (s.accessPolicy !== "deny" && isDefaultPolicy(s.accessPolicy, features)) {
      hit.push(...defaultAuthzs(s.accessPolicy, { namespace: s.namespace, clusterNetworks }));
    }
    serverAuthzMemo.set(s, hit);
    return hit;
  };

  const toInboundRoute = (r: RouteModel): InboundRoute => ({
    kind: r.kind,
    group: r.group,
    name: r.name,
    matches: r.matches,
    authorizations: r.authorizations,
    ...(r.obj.metadata.creationTimestamp
      ? { creationTimestamp: r.obj.metadata.creationTimestamp }
      : {}),
  });

  /** The parts of a Server's inbound view that do not depend on the pod. */
  const serverViewMemo = new Map<ServerModel, { routes: InboundRoute[]; notes: string[] }>();
  const serverView = (server: ServerModel) => {
    let hit = serverViewMemo.get(server);
    if (hit) return hit;
    const key = `${server.namespace}/${server.name}`;
    const { protocol } = server;
    const attached = routesByServer.get(key) ?? [];
    const http = attached.filter((r) => r.kind === "HTTPRoute");
    const routes = protocol === "grpc"
      ? attached.filter((r) => r.kind === "GRPCRoute")
      : protocol === "opaque" || protocol === "tls"
      ? []
      : http;
    const serverNotes = [
      ...(notes.get(server.namespace) ?? []),
      ...(notes.get(`server:${key}`) ?? []),
    ];
    // a route whose every match loses to an older identical one is never selected
    const selectable = routes.filter((r) => {
      const total = r.rules.reduce((n, rule) => n + rule.matches.length, 0);
      if (total === 0 || r.unreachable.length < total) return true;
      serverNotes.push(
        `${r.kind} "${r.name}" is never selected: every match is also in an older route (${
          [...new Set(r.unreachable.map((u) => u.by))].join(", ")
        }), so its authorizations never apply`,
      );
      return false;
    });
    serverNotes.push(...server.problems.map((p) => p.message));
    if ((protocol === "opaque" || protocol === "tls") && http.length) {
      serverNotes.push(
        `Server "${server.name}" is ${server.proxyProtocol}: its HTTPRoutes and their authorizations do not apply`,
      );
    }
    hit = { routes: selectable.map(toInboundRoute), notes: serverNotes };
    serverViewMemo.set(server, hit);
    return hit;
  };
  const defaultAuthzMemo = new Map<string, Authz[]>();
  const defaultAuthzsOf = (policy: DefaultPolicy, ns: string): Authz[] => {
    const key = `${policy}|${ns}`;
    let hit = defaultAuthzMemo.get(key);
    if (!hit) {
      defaultAuthzMemo.set(key, hit = defaultAuthzs(policy, { namespace: ns, clusterNetworks }));
    }
    return hit;
  };

  const computeInbound = (pod: Pod, port: number, served = false): InboundServer => {
    const ns = pod.metadata.namespace ?? "";
    const pp = podPorts(pod);
    const base = { port, authorizations: [], routes: [], probePaths: [], shadowed: [], notes: [] };
    const all = serversFor(pod, port);
    if (!served && !isMeshed(pod)) {
      const unenforced = all.map((s) =>
        `Server "${s.name}" selects this port, but pod "${pod.metadata.name}" has no Linkerd proxy, so its policy is not enforced: inject the workload (linkerd.io/inject: enabled) and restart it`
      );
      return { ...base, kind: "unmeshed", name: "no proxy", protocol: "opaque", notes: unenforced };
    }
    if (!served && inPortSet(pp.skipInbound, port)) {
      return { ...base, kind: "skipped", name: SKIP_INBOUND_ANNOTATION, protocol: "opaque" };
    }
    const probes = features.probeRoutes ? pp.probes.get(port) ?? NO_PATHS : NO_PATHS;
    const server = all[0];
    if (server) {
      const view = serverView(server);
      const { protocol } = server;
      const httpLike = protocol !== "grpc" && protocol !== "opaque" && protocol !== "tls";
      let serverNotes = view.notes;
      if (view.routes.length && probes.length && protocol !== "opaque" && protocol !== "tls") {
        serverNotes = [
          ...serverNotes,
          `kubelet probes on port ${port} (GET ${
            probes.join(", ")
          }) are not covered by the automatic probe route once routes are attached to Server "${server.name}": authorize them with a route and policy, or they get 403/404 (linkerd2#8945)`,
        ];
      }
      return {
        kind: "server",
        name: server.name,
        port,
        protocol,
        authorizations: serverAuthzOf(server),
        routes: view.routes,
        probePaths: view.routes.length === 0 && httpLike ? probes : NO_PATHS,
        shadowed: all.length > 1 ? all.slice(1).map((s) => s.name) : NO_NAMES,
        notes: serverNotes,
      };
    }
    let policy = pp.defaultPolicy;
    const extra: string[] = [];
    if (pp.defaultPolicyAnnotation && !pp.defaultPolicyAnnotation.valid) {
      extra.push(
        `pod annotation config.linkerd.io/default-inbound-policy "${pp.defaultPolicyAnnotation.value}" is not valid for this control plane; the cluster default "${policy}" applies`,
      );
    }
    if (inPortSet(pp.requireIdentity, port)) {
      if (policy === "all-unauthenticated") policy = "all-authenticated";
      if (policy === "cluster-unauthenticated") policy = "cluster-authenticated";
      extra.push(
        `Port ${port} is in ${REQUIRE_IDENTITY_ANNOTATION}: only meshed clients are allowed`,
      );
    }
    const opaque = inPortSet(pp.opaque, port);
    return {
      kind: "default",
      name: policy,
      port,
      protocol: opaque ? "opaque" : "detect",
      authorizations: defaultAuthzsOf(policy, ns),
      routes: [],
      probePaths: opaque ? [] : probes,
      shadowed: [],
      notes: extra,
      defaultPolicy: policy,
    };
  };

  const model: PolicyModel = {
    state,
    mesh,
    clusterNetworks,
    version,
    features,
    pods,
    podsIn: (ns) => podsByNs.get(ns) ?? [],
    servers,
    serversIn: (ns) => serversByNs.get(ns) ?? [],
    server: (ns, name) => serverByName.get(`${ns}/${name}`),
    serverOf: (obj) => serverByObj.get(obj),
    claims(server) {
      let hit = claimsMemo.get(server);
      if (hit) return hit;
      hit = { selected: [], resolved: [], claimed: [], shadowed: [] };
      for (const pod of podsByNs.get(server.namespace) ?? []) {
        if (!selectedBy(pod).includes(server)) continue;
        hit.selected.push(pod);
        const ports = portsOf(server, pod);
        if (ports.length) hit.resolved.push(pod);
        for (const port of ports) {
          const winner = serversFor(pod, port)[0]!;
          if (winner === server) hit.claimed.push({ pod, port });
          else hit.shadowed.push({ pod, port, winner });
        }
      }
      claimsMemo.set(server, hit);
      return hit;
    },
    serversFor,
    serverFor: (pod, port) => serversFor(pod, port)[0],
    podPorts,
    inbound(pod, port) {
      const m = inboundMemo.get(pod);
      if (m === undefined) {
        const s = computeInbound(pod, port);
        inboundMemo.set(pod, s);
        return s;
      }
      if (!(m instanceof Map)) {
        if (m.port === port) return m;
        const s = computeInbound(pod, port);
        inboundMemo.set(pod, new Map([[m.port, m], [port, s]]));
        return s;
      }
      let hit = m.get(port);
      if (!hit) m.set(port, hit = computeInbound(pod, port));
      return hit;
    },
    served: (pod, port) => computeInbound(pod, port, true),
    policies,
    policyOf: (obj) => policyByObj.get(obj),
    routes,
    routeOf: (obj) => routeByObj.get(obj),
    routesOf: (s) => routesByServer.get(`${s.namespace}/${s.name}`) ?? [],
    serverAuthz: serverAuthzOf,
    notesIn: (ns) => notes.get(ns) ?? [],
    clearMemos() {
      portsMemo.clear();
      selectedMemo.clear();
      inboundMemo.clear();
      claimsMemo.clear();
    },
  };
  return model;
}

function routeKey(ns: string, group: string, kind: string, name: string): string {
  return `${ns}/${group.toLowerCase()}/${kind.toLowerCase()}/${name.toLowerCase()}`;
}
