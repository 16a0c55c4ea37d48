/**
 * Safe suggestions: every candidate change is applied to the state and checked by the
 * model before it is offered. It must flip the asked-for clients to allowed on the port,
 * and change no other client's verdict there from allowed to denied; otherwise the
 * answer says which clients it would break and offers the variant that does not.
 * Candidates go from the smallest change to the largest: fix an ignored policy's
 * reference, fix a Server whose port names nothing, widen an existing
 * MeshTLSAuthentication, reuse an existing authentication, then new objects.
 *
 * @module
 */
import type { KubeObject } from "../kube/types.ts";
import { type ResourceKey, resourceKeyFor } from "../kube/resources.ts";
import type { ClusterState } from "../kube/state.ts";
import { itemsOf } from "../kube/state.ts";
import type { Pod } from "../mesh/pods.ts";
import { matchAuthentication } from "./authz.ts";
import { clientsOfService, describeClient } from "./clients.ts";
import { decideQuick } from "./evaluate.ts";
import { buildPolicyModel } from "./model/build.ts";
import { matchesLinkerdSelector } from "./model/labels.ts";
import { meshTlsMatches, POLICY_GROUP } from "./model/policies.ts";
import type { PolicyModel } from "./model/types.ts";
import type { PolicyIndex } from "./policy_index.ts";
import { containerPort, type ServicePort } from "./service_ports.ts";
import { type Change, dnsName, newObjectsChange, renderChange } from "./suggest.ts";
import type { Client, Decision, InboundServer } from "./types.ts";

/** The model's check of a suggestion. */
export interface SuggestionCheck {
  /** What the change does (`widen-authentication`, `new-server`, ...). */
  change: string;
  /** True when, applied to the state, it allows the asked-for clients on this port. */
  allowsRequest: boolean;
  /** Source Services whose verdict on this port would go from allowed to denied. */
  breaks: string[];
  /** Why this variant was chosen, or what else is wrong. */
  notes: string[];
}

/** What the suggestion is for. */
export interface SafeSuggestInput {
  namespace: string;
  server: InboundServer;
  targetPods: readonly Pod[];
  targetSelector: Record<string, string>;
  port: ServicePort;
  /** The clients to allow (denied, or allowed only by audit). */
  clients: readonly Client[];
  sourceName: string;
  deniedRoutes: readonly string[];
}

const POLICY_RESOURCE_KEYS: readonly ResourceKey[] = [
  "servers",
  "serverauthorizations",
  "authorizationpolicies",
  "httproutes",
  "gatewayhttproutes",
  "grpcroutes",
];

const sameObject = (a: KubeObject, b: Record<string, unknown>) => {
  const m = b["metadata"] as { name?: string; namespace?: string } | undefined;
  return a.kind === b["kind"] && a.metadata.name === m?.name &&
    (a.metadata.namespace ?? "") === (m?.namespace ?? "");
};

/** The target namespace's policy objects with the change applied, as a small state. */
function changedModel(
  idx: PolicyIndex,
  input: SafeSuggestInput,
  docs: Record<string, unknown>[],
): PolicyModel {
  const state = idx.model.state;
  const objects: Partial<Record<ResourceKey, KubeObject[]>> = {};
  const keep = (key: ResourceKey, all: boolean) => {
    objects[key] = itemsOf(state, key).filter((o) =>
      (all || o.metadata.namespace === input.namespace) && !docs.some((d) => sameObject(o, d))
    ) as KubeObject[];
  };
  for (const key of POLICY_RESOURCE_KEYS) keep(key, false);
  keep("meshtlsauthentications", true);
  keep("networkauthentications", true);
  objects.configmaps = [...itemsOf(state, "configmaps")];
  objects.pods = [...itemsOf(state, "pods", idx.mesh.controlPlaneNamespace)];
  for (const d of docs) {
    const key = resourceKeyFor(String(d["apiVersion"]), String(d["kind"]));
    if (key) (objects[key] ??= []).push(d as unknown as KubeObject);
  }
  const changed: ClusterState = {
    source: state.source,
    linkerdNamespace: state.linkerdNamespace,
    objects,
    missing: state.missing,
  };
  return buildPolicyModel(changed, { mesh: idx.mesh, pods: input.targetPods });
}

