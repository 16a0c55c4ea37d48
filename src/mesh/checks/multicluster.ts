/**
 * The `linkerd-multicluster` checks, after `linkerd multicluster check`
 * (linkerd2 `multicluster/cmd/check.go`): the Link CRD and its served versions, Links
 * valid, a service-mirror controller per Link available and not crash-looping, the
 * gateway probes alive (`gateway_alive`, when a Prometheus reading is given), the probe
 * and mirror Services consistent with the Links, the gateway mirrors' Endpoints, and,
 * for each Link whose target cluster this server serves too, the two clusters' trust
 * anchors (from their ConfigMaps; Secrets are never read) and the Services mirrored from
 * it (exist, exported by the Link's selectors, ready endpoints there). What cannot be
 * checked (a target this server does not serve) is said as such, with how to serve it.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import type { KubeObject } from "../../kube/types.ts";
import { type LabelSelector, matchesSelector } from "../../kube/selectors.ts";
import type { PromClient } from "../../metrics/prom_client.ts";
import {
  classifyMirror,
  CLUSTER_NAME_LABEL,
  judgeMirrorEndpoints,
  judgeRemoteServices,
  type LinkInfo,
  mirrorConsistency,
  type MirroredService,
  objectKey,
  parseLink,
  type RemoteServiceVerdict,
} from "../../multicluster/links.ts";
import {
  compareTrustAnchors,
  judgeLinkedAnchors,
  shortFingerprint,
} from "../../multicluster/trust.ts";
import type { Pod } from "../pods.ts";
import { parseTrustBundle } from "../trust.ts";
import { namespaceExists } from "./control_plane.ts";
import { servedVersions } from "./crds.ts";
import { unreadableCheck } from "./extensions.ts";
import type { HealthInput } from "./input.ts";
import {
  type Check,
  mkCheck,
  plural,
  podHealth,
  replicasOf,
  RESTART_WARNING,
  sample,
} from "./_check.ts";

const CAT = "linkerd-multicluster";
/** The Link CRD. */
export const LINK_CRD = "links.multicluster.linkerd.io";
/** The Link version this server reads first (`RESOURCES.links`). */
const LINK_VERSION = "v1alpha3";
/** `component` labels of service-mirror controllers: the extension's, and the legacy per-link one. */
const CONTROLLER_COMPONENTS = ["controller", "service-mirror"] as const;
const LEGACY_COMPONENT = "service-mirror";

/**
 * What the service mirrors' gateway probes report, read from Prometheus by
 * {@linkcode loadGatewayProbes}; `available: false` says why they could not be read.
 */
export type GatewayProbeReading =
  | {
    available: true;
    /** Which Prometheus answered. */
    source: string;
    /** `gateway_alive` (1 alive, 0 down) by `target_cluster_name`. */
    alive: Record<string, number>;
    /** p95 of `gateway_probe_latency_ms` over 5 minutes, by `target_cluster_name`. */
    latencyP95Ms: Record<string, number>;
  }
  | { available: false; reason: string };

/** Options of {@linkcode multiclusterChecks}. */
export interface MulticlusterCheckOptions {
  /** The gateway probe metrics; absent when the caller has no Prometheus to ask. */
  gatewayProbes?: GatewayProbeReading;
}

/**
 * Reads the service mirrors' probe metrics: `gateway_alive` and the p95 of
 * `gateway_probe_latency_ms`, by target cluster. Never throws: a failing Prometheus
 * gives `available: false` with its message.
 */
export async function loadGatewayProbes(
  prom: PromClient,
  opts: { signal?: AbortSignal } = {},
): Promise<GatewayProbeReading> {
  const q = opts.signal ? { signal: opts.signal } : {};
  try {
    const [alive, latency] = await Promise.all([
      prom.query("max by (target_cluster_name) (gateway_alive)", q),
      prom.query(
        "histogram_quantile(0.95, sum by (le, target_cluster_name) (rate(gateway_probe_latency_ms_bucket[5m])))",
        q,
      ).catch(() => []),
    ]);
    const by = (samples: { metric: Record<string, string>; value: number }[]) =>
      Object.fromEntries(
        samples.filter((s) => s.metric["target_cluster_name"] && Number.isFinite(s.value))
          .map((s) => [s.metric["target_cluster_name"]!, s.value]),
      );
    return {
      available: true,
      source: prom.describe(),
      alive: by(alive),
      latencyP95Ms: by(latency),
    };
  } catch (err) {
    return { available: false, reason: (err as Error).message };
  }
}

