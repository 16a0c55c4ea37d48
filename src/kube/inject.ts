/**
 * Linkerd's proxy injector, modelled for manifests and the demo mesh: decides whether a
 * pod is injected (the decision table of `pkg/inject/report.go`, {@linkcode injectReport}),
 * copies the namespace's proxy annotations onto the pod (`AppendNamespaceAnnotations`),
 * and adds the labels, annotations, `linkerd-init` and `linkerd-proxy` containers that
 * the webhook adds.
 *
 * It lives in `src/kube` beside the pod synthesis of the manifests source, which needs
 * it; it imports nothing from `src/mesh` (the arrow points from mesh to kube).
 *
 * Pure: no I/O, inputs are never mutated. Modelled on `pkg/inject/inject.go` and the
 * `linkerd inject` goldens (`cli/cmd/testdata/inject_emojivoto_*.golden.yml`).
 *
 * @module
 */
import type { ContainerSpec, KubeObject, Pod } from "./types.ts";

/** Name of Linkerd's proxy container. */
export const PROXY_CONTAINER = "linkerd-proxy";

/** Linkerd's default opaque ports (`proxy.opaquePorts` in the control-plane chart). */
export const DEFAULT_OPAQUE_PORTS = "25,587,3306,4444,5432,6379,9300,11211";

const DEFAULT_NETWORKS = "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8";
const INJECT = "linkerd.io/inject";
const OPAQUE = "config.linkerd.io/opaque-ports";
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

/**
 * Who injects: the proxy injector webhook (the namespace's annotations count, and are
 * copied onto the pod), or `linkerd inject` on the command line (only the pod's).
 */
export type InjectOrigin = "webhook" | "cli";

/** Options for {@linkcode injectPod}. */
export interface InjectPodOptions extends InjectorConfig {
  /** The pod's Namespace object, for its `linkerd.io/inject` and config annotations. */
  namespace?: KubeObject;
  /** Default `webhook` (what a cluster does on pod creation). */
  origin?: InjectOrigin;
  /** The workload that owns the pod; gives the `linkerd.io/proxy-<kind>: <name>` label. */
  owner?: { kind: string; name: string };
}

/** How a pod is injected: `ingress` runs the proxy in ingress mode. */
export type InjectMode = "enabled" | "ingress";

/**
 * Why the injector skips a pod: the reason codes of `pkg/inject/report.go`, plus
 * `webhook_not_called` for namespaces the webhook never sees (its namespace selector
 * leaves out `config.linkerd.io/admission-webhooks: disabled`, `kube-system` and
 * `cert-manager`).
 */
export type InjectSkipReason =
  | "host_network_enabled"
  | "sidecar_already_exists"
  | "injection_enable_annotation_absent"
  | "injection_disable_annotation_present"
  | "invalid_inject_annotation_at_workload"
  | "invalid_inject_annotation_at_ns"
  | "webhook_not_called";

/** The injector's decision for one pod (upstream `Report.Injectable()`). */
export interface InjectReport {
  injectable: boolean;
  /** Every reason the pod is skipped, in upstream order; empty when injectable. */
  reasons: InjectSkipReason[];
  /** How the proxy runs when injected. */
  mode?: InjectMode;
  /** Where the deciding `linkerd.io/inject` annotation is. */
  annotationAt?: "namespace" | "workload";
}

/** Values `linkerd.io/inject` may take (`ValidInjectAnnotationValues`). */
export const INJECT_VALUES = ["enabled", "disabled", "ingress"] as const;

/** Human sentences for the skip reasons (upstream `Reasons`). */
export const INJECT_SKIP_REASONS: Readonly<Record<InjectSkipReason, string>> = {
  "host_network_enabled": "hostNetwork is enabled",
  "sidecar_already_exists": "pod has a sidecar injected already",
  "injection_enable_annotation_absent":
    'neither the namespace nor the pod have the annotation "linkerd.io/inject:enabled"',
  "injection_disable_annotation_present": 'pod has the annotation "linkerd.io/inject:disabled"',
  "invalid_inject_annotation_at_workload":
    'invalid value for annotation "linkerd.io/inject" at workload',
  "invalid_inject_annotation_at_ns":
    'invalid value for annotation "linkerd.io/inject" at namespace',
  "webhook_not_called":
    "the proxy injector webhook is not called for this namespace (admission webhooks disabled, kube-system or cert-manager)",
};

