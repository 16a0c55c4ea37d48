/**
 * The demo mesh's traffic, with known true values: the generator behind the demo's
 * recorded Prometheus (`scripts/gen_demo_traffic.ts` backfills a real Prometheus with
 * {@linkcode writeDemoOpenMetrics} and records the metrics tools' queries), and the truth
 * the demo tests compare the tools' answers with ({@linkcode edgeTruth},
 * {@linkcode workloadTruth}).
 *
 * The traffic, per request edge (client workload → Service), steady unless said:
 * - emojivoto: `vote-bot` → `web-svc` 10 rps; `web` → `emoji-svc` 6 rps (gRPC, 100 %);
 *   `web` → `voting-svc` 4 rps (gRPC), 10 % failing with gRPC status 2: the vote for the
 *   doughnut emoji always fails (emojivoto's known bug), and `web` answers those with a 500,
 *   so `web` is at 96 %. **Latency spike**: `emoji` p95 40 → 450 ms from 20 to 10 minutes
 *   before "now". **Success-rate drop**: `voting` 90 → 40 % from 35 to 25 minutes before
 *   "now" (and `web` with it, 96 → 76 %).
 * - booksapp: `traffic` → `webapp` 8 rps (90 %); `webapp` → `books` 4 rps (80 %),
 *   `webapp` → `authors` 3 rps GET and 0.5 rps POST/DELETE (per-route policy: both allowed),
 *   `books` → `authors` 2 rps GET (allowed) and 0.2 rps PUT **denied** (403: only `webapp`
 *   may modify), authors failing 30 % of its GETs (its `FAILURE_RATE`); the kubelet's
 *   unauthenticated probes (`authors-probe-route`). **Audit mode**: `webapp`'s Server
 *   `webapp-server` (src/demo/assets/booksapp-audit.yaml) is in audit mode with no policy, so
 *   every request of `traffic` is allowed by the `audit` authorization
 *   (`authz_kind="default", authz_name="audit"`): it would be denied once enforced. `books`
 *   has no Server: the default policy (`all-unauthenticated`) allows its clients.
 * - linkerd: every proxy's gRPC streams to `linkerd-destination` and certificate renewals to
 *   `linkerd-identity` (inbound only: a proxy's own control-plane calls are not
 *   `response_total`), the API server's webhook calls to `linkerd-proxy-injector` (not
 *   mTLS).
 * - linkerd-viz: viz `web` → `metrics-api` 0.5 rps, `metrics-api` → `prometheus` 1 rps, and
 *   Prometheus scraping the control-plane and viz admin ports every 10 s.
 * - linkerd-multicluster: the service mirror of the Link to east probes east's gateway every
 *   3 s, always alive (`gateway_alive` 1), p95 about 9 ms ({@linkcode gatewayProbeSeries}).
 *   The multicluster workloads and west's `frontend` carry no request traffic in the
 *   recording (east, which frontend calls, has no Prometheus in the demo).
 *
 * Series carry the labels Linkerd's proxies and viz's Prometheus relabelling give them
 * (linkerd-semantics.md §4), inbound ones with `target_port`; besides the responses and
 * histograms, inbound `request_total` and `tcp_open_total` by client (the policy lifecycle
 * tools' input) and, for opaque TCP edges ({@linkcode Edge.tcp}),
 * `inbound_tcp_authz_allow_total`; latency histograms use {@linkcode BUCKETS}.
 *
 * @module
 */
import { BUCKETS, type Cdf, cdfAt, histogramQuantile } from "./openmetrics_gen.ts";

export { BUCKETS, type Cdf, cdfAt, histogramQuantile };

/** The recording's clock: "now" of the generated traffic (a whole minute, seconds). */
export const DEMO_TRAFFIC_END = Date.parse("2026-08-24T12:00:00Z") / 1000;

/** Seconds before "now" of the injected incidents. */
export const SPIKE = { from: 1200, to: 600 } as const;
export const DROP = { from: 2100, to: 1500 } as const;

const TRUST = "linkerd.cluster.local";
/** mTLS identity of a ServiceAccount. */
export const identity = (sa: string, ns: string) => `${sa}.${ns}.serviceaccount.identity.${TRUST}`;

/** A meshed workload (one pod carries its series; pod names are the demo's). */
export interface Workload {
  namespace: string;
  kind: "deployment" | "statefulset" | "daemonset";
  name: string;
  pod: string;
  serviceAccount: string;
}