/** The multicluster extension's checks, only when it is installed (or Links exist). */
export function multiclusterChecks(
  input: HealthInput,
  opts: MulticlusterCheckOptions = {},
): Check[] {
  const ns = input.multiclusterNamespace;
  const cannot = unreadableCheck(
    input,
    CAT,
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
      CAT,
      "multicluster extension is installed",
      "ok",
      `The multicluster extension is not installed (no Deployments in "${ns}" and no Links); multicluster checks skipped`,
      { anchor: "l5d-multicluster-link-crd-exists" },
    )];
  }
  // Links are listed cluster-wide: with the namespace unreadable they are still checked,
  // but their controllers (Deployments there) and the rest cannot be.
  const checks: Check[] = cannot ? [cannot] : [];
  checks.push(linkCrdCheck(input));
  checks.push(linksValidCheck(input));
  if (cannot) return checks;
  const links = input.links.map(parseLink);
  if (links.length > 0) {
    checks.push(...controllerChecks(input, links));
    checks.push(trustAnchorCheck(input, links));
    const probes = gatewayProbeCheck(input, links, opts.gatewayProbes);
    if (probes) checks.push(probes);
  }
  checks.push(...mirrorChecks(input, links));
  const gateway = gatewayCheck(input);
  if (gateway) checks.push(gateway);
  return checks;
}

function linkCrdCheck(input: HealthInput): Check {
  const crd = input.crds?.find((c) => c.metadata.name === LINK_CRD);
  const crdMissing = input.missing.includes("links") ||
    (input.crds !== undefined && input.sourceKind === "live" && !crd);
  const versions = crd ? servedVersions(crd) : [];
  const old = crd !== undefined && !versions.includes(LINK_VERSION);
  return mkCheck(
    CAT,
    "Link CRD exists",
    crdMissing ? "error" : old ? "warning" : "ok",
    crdMissing
      ? `CRD ${LINK_CRD} is not installed`
      : old
      ? `The Link CRD serves ${
        versions.join(", ") || "no version"
      }, not ${LINK_VERSION}: an older multicluster extension; Links may lack federatedServiceSelector (v1alpha2+) and excludedLabels/excludedAnnotations (v1alpha3)`
      : crd
      ? `The Link CRD is installed, serving ${versions.join(", ")}`
      : "The Link CRD is installed",
    {
      anchor: "l5d-multicluster-link-crd-exists",
      action: old
        ? "Upgrade the extension: linkerd multicluster install | kubectl apply -f - (or helm upgrade linkerd-multicluster)"
        : "Install the extension: linkerd multicluster install | kubectl apply -f -",
    },
  );
}

function linksValidCheck(input: HealthInput): Check {
  const invalid: string[] = [];
  for (const link of input.links) {
    const spec = (link.spec ?? {}) as Record<string, unknown>;
    const lack = ["targetClusterName", "clusterCredentialsSecret"].filter((k) => !spec[k]);
    if (lack.length) invalid.push(`${link.metadata.name} (no ${lack.join(", ")})`);
  }
  return mkCheck(
    CAT,
    "Link resources are valid",
    invalid.length ? "error" : "ok",
    invalid.length
      ? `Invalid Links: ${sample(invalid)}`
      : input.links.length
      ? `${plural(input.links.length, "Link")} valid: ${
        sample(input.links.map((l) => targetOf(l)))
      }`
      : "No Links: this cluster mirrors no other cluster's services",
    {
      anchor: "l5d-multicluster-links-are-valid",
      action:
        "Regenerate the Link: linkerd multicluster link-gen --cluster-name NAME | kubectl apply -f -",
    },
  );
}

function targetOf(link: KubeObject): string {
  const t = (link.spec as Record<string, unknown> | undefined)?.["targetClusterName"];
  return typeof t === "string" && t ? t : link.metadata.name;
}

