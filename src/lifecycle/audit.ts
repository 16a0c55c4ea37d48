/**
 * Audit analysis: which observed requests and connections enforcement would deny.
 *
 * The proxies credit to the `audit` authorization every request or connection that no
 * other authorization allowed first (linkerd-semantics.md §2.8). Where a Server has both
 * real server-level authorizations and audit, which one is credited is unspecified, so the
 * audit series are a superset: each flow is re-evaluated with the policy model, and one a
 * real authorization allows is not reported. Each reported flow gets a fix (objects to
 * apply) that the model, applied to the state, confirms would allow it.
 *
 * Pure: takes the state's model and the parsed flows.
 *
 * @module
 */
import type { Pod } from "../mesh/pods.ts";
import { policyModel } from "../policy/model/build.ts";
import type { PolicyModel } from "../policy/model/types.ts";
import { POLICY_GROUP } from "../policy/model/policies.ts";
import type { Client } from "../policy/types.ts";
import {
  authorizationDoc,
  dnsLabel,
  type Doc,
  meshTlsDoc,
  networkDoc,
  renderYaml,
  serverDoc,
} from "./objects.ts";
import { type ObservedFlow, parseIdentity } from "./observe.ts";
import {
  clientOf,
  type ClientView,
  denialReason,
  type FlowVerdict,
  podWorkload,
  targetOf,
  verdictOf,
  withObjects,
} from "./resolve.ts";
import { selectorFor, servicesOf } from "./scope.ts";

/** The target of a reported flow. */
export interface TargetView {
  namespace: string;
  service?: string;
  workload?: string;
  port?: number;
  /** Server name, or `default:<policy>` when no Server selects the port. */
  server: string;
  route?: string;
}

/** One (client, target port[, route]) enforcement would deny. */
export interface WouldBeDenied {
  client: ClientView;
  target: TargetView;
  protocol: "http" | "tcp";
  /** HTTP: requests per second over the window. */
  requestRate?: number;
  /** HTTP: requests in the window. */
  requests?: number;
  /** TCP: connections opened in the window. */
  connections?: number;
  reason: string;
  /** A sentence and the YAML to apply. */
  fix: string;
  /** True when the model, with the fix applied, allows the flow (not by audit). */
  fixChecked: boolean;
}

/** Where audit mode is on. */
export interface AuditedServer {
  namespace: string;
  kind: "server" | "default";
  /** The Server; absent for a default policy `audit`. */
  server?: string;
  port?: number | string;
  /** Pods whose port it governs (Server) or whose default policy is audit. */
  pods: number;
  /** Earliest time audit can have been on, when known. */
  since?: string;
  sinceSource?: string;
}

/** What {@linkcode analyzeAuditFlows} returns. */
export interface AuditFindings {
  wouldBeDenied: WouldBeDenied[];
  /** Flows the model cannot decide without the client's IP (treat as blocking). */
  undetermined: WouldBeDenied[];
  auditedServers: AuditedServer[];
  notes: string[];
}

/** Options of {@linkcode analyzeAuditFlows}. */
export interface AuditOptions {
  namespace?: string;
  /** Only this Server. */
  server?: string;
  windowSeconds: number;
  /** The evaluation time (for "audited since" notes). */
  now: Date;
}

/** Where audit mode is on in scope: Servers with `accessPolicy: audit` and pods defaulting to audit. */
export function auditedServers(
  model: PolicyModel,
  opts: { namespace?: string; server?: string },
): AuditedServer[] {
  const out: AuditedServer[] = [];
  const servers = opts.namespace === undefined ? model.servers : model.serversIn(opts.namespace);
  for (const s of servers) {
    if (s.accessPolicy !== "audit") continue;
    if (opts.server !== undefined && s.name !== opts.server) continue;
    const ts = s.obj.metadata.creationTimestamp;
    out.push({
      namespace: s.namespace,
      kind: "server",
      server: s.name,
      port: s.port,
      pods: new Set(model.claims(s).claimed.map((c) => c.pod.metadata.name)).size,
      ...(ts
        ? {
          since: ts,
          sinceSource:
            "the Server's creationTimestamp (accessPolicy may have been set to audit later)",
        }
        : {}),
    });
  }
  if (opts.server === undefined) {
    const byNs = new Map<string, Pod[]>();
    const pods = opts.namespace === undefined ? model.pods : model.podsIn(opts.namespace);
    for (const p of pods) {
      if (model.podPorts(p).defaultPolicy !== "audit") continue;
      const ns = p.metadata.namespace ?? "";
      byNs.set(ns, [...(byNs.get(ns) ?? []), p]);
    }
    for (const [namespace, list] of [...byNs].sort(([a], [b]) => a.localeCompare(b))) {
      const times = list.map((p) => p.metadata.creationTimestamp ?? "").filter(Boolean).sort();
      out.push({
        namespace,
        kind: "default",
        pods: list.length,
        ...(times.length
          ? {
            since: times[0]!,
            sinceSource:
              "the oldest such pod's creationTimestamp (a default policy is fixed when the pod starts)",
          }
          : {}),
      });
    }
  }
  return out;
}

