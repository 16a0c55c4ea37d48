/**
 * Least-privilege policy from observed traffic plus the current state.
 *
 * For each meshed workload of the namespace (or of one Service) and each port that
 * received traffic in the window:
 * - the Server in force is reused; otherwise a new Server selects exactly that
 *   workload's pods on that port (`accessPolicy` as asked: `audit` first, then `deny`);
 * - the observed client identities that no real authorization admits yet get one
 *   MeshTLSAuthentication per distinct set of identities and one AuthorizationPolicy per
 *   Server (or per attached HTTPRoute, when the traffic came on one: narrower);
 * - unauthenticated clients are reported, never authorized: the narrowest
 *   NetworkAuthentication known from metrics is offered apart, with what it opens;
 * - kubelet probes keep the automatic probe route (no route is created), and when the
 *   viz Prometheus could no longer scrape the proxies' admin port (4191), a `linkerd-admin`
 *   Server and an AuthorizationPolicy for Prometheus are added, as `linkerd viz
 *   allow-scrapes` does.
 *
 * The self-check applies the objects to the state and asks the policy model, as
 * enforced (an allowance by `audit` counts as a denial): every observed meshed flow is
 * allowed, every unobserved Service-to-Service pair on the governed ports is denied, and
 * no probe or scrape that worked before is broken.
 *
 * Pure: takes the model and the parsed flows.
 *
 * @module
 */
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import { serviceSelects } from "../kube/selectors.ts";
import { itemsOf } from "../kube/state.ts";
import type { KubeObject } from "../kube/types.ts";
import { serviceAccountIdentity } from "../mesh/config.ts";
import { type Pod, podIPs, type Service, serviceAccountOf } from "../mesh/pods.ts";
import { podIsMeshed } from "../policy/clients.ts";
import { evaluateAuthzs } from "../policy/evaluate.ts";
import { policyModel } from "../policy/model/build.ts";
import { POLICY_GROUP } from "../policy/model/policies.ts";
import type { PolicyModel } from "../policy/model/types.ts";
import { inPortSet } from "../policy/ports.ts";
import type { Client, InboundServer } from "../policy/types.ts";
import type { TargetView } from "./audit.ts";
import {
  appliable,
  authorizationDoc,
  dnsLabel,
  type Doc,
  meshTlsDoc,
  networkDoc,
  renderYaml,
  serverDoc,
  serviceAccountAuthorizationDoc,
} from "./objects.ts";
import { type ObservedFlow, type OutboundEdge, parseIdentity } from "./observe.ts";
import {
  clientOf,
  type ClientView,
  podWorkload,
  targetOf,
  verdictOf,
  withObjects,
} from "./resolve.ts";
import { selectorFor, servicesOf } from "./scope.ts";

/** The proxy's admin port (metrics, probes), scraped by viz's Prometheus. */
export const ADMIN_PORT = 4191;

/** Options of {@linkcode generatePolicy}. */
export interface GenerateOptions {
  namespace: string;
  targetService?: string;
  accessPolicy: "audit" | "deny";
  windowSeconds: number;
}

/** One generated, updated or reused object. */
export interface ResourceEntry {
  kind: string;
  name: string;
  namespace: string;
  /** `create` / `update` (in the YAML), `reuse` (exists, not in the YAML). */
  action: "create" | "update" | "reuse";
  why: string;
}

/** One observed flow and what authorizes it under the generated policy. */
export interface FlowEntry {
  client: ClientView;
  target: TargetView;
  protocol: "http" | "tcp";
  requestRate?: number;
  connections?: number;
  /**
   * - `authorized`: by a generated object;
   * - `already-authorized`: by an existing AuthorizationPolicy or ServerAuthorization;
   * - `probe`: a kubelet probe, kept by the automatic probe route;
   * - `not-authorized`: an unauthenticated client, reported and left denied.
   */
  status: "authorized" | "already-authorized" | "probe" | "not-authorized";
  /** The resource that authorizes it (`AuthorizationPolicy/front-8080-clients`). */
  authorizedBy?: string;
}