/** The controller Deployments of a Link: by labels (as upstream selects them), else by name. */
function controllersOf(input: HealthInput, link: LinkInfo): KubeObject[] {
  const byLabel = input.deployments.filter((d) => {
    const l = d.metadata.labels ?? {};
    return (CONTROLLER_COMPONENTS as readonly string[]).includes(l["component"] ?? "") &&
      l[CLUSTER_NAME_LABEL] === link.targetClusterName;
  });
  if (byLabel.length) return byLabel;
  return input.deployments.filter((d) =>
    d.metadata.namespace === link.namespace &&
    (d.metadata.name === `controller-${link.name}` ||
      d.metadata.name === `linkerd-service-mirror-${link.targetClusterName}`)
  );
}

function podsOf(input: HealthInput, deployment: KubeObject): Pod[] {
  const sel = (deployment.spec as { selector?: LabelSelector } | undefined)?.selector;
  if (!sel || (!sel.matchLabels && !sel.matchExpressions)) return [];
  return input.pods.filter((p) =>
    p.metadata.namespace === deployment.metadata.namespace &&
    matchesSelector(sel, p.metadata.labels)
  );
}

/** `service mirror controllers are running` and `extension is managing controllers`. */
function controllerChecks(input: HealthInput, links: readonly LinkInfo[]): Check[] {
  const ns = input.multiclusterNamespace;
  const none: string[] = [];
  const tooMany: string[] = [];
  const down: string[] = [];
  const crashing: string[] = [];
  const running: string[] = [];
  const legacy: string[] = [];
  const managed: string[] = [];
  let unknown = 0;
  for (const link of links) {
    const found = controllersOf(input, link);
    if (found.length === 0) {
      if (
        input.sourceKind === "live" ||
        input.deployments.some((d) => d.metadata.namespace === link.namespace)
      ) {
        none.push(link.targetClusterName);
      }
      continue;
    }
    if (found.length > 1) {
      tooMany.push(`${link.targetClusterName} (${found.map((d) => d.metadata.name).join(", ")})`);
      continue;
    }
    const controller = found[0]!;
    const ref = `${controller.metadata.namespace}/${controller.metadata.name}`;
    if (controller.metadata.labels?.["component"] === LEGACY_COMPONENT) {
      legacy.push(link.targetClusterName);
    } else managed.push(link.targetClusterName);
    const { desired, available } = replicasOf(controller);
    const failing = podsOf(input, controller).flatMap((p) => {
      const h = podHealth(p);
      if (h.failing.length) return [`${p.metadata.name} (${h.failing.join(", ")})`];
      if (h.ready === false && h.restarts >= RESTART_WARNING) {
        return [`${p.metadata.name} (not ready, ${h.restarts} restarts)`];
      }
      return [];
    });
    if (failing.length) crashing.push(`${ref}: ${sample(failing, 3)}`);
    else if (available === undefined) unknown++;
    else if (available < 1 && desired > 0) down.push(`${ref} (0/${desired} available)`);
    else running.push(link.targetClusterName);
  }
  const problems = [
    none.length ? `no controller Deployment for Links: ${sample(none)}` : "",
    tooMany.length ? `too many controller Deployments for Links: ${sample(tooMany)}` : "",
    crashing.length ? `crash-looping: ${sample(crashing, 3)}` : "",
    down.length ? `not available: ${sample(down)}` : "",
  ].filter(Boolean);
  const checks = [mkCheck(
    CAT,
    "service mirror controllers are running",
    problems.length ? "error" : "ok",
    problems.length
      ? problems.join("; ")
      : unknown
      ? `Every Link has a service mirror controller (availability unknown without a live cluster)`
      : `Every Link has an available service mirror controller: ${sample(running)}`,
    {
      anchor: "l5d-multicluster-service-mirror-running",
      action: crashing.length
        ? `Read the controller's logs: kubectl -n ${ns} logs deploy/controller-LINK -c service-mirror (a Link whose credentials Secret is missing or expired crash-loops it)`
        : `Declare the controller in the extension's values (controllers[].link.ref.name), or inspect: kubectl -n ${ns} get deploy -l ${CLUSTER_NAME_LABEL}`,
    },
  )];
  if (legacy.length || managed.length) {
    checks.push(mkCheck(
      CAT,
      "extension is managing controllers",
      legacy.length ? "warning" : "ok",
      legacy.length
        ? `Legacy service mirror controllers (created by linkerd multicluster link) for Links: ${
          sample(legacy)
        }`
        : `Controllers are managed by the extension for Links: ${sample(managed)}`,
      {
        anchor: "l5d-multicluster-managed-controllers",
        action:
          "Move the controllers into the extension's values (controllers[].link.ref.name) and regenerate the Links with linkerd multicluster link-gen",
      },
    ));
  }
  return checks;
}

