import assert from "node:assert/strict";
import { objectsFromYaml, upstreamFixture } from "../_helpers.ts";
import {
  hasProxy,
  inheritedAnnotations,
  injectMode,
  injectPod,
  type InjectPodOptions,
  injectReport,
  type InjectSkipReason,
} from "../../src/kube/inject.ts";
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
    origin: "cli",
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
        origin: "webhook",
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

// ------------------------------------------------ the decision table (pkg/inject/report_test.go)

const INJECT = "linkerd.io/inject";

function mkPod(
  annotations: Record<string, string> | undefined,
  spec: Pod["spec"] = { containers: [{ name: "app" }] },
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", ...(annotations ? { annotations } : {}) },
    spec,
  };
}

function mkNamespace(annotations: Record<string, string> | undefined): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns", annotations } };
}

/** TestInjectable, the cases about pods (unsupported resource kinds are not modelled). */
const INJECTABLE: Array<{
  name: string;
  spec: Pod["spec"];
  pod?: Record<string, string>;
  ns?: Record<string, string>;
  injectable: boolean;
  reasons: InjectSkipReason[];
}> = [
  {
    name: "test case #0",
    spec: { hostNetwork: false, containers: [{ name: "app" }] },
    pod: { [INJECT]: "enabled" },
    injectable: true,
    reasons: [],
  },
  {
    name: "test case #1",
    spec: { hostNetwork: true, containers: [{ name: "app" }] },
    pod: { [INJECT]: "enabled" },
    injectable: false,
    reasons: ["host_network_enabled"],
  },
  {
    name: "test case #2",
    spec: { containers: [{ name: "linkerd-proxy", image: "cr.l5d.io/linkerd/proxy:" }] },
    pod: { [INJECT]: "enabled" },
    injectable: false,
    reasons: ["sidecar_already_exists"],
  },
  {
    name: "test case #3",
    spec: {
      initContainers: [{ name: "linkerd-init", image: "cr.l5d.io/linkerd/proxy-init:" }],
      containers: [{ name: "app" }],
    },
    pod: { [INJECT]: "enabled" },
    injectable: false,
    reasons: ["sidecar_already_exists"],
  },
  {
    name: "test case #6",
    ns: { [INJECT]: "enabled" },
    spec: { hostNetwork: true, containers: [{ name: "app" }] },
    pod: { [INJECT]: "disabled" },
    injectable: false,
    reasons: ["host_network_enabled", "injection_disable_annotation_present"],
  },
  {
    name: "test case #8",
    spec: { hostNetwork: true, containers: [{ name: "app" }] },
    pod: {},
    injectable: false,
    reasons: ["host_network_enabled", "injection_enable_annotation_absent"],
  },
  {
    name: "test case #9",
    spec: {
      hostNetwork: true,
      containers: [{ name: "linkerd-proxy", image: "cr.l5d.io/linkerd/proxy:" }],
    },
    pod: {},
    injectable: false,
    reasons: [
      "host_network_enabled",
      "sidecar_already_exists",
      "injection_enable_annotation_absent",
    ],
  },
];

Deno.test("TestInjectable", async (t) => {
  for (const c of INJECTABLE) {
    await t.step(c.name, () => {
      const report = injectReport(mkPod(c.pod, c.spec), mkNamespace(c.ns));
      assert.equal(report.injectable, c.injectable);
      assert.deepEqual(report.reasons, c.reasons);
    });
  }
});

/** TestDisableByAnnotation: [pod value, namespace value, disabled?] ("" = absent). */
const WEBHOOK_TABLE: Array<[string, string, boolean]> = [
  ["enabled", "", false],
  ["enabled", "enabled", false],
  ["enabled", "disabled", false],
  ["", "enabled", false],
  ["disabled", "disabled", true],
  ["disabled", "enabled", true],
  ["disabled", "", true],
  ["", "disabled", true],
  ["", "", true],
];

Deno.test("TestDisableByAnnotation", async (t) => {
  await t.step("webhook origin", async (t) => {
    for (const [i, [pod, ns, disabled]] of WEBHOOK_TABLE.entries()) {
      await t.step(`test case #${i}`, () => {
        const report = injectReport(
          mkPod(pod ? { [INJECT]: pod } : undefined),
          mkNamespace(ns ? { [INJECT]: ns } : {}),
        );
        assert.equal(!report.injectable, disabled, `pod ${pod || "-"}, namespace ${ns || "-"}`);
      });
    }
  });
  await t.step("CLI origin", async (t) => {
    const cases: Array<[string, boolean]> = [["", false], ["enabled", false], ["disabled", true]];
    for (const [i, [pod, disabled]] of cases.entries()) {
      await t.step(`test case #${i}`, () => {
        const report = injectReport(
          mkPod(pod ? { [INJECT]: pod } : undefined),
          mkNamespace({ [INJECT]: "disabled" }),
          "cli",
        );
        assert.equal(!report.injectable, disabled);
      });
    }
  });
});