/** An unauthenticated client seen in the window, with the narrowest opening offered. */
export interface UnmeshedClient {
  target: TargetView;
  protocol: "http" | "tcp";
  requestRate?: number;
  connections?: number;
  /** What the suggestion would open, in words. */
  opens: string;
  /** YAML not included in `yaml`: apply only if you accept what it opens. */
  suggestion: string;
}

/** One failed self-check. */
export interface CheckFailure {
  check: "observed-flow" | "unobserved-pair" | "probe" | "scrape";
  message: string;
}

/** The model's check of the generated policy. */
export interface SelfCheck {
  passed: boolean;
  method: string;
  checked: { observedFlows: number; unobservedPairs: number; probes: number; scrapes: number };
  failures: CheckFailure[];
}

/** What {@linkcode generatePolicy} returns. */
export interface GeneratedPolicy {
  namespace: string;
  accessPolicy: "audit" | "deny";
  yaml: string;
  docs: Doc[];
  resources: ResourceEntry[];
  flows: FlowEntry[];
  unmeshedClients: UnmeshedClient[];
  selfCheck: SelfCheck;
  notes: string[];
}

/** Where a flow lands: a workload's port. */
interface Group {
  key: string;
  workload: string;
  pods: Pod[];
  port: number;
  /** The Server in force before (kind server), or undefined for a default-policy port. */
  existing?: InboundServer;
  serverName: string;
  protocols: Set<"http" | "tcp">;
  /** Route target key (`kind/name`, or "" for the Server) → identities to admit there. */
  needs: Map<string, { ref: { group: string; kind: string; name: string }; ids: Set<string> }>;
  /** Every identity observed on the port. */
  observed: Set<string>;
}

interface Resolved {
  flow: ObservedFlow;
  pod: Pod;
  port: number;
  client: Client;
  view: ClientView;
  group: Group;
  kind: "need" | "existing" | "probe" | "unmeshed";
}

const rate = (count: number, w: number) => Number((count / w).toPrecision(6));

function counts(f: ObservedFlow, w: number) {
  return f.protocol === "http"
    ? { requestRate: rate(f.count, w) }
    : { connections: Number(f.count.toPrecision(6)) };
}

function isProbe(f: ObservedFlow): boolean {
  return f.protocol === "http" && !f.clientId &&
    (f.authz?.name === "probe" ||
      (f.route?.name === "probe" && (f.route.kind === "default" || f.route.kind === "")));
}

/** The scope's meshed pods (all of the namespace, or those a Service selects). */
function scopePods(model: PolicyModel, opts: GenerateOptions): { pods: Pod[]; unmeshed: Pod[] } {
  let pods = [...model.podsIn(opts.namespace)];
  if (opts.targetService !== undefined) {
    const svc = (itemsOf(model.state, "services", opts.namespace) as readonly Service[]).find((s) =>
      s.metadata.name === opts.targetService
    );
    if (!svc) {
      throw new NotFoundError(
        `Service "${opts.namespace}/${opts.targetService}" does not exist; list the namespace's Services with list_meshed_services, or omit target_service`,
      );
    }
    pods = pods.filter((p) => serviceSelects(svc.spec?.selector, p.metadata.labels));
  }
  return { pods: pods.filter(podIsMeshed), unmeshed: pods.filter((p) => !podIsMeshed(p)) };
}

function uniqueName(taken: Set<string>, base: string): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = dnsLabel(base, String(i));
  taken.add(name);
  return name;
}

function targetView(model: PolicyModel, r: Resolved, after?: InboundServer): TargetView {
  const services = servicesOf(model, r.pod, r.port);
  const inbound = after ?? r.group.existing;
  return {
    namespace: r.pod.metadata.namespace ?? "",
    ...(services.length ? { service: services.join(", ") } : {}),
    workload: r.group.workload,
    port: r.port,
    server: inbound && inbound.kind === "server" ? inbound.name : r.group.serverName,
    ...(r.flow.route && r.flow.route.kind.toLowerCase() !== "default"
      ? { route: `${r.flow.route.kind}/${r.flow.route.name}` }
      : {}),
  };
}

