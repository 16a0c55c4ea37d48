/**
 * The demo's Prometheus: a {@linkcode PromClient} that answers the metrics tools' queries
 * from a recording (`traffic.gen.ts`) of a real Prometheus, backfilled at build time with
 * the demo mesh's known traffic (`scripts/gen_demo_traffic.ts`, `tests/support/demo_traffic.ts`).
 *
 * The recording holds, for every query the tools issue on a grid of realistic arguments,
 * the answer Prometheus gave at the recording's clock. Times are relative: an instant
 * query asked at "now" gets the answer recorded at the recording's "now", a range query
 * ending an hour ago gets the range recorded ending an hour before the recording's "now",
 * with its timestamps shifted to the asked range. A query the recording does not hold
 * fails with a {@linkcode NotFoundError} "the demo has no data for …" that lists what it has.
 *
 * Tools cannot tell it from a real Prometheus: the same interface, the same answers.
 *
 * @module
 */
import { NotFoundError } from "../errors.ts";
import { DEMO_TRAFFIC_JSON, DEMO_TRAFFIC_PROVENANCE } from "./traffic.gen.ts";
import type {
  PromClient,
  PromQueryOptions,
  PromRangeOptions,
  PromSample,
  PromSeries,
} from "../metrics/prom_client.ts";

/** A value as recorded: a number, `null` for NaN, `"+Inf"`/`"-Inf"`. */
export type RecordedValue = number | null | "+Inf" | "-Inf";

/** An answer as recorded: an instant vector, or a matrix (run-length encoded values). */
export type RecordedAnswer =
  /** `[labelIndex, value]` per sample. */
  | { v: Array<[number, RecordedValue]> }
  /**
   * `[labelIndex, firstStep, runs]` per series; `runs` is `[value, count, value, count, …]`
   * (`"gap"` for steps without a point), step `k` being at `start + k * step`.
   */
  | { m: Array<[number, number, Array<RecordedValue | "gap">]> };

/** What the recording covers, for people (the "no data" error lists it). */
export interface RecordingCoverage {
  /** Namespace → Service and workload names the tools were called with. */
  namespaces: Record<string, string[]>;
  /** `time_range` values of get_service_metrics, get_service_health_summary, get_top_services. */
  timeRanges: string[];
  /** `time_range` values of analyze_traffic_flow (between any two names of one namespace). */
  flowTimeRanges: string[];
  /** get_traffic_trends: `window` → `compare_to` values. */
  trends: Record<string, string[]>;
}

/** The recording (`traffic.gen.ts`). */
export interface DemoTrafficRecording {
  provenance: {
    /** Which program recorded it, from which traffic model. */
    generator: string;
    /** `prometheus --version`, first line. */
    prometheus: string;
    /** When it was recorded (ISO). */
    generated: string;
    /** The recording's "now" (ISO): every time is relative to it. */
    end: string;
    /** Hash of the generator's sources (`gen_demo.ts --check` compares it). */
    inputsHash: string;
  };
  coverage: RecordingCoverage;
  /** Label sets, referenced by index from the answers. */
  labels: Array<Record<string, string>>;
  answers: RecordedAnswer[];
  /** {@linkcode queryHash} of a {@linkcode instantKey} or {@linkcode rangeKey} → answer index. */
  entries: Record<string, number>;
}

/** The key of an instant query asked `offsetMinutes` after "now" (0: at now). */
export function instantKey(promql: string, offsetMinutes: number): string {
  return `instant ${offsetMinutes} ${promql}`;
}

/** The key of a range query ending `endOffsetMinutes` after "now", lasting `seconds`. */
export function rangeKey(
  promql: string,
  endOffsetMinutes: number,
  seconds: number,
  stepSeconds: number,
): string {
  return `range ${endOffsetMinutes} ${seconds} ${stepSeconds} ${promql}`;
}

/** A 53-bit hash of a key (cyrb53), as 14 hex digits: recordings store hashes, not PromQL. */
export function queryHash(key: string): string {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0");
}

/** Minutes from `now` to `t`, rounded (the tools' clocks differ by milliseconds). */
export function offsetMinutes(t: Date, now: Date): number {
  return Math.round((t.getTime() - now.getTime()) / 60_000);
}

function decodeValue(v: RecordedValue): number {
  if (v === null) return Number.NaN;
  if (v === "+Inf") return Number.POSITIVE_INFINITY;
  if (v === "-Inf") return Number.NEGATIVE_INFINITY;
  return v;
}

/** For people: which Prometheus answers (the `prometheus` field of the metrics tools). */
export function describeRecording(p: DemoTrafficRecording["provenance"]): string {
  return `embedded demo recording of viz's Prometheus (${p.prometheus}, recorded ${
    p.generated.slice(0, 10)
  } from the demo mesh's known traffic; times shifted to now)`;
}

/** Options for {@linkcode DemoPromClient}. */
export interface DemoPromClientOptions {
  /** "Now" (the recording's "now" is mapped to it); the wall clock when absent. */
  now?: Date | (() => Date);
}

/** Answers from a recording, shifted to "now" (see the module doc). */
export class DemoPromClient implements PromClient {
  #rec: DemoTrafficRecording;
  #now: () => Date;

  constructor(recording: DemoTrafficRecording, opts: DemoPromClientOptions = {}) {
    this.#rec = recording;
    const now = opts.now;
    this.#now = now instanceof Date ? () => now : now ?? (() => new Date());
  }