function targetView(
  model: PolicyModel,
  flow: ObservedFlow,
  target: { pod: Pod; port: number } | undefined,
  v: FlowVerdict | undefined,
): TargetView {
  const services = target ? servicesOf(model, target.pod, target.port) : [];
  return {
    namespace: flow.namespace,
    ...(services.length ? { service: services.join(", ") } : {}),
    ...(target
      ? { workload: podWorkload(target.pod) }
      : flow.workload
      ? { workload: `${flow.workload.kind}/${flow.workload.name}` }
      : {}),
    ...(target ? { port: target.port } : flow.port !== undefined ? { port: flow.port } : {}),
    server: v
      ? (v.inbound.kind === "server" ? v.inbound.name : `default:${v.inbound.name}`)
      : flow.srv.kind === "server"
      ? flow.srv.name
      : `default:${flow.srv.name}`,
    ...(v?.route
      ? { route: `${v.route.kind}/${v.route.name}` }
      : flow.route && flow.route.kind.toLowerCase() !== "default"
      ? { route: `${flow.route.kind}/${flow.route.name}` }
      : {}),
  };
}

/** The fix for one flow: objects to apply, and a sentence. */
export function fixFor(
  model: PolicyModel,
  flow: ObservedFlow,
  target: { pod: Pod; port: number },
  client: Client,
  v: FlowVerdict,
): { intro: string; docs: Doc[] } {
  const ns = flow.namespace;
  const mesh = model.mesh;
  const docs: Doc[] = [];
  let serverName = v.inbound.name;
  let intro: string;
  if (v.inbound.kind === "default") {
    // named as generate_policies names it: workload and port name
    const portName = [...model.podPorts(target.pod).byName].find(([, ps]) =>
      ps.includes(target.port)
    )?.[0];
    serverName = dnsLabel(podWorkload(target.pod).split("/")[1]!, portName ?? String(target.port));
    docs.push(serverDoc({
      name: serverName,
      namespace: ns,
      matchLabels: selectorFor(model, target.pod),
      port: target.port,
      ...(model.features.accessPolicy ? { accessPolicy: "audit" } : {}),
    }));
    intro =
      `Create a Server for port ${target.port} (kept in audit mode for the other clients) and authorize the client on it`;
  } else intro = `Authorize the client on Server "${serverName}"`;
  const routeTarget = v.route
    ? { group: v.route.group, kind: v.route.kind, name: v.route.name }
    : undefined;
  if (routeTarget) intro += `'s route ${routeTarget.kind}/${routeTarget.name}`;
  const targetRef = routeTarget ?? { group: POLICY_GROUP, kind: "Server", name: serverName };
  if (client.meshed && client.identity) {
    const p = parseIdentity(client.identity);
    const who = p ? `${p.serviceAccount}-${p.namespace}` : "client";
    const authn = dnsLabel(who);
    docs.push(meshTlsDoc(authn, ns, [client.identity], mesh));
    docs.push(authorizationDoc(dnsLabel(who, "to", targetRef.name), ns, targetRef, {
      kind: "MeshTLSAuthentication",
      name: authn,
    }));
    return { intro, docs };
  }
  const nets = mesh.clusterNetworks;
  const name = dnsLabel("unauthenticated", "to", targetRef.name);
  docs.push(networkDoc(name, ns, nets));
  docs.push(authorizationDoc(name, ns, targetRef, { kind: "NetworkAuthentication", name }));
  return {
    intro:
      `The client has no mTLS identity. Best: mesh it (linkerd.io/inject: enabled) and authorize its identity. ` +
      `Otherwise this opens ${targetRef.kind} "${targetRef.name}" to every unauthenticated client in the cluster networks (${
        nets.join(", ")
      }) — the narrowest network known from metrics, which carry no client IP; narrow the CIDRs to the client's own addresses if you know them. ${intro}`,
    docs,
  };
}

/** Checks a fix: with it applied, the model allows the flow (audit aside). */
export function checkFix(
  model: PolicyModel,
  flow: ObservedFlow,
  client: Client,
  docs: readonly Doc[],
): boolean {
  const after = policyModel(withObjects(model.state, docs), { mesh: model.mesh });
  const t = targetOf(after, flow);
  if (!t) return false;
  return verdictOf(after, flow, t, client).decision === "allowed";
}

