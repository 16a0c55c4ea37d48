/**
 * Control-plane checks modelled on `linkerd check`'s `linkerd-config`,
 * `linkerd-existence` and `linkerd-control-plane-proxy` categories.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import type { MeshConfig } from "../config.ts";
import type { Pod } from "../pods.ts";
import { proxyContainer, proxyVersionOf } from "../pods.ts";
import type { HealthInput } from "./input.ts";
import {
  type Check,
  expectedProxyVersion,
  hasStatus,
  isJobPod,
  mkCheck,
  plural,
  podHealth,
  replicasOf,
  RESTART_WARNING,
  sample,
} from "./_check.ts";

/** The control-plane components `linkerd check` requires a ready pod of. */
export const CONTROL_PLANE_COMPONENTS = ["destination", "identity", "proxy-injector"] as const;

/** The label naming a control-plane pod's component. */
export const COMPONENT_LABEL = "linkerd.io/control-plane-component";

/** Pods of the control plane: those in its namespace with a component label. */
export function controlPlanePods(input: HealthInput): Pod[] {
  return input.pods.filter((p) =>
    p.metadata.namespace === input.namespace && p.metadata.labels?.[COMPONENT_LABEL] !== undefined
  );
}

/** True when anything of a Linkerd control plane exists in the namespace. */
export function controlPlaneInstalled(input: HealthInput): boolean {
  const ns = input.namespace;
  return input.configMaps.some((c) => c.metadata.name === "linkerd-config") ||
    input.deployments.some((d) =>
      d.metadata.namespace === ns &&
      CONTROL_PLANE_COMPONENTS.some((c) => d.metadata.name === `linkerd-${c}`)
    ) ||
    controlPlanePods(input).length > 0;
}

/** True when the namespace exists (as an object, or because objects live in it). */
export function namespaceExists(input: HealthInput, namespace: string): boolean {
  if (input.namespaces?.some((n) => n.metadata.name === namespace)) return true;
  return [...input.deployments, ...input.pods, ...input.configMaps].some((o) =>
    o.metadata.namespace === namespace
  );
}

/** `control plane Namespace exists` and `'linkerd-config' config map exists`. */
export function existenceChecks(input: HealthInput): Check[] {
  const ns = input.namespace;
  const checks: Check[] = [];
  const nsFound = namespaceExists(input, ns);
  checks.push(mkCheck(
    "linkerd-config",
    "control plane Namespace exists",
    nsFound ? "ok" : "error",
    nsFound ? `Namespace "${ns}" exists` : `Namespace "${ns}" does not exist`,
    {
      anchor: "l5d-existence-ns",
      action: `Install Linkerd, or pass the namespace it is installed in`,
    },
  ));
  const cm = input.configMaps.find((c) => c.metadata.name === "linkerd-config");
  if (!cm) {
    checks.push(mkCheck(
      "linkerd-existence",
      "'linkerd-config' config map exists",
      "error",
      `ConfigMap "linkerd-config" is missing from namespace "${ns}"`,
      {
        anchor: "l5d-existence-linkerd-config",
        action: "Reinstall or upgrade the control plane (linkerd upgrade | kubectl apply -f -)",
      },
    ));
  } else {
    let problem: string | undefined;
    const values = cm.data?.["values"];
    if (!values) problem = `has no "values" key`;
    else {
      try {
        const parsed = parseYaml(values);
        if (!parsed || typeof parsed !== "object") problem = `"values" is not a YAML mapping`;
      } catch (err) {
        problem = `"values" cannot be parsed: ${(err as Error).message.split("\n")[0]}`;
      }
    }
    checks.push(mkCheck(
      "linkerd-existence",
      "'linkerd-config' config map exists",
      problem ? "warning" : "ok",
      problem
        ? `ConfigMap "linkerd-config" ${problem}; mesh settings fall back to Linkerd's defaults`
        : `ConfigMap "linkerd-config" exists in namespace "${ns}"`,
      {
        anchor: "l5d-existence-linkerd-config",
        action: "Re-render linkerd-config with linkerd upgrade | kubectl apply -f -",
      },
    ));
  }
  return checks;
}