/**
 * A cluster's trust-anchor PEM from its ConfigMaps: `linkerd-identity-trust-roots`
 * (`ca-bundle.crt`, what the proxies use), else `identityTrustAnchorsPEM` in
 * `linkerd-config`'s values. Never from a Secret.
 */
export function anchorsPemOf(configMaps: readonly KubeObject[]): string | undefined {
  const roots = configMaps.find((c) => c.metadata.name === "linkerd-identity-trust-roots");
  const pem = roots?.data?.["ca-bundle.crt"];
  if (pem && pem.includes("BEGIN CERTIFICATE")) return pem;
  return legacyAnchorsOf(configMaps);
}

function legacyAnchorsOf(configMaps: readonly KubeObject[]): string | undefined {
  try {
    const config = configMaps.find((c) => c.metadata.name === "linkerd-config");
    const values = parseYaml(config?.data?.["values"] ?? "") as Record<string, unknown> | null;
    const v = values?.["identityTrustAnchorsPEM"];
    if (typeof v === "string" && v.includes("BEGIN CERTIFICATE")) return v;
  } catch {
    // reported by the linkerd-config check
  }
  return undefined;
}

/** How to make a Link's target readable by this server. */
function serveHint(target: string): string {
  return `serve ${target} too: its kubeconfig context (--context picks the default; every context of the kubeconfig is served by name), or --manifests ${target}=PATH, or a linkName: ${target} for the cluster in LINKERD_MCP_CONFIG`;
}

/**
 * `clusters share trust anchors`: this cluster's anchors (ConfigMaps) against those of
 * each linked cluster this server serves (its ConfigMaps too; the Link's credentials
 * Secret, which `linkerd multicluster check` uses, is never read).
 */
