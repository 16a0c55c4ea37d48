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

/** The verdict of {@linkcode judgeLinkedAnchors}. */
export interface LinkedAnchorsVerdict {
  /** `ok`: identical bundles; `warning`: some anchors shared, or a side unknown; `error`: none shared. */
  status: "ok" | "warning" | "error";
  /** What was found, naming the linked cluster and short fingerprints. */
  detail: string;
}

/** The first 8 bytes of a colon-separated SHA-256 fingerprint, for messages. */
export function shortFingerprint(f: string): string {
  return `${f.slice(0, 23)}…`;
}

/**
 * Judges whether this cluster and the linked cluster `cluster` can authenticate each
 * other's workloads: their trust bundles (ConfigMap PEMs) must share a root. Identical
 * bundles are ok; bundles that share some roots but not all are a warning (a rotation
 * half done: a workload whose certificate chains to a root only one side trusts is
 * refused, and `linkerd multicluster check` requires identical bundles); no shared root
 * is an error (mTLS between the clusters fails). A side whose bundle is unknown or holds
 * no certificate is a warning.
 */
export function judgeLinkedAnchors(
  localPem: string | undefined,
  remotePem: string | undefined,
  cluster: string,
): LinkedAnchorsVerdict {
  if (!localPem) {
    return { status: "warning", detail: `${cluster}: this cluster's trust anchors are not known` };
  }
  if (!remotePem) {
    return { status: "warning", detail: `${cluster}: its trust anchors are not known` };
  }
  const c = compareTrustAnchors(localPem, remotePem);
  const fp = (list: string[]) => list.map(shortFingerprint).slice(0, 2).join(", ");
  if (c.same) {
    const n = parseTrustBundle(remotePem).anchors.length;
    return { status: "ok", detail: `${cluster} (${n} shared anchor${n === 1 ? "" : "s"})` };
  }
  if (c.overlap) {
    return {
      status: "warning",
      detail: `${cluster} shares some trust anchors but not all (only here: ${
        fp(c.onlyLocal) || "none"
      }; only in ${cluster}: ${fp(c.onlyRemote) || "none"})${
        c.errors.length ? `; ${c.errors.join("; ")}` : ""
      }`,
    };
  }
  if (c.onlyLocal.length === 0 || c.onlyRemote.length === 0) {
    return {
      status: "warning",
      detail: `${cluster}: trust anchors cannot be compared (${c.errors.join("; ")})`,
    };
  }
  return {
    status: "error",
    detail: `${cluster} shares no trust anchor with this cluster (here ${
      fp(c.onlyLocal)
    }; ${cluster} ${fp(c.onlyRemote)})${c.errors.length ? `; ${c.errors.join("; ")}` : ""}`,
  };
}