const rank = (d: Decision) =>
  d === "allowed" || d === "audit" ? 2 : d === "partial" ? 1 : d === "denied" ? 0 : -1;

/** Applies the change and checks it with the model. */
export function checkChange(
  idx: PolicyIndex,
  input: SafeSuggestInput,
  docs: Record<string, unknown>[],
): { allowsRequest: boolean; breaks: string[] } {
  const after = changedModel(idx, input, docs);
  const opts = { clusterNetworks: idx.clusterNetworks };
  let allowsRequest = input.clients.length > 0;
  const breaks = new Set<string>();
  for (const pod of input.targetPods) {
    const cp = containerPort(pod, input.port);
    if (cp === undefined) continue;
    const before = idx.model.inbound(pod, cp);
    const changed = after.inbound(pod, cp);
    for (const c of input.clients) {
      if (decideQuick(changed, c, opts).decision !== "allowed") allowsRequest = false;
    }
    for (const key of idx.serviceKeys) {
      if (breaks.has(key)) continue;
      for (const c of clientsOfService(idx, key)) {
        const b = rank(decideQuick(before, c, opts).decision);
        if (b <= 0) continue;
        if (rank(decideQuick(changed, c, opts).decision) < b) {
          breaks.add(key);
          break;
        }
      }
    }
  }
  return { allowsRequest, breaks: [...breaks].sort() };
}

function clone(obj: KubeObject): Record<string, unknown> {
  const { status: _status, ...rest } = structuredClone(obj) as unknown as Record<string, unknown>;
  const meta = { ...(rest["metadata"] as Record<string, unknown>) };
  for (const k of ["creationTimestamp", "resourceVersion", "uid", "generation", "managedFields"]) {
    delete meta[k];
  }
  return { ...rest, metadata: meta };
}