const PATH_MATCH = /^(?:([A-Z]+) )?(Exact|PathPrefix|RegularExpression) (\S+)/;

/** True when one of a route's match lines covers `GET path`. */
function routeCovers(matches: readonly string[], path: string): boolean {
  return matches.some((m) => {
    if (m === "any request") return true;
    const p = PATH_MATCH.exec(m);
    if (!p) return /^GET$/.test(m);
    if (p[1] && p[1] !== "GET") return false;
    const v = p[3]!;
    if (p[2] === "Exact") return path === v;
    if (p[2] === "PathPrefix") {
      return v === "/" || path === v || path.startsWith(v.endsWith("/") ? v : `${v}/`);
    }
    try {
      return new RegExp(`^(?:${v})$`).test(path);
    } catch {
      return false;
    }
  });
}

const KUBELET: Client = { pods: [], namespace: "", serviceAccount: "", meshed: false, ips: [] };

/** Whether a kubelet probe `GET path` on the port is allowed (not by audit). */
function probeOk(model: PolicyModel, pod: Pod, port: number, path: string): boolean {
  const inbound = model.inbound(pod, port);
  if (inbound.kind === "unmeshed" || inbound.kind === "skipped") return true;
  if (inbound.routes.length === 0) {
    if (inbound.probePaths.includes(path)) return true;
    return evaluateAuthzs(inbound.authorizations, KUBELET, {
      clusterNetworks: model.clusterNetworks,
    }).decision === "allowed";
  }
  return inbound.routes.some((r) =>
    routeCovers(r.matches, path) &&
    evaluateAuthzs([...r.authorizations, ...inbound.authorizations], KUBELET, {
        clusterNetworks: model.clusterNetworks,
      }).decision === "allowed"
  );
}

/** The viz Prometheus as a client (meshed pods with ServiceAccount `prometheus` in viz's namespace). */
function vizPrometheus(model: PolicyModel): { client: Client; namespace: string } | undefined {
  const pods = model.pods.filter((p) =>
    podIsMeshed(p) && serviceAccountOf(p) === "prometheus" &&
    (p.metadata.labels?.["linkerd.io/extension"] === "viz" ||
      p.metadata.namespace === "linkerd-viz")
  );
  const p = pods[0];
  if (!p) return undefined;
  const ns = p.metadata.namespace ?? "";
  return {
    namespace: ns,
    client: {
      pods: [`${ns}/${p.metadata.name}`],
      namespace: ns,
      serviceAccount: "prometheus",
      meshed: true,
      identity: serviceAccountIdentity("prometheus", ns, model.mesh),
      ips: podIPs(p),
    },
  };
}

function scrapeOk(model: PolicyModel, pod: Pod, prom: Client): boolean {
  const inbound = model.inbound(pod, ADMIN_PORT);
  if (inbound.kind === "unmeshed" || inbound.kind === "skipped") return true;
  const authzs = inbound.routes.length
    ? [...inbound.routes.flatMap((r) => r.authorizations), ...inbound.authorizations]
    : inbound.authorizations;
  return evaluateAuthzs(authzs, prom, { clusterNetworks: model.clusterNetworks }).decision ===
    "allowed";
}

