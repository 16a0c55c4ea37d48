/**
 * `list_meshed_services`' model: which Services select meshed pods, how many of
 * their pods are meshed, which proxy versions and workloads are behind them, one
 * bounded page at a time.
 *
 * Pods are indexed by namespace and by `key=value` label, so each Service only
 * looks at the pods carrying its rarest selector label.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import { type ClusterState, itemsOf } from "../kube/state.ts";
import { serviceSelects } from "../kube/selectors.ts";
import type { KubeObject } from "../kube/types.ts";
import { ownerWorkloadOf } from "../kube/workloads.ts";
import { classifyMirror } from "../multicluster/links.ts";
import { isMeshed, isTerminated, type Pod, proxyVersionOf, type Service } from "./pods.ts";

/** Pod names listed per Service, at most. */
export const MAX_POD_NAMES = 10;
/** Workloads listed per Service, at most. */
export const MAX_WORKLOADS = 10;

/** A workload that owns pods. */
export interface WorkloadRef {
  /** `Deployment`, `StatefulSet`, `DaemonSet`, `CronJob`, `Job`, `ReplicaSet`, ... or `Pod` for bare pods. */
  kind: string;
  name: string;
}

/** One Service and the mesh status of the pods it selects. */
export interface MeshedService {
  namespace: string;
  /** The Service's name. */
  service: string;
  /** Selected pods carrying a Linkerd proxy. */
  meshedPods: number;
  /** Selected pods that are not terminated. */
  totalPods: number;
  /** True when some, but not all, selected pods are meshed. */
  partiallyMeshed: boolean;
  /** Distinct proxy versions of the meshed pods, sorted. */
  proxyVersions: string[];
  /** The workloads behind the selected pods, sorted. */
  workloads: WorkloadRef[];
  /** Names of up to {@linkcode MAX_POD_NAMES} meshed pods. */
  pods: string[];
  /** Names of up to {@linkcode MAX_POD_NAMES} selected pods without a proxy. */
  unmeshedPods: string[];
  /**
   * A Service the multicluster service mirror created, with the cluster it comes from;
   * absent for every other Service. Its pods are in that cluster (`meshedPods` and
   * `totalPods` count local pods only, so 0 unless a federated Service has a local member).
   */
  mirror?: MirrorInfo;
}

/** Where a mirrored or federated Service comes from. */
export interface MirrorInfo {
  /**
   * `gateway`: reached through the target cluster's gateway; `remote-discovery`: pod-to-pod,
   * resolved in the target cluster; `federated`: the union of same-named Services in
   * several clusters.
   */
  kind: "gateway" | "remote-discovery" | "federated";
  /** The Link's target cluster it mirrors (gateway and remote-discovery mirrors). */
  cluster?: string;
  /** The Service's name in that cluster (`books` for `books-east`). */
  remoteService?: string;
  /** Federated: the members in other clusters, as `service@cluster`. */
  members?: string[];
  /** Federated: the member in this cluster, when one joined. */
  localMember?: string;
}

/** Counts over every Service in scope (not just the page). */
export interface ServicesSummary {
  /** Services in scope. */
  servicesScanned: number;
  /** Services whose selected pods are all meshed. */
  fullyMeshed: number;
  partiallyMeshed: number;
  /** Services that select pods, none of them meshed. */
  unmeshed: number;
  /** Services with no selector or selecting no running pod. */
  withoutPods: number;
  /** Meshed pods among the pods selected by some Service. */
  meshedPods: number;
  /** Pods selected by some Service. */
  selectedPods: number;
  /** Mirrored and federated Services (multicluster), listed with their `mirror`; absent when none. */
  mirrored?: number;
}

/** One page of {@linkcode listMeshedServices}. */
export interface ServicesPage {
  services: MeshedService[];
  /** Services matching the request, over all pages. */
  totalServices: number;
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
  summary: ServicesSummary;
  /** Why the list is empty, and what to do, when it is. */
  note?: string;
}

/** Options for {@linkcode listMeshedServices}. */
export interface ListMeshedServicesOptions {
  /** Only this namespace (the state should already be restricted to it). */
  namespace?: string;
  /** Page size. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Also list Services none of whose pods are meshed. */
  includeUnmeshed?: boolean;
}

/**
 * Lists Services that select meshed pods, sorted by namespace and name, one page at a time.
 *
 * @throws {InvalidArgumentError} when the cursor is malformed or was issued for other filters.
 */
export function listMeshedServices(
  state: ClusterState,
  opts: ListMeshedServicesOptions,
): ServicesPage {
  const filter = `${opts.namespace ?? "*"}|${opts.includeUnmeshed ? "all" : "meshed"}`;
  const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor, filter);
  const { summary: scanned, matches, replicaSets } = scanOf(
    state,
    opts.namespace,
    opts.includeUnmeshed === true,
  );
  const summary = { ...scanned };
  const start = after === undefined ? 0 : firstAfter(matches.map((m) => key(m.service)), after);
  const page = matches.slice(start, start + opts.limit);
  const last = page.at(-1);
  const more = start + page.length < matches.length;
  const note = emptyNote(matches.length, summary, opts);
  return {
    services: page.map((m) => ({
      ...describe(m.service, m.pods, m.meshed, replicaSets),
      ...(m.mirror ? { mirror: m.mirror } : {}),
    })),
    totalServices: matches.length,
    ...(more && last ? { nextCursor: encodeCursor(key(last.service), filter) } : {}),
    summary,
    ...(note ? { note } : {}),
  };
}

