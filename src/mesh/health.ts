/**
 * `check_mesh_health`'s model: runs the `linkerd check`-style checks over a
 * {@linkcode HealthInput} and summarises the control-plane pods as the original
 * server did (`components`, `totalPods`, `healthyPods`, `unhealthyPods`).
 *
 * @module
 */
import { stateFromObjects } from "../kube/state.ts";
import { readMeshConfig } from "./config.ts";
import { type Check, hasStatus, isJobPod, podHealth, sample } from "./checks/_check.ts";
import {
  COMPONENT_LABEL,
  controlPlaneInstalled,
  controlPlanePods,
  controlPlaneProxyChecks,
  deploymentChecks,
  existenceChecks,
  podChecks,
} from "./checks/control_plane.ts";
import { crdChecks } from "./checks/crds.ts";
import { dataPlaneChecks, otherControlPlanes } from "./checks/data_plane.ts";
import { vizChecks } from "./checks/extensions.ts";
import { type MulticlusterCheckOptions, multiclusterChecks } from "./checks/multicluster.ts";
import { identityChecks } from "./checks/identity.ts";
import type { HealthInput } from "./checks/input.ts";

export type { Check, CheckStatus } from "./checks/_check.ts";
export { type HealthInput, loadHealthInput, MULTICLUSTER_NAMESPACE } from "./checks/input.ts";
export { type GatewayProbeReading, loadGatewayProbes } from "./checks/multicluster.ts";

/** One control-plane pod, in the original server's shape plus restarts. */
export interface Component {
  /** The `linkerd.io/control-plane-component` label (`destination`, `identity`, ...). */
  component: string;
  /** Pod name. */
  name: string;
  /** `null` when the source carries no pod status (manifests). */
  healthy: boolean | null;
  /** `Running`, `Succeeded`, another phase, a failing reason, or `Unknown`. */
  status: string;
  /** Highest container restart count. */
  restarts: number;
}

/** The result of {@linkcode checkMeshHealth}. */
export interface HealthReport {
  /** True when no check has status `error`. */
  healthy: boolean;
  /** False when no Linkerd control plane was found in `namespace`. */
  installed: boolean;
  /** The control-plane namespace checked. */
  namespace: string;
  source: string;
  /** One line for people: counts of errors and warnings, or why Linkerd is missing. */
  summary: string;
  /** The Linkerd version (`linkerdVersion` in linkerd-config), when known. */
  controlPlaneVersion?: string;
  /** The proxy version the control plane injects, when known. */
  proxyVersion?: string;
  checks: Check[];
  components: Component[];
  totalPods: number;
  healthyPods: number;
  unhealthyPods: number;
  /** Pods whose health is unknown because the source has no status. */
  unknownPods: number;
}

/** Options of {@linkcode checkMeshHealth}. */
export type CheckMeshHealthOptions = MulticlusterCheckOptions;

/**
 * Runs every check over the input; `now` decides certificate validity. `opts.gatewayProbes`
 * (from {@linkcode loadGatewayProbes}) lets the multicluster checks judge gateway liveness.
 */
export function checkMeshHealth(
  input: HealthInput,
  now: Date,
  opts: CheckMeshHealthOptions = {},
): HealthReport {
  const state = stateFromObjects(input.configMaps, {
    source: input.source,
    linkerdNamespace: input.namespace,
  });
  const mesh = readMeshConfig(state);
  const components = controlPlanePods(input).map(componentOf)
    .sort((a, b) => a.component.localeCompare(b.component) || a.name.localeCompare(b.name));
  const counts = {
    totalPods: components.length,
    healthyPods: components.filter((c) => c.healthy === true).length,
    unhealthyPods: components.filter((c) => c.healthy === false).length,
    unknownPods: components.filter((c) => c.healthy === null).length,
  };
  const installed = controlPlaneInstalled(input);
  let checks: Check[];
  if (!installed) {
    checks = [...existenceChecks(input), ...crdChecks(input)];
    const install = checks.find((c) => c.name === "'linkerd-config' config map exists");
    if (install) {
      install.message =
        `Linkerd is not installed in namespace "${input.namespace}": no linkerd-config ConfigMap, control-plane Deployments or pods were found${
          elsewhere(input)
        }`;
      install.hint =
        "Install Linkerd (https://linkerd.io/2/getting-started/): linkerd install --crds | kubectl apply -f - && linkerd install | kubectl apply -f - && linkerd check; if it is installed in another namespace, pass that namespace or set LINKERD_NAMESPACE";
    }
  } else {
    checks = [
      ...existenceChecks(input),
      ...deploymentChecks(input),
      ...podChecks(input),
      ...crdChecks(input),
      ...identityChecks(input, now),
      ...controlPlaneProxyChecks(input, mesh),
      ...dataPlaneChecks(input, mesh),
      ...vizChecks(input),
      ...multiclusterChecks(input, opts),
    ];
  }
  const errors = checks.filter((c) => c.status === "error");
  const warnings = checks.filter((c) => c.status === "warning");
  const healthy = installed && errors.length === 0;
  let summary: string;
  if (!installed) {
    summary = `Linkerd is not installed in namespace "${input.namespace}" (${input.source})`;
  } else if (errors.length) {
    summary = `Linkerd in "${input.namespace}" is unhealthy: ${errors.length} failing check(s) (${
      sample(errors.map((c) => c.name), 3)
    })${warnings.length ? ` and ${warnings.length} warning(s)` : ""}`;
  } else {
    summary =
      `Linkerd in "${input.namespace}" is healthy: ${checks.length} checks, ${warnings.length} warning(s)`;
  }
  return {
    healthy,
    installed,
    namespace: input.namespace,
    source: input.source,
    summary,
    ...(mesh.linkerdVersion ? { controlPlaneVersion: mesh.linkerdVersion } : {}),
    ...(mesh.proxyVersion ? { proxyVersion: mesh.proxyVersion } : {}),
    checks,
    components,
    ...counts,
  };
}

function elsewhere(input: HealthInput): string {
  const others = [...otherControlPlanes(input)].sort((a, b) => b[1] - a[1]);
  if (others.length === 0) return "";
  return `; meshed pods point at control-plane namespace "${others[0]![0]}" instead`;
}

function componentOf(pod: HealthInput["pods"][number]): Component {
  const component = pod.metadata.labels?.[COMPONENT_LABEL] ?? "";
  const base = { component, name: pod.metadata.name };
  if (!hasStatus(pod)) return { ...base, healthy: null, status: "Unknown", restarts: 0 };
  const h = podHealth(pod);
  if (isJobPod(pod) && h.phase === "Succeeded") {
    return { ...base, healthy: true, status: "Succeeded", restarts: h.restarts };
  }
  const status = h.failing.length ? h.failing[0]!.split(": ")[1]! : h.phase;
  return { ...base, healthy: h.ready === true, status, restarts: h.restarts };
}