/** The candidates, smallest first, and what is wrong elsewhere. */
function candidates(
  idx: PolicyIndex,
  input: SafeSuggestInput,
): { list: Change[]; causes: string[] } {
  const model = idx.model;
  const ns = input.namespace;
  const list: Change[] = [];
  const causes: string[] = [];
  const s = input.server;
  const meshed = input.clients.filter((c) => c.meshed);
  const allMeshed = meshed.length === input.clients.length && meshed.length > 0;
  const routeTargets = new Set(input.deniedRoutes.map((r) => r.toLowerCase()));
  const targetsHere = (t: { kind: string; name: string } | undefined) =>
    !!t && (
      (t.kind === "Server" && s.kind === "server" && t.name === s.name) ||
      (t.kind === "Namespace" && s.kind === "server" && t.name === ns) ||
      routeTargets.has(`${t.kind}/${t.name}`.toLowerCase())
    );

  // 1. an AuthorizationPolicy here is ignored because of a reference we can fix
  for (const p of model.policies) {
    if (
      p.namespace !== ns || p.kind !== "AuthorizationPolicy" || p.authz || !targetsHere(p.target)
    ) {
      continue;
    }
    const fixed = clone(p.obj);
    const refs = ((fixed["spec"] as Record<string, unknown>)["requiredAuthenticationRefs"] ??
      []) as Array<Record<string, unknown>>;
    let fixable = p.ignored.length > 0;
    for (const problem of p.ignored) {
      const i = Number(problem.field?.match(/\[(\d+)\]/)?.[1] ?? -1);
      const ref = refs[i];
      if (
        problem.code === "unsupported-kind" && ref &&
        /^(meshtls|network)authentication$/i.test(String(ref["kind"]))
      ) {
        ref["group"] = POLICY_GROUP;
      } else if (
        problem.code === "unsupported-kind" && ref && /^serviceaccount$/i.test(String(ref["kind"]))
      ) {
        delete ref["group"];
      } else fixable = false;
    }
    causes.push(...p.ignored.map((x) => x.message));
    if (fixable) {
      list.push({
        change: "fix-policy",
        intro: `AuthorizationPolicy "${p.name}" is ignored by the policy controller (${
          p.ignored[0]!.message
        }); fix its reference`,
        docs: [fixed],
      });
    }
  }

  // 2. a Server selects these pods but names no port
  const pod0 = input.targetPods[0];
  const cp = pod0 ? containerPort(pod0, input.port) : undefined;
  if (pod0 && cp !== undefined) {
    for (const srv of model.serversIn(ns)) {
      if (!srv.selectsPods || typeof srv.port !== "string") continue;
      if (!matchesLinkerdSelector(srv.selector, pod0.metadata.labels)) continue;
      if (model.podPorts(pod0).byName.has(srv.port)) continue;
      causes.push(
        `Server "${srv.name}" selects these pods but no port: its port "${srv.port}" names no container port${
          /^\d+$/.test(srv.port) ? " (a quoted number is a port name)" : ""
        }`,
      );
      if (/^\d+$/.test(srv.port) && Number(srv.port) === cp) {
        const fixed = clone(srv.obj);
        (fixed["spec"] as Record<string, unknown>)["port"] = cp;
        list.push({
          change: "fix-server-port",
          intro: `Server "${srv.name}" was meant for port ${cp}: write the port as a number`,
          docs: [fixed],
        });
      }
    }
  }

  // 3. widen a MeshTLSAuthentication an in-force policy here already uses
  if (allMeshed) {
    const seen = new Set<KubeObject>();
    for (const p of model.policies) {
      if (p.namespace !== ns || !p.authz || !targetsHere(p.target)) continue;
      for (const ref of p.refs) {
        if (ref.resolved !== "MeshTLSAuthentication" || !ref.object || seen.has(ref.object)) {
          continue;
        }
        seen.add(ref.object);
        const widened = clone(ref.object);
        const spec = (widened["spec"] ??= {}) as Record<string, unknown>;
        const users = model.policies.filter((q) =>
          q.refs.some((r) => r.object === ref.object) && q !== p
        ).map((q) => q.name);
        if (Array.isArray(spec["identities"]) && (spec["identities"] as unknown[]).length) {
          spec["identities"] = [
            ...(spec["identities"] as string[]),
            ...new Set(meshed.map((c) => c.identity!)),
          ];
        } else {
          const refs = (spec["identityRefs"] ?? []) as Array<Record<string, string>>;
          for (const key of new Set(meshed.map((c) => `${c.namespace}/${c.serviceAccount}`))) {
            const [namespace, name] = key.split("/") as [string, string];
            refs.push({
              kind: "ServiceAccount",
              name,
              ...(namespace !== ref.object.metadata.namespace ? { namespace } : {}),
            });
          }
          spec["identityRefs"] = refs;
        }
        list.push({
          change: "widen-authentication",
          intro:
            `Add the source's identity to MeshTLSAuthentication "${ref.object.metadata.name}", which AuthorizationPolicy "${p.name}" already uses${
              users.length
                ? ` (also used by ${
                  users.map((u) => `"${u}"`).join(", ")
                }, which then admit the source too)`
                : ""
            }`,
          docs: [widened],
        });
      }
    }
  }

  // 4. reuse an authentication that already names every client
  if (allMeshed) {
    for (const obj of itemsOf(model.state, "meshtlsauthentications", ns)) {
      const m = meshTlsMatches(obj, idx.mesh);
      if ("code" in m) continue;
      const authn = { type: "tls" as const, ...m };
      if (!meshed.every((c) => matchAuthentication(authn, c))) continue;
      if (m.suffixes.includes("")) continue; // "*" would admit every meshed client
      const targets = input.deniedRoutes.length && s.kind === "server"
        ? input.deniedRoutes.map((r) => {
          const [kind, name] = r.split("/") as [string, string];
          const route = s.routes.find((x) => x.kind === kind && x.name === name);
          return { group: route?.group ?? POLICY_GROUP, kind, name };
        })
        : s.kind === "server"
        ? [{ group: POLICY_GROUP, kind: "Server", name: s.name }]
        : [];
      if (!targets.length) continue;
      list.push({
        change: "reuse-authentication",
        intro:
          `Authorize the source with the existing MeshTLSAuthentication "${obj.metadata.name}", which already names it`,
        docs: targets.map((t) => ({
          apiVersion: "policy.linkerd.io/v1alpha1",
          kind: "AuthorizationPolicy",
          metadata: { name: dnsName(input.sourceName, "to", t.name), namespace: ns },
          spec: {
            targetRef: t,
            requiredAuthenticationRefs: [{
              group: POLICY_GROUP,
              kind: "MeshTLSAuthentication",
              name: obj.metadata.name,
            }],
          },
        })),
      });
      break;
    }
  }
  return { list, causes };
}