/** What a page of {@linkcode listMeshedServices} is cut from: every matching Service, in order. */
interface Scan {
  summary: ServicesSummary;
  matches: Array<{ service: Service; pods: Pod[]; meshed: Pod[]; mirror?: MirrorInfo }>;
  replicaSets: Map<string, KubeObject>;
}

/**
 * Scans per state snapshot and filter: a live source returns the same state object while its
 * watches see no change, so a repeat call (the next page, a warm call) only cuts a page.
 */
const SCANS = new WeakMap<ClusterState, Map<string, Scan>>();

function scanOf(
  state: ClusterState,
  namespace: string | undefined,
  includeUnmeshed: boolean,
): Scan {
  let byFilter = SCANS.get(state);
  if (!byFilter) SCANS.set(state, byFilter = new Map());
  const filter = `${namespace ?? "\u0000all"}|${includeUnmeshed}`;
  const held = byFilter.get(filter);
  if (held) return held;
  const index = podIndexOf(state, namespace);
  const replicaSets = new Map(
    itemsOf(state, "replicasets", namespace).map((
      rs,
    ) => [`${rs.metadata.namespace}/${rs.metadata.name}`, rs]),
  );
  const services = (itemsOf(state, "services", namespace) as readonly Service[])
    .slice()
    .sort((a, b) => compareKeys(key(a), key(b)));
  const summary: ServicesSummary = {
    servicesScanned: services.length,
    fullyMeshed: 0,
    partiallyMeshed: 0,
    unmeshed: 0,
    withoutPods: 0,
    meshedPods: 0,
    selectedPods: 0,
  };
  const counted = new Set<Pod>();
  const matches: Array<{ service: Service; pods: Pod[]; meshed: Pod[]; mirror?: MirrorInfo }> = [];
  for (const service of services) {
    const mirror = mirrorInfoOf(service as KubeObject);
    const pods = index.select(service);
    const meshed = pods.filter((p) => isMeshed(p as KubeObject));
    for (const p of pods) {
      if (counted.has(p)) continue;
      counted.add(p);
      summary.selectedPods++;
      if (isMeshed(p as KubeObject)) summary.meshedPods++;
    }
    if (pods.length === 0) summary.withoutPods++;
    else if (meshed.length === pods.length) summary.fullyMeshed++;
    else if (meshed.length > 0) summary.partiallyMeshed++;
    else summary.unmeshed++;
    if (mirror) {
      summary.mirrored = (summary.mirrored ?? 0) + 1;
      matches.push({ service, pods, meshed, mirror });
    } else if (meshed.length > 0 || (includeUnmeshed && pods.length > 0)) {
      matches.push({ service, pods, meshed });
    }
  }
  const scan: Scan = { summary, matches, replicaSets };
  byFilter.set(filter, scan);
  return scan;
}

/** The multicluster origin of a Service the service mirror created (probe Services excluded). */
function mirrorInfoOf(service: KubeObject): MirrorInfo | undefined {
  const m = classifyMirror(service);
  if (!m || m.kind === "probe-gateway") return undefined;
  const out: MirrorInfo = { kind: m.kind };
  if (m.cluster) out.cluster = m.cluster;
  if (m.remoteService) out.remoteService = m.remoteService;
  if (m.members) out.members = m.members.map((x) => `${x.service}@${x.cluster}`);
  if (m.localMember) out.localMember = m.localMember;
  return out;
}

function emptyNote(
  matched: number,
  summary: ServicesSummary,
  opts: ListMeshedServicesOptions,
): string | undefined {
  if (matched > 0) return undefined;
  const where = opts.namespace ? `namespace "${opts.namespace}"` : "the cluster";
  if (summary.servicesScanned === 0) {
    return `No Services found in ${where}${opts.namespace ? "; check the namespace name" : ""}`;
  }
  if (summary.unmeshed > 0) {
    return `${summary.unmeshed} Service(s) in ${where} select pods but none is meshed; pass include_unmeshed: true to list them, or mesh them (annotate the namespace or workload with linkerd.io/inject: enabled, then kubectl rollout restart)`;
  }
  return `No Service in ${where} selects a running pod`;
}