/** What a server-side edge goes to. */
export interface Target {
  workload: Workload;
  /** The Service the client addressed (`dst_service`); absent for pod-IP traffic (scrapes). */
  service?: string;
  port: number;
  srv: { kind: string; name: string };
  authz: { kind: string; name: string };
  route?: { kind: string; name: string };
}

/** Request behaviour at a time `tRel` seconds before "now". */
export interface Behaviour {
  rps: number;
  /** Fraction classified success. */
  success: number;
  cdf: Cdf;
  mean: number;
}

/** One request edge. */
export interface Edge {
  /** A meshed client workload, or an unmeshed client (kubelet, API server) by name. */
  from: Workload | { unmeshed: string };
  to: Target;
  grpc: boolean;
  /** Status of failed requests: HTTP code, or the gRPC status (HTTP 200). */
  failStatus: string;
  behaviour(tRel: number): Behaviour;
  /** Requests per second the target's policy denies (never reach the application). */
  deniedRps?: number;
  /** Bytes per request the client writes and reads. */
  bytes: { sent: number; received: number };
  /**
   * Opaque TCP (no HTTP): `behaviour().rps` is connections per second, and the series are
   * `tcp_open_total` and `inbound_tcp_authz_allow_total` only.
   */
  tcp?: boolean;
}

/** Latency distributions (cumulative fraction at bucket bounds, ms). */
export const CDF = {
  web: { 5: .2, 10: .5, 20: .6, 30: .7, 40: .75, 50: .8, 100: .9, 200: 1 },
  emoji: { 10: .5, 20: .8, 30: .9, 40: .95, 50: 1 },
  emojiSpike: { 100: .2, 200: .5, 300: .8, 500: 1 },
  voting: { 5: .5, 10: .9, 20: 1 },
  webapp: { 10: .3, 20: .5, 50: .8, 100: .95, 200: .99, 500: 1 },
  books: { 10: .4, 20: .7, 50: .9, 100: 1 },
  authors: { 5: .3, 10: .6, 20: .9, 50: 1 },
  grpcFast: { 5: .9, 10: 1 },
  prometheus: { 20: .3, 50: .7, 100: .9, 200: .98, 500: 1 },
  scrape: { 5: .5, 10: .9, 20: 1 },
} as const satisfies Record<string, Cdf>;

const inDrop = (t: number) => t < DROP.from && t >= DROP.to;
const inSpike = (t: number) => t < SPIKE.from && t >= SPIKE.to;

/** Voting's success: the doughnut votes fail (10 %), 60 % during the drop. */
const votingSuccess = (t: number) => (inDrop(t) ? 0.4 : 0.9);

function w(
  namespace: string,
  name: string,
  pod: string,
  serviceAccount = name,
): Workload {
  return { namespace, kind: "deployment", name, pod, serviceAccount };
}

/** The demo's workloads (pod names as the demo mesh synthesises them). */
export const W = {
  web: w("emojivoto", "web", "web-cbjq9j9tgb-cdmg5"),
  emoji: w("emojivoto", "emoji", "emoji-mc9hwkzhn4-4qrts"),
  voting: w("emojivoto", "voting", "voting-2lt2x58fv4-8qgfw"),
  voteBot: w("emojivoto", "vote-bot", "vote-bot-6s8nxskw8t-rxxq6", "default"),
  webapp: w("booksapp", "webapp", "webapp-d7kwwxxwnz-2hbhh"),
  authors: w("booksapp", "authors", "authors-7d75hktc4g-m29vh"),
  books: w("booksapp", "books", "books-hnsmwgnbfn-7z5gs"),
  traffic: w("booksapp", "traffic", "traffic-wjf4lcbxvv-f76dq"),
  identity: w("linkerd", "linkerd-identity", "linkerd-identity-l9c2529fjs-trf8p"),
  destination: w("linkerd", "linkerd-destination", "linkerd-destination-qpcmtndzzc-z6fzs"),
  injector: w("linkerd", "linkerd-proxy-injector", "linkerd-proxy-injector-dpmxvvdplw-wb757"),
  metricsApi: w("linkerd-viz", "metrics-api", "metrics-api-p9h46s5n72-5jfcg"),
  prometheus: w("linkerd-viz", "prometheus", "prometheus-s4cwsljlhl-kjfvh"),
  tap: w("linkerd-viz", "tap", "tap-wxf4rx2nxn-8r6bk"),
  tapInjector: w("linkerd-viz", "tap-injector", "tap-injector-s7jqjx4sl8-clm7q"),
  vizWeb: w("linkerd-viz", "web", "web-rfvb8clrmk-tmg7q"),
} as const;

