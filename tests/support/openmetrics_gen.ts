/**
 * Writes OpenMetrics text of Linkerd proxy metrics whose true values are known, for
 * backfilling a real Prometheus with `promtool tsdb create-blocks-from openmetrics`.
 *
 * Rules promtool imposes (environment.md §6): timestamps in seconds, samples of a
 * series in time order, the file ends with `# EOF`.
 *
 * The scenario (namespace `emojivoto`, times relative to `end`):
 * - `web` (Deployment, 2 pods 60/40): 10 rps inbound, 95 % success (failures 500),
 *   latency CDF {5:.2,10:.5,20:.6,30:.7,40:.75,50:.8,100:.9,200:1} → p50 10, p95 150,
 *   p99 190, mean 42 ms; 7 open TCP connections, reads 1000 B/s, writes 5000 B/s.
 *   Called by `vote-bot` (10 rps, 95 %). Calls `emoji` 6 rps (mTLS), `voting` 4 rps
 *   (90 %, 503s, mTLS, p50 10 / p95 19 / p99 19.8, writes 300 B/s, reads 800 B/s) and
 *   `legacy-api` 0.5 rps without mTLS (`not_provided_by_service_discovery`).
 * - `emoji`: 6 rps, 100 %, p95 40 ms; **latency spike** 20 → 10 min before end: p95 450 ms.
 * - `voting`: 4 rps, 90 % (503), p95 15 ms; **error burst** 35 → 25 min before end: 40 %.
 *   Authz: allows web 4 rps, denies web 0.2 rps and `intruder` 0.5 rps.
 * - `redis` (StatefulSet): 2 rps, 100 %.
 * - `idle-svc`: series exist, counters never move.
 *
 * @module
 */

/** Histogram bucket bounds (ms) the generator writes, without +Inf. */
export const BUCKETS = [5, 10, 20, 30, 40, 50, 100, 200, 300, 500, 1000, 5000] as const;

/** A latency distribution: cumulative fraction at some bucket bounds (1 at the last given). */
export type Cdf = Record<number, number>;

/** Cumulative fraction at bound `le` (step-wise, as a histogram records it). */
export function cdfAt(cdf: Cdf, le: number): number {
  let f = 0;
  for (const [b, v] of Object.entries(cdf)) if (Number(b) <= le) f = Math.max(f, v);
  return f;
}

/** Prometheus `histogram_quantile` over the generator's buckets (linear interpolation). */
export function histogramQuantile(q: number, cdf: Cdf): number {
  let prevB = 0, prevF = 0;
  for (const b of BUCKETS) {
    const f = cdfAt(cdf, b);
    if (f >= q) return prevB + ((q - prevF) / (f - prevF)) * (b - prevB);
    prevB = b;
    prevF = f;
  }
  return BUCKETS[BUCKETS.length - 2]!;
}

/** The bucket `[lower, upper]` the true quantile lies in. */
export function quantileBucket(q: number, cdf: Cdf): [number, number] {
  let prev = 0;
  for (const b of BUCKETS) {
    if (cdfAt(cdf, b) >= q) return [prev, b];
    prev = b;
  }
  return [prev, Infinity];
}

export const NS = "emojivoto";
export const WEB_CDF: Cdf = { 5: .2, 10: .5, 20: .6, 30: .7, 40: .75, 50: .8, 100: .9, 200: 1 };
export const EMOJI_CDF: Cdf = { 10: .5, 20: .8, 30: .9, 40: .95, 50: 1 };
export const EMOJI_SPIKE_CDF: Cdf = { 100: .2, 200: .5, 300: .8, 500: 1 };
export const VOTING_CDF: Cdf = { 5: .5, 10: .9, 20: 1 };
export const EDGE_CDF: Cdf = { 10: .5, 20: 1 };
export const FAST_CDF: Cdf = { 5: .9, 10: 1 };

/** Seconds before `end` of the injected incidents. */
export const SPIKE = { from: 1200, to: 600 } as const;
export const BURST = { from: 2100, to: 1500 } as const;

/** The true values the tests compare against. */
export const TRUTH = {
  web: {
    rps: 10,
    successRate: 95,
    p50: histogramQuantile(0.5, WEB_CDF),
    p95: histogramQuantile(0.95, WEB_CDF),
    p99: histogramQuantile(0.99, WEB_CDF),
    mean: 42,
    openConnections: 7,
    readBps: 1000,
    writeBps: 5000,
  },
  emoji: {
    rps: 6,
    successRate: 100,
    p95: histogramQuantile(0.95, EMOJI_CDF),
    spikeP95: histogramQuantile(0.95, EMOJI_SPIKE_CDF),
  },
  voting: {
    rps: 4,
    successRate: 90,
    burstSuccessRate: 40,
    p95: histogramQuantile(0.95, VOTING_CDF),
  },
  redis: { rps: 2, successRate: 100 },
  edgeWebVoting: {
    rps: 4,
    successRate: 90,
    p50: histogramQuantile(0.5, EDGE_CDF),
    p95: histogramQuantile(0.95, EDGE_CDF),
    p99: histogramQuantile(0.99, EDGE_CDF),
    writeBps: 300,
    readBps: 800,
    allowRps: 4,
    denyRps: 0.2,
    denyAllRps: 0.7,
  },
} as const;

