/**
 * Observed flows against the policy model: which pod and port a flow reached, who the
 * client is, and what the policy decides for it — "as enforced", i.e. an allowance by
 * the `audit` authorization counts as a denial.
 *
 * @module
 */
import type { ClusterState } from "../kube/state.ts";
import type { KubeObject } from "../kube/types.ts";
import { type ResourceKey, resourceKeyFor } from "../kube/resources.ts";
import { ownerWorkloadOf } from "../kube/workloads.ts";
import type { MeshConfig } from "../mesh/config.ts";
import type { Pod } from "../mesh/pods.ts";
import { serviceAccountOf } from "../mesh/pods.ts";
import { authzLabel } from "../policy/authz.ts";
import { podIsMeshed } from "../policy/clients.ts";
import { evaluateAuthzs } from "../policy/evaluate.ts";
import type { PolicyModel } from "../policy/model/types.ts";
import type { Authz, Client, InboundRoute, InboundServer } from "../policy/types.ts";
import { type ObservedFlow, parseIdentity } from "./observe.ts";

/** `deployment/web`. */
export function workloadText(w: { kind: string; name: string }): string {
  return `${w.kind.toLowerCase()}/${w.name}`;
}

/** The workload of a pod, as `deployment/web`. */
export function podWorkload(pod: Pod): string {
  return workloadText(ownerWorkloadOf(pod));
}

/** The client of a flow, for answers. */
export interface ClientView {
  identity?: string;
  namespace?: string;
  serviceAccount?: string;
  workload?: string;
  unauthenticated?: true;
}

/** The client profile the model evaluates, and its description. */
export function clientOf(
  model: PolicyModel,
  flow: ObservedFlow,
): { client: Client; view: ClientView } {
  if (flow.clientId) {
    const parsed = parseIdentity(flow.clientId);
    const view: ClientView = { identity: flow.clientId };
    if (parsed) {
      view.namespace = parsed.namespace;
      view.serviceAccount = parsed.serviceAccount;
      const workloads = [
        ...new Set(
          model.podsIn(parsed.namespace).filter((p) =>
            podIsMeshed(p) && serviceAccountOf(p) === parsed.serviceAccount
          ).map(podWorkload),
        ),
      ].sort();
      if (workloads.length) view.workload = workloads.join(", ");
    }
    return {
      client: {
        pods: [],
        namespace: parsed?.namespace ?? "",
        serviceAccount: parsed?.serviceAccount ?? "",
        meshed: true,
        identity: flow.clientId,
        ips: [],
      },
      view,
    };
  }
  return {
    client: { pods: [], namespace: "", serviceAccount: "", meshed: false, ips: [] },
    view: { unauthenticated: true },
  };
}

/** The target pod and port of a flow, found in the state (a restarted pod: its workload's). */
export function targetOf(
  model: PolicyModel,
  flow: ObservedFlow,
): { pod: Pod; port: number } | undefined {
  const pods = model.podsIn(flow.namespace);
  let pod = flow.pod ? pods.find((p) => p.metadata.name === flow.pod) : undefined;
  if (!pod && flow.workload) {
    const want = workloadText(flow.workload);
    pod = pods.find((p) => podWorkload(p) === want);
  }
  const server = flow.srv.kind === "server"
    ? model.server(flow.namespace, flow.srv.name)
    : undefined;
  if (!pod && server) pod = model.claims(server).resolved[0];
  if (!pod) return undefined;
  let port = flow.port;
  if (port === undefined && server) {
    port = typeof server.port === "number"
      ? server.port
      : model.podPorts(pod).byName.get(server.port)?.[0];
  }
  return port === undefined ? undefined : { pod, port };
}

/** The attached route a flow's `route_*` labels name, if any. */
export function routeOf(inbound: InboundServer, flow: ObservedFlow): InboundRoute | undefined {
  if (!flow.route || flow.route.kind.toLowerCase() === "default") return undefined;
  return inbound.routes.find((r) =>
    r.name === flow.route!.name && r.kind.toLowerCase() === flow.route!.kind.toLowerCase()
  );
}

