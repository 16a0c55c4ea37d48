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
      const notReady = live.filter((p) => {
        const h = podHealth(p);
        return h.phase === "Running" && !h.proxy?.ready;
      });
      // per workload, not per pod: "ns/deployment/web: 3 pods (CrashLoopBackOff)"
      const bad = [...byWorkload(notReady)].map(([w, ps]) => {
        const reasons = [
          ...new Set(ps.map((p) => podHealth(p).proxy?.state?.waiting?.reason).filter(Boolean)),
        ];
        const who = ps.length === 1 ? podRef(ps[0]!) : `${w}: ${plural(ps.length, "pod")}`;
        return `${who}${reasons.length ? ` (${reasons.join(", ")})` : ""}`;
      });
      checks.push(mkCheck(
        cat,
        "data plane proxies are ready",
        notReady.length ? "warning" : "ok",
        notReady.length
          ? `${
            plural(notReady.length, "meshed pod")
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
    const list = byVersion.get(v);
    if (list) list.push(p);
    else byVersion.set(v, [p]);
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
  // examples per workload, not per pod: "ns/deployment/web (12 pods)"
  const details = skewed.map(([v, ps]) => {
    const workloads = [...byWorkload(ps)].sort((a, b) =>
      b[1].length - a[1].length || cmp(a[0], b[0])
    )
      .map(([w, wp]) => wp.length === 1 ? podRef(wp[0]!) : `${w} (${plural(wp.length, "pod")})`);
    return `${plural(ps.length, "pod")} on "${v}" (e.g. ${sample(workloads, 3)})`;
  });
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

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The workload that owns a pod, as `namespace/kind/name`: a ReplicaSet with the
 * pod-template-hash suffix is its Deployment; a pod without owner is itself.
 */
function workloadOf(p: Pod): string {
  const ns = p.metadata.namespace ?? "";
  const owner = p.metadata.ownerReferences?.[0];
  if (!owner) return `${ns}/pod/${p.metadata.name}`;
  const hash = p.metadata.labels?.["pod-template-hash"];
  if (owner.kind === "ReplicaSet" && hash && owner.name.endsWith(`-${hash}`)) {
    return `${ns}/deployment/${owner.name.slice(0, -hash.length - 1)}`;
  }
  return `${ns}/${owner.kind.toLowerCase()}/${owner.name}`;
}

/** Pods grouped by their workload, in first-seen order. */
function byWorkload(pods: readonly Pod[]): Map<string, Pod[]> {
  const out = new Map<string, Pod[]>();
  for (const p of pods) {
    const w = workloadOf(p);
    const list = out.get(w);
    if (list) list.push(p);
    else out.set(w, [p]);
  }
  return out;
}