/** Generates the policy and checks it with the model. */
export function generatePolicy(
  model: PolicyModel,
  inputs: { flows: readonly ObservedFlow[]; edges: readonly OutboundEdge[] },
  opts: GenerateOptions,
): GeneratedPolicy {
  const ns = opts.namespace;
  if (ns === model.mesh.controlPlaneNamespace) {
    throw new InvalidArgumentError(
      `Namespace "${ns}" is Linkerd's control plane: its components need calls from the Kubernetes API server and from every proxy that least-privilege policy from traffic would cut; keep the policy Linkerd's chart ships and generate for application namespaces`,
    );
  }
  const notes: string[] = [];
  const mesh = model.mesh;
  const { pods: inScope, unmeshed: unmeshedTargets } = scopePods(model, opts);
  const scopeNames = new Set(inScope.map((p) => p.metadata.name));
  if (unmeshedTargets.length) {
    notes.push(
      `${unmeshedTargets.length} pod(s) in scope have no Linkerd proxy (${
        [...new Set(unmeshedTargets.map(podWorkload))].join(", ")
      }): no policy can be enforced on them until they are meshed`,
    );
  }
  const useAccessPolicy = model.features.accessPolicy;
  if (!useAccessPolicy) {
    notes.push(
      `${model.version.text}: Server accessPolicy (audit mode) needs Linkerd 2.16+; the Servers are generated without it, so they deny what they do not authorize as soon as they are applied`,
    );
  }

  // ---- resolve every observed flow on the scope's pods
  const httpKeys = new Set(
    inputs.flows.filter((f) => f.protocol === "http").map((f) =>
      `${f.clientId ?? "-"}|${f.pod ?? ""}|${f.port ?? ""}`
    ),
  );
  const taken = new Set(
    [
      ...itemsOf(model.state, "servers", ns),
      ...itemsOf(model.state, "authorizationpolicies", ns),
      ...itemsOf(model.state, "meshtlsauthentications", ns),
      ...itemsOf(model.state, "networkauthentications", ns),
    ].map((o) => `${o.kind}/${o.metadata.name}`),
  );
  const takenOf = (kind: string) =>
    new Set(
      [...taken].filter((k) => k.startsWith(`${kind}/`)).map((k) => k.slice(kind.length + 1)),
    );
  const serverNames = takenOf("Server");
  const groups = new Map<string, Group>();
  const resolved: Resolved[] = [];
  let outside = 0;
  for (const flow of inputs.flows) {
    if (flow.namespace !== ns || flow.noTlsReason === "loopback") continue;
    // the TCP connections that carry observed HTTP requests are not flows of their own
    if (
      flow.protocol === "tcp" &&
      httpKeys.has(`${flow.clientId ?? "-"}|${flow.pod ?? ""}|${flow.port ?? ""}`)
    ) continue;
    const t = targetOf(model, flow);
    if (!t || !scopeNames.has(t.pod.metadata.name)) {
      if (!t) outside++;
      continue;
    }
    const workload = podWorkload(t.pod);
    const key = `${workload}:${t.port}`;
    let g = groups.get(key);
    if (!g) {
      const before = model.inbound(t.pod, t.port);
      const existing = before.kind === "server" ? before : undefined;
      const portName = [...model.podPorts(t.pod).byName].find(([, ps]) => ps.includes(t.port))
        ?.[0];
      g = {
        key,
        workload,
        pods: inScope.filter((p) => podWorkload(p) === workload),
        port: t.port,
        ...(existing ? { existing } : {}),
        serverName: existing?.name ??
          uniqueName(serverNames, dnsLabel(workload.split("/")[1]!, portName ?? String(t.port))),
        protocols: new Set(),
        needs: new Map(),
        observed: new Set(),
      };
      groups.set(key, g);
    }
    g.protocols.add(flow.protocol);
    const { client, view } = clientOf(model, flow);
    if (client.identity) g.observed.add(client.identity);
    const v = verdictOf(model, flow, t, client);
    let kind: Resolved["kind"];
    if (isProbe(flow)) kind = "probe";
    else if (
      v.decision === "allowed" && v.authorization && !v.authorization.startsWith("default/")
    ) kind = "existing";
    else if (!client.meshed) kind = "unmeshed";
    else {
      kind = "need";
      const route = v.route;
      const rk = route ? `${route.kind}/${route.name}` : "";
      const ref = route
        ? { group: route.group, kind: route.kind, name: route.name }
        : { group: POLICY_GROUP, kind: "Server", name: g.serverName };
      const n = g.needs.get(rk) ?? { ref, ids: new Set<string>() };
      n.ids.add(client.identity!);
      g.needs.set(rk, n);
    }
    resolved.push({ flow, pod: t.pod, port: t.port, client, view, group: g, kind });
  }
  if (outside) {
    notes.push(
      `${outside} observed flow(s) reached pods that are no longer running (restarted or scaled down) and could not be matched to a workload; they are left out`,
    );
  }

  // ---- objects
  const docs: Doc[] = [];
  const resources: ResourceEntry[] = [];
  const authnDocs: Doc[] = [];
  const apDocs: Doc[] = [];
  const authnBySet = new Map<string, string>();
  const authnNames = takenOf("MeshTLSAuthentication");
  const apNames = takenOf("AuthorizationPolicy");
  for (const g of [...groups.values()].sort((a, b) => a.key.localeCompare(b.key))) {
    const pod = g.pods[0]!;
    const tcpOnly = !g.protocols.has("http");
    if (!g.existing) {
      const opaque = tcpOnly && inPortSet(model.podPorts(pod).opaque, g.port);
      docs.push(serverDoc({
        name: g.serverName,
        namespace: ns,
        matchLabels: selectorFor(model, pod),
        port: g.port,
        ...(opaque ? { proxyProtocol: "opaque" } : {}),
        ...(useAccessPolicy ? { accessPolicy: opts.accessPolicy } : {}),
      }));
      resources.push({
        kind: "Server",
        name: g.serverName,
        namespace: ns,
        action: "create",
        why:
          `port ${g.port} of ${g.workload} received traffic in the window and no Server selects it${
            useAccessPolicy ? `; accessPolicy ${opts.accessPolicy}` : ""
          }`,
      });
    } else {
      const sm = model.server(ns, g.serverName);
      const current = sm?.accessPolicy ?? "deny";
      const want = opts.accessPolicy;
      const change = useAccessPolicy && sm && current !== want && current !== "deny";
      if (change || (useAccessPolicy && sm && want === "deny" && current === "audit")) {
        const d = appliable(sm!.obj);
        (d["spec"] as Record<string, unknown>)["accessPolicy"] = want;
        docs.push(d);
        resources.push({
          kind: "Server",
          name: g.serverName,
          namespace: ns,
          action: "update",
          why:
            `existing Server for port ${g.port} of ${g.workload}, reused; accessPolicy ${current} → ${want}`,
        });
      } else {
        resources.push({
          kind: "Server",
          name: g.serverName,
          namespace: ns,
          action: "reuse",
          why:
            `existing Server for port ${g.port} of ${g.workload} (accessPolicy ${current}), reused as is`,
        });
        if (want === "audit" && current === "deny") {
          notes.push(
            `Server "${g.serverName}" already denies by default (accessPolicy deny); it is not loosened to audit`,
          );
        }
      }
    }
    for (const [, need] of [...g.needs].sort(([a], [b]) => a.localeCompare(b))) {
      const ids = [...need.ids].sort();
      const setKey = ids.join(",");
      let authn = authnBySet.get(setKey);
      if (!authn) {
        const who = ids.map((id) => {
          const p = parseIdentity(id);
          return p
            ? (p.namespace === ns ? p.serviceAccount : `${p.serviceAccount}-${p.namespace}`)
            : "id";
        });
        authn = uniqueName(
          authnNames,
          dnsLabel(...(who.length > 3 ? [...who.slice(0, 3), "more"] : who), "clients"),
        );
        authnBySet.set(setKey, authn);
        authnDocs.push(meshTlsDoc(authn, ns, ids, mesh));
        resources.push({
          kind: "MeshTLSAuthentication",
          name: authn,
          namespace: ns,
          action: "create",
          why: `the client identities observed in the window: ${ids.join(", ")}`,
        });
      }
      const apName = uniqueName(apNames, dnsLabel(need.ref.name, "clients"));
      apDocs.push(
        authorizationDoc(apName, ns, need.ref, { kind: "MeshTLSAuthentication", name: authn }),
      );
      resources.push({
        kind: "AuthorizationPolicy",
        name: apName,
        namespace: ns,
        action: "create",
        why: `admits ${ids.length} observed identit${
          ids.length === 1 ? "y" : "ies"
        } on ${need.ref.kind} "${need.ref.name}" (port ${g.port} of ${g.workload})`,
      });
    }
  }
  docs.push(...authnDocs, ...apDocs);

  // ---- the viz Prometheus scrape of the admin port, kept working
  const prom = vizPrometheus(model);
  const targetSelector = opts.targetService === undefined
    ? undefined
    : (itemsOf(model.state, "services", ns) as readonly Service[]).find((s) =>
      s.metadata.name === opts.targetService
    )?.spec?.selector;
  let after = policyModel(withObjects(model.state, docs), { mesh });
  if (prom && inScope.length && groups.size) {
    const broken = inScope.filter((p) => !scrapeOk(after, p, prom.client));
    if (broken.length) {
      const adminName = model.server(ns, "linkerd-admin") ? undefined : "linkerd-admin";
      const server = adminName ?? uniqueName(serverNames, "linkerd-admin-scrape");
      if (adminName) serverNames.add(adminName);
      docs.push({
        apiVersion: `${POLICY_GROUP}/v1beta3`,
        kind: "Server",
        metadata: { name: server, namespace: ns },
        spec: {
          // the whole namespace, as linkerd viz allow-scrapes; only the Service's pods when asked
          podSelector: targetSelector ? { matchLabels: targetSelector } : {},
          port: ADMIN_PORT,
          proxyProtocol: "HTTP/1",
          ...(useAccessPolicy ? { accessPolicy: opts.accessPolicy } : {}),
        },
      });
      const ap = uniqueName(apNames, "prometheus-scrape");
      docs.push(serviceAccountAuthorizationDoc(ap, ns, {
        group: POLICY_GROUP,
        kind: "Server",
        name: server,
      }, { name: "prometheus", namespace: prom.namespace }));
      const why =
        `${broken.length} pod(s)' default policy would not let the viz Prometheus (${prom.client.identity}) scrape the proxy admin port ${ADMIN_PORT} once enforced; the Server covers ${
          targetSelector ? `the pods of Service ${opts.targetService}` : `every pod of ${ns}`
        }, so only Prometheus (and kubelet probes) reach that port`;
      resources.push(
        { kind: "Server", name: server, namespace: ns, action: "create", why },
        {
          kind: "AuthorizationPolicy",
          name: ap,
          namespace: ns,
          action: "create",
          why: `lets the viz Prometheus scrape the proxy metrics (as linkerd viz allow-scrapes)`,
        },
      );
      after = policyModel(withObjects(model.state, docs), { mesh });
    }
  } else if (!prom) {
    notes.push(
      "The viz Prometheus was not found in the cluster state: the scrape check was skipped",
    );
  }

  // ---- flows, unmeshed clients
  const flows: FlowEntry[] = [];
  const unmeshedClients: UnmeshedClient[] = [];
  const failures: CheckFailure[] = [];
  let observedChecked = 0;
  for (const r of resolved) {
    const v = verdictOf(after, r.flow, { pod: r.pod, port: r.port }, r.client);
    const tv = targetView(after, r, v.inbound);
    const base = {
      client: r.view,
      target: tv,
      protocol: r.flow.protocol,
      ...counts(r.flow, opts.windowSeconds),
    };
    const by = v.authorization ? resourceName(v.authorization) : undefined;
    if (r.kind === "probe") {
      flows.push({ ...base, status: "probe", authorizedBy: by ?? "default/probe" });
      continue;
    }
    if (r.kind === "unmeshed") {
      flows.push({ ...base, status: "not-authorized" });
      const name = dnsLabel("unauthenticated", "to", tv.server);
      const ref = { group: POLICY_GROUP, kind: "Server", name: tv.server };
      const nets = mesh.clusterNetworks;
      unmeshedClients.push({
        target: tv,
        protocol: r.flow.protocol,
        ...counts(r.flow, opts.windowSeconds),
        opens: `every client without a mesh identity whose IP is in the cluster networks (${
          nets.join(", ")
        }) could reach port ${r.port} of ${r.group.workload}; metrics carry no client IP, so nothing narrower is known — mesh the client instead (linkerd.io/inject: enabled) and authorize its identity`,
        suggestion: renderYaml([
          networkDoc(name, ns, nets),
          authorizationDoc(name, ns, ref, { kind: "NetworkAuthentication", name }),
        ]),
      });
      continue;
    }
    observedChecked++;
    const okNow = v.decision === "allowed";
    flows.push({
      ...base,
      status: r.kind === "existing" ? "already-authorized" : "authorized",
      ...(by ? { authorizedBy: by } : {}),
    });
    if (!okNow) {
      failures.push({
        check: "observed-flow",
        message: `${r.view.identity} → ${tv.workload}:${r.port}${
          tv.route ? ` (${tv.route})` : ""
        } is observed but the generated policy gives "${v.decision}"`,
      });
    }
  }

  // ---- unobserved Service-to-Service pairs on the governed ports
  let pairs = 0;
  const LIMIT = 20_000;
  const clientServices = clientProfiles(model);
  for (const g of groups.values()) {
    for (const pod of g.pods) {
      const targets = servicesOf(model, pod, g.port);
      if (!targets.length) continue;
      const inbound = after.inbound(pod, g.port);
      for (const c of clientServices) {
        if (c.client.identity && g.observed.has(c.client.identity)) continue;
        if (pairs >= LIMIT) break;
        pairs++;
        // routes that serve the pod's probes are the kubelet's, not a Service's
        const probePaths = [...after.podPorts(pod).probes.get(g.port) ?? []];
        const authzs = inbound.routes.length
          ? inbound.routes.filter((r) => !probePaths.some((p) => routeCovers(r.matches, p)))
            .map((r) => [...r.authorizations, ...inbound.authorizations])
          : [inbound.authorizations];
        const allowedBy = authzs.map((list) =>
          evaluateAuthzs(list, c.client, { clusterNetworks: after.clusterNetworks })
        ).find((d) => d.decision === "allowed");
        if (allowedBy) {
          failures.push({
            check: "unobserved-pair",
            message: `${c.name} → ${
              targets.join(", ")
            }:${g.port} was not observed but stays allowed by ${
              allowedBy.authz
                ? `${allowedBy.authz.kind}/${allowedBy.authz.name}`
                : "an authorization"
            }`,
          });
        }
      }
      break; // one pod per workload: its peers share the Server and the policy
    }
  }
  if (pairs >= LIMIT) notes.push(`The self-check stopped after ${LIMIT} unobserved pairs`);

  // ---- probes and scrapes that worked before keep working
  let probes = 0, scrapes = 0;
  for (const pod of inScope) {
    for (const [port, paths] of after.podPorts(pod).probes) {
      for (const path of paths) {
        probes++;
        if (probeOk(model, pod, port, path) && !probeOk(after, pod, port, path)) {
          failures.push({
            check: "probe",
            message: `kubelet probe GET ${path} on port ${port} of ${
              podWorkload(pod)
            } would be denied`,
          });
        }
      }
    }
    if (prom) {
      scrapes++;
      if (!scrapeOk(after, pod, prom.client)) {
        failures.push({
          check: "scrape",
          message: `the viz Prometheus could not scrape port ${ADMIN_PORT} of ${podWorkload(pod)}`,
        });
      }
    }
  }
  const uniqFailures = [...new Map(failures.map((f) => [`${f.check}|${f.message}`, f])).values()];

  // ---- notes
  if (resolved.length === 0) {
    notes.push(
      `No inbound traffic to ${
        opts.targetService ? `Service ${opts.targetService}` : `namespace ${ns}`
      } in the window: a policy from it would deny every client, so nothing is generated; use a longer time_range or check that Prometheus scrapes the proxies`,
    );
  } else {
    const total = resolved.reduce((a, r) => a + r.flow.count, 0);
    if (total < 100) {
      notes.push(
        `Only ${
          Math.round(total)
        } requests and connections were observed in the window: too little traffic to trust that every client showed up; use a longer time_range`,
      );
    }
    const quiet = [...new Set(inScope.map(podWorkload))].filter((w) =>
      ![...groups.values()].some((g) => g.workload === w)
    );
    if (quiet.length) {
      notes.push(
        `No inbound traffic in the window for ${quiet.join(", ")}: left on their current policy`,
      );
    }
  }
  if (unmeshedClients.length) {
    notes.push(
      `${unmeshedClients.length} flow(s) came from clients without a mesh identity (seen only as IPs, which metrics do not carry): they are not authorized; see unmeshedClients`,
    );
  }
  const tcpPorts = [...groups.values()].filter((g) => !g.protocols.has("http"));
  if (tcpPorts.length) {
    notes.push(
      `Port(s) with only TCP traffic (opaque or not HTTP): ${
        tcpPorts.map((g) => `${g.workload}:${g.port}`).join(", ")
      }; authorization there is per connection, route-level policy cannot apply`,
    );
  }
  if (opts.windowSeconds < 86_400) {
    notes.push(
      "The window is shorter than a day: clients that run daily or weekly may be missing; deploy in audit mode and run analyze_audit over a longer window before enforcing",
    );
  }
  if (inputs.edges.some((e) => e.tls !== "true")) {
    notes.push(
      `Some clients call ${ns}'s Services without mTLS (outbound metrics): ${
        [
          ...new Set(
            inputs.edges.filter((e) => e.tls !== "true").map((e) =>
              `${e.clientNamespace}/${e.clientWorkload?.name ?? "?"} → ${e.service}`
            ),
          ),
        ].join(", ")
      }`,
    );
  }
  notes.push(
    "The proxies' own calls to the control plane (destination, identity) are outbound and not affected; the proxy's tap port 4190 is not governed by Server policy",
  );
  return {
    namespace: ns,
    accessPolicy: opts.accessPolicy,
    yaml: docs.length ? renderYaml(docs) : "",
    docs,
    resources,
    flows,
    unmeshedClients,
    selfCheck: {
      passed: uniqFailures.length === 0,
      method:
        "The objects applied to the current state and evaluated with the policy model as enforced (an allowance by audit counts as a denial)",
      checked: { observedFlows: observedChecked, unobservedPairs: pairs, probes, scrapes },
      failures: uniqFailures,
    },
    notes,
  };
}

