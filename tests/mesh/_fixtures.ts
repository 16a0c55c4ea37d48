/**
 * Builders for mesh tests: running pods made from the upstream install goldens'
 * Deployments, with status as a live cluster reports it.
 *
 * @module
 */
import type { KubeObject } from "../../src/kube/types.ts";
import type { ContainerStatus, Pod, PodSpec } from "../../src/mesh/pods.ts";
import { objectsFromYaml, upstreamFixture } from "../_helpers.ts";

/** A trust-anchor PEM from `tests/fixtures/mesh/anchors/`. */
export function anchorPem(name: "valid" | "expiring" | "expired" | "future" | "rsa1024"): string {
  return Deno.readTextFileSync(
    new URL(`../fixtures/mesh/anchors/${name}.pem`, import.meta.url),
  );
}

interface Template {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: PodSpec;
}

/** Options for {@linkcode runningPods}. */
export interface RunningPodsOptions {
  replicas?: number;
  /** Override individual container statuses by container name. */
  statuses?: Record<string, Partial<ContainerStatus>>;
  phase?: string;
}

/** Running, ready pods for a Deployment (its template, owned through a ReplicaSet). */
export function runningPods(deployment: KubeObject, opts: RunningPodsOptions = {}): KubeObject[] {
  const tpl = (deployment.spec as { template?: Template }).template ?? {};
  const name = deployment.metadata.name;
  const hash = "5d8c7f9b6";
  const pods: Pod[] = [];
  for (let i = 0; i < (opts.replicas ?? 1); i++) {
    const status = (c: string, ready: boolean): ContainerStatus => ({
      name: c,
      ready,
      restartCount: 0,
      started: ready,
      state: ready ? { running: {} } : { terminated: { reason: "Completed", exitCode: 0 } },
      ...opts.statuses?.[c],
    });
    const init = (tpl.spec?.initContainers ?? []).map((c) =>
      status(c.name, c.restartPolicy === "Always")
    );
    const main = (tpl.spec?.containers ?? []).map((c) => status(c.name, true));
    const allReady = [
      ...main,
      ...init.filter((s) =>
        tpl.spec?.initContainers?.find((c) => c.name === s.name)?.restartPolicy === "Always"
      ),
    ].every((s) => s.ready);
    pods.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${name}-${hash}-${"abcdefghij"[i]}x${i}`,
        namespace: deployment.metadata.namespace!,
        labels: { ...tpl.metadata?.labels, "pod-template-hash": hash },
        annotations: { ...tpl.metadata?.annotations },
        ownerReferences: [{
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${name}-${hash}`,
          controller: true,
        }],
      },
      spec: structuredClone(tpl.spec ?? {}),
      status: {
        phase: opts.phase ?? "Running",
        conditions: [{ type: "Ready", status: allReady ? "True" : "False" }],
        initContainerStatuses: init,
        containerStatuses: main,
      },
    });
  }
  return pods as unknown as KubeObject[];
}

/** Marks a Deployment available (`status.availableReplicas`), or with the given count. */
export function withStatus(deployment: KubeObject, available?: number): KubeObject {
  const replicas = (deployment.spec as { replicas?: number }).replicas ?? 1;
  return {
    ...deployment,
    status: {
      replicas,
      readyReplicas: available ?? replicas,
      availableReplicas: available ?? replicas,
    },
  };
}

/** Options for {@linkcode meshObjects}. */
export interface MeshObjectsOptions {
  /** Include the Linkerd CRDs (default true). */
  crds?: boolean;
  /** Include viz (default false). */
  viz?: boolean;
  /** Replace the trust-roots bundle. */
  trustRoots?: string;
  /** Per-Deployment pod options, by Deployment name. */
  pods?: Record<string, RunningPodsOptions>;
  /** Give objects runtime status, as a live cluster has (default true). */
  live?: boolean;
}

const parsed = new Map<string, KubeObject[]>();

/** Objects of an upstream fixture, parsed once and cloned per call. */
function upstream(path: string): KubeObject[] {
  let objects = parsed.get(path);
  if (!objects) parsed.set(path, objects = objectsFromYaml(upstreamFixture(path)));
  return structuredClone(objects);
}

/** The upstream default install (plus CRDs and optionally viz) as a running cluster. */
export function meshObjects(opts: MeshObjectsOptions = {}): KubeObject[] {
  const docs = [
    ...upstream("control-plane/install_default.golden.yaml"),
    ...(opts.crds ?? true ? upstream("crds/install_crds.golden.yaml") : []),
    ...(opts.viz ? upstream("viz/install_default.golden.yaml") : []),
  ];
  const out: KubeObject[] = [];
  for (const obj of docs) {
    if (obj.kind === "ConfigMap" && obj.metadata.name === "linkerd-identity-trust-roots") {
      out.push(
        opts.trustRoots === undefined
          ? obj
          : { ...obj, data: { "ca-bundle.crt": opts.trustRoots } },
      );
    } else if (obj.kind === "Deployment" && (opts.live ?? true)) {
      out.push(withStatus(obj));
      out.push(...runningPods(injectViz(obj), opts.pods?.[obj.metadata.name]));
    } else out.push(obj);
  }
  return out;
}

/** Viz pods are injected at admission: give them the control plane's labels and a proxy. */
function injectViz(dep: KubeObject): KubeObject {
  if (dep.metadata.namespace !== "linkerd-viz") return dep;
  const d = structuredClone(dep);
  const tpl = (d.spec as { template: Template }).template;
  tpl.metadata ??= {};
  tpl.metadata.labels = {
    ...tpl.metadata.labels,
    "linkerd.io/control-plane-ns": "linkerd",
    "linkerd.io/proxy-deployment": d.metadata.name,
    "linkerd.io/workload-ns": "linkerd-viz",
  };
  tpl.metadata.annotations = {
    ...tpl.metadata.annotations,
    "linkerd.io/proxy-version": "install-proxy-version",
  };
  tpl.spec ??= {};
  tpl.spec.initContainers = [
    ...(tpl.spec.initContainers ?? []),
    {
      name: "linkerd-proxy",
      image: "cr.l5d.io/linkerd/proxy:install-proxy-version",
      restartPolicy: "Always",
    },
  ];
  return d;
}

/** A meshed (or not) pod in an application namespace. */
export function appPod(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  opts: { meshed?: boolean; version?: string; owner?: string; proxyReady?: boolean } = {},
): KubeObject {
  const meshed = opts.meshed ?? true;
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: {
        ...labels,
        ...(meshed
          ? { "linkerd.io/control-plane-ns": "linkerd", "linkerd.io/workload-ns": namespace }
          : {}),
      },
      annotations: meshed
        ? { "linkerd.io/proxy-version": opts.version ?? "install-proxy-version" }
        : {},
      ...(opts.owner
        ? {
          ownerReferences: [{
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: opts.owner,
            controller: true,
          }],
        }
        : {}),
    },
    spec: {
      containers: [{ name: "app", image: "example/app:1" }],
      ...(meshed ? { initContainers: [{ name: "linkerd-proxy", restartPolicy: "Always" }] } : {}),
    },
    status: {
      phase: "Running",
      containerStatuses: [{ name: "app", ready: true, restartCount: 0 }],
      initContainerStatuses: meshed
        ? [{ name: "linkerd-proxy", ready: opts.proxyReady ?? true, restartCount: 0 }]
        : [],
    },
  };
  return pod as unknown as KubeObject;
}

/** A Service selecting `selector`. */
export function service(
  namespace: string,
  name: string,
  selector?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { ...(selector ? { selector } : {}), ports: [{ port: 80 }] },
  };
}