interface Behaviour {
  rps: number;
  success: number;
  cdf: Cdf;
  mean: number;
  failStatus: string;
}

interface Counter {
  metric: string;
  labels: Record<string, string>;
  /** Increment per second at `tRel` seconds before end (counter) or the value (gauge). */
  perSecond: (tRel: number) => number;
  gauge?: boolean;
  /** Starting value (so flat series exist). */
  base?: number;
}

const ID = (sa: string) => `${sa}.${NS}.serviceaccount.identity.linkerd.cluster.local`;

function httpSeries(
  common: Record<string, string>,
  share: number,
  b: (tRel: number) => Behaviour,
): Counter[] {
  const out: Counter[] = [
    {
      metric: "request_total",
      labels: common,
      perSecond: (t) => b(t).rps * share,
      base: 100,
    },
    {
      metric: "response_total",
      labels: { ...common, status_code: "200", classification: "success", grpc_status: "" },
      perSecond: (t) => b(t).rps * share * b(t).success,
      base: 100,
    },
    {
      metric: "response_total",
      labels: {
        ...common,
        status_code: b(0).failStatus,
        classification: "failure",
        grpc_status: "",
      },
      perSecond: (t) => b(t).rps * share * (1 - b(t).success),
      base: 10,
    },
  ];
  for (const le of [...BUCKETS, Infinity]) {
    out.push({
      metric: "response_latency_ms_bucket",
      labels: { ...common, status_code: "200", le: le === Infinity ? "+Inf" : String(le) },
      perSecond: (t) => b(t).rps * share * (le === Infinity ? 1 : cdfAt(b(t).cdf, le)),
      base: 0,
    });
  }
  out.push(
    {
      metric: "response_latency_ms_count",
      labels: { ...common, status_code: "200" },
      perSecond: (t) => b(t).rps * share,
    },
    {
      metric: "response_latency_ms_sum",
      labels: { ...common, status_code: "200" },
      perSecond: (t) => b(t).rps * share * b(t).mean,
    },
  );
  return out;
}

function inbound(
  workload: Record<string, string>,
  pods: Array<[string, number]>,
  b: (tRel: number) => Behaviour,
): Counter[] {
  return pods.flatMap(([pod, share]) =>
    httpSeries(
      {
        direction: "inbound",
        namespace: NS,
        ...workload,
        pod,
        tls: "true",
        client_id: ID("vote-bot"),
        srv_kind: "default",
        srv_name: "all-unauthenticated",
        target_port: "8080",
      },
      share,
      b,
    )
  );
}

function outbound(
  src: string,
  dst: string,
  tls: Record<string, string>,
  b: (tRel: number) => Behaviour,
): Counter[] {
  return httpSeries(
    {
      direction: "outbound",
      namespace: NS,
      deployment: src,
      pod: `${src}-6f7c9d-xk2pq`,
      authority: `${dst}.${NS}.svc.cluster.local:8080`,
      dst_namespace: NS,
      dst_service: dst,
      dst_deployment: dst,
      ...tls,
    },
    1,
    b,
  );
}

const steady = (rps: number, success: number, cdf: Cdf, failStatus = "500", mean = 10) => () => ({
  rps,
  success,
  cdf,
  mean,
  failStatus,
});