const DEFAULT_SRV = { kind: "default", name: "all-unauthenticated" };
const DEFAULT_AUTHZ = { kind: "default", name: "all-unauthenticated" };
/** The authorization audit mode adds: what allows a request that would otherwise be denied. */
export const AUDIT = { kind: "default", name: "audit" };

const steady = (rps: number, success: number, cdf: Cdf, mean: number) => (): Behaviour => ({
  rps,
  success,
  cdf,
  mean,
});

/** Every request edge of the demo mesh. */
export function demoEdges(): Edge[] {
  const emojiGrpc = { kind: "server", name: "emoji-grpc" };
  const votingGrpc = { kind: "server", name: "voting-grpc" };
  const internal = { kind: "serverauthorization", name: "internal-grpc" };
  const authorsSrv = { kind: "server", name: "authors-server" };
  const route = (name: string) => ({ kind: "HTTPRoute", name });
  const ap = (name: string) => ({ kind: "authorizationpolicy", name });
  const scrape = (target: Workload, port: number): Edge => ({
    from: W.prometheus,
    to: { workload: target, port, srv: DEFAULT_SRV, authz: DEFAULT_AUTHZ },
    grpc: false,
    failStatus: "500",
    behaviour: steady(0.1, 1, CDF.scrape, 4),
    bytes: { sent: 200, received: 20_000 },
  });
  return [
    // emojivoto
    {
      from: W.voteBot,
      to: {
        workload: W.web,
        service: "web-svc",
        port: 8080,
        srv: { kind: "server", name: "web-http" },
        authz: { kind: "serverauthorization", name: "web-public" },
      },
      grpc: false,
      failStatus: "500",
      // web fails exactly the votes voting fails
      behaviour: (t) => ({
        rps: 10,
        success: 1 - 0.4 * (1 - votingSuccess(t)),
        cdf: CDF.web,
        mean: 42,
      }),
      bytes: { sent: 300, received: 2_000 },
    },
    {
      from: W.web,
      to: { workload: W.emoji, service: "emoji-svc", port: 8080, srv: emojiGrpc, authz: internal },
      grpc: true,
      failStatus: "2",
      behaviour: (t) => ({
        rps: 6,
        success: 1,
        cdf: inSpike(t) ? CDF.emojiSpike : CDF.emoji,
        mean: inSpike(t) ? 250 : 20,
      }),
      bytes: { sent: 100, received: 4_000 },
    },
    {
      from: W.web,
      to: {
        workload: W.voting,
        service: "voting-svc",
        port: 8080,
        srv: votingGrpc,
        authz: internal,
      },
      grpc: true,
      failStatus: "2",
      behaviour: (t) => ({ rps: 4, success: votingSuccess(t), cdf: CDF.voting, mean: 7 }),
      bytes: { sent: 80, received: 50 },
    },
    // booksapp
    {
      from: W.traffic,
      // webapp-server is in audit mode with no policy yet: allowed by `audit`, would be denied
      to: {
        workload: W.webapp,
        service: "webapp",
        port: 7000,
        srv: { kind: "server", name: "webapp-server" },
        authz: AUDIT,
      },
      grpc: false,
      failStatus: "500",
      behaviour: steady(8, 0.9, CDF.webapp, 45),
      bytes: { sent: 500, received: 8_000 },
    },
    {
      from: W.webapp,
      to: {
        workload: W.books,
        service: "books",
        port: 7002,
        srv: DEFAULT_SRV,
        authz: DEFAULT_AUTHZ,
      },
      grpc: false,
      failStatus: "500",
      behaviour: steady(4, 0.8, CDF.books, 22),
      bytes: { sent: 300, received: 3_000 },
    },
    {
      from: W.webapp,
      to: {
        workload: W.authors,
        service: "authors",
        port: 7001,
        srv: authorsSrv,
        authz: ap("authors-get-policy"),
        route: route("authors-get-route"),
      },
      grpc: false,
      failStatus: "500",
      behaviour: steady(3, 0.7, CDF.authors, 12),
      bytes: { sent: 200, received: 1_500 },
    },
    {
      from: W.webapp,
      to: {
        workload: W.authors,
        service: "authors",
        port: 7001,
        srv: authorsSrv,
        authz: ap("authors-modify-policy"),
        route: route("authors-modify-route"),
      },
      grpc: false,
      failStatus: "500",
      behaviour: steady(0.5, 1, CDF.authors, 12),
      bytes: { sent: 400, received: 300 },
    },
    {
      from: W.books,
      to: {
        workload: W.authors,
        service: "authors",
        port: 7001,
        srv: authorsSrv,
        authz: ap("authors-get-policy"),
        route: route("authors-get-route"),
      },
      grpc: false,
      failStatus: "500",
      behaviour: steady(2, 0.7, CDF.authors, 12),
      // books also tries to PUT authors, which only webapp may do: denied (403)
      deniedRps: 0.2,
      bytes: { sent: 200, received: 1_500 },
    },
    {
      from: { unmeshed: "kubelet" },
      to: {
        workload: W.authors,
        port: 7001,
        srv: authorsSrv,
        authz: ap("authors-probe-policy"),
        route: route("authors-probe-route"),
      },
      grpc: false,
      failStatus: "500",
      behaviour: steady(0.1, 1, CDF.grpcFast, 2),
      bytes: { sent: 100, received: 50 },
    },
    // linkerd control plane: proxies' control-plane calls (inbound only)
    ...[W.web, W.webapp, W.prometheus].map((client): Edge => ({
      from: client,
      to: { workload: W.destination, port: 8086, srv: DEFAULT_SRV, authz: DEFAULT_AUTHZ },
      grpc: true,
      failStatus: "14",
      behaviour: steady(1, 1, CDF.grpcFast, 3),
      bytes: { sent: 100, received: 600 },
    })),
    {
      from: W.web,
      to: { workload: W.identity, port: 8080, srv: DEFAULT_SRV, authz: DEFAULT_AUTHZ },
      grpc: true,
      failStatus: "14",
      behaviour: steady(0.05, 1, CDF.grpcFast, 4),
      bytes: { sent: 2_000, received: 3_000 },
    },
    {
      from: { unmeshed: "kube-apiserver" },
      to: { workload: W.injector, port: 8443, srv: DEFAULT_SRV, authz: DEFAULT_AUTHZ },
      grpc: false,
      failStatus: "500",
      behaviour: steady(0.05, 1, CDF.scrape, 6),
      bytes: { sent: 8_000, received: 9_000 },
    },
    // linkerd-viz
    {
      from: W.vizWeb,
      to: {
        workload: W.metricsApi,
        service: "metrics-api",
        port: 8085,
        srv: { kind: "server", name: "metrics-api" },
        authz: ap("metrics-api"),
      },
      grpc: false,
      failStatus: "500",
      behaviour: steady(0.5, 1, CDF.webapp, 30),
      bytes: { sent: 300, received: 5_000 },
    },
    {
      from: W.metricsApi,
      to: {
        workload: W.prometheus,
        service: "prometheus",
        port: 9090,
        srv: { kind: "server", name: "prometheus-admin" },
        authz: ap("prometheus-admin"),
      },
      grpc: false,
      failStatus: "500",
      behaviour: steady(1, 1, CDF.prometheus, 60),
      bytes: { sent: 600, received: 12_000 },
    },
    // viz's Prometheus scraping the admin ports (by pod IP: no dst_service)
    scrape(W.identity, 9990),
    scrape(W.destination, 9996),
    scrape(W.injector, 9995),
    scrape(W.metricsApi, 9995),
    scrape(W.tap, 9998),
    scrape(W.tapInjector, 9995),
    scrape(W.vizWeb, 9994),
  ];
}