/**
 * The annotations the webhook copies from the namespace onto a pod that does not set
 * them (`AppendNamespaceAnnotations`: `ProxyAnnotations`, the alpha config ones and
 * `linkerd.io/inject`). Other `config.*` keys on a namespace are not copied.
 */
export const NAMESPACE_INHERITED_ANNOTATIONS: readonly string[] = [
  ...[
    "admin-port",
    "control-port",
    "enable-debug-sidecar",
    "enable-external-profiles",
    "image-pull-policy",
    "inbound-port",
    "outbound-port",
    "pod-inbound-ports",
    "proxy-cpu-limit",
    "proxy-cpu-request",
    "proxy-image",
    "proxy-admin-shutdown",
    "proxy-log-format",
    "proxy-log-level",
    "proxy-log-http-headers",
    "proxy-memory-limit",
    "proxy-memory-request",
    "proxy-ephemeral-storage-limit",
    "proxy-ephemeral-storage-request",
    "proxy-uid",
    "proxy-gid",
    "proxy-version",
    "proxy-require-identity-inbound-ports",
    "skip-inbound-ports",
    "opaque-ports",
    "skip-outbound-ports",
    "proxy-metrics-hostname-labels",
    "proxy-outbound-connect-timeout",
    "proxy-inbound-connect-timeout",
    "proxy-await",
    "default-inbound-policy",
    "skip-subnets",
    "access-log",
    "shutdown-grace-period",
    "proxy-outbound-discovery-cache-unused-timeout",
    "proxy-inbound-discovery-cache-unused-timeout",
    "proxy-disable-outbound-protocol-detect-timeout",
    "proxy-disable-inbound-protocol-detect-timeout",
    "proxy-enable-native-sidecar",
    "proxy-additional-env",
  ].map((k) => `config.linkerd.io/${k}`),
  "config.alpha.linkerd.io/proxy-wait-before-exit-seconds",
  "config.alpha.linkerd.io/proxy-enable-native-sidecar",
  INJECT,
];

/**
 * The namespace annotations the webhook copies onto this pod: each of
 * {@linkcode NAMESPACE_INHERITED_ANNOTATIONS} the namespace sets and the pod does not,
 * whichever of the two enabled injection.
 */
export function inheritedAnnotations(
  podAnnotations: Readonly<Record<string, string>> | undefined,
  namespaceAnnotations: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!namespaceAnnotations) return out;
  for (const k of NAMESPACE_INHERITED_ANNOTATIONS) {
    if (!(k in namespaceAnnotations)) continue;
    if (podAnnotations && k in podAnnotations) continue;
    out[k] = namespaceAnnotations[k]!;
  }
  return out;
}

/** True when the pod carries a mesh sidecar already (upstream `HasExistingSidecars`). */
export function hasExistingSidecars(pod: Pod): boolean {
  const init = pod.spec?.initContainers ?? [];
  const all = [...init, ...(pod.spec?.containers ?? [])];
  if (
    all.some((c) =>
      c.name === PROXY_CONTAINER || c.name === "istio-proxy" ||
      c.image?.startsWith("cr.l5d.io/linkerd/proxy:") ||
      c.image?.startsWith("gcr.io/istio-release/proxyv2:")
    )
  ) return true;
  return init.some((c) =>
    c.name === "linkerd-init" || c.name === "istio-init" ||
    c.image?.startsWith("cr.l5d.io/linkerd/proxy-init:") ||
    c.image?.startsWith("gcr.io/istio-release/proxy_init:")
  );
}

/**
 * The injector's decision table (`Report.disabledByAnnotation` and `Injectable` in
 * `pkg/inject/report.go`). For the webhook: an invalid `linkerd.io/inject` value on
 * the namespace disables injection whatever the pod says, then an invalid value on the
 * pod does; an enabling namespace (`enabled`, `ingress`) injects unless the pod says
 * `disabled`; otherwise the pod must enable it. An empty value counts as absent. The
 * CLI ignores the namespace and injects unless the pod says `disabled`.
 */