function trustAnchorCheck(input: HealthInput, links: readonly LinkInfo[]): Check {
  const name = "clusters share trust anchors";
  const anchor = "l5d-multicluster-clusters-share-anchors";
  const pem = input.configMaps.find((c) => c.metadata.name === "linkerd-identity-trust-roots")
    ?.data?.["ca-bundle.crt"];
  const localPem = anchorsPemOf(input.configMaps);
  const local = localPem ? parseTrustBundle(localPem).anchors : [];
  let ours = local.length
    ? `this cluster trusts ${plural(local.length, "anchor")} (SHA-256 ${
      sample(local.map((a) => shortFingerprint(a.fingerprint256)), 2)
    })`
    : "this cluster's trust anchors are not known (no linkerd-identity-trust-roots ConfigMap)";
  // `linkerd multicluster check` compares linkerd-config's copy; trust-manager may manage
  // the ConfigMap instead, so a difference is told, not judged.
  const legacy = legacyAnchorsOf(input.configMaps);
  if (pem && legacy && !compareTrustAnchors(pem, legacy).same) {
    ours +=
      "; identityTrustAnchorsPEM in linkerd-config (what linkerd multicluster check compares) differs from the linkerd-identity-trust-roots ConfigMap";
  }
  const targets = [...new Set(links.map((l) => l.targetClusterName))];
  const byHand = (t: string) =>
    `kubectl --context=${t} -n linkerd get cm linkerd-identity-trust-roots -o jsonpath='{.data.ca-bundle\\.crt}' | openssl x509 -noout -fingerprint -sha256`;
  if (input.linkedClusters === undefined) {
    return notChecked(
      name,
      `Not checked: the trust anchors of ${
        sample(targets, 3)
      } are read from their ConfigMaps only when this server serves those clusters too (this server never reads Secrets, such as a Link's credentials); ${ours}`,
      anchor,
      `To check it here, ${serveHint(targets[0] ?? "TARGET")}; or compare by hand: ${
        byHand(targets[0] ?? "TARGET")
      }`,
    );
  }
  const judged: Array<{ status: Check["status"]; detail: string }> = [];
  const unserved: string[] = [];
  const unreadable: string[] = [];
  for (const t of targets) {
    const lc = input.linkedClusters.find((c) => c.target === t);
    if (!lc || lc.cluster === undefined) {
      if (lc?.error) unreadable.push(`${t} (${lc.error})`);
      else unserved.push(t);
      continue;
    }
    if (lc.error) {
      unreadable.push(`${t} (cluster "${lc.cluster}": ${lc.error})`);
      continue;
    }
    const remotePem = anchorsPemOf(lc.configMaps ?? []);
    const v = judgeLinkedAnchors(
      localPem,
      remotePem,
      lc.cluster === t ? t : `${t} (cluster "${lc.cluster}")`,
    );
    if (!remotePem) {
      v.detail +=
        ` (no linkerd-identity-trust-roots ConfigMap in its namespace "${lc.linkerdNamespace}")`;
    }
    judged.push(v);
  }
  const rank = { ok: 0, warning: 1, error: 2 } as const;
  let status: Check["status"] = judged.reduce<Check["status"]>(
    (w, j) => rank[j.status] > rank[w] ? j.status : w,
    "ok",
  );
  if (unreadable.length && status === "ok") status = "warning";
  const bad = judged.filter((j) => j.status !== "ok").map((j) => j.detail);
  const good = judged.filter((j) => j.status === "ok").map((j) => j.detail);
  const parts = [
    bad.length ? sample(bad, 3) : "",
    good.length ? `same trust anchors as ${sample(good, 3)}` : "",
    unreadable.length ? `could not read ${sample(unreadable, 3)}` : "",
    unserved.length ? `not checked for ${sample(unserved, 3)} (not served by this server)` : "",
    ours,
  ].filter(Boolean);
  const message = parts.join("; ");
  const first = unserved[0];
  const action = status === "error"
    ? "Linked clusters must share a trust root: re-install or rotate the trust anchors so every cluster's linkerd-identity-trust-roots holds the same root, then restart the proxies"
    : status === "warning"
    ? "Finish the rotation so both bundles hold the same roots, or make the linked cluster readable; compare by hand: " +
      byHand(targets[0] ?? "TARGET")
    : first
    ? `To check ${first} too, ${serveHint(first)}`
    : "";
  return mkCheck(CAT, name, status, message, { anchor, action, whenOk: true });
}

/** An `ok` check that says what was not checked and how to check it by hand. */
function notChecked(name: string, message: string, anchor: string, action: string): Check {
  return mkCheck(CAT, name, "ok", message, { anchor, action, whenOk: true });
}

/** `probe services able to communicate with all gateway mirrors`, for Links in gateway mode. */
function gatewayProbeCheck(
  input: HealthInput,
  links: readonly LinkInfo[],
  probes: GatewayProbeReading | undefined,
): Check | undefined {
  const gatewayLinks = links.filter((l) => l.mode === "gateway" && l.probe?.path);
  const name = "probe services able to communicate with all gateway mirrors";
  const anchor = "l5d-multicluster-gateways-endpoints";
  if (gatewayLinks.length === 0) {
    return mkCheck(
      CAT,
      name,
      "ok",
      "No Link uses a gateway with a probe (pod-to-pod remote discovery only): no gateway to probe",
      { anchor },
    );
  }
  const errors: string[] = [];
  const notes: string[] = [];
  const alive: string[] = [];
  // The probe Services exist only at runtime: judged on a live cluster.
  if (input.sourceKind === "live" && input.mirroredServices !== undefined) {
    const mirrors = input.mirroredServices.map(classifyMirror);
    for (const l of gatewayLinks) {
      const n = mirrors.filter((m) =>
        m?.kind === "probe-gateway" && m.cluster === l.targetClusterName
      )
        .length;
      if (n !== 1) {
        errors.push(`wrong number (${n}) of probe gateway Services for ${l.targetClusterName}`);
      }
    }
  }
  if (!probes) {
    notes.push(
      "gateway liveness not checked: check_mesh_health reads no Prometheus metrics here (gateway_alive is a metric of the service mirror controllers)",
    );
  } else if (!probes.available) {
    notes.push(`gateway liveness not checked: Prometheus could not be read (${probes.reason})`);
  } else {
    for (const l of gatewayLinks) {
      const t = l.targetClusterName;
      const v = probes.alive[t];
      const p95 = probes.latencyP95Ms[t];
      const lat = p95 !== undefined ? `, probe p95 ${Math.round(p95)} ms` : "";
      if (v === undefined) {
        notes.push(
          `no gateway_alive series for ${t} in ${probes.source} (is the service mirror's admin port 9999 scraped?)`,
        );
      } else if (v !== 1) {
        errors.push(
          `liveness checks failed for ${t}: gateway_alive=${v} (gateway ${l.gatewayAddress}:${
            l.gatewayPort ?? "?"
          }${lat})`,
        );
      } else alive.push(`${t}${lat}`);
    }
  }
  const message = [
    errors.join("; "),
    alive.length ? `gateways alive: ${sample(alive)}` : "",
    notes.join("; "),
  ].filter(Boolean).join("; ");
  const action =
    `Check the target gateway: linkerd --context=TARGET multicluster gateways, and that its address ${
      gatewayLinks[0]!.gatewayAddress
    }:${gatewayLinks[0]!.gatewayPort ?? "4143"} is reachable from this cluster`;
  return errors.length || notes.length
    ? mkCheck(CAT, name, errors.length ? "error" : "ok", message, { anchor, action, whenOk: true })
    : mkCheck(CAT, name, "ok", message, { anchor });
}