/** Workloads with no traffic at all (their series exist, their counters never move). */
export const IDLE: readonly Workload[] = [];

/** Open inbound TCP connections per workload (a gauge; a workload not listed has 1 per client). */
export const OPEN_CONNECTIONS: Record<string, number> = {
  "emojivoto/web": 4,
  "booksapp/webapp": 6,
};

// ------------------------------------------------------------------ truth

function isMeshed(c: Edge["from"]): c is Workload {
  return !("unmeshed" in c);
}

/** The true numbers of a set of edges at steady state ("now", outside the incidents). */
export interface Truth {
  rps: number;
  /** Percent, 0–100, or null without traffic. */
  successRate: number | null;
  failRps: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Requests per second denied by the target's policy. */
  deniedRps: number;
}

/** Mixture of the edges' latency distributions, weighted by their request rates. */
function mixture(edges: readonly Edge[], t: number): Cdf | undefined {
  const total = edges.reduce((a, e) => a + e.behaviour(t).rps, 0);
  if (total === 0) return undefined;
  const out: Cdf = {};
  for (const b of BUCKETS) {
    out[b] = edges.reduce((a, e) => a + e.behaviour(t).rps * cdfAt(e.behaviour(t).cdf, b), 0) /
      total;
  }
  return out;
}

/** Truth of some edges at `tRel` seconds before "now" (default: now). */
export function truthOf(edges: readonly Edge[], tRel = 0): Truth {
  const rps = edges.reduce((a, e) => a + e.behaviour(tRel).rps, 0);
  const ok = edges.reduce((a, e) => a + e.behaviour(tRel).rps * e.behaviour(tRel).success, 0);
  const cdf = mixture(edges, tRel);
  const q = (x: number) => (cdf ? histogramQuantile(x, cdf) : null);
  return {
    rps,
    successRate: rps > 0 ? (ok / rps) * 100 : null,
    failRps: rps - ok,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    deniedRps: edges.reduce((a, e) => a + (e.deniedRps ?? 0), 0),
  };
}

