/**
 * Extension checks: viz (`linkerd-viz` category) and multicluster
 * (`linkerd-multicluster`), each only when the extension is installed.
 *
 * @module
 */
import type { KubeObject } from "../../kube/types.ts";
import { isMeshed } from "../pods.ts";
import type { HealthInput } from "./input.ts";
import { namespaceExists } from "./control_plane.ts";
import { type Check, isJobPod, mkCheck, replicasOf, sample } from "./_check.ts";

/**
 * The warning that replaces an extension's checks when its namespace could not be read
 * (403: namespace-scoped RBAC without a grant there; 404), or `undefined` when it was read.
 */
function unreadableCheck(
  input: HealthInput,
  cat: string,
  name: string,
  ns: string,
  what: string,
  anchor: string,
): Check | undefined {
  const u = input.unreadable?.find((x) => x.namespace === ns);
  if (!u) return undefined;
  const why = u.status === 403 ? "forbidden by RBAC (403)" : "not found (404)";
  return mkCheck(
    cat,
    name,
    "warning",
    `Cannot read Deployments and pods in namespace "${ns}": ${why}, so the ${what} checks were skipped: ${u.message}`,
    {
      anchor,
      action:
        `Grant the identity get/list on deployments and pods in "${ns}" (a Role and RoleBinding there, or the Helm chart's ClusterRole), or ignore this if the ${what} extension is not installed`,
    },
  );
}

/** Viz Deployments; prometheus may be disabled in favour of an external Prometheus. */
const VIZ_DEPLOYMENTS = ["metrics-api", "tap", "tap-injector", "web"] as const;

/** Deployment availability summary: missing, down (0 available) and unknown (no status). */
function availability(deployments: readonly KubeObject[], namespace: string, names: string[]) {
  const missing: string[] = [];
  const down: string[] = [];
  let unknown = 0;
  for (const name of names) {
    const d = deployments.find((x) =>
      x.metadata.namespace === namespace && x.metadata.name === name
    );
    if (!d) {
      missing.push(name);
      continue;
    }
    const { desired, available } = replicasOf(d);
    if (available === undefined) unknown++;
    else if (desired > 0 && available === 0) down.push(`${name} (0/${desired} available)`);
  }
  return { missing, down, unknown };
}

/** The viz extension: installed, its Deployments available, its pods meshed, Prometheus present. */
export function vizChecks(input: HealthInput): Check[] {
  const cat = "linkerd-viz";
  const ns = input.vizNamespace;
  const cannot = unreadableCheck(
    input,
    cat,
    "linkerd-viz Namespace exists",
    ns,
    "viz",
    "l5d-viz-ns-exists",
  );
  if (cannot) return [cannot];
  const hasVizDeployments = input.deployments.some((d) => d.metadata.namespace === ns);
  if (!namespaceExists(input, ns) || !hasVizDeployments) {
    return [mkCheck(
      cat,
      "linkerd-viz Namespace exists",
      "ok",
      `The viz extension is not installed (no Deployments in "${ns}"); viz checks skipped. Metrics tools need Prometheus: install viz (linkerd viz install | kubectl apply -f -) or set LINKERD_PROMETHEUS_URL`,
      { anchor: "l5d-viz-ns-exists" },
    )];
  }
  const checks: Check[] = [
    mkCheck(cat, "linkerd-viz Namespace exists", "ok", `Namespace "${ns}" exists`, {
      anchor: "l5d-viz-ns-exists",
    }),
  ];
  const { missing, down, unknown } = availability(input.deployments, ns, [...VIZ_DEPLOYMENTS]);
  checks.push(mkCheck(
    cat,
    "viz extension pods are running",
    missing.length || down.length ? "error" : "ok",
    missing.length || down.length
      ? [
        missing.length ? `missing: ${missing.join(", ")}` : "",
        down.length ? `unavailable: ${down.join(", ")}` : "",
      ]
        .filter(Boolean).join("; ")
      : `${VIZ_DEPLOYMENTS.join(", ")} exist${
        unknown ? " (availability unknown without a live cluster)" : " and are available"
      }`,
    {
      anchor: "l5d-viz-pods-running",
      action:
        `Inspect them: kubectl -n ${ns} get deploy,pods; reinstall with linkerd viz install | kubectl apply -f -`,
    },
  ));
  const vizPods = input.pods.filter((p) => p.metadata.namespace === ns && !isJobPod(p));
  const unmeshed = vizPods.filter((p) => !isMeshed(p as KubeObject)).map((p) => p.metadata.name);
  if (vizPods.length > 0) {
    checks.push(mkCheck(
      cat,
      "linkerd-viz pods are injected",
      unmeshed.length ? "warning" : "ok",
      unmeshed.length
        ? `Viz pods without a proxy: ${sample(unmeshed)}`
        : `All ${vizPods.length} viz pods are meshed`,
      {
        anchor: "l5d-viz-pods-injection",
        action:
          `Restart them once the proxy injector is ready: kubectl -n ${ns} rollout restart deploy`,
      },
    ));
  }
  const prom = availability(input.deployments, ns, ["prometheus"]);
  checks.push(mkCheck(
    cat,
    "prometheus is installed and configured correctly",
    prom.missing.length && !input.prometheusConfigured
      ? "warning"
      : prom.down.length
      ? "error"
      : "ok",
    prom.missing.length
      ? input.prometheusConfigured
        ? "Viz runs without its own Prometheus; the metrics tools use LINKERD_PROMETHEUS_URL"
        : "Viz runs without its own Prometheus (prometheus.enabled=false) and LINKERD_PROMETHEUS_URL is not set; metrics tools will not work"
      : prom.down.length
      ? `Prometheus is not available: ${prom.down.join(", ")}`
      : `Deployment "prometheus" exists in "${ns}"`,
    {
      anchor: "l5d-viz-prometheus",
      action: "Set LINKERD_PROMETHEUS_URL to the Prometheus that scrapes the proxies",
    },
  ));
  return checks;
}