/** `control plane deployments are available`: each required Deployment exists with available replicas. */
export function deploymentChecks(input: HealthInput): Check[] {
  const missing: string[] = [];
  const down: string[] = [];
  const degraded: string[] = [];
  const fine: string[] = [];
  let unknown = 0;
  for (const c of CONTROL_PLANE_COMPONENTS) {
    const name = `linkerd-${c}`;
    const dep = input.deployments.find((d) =>
      d.metadata.namespace === input.namespace && d.metadata.name === name
    );
    if (!dep) {
      missing.push(name);
      continue;
    }
    const { desired, available } = replicasOf(dep);
    if (available === undefined) unknown++;
    else if (desired > 0 && available === 0) down.push(`${name} (0/${desired} available)`);
    else if (available < desired) degraded.push(`${name} (${available}/${desired} available)`);
    else fine.push(`${name} (${available}/${desired})`);
  }
  const problems: string[] = [];
  if (missing.length) problems.push(`missing: ${missing.join(", ")}`);
  if (down.length) problems.push(`unavailable: ${down.join(", ")}`);
  if (degraded.length) problems.push(`degraded: ${degraded.join(", ")}`);
  const status = missing.length || down.length ? "error" : degraded.length ? "warning" : "ok";
  let message = problems.length
    ? `Control-plane Deployments in "${input.namespace}": ${problems.join("; ")}`
    : `linkerd-destination, linkerd-identity and linkerd-proxy-injector exist`;
  if (!problems.length) {
    message += unknown
      ? `; availability is unknown because the source has no Deployment status`
      : ` and are available: ${fine.join(", ")}`;
  }
  return [mkCheck("linkerd-existence", "control plane deployments are available", status, message, {
    anchor: "l5d-existence-replicasets",
    action: missing.length
      ? "Reinstall the missing control-plane components (linkerd upgrade | kubectl apply -f -)"
      : `Inspect them: kubectl -n ${input.namespace} describe deploy ${
        [...down, ...degraded].map((d) => d.split(" ")[0]).join(" ")
      }`,
  })];
}

/**
 * `control plane pods are ready`, `control plane pods are not crash-looping` and
 * `no unschedulable pods`. Readiness includes native-sidecar init containers.
 */
export function podChecks(input: HealthInput): Check[] {
  const pods = controlPlanePods(input).filter((p) => !isJobPod(p));
  const withStatus = pods.filter(hasStatus);
  const ns = input.namespace;
  if (withStatus.length === 0 && (pods.length > 0 || input.sourceKind !== "live")) {
    return [mkCheck(
      "linkerd-existence",
      "control plane pods are ready",
      "warning",
      `Readiness is unknown: ${
        pods.length
          ? `the ${plural(pods.length, "control-plane pod")} from ${input.source} carry no status`
          : `${input.source} has no control-plane pods with status`
      }, so readiness, restarts, proxy health and availability cannot be checked; these checks need a live cluster`,
      {
        anchor: "l5d-api-control-ready",
        action: "Run against a live cluster (without --manifests/--demo) to check readiness",
      },
    )];
  }
  const checks: Check[] = [];
  // readiness, per required component
  const noPod: string[] = [];
  const noneReady: string[] = [];
  const someNotReady: string[] = [];
  for (const c of CONTROL_PLANE_COMPONENTS) {
    const mine = withStatus.filter((p) => p.metadata.labels?.[COMPONENT_LABEL] === c);
    if (mine.length === 0) {
      noPod.push(`linkerd-${c}`);
      continue;
    }
    const notReady = mine.filter((p) => !podHealth(p).ready).map((p) => describeNotReady(p));
    if (notReady.length === mine.length) noneReady.push(...notReady);
    else someNotReady.push(...notReady);
  }
  const others = withStatus.filter((p) =>
    !(CONTROL_PLANE_COMPONENTS as readonly string[]).includes(
      p.metadata.labels?.[COMPONENT_LABEL] ?? "",
    ) && !podHealth(p).ready
  ).map((p) => describeNotReady(p));
  someNotReady.push(...others);
  const readyStatus = noPod.length || noneReady.length
    ? "error"
    : someNotReady.length
    ? "warning"
    : "ok";
  const parts: string[] = [];
  if (noPod.length) parts.push(`no pods for ${noPod.join(", ")}`);
  if (noneReady.length) parts.push(`no ready pod: ${sample(noneReady)}`);
  if (someNotReady.length) parts.push(`not ready: ${sample(someNotReady)}`);
  checks.push(mkCheck(
    "linkerd-existence",
    "control plane pods are ready",
    readyStatus,
    parts.length
      ? `Control-plane pods in "${ns}": ${parts.join("; ")}`
      : `All ${
        plural(withStatus.length, "control-plane pod")
      } are Running and ready (containers and native-sidecar proxies)`,
    {
      anchor: "l5d-api-control-ready",
      action:
        `Inspect them: kubectl -n ${ns} get pods; kubectl -n ${ns} describe pod POD; kubectl -n ${ns} logs POD -c CONTAINER`,
    },
  ));
  // restarts
  const failing: string[] = [];
  const restarting: string[] = [];
  for (const p of withStatus) {
    const h = podHealth(p);
    if (h.failing.length) {
      failing.push(
        `${p.metadata.name} (${h.failing.join(", ")}; ${plural(h.restarts, "restart")})`,
      );
    } else if (h.restarts >= RESTART_WARNING) {
      restarting.push(`${p.metadata.name} (${plural(h.restarts, "restart")})`);
    }
  }
  checks.push(mkCheck(
    "linkerd-existence",
    "control plane pods are not crash-looping",
    failing.length ? "error" : restarting.length ? "warning" : "ok",
    failing.length || restarting.length
      ? [
        failing.length ? `Failing: ${sample(failing)}` : "",
        restarting.length ? `Restarting often (>= ${RESTART_WARNING}): ${sample(restarting)}` : "",
      ].filter(Boolean).join("; ")
      : `No control-plane container is crash-looping or has restarted ${RESTART_WARNING} times or more`,
    {
      anchor: "l5d-api-control-ready",
      action:
        `Read the failing container's previous logs: kubectl -n ${ns} logs POD -c CONTAINER --previous`,
    },
  ));
  // scheduling
  const unschedulable = controlPlanePods(input).filter((p) =>
    (p.status?.conditions as Array<{ type: string; status: string; reason?: string }> | undefined)
      ?.some((c) => c.type === "PodScheduled" && c.status === "False")
  ).map((p) => p.metadata.name);
  checks.push(mkCheck(
    "linkerd-existence",
    "no unschedulable pods",
    unschedulable.length ? "error" : "ok",
    unschedulable.length
      ? `Control-plane pods cannot be scheduled: ${sample(unschedulable)}`
      : "Every control-plane pod is scheduled",
    {
      anchor: "l5d-existence-unschedulable-pods",
      action: `See why: kubectl -n ${ns} describe pod ${unschedulable[0] ?? "POD"} (events)`,
    },
  ));
  return checks;
}