/** Truth of the inbound traffic of a workload (`namespace/name`). */
export function workloadTruth(key: string, tRel = 0): Truth {
  return truthOf(
    demoEdges().filter((e) => `${e.to.workload.namespace}/${e.to.workload.name}` === key),
    tRel,
  );
}

/**
 * Truth of the edge client workload → Service, as the client's proxy measures it: denied
 * HTTP requests come back as 403 responses, which the client counts as successes.
 */
export function edgeTruth(from: string, toNamespace: string, toService: string, tRel = 0): Truth {
  const t = truthOf(
    demoEdges().filter((e) =>
      isMeshed(e.from) && `${e.from.namespace}/${e.from.name}` === from &&
      e.to.service === toService && e.to.workload.namespace === toNamespace
    ),
    tRel,
  );
  const rps = t.rps + t.deniedRps;
  return { ...t, rps, successRate: rps > 0 ? ((rps - t.failRps) / rps) * 100 : null };
}

// ------------------------------------------------------------------ series

/** One series and its value over time. */
export interface DemoSeries {
  metric: string;
  labels: Record<string, string>;
  /** Per-second increase at `tRel` (counter), or the value (gauge). */
  perSecond(tRel: number): number;
  gauge?: boolean;
  /** Starting value, so that idle series exist. */
  base: number;
  /** Whether the series needs a week of history (the trends' baselines) or a day. */
  history: "week" | "day";
}

function histogram(
  common: Record<string, string>,
  b: (t: number) => Behaviour,
  history: DemoSeries["history"],
): DemoSeries[] {
  const out: DemoSeries[] = [];
  for (const le of [...BUCKETS, Infinity]) {
    out.push({
      metric: "response_latency_ms_bucket",
      labels: { ...common, le: le === Infinity ? "+Inf" : String(le) },
      perSecond: (t) => b(t).rps * (le === Infinity ? 1 : cdfAt(b(t).cdf, le)),
      base: 0,
      history,
    });
  }
  out.push(
    {
      metric: "response_latency_ms_count",
      labels: common,
      perSecond: (t) => b(t).rps,
      base: 0,
      history,
    },
    {
      metric: "response_latency_ms_sum",
      labels: common,
      perSecond: (t) => b(t).rps * b(t).mean,
      base: 0,
      history,
    },
  );
  return out;
}

function responses(
  common: Record<string, string>,
  e: Edge,
  history: DemoSeries["history"],
): DemoSeries[] {
  const ok: Record<string, string> = e.grpc
    ? { status_code: "200", grpc_status: "0" }
    : { status_code: "200" };
  const bad: Record<string, string> = e.grpc
    ? { status_code: "200", grpc_status: e.failStatus }
    : { status_code: e.failStatus };
  return [
    {
      metric: "response_total",
      labels: { ...common, ...ok, classification: "success" },
      perSecond: (t) => e.behaviour(t).rps * e.behaviour(t).success,
      base: 1000,
      history,
    },
    {
      metric: "response_total",
      labels: { ...common, ...bad, classification: "failure" },
      perSecond: (t) => e.behaviour(t).rps * (1 - e.behaviour(t).success),
      base: 10,
      history,
    },
    ...histogram(
      {
        ...Object.fromEntries(Object.entries(common).filter(([k]) => !k.startsWith("authz_"))),
        status_code: "200",
      },
      e.behaviour,
      history,
    ),
  ];
}

