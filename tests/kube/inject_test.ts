import assert from "node:assert/strict";
import { objectsFromYaml, upstreamFixture } from "../_helpers.ts";
import { hasProxy, injectMode, injectPod, type InjectPodOptions } from "../../src/kube/inject.ts";
import { injectorConfigFrom, trustRootSha256 } from "../../src/kube/injector_config.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import type { ContainerSpec, Pod } from "../../src/mesh/pods.ts";

type Template = { metadata?: Pod["metadata"]; spec?: Pod["spec"] };

const NAMESPACE: KubeObject = {
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "emojivoto", annotations: { "linkerd.io/inject": "enabled" } },
};

function controlPlane(): KubeObject[] {
  return objectsFromYaml(upstreamFixture("control-plane/install_default.golden.yaml"));
}

/** What `linkerd inject` used for the goldens. */
function cliOptions(extra: Partial<InjectPodOptions> = {}): InjectPodOptions {
  const roots = controlPlane().find((o) => o.metadata.name === "linkerd-identity-trust-roots");
  return {
    namespace: NAMESPACE,
    proxyVersion: "test-inject-proxy-version",
    createdBy: "linkerd/cli dev-undefined",
    trustRootSha256: trustRootSha256(roots!.data!["ca-bundle.crt"]!),
    ...extra,
  };
}

function firstDoc(path: string): KubeObject {
  return objectsFromYaml(upstreamFixture(path))[0]!;
}

/** A Deployment's template as the pod the ReplicaSet would create. */
function podOf(deployment: KubeObject): Pod {
  const t = (deployment.spec as { template: Template }).template;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: deployment.metadata.namespace!, ...t.metadata },
    spec: structuredClone(t.spec ?? {}),
  } as Pod;
}

function goldenTemplate(path: string): Template {
  return (firstDoc(path).spec as { template: Template }).template;
}

function envOf(c: ContainerSpec | undefined): Map<string, string | undefined> {
  return new Map((c?.env ?? []).map((e) => [e.name, e.value]));
}

function assertProxyMatches(actual: ContainerSpec | undefined, golden: ContainerSpec | undefined) {
  assert.ok(actual && golden);
  const pick = (spec: ContainerSpec) => {
    const c = spec as ContainerSpec & Record<string, unknown>;
    return {
      name: c.name,
      image: c.image,
      ports: c.ports,
      restartPolicy: c.restartPolicy,
      live: c.livenessProbe?.httpGet,
      ready: c.readinessProbe?.httpGet,
      startup: c.startupProbe?.httpGet,
      user: (c["securityContext"] as Record<string, unknown> | undefined)?.["runAsUser"],
      mounts: c["volumeMounts"],
    };
  };
  assert.deepEqual(pick(actual), pick(golden));
  const want = envOf(golden);
  for (const [name, value] of envOf(actual)) {
    assert.ok(want.has(name), `env ${name} is in the golden`);
    assert.equal(value, want.get(name), `env ${name}`);
  }
}

Deno.test("injectPod() matches the inject_emojivoto_deployment golden", () => {
  const input = podOf(firstDoc("inject/inject_emojivoto_deployment.input.yml"));
  const golden = goldenTemplate("inject/inject_emojivoto_deployment.golden.yml");
  const out = injectPod(input, cliOptions({ owner: { kind: "Deployment", name: "web" } }));
  assert.deepEqual(out.metadata.labels, golden.metadata?.labels);
  assert.deepEqual(out.metadata.annotations, golden.metadata?.annotations);
  assert.deepEqual(
    out.spec?.initContainers?.map((c) => c.name),
    golden.spec?.initContainers?.map((c) => c.name),
  );
  assert.deepEqual(out.spec?.containers, golden.spec?.containers, "app containers unchanged");
  assertProxyMatches(out.spec?.initContainers?.[1], golden.spec?.initContainers?.[1]);
  const init = out.spec?.initContainers?.[0] as ContainerSpec & Record<string, unknown>;
  const goldenInit = golden.spec?.initContainers?.[0] as ContainerSpec & Record<string, unknown>;
  assert.equal(init.image, goldenInit.image);
  assert.deepEqual(init["command"], goldenInit["command"]);
  const volumes = (s: unknown) =>
    ((s as Record<string, unknown>)["volumes"] as Array<{ name: string }>).map((v) => v.name);
  assert.deepEqual(volumes(out.spec), volumes(golden.spec));
});

Deno.test("injectPod() matches the inject_emojivoto_pod golden (no owner label)", () => {
  const input = firstDoc("inject/inject_emojivoto_pod.input.yml") as unknown as Pod;
  const golden = firstDoc("inject/inject_emojivoto_pod.golden.yml") as unknown as Pod;
  const out = injectPod(input, cliOptions());
  assert.deepEqual(out.metadata.labels, golden.metadata.labels);
  assert.deepEqual(out.metadata.annotations, golden.metadata.annotations);
  assertProxyMatches(out.spec?.initContainers?.[1], golden.spec?.initContainers?.[1]);
  assert.equal(input.spec?.initContainers, undefined, "the input is not mutated");
});