function rate(count: number, windowSeconds: number): number {
  return Number((count / windowSeconds).toPrecision(6));
}

/**
 * Analyzes the audit-credited flows: re-evaluates each with the model and reports, with
 * a checked fix, those that enforcement would deny.
 */
export function analyzeAuditFlows(
  model: PolicyModel,
  flows: readonly ObservedFlow[],
  opts: AuditOptions,
): AuditFindings {
  const notes: string[] = [];
  const wouldBeDenied: WouldBeDenied[] = [];
  const undetermined: WouldBeDenied[] = [];
  let superset = 0;
  let unresolved = 0;
  const audited = auditedServers(model, opts);
  for (const flow of flows) {
    if (opts.namespace !== undefined && flow.namespace !== opts.namespace) continue;
    if (flow.noTlsReason === "loopback") continue; // localhost is always allowed
    const target = targetOf(model, flow);
    const { client, view } = clientOf(model, flow);
    const v = target ? verdictOf(model, flow, target, client) : undefined;
    const tv = targetView(model, flow, target, v);
    if (opts.server !== undefined && tv.server !== opts.server) continue;
    if (v?.decision === "allowed") {
      superset++;
      continue;
    }
    const counts = flow.protocol === "http"
      ? {
        requestRate: rate(flow.count, opts.windowSeconds),
        requests: Number(flow.count.toPrecision(6)),
      }
      : { connections: Number(flow.count.toPrecision(6)) };
    if (!target || !v) {
      unresolved++;
      wouldBeDenied.push({
        client: view,
        target: tv,
        protocol: flow.protocol,
        ...counts,
        reason:
          "allowed only by audit mode when observed; the target pod or port is no longer in the cluster state, so the current policy could not be checked",
        fix: "Re-run analyze_audit once the workload is running again.",
        fixChecked: false,
      });
      continue;
    }
    let reason = denialReason(v, client, flow);
    if (v.decision === "denied") {
      reason =
        `the current policy already denies it (audit mode was switched off after this traffic): ${reason}`;
    }
    const fix = fixFor(model, flow, target, client, v);
    const fixChecked = checkFix(model, flow, client, fix.docs);
    const entry: WouldBeDenied = {
      client: view,
      target: tv,
      protocol: flow.protocol,
      ...counts,
      reason,
      fix: `${fix.intro}${fixChecked ? "" : " (the policy model could not confirm this fix)"}:\n${
        renderYaml(fix.docs)
      }`,
      fixChecked,
    };
    if (v.decision === "undetermined") {
      entry.reason =
        `whether a network-based authorization admits the client depends on its IP, which metrics do not carry: ${reason}`;
      undetermined.push(entry);
    } else wouldBeDenied.push(entry);
  }
  const order = (e: WouldBeDenied) =>
    `${e.target.namespace}/${e.target.workload ?? ""}:${e.target.port ?? ""}/${
      e.target.route ?? ""
    }|${e.client.identity ?? "~"}|${e.protocol}`;
  wouldBeDenied.sort((a, b) => order(a).localeCompare(order(b)));
  undetermined.sort((a, b) => order(a).localeCompare(order(b)));
  if (superset) {
    notes.push(
      `${superset} flow(s) credited to audit are allowed by a real authorization on re-evaluation (the audit metric is a superset where a Server has both, linkerd-semantics §2.8): not reported`,
    );
  }
  if (unresolved) {
    notes.push(
      `${unresolved} flow(s) reached pods or ports that are no longer in the cluster state; they are reported from the metrics alone`,
    );
  }
  if (audited.length === 0) {
    notes.push(
      `No Server in ${
        opts.namespace ? `namespace ${opts.namespace}` : "the cluster"
      } has accessPolicy: audit and no pod defaults to audit: audit mode is off, so there is nothing to analyze; deploy a policy in audit mode first (generate_policies with access_policy "audit")`,
    );
  } else {
    const since = audited.filter((a) => a.since).map((a) => a.since!).sort().pop();
    if (since && Date.parse(since) > opts.now.getTime() - opts.windowSeconds * 1000) {
      notes.push(
        `Audit mode may have been on for less than the window (latest since ${since}): traffic before that is not audited`,
      );
    }
  }
  if (opts.windowSeconds < 86_400) {
    notes.push(
      "The window is shorter than a day: clients that run daily or weekly (CronJobs, batch, reports) may not appear; analyze a longer time_range (e.g. 7d) before enforcing",
    );
  }
  if (wouldBeDenied.some((e) => e.client.unauthenticated)) {
    notes.push(
      "Unauthenticated clients (no mTLS identity) are listed without an identity: metrics do not carry client IPs; mesh them or authorize their networks",
    );
  }
  return { wouldBeDenied, undetermined, auditedServers: audited, notes };
}