function podLabels(wl: Workload): Record<string, string> {
  return { namespace: wl.namespace, [wl.kind]: wl.name, pod: wl.pod };
}

function tlsOf(e: Edge): Record<string, string> {
  return isMeshed(e.from)
    ? { tls: "true", client_id: identity(e.from.serviceAccount, e.from.namespace) }
    : { tls: "no_identity", no_tls_reason: "no_tls_from_remote" };
}

/**
 * The service mirror of west's Link to east (`linkerd-multicluster/controller-east`, its
 * pod's IP in the demo): its gateway probes, scraped on its admin port by viz's
 * `linkerd-multicluster-controller` job (which names the container `component`).
 */
export const GATEWAY_PROBE = {
  targetCluster: "east",
  instance: "10.42.2.16:9999",
  /** Seconds between probes (the Link's `probeSpec.period`, 3s). */
  period: 3,
  /** Probe latency to east's gateway (cumulative fraction at the probe buckets, ms). */
  cdf: { 1: 0, 2: .1, 3: .4, 4: .7, 5: .85, 10: .98, 20: 1 } as Cdf,
  mean: 4,
} as const;

/** `gateway_probe_latency_ms` buckets of linkerd2's service mirror (multicluster/service-mirror/metrics.go). */
export const PROBE_BUCKETS = [
  1,
  2,
  3,
  4,
  5,
  10,
  20,
  30,
  40,
  50,
  100,
  200,
  300,
  400,
  500,
  1000,
  2000,
  3000,
  4000,
  5000,
  10000,
  20000,
  30000,
  40000,
  50000,
] as const;

/** The service mirror's probe series: `gateway_alive`, `gateway_probes_total`, `gateway_probe_latency_ms`. */
export function gatewayProbeSeries(): DemoSeries[] {
  const p = GATEWAY_PROBE;
  const labels = {
    job: "linkerd-multicluster-controller",
    instance: p.instance,
    component: "controller",
    "target_cluster_name": p.targetCluster,
  };
  const rate = 1 / p.period;
  return [
    { metric: "gateway_alive", labels, perSecond: () => 1, gauge: true, base: 0, history: "day" },
    {
      metric: "gateway_probes_total",
      labels: { ...labels, "probe_successful": "true" },
      perSecond: () => rate,
      base: 100,
      history: "day",
    },
    ...[...PROBE_BUCKETS, Infinity].map((le): DemoSeries => ({
      metric: "gateway_probe_latency_ms_bucket",
      labels: { ...labels, le: le === Infinity ? "+Inf" : String(le) },
      perSecond: () => rate * (le === Infinity ? 1 : cdfAt(p.cdf, le)),
      base: 0,
      history: "day",
    })),
    {
      metric: "gateway_probe_latency_ms_count",
      labels,
      perSecond: () => rate,
      base: 0,
      history: "day",
    },
    {
      metric: "gateway_probe_latency_ms_sum",
      labels,
      perSecond: () => rate * p.mean,
      base: 0,
      history: "day",
    },
  ];
}