Deno.test("an invalid linkerd.io/inject on the namespace disables injection whatever the pod says", () => {
  for (const pod of ["enabled", "ingress", "disabled", "bogus", ""]) {
    const report = injectReport(
      mkPod(pod ? { [INJECT]: pod } : undefined),
      mkNamespace({ [INJECT]: "true" }),
    );
    assert.equal(report.injectable, false, `pod ${pod || "-"}`);
    assert.deepEqual(report.reasons, ["invalid_inject_annotation_at_ns"]);
  }
  const pod = mkPod({ [INJECT]: "enabled" });
  assert.equal(injectPod(pod, { namespace: mkNamespace({ [INJECT]: "yes" }) }), pod);
});

Deno.test("an invalid linkerd.io/inject on the pod disables injection in an enabled namespace", () => {
  const report = injectReport(mkPod({ [INJECT]: "Enabled" }), mkNamespace({ [INJECT]: "enabled" }));
  assert.deepEqual(report.reasons, ["invalid_inject_annotation_at_workload"]);
});

Deno.test("an empty linkerd.io/inject on the pod counts as absent", () => {
  const report = injectReport(mkPod({ [INJECT]: "" }), mkNamespace({ [INJECT]: "enabled" }));
  assert.deepEqual([report.injectable, report.annotationAt], [true, "namespace"]);
});

Deno.test("namespace config annotations are copied onto pods that only the pod enables", () => {
  const ns = mkNamespace({
    [INJECT]: "disabled",
    "config.linkerd.io/proxy-log-level": "debug",
    "config.linkerd.io/skip-inbound-ports": "9000",
    "config.alpha.linkerd.io/proxy-wait-before-exit-seconds": "5",
    "config.linkerd.io/not-a-proxy-setting": "x",
    "example.com/owner": "team-a",
  });
  const pod = mkPod({ [INJECT]: "enabled", "config.linkerd.io/skip-inbound-ports": "8000" });
  const out = injectPod(pod, { namespace: ns });
  const ann = out.metadata.annotations ?? {};
  assert.equal(ann["config.linkerd.io/proxy-log-level"], "debug");
  assert.equal(ann["config.alpha.linkerd.io/proxy-wait-before-exit-seconds"], "5");
  assert.equal(ann["config.linkerd.io/skip-inbound-ports"], "8000", "the pod's own value wins");
  assert.equal(ann[INJECT], "enabled", "the pod's own value wins");
  assert.equal(ann["config.linkerd.io/not-a-proxy-setting"], undefined, "not in ProxyAnnotations");
  assert.equal(ann["example.com/owner"], undefined);
  const proxy = out.spec?.initContainers?.find((c) => c.name === "linkerd-proxy");
  assert.equal(envOf(proxy).get("LINKERD2_PROXY_LOG"), "debug");
});

Deno.test("the webhook copies linkerd.io/inject from an enabling namespace onto the pod", () => {
  assert.deepEqual(
    inheritedAnnotations(undefined, { [INJECT]: "enabled", "config.linkerd.io/proxy-uid": "7" }),
    { [INJECT]: "enabled", "config.linkerd.io/proxy-uid": "7" },
  );
  const out = injectPod(mkPod(undefined), { namespace: mkNamespace({ [INJECT]: "enabled" }) });
  assert.equal(out.metadata.annotations?.[INJECT], "enabled");
});

Deno.test("the webhook adds the default opaque ports the pod declares", () => {
  const spec = {
    containers: [{ name: "db", ports: [{ containerPort: 5432 }, { containerPort: 80 }] }],
  };
  const out = injectPod(mkPod({ [INJECT]: "enabled" }, spec), {});
  assert.equal(out.metadata.annotations?.["config.linkerd.io/opaque-ports"], "5432");
  const none = injectPod(mkPod({ [INJECT]: "enabled" }), {});
  assert.equal(none.metadata.annotations?.["config.linkerd.io/opaque-ports"], undefined);
  const cli = injectPod(mkPod({ [INJECT]: "enabled" }, spec), { origin: "cli" });
  assert.equal(cli.metadata.annotations?.["config.linkerd.io/opaque-ports"], undefined);
});
