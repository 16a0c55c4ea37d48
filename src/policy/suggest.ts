/**
 * The smallest change that would allow denied traffic, as YAML an operator can apply.
 *
 * @module
 */
import { stringify } from "yaml";
import type { Client, InboundServer } from "./types.ts";

/** What the suggestion is for. */
export interface SuggestOptions {
  /** Target namespace. */
  namespace: string;
  /** Source Service name (used to name new objects). */
  sourceService: string;
  /** The target Service's selector (for a new Server's podSelector). */
  targetSelector: Record<string, string>;
  /** The denied clients. */
  clients: readonly Client[];
  /** Route names (kind/name) that deny the clients, when routes are attached. */
  deniedRoutes: readonly string[];
}

function dnsName(...parts: string[]): string {
  return parts.join("-").toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63).replace(/-+$/, "");
}

function authnFor(
  clients: readonly Client[],
  opts: { namespace: string; name: string },
): { doc?: Record<string, unknown>; ref?: Record<string, unknown>; note?: string } {
  const meshed = clients.filter((c) => c.meshed);
  if (meshed.length === clients.length) {
    const refs = [...new Set(meshed.map((c) => `${c.namespace}/${c.serviceAccount}`))].sort().map(
      (k) => {
        const [namespace, name] = k.split("/");
        return { kind: "ServiceAccount", name, namespace };
      },
    );
    return {
      doc: {
        apiVersion: "policy.linkerd.io/v1alpha1",
        kind: "MeshTLSAuthentication",
        metadata: { name: opts.name, namespace: opts.namespace },
        spec: { identityRefs: refs },
      },
      ref: { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: opts.name },
    };
  }
  const ips = [...new Set(clients.flatMap((c) => c.ips))].sort();
  if (ips.length && meshed.length === 0) {
    return {
      doc: {
        apiVersion: "policy.linkerd.io/v1alpha1",
        kind: "NetworkAuthentication",
        metadata: { name: opts.name, namespace: opts.namespace },
        spec: {
          networks: ips.map((ip) => ({ cidr: ip.includes(":") ? `${ip}/128` : `${ip}/32` })),
        },
      },
      ref: { group: "policy.linkerd.io", kind: "NetworkAuthentication", name: opts.name },
      note:
        "pod IPs change on restart; meshing the source (linkerd.io/inject: enabled) and authorizing its identity is more durable",
    };
  }
  return {
    note:
      "the source has unmeshed pods: mesh it (annotate its pod template or namespace with linkerd.io/inject: enabled and restart) so that it presents an mTLS identity, then authorize that identity",
  };
}

/** A proposed change: a sentence and the objects to apply (new, or full replacements). */
export interface Change {
  /** `fix-policy`, `fix-server-port`, `widen-authentication`, `reuse-authentication`, `new-policy`, `new-server`. */
  change: string;
  /** One sentence (no newline). */
  intro: string;
  docs: Record<string, unknown>[];
}

/** Renders a change as the sentence, a colon and the YAML documents. */
export function renderChange(c: Change): string {
  return `${c.intro}:\n${c.docs.map((d) => stringify(d)).join("---\n")}`;
}

/**
 * New objects that would allow the denied clients on this inbound server (the last
 * resort of the safe suggestion): a MeshTLSAuthentication (or NetworkAuthentication)
 * and an AuthorizationPolicy, plus a Server when only a default policy governs the port.
 * With `keepDefault`, the new Server keeps the pod's default policy for every other
 * client (`accessPolicy`, 2.16+). `undefined` with a sentence when no object can help.
 */
export function newObjectsChange(
  server: InboundServer,
  opts: SuggestOptions & { keepDefault?: string },
): Change | string | undefined {
  if (opts.clients.length === 0 || server.kind === "skipped" || server.kind === "unmeshed") {
    return undefined;
  }
  const ns = opts.namespace;
  const authn = authnFor(opts.clients, {
    namespace: ns,
    name: dnsName(opts.sourceService, "authn"),
  });
  const docs: Record<string, unknown>[] = [];
  let intro: string;
  let serverName = server.name;
  let change = "new-policy";
  if (server.kind === "default") {
    const unmeshedOnly = !authn.doc && authn.note;
    if (
      unmeshedOnly && server.name.endsWith("authenticated") &&
      !server.name.endsWith("unauthenticated")
    ) {
      return `The default policy "${server.name}" requires mesh TLS: ${authn.note}`;
    }
    change = "new-server";
    serverName = dnsName("port", String(server.port), "server");
    docs.push({
      apiVersion: "policy.linkerd.io/v1beta3",
      kind: "Server",
      metadata: { name: serverName, namespace: ns },
      spec: {
        podSelector: { matchLabels: opts.targetSelector },
        port: server.port,
        ...(opts.keepDefault ? { accessPolicy: opts.keepDefault } : {}),
      },
    });
    intro = opts.keepDefault
      ? `Create a Server for port ${server.port} that keeps the default policy "${opts.keepDefault}" for the other clients (accessPolicy) and authorize the source on it`
      : `Create a Server for port ${server.port} and authorize the source on it (a Server denies every client it does not authorize); or set the pod annotation config.linkerd.io/default-inbound-policy to a policy that admits the source and restart the pods`;
  } else if (opts.deniedRoutes.length) {
    intro = `Authorize the source on the denied route(s) ${opts.deniedRoutes.join(", ")}`;
  } else {
    intro = `Authorize the source on Server "${server.name}"`;
  }
  if (authn.doc) docs.push(authn.doc);
  const targets = opts.deniedRoutes.length && server.kind === "server"
    ? opts.deniedRoutes.map((r) => {
      const [kind, name] = r.split("/");
      const route = server.routes.find((x) => x.kind === kind && x.name === name);
      return { group: route?.group ?? "policy.linkerd.io", kind: kind!, name: name! };
    })
    : [{ group: "policy.linkerd.io", kind: "Server", name: serverName }];
  for (const t of targets) {
    docs.push({
      apiVersion: "policy.linkerd.io/v1alpha1",
      kind: "AuthorizationPolicy",
      metadata: { name: dnsName(opts.sourceService, "to", t.name), namespace: ns },
      spec: {
        targetRef: t,
        requiredAuthenticationRefs: authn.ref ? [authn.ref] : [],
      },
    });
  }
  if (!authn.ref) {
    return {
      change,
      intro:
        `${authn.note}. Until then, an AuthorizationPolicy with empty requiredAuthenticationRefs would admit every client`,
      docs,
    };
  }
  return { change, intro: `${intro}${authn.note ? ` (${authn.note})` : ""}`, docs };
}

/** YAML (and a sentence) that would allow the denied clients on this inbound server. */
export function suggestChange(server: InboundServer, opts: SuggestOptions): string | null {
  const c = newObjectsChange(server, opts);
  if (c === undefined) return null;
  return typeof c === "string" ? c : renderChange(c);
}

/** A DNS-1123 name made of parts. */
export { dnsName };
