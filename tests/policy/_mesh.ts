/**
 * Test helpers for the policy model: Pods from Deployments (as the proxy injector
 * would create them), small object builders, and an index over YAML.
 *
 * @module
 */
import { loadConfig } from "../../src/config.ts";
import { stateFromObjects } from "../../src/kube/state.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { readMeshConfig } from "../../src/mesh/config.ts";
import { buildPolicyIndex, type PolicyIndex } from "../../src/policy/mod.ts";
import { objectsFromYaml } from "../_helpers.ts";

/** Options for {@linkcode podsFromWorkloads}. */
export interface PodsFromWorkloadsOptions {
  /** Namespace for objects that have none (manifests applied with `kubectl -n`). */
  namespace?: string;
  /** Mesh every workload (as `linkerd inject` would). */
  inject?: boolean;
}

/**
 * Adds one Pod per Deployment/StatefulSet/DaemonSet, meshed (control-plane label and
 * a `linkerd-proxy` container with `linkerd-admin` 4191) when injected by option,
 * namespace annotation or template annotation. Namespace `config.linkerd.io/*`
 * annotations are copied onto the pod, as the injector does.
 */
export function podsFromWorkloads(
  objects: readonly KubeObject[],
  opts: PodsFromWorkloadsOptions = {},
): KubeObject[] {
  const out = objects.map((o) =>
    o.metadata.namespace || o.kind === "Namespace" || !opts.namespace
      ? o
      : { ...o, metadata: { ...o.metadata, namespace: opts.namespace } }
  );
  const namespaces = new Map(
    out.filter((o) => o.kind === "Namespace").map((n) => [n.metadata.name, n]),
  );
  for (const w of [...out]) {
    if (!["Deployment", "StatefulSet", "DaemonSet"].includes(w.kind)) continue;
    const template = ((w.spec ?? {})["template"] ?? {}) as {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: Record<string, unknown>;
    };
    const nsAnn = namespaces.get(w.metadata.namespace ?? "")?.metadata.annotations ?? {};
    const tplAnn = template.metadata?.annotations ?? {};
    const inject = tplAnn["linkerd.io/inject"] ?? nsAnn["linkerd.io/inject"];
    const meshed = inject === "enabled" || (opts.inject === true && inject !== "disabled");
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(nsAnn)) {
      if (k.startsWith("config.linkerd.io/")) annotations[k] = v;
    }
    Object.assign(annotations, tplAnn);
    const spec = structuredClone(template.spec ?? {}) as { containers?: unknown[] };
    if (meshed) {
      spec.containers = [...(spec.containers ?? []), {
        name: "linkerd-proxy",
        image: "cr.l5d.io/linkerd/proxy:edge-26.8.3",
        ports: [{ name: "linkerd-proxy", containerPort: 4143 }, {
          name: "linkerd-admin",
          containerPort: 4191,
        }],
      }];
    }
    out.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${w.metadata.name}-0`,
        namespace: w.metadata.namespace ?? "default",
        labels: {
          ...(template.metadata?.labels ?? {}),
          // the injector also names the pod's owner (`linkerd.io/proxy-deployment: web`)
          ...(meshed
            ? {
              "linkerd.io/control-plane-ns": "linkerd",
              [`linkerd.io/proxy-${w.kind.toLowerCase()}`]: w.metadata.name,
            }
            : {}),
        },
        annotations,
      },
      spec,
    });
  }
  return out;
}

/** A Pod, written directly. */
export function mkPod(
  name: string,
  opts: {
    ns?: string;
    app: string;
    sa?: string;
    meshed?: boolean;
    ip?: string;
    annotations?: Record<string, string>;
    ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
    probePath?: string;
    created?: string;
  },
): KubeObject {
  const ports = opts.ports ?? [{ name: "http", containerPort: 8080 }];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: opts.ns ?? "ns",
      labels: {
        app: opts.app,
        ...(opts.meshed === false ? {} : { "linkerd.io/control-plane-ns": "linkerd" }),
      },
      annotations: opts.annotations ?? {},
    },
    spec: {
      serviceAccountName: opts.sa ?? opts.app,
      containers: [{
        name: "main",
        ports,
        ...(opts.probePath
          ? { readinessProbe: { httpGet: { path: opts.probePath, port: ports[0]!.containerPort } } }
          : {}),
      }],
    },
    ...(opts.ip ? { status: { phase: "Running", podIP: opts.ip, podIPs: [{ ip: opts.ip }] } } : {}),
  };
}

/** A Service selecting `app=<app>`. */
export function mkService(
  name: string,
  opts: {
    ns?: string;
    app?: string;
    ports?: Array<{ name?: string; port: number; targetPort?: number | string }>;
  },
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: opts.ns ?? "ns" },
    spec: {
      selector: { app: opts.app ?? name },
      ports: opts.ports ?? [{ name: "http", port: 80, targetPort: 8080 }],
    },
  };
}

/** Builds an index over objects, with optional environment (e.g. `LINKERD_DEFAULT_INBOUND_POLICY`). */
export function indexOf(
  objects: readonly KubeObject[],
  env: Record<string, string> = {},
): PolicyIndex {
  const state = stateFromObjects(objects, { source: "test", linkerdNamespace: "linkerd" });
  return buildPolicyIndex(state, { mesh: readMeshConfig(state, loadConfig(env)) });
}

/** Objects from YAML text. */
export function yaml(text: string): KubeObject[] {
  return objectsFromYaml(text);
}