/** Endpoints (not read), orphaned mirrors and mirrors the Links' settings do not explain. */
function mirrorChecks(input: HealthInput, links: readonly LinkInfo[]): Check[] {
  if (input.mirroredServices === undefined) {
    return links.length
      ? [mkCheck(
        CAT,
        "all mirror services are part of a Link",
        "warning",
        "Services cannot be listed in all namespaces (forbidden by RBAC), so the mirror Services were not checked",
        {
          anchor: "l5d-multicluster-orphaned-services",
          action: "Grant get/list on services cluster-wide, as the Helm chart's ClusterRole does",
        },
      )]
      : [];
  }
  const mirrors = input.mirroredServices.map(classifyMirror)
    .filter((m): m is MirroredService => m !== undefined && m.kind !== "probe-gateway");
  if (mirrors.length === 0) return [];
  const checks: Check[] = [];
  const remote = remoteVerdicts(input, links, mirrors);
  const endpoints = endpointsCheck(input, links, mirrors, remote);
  if (endpoints) checks.push(endpoints);
  const { orphans, inconsistent } = mirrorConsistency(links, mirrors);
  for (const { target, cluster, verdicts } of remote) {
    const where = cluster === target ? target : `${target} (cluster "${cluster}")`;
    for (const v of verdicts) {
      if (v.exported === "missing") {
        inconsistent.push(`${v.mirror} mirrors ${v.remote}, which does not exist in ${where}`);
      } else if (v.exported === "unexported") {
        inconsistent.push(
          `${v.mirror}: ${v.remote} in ${where} no longer matches the Link's ${
            selectorName(v.kind)
          } (${v.selector ?? "none"})`,
        );
      }
    }
  }
  const served = remote.filter((r) => r.verdicts.length).map((r) => r.target);
  for (const u of unreadLinked(input, mirrors)) {
    inconsistent.push(`the mirrored Services could not be checked in ${u}`);
  }
  checks.push(mkCheck(
    CAT,
    "all mirror services are part of a Link",
    orphans.length ? "warning" : "ok",
    orphans.length
      ? `Mirror Services of clusters no Link targets: ${sample(orphans)}`
      : `All ${plural(mirrors.length, "mirror Service")} belong to a Link`,
    {
      anchor: "l5d-multicluster-orphaned-services",
      action:
        "Delete the leftovers of a removed Link (linkerd multicluster unlink --cluster-name NAME | kubectl delete -f -)",
    },
  ));
  checks.push(mkCheck(
    CAT,
    "mirror services are consistent with their Links",
    inconsistent.length ? "warning" : "ok",
    inconsistent.length
      ? sample(inconsistent, 3)
      : `Gateway, remote-discovery and federated mirrors match their Links' settings (${
        countKinds(mirrors)
      })${
        served.length
          ? `; the Services they mirror exist and are exported in ${sample(served, 3)}`
          : ""
      }`,
    {
      anchor: "l5d-multicluster-links-are-valid",
      action:
        "Regenerate the Link with the selectors it should have (linkerd multicluster link-gen --selector/--remote-discovery-selector/--federated-service-selector), or remove the stale mirrors",
    },
  ));
  return checks;
}

