/**
 * Whether two clusters share trust anchors, judged from the PEM bundles of their
 * `linkerd-identity-trust-roots` ConfigMaps (or `identityTrustAnchorsPEM` in
 * `linkerd-config`) only, never from Secrets. As `linkerd multicluster check` does,
 * the bundles must hold the same certificates (compared by SHA-256 fingerprint).
 *
 * @module
 */
import { parseTrustBundle } from "../mesh/trust.ts";

/** The result of {@linkcode compareTrustAnchors}. */
export interface AnchorComparison {
  /** True when both bundles hold exactly the same certificates. */
  same: boolean;
  /** True when at least one certificate is in both bundles (a rotation in progress). */
  overlap: boolean;
  /** Fingerprints only in the local bundle. */
  onlyLocal: string[];
  /** Fingerprints only in the remote bundle. */
  onlyRemote: string[];
  /** Certificates that could not be parsed, per side. */
  errors: string[];
}

/** Compares two PEM trust bundles certificate by certificate. */
export function compareTrustAnchors(localPem: string, remotePem: string): AnchorComparison {
  const local = parseTrustBundle(localPem);
  const remote = parseTrustBundle(remotePem);
  const l = new Set(local.anchors.map((a) => a.fingerprint256));
  const r = new Set(remote.anchors.map((a) => a.fingerprint256));
  const onlyLocal = [...l].filter((f) => !r.has(f));
  const onlyRemote = [...r].filter((f) => !l.has(f));
  const errors = [
    ...local.errors.map((e) => `local: ${e}`),
    ...remote.errors.map((e) => `remote: ${e}`),
    ...(l.size === 0 ? ["local: no certificate"] : []),
    ...(r.size === 0 ? ["remote: no certificate"] : []),
  ];
  return {
    same: errors.length === 0 && onlyLocal.length === 0 && onlyRemote.length === 0,
    overlap: [...l].some((f) => r.has(f)),
    onlyLocal,
    onlyRemote,
    errors,
  };
}