/** Every series of the demo's traffic (with the service mirror's gateway probes). */
export function demoSeries(edges: readonly Edge[] = demoEdges()): DemoSeries[] {
  const out: DemoSeries[] = [...gatewayProbeSeries()];
  const inboundConns = new Map<string, { wl: Workload; n: number; read: number; write: number }>();
  for (const e of edges) {
    const dst = e.to.workload;
    const srv = { "srv_kind": e.to.srv.kind, "srv_name": e.to.srv.name };
    const route: Record<string, string> = e.to.route
      ? { route_kind: e.to.route.kind, route_name: e.to.route.name }
      : {};
    const authz = { "authz_kind": e.to.authz.kind, "authz_name": e.to.authz.name };
    const port = { "target_port": String(e.to.port) };
    const inbound = {
      direction: "inbound",
      ...podLabels(dst),
      ...port,
      ...tlsOf(e),
      ...srv,
      ...route,
    };
    // connections accepted (tcp_open_total has no route or authz labels)
    out.push({
      metric: "tcp_open_total",
      labels: {
        direction: "inbound",
        peer: "src",
        ...podLabels(dst),
        ...port,
        ...tlsOf(e),
        ...srv,
      },
      perSecond: (t) => (e.tcp ? e.behaviour(t).rps : Math.min(e.behaviour(t).rps, 0.01)),
      base: 10,
      history: "day",
    });
    if (e.tcp) {
      out.push({
        metric: "inbound_tcp_authz_allow_total",
        labels: { ...podLabels(dst), ...port, ...tlsOf(e), ...srv, ...authz },
        perSecond: (t) => e.behaviour(t).rps,
        base: 10,
        history: "day",
      });
      continue;
    }
    out.push(...responses({ ...inbound, ...authz }, e, "week"));
    out.push({
      metric: "request_total",
      labels: { ...inbound, ...authz },
      perSecond: (t) => e.behaviour(t).rps,
      base: 1000,
      history: "day",
    });
    out.push({
      metric: "inbound_http_authz_allow_total",
      labels: { ...podLabels(dst), ...port, ...tlsOf(e), ...srv, ...route, ...authz },
      perSecond: (t) => e.behaviour(t).rps,
      base: 1000,
      history: "day",
    });
    if (e.deniedRps) {
      out.push({
        metric: "inbound_http_authz_deny_total",
        labels: { ...podLabels(dst), ...port, ...tlsOf(e), ...srv, ...route },
        perSecond: () => e.deniedRps!,
        base: 0,
        history: "day",
      });
    }
    const key = `${dst.namespace}/${dst.name}`;
    const c = inboundConns.get(key) ?? { wl: dst, n: 0, read: 0, write: 0 };
    c.n += 1;
    const rps = (t: number) => e.behaviour(t).rps + (e.deniedRps ?? 0);
    c.read += rps(0) * e.bytes.sent;
    c.write += rps(0) * e.bytes.received;
    inboundConns.set(key, c);

    if (!isMeshed(e.from)) continue;
    const dstLabels: Record<string, string> = e.to.service
      ? {
        authority: `${e.to.service}.${dst.namespace}.svc.cluster.local:${e.to.port}`,
        dst_namespace: dst.namespace,
        dst_service: e.to.service,
        [`dst_${dst.kind}`]: dst.name,
      }
      : { dst_namespace: dst.namespace, [`dst_${dst.kind}`]: dst.name, dst_pod: dst.pod };
    const outbound = {
      direction: "outbound",
      ...podLabels(e.from),
      ...dstLabels,
      tls: "true",
      "server_id": identity(dst.serviceAccount, dst.namespace),
    };
    // A proxy's own control-plane calls (destination, identity) are not response_total.
    if (dst.namespace === "linkerd") continue;
    out.push(...responses(outbound, e, "day"));
    if (e.deniedRps) {
      // Denied HTTP requests come back as 403: classified success by the client's proxy.
      out.push({
        metric: "response_total",
        labels: { ...outbound, status_code: "403", classification: "success" },
        perSecond: () => e.deniedRps!,
        base: 0,
        history: "day",
      });
    }
    for (
      const [metric, per] of [["tcp_write_bytes_total", e.bytes.sent], [
        "tcp_read_bytes_total",
        e.bytes.received,
      ]] as const
    ) {
      out.push({
        metric,
        labels: { ...outbound, peer: "dst" },
        perSecond: (t) => (e.behaviour(t).rps + (e.deniedRps ?? 0)) * per,
        base: 0,
        history: "day",
      });
    }
  }
  for (const [key, c] of inboundConns) {
    const labels = { direction: "inbound", peer: "src", ...podLabels(c.wl), tls: "true" };
    out.push(
      {
        metric: "tcp_open_connections",
        labels,
        perSecond: () => OPEN_CONNECTIONS[key] ?? c.n,
        gauge: true,
        base: 0,
        history: "day",
      },
      { metric: "tcp_read_bytes_total", labels, perSecond: () => c.read, base: 0, history: "day" },
      {
        metric: "tcp_write_bytes_total",
        labels,
        perSecond: () => c.write,
        base: 0,
        history: "day",
      },
    );
  }
  return merged(out);
}

/** Series with the same name and labels (two edges, one client view) add up. */
function merged(series: readonly DemoSeries[]): DemoSeries[] {
  const by = new Map<string, DemoSeries>();
  for (const s of series) {
    const k = `${s.metric}${JSON.stringify(Object.entries(s.labels).sort())}`;
    const cur = by.get(k);
    if (!cur) {
      by.set(k, s);
      continue;
    }
    const [a, b] = [cur.perSecond, s.perSecond];
    by.set(k, {
      ...cur,
      perSecond: (t) => a(t) + b(t),
      base: cur.base + s.base,
      history: cur.history === "week" || s.history === "week" ? "week" : "day",
    });
  }
  return [...by.values()];
}

