/**
 * The few domain error classes. Messages follow the style guide: sentence case,
 * no trailing period, quoted values, details after a colon.
 *
 * The messages of errors about upstreams (Kubernetes API, Prometheus) go through
 * `redact()` on construction: no credential can ride an error to a tool result or a log.
 *
 * @module
 */
import { redact } from "./redact.ts";

/** The Kubernetes API answered with an error status, or could not be reached. */
export class KubeApiError extends Error {
  /** HTTP status, or 0 when the API server could not be reached. */
  readonly status: number;
  /** Kubernetes `Status.reason` (`Forbidden`, `NotFound`, ...), or a network error code. */
  readonly reason: string;

  constructor(message: string, opts: { status: number; reason: string; cause?: unknown }) {
    super(redact(message), { cause: opts.cause });
    this.name = "KubeApiError";
    this.status = opts.status;
    this.reason = opts.reason;
  }
}

/** Why a kubeconfig or its credentials cannot be used. */
export type KubeconfigProblem =
  /** No kubeconfig named, none at `~/.kube/config`, not in a pod. */
  | "NoKubeconfig"
  /** A kubeconfig file is not valid YAML, or names a cluster it does not define. */
  | "InvalidKubeconfig"
  /** The context asked for (or the current-context) does not exist. */
  | "UnknownContext"
  /** The file cannot be read: EACCES, or Deno refused read access. */
  | "PermissionDenied"
  /** The credentials cannot be produced (an exec plugin failed, a key file is missing). */
  | "Credentials";

/**
 * The kubeconfig (or the credentials it names) cannot be used: a local problem, not a
 * network one. Its message says what to do; it must not be explained as "the API server
 * could not be reached". A {@linkcode KubeApiError} with status 0.
 */
export class KubeconfigError extends KubeApiError {
  override readonly reason: KubeconfigProblem;

  constructor(message: string, opts: { reason: KubeconfigProblem; cause?: unknown }) {
    super(message, {
      status: 0,
      reason: opts.reason,
      ...(opts.cause ? { cause: opts.cause } : {}),
    });
    this.name = "KubeconfigError";
    this.reason = opts.reason;
  }
}

/** A manifest file could not be read or parsed. */
export class ManifestError extends SyntaxError {
  readonly file: string;
  readonly line: number | undefined;

  constructor(message: string, opts: { file: string; line?: number; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = "ManifestError";
    this.file = opts.file;
    this.line = opts.line;
  }
}

/** Prometheus could not be reached, timed out, or returned an error. */
export class PrometheusUnavailableError extends Error {
  readonly url: string;

  constructor(message: string, opts: { url: string; cause?: unknown }) {
    super(redact(message), { cause: opts.cause });
    this.name = "PrometheusUnavailableError";
    this.url = opts.url;
  }
}

/** A caller-supplied value was rejected (bad name, out-of-range duration, ...). */
export class InvalidArgumentError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "InvalidArgumentError";
  }
}

/** A named object (service, namespace, ...) does not exist in the cluster state. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}