function describe(
  service: Service,
  pods: Pod[],
  meshed: Pod[],
  replicaSets: Map<string, KubeObject>,
): MeshedService {
  const meshedSet = new Set(meshed);
  const versions = new Set<string>();
  for (const p of meshed) versions.add(proxyVersionOf(p) ?? "unknown");
  const workloads = new Map<string, WorkloadRef>();
  for (const p of pods) {
    const w = workloadOf(p, replicaSets);
    workloads.set(`${w.kind}/${w.name}`, w);
  }
  const names = (ps: Pod[]) => ps.map((p) => p.metadata.name).sort().slice(0, MAX_POD_NAMES);
  return {
    namespace: service.metadata.namespace ?? "",
    service: service.metadata.name,
    meshedPods: meshed.length,
    totalPods: pods.length,
    partiallyMeshed: meshed.length > 0 && meshed.length < pods.length,
    proxyVersions: [...versions].sort(),
    workloads: [...workloads.values()]
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name))
      .slice(0, MAX_WORKLOADS),
    pods: names(meshed),
    unmeshedPods: names(pods.filter((p) => !meshedSet.has(p))),
  };
}

/**
 * Pod indexes per state snapshot and namespace scope: a live source returns the same state
 * object while its watches see no change, so repeat calls reuse the index.
 */
const POD_INDEXES = new WeakMap<ClusterState, Map<string, PodIndex>>();

function podIndexOf(state: ClusterState, namespace: string | undefined): PodIndex {
  let byScope = POD_INDEXES.get(state);
  if (!byScope) POD_INDEXES.set(state, byScope = new Map());
  const scope = namespace ?? "\u0000all";
  let index = byScope.get(scope);
  if (!index) {
    index = new PodIndex(itemsOf(state, "pods", namespace) as readonly Pod[]);
    byScope.set(scope, index);
  }
  return index;
}

/** Pods by namespace and by `key=value` label, for selecting a Service's pods quickly. */
class PodIndex {
  readonly #byLabel = new Map<string, Pod[]>();

  constructor(pods: readonly Pod[]) {
    for (const pod of pods) {
      if (isTerminated(pod)) continue;
      const ns = pod.metadata.namespace ?? "";
      for (const [k, v] of Object.entries(pod.metadata.labels ?? {})) {
        const slot = `${ns}\u0000${k}=${v}`;
        const list = this.#byLabel.get(slot);
        if (list) list.push(pod);
        else this.#byLabel.set(slot, [pod]);
      }
    }
  }

  /** The non-terminated pods in the Service's namespace that its selector selects. */
  select(service: Service): Pod[] {
    const selector = service.spec?.selector;
    if (!selector || Object.keys(selector).length === 0) return [];
    const ns = service.metadata.namespace ?? "";
    let smallest: Pod[] | undefined;
    for (const [k, v] of Object.entries(selector)) {
      const list = this.#byLabel.get(`${ns}\u0000${k}=${v}`);
      if (!list) return [];
      if (!smallest || list.length < smallest.length) smallest = list;
    }
    return (smallest ?? []).filter((p) => serviceSelects(selector, p.metadata.labels));
  }
}

/**
 * The workload behind a pod: the owner chain (Pod → ReplicaSet → Deployment), else
 * the injector's `linkerd.io/proxy-<kind>` label, else the pod itself
 * (`ownerWorkloadOf` in `src/kube/workloads.ts`).
 */
export function workloadOf(pod: Pod, replicaSets: Map<string, KubeObject>): WorkloadRef {
  return ownerWorkloadOf(
    pod,
    (kind, ns, name) => kind === "ReplicaSet" ? replicaSets.get(`${ns}/${name}`) : undefined,
  );
}

function key(obj: { metadata: KubeObject["metadata"] }): [string, string] {
  return [obj.metadata.namespace ?? "", obj.metadata.name];
}

function compareKeys(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/** Index of the first key strictly after `after` (keys are sorted). */
function firstAfter(keys: Array<[string, string]>, after: [string, string]): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keys[mid]!, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface CursorData {
  v: 1;
  /** Last `[namespace, name]` returned. */
  k: [string, string];
  /** The filters the cursor was issued for. */
  f: string;
}

function encodeCursor(last: [string, string], filter: string): string {
  const data: CursorData = { v: 1, k: last, f: filter };
  return btoa(JSON.stringify(data)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string, filter: string): [string, string] {
  let data: Partial<CursorData> | undefined;
  try {
    const b64 = cursor.replaceAll("-", "+").replaceAll("_", "/");
    data = JSON.parse(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, "=")));
  } catch {
    data = undefined;
  }
  const k = data?.k;
  if (
    !data || data.v !== 1 || !Array.isArray(k) || k.length !== 2 ||
    typeof k[0] !== "string" || typeof k[1] !== "string"
  ) {
    throw new InvalidArgumentError(
      `Cursor "${
        cursor.slice(0, 40)
      }" is not valid: pass the nextCursor of a previous list_meshed_services result unchanged, or omit cursor to start from the first page`,
    );
  }
  if (data.f !== filter) {
    throw new InvalidArgumentError(
      `Cursor was issued for different arguments (namespace or include_unmeshed); repeat the call with the same arguments as the call that returned it, or omit cursor to start over`,
    );
  }
  return [k[0], k[1]];
}
