/**
 * Linkerd's proxy injector, modelled for manifests and the demo mesh: decides whether a
 * pod is injected (`linkerd.io/inject` on the pod or its namespace), copies the
 * namespace's `config.linkerd.io/*` annotations onto the pod, and adds the labels,
 * annotations, `linkerd-init` and `linkerd-proxy` containers that the webhook adds.
 *
 * Pure: no I/O, inputs are never mutated. Modelled on `pkg/inject/inject.go` and the
 * `linkerd inject` goldens (`cli/cmd/testdata/inject_emojivoto_*.golden.yml`).
 *
 * @module
 */
import type { ContainerSpec, Pod } from "../mesh/pods.ts";
import { PROXY_CONTAINER } from "../mesh/pods.ts";
import type { KubeObject } from "./types.ts";

/** Linkerd's default opaque ports (`proxy.opaquePorts` in the control-plane chart). */
export const DEFAULT_OPAQUE_PORTS = "25,587,3306,4444,5432,6379,9300,11211";

const DEFAULT_NETWORKS = "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8";
const INJECT = "linkerd.io/inject";
const NATIVE_SIDECAR_KEYS = [
  "config.linkerd.io/proxy-enable-native-sidecar",
  "config.beta.linkerd.io/proxy-enable-native-sidecar",
  "config.alpha.linkerd.io/proxy-enable-native-sidecar",
];

/** Control-plane settings the injector renders into the proxy (from `linkerd-config`). */
export interface InjectorConfig {
  /** Control plane namespace, default `linkerd`. */
  controlPlaneNamespace?: string;
  /** Proxy version (`proxy.image.version`); `linkerd.io/proxy-version` and the image tag. */
  proxyVersion?: string;
  /** Proxy image name, default `cr.l5d.io/linkerd/proxy`. */
  proxyImage?: string;
  /** `identityTrustDomain`, default `cluster.local`. */
  trustDomain?: string;
  /** Comma-separated cluster networks. */
  clusterNetworks?: string;
  /** Cluster default inbound policy, default `all-unauthenticated`. */
  defaultInboundPolicy?: string;
  /** `proxy.nativeSidecar`; default true (Linkerd 2.20 / edge-26.5.2 and later). */
  nativeSidecar?: boolean;
  /** Default opaque ports, default {@linkcode DEFAULT_OPAQUE_PORTS}. */
  opaquePorts?: string;
  /** `cniEnabled`: the init container is `linkerd-network-validator` instead of `linkerd-init`. */
  cniEnabled?: boolean;
  /** `linkerd.io/created-by`, default `linkerd/proxy-injector <proxyVersion>`. */
  createdBy?: string;
  /** `linkerd.io/trust-root-sha256`, added when known. */
  trustRootSha256?: string;
}

/** Options for {@linkcode injectPod}. */
export interface InjectPodOptions extends InjectorConfig {
  /** The pod's Namespace object, for its `linkerd.io/inject` and config annotations. */
  namespace?: KubeObject;
  /** The workload that owns the pod; gives the `linkerd.io/proxy-<kind>: <name>` label. */
  owner?: { kind: string; name: string };
}

/** How a pod is injected: `ingress` runs the proxy in ingress mode. */
export type InjectMode = "enabled" | "ingress";

/** True when the pod already carries Linkerd's proxy container. */
export function hasProxy(pod: Pod): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]
    .some((c) => c.name === PROXY_CONTAINER);
}

/**
 * Whether the injector would mesh a pod with these annotations in this namespace:
 * the pod's (template's) `linkerd.io/inject` wins over the namespace's, `disabled`
 * opts out. Namespaces labelled `config.linkerd.io/admission-webhooks: disabled`
 * (the control plane's own), `kube-system` and `cert-manager` are never seen by the
 * webhook, and host-network pods are not injected.
 */
export function injectMode(pod: Pod, namespace?: KubeObject): InjectMode | undefined {
  const nsName = pod.metadata.namespace ?? namespace?.metadata.name;
  if (namespace?.metadata.labels?.["config.linkerd.io/admission-webhooks"] === "disabled") {
    return undefined;
  }
  if (nsName === "kube-system" || nsName === "cert-manager") return undefined;
  if (pod.spec?.hostNetwork) return undefined;
  const value = pod.metadata.annotations?.[INJECT] ?? namespace?.metadata.annotations?.[INJECT];
  return value === "enabled" || value === "ingress" ? value : undefined;
}

/**
 * Returns the pod as Linkerd's proxy injector would admit it. Pods the injector would
 * skip (see {@linkcode injectMode}) and pods that already have a `linkerd-proxy`
 * container are returned unchanged (the same object).
 */