/** The multicluster extension: Link CRD, Links valid, their controllers and the gateway running. */
export function multiclusterChecks(input: HealthInput): Check[] {
  const cat = "linkerd-multicluster";
  const ns = input.multiclusterNamespace;
  const cannot = unreadableCheck(
    input,
    cat,
    "multicluster extension is installed",
    ns,
    "multicluster",
    "l5d-multicluster-link-crd-exists",
  );
  if (cannot && input.links.length === 0) return [cannot];
  const installed = (namespaceExists(input, ns) &&
    input.deployments.some((d) => d.metadata.namespace === ns)) || input.links.length > 0;
  if (!installed) {
    return [mkCheck(
      cat,
      "multicluster extension is installed",
      "ok",
      `The multicluster extension is not installed (no Deployments in "${ns}" and no Links); multicluster checks skipped`,
      { anchor: "l5d-multicluster-link-crd-exists" },
    )];
  }
  // Links are listed cluster-wide: with the namespace unreadable they are still checked,
  // but their controllers (Deployments there) cannot be.
  const checks: Check[] = cannot ? [cannot] : [];
  const crdMissing = input.missing.includes("links") ||
    (input.crds !== undefined && input.sourceKind === "live" &&
      !input.crds.some((c) => c.metadata.name === "links.multicluster.linkerd.io"));
  checks.push(mkCheck(
    cat,
    "Link CRD exists",
    crdMissing ? "error" : "ok",
    crdMissing ? "CRD links.multicluster.linkerd.io is not installed" : "The Link CRD is installed",
    {
      anchor: "l5d-multicluster-link-crd-exists",
      action: "Install the extension: linkerd multicluster install | kubectl apply -f -",
    },
  ));
  const invalid: string[] = [];
  const noController: string[] = [];
  const controllerDown: string[] = [];
  for (const link of input.links) {
    const spec = (link.spec ?? {}) as Record<string, unknown>;
    const name = link.metadata.name;
    const lack = ["targetClusterName", "clusterCredentialsSecret"].filter((k) => !spec[k]);
    if (lack.length) invalid.push(`${name} (no ${lack.join(", ")})`);
    const target = typeof spec["targetClusterName"] === "string" ? spec["targetClusterName"] : name;
    const linkNs = link.metadata.namespace ?? ns;
    const controller = input.deployments.find((d) =>
      d.metadata.namespace === linkNs &&
      (d.metadata.name === `controller-${name}` ||
        d.metadata.name === `linkerd-service-mirror-${target}`)
    );
    if (!controller) {
      if (
        input.sourceKind === "live" ||
        input.deployments.some((d) => d.metadata.namespace === linkNs)
      ) {
        noController.push(name);
      }
      continue;
    }
    const { desired, available } = replicasOf(controller);
    if (available !== undefined && desired > 0 && available === 0) {
      controllerDown.push(`${controller.metadata.name} (0/${desired} available)`);
    }
  }
  checks.push(mkCheck(
    cat,
    "Link resources are valid",
    invalid.length ? "error" : "ok",
    invalid.length
      ? `Invalid Links: ${sample(invalid)}`
      : `${input.links.length} Link(s) are valid`,
    {
      anchor: "l5d-multicluster-links-are-valid",
      action:
        "Regenerate the Link: linkerd multicluster link-gen --cluster-name NAME | kubectl apply -f -",
    },
  ));
  if (input.links.length > 0 && !cannot) {
    checks.push(mkCheck(
      cat,
      "service mirror controllers are running",
      noController.length || controllerDown.length ? "error" : "ok",
      noController.length || controllerDown.length
        ? [
          noController.length ? `no controller Deployment for Links: ${sample(noController)}` : "",
          controllerDown.length ? `unavailable: ${sample(controllerDown)}` : "",
        ].filter(Boolean).join("; ")
        : "Every Link has a service-mirror controller",
      {
        anchor: "l5d-multicluster-service-mirror-running",
        action:
          `Declare the controller in the extension's values (controllers[].link.ref.name) or inspect: kubectl -n ${ns} get deploy`,
      },
    ));
  }
  const gateway = input.deployments.find((d) =>
    d.metadata.namespace === ns && d.metadata.name === "linkerd-gateway"
  );
  if (gateway) {
    const { desired, available } = replicasOf(gateway);
    const down = available !== undefined && desired > 0 && available === 0;
    checks.push(mkCheck(
      cat,
      "multicluster gateway is available",
      down ? "error" : "ok",
      down
        ? `Deployment "linkerd-gateway" has 0/${desired} available replicas; remote clusters cannot reach mirrored services through it`
        : available === undefined
        ? `Deployment "linkerd-gateway" exists (availability unknown without a live cluster)`
        : `Deployment "linkerd-gateway" is available (${available}/${desired})`,
      {
        anchor: "l5d-multicluster-gateways-endpoints",
        action: `Inspect it: kubectl -n ${ns} describe deploy linkerd-gateway`,
      },
    ));
  }
  return checks;
}
