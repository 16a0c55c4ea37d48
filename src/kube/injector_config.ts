/**
 * The proxy injector's settings, read from the control plane's `linkerd-config` and
 * `linkerd-identity-trust-roots` ConfigMaps (kept apart from `inject.ts` so that the
 * demo, which has them pre-computed, does not parse YAML at start-up).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import type { InjectorConfig } from "./inject.ts";
import type { KubeObject } from "./types.ts";

/**
 * Reads the injector's settings from the `linkerd-config` ConfigMap's `values`.
 * A missing or unreadable ConfigMap gives `{}` (the defaults).
 */
export function injectorConfigFrom(linkerdConfig: KubeObject | undefined): InjectorConfig {
  const text = linkerdConfig?.data?.["values"];
  if (!text) return {};
  let values: Record<string, unknown>;
  try {
    const parsed = parseYaml(text);
    if (!parsed || typeof parsed !== "object") return {};
    values = parsed as Record<string, unknown>;
  } catch {
    return {};
  }
  const proxy = record(values["proxy"]);
  const image = record(proxy["image"]);
  const out: InjectorConfig = {};
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const set = <K extends keyof InjectorConfig>(k: K, v: InjectorConfig[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set("controlPlaneNamespace", linkerdConfig?.metadata.namespace);
  set("proxyVersion", str(image["version"]) ?? str(values["linkerdVersion"]));
  set("proxyImage", str(image["name"]));
  set("trustDomain", str(values["identityTrustDomain"]));
  set("clusterNetworks", str(values["clusterNetworks"]));
  set("defaultInboundPolicy", str(proxy["defaultInboundPolicy"]));
  set("opaquePorts", str(proxy["opaquePorts"]));
  if (typeof proxy["nativeSidecar"] === "boolean") out.nativeSidecar = proxy["nativeSidecar"];
  if (typeof values["cniEnabled"] === "boolean") out.cniEnabled = values["cniEnabled"];
  return out;
}

/**
 * The injector settings of the control plane found among the objects: `linkerd-config`
 * in `controlPlaneNamespace` (proxy version, image, trust domain, networks, native sidecar)
 * and the hash of its `linkerd-identity-trust-roots`.
 */
export function injectorConfigFromObjects(
  objects: readonly KubeObject[],
  controlPlaneNamespace: string,
): InjectorConfig {
  const cm = objects.find((o) =>
    o.kind === "ConfigMap" && o.metadata.name === "linkerd-config" &&
    o.metadata.namespace === controlPlaneNamespace
  );
  const roots = objects.find((o) =>
    o.kind === "ConfigMap" && o.metadata.name === "linkerd-identity-trust-roots" &&
    o.metadata.namespace === controlPlaneNamespace
  )?.data?.["ca-bundle.crt"];
  return {
    ...injectorConfigFrom(cm),
    controlPlaneNamespace,
    ...(roots ? { trustRootSha256: trustRootSha256(roots) } : {}),
  };
}

/** `linkerd.io/trust-root-sha256`: SHA-256 of the trust anchors PEM (newline-terminated). */
export function trustRootSha256(pem: string): string {
  return createHash("sha256").update(pem.trim() + "\n").digest("hex");
}

function record(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" ? v as Record<string, unknown> : {};
}