/**
 * The served linked clusters that mirror Services here but could not be read, as
 * `east (reason)`: checks of what they hold say that part was not checked.
 */
function unreadLinked(input: HealthInput, mirrors: readonly MirroredService[]): string[] {
  return (input.linkedClusters ?? [])
    .filter((lc) =>
      lc.error !== undefined &&
      mirrors.some((m) =>
        m.cluster === lc.target || (m.members ?? []).some((x) => x.cluster === lc.target)
      )
    )
    .map((lc) => `${lc.target} (${lc.error})`);
}

function selectorName(kind: RemoteServiceVerdict["kind"]): string {
  return kind === "gateway"
    ? "selector"
    : kind === "remote-discovery"
    ? "remoteDiscoverySelector"
    : "federatedServiceSelector";
}

/** The verdicts on the Services each served linked cluster exports to this one. */
function remoteVerdicts(
  input: HealthInput,
  links: readonly LinkInfo[],
  mirrors: readonly MirroredService[],
): Array<{ target: string; cluster: string; verdicts: RemoteServiceVerdict[] }> {
  const out: Array<{ target: string; cluster: string; verdicts: RemoteServiceVerdict[] }> = [];
  for (const lc of input.linkedClusters ?? []) {
    if (!lc.remote || lc.cluster === undefined || lc.error) continue;
    const link = links.find((l) => l.targetClusterName === lc.target);
    if (!link) continue;
    out.push({
      target: lc.target,
      cluster: lc.cluster,
      verdicts: judgeRemoteServices(link, mirrors, lc.remote),
    });
  }
  return out;
}

/**
 * `all mirror services have endpoints`: the Endpoints the service mirror writes for each
 * gateway mirror (pointing at the gateway; not ready while its probe fails), and, for
 * linked clusters this server serves, the ready endpoints of the Services mirrored there
 * (gateway, remote-discovery and federated members alike: pod-to-pod mirrors have no local
 * Endpoints by design, the destination controller resolves them in their cluster).
 */