export function injectReport(
  pod: Pod,
  namespace?: KubeObject,
  origin: InjectOrigin = "webhook",
): InjectReport {
  const reasons: InjectSkipReason[] = [];
  const nsName = pod.metadata.namespace ?? namespace?.metadata.name;
  const webhookSkips = origin === "webhook" &&
    (namespace?.metadata.labels?.["config.linkerd.io/admission-webhooks"] === "disabled" ||
      nsName === "kube-system" || nsName === "cert-manager");
  if (webhookSkips) reasons.push("webhook_not_called");
  if (pod.spec?.hostNetwork) reasons.push("host_network_enabled");
  if (hasExistingSidecars(pod)) reasons.push("sidecar_already_exists");
  const podValue = pod.metadata.annotations?.[INJECT] ?? "";
  const nsValue = origin === "webhook" ? namespace?.metadata.annotations?.[INJECT] ?? "" : "";
  const enables = (v: string): v is InjectMode => v === "enabled" || v === "ingress";
  const valid = (v: string) => v === "" || (INJECT_VALUES as readonly string[]).includes(v);
  let mode: InjectMode | undefined;
  let at: InjectReport["annotationAt"];
  if (origin === "cli") {
    if (podValue === "disabled") reasons.push("injection_disable_annotation_present");
    else mode = podValue === "ingress" ? "ingress" : "enabled";
    if (podValue) at = "workload";
  } else if (!valid(nsValue)) {
    reasons.push("invalid_inject_annotation_at_ns");
  } else if (!valid(podValue)) {
    reasons.push("invalid_inject_annotation_at_workload");
  } else if (enables(nsValue)) {
    if (podValue === "disabled") {
      reasons.push("injection_disable_annotation_present");
      at = "workload";
    } else {
      // The pod's own enabling value picks the mode (ingress on the pod wins).
      mode = enables(podValue) ? podValue : nsValue;
      at = "namespace";
    }
  } else if (enables(podValue)) {
    mode = podValue;
    at = "workload";
  } else {
    reasons.push("injection_enable_annotation_absent");
  }
  const injectable = reasons.length === 0;
  return {
    injectable,
    reasons,
    ...(injectable && mode ? { mode } : {}),
    ...(at ? { annotationAt: at } : {}),
  };
}

/** True when the pod already carries Linkerd's proxy container. */
export function hasProxy(pod: Pod): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]
    .some((c) => c.name === PROXY_CONTAINER);
}

/**
 * How the injector would mesh a pod in this namespace, or `undefined` when it would
 * skip it ({@linkcode injectReport} says why).
 */
export function injectMode(
  pod: Pod,
  namespace?: KubeObject,
  origin: InjectOrigin = "webhook",
): InjectMode | undefined {
  return injectReport(pod, namespace, origin).mode;
}

/**
 * Returns the pod as Linkerd's proxy injector would admit it. Pods the injector would
 * skip (see {@linkcode injectMode}) and pods that already have a `linkerd-proxy`
 * container are returned unchanged (the same object).
 */
export function injectPod(pod: Pod, opts: InjectPodOptions = {}): Pod {
  const origin = opts.origin ?? "webhook";
  const mode = injectMode(pod, opts.namespace, origin);
  if (!mode) return pod;

  const out = structuredClone(pod);
  const meta = out.metadata;
  const annotations: Record<string, string> = { ...meta.annotations };
  if (origin === "webhook") {
    Object.assign(
      annotations,
      inheritedAnnotations(meta.annotations, opts.namespace?.metadata.annotations),
    );
    // Without an opaque-ports annotation, the webhook writes the default opaque ports
    // the pod's containers declare.
    if (!(OPAQUE in annotations)) {
      const defaults = (opts.opaquePorts ?? DEFAULT_OPAQUE_PORTS).split(",");
      const declared = [...(out.spec?.initContainers ?? []), ...(out.spec?.containers ?? [])]
        .flatMap((c) => (c.ports ?? []).map((p) => String(p.containerPort)))
        .filter((p) => defaults.includes(p));
      if (declared.length) annotations[OPAQUE] = declared.join(",");
    }
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