/** The emojivoto scenario's series. */
export function scenario(): Counter[] {
  const mtls = { tls: "true", "server_id": ID("x") };
  return [
    ...inbound(
      { deployment: "web" },
      [["web-7d9c8-abcde", 0.6], ["web-7d9c8-fghij", 0.4]],
      steady(10, 0.95, WEB_CDF, "500", 42),
    ),
    ...inbound({ deployment: "emoji" }, [["emoji-5c6d-qwert", 1]], (t) => ({
      rps: 6,
      success: 1,
      cdf: t < SPIKE.from && t >= SPIKE.to ? EMOJI_SPIKE_CDF : EMOJI_CDF,
      mean: 20,
      failStatus: "500",
    })),
    ...inbound({ deployment: "voting" }, [["voting-8f8f-zxcvb", 1]], (t) => ({
      rps: 4,
      success: t < BURST.from && t >= BURST.to ? 0.4 : 0.9,
      cdf: VOTING_CDF,
      mean: 7,
      failStatus: "503",
    })),
    ...inbound({ statefulset: "redis" }, [["redis-0", 1]], steady(2, 1, FAST_CDF)),
    ...inbound({ deployment: "idle-svc" }, [["idle-svc-1-aaaaa", 1]], steady(0, 1, FAST_CDF)),
    ...outbound("vote-bot", "web", mtls, steady(10, 0.95, WEB_CDF)),
    ...outbound("web", "emoji", mtls, steady(6, 1, EMOJI_CDF)),
    ...outbound("web", "voting", mtls, steady(4, 0.9, EDGE_CDF, "503")),
    ...outbound(
      "web",
      "legacy-api",
      { tls: "no_identity", no_tls_reason: "not_provided_by_service_discovery" },
      steady(0.5, 1, FAST_CDF),
    ),
    {
      metric: "tcp_open_connections",
      labels: {
        direction: "inbound",
        peer: "src",
        namespace: NS,
        deployment: "web",
        pod: "web-7d9c8-abcde",
        tls: "true",
      },
      perSecond: () => 4,
      gauge: true,
    },
    {
      metric: "tcp_open_connections",
      labels: {
        direction: "inbound",
        peer: "src",
        namespace: NS,
        deployment: "web",
        pod: "web-7d9c8-fghij",
        tls: "true",
      },
      perSecond: () => 3,
      gauge: true,
    },
    ...(["tcp_read_bytes_total", "tcp_write_bytes_total"] as const).flatMap((m): Counter[] => [
      {
        metric: m,
        labels: {
          direction: "inbound",
          peer: "src",
          namespace: NS,
          deployment: "web",
          pod: "web-7d9c8-abcde",
          tls: "true",
        },
        perSecond: () => (m === "tcp_read_bytes_total" ? 1000 : 5000),
      },
      {
        metric: m,
        labels: {
          direction: "outbound",
          peer: "dst",
          namespace: NS,
          deployment: "web",
          pod: "web-6f7c9d-xk2pq",
          dst_namespace: NS,
          dst_service: "voting",
          tls: "true",
        },
        perSecond: () => (m === "tcp_read_bytes_total" ? 800 : 300),
      },
    ]),
    ...([["allow", "web", 4], ["deny", "web", 0.2], ["deny", "intruder", 0.5]] as const).map((
      [d, client, rps],
    ) => ({
      metric: `inbound_http_authz_${d}_total`,
      labels: {
        namespace: NS,
        deployment: "voting",
        pod: "voting-8f8f-zxcvb",
        target_port: "8080",
        srv_kind: "server",
        srv_name: "voting-grpc",
        tls: "true",
        client_id: ID(client),
        ...(d === "allow" ? { authz_kind: "authorizationpolicy", authz_name: "voting-grpc" } : {}),
      },
      perSecond: () => rps,
    })),
  ];
}

/** Many services with known numbers (for the 500-service benchmark). */
export function manyServices(count: number): Counter[] {
  const out: Counter[] = [];
  for (let i = 0; i < count; i++) {
    const rps = 1 + (i % 10);
    const success = i % 7 === 0 ? 0.85 : 0.99;
    out.push(
      ...inbound(
        { deployment: `svc-${i}` },
        [[`svc-${i}-abc-def`, 1]],
        steady(rps, success, WEB_CDF),
      ),
    );
  }
  return out;
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",");
}

function family(metric: string): { name: string; type: string } {
  if (metric.startsWith("response_latency_ms")) {
    return { name: "response_latency_ms", type: "histogram" };
  }
  if (metric === "tcp_open_connections") return { name: metric, type: "gauge" };
  return { name: metric.replace(/_total$/, ""), type: "counter" };
}

/**
 * OpenMetrics text with one sample every `stepSeconds` from `end - durationSeconds`
 * to `end` (seconds since the epoch, a multiple of the step).
 */
export function openMetrics(
  series: readonly Counter[],
  end: number,
  durationSeconds: number,
  stepSeconds = 15,
): string {
  const byFamily = new Map<string, Counter[]>();
  for (const s of series) {
    const f = family(s.metric).name;
    byFamily.set(f, [...(byFamily.get(f) ?? []), s]);
  }
  const lines: string[] = [];
  for (const [name, list] of byFamily) {
    lines.push(`# TYPE ${name} ${family(list[0]!.metric).type}`);
    for (const s of list) {
      const l = labelText(s.labels);
      let v = s.base ?? 0;
      for (let t = end - durationSeconds; t <= end; t += stepSeconds) {
        const tRel = end - t;
        if (s.gauge) v = s.perSecond(tRel);
        else if (t > end - durationSeconds) v += s.perSecond(tRel + stepSeconds / 2) * stepSeconds;
        lines.push(`${s.metric}{${l}} ${Number(v.toFixed(6))} ${t}`);
      }
    }
  }
  lines.push("# EOF");
  return lines.join("\n") + "\n";
}