export function injectPod(pod: Pod, opts: InjectPodOptions = {}): Pod {
  if (hasProxy(pod)) return pod;
  const mode = injectMode(pod, opts.namespace);
  if (!mode) return pod;

  const out = structuredClone(pod);
  const meta = out.metadata;
  const annotations: Record<string, string> = { ...meta.annotations };
  for (const [k, v] of Object.entries(opts.namespace?.metadata.annotations ?? {})) {
    const proxyKey = k.startsWith("config.linkerd.io/") || k.startsWith("config.alpha.linkerd.io/");
    if (proxyKey && !(k in annotations)) annotations[k] = v;
  }

  const cpNs = opts.controlPlaneNamespace ?? "linkerd";
  const version = annotations["config.linkerd.io/proxy-version"] ?? opts.proxyVersion ?? "unknown";
  const image = `${
    annotations["config.linkerd.io/proxy-image"] ?? opts.proxyImage ??
      "cr.l5d.io/linkerd/proxy"
  }:${version}`;
  const ns = meta.namespace ?? opts.namespace?.metadata.name ?? "default";

  annotations["linkerd.io/created-by"] = opts.createdBy ?? `linkerd/proxy-injector ${version}`;
  annotations["linkerd.io/proxy-version"] = version;
  if (opts.trustRootSha256) annotations["linkerd.io/trust-root-sha256"] = opts.trustRootSha256;
  meta.annotations = annotations;

  const labels: Record<string, string> = { ...meta.labels };
  labels["linkerd.io/control-plane-ns"] = cpNs;
  if (opts.owner) labels[`linkerd.io/proxy-${opts.owner.kind.toLowerCase()}`] = opts.owner.name;
  labels["linkerd.io/workload-ns"] = ns;
  meta.labels = labels;

  const nativeKey = NATIVE_SIDECAR_KEYS.find((k) => k in annotations);
  const native = nativeKey ? annotations[nativeKey] === "true" : opts.nativeSidecar ?? true;
  const spec = out.spec ?? (out.spec = {});
  const proxy = proxyContainerFor(spec.containers ?? [], annotations, {
    ...opts,
    controlPlaneNamespace: cpNs,
    image,
    mode,
    native,
  });
  const init = initContainerFor(image, annotations, opts.cniEnabled ?? false);
  const existingInit = spec.initContainers ?? [];
  if (native) {
    spec.initContainers = [init, proxy, ...existingInit];
  } else {
    spec.initContainers = [init, ...existingInit];
    spec.containers = [proxy, ...(spec.containers ?? [])];
  }
  const volumes = (spec as Record<string, unknown>)["volumes"] as unknown[] | undefined;
  (spec as Record<string, unknown>)["volumes"] = [
    ...(volumes ?? []),
    ...(opts.cniEnabled ? [] : [{ emptyDir: {}, name: "linkerd-proxy-init-xtables-lock" }]),
    { emptyDir: { medium: "Memory" }, name: "linkerd-identity-end-entity" },
    {
      name: "linkerd-identity-token",
      projected: {
        sources: [{
          serviceAccountToken: {
            audience: "identity.l5d.io",
            expirationSeconds: 86400,
            path: "linkerd-identity-token",
          },
        }],
      },
    },
  ];
  return out;
}

function initContainerFor(
  image: string,
  annotations: Record<string, string>,
  cni: boolean,
): ContainerSpec {
  if (cni) {
    return {
      name: "linkerd-network-validator",
      image,
      command: ["/usr/lib/linkerd/linkerd2-network-validator"],
    } as ContainerSpec;
  }
  const skipIn = annotations["config.linkerd.io/skip-inbound-ports"];
  const skipOut = annotations["config.linkerd.io/skip-outbound-ports"];
  return {
    name: "linkerd-init",
    image,
    imagePullPolicy: "IfNotPresent",
    command: ["/usr/lib/linkerd/linkerd2-proxy-init"],
    args: [
      "--incoming-proxy-port",
      "4143",
      "--outgoing-proxy-port",
      "4140",
      "--proxy-uid",
      "2102",
      "--inbound-ports-to-ignore",
      ["4190,4191", skipIn].filter(Boolean).join(","),
      ...(skipOut ? ["--outbound-ports-to-ignore", skipOut] : []),
    ],
    volumeMounts: [{ mountPath: "/run", name: "linkerd-proxy-init-xtables-lock" }],
  } as ContainerSpec;
}