/** The model's verdict on a flow, as enforced. */
export interface FlowVerdict {
  /** `allowed`: a real authorization allows it; `audit`: only audit does; `denied`; `undetermined`. */
  decision: "allowed" | "audit" | "denied" | "undetermined";
  /** The authorization that allows it (`authorizationpolicy/x`). */
  authorization?: string;
  inbound: InboundServer;
  route?: InboundRoute;
  /** The authorizations checked, in order. */
  checked: Authz[];
}

/** Evaluates a flow on its target's inbound server (route-level first for HTTP). */
export function verdictOf(
  model: PolicyModel,
  flow: ObservedFlow,
  target: { pod: Pod; port: number },
  client: Client,
): FlowVerdict {
  const inbound = model.inbound(target.pod, target.port);
  if (inbound.kind === "unmeshed" || inbound.kind === "skipped") {
    return { decision: "allowed", authorization: inbound.kind, inbound, checked: [] };
  }
  const route = flow.protocol === "http" ? routeOf(inbound, flow) : undefined;
  let checked = inbound.authorizations;
  if (route) checked = [...route.authorizations, ...inbound.authorizations];
  else if (flow.protocol === "http" && flow.route?.name === "probe" && inbound.probePaths.length) {
    // the automatic probe route: unauthenticated from the probe networks
    return { decision: "allowed", authorization: "default/probe", inbound, checked: [] };
  }
  const r = evaluateAuthzs(checked, client, { clusterNetworks: model.clusterNetworks });
  return {
    decision: r.decision,
    ...(r.authz && r.decision === "allowed" ? { authorization: authzLabel(r.authz) } : {}),
    inbound,
    ...(route ? { route } : {}),
    checked,
  };
}

const isDefault = (a: Authz) => a.kind === "default";

/** Why no authorization (but audit) allows the flow, in a sentence. */
export function denialReason(v: FlowVerdict, client: Client, flow: ObservedFlow): string {
  const real = v.checked.filter((a) => !(isDefault(a) && a.name === "audit"));
  const where = v.inbound.kind === "server"
    ? `Server "${v.inbound.name}"`
    : `the default policy "${v.inbound.name}" of port ${v.inbound.port}`;
  if (!client.meshed) {
    return `unauthenticated client (no mTLS identity, ${
      flow.noTlsReason ?? flow.tls
    }): no authorization on ${where} admits unauthenticated clients, only audit mode does`;
  }
  if (v.route && v.route.authorizations.length === 0 && v.inbound.authorizations.every(isDefault)) {
    return `route ${v.route.kind}/${v.route.name} has no authorization, and ${where} authorizes no one but audit`;
  }
  if (real.length === 0) {
    return `${where} has no authorization besides audit mode: no policy names identity "${client.identity}"`;
  }
  const names = real.map(authzLabel).join(", ");
  return `no policy names identity "${client.identity}": ${names} ${
    real.length === 1 ? "does" : "do"
  } not admit it${v.route ? ` on route ${v.route.kind}/${v.route.name}` : ""}`;
}

/** The state with `docs` applied (replacing objects of the same kind, namespace and name). */
export function withObjects(
  state: ClusterState,
  docs: readonly Record<string, unknown>[],
): ClusterState {
  const objects: Partial<Record<ResourceKey, KubeObject[]>> = {};
  for (const [k, v] of Object.entries(state.objects)) objects[k as ResourceKey] = [...v];
  for (const d of docs) {
    const key = resourceKeyFor(String(d["apiVersion"]), String(d["kind"]));
    if (!key) continue;
    const o = d as unknown as KubeObject;
    const list = (objects[key] ??= []);
    const at = list.findIndex((x) =>
      x.kind === o.kind && x.metadata.name === o.metadata.name &&
      (x.metadata.namespace ?? "") === (o.metadata.namespace ?? "")
    );
    if (at >= 0) list[at] = o;
    else list.push(o);
  }
  return { ...state, objects };
}

/** The mesh of a model (re-exported for the use cases). */
export type { MeshConfig };