/** Inbound TCP bytes per second the demo's workload reads and writes (truth). */
export function tcpTruth(key: string): { open: number; readBps: number; writeBps: number } {
  const s = demoSeries().filter((x) =>
    x.labels.peer === "src" && `${x.labels.namespace}/${x.labels.deployment}` === key
  );
  const v = (m: string) => s.find((x) => x.metric === m)?.perSecond(0) ?? 0;
  return {
    open: v("tcp_open_connections"),
    readBps: v("tcp_read_bytes_total"),
    writeBps: v("tcp_write_bytes_total"),
  };
}

// ------------------------------------------------------------------ OpenMetrics

const MIN = 60, HOUR = 3600, DAY = 86_400;

/**
 * Sample times (seconds before "now", descending) for a history: every 30 s where the
 * trends need one-minute rates (the last 2 h 10 min, and the hour one day and one week
 * back), every 10 minutes elsewhere (the last 2 days, and the day a week back).
 */
export function sampleOffsets(history: DemoSeries["history"]): number[] {
  const dense: Array<[number, number]> = [[2 * HOUR + 10 * MIN, 0]];
  const sparse: Array<[number, number]> = [[DAY + 40 * MIN, 0]];
  if (history === "week") {
    dense.push([DAY + HOUR + 10 * MIN, DAY - 5 * MIN], [
      7 * DAY + HOUR + 10 * MIN,
      7 * DAY - 5 * MIN,
    ]);
    sparse.length = 0;
    sparse.push([2 * DAY + 40 * MIN, 0], [8 * DAY + 40 * MIN, 7 * DAY - 30 * MIN]);
  }
  const set = new Set<number>();
  for (const [from, to] of dense) for (let t = from; t >= to; t -= 30) set.add(t);
  for (const [from, to] of sparse) for (let t = from; t >= to; t -= 10 * MIN) set.add(t);
  return [...set].sort((a, b) => b - a);
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",");
}

function family(metric: string): { name: string; type: string } {
  if (metric.startsWith("response_latency_ms")) {
    return { name: "response_latency_ms", type: "histogram" };
  }
  if (metric.startsWith("gateway_probe_latency_ms")) {
    return { name: "gateway_probe_latency_ms", type: "histogram" };
  }
  if (metric === "tcp_open_connections" || metric === "gateway_alive") {
    return { name: metric, type: "gauge" };
  }
  return { name: metric.replace(/_total$/, ""), type: "counter" };
}

/**
 * Writes the series as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`
 * (timestamps in seconds, each series in time order, `# EOF` last), in chunks.
 * A counter's value integrates its per-second rate between samples (midpoint rule).
 */
export async function writeDemoOpenMetrics(
  series: readonly DemoSeries[],
  end: number,
  write: (chunk: string) => Promise<void>,
): Promise<{ series: number; samples: number }> {
  const byFamily = new Map<string, DemoSeries[]>();
  for (const s of series) {
    const f = family(s.metric).name;
    byFamily.set(f, [...(byFamily.get(f) ?? []), s]);
  }
  const offsets = { week: sampleOffsets("week"), day: sampleOffsets("day") };
  let samples = 0;
  for (const [name, list] of byFamily) {
    await write(`# TYPE ${name} ${family(list[0]!.metric).type}\n`);
    for (const s of list) {
      const l = labelText(s.labels);
      const lines: string[] = [];
      let v = s.base;
      let prev: number | undefined;
      for (const tRel of offsets[s.history]) {
        if (s.gauge) v = s.perSecond(tRel);
        else if (prev !== undefined) {
          // integrate over [tRel, prev] in 30 s slices, so incidents start where they should
          for (let a = prev; a > tRel; a -= 30) {
            const d = Math.min(30, a - tRel);
            v += s.perSecond(a - d / 2) * d;
          }
        }
        prev = tRel;
        lines.push(`${s.metric}{${l}} ${Number(v.toFixed(6))} ${end - tRel}`);
      }
      samples += lines.length;
      await write(lines.join("\n") + "\n");
    }
  }
  await write("# EOF\n");
  return { series: series.length, samples };
}