function endpointsCheck(
  input: HealthInput,
  links: readonly LinkInfo[],
  mirrors: readonly MirroredService[],
  remote: ReturnType<typeof remoteVerdicts>,
): Check | undefined {
  const name = "all mirror services have endpoints";
  const anchor = "l5d-multicluster-services-endpoints";
  const gatewayMirrors = mirrors.filter((m) => m.kind === "gateway");
  const remoteKnown = remote.flatMap((r) =>
    r.verdicts.filter((v) => v.exported !== "missing" && v.ready !== undefined).map((v) => ({
      ...v,
      where: r.cluster === r.target ? r.target : `${r.target} (cluster "${r.cluster}")`,
    }))
  );
  if (gatewayMirrors.length === 0 && remoteKnown.length === 0) return undefined;
  const errors: string[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  const emptyThere = new Map(
    remoteKnown.filter((v) => v.ready === 0).map((v) => [v.mirror, v]),
  );
  const judgeLocal = input.mirrorEndpoints !== undefined &&
    (input.sourceKind === "live" || input.mirrorEndpoints.length > 0);
  let readyLocal = 0;
  const told = new Set<string>();
  if (judgeLocal) {
    const byKey = new Map(
      input.mirrorEndpoints!.map((
        e,
      ) => [objectKey(e.metadata.namespace ?? "", e.metadata.name), e]),
    );
    for (const v of judgeMirrorEndpoints(links, mirrors, byKey)) {
      const there = emptyThere.get(v.ref);
      const cause = there ? ` (${there.remote} has no ready endpoint in ${there.where})` : "";
      if (there) told.add(v.ref);
      if (v.state === "missing") errors.push(`${v.ref} has no Endpoints${cause}`);
      else if (v.state === "empty") {
        errors.push(
          `${v.ref} has no endpoints${
            cause || ` (the exported Service in ${v.cluster} has none ready)`
          }`,
        );
      } else if (v.state === "not-ready") {
        errors.push(
          `${v.ref} has only not-ready addresses (${
            sample(v.addresses, 2)
          }): the service mirror marks them so while the gateway of ${v.cluster} fails its probe`,
        );
      } else {
        readyLocal++;
        if (v.strayAddresses) {
          warnings.push(
            `${v.ref} points at ${sample(v.strayAddresses, 2)}, not the Link's gateway address`,
          );
        }
      }
    }
  } else if (gatewayMirrors.length) {
    notes.push(
      input.mirrorEndpoints === undefined && input.sourceKind === "live"
        ? `Endpoints of ${
          plural(gatewayMirrors.length, "gateway mirror")
        } not checked: Endpoints cannot be listed in all namespaces (forbidden by RBAC)`
        : `Endpoints of ${
          plural(gatewayMirrors.length, "gateway mirror")
        } not checked: ${input.source} holds no Endpoints (the service mirror writes them at runtime)`,
    );
  }
  // A served linked cluster that could not be read: its part is not checked, and said so.
  const unread = unreadLinked(input, mirrors);
  if (unread.length) warnings.push(`not checked in ${sample(unread, 2)}`);
  for (const v of remoteKnown) {
    if (v.ready !== 0 || told.has(v.mirror)) continue;
    const what = `${v.mirror}: ${v.remote} has no ready endpoint in ${v.where}`;
    if (v.kind === "federated") warnings.push(`${what} (one member of the federated Service)`);
    else {errors.push(
        v.kind === "remote-discovery" ? `${what} (pod-to-pod: calls to it fail)` : what,
      );}
  }
  const rdMirrors = mirrors.filter((m) => m.kind === "remote-discovery").length;
  const okParts = [
    judgeLocal && readyLocal
      ? `${plural(readyLocal, "gateway mirror")} ${
        readyLocal === 1 ? "has" : "have"
      } ready endpoints`
      : "",
    remoteKnown.length && remoteKnown.every((v) => v.ready !== 0)
      ? `the ${plural(remoteKnown.length, "Service")} mirrored from ${
        sample([...new Set(remoteKnown.map((v) => v.where))], 3)
      } ${remoteKnown.length === 1 ? "has" : "have"} ready endpoints there`
      : "",
    rdMirrors
      ? `${plural(rdMirrors, "remote-discovery mirror")} ${
        rdMirrors === 1 ? "needs" : "need"
      } none (the destination controller resolves them in their cluster)`
      : "",
  ].filter(Boolean);
  const status: Check["status"] = errors.length ? "error" : warnings.length ? "warning" : "ok";
  const message = [
    errors.length ? `Mirror services without endpoints: ${sample(errors, 3)}` : "",
    sample(warnings, 3),
    ...notes,
    ...(status === "ok" ? okParts : []),
  ].filter(Boolean).join("; ");
  const action = status === "ok"
    ? notes.length
      ? "List them: kubectl get endpoints -A -l 'mirror.linkerd.io/mirrored-service=true,!multicluster.linkerd.io/remote-discovery'"
      : ""
    : "Check the exported Service in its cluster (kubectl --context=TARGET get endpoints NAME -n NAMESPACE), the gateway (linkerd --context=TARGET multicluster gateways) and the service mirror's logs";
  return mkCheck(CAT, name, status, message, { anchor, action, whenOk: true });
}

function countKinds(mirrors: readonly MirroredService[]): string {
  const n = (k: MirroredService["kind"]) => mirrors.filter((m) => m.kind === k).length;
  return `${n("gateway")} gateway, ${n("remote-discovery")} remote-discovery, ${
    n("federated")
  } federated`;
}

function gatewayCheck(input: HealthInput): Check | undefined {
  const ns = input.multiclusterNamespace;
  const gateway = input.deployments.find((d) =>
    d.metadata.namespace === ns && d.metadata.name === "linkerd-gateway"
  );
  if (!gateway) return undefined;
  const { desired, available } = replicasOf(gateway);
  const down = available !== undefined && desired > 0 && available === 0;
  return mkCheck(
    CAT,
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
  );
}
