/**
 * The queries of one metrics answer, run against the injected {@linkcode PromClient}
 * at one evaluation time, collecting Prometheus' warnings and the gaps left by
 * queries that failed.
 *
 * @module
 */
import type { ClusterSource } from "../kube/source.ts";
import { formatDuration } from "./labels.ts";
import type { PromClient, PromSample, PromSeries } from "./prom_client.ts";

/** What a metrics use case may use: nothing else (no globals, no clock of its own). */
export interface MetricsDeps {
  prom: PromClient;
  /** Where Services and pods are read, to map a Service to its workloads. */
  cluster: ClusterSource;
  /** The evaluation time. */
  now: Date;
  signal: AbortSignal;
}

/** The provenance fields every metrics answer carries. */
export interface RunReport {
  prometheus: string;
  partial: boolean;
  warnings: string[];
}

/** A window of an answer: ISO start and end and the canonical window (`5m`). */
export interface TimeRange {
  start: string;
  end: string;
  window: string;
}

/** Runs the queries of one answer at one evaluation time, collecting warnings. */
export class QueryRun {
  readonly warnings: string[] = [];
  partial = false;
  readonly time: Date;
  #prom: PromClient;
  #signal: AbortSignal;

  constructor(deps: Pick<MetricsDeps, "prom" | "now" | "signal">) {
    this.#prom = deps.prom;
    this.#signal = deps.signal;
    this.time = deps.now;
  }

  #onWarning = (w: string) => {
    this.partial = true;
    if (!this.warnings.includes(`Prometheus warned: ${w}`)) {
      this.warnings.push(`Prometheus warned: ${w}`);
    }
  };

  /** A query the answer cannot do without: its failure fails the answer. */
  must(promql: string): Promise<PromSample[]> {
    return this.#prom.query(promql, {
      time: this.time,
      signal: this.#signal,
      onWarning: this.#onWarning,
    });
  }

  /** A query whose failure leaves a gap (`undefined`) and a warning. */
  async may(promql: string, what: string): Promise<PromSample[] | undefined> {
    try {
      return await this.must(promql);
    } catch (err) {
      this.gap(what, err);
      return undefined;
    }
  }

  /** A range query; its failure fails the answer. */
  range(promql: string, start: Date, end: Date, stepSeconds: number): Promise<PromSeries[]> {
    return this.#prom.queryRange(promql, { start, end, stepSeconds }, {
      signal: this.#signal,
      onWarning: this.#onWarning,
    });
  }

  /** A range query whose failure leaves no series and a warning. */
  async mayRange(
    promql: string,
    start: Date,
    end: Date,
    stepSeconds: number,
    what: string,
  ): Promise<PromSeries[]> {
    try {
      return await this.range(promql, start, end, stepSeconds);
    } catch (err) {
      this.gap(what, err);
      return [];
    }
  }

  /** Records that part of the answer is missing. */
  gap(what: string, err: unknown): void {
    this.partial = true;
    this.warnings.push(`${what} is missing: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** The window ending at the evaluation time. */
  timeRange(windowSeconds: number): TimeRange {
    return {
      start: new Date(this.time.getTime() - windowSeconds * 1000).toISOString(),
      end: this.time.toISOString(),
      window: formatDuration(windowSeconds),
    };
  }

  /** Which Prometheus answered, whether the answer is partial, and the warnings. */
  report(): RunReport {
    return { prometheus: this.#prom.describe(), partial: this.partial, warnings: this.warnings };
  }
}