Deno.test("injectPod() renders opaque ports from the pod annotation", () => {
  const dep = firstDoc("inject/inject_emojivoto_deployment.input.yml");
  const pod = podOf(dep);
  pod.metadata.annotations = { "config.linkerd.io/opaque-ports": "3000,5000-6000,mysql" };
  const golden = goldenTemplate("inject/inject_emojivoto_deployment_opaque_ports.golden.yml");
  const out = injectPod(pod, cliOptions({ owner: { kind: "Deployment", name: "web" } }));
  assert.deepEqual(out.metadata.annotations, golden.metadata?.annotations);
  assertProxyMatches(out.spec?.initContainers?.[1], golden.spec?.initContainers?.[1]);
});

Deno.test("injectPod() uses the network validator with CNI", () => {
  const pod = podOf(firstDoc("inject/inject_emojivoto_deployment.input.yml"));
  const golden = goldenTemplate("inject/inject_emojivoto_deployment_no_init_container.golden.yml");
  const out = injectPod(pod, cliOptions({ cniEnabled: true }));
  assert.deepEqual(
    out.spec?.initContainers?.map((c) => c.name),
    golden.spec?.initContainers?.map((c) => c.name),
  );
});

Deno.test("injectPod() puts the proxy first among containers without native sidecars", () => {
  const pod = podOf(firstDoc("inject/inject_emojivoto_deployment.input.yml"));
  for (
    const opts of [
      cliOptions({ nativeSidecar: false }),
      cliOptions({
        namespace: {
          ...NAMESPACE,
          metadata: {
            name: "emojivoto",
            annotations: {
              "linkerd.io/inject": "enabled",
              "config.linkerd.io/proxy-enable-native-sidecar": "false",
            },
          },
        },
      }),
    ]
  ) {
    const out = injectPod(pod, opts);
    assert.equal(out.spec?.containers?.[0]?.name, "linkerd-proxy");
    assert.equal(out.spec?.containers?.[0]?.restartPolicy, undefined);
    assert.deepEqual(out.spec?.initContainers?.map((c) => c.name), ["linkerd-init"]);
  }
});

Deno.test("injectMode() lets the pod's annotation win over the namespace's", () => {
  const pod = (annotations?: Record<string, string>): Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "emojivoto", ...(annotations ? { annotations } : {}) },
  });
  const ns = (annotations: Record<string, string>, labels?: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "emojivoto", annotations, ...(labels ? { labels } : {}) },
  });
  assert.equal(injectMode(pod(), ns({ "linkerd.io/inject": "enabled" })), "enabled");
  assert.equal(injectMode(pod(), ns({})), undefined);
  assert.equal(injectMode(pod({ "linkerd.io/inject": "ingress" }), ns({})), "ingress");
  assert.equal(
    injectMode(pod({ "linkerd.io/inject": "disabled" }), ns({ "linkerd.io/inject": "enabled" })),
    undefined,
  );
  assert.equal(
    injectMode(
      pod({ "linkerd.io/inject": "enabled" }),
      ns({}, { "config.linkerd.io/admission-webhooks": "disabled" }),
    ),
    undefined,
    "the webhook never sees namespaces with admission webhooks disabled",
  );
});

Deno.test("injectPod() runs the proxy in ingress mode for linkerd.io/inject: ingress", () => {
  const pod = podOf(firstDoc("inject/inject_emojivoto_deployment.input.yml"));
  pod.metadata.annotations = { "linkerd.io/inject": "ingress" };
  const out = injectPod(pod, { namespace: { ...NAMESPACE, metadata: { name: "emojivoto" } } });
  const env = envOf(out.spec?.initContainers?.find((c) => c.name === "linkerd-proxy"));
  assert.equal(env.get("LINKERD2_PROXY_INGRESS_MODE"), "true");
});

Deno.test("injectPod() leaves already-injected and opted-out pods alone", () => {
  const golden = firstDoc("inject/inject_emojivoto_pod.golden.yml") as unknown as Pod;
  assert.ok(hasProxy(golden));
  assert.equal(injectPod(golden, cliOptions({ proxyVersion: "v9" })), golden);
  const input = firstDoc("inject/inject_emojivoto_pod.input.yml") as unknown as Pod;
  input.metadata.annotations = { "linkerd.io/inject": "disabled" };
  assert.equal(injectPod(input, cliOptions()), input);
});

Deno.test("injectorConfigFrom() reads linkerd-config", () => {
  const cm = controlPlane().find((o) => o.metadata.name === "linkerd-config");
  assert.deepEqual(injectorConfigFrom(cm), {
    controlPlaneNamespace: "linkerd",
    proxyVersion: "install-proxy-version",
    proxyImage: "cr.l5d.io/linkerd/proxy",
    trustDomain: "cluster.local",
    clusterNetworks: "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8",
    defaultInboundPolicy: "all-unauthenticated",
    opaquePorts: "25,587,3306,4444,5432,6379,9300,11211",
    nativeSidecar: true,
    cniEnabled: false,
  });
  assert.deepEqual(injectorConfigFrom(undefined), {});
});