  describe(): string {
    return describeRecording(this.#rec.provenance);
  }

  // deno-lint-ignore require-await
  async query(promql: string, opts: PromQueryOptions = {}): Promise<PromSample[]> {
    const now = this.#now();
    const off = offsetMinutes(opts.time ?? now, now);
    const a = this.#answer(instantKey(promql, off), promql, { offsetMinutes: off });
    if (!("v" in a)) throw this.#noData(promql, { offsetMinutes: off });
    return a.v.map(([li, v]) => ({ metric: { ...this.#rec.labels[li] }, value: decodeValue(v) }));
  }

  // deno-lint-ignore require-await
  async queryRange(
    promql: string,
    range: { start: Date; end: Date; stepSeconds: number },
    _opts?: PromRangeOptions,
  ): Promise<PromSeries[]> {
    const now = this.#now();
    const off = offsetMinutes(range.end, now);
    const seconds = Math.round((range.end.getTime() - range.start.getTime()) / 1000);
    const ctx = { offsetMinutes: off, seconds, stepSeconds: range.stepSeconds };
    const a = this.#answer(rangeKey(promql, off, seconds, range.stepSeconds), promql, ctx);
    if (!("m" in a)) throw this.#noData(promql, ctx);
    const start = range.start.getTime() / 1000;
    return a.m.map(([li, first, runs]) => {
      const values: Array<[number, number]> = [];
      let k = first;
      for (let i = 0; i + 1 < runs.length; i += 2) {
        const v = runs[i]!, n = runs[i + 1] as number;
        for (let j = 0; j < n; j++, k++) {
          if (v !== "gap") values.push([start + k * range.stepSeconds, decodeValue(v)]);
        }
      }
      return { metric: { ...this.#rec.labels[li] }, values };
    });
  }

  #answer(
    key: string,
    promql: string,
    ctx: { offsetMinutes: number; seconds?: number; stepSeconds?: number },
  ): RecordedAnswer {
    const i = this.#rec.entries[queryHash(key)];
    const a = i === undefined ? undefined : this.#rec.answers[i];
    if (!a) throw this.#noData(promql, ctx);
    return a;
  }

  #noData(
    promql: string,
    ctx: { offsetMinutes: number; seconds?: number; stepSeconds?: number },
  ): NotFoundError {
    return new NotFoundError(noDataMessage(this.#rec.coverage, promql, ctx));
  }
}

/** The "no data" message: what was asked, and what the recording has. */
export function noDataMessage(
  c: RecordingCoverage,
  promql: string,
  ctx: { offsetMinutes: number; seconds?: number; stepSeconds?: number },
): string {
  const why: string[] = [];
  const namespaces = [...promql.matchAll(/\b(?:dst_)?namespace="([^"]*)"/g)].map((m) => m[1]!);
  const unknownNs = [...new Set(namespaces)].filter((n) => !(n in c.namespaces));
  if (unknownNs.length) {
    why.push(`namespace ${unknownNs.map((n) => `"${n}"`).join(", ")} is not in the demo mesh`);
  }
  const workloads = [...promql.matchAll(/\b(?:deployment|statefulset|daemonset)=~?"([^"]*)"/g)]
    .map((m) => m[1]!);
  const known = new Set(Object.values(c.namespaces).flat());
  const unknownWl = [...new Set(workloads)].filter((n) => !known.has(n));
  if (!unknownNs.length && unknownWl.length) {
    why.push(`no demo workload is named ${unknownWl.map((n) => `"${n}"`).join(", ")}`);
  }
  const windows = [...promql.matchAll(/\[([0-9a-z]+)\]/g)].map((m) => m[1]!);
  if (ctx.seconds === undefined) {
    const odd = windows.filter((x) => !c.timeRanges.includes(x) && !c.flowTimeRanges.includes(x));
    if (odd.length) why.push(`time_range ${odd[0]} was not recorded`);
    if (ctx.offsetMinutes !== 0) {
      why.push(
        `it was asked ${Math.abs(ctx.offsetMinutes)} minutes from now; the demo answers at now`,
      );
    }
  } else {
    why.push(
      `range queries were recorded only for the get_traffic_trends windows below (asked: ${ctx.seconds} s ending ${-ctx
        .offsetMinutes} minutes ago, step ${ctx.stepSeconds} s)`,
    );
  }
  const names = Object.entries(c.namespaces).map(([ns, n]) => `${ns} (${n.join(", ")})`);
  const trends = Object.entries(c.trends).map(([w, cmp]) => `${w} (compare_to ${cmp.join(", ")})`);
  return `The demo has no data for this query${why.length ? ` (${why.join("; ")})` : ""}. ` +
    `It holds recorded answers for the metrics tools on namespaces ${names.join("; ")}; ` +
    `time_range ${c.timeRanges.join(", ")}; analyze_traffic_flow between the names of one ` +
    `namespace over ${c.flowTimeRanges.join(", ")}; get_traffic_trends window ${
      trends.join(", ")
    }. Query: ${promql}`;
}

let parsed: DemoTrafficRecording | undefined;

/** The embedded recording (parsed once, on first use). */
export function demoTrafficRecording(): DemoTrafficRecording {
  return parsed ??= JSON.parse(DEMO_TRAFFIC_JSON) as DemoTrafficRecording;
}

/** Where the embedded recording comes from (without parsing it). */
export const DEMO_TRAFFIC_SOURCE: DemoTrafficRecording["provenance"] = DEMO_TRAFFIC_PROVENANCE;

/**
 * The demo's Prometheus client over the embedded recording; `now` as in
 * {@linkcode DemoPromClientOptions}. The recording is parsed on the first query.
 */
export function createDemoPromClient(now?: Date | (() => Date)): PromClient {
  let client: DemoPromClient | undefined;
  const get = () => client ??= new DemoPromClient(demoTrafficRecording(), now ? { now } : {});
  return {
    describe: () => describeRecording(DEMO_TRAFFIC_PROVENANCE),
    query: (promql, opts) => get().query(promql, opts),
    queryRange: (promql, range, opts) => get().queryRange(promql, range, opts),
  };
}
