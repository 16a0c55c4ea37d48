/**
 * `linkerd-data-plane` checks: meshed pods' proxies are ready and run the proxy
 * version the control plane injects.
 *
 * @module
 */
import type { MeshConfig } from "../config.ts";
import { isTerminated, type Pod, proxyContainer, proxyVersionOf } from "../pods.ts";
import type { HealthInput } from "./input.ts";
import {
  type Check,
  expectedProxyVersion,
  hasStatus,
  isJobPod,
  mkCheck,
  plural,
  podHealth,
  podRef,
  sample,
} from "./_check.ts";

/** Meshed pods of this control plane outside its own namespace. */
export function dataPlanePods(input: HealthInput): Pod[] {
  return (input.meshedPods ?? []).filter((p) =>
    p.metadata.labels?.["linkerd.io/control-plane-ns"] === input.namespace &&
    p.metadata.namespace !== input.namespace && !isTerminated(p)
  );
}

/** Control-plane namespaces that meshed pods point at, other than this one, with pod counts. */
export function otherControlPlanes(input: HealthInput): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of input.meshedPods ?? []) {
    const cp = p.metadata.labels?.["linkerd.io/control-plane-ns"];
    if (cp && cp !== input.namespace) out.set(cp, (out.get(cp) ?? 0) + 1);
  }
  return out;
}

/** `data plane proxies are ready`, `data plane proxy versions match the control plane`, and foreign pods. */
export function dataPlaneChecks(input: HealthInput, mesh: MeshConfig): Check[] {
  const cat = "linkerd-data-plane";
  if (input.meshedPods === undefined) {
    return [mkCheck(
      cat,
      "data plane can be read",
      "warning",
      "The data plane could not be read: RBAC forbids listing pods in all namespaces (403), so proxy readiness and versions of meshed pods were not checked; the control-plane checks above are unaffected",
      {
        anchor: "l5d-data-plane-exists",
        action:
          "Grant the identity list access to pods cluster-wide (a ClusterRole, as the Helm chart's does) to check the data plane",
      },
    )];
  }
  const pods = dataPlanePods(input);
  const checks: Check[] = [];
  if (pods.length === 0) {
    checks.push(mkCheck(
      cat,
      "data plane proxies are ready",
      "ok",
      `No pod outside "${input.namespace}" is meshed yet; annotate a namespace or workload with linkerd.io/inject: enabled and restart it`,
      { anchor: "l5d-data-plane-ready" },
    ));
  } else {
    const live = pods.filter((p) => hasStatus(p) && !isJobPod(p) && proxyContainer(p));
    if (live.length > 0) {
      const bad = live.filter((p) => {
        const h = podHealth(p);
        return h.phase === "Running" && !h.proxy?.ready;
      }).map((p) => {
        const r = podHealth(p).proxy?.state?.waiting?.reason;
        return `${podRef(p)}${r ? ` (${r})` : ""}`;
      });
      checks.push(mkCheck(
        cat,
        "data plane proxies are ready",
        bad.length ? "warning" : "ok",
        bad.length
          ? `${
            plural(bad.length, "meshed pod")
          } of ${live.length} have a proxy that is not ready: ${sample(bad)}`
          : `The proxies of all ${plural(live.length, "meshed pod")} are ready`,
        {
          anchor: "l5d-data-plane-ready",
          action: "Read the proxy logs: kubectl -n NAMESPACE logs POD -c linkerd-proxy",
        },
      ));
    }
    checks.push(versionCheck(pods, mesh));
  }
  const others = otherControlPlanes(input);
  if (others.size > 0) {
    const list = [...others].map(([ns, n]) => `"${ns}" (${plural(n, "pod")})`);
    checks.push(mkCheck(
      cat,
      "data plane pods belong to this control plane",
      "warning",
      `Meshed pods point at other control-plane namespaces: ${sample(list)}`,
      {
        anchor: "l5d-data-plane-exists",
        action: `Check that control plane with check_mesh_health {"namespace": "${
          [...others.keys()][0]
        }"}`,
      },
    ));
  }
  return checks;
}

function versionCheck(pods: Pod[], mesh: MeshConfig): Check {
  const byVersion = new Map<string, Pod[]>();
  for (const p of pods) {
    const v = proxyVersionOf(p) ?? "unknown";
    byVersion.set(v, [...(byVersion.get(v) ?? []), p]);
  }
  const name = "data plane proxy versions match the control plane";
  const hint = {
    anchor: "l5d-data-plane-version",
    action:
      "Restart the outdated workloads to re-inject them: kubectl -n NAMESPACE rollout restart deploy/NAME",
  };
  const summary = [...byVersion].sort((a, b) => b[1].length - a[1].length).map(([v, ps]) =>
    `"${v}": ${plural(ps.length, "pod")}`
  );
  const expected = expectedProxyVersion(mesh);
  if (!expected) {
    return mkCheck(
      "linkerd-data-plane",
      name,
      "ok",
      `The control plane's proxy version is unknown (no proxy.image.version or linkerdVersion in linkerd-config); data-plane versions: ${
        sample(summary)
      }`,
      hint,
    );
  }
  const skewed = [...byVersion].filter(([v]) => v !== expected);
  if (skewed.length === 0) {
    return mkCheck(
      "linkerd-data-plane",
      name,
      "ok",
      `All ${plural(pods.length, "meshed pod")} run proxy "${expected}"`,
      hint,
    );
  }
  const details = skewed.map(([v, ps]) =>
    `${plural(ps.length, "pod")} on "${v}" (e.g. ${sample(ps.map(podRef).sort(), 3)})`
  );
  const count = skewed.reduce((n, [, ps]) => n + ps.length, 0);
  return mkCheck(
    "linkerd-data-plane",
    name,
    "warning",
    `${count} of ${
      plural(pods.length, "meshed pod")
    } do not run the control plane's proxy "${expected}": ${sample(details)}`,
    hint,
  );
}