/** `authorizationpolicy/x` → `AuthorizationPolicy/x`. */
function resourceName(label: string): string {
  const [kind, name] = label.split("/");
  const k = kind === "authorizationpolicy"
    ? "AuthorizationPolicy"
    : kind === "serverauthorization"
    ? "ServerAuthorization"
    : kind!;
  return `${k}/${name}`;
}

/** One client profile per Service with selected pods (meshed identity, or unmeshed). */
function clientProfiles(model: PolicyModel): Array<{ name: string; client: Client }> {
  const out: Array<{ name: string; client: Client }> = [];
  const seen = new Set<string>();
  for (const svc of itemsOf(model.state, "services") as readonly (Service & KubeObject)[]) {
    const sns = svc.metadata.namespace ?? "";
    const sel = svc.spec?.selector;
    if (!sel || !Object.keys(sel).length) continue;
    for (const p of model.podsIn(sns)) {
      if (!serviceSelects(sel, p.metadata.labels)) continue;
      const meshed = podIsMeshed(p);
      const sa = serviceAccountOf(p);
      const key = `${sns}/${svc.metadata.name}|${meshed ? sa : "-"}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        name: `${sns}/${svc.metadata.name}`,
        client: {
          pods: [`${sns}/${p.metadata.name}`],
          namespace: sns,
          serviceAccount: sa,
          meshed,
          ...(meshed ? { identity: serviceAccountIdentity(sa, sns, model.mesh) } : {}),
          ips: podIPs(p),
        },
      });
    }
  }
  return out;
}
