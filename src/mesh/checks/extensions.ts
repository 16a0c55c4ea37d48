/**
 * Extension checks: viz (`linkerd-viz` category), only when the extension is installed.
 * The multicluster checks are in `multicluster.ts`.
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
export function unreadableCheck(
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