function describeNotReady(pod: Pod): string {
  const h = podHealth(pod);
  const why = h.notReady.length ? `not ready: ${h.notReady.join(", ")}` : `phase ${h.phase}`;
  return `${pod.metadata.name} (${why})`;
}

/** `control plane proxies are healthy` and `control plane proxies are up-to-date`. */
export function controlPlaneProxyChecks(input: HealthInput, mesh: MeshConfig): Check[] {
  const pods = controlPlanePods(input).filter((p) => !isJobPod(p) && proxyContainer(p));
  const checks: Check[] = [];
  const live = pods.filter(hasStatus);
  if (live.length > 0) {
    const bad: string[] = [];
    for (const p of live) {
      const h = podHealth(p);
      const native = proxyContainer(p)!.nativeSidecar;
      const kind = native ? "native-sidecar init container" : "container";
      if (!h.proxy) bad.push(`${p.metadata.name} (no status for the linkerd-proxy ${kind})`);
      else if (!h.proxy.ready) {
        const reason = h.proxy.state?.waiting?.reason ?? h.proxy.state?.terminated?.reason;
        bad.push(
          `${p.metadata.name} (linkerd-proxy ${kind} not ready${reason ? `: ${reason}` : ""})`,
        );
      }
    }
    checks.push(mkCheck(
      "linkerd-control-plane-proxy",
      "control plane proxies are healthy",
      bad.length ? "error" : "ok",
      bad.length
        ? `Control-plane proxies not ready: ${sample(bad)}`
        : `The linkerd-proxy of all ${plural(live.length, "control-plane pod")} is ready`,
      {
        anchor: "l5d-cp-proxy-healthy",
        action: `Read the proxy logs: kubectl -n ${input.namespace} logs POD -c linkerd-proxy`,
      },
    ));
  }
  const expected = expectedProxyVersion(mesh);
  if (expected && pods.length > 0) {
    const skewed = pods.filter((p) => {
      const v = proxyVersionOf(p);
      return v !== undefined && v !== expected;
    }).map((p) => `${p.metadata.name} (${proxyVersionOf(p)})`);
    checks.push(mkCheck(
      "linkerd-control-plane-proxy",
      "control plane proxies are up-to-date",
      skewed.length ? "warning" : "ok",
      skewed.length
        ? `Control-plane proxies differ from the configured proxy version "${expected}": ${
          sample(skewed)
        }`
        : `Control-plane proxies run the configured proxy version "${expected}"`,
      {
        anchor: "l5d-cp-proxy-version",
        action: `Finish the upgrade: kubectl -n ${input.namespace} rollout restart deploy`,
      },
    ));
  }
  return checks;
}
