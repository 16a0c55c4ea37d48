/**
 * Plain Kubernetes object shapes shared by every layer.
 *
 * Domain code (mesh, policy, validation) works on these JSON shapes only; it never
 * sees `@kubernetes/client-node`. Narrow views of specific kinds are declared by the
 * module that interprets them.
 *
 * @module
 */

/** Owner reference, as in `metadata.ownerReferences`. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

/** The subset of `ObjectMeta` this project reads. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  resourceVersion?: string;
  generation?: number;
  ownerReferences?: OwnerReference[];
  generateName?: string;
}

/**
 * Where a manifest object came from on disk; set only by the manifests source.
 * `line` is 1-based and points at the start of the object's YAML document.
 */
export interface SourcePosition {
  file: string;
  line: number;
}

/** Any Kubernetes object. `S` and `T` narrow `spec` and `status` for a known kind. */
export interface KubeObject<S = Record<string, unknown>, T = Record<string, unknown>> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: S;
  status?: T;
  /** ConfigMap data. */
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** The subset of a container spec this project reads. */
export interface ContainerSpec {
  name: string;
  image?: string;
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  restartPolicy?: string;
  livenessProbe?: ProbeSpec;
  readinessProbe?: ProbeSpec;
  startupProbe?: ProbeSpec;
  env?: Array<{ name: string; value?: string }>;
}

/** A probe; only `httpGet` matters for Linkerd's automatic probe route. */
export interface ProbeSpec {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  tcpSocket?: { port: number | string };
  grpc?: { port: number };
  exec?: unknown;
}

/** The subset of a pod spec this project reads. */
export interface PodSpec {
  containers?: ContainerSpec[];
  initContainers?: ContainerSpec[];
  serviceAccountName?: string;
  serviceAccount?: string;
  nodeName?: string;
  hostNetwork?: boolean;
}

/** The subset of a pod status this project reads. */
export interface PodStatus {
  phase?: string;
  podIP?: string;
  podIPs?: Array<{ ip: string }>;
  conditions?: Array<{ type: string; status: string }>;
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

/** A container's status. */
export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  started?: boolean;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: unknown;
    terminated?: { reason?: string; exitCode?: number };
  };
}

/** A Pod object. */
export type Pod = KubeObject<PodSpec, PodStatus>;

/** A Service object. */
export type Service = KubeObject<{
  selector?: Record<string, string>;
  ports?: Array<
    {
      name?: string;
      port: number;
      targetPort?: number | string;
      protocol?: string;
      appProtocol?: string;
    }
  >;
  type?: string;
  clusterIP?: string;
}>;

/** Position of a manifest object, when it was read from a file. */
const POSITIONS = new WeakMap<object, SourcePosition>();

/** Records where a manifest object was read from (manifests source only). */
export function setPosition(obj: KubeObject, pos: SourcePosition): void {
  POSITIONS.set(obj, pos);
}

/** Returns the file and line an object was read from, if it came from a manifest. */
export function positionOf(obj: KubeObject): SourcePosition | undefined {
  return POSITIONS.get(obj);
}

/** `namespace/name` (or `name` for cluster-scoped objects). */
export function objectKey(obj: KubeObject): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : obj.metadata.name;
}
