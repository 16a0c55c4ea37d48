/**
 * `linkerd-identity` checks on the trust anchors, read from the
 * `linkerd-identity-trust-roots` ConfigMap (older releases: `identityTrustAnchorsPEM`
 * in `linkerd-config`). The issuer certificate lives in a Secret and is not read.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { daysUntil, EXPIRY_WARNING_DAYS, parseTrustBundle, validityAt } from "../trust.ts";
import type { TrustAnchor } from "../trust.ts";
import type { HealthInput } from "./input.ts";
import { type Check, mkCheck } from "./_check.ts";

const ROTATE =
  "Rotate the trust anchor: https://linkerd.io/2/tasks/manually-rotating-control-plane-tls-credentials/";

/** The trust-anchor PEM bundle and where it was found. */
function trustBundle(input: HealthInput): { pem: string; from: string } | undefined {
  const roots = input.configMaps.find((c) => c.metadata.name === "linkerd-identity-trust-roots");
  const pem = roots?.data?.["ca-bundle.crt"];
  if (pem) return { pem, from: `ConfigMap "linkerd-identity-trust-roots" key "ca-bundle.crt"` };
  const config = input.configMaps.find((c) => c.metadata.name === "linkerd-config");
  try {
    const values = parseYaml(config?.data?.["values"] ?? "") as Record<string, unknown> | null;
    const legacy = values?.["identityTrustAnchorsPEM"];
    if (typeof legacy === "string" && legacy.includes("BEGIN CERTIFICATE")) {
      return { pem: legacy, from: `"identityTrustAnchorsPEM" in ConfigMap "linkerd-config"` };
    }
  } catch {
    // reported by the linkerd-config check
  }
  return undefined;
}

function label(a: TrustAnchor): string {
  return `"${a.commonName}" (serial ${a.serialNumber})`;
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Certificate config, supported crypto, validity period, and 60-day expiry of the trust anchors. */
export function identityChecks(input: HealthInput, now: Date): Check[] {
  const cat = "linkerd-identity";
  const bundle = trustBundle(input);
  if (!bundle) {
    return [mkCheck(
      cat,
      "certificate config is valid",
      "error",
      `No trust anchors found: ConfigMap "linkerd-identity-trust-roots" (key "ca-bundle.crt") is missing from namespace "${input.namespace}"`,
      {
        anchor: "l5d-identity-cert-config-valid",
        action:
          "Reinstall the control plane with --identity-trust-anchors-file, or restore the ConfigMap",
      },
    )];
  }
  const { anchors, errors } = parseTrustBundle(bundle.pem);
  const checks: Check[] = [];
  checks.push(mkCheck(
    cat,
    "certificate config is valid",
    anchors.length === 0 || errors.length ? "error" : "ok",
    anchors.length === 0
      ? `${bundle.from} holds no parsable certificate${
        errors.length ? `: ${errors.join("; ")}` : ""
      }`
      : errors.length
      ? `${bundle.from}: ${errors.join("; ")}`
      : `${
        anchors.length === 1 ? "1 trust anchor" : `${anchors.length} trust anchors`
      } in ${bundle.from}`,
    {
      anchor: "l5d-identity-cert-config-valid",
      action:
        "Fix the PEM bundle in the ConfigMap (linkerd upgrade --identity-trust-anchors-file FILE)",
    },
  ));
  if (anchors.length === 0) return checks;
  const badCrypto = anchors.filter((a) => a.unsupportedCrypto);
  checks.push(mkCheck(
    cat,
    "trust anchors are using supported crypto algorithm",
    badCrypto.length ? "error" : "ok",
    badCrypto.length
      ? `Unsupported: ${badCrypto.map((a) => `${label(a)} ${a.unsupportedCrypto}`).join("; ")}`
      : "Every trust anchor uses ECDSA P-256 or RSA 2048/4096",
    { anchor: "l5d-identity-trustAnchors-use-supported-crypto", action: ROTATE },
  ));
  const invalid: string[] = [];
  const expiring: string[] = [];
  for (const a of anchors) {
    const state = validityAt(a, now);
    if (state === "expired") {
      invalid.push(`${label(a)} expired on ${day(a.notAfter)}`);
    } else if (state === "not-yet-valid") {
      invalid.push(`${label(a)} is not valid before ${day(a.notBefore)}`);
    } else if (state === "expiring") {
      expiring.push(
        `${label(a)} expires on ${day(a.notAfter)} (in ${daysUntil(a.notAfter, now)} days)`,
      );
    }
  }
  const latest = anchors.reduce((m, a) => (a.notAfter > m ? a.notAfter : m), anchors[0]!.notAfter);
  checks.push(mkCheck(
    cat,
    "trust anchors are within their validity period",
    invalid.length ? "error" : "ok",
    invalid.length
      ? `Invalid trust anchors: ${
        invalid.join("; ")
      }; proxies cannot validate mTLS identities issued under them`
      : `All trust anchors are valid now`,
    { anchor: "l5d-identity-trustAnchors-are-time-valid", action: ROTATE },
  ));
  checks.push(mkCheck(
    cat,
    `trust anchors are valid for at least ${EXPIRY_WARNING_DAYS} days`,
    expiring.length ? "warning" : "ok",
    expiring.length
      ? `Expiring soon: ${expiring.join("; ")}`
      : invalid.length === anchors.length
      ? "No valid trust anchor remains"
      : `No valid trust anchor expires within ${EXPIRY_WARNING_DAYS} days (latest expiry ${
        day(latest)
      }); the issuer certificate is in a Secret and is not checked`,
    { anchor: "l5d-identity-trustAnchors-not-expiring-soon", action: ROTATE },
  ));
  return checks;
}