function proxyContainerFor(
  appContainers: readonly ContainerSpec[],
  annotations: Record<string, string>,
  opts: InjectorConfig & {
    controlPlaneNamespace: string;
    image: string;
    mode: InjectMode;
    native: boolean;
  },
): ContainerSpec {
  const cpNs = opts.controlPlaneNamespace;
  const td = opts.trustDomain ?? "cluster.local";
  const networks = opts.clusterNetworks ?? DEFAULT_NETWORKS;
  const inboundPorts = [
    ...new Set(appContainers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort))),
  ].sort((a, b) => a - b);
  const svc = (name: string) => `${name}.${cpNs}.serviceaccount.identity.${cpNs}.${td}`;
  const env: Array<{ name: string; value?: string; valueFrom?: unknown }> = [
    { name: "_pod_name", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "_pod_ns", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "_pod_sa", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
    {
      name: "LINKERD2_PROXY_LOG",
      value: annotations["config.linkerd.io/proxy-log-level"] ??
        "warn,linkerd=info,hickory=error,[{headers}]=off,[{request}]=off",
    },
    {
      name: "LINKERD2_PROXY_DESTINATION_SVC_ADDR",
      value: `linkerd-dst-headless.${cpNs}.svc.cluster.local.:8086`,
    },
    {
      name: "LINKERD2_PROXY_POLICY_SVC_ADDR",
      value: `linkerd-policy.${cpNs}.svc.cluster.local.:8090`,
    },
    {
      name: "LINKERD2_PROXY_POLICY_WORKLOAD",
      value: '{"ns":"$(_pod_ns)", "pod":"$(_pod_name)"}\n',
    },
    {
      name: "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY",
      value: annotations["config.linkerd.io/default-inbound-policy"] ??
        opts.defaultInboundPolicy ?? "all-unauthenticated",
    },
    { name: "LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS", value: networks },
    { name: "LINKERD2_PROXY_CONTROL_LISTEN_ADDR", value: "0.0.0.0:4190" },
    { name: "LINKERD2_PROXY_ADMIN_LISTEN_ADDR", value: "0.0.0.0:4191" },
    { name: "LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR", value: "127.0.0.1:4140" },
    { name: "LINKERD2_PROXY_INBOUND_LISTEN_ADDR", value: "0.0.0.0:4143" },
    inboundPorts.length
      ? { name: "LINKERD2_PROXY_INBOUND_PORTS", value: inboundPorts.join(",") }
      : { name: "LINKERD2_PROXY_INBOUND_PORTS" },
    {
      name: "LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION",
      value: annotations["config.linkerd.io/opaque-ports"] ?? opts.opaquePorts ??
        DEFAULT_OPAQUE_PORTS,
    },
    ...(annotations["config.linkerd.io/proxy-require-identity-inbound-ports"]
      ? [{
        name: "LINKERD2_PROXY_INBOUND_PORTS_REQUIRE_IDENTITY",
        value: annotations["config.linkerd.io/proxy-require-identity-inbound-ports"],
      }]
      : []),
    ...(opts.mode === "ingress" ? [{ name: "LINKERD2_PROXY_INGRESS_MODE", value: "true" }] : []),
    { name: "_l5d_ns", value: cpNs },
    { name: "_l5d_trustdomain", value: td },
    { name: "LINKERD2_PROXY_IDENTITY_DIR", value: "/var/run/linkerd/identity/end-entity" },
    {
      name: "LINKERD2_PROXY_IDENTITY_SVC_ADDR",
      value: `linkerd-identity-headless.${cpNs}.svc.cluster.local.:8080`,
    },
    {
      name: "LINKERD2_PROXY_IDENTITY_LOCAL_NAME",
      value: `$(_pod_sa).$(_pod_ns).serviceaccount.identity.${cpNs}.${td}`,
    },
    { name: "LINKERD2_PROXY_IDENTITY_SVC_NAME", value: svc("linkerd-identity") },
    { name: "LINKERD2_PROXY_DESTINATION_SVC_NAME", value: svc("linkerd-destination") },
    { name: "LINKERD2_PROXY_POLICY_SVC_NAME", value: svc("linkerd-destination") },
  ];
  const container: ContainerSpec & Record<string, unknown> = {
    name: PROXY_CONTAINER,
    image: opts.image,
    imagePullPolicy: "IfNotPresent",
    env,
    livenessProbe: { httpGet: { path: "/live", port: 4191 } },
    ports: [
      { containerPort: 4143, name: "linkerd-proxy" },
      { containerPort: 4191, name: "linkerd-admin" },
    ],
    readinessProbe: { httpGet: { path: "/ready", port: 4191 } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 2102,
    },
    volumeMounts: [
      { mountPath: "/var/run/linkerd/identity/end-entity", name: "linkerd-identity-end-entity" },
      { mountPath: "/var/run/secrets/tokens", name: "linkerd-identity-token" },
    ],
  };
  if (opts.native) {
    container.restartPolicy = "Always";
    container.startupProbe = { httpGet: { path: "/ready", port: 4191 } };
  }
  return container;
}
