/**
 * Linkerd trust anchors: parsing the PEM bundle of the `linkerd-identity-trust-roots`
 * ConfigMap and judging each certificate as `linkerd check` does (supported crypto,
 * validity period, at least 60 days left). Secrets are never read.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";

/** `linkerd check` warns when a certificate expires within this many days. */
export const EXPIRY_WARNING_DAYS = 60;

/** One parsed trust anchor. */
export interface TrustAnchor {
  /** Subject common name, or the whole subject when there is no CN. */
  commonName: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint256: string;
  /** Why the key or signature algorithm is not one Linkerd accepts; absent when supported. */
  unsupportedCrypto?: string;
}

/** The certificates of a PEM bundle, and the blocks that could not be parsed. */
export interface ParsedBundle {
  anchors: TrustAnchor[];
  /** One message per unparsable `CERTIFICATE` block. */
  errors: string[];
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Parses every `CERTIFICATE` block of a PEM bundle. */
export function parseTrustBundle(pem: string): ParsedBundle {
  const anchors: TrustAnchor[] = [];
  const errors: string[] = [];
  const blocks = pem.match(PEM_BLOCK) ?? [];
  blocks.forEach((block, i) => {
    try {
      anchors.push(describeCertificate(new X509Certificate(block)));
    } catch (err) {
      errors.push(`certificate ${i + 1} cannot be parsed: ${(err as Error).message}`);
    }
  });
  return { anchors, errors };
}

function describeCertificate(cert: X509Certificate): TrustAnchor {
  const x = cert as X509Certificate & { validFromDate?: Date; validToDate?: Date };
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject;
  const unsupported = cryptoProblem(cert);
  return {
    commonName: cn,
    serialNumber: cert.serialNumber,
    notBefore: x.validFromDate ?? new Date(cert.validFrom),
    notAfter: x.validToDate ?? new Date(cert.validTo),
    fingerprint256: cert.fingerprint256,
    ...(unsupported ? { unsupportedCrypto: unsupported } : {}),
  };
}

/** Linkerd's `CheckTrustAnchorAlgoRequirements`: ECDSA P-256 or RSA 2048/4096, SHA-256 signatures. */
function cryptoProblem(cert: X509Certificate): string | undefined {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const sig = (cert as X509Certificate & { signatureAlgorithm?: string }).signatureAlgorithm;
  if (key.asymmetricKeyType === "ec") {
    if (details.namedCurve !== "prime256v1" && details.namedCurve !== "P-256") {
      return `must use the P-256 curve, not ${details.namedCurve ?? "an unknown curve"}`;
    }
    if (sig && !/^(ecdsa-with-SHA256|sha256WithRSAEncryption)$/i.test(sig)) {
      return `must be signed with ECDSA SHA-256, not ${sig}`;
    }
    return undefined;
  }
  if (key.asymmetricKeyType === "rsa") {
    if (details.modulusLength !== 2048 && details.modulusLength !== 4096) {
      return `RSA keys must be 2048 or 4096 bits, not ${details.modulusLength}`;
    }
    if (sig && !/^sha256WithRSAEncryption$/i.test(sig)) {
      return `must be signed with SHA-256 RSA, not ${sig}`;
    }
    return undefined;
  }
  return `must use an ECDSA or RSA key, not ${key.asymmetricKeyType ?? "an unknown algorithm"}`;
}

/** Where a certificate stands in time. */
export type ValidityState = "valid" | "expiring" | "expired" | "not-yet-valid";

/** Judges a certificate's validity at `now`, warning {@linkcode EXPIRY_WARNING_DAYS} ahead. */
export function validityAt(anchor: TrustAnchor, now: Date): ValidityState {
  if (anchor.notBefore.getTime() > now.getTime()) return "not-yet-valid";
  if (anchor.notAfter.getTime() < now.getTime()) return "expired";
  const warnAt = now.getTime() + EXPIRY_WARNING_DAYS * 86_400_000;
  return anchor.notAfter.getTime() < warnAt ? "expiring" : "valid";
}

/** Whole days from `now` until `date` (negative when in the past). */
export function daysUntil(date: Date, now: Date): number {
  return Math.floor((date.getTime() - now.getTime()) / 86_400_000);
}