/**
 * The smallest checked change that allows the clients, or a sentence when none can
 * (`null` when nothing needs to change).
 */
export function safeSuggestion(
  idx: PolicyIndex,
  input: SafeSuggestInput,
): { text: string; check: SuggestionCheck } | null {
  const s = input.server;
  if (input.clients.length === 0 || s.kind === "skipped" || s.kind === "unmeshed") return null;
  const { list, causes } = candidates(idx, input);
  const base = {
    namespace: input.namespace,
    sourceService: input.sourceName,
    targetSelector: input.targetSelector,
    clients: input.clients,
    deniedRoutes: input.deniedRoutes,
  };
  const plain = newObjectsChange(s, base);
  if (typeof plain === "string") {
    return {
      text: [...causes, plain].join(". "),
      check: { change: "none", allowsRequest: false, breaks: [], notes: causes },
    };
  }
  if (plain) list.push(plain);
  const tried: Array<{ c: Change; allowsRequest: boolean; breaks: string[] }> = [];
  for (const c of list) {
    const r = checkChange(idx, input, c.docs);
    tried.push({ c, ...r });
    if (r.allowsRequest && r.breaks.length === 0) break;
  }
  let pick = tried.find((t) => t.allowsRequest && t.breaks.length === 0);
  const notes = [...causes];
  if (
    !pick && plain && s.kind === "default" && s.defaultPolicy && s.defaultPolicy !== "deny" &&
    idx.model.features.accessPolicy
  ) {
    // a new Server would deny the clients the default policy admits: keep it for them
    const broken = tried.find((t) => t.c === plain);
    const variant = newObjectsChange(s, { ...base, keepDefault: s.defaultPolicy });
    if (variant && typeof variant !== "string") {
      const r = checkChange(idx, input, variant.docs);
      if (broken?.breaks.length) {
        notes.push(
          `A Server with only the source's policy would deny ${
            broken.breaks.join(", ")
          }, which the default policy "${s.defaultPolicy}" admits today; this variant keeps that default for them`,
        );
      }
      tried.push({ c: variant, ...r });
      if (r.allowsRequest && r.breaks.length === 0) pick = tried[tried.length - 1];
    }
  }
  if (!pick) {
    pick = tried.find((t) => t.allowsRequest) ?? tried[tried.length - 1];
    if (pick?.breaks.length) {
      notes.push(
        `This change would also deny ${
          pick.breaks.join(", ")
        } on this port (allowed today); authorize them too before applying it`,
      );
    }
    if (pick && !pick.allowsRequest) {
      notes.push(
        `Checked against the model, this change still does not allow ${
          input.clients.map(describeClient).join("; ")
        }`,
      );
    }
  }
  if (!pick) return null;
  const skipped = tried.filter((t) => t !== pick && t.c.change !== pick!.c.change).map((t) =>
    `${t.c.change} (${
      !t.allowsRequest ? "would not allow the source" : `would deny ${t.breaks.join(", ")}`
    })`
  );
  if (skipped.length) {
    notes.push(`Smaller changes were checked and rejected: ${skipped.join("; ")}`);
  }
  return {
    text: renderChange(pick.c),
    check: {
      change: pick.c.change,
      allowsRequest: pick.allowsRequest,
      breaks: pick.breaks,
      notes,
    },
  };
}
