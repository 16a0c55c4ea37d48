/**
 * CRD checks: `linkerd check`'s `linkerd-crd` (control plane CustomResourceDefinitions
 * exist, with the versions this server reads) and `gateway-api-crd`.
 *
 * @module
 */
import type { KubeObject } from "../../kube/types.ts";
import type { HealthInput } from "./input.ts";
import { type Check, mkCheck, sample } from "./_check.ts";

/** A Linkerd CRD, the version current Linkerd serves, and the release that added it. */
interface ExpectedCrd {
  name: string;
  version: string;
  /** Set for CRDs added after 2.12: their absence means an older Linkerd, not a broken one. */
  since?: string;
}

/** Linkerd's CRDs (linkerd-semantics.md §1.1), with the storage version of current releases. */
export const LINKERD_CRDS: readonly ExpectedCrd[] = [
  { name: "authorizationpolicies.policy.linkerd.io", version: "v1alpha1" },
  { name: "httproutes.policy.linkerd.io", version: "v1beta3" },
  { name: "meshtlsauthentications.policy.linkerd.io", version: "v1alpha1" },
  { name: "networkauthentications.policy.linkerd.io", version: "v1alpha1" },
  { name: "serverauthorizations.policy.linkerd.io", version: "v1beta1" },
  { name: "servers.policy.linkerd.io", version: "v1beta3" },
  { name: "serviceprofiles.linkerd.io", version: "v1alpha2" },
  { name: "externalworkloads.workload.linkerd.io", version: "v1beta1", since: "2.15" },
  { name: "egressnetworks.policy.linkerd.io", version: "v1alpha1", since: "2.17" },
  { name: "httplocalratelimitpolicies.policy.linkerd.io", version: "v1alpha1", since: "2.17" },
];

const GATEWAY_API_CRDS = [
  "httproutes.gateway.networking.k8s.io",
  "grpcroutes.gateway.networking.k8s.io",
];

/** Served versions of a CRD (`spec.versions[].served`). */
export function servedVersions(crd: KubeObject): string[] {
  const versions = (crd.spec as { versions?: Array<{ name: string; served?: boolean }> })
    ?.versions ?? [];
  return versions.filter((v) => v.served !== false).map((v) => v.name);
}

/** `control plane CustomResourceDefinitions exist`, their served versions, and Gateway API CRDs. */
export function crdChecks(input: HealthInput): Check[] {
  const missingKeys = new Set(input.missing);
  if (input.crds === undefined) {
    return [mkCheck(
      "linkerd-crd",
      "control plane CustomResourceDefinitions exist",
      "warning",
      "CustomResourceDefinitions cannot be listed (forbidden by RBAC); CRD checks were skipped",
      {
        anchor: "l5d-existence-crd",
        action: "Grant get/list on customresourcedefinitions, as the Helm chart's ClusterRole does",
      },
    )];
  }
  const byName = new Map(input.crds.map((c) => [c.metadata.name, c]));
  const anyLinkerd = LINKERD_CRDS.some((e) => byName.has(e.name));
  if (!anyLinkerd && input.sourceKind !== "live" && !missingKeys.has("servers")) {
    return [mkCheck(
      "linkerd-crd",
      "control plane CustomResourceDefinitions exist",
      "warning",
      `${input.source} contains no Linkerd CustomResourceDefinitions, so they cannot be verified`,
      {
        anchor: "l5d-existence-crd",
        action:
          "Include the CRDs (linkerd install --crds) in the manifests, or check a live cluster",
      },
    )];
  }
  const core: string[] = [];
  const newer: string[] = [];
  const versionGaps: string[] = [];
  const served: string[] = [];
  for (const e of LINKERD_CRDS) {
    const crd = byName.get(e.name);
    if (!crd) {
      (e.since ? newer : core).push(e.since ? `${e.name} (Linkerd ${e.since}+)` : e.name);
      continue;
    }
    const versions = servedVersions(crd);
    served.push(`${e.name.split(".")[0]}: ${versions.join(", ")}`);
    if (!versions.includes(e.version)) versionGaps.push(`${e.name} does not serve ${e.version}`);
  }
  const checks: Check[] = [];
  checks.push(mkCheck(
    "linkerd-crd",
    "control plane CustomResourceDefinitions exist",
    core.length ? "error" : newer.length ? "warning" : "ok",
    core.length || newer.length
      ? [
        core.length ? `Missing: ${core.join(", ")}` : "",
        newer.length
          ? `Missing CRDs of newer releases (an older linkerd-crds is installed): ${
            newer.join(", ")
          }`
          : "",
      ].filter(Boolean).join("; ")
      : `All ${LINKERD_CRDS.length} Linkerd CRDs exist`,
    {
      anchor: "l5d-existence-crd",
      action: "Install or upgrade the CRDs: linkerd upgrade --crds | kubectl apply -f -",
    },
  ));
  checks.push(mkCheck(
    "linkerd-crd",
    "control plane CustomResourceDefinitions serve current versions",
    versionGaps.length ? "warning" : "ok",
    versionGaps.length
      ? `${sample(versionGaps)}; policy analysis may miss fields of newer versions`
      : served.length
      ? `Served versions: ${served.join("; ")}`
      : "No Linkerd CRD is installed",
    {
      anchor: "l5d-existence-crd",
      action: "Upgrade the CRDs: linkerd upgrade --crds | kubectl apply -f -",
    },
  ));
  const gw = GATEWAY_API_CRDS.filter((n) => byName.has(n));
  const noV1 = gw.filter((n) => !servedVersions(byName.get(n)!).includes("v1"));
  checks.push(mkCheck(
    "gateway-api-crd",
    "Gateway API CRDs are installed",
    gw.length === 0 || noV1.length ? "warning" : "ok",
    gw.length === 0
      ? "Neither httproutes nor grpcroutes.gateway.networking.k8s.io is installed; Linkerd 2.18+ expects the Gateway API CRDs"
      : noV1.length
      ? `${noV1.join(", ")} do not serve v1; upgrade to Gateway API v1.1.1 or later`
      : `Installed: ${gw.join(", ")}`,
    {
      anchor: "gateway-api-crd",
      action:
        "kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/standard-install.yaml",
    },
  ));
  return checks;
}
