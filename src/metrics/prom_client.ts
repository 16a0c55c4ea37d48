/**
 * Prometheus access seam. (Placeholder interface: the metrics work fills in the
 * HTTP implementation; tools depend only on this interface.)
 *
 * @module
 */

/** One sample of an instant vector. */
export interface PromSample {
  metric: Record<string, string>;
  /** The sample value; `NaN` and infinities are passed through as numbers. */
  value: number;
}

/** One series of a range query. */
export interface PromSeries {
  metric: Record<string, string>;
  values: Array<[number, number]>;
}

/** Options for a query. */
export interface PromQueryOptions {
  /** Evaluation time; now when absent. */
  time?: Date;
  signal?: AbortSignal;
}

/** Read access to a Prometheus HTTP API. */
export interface PromClient {
  /** Which Prometheus answers, for people (`http://127.0.0.1:9090`, or `via API server proxy ...`). */
  describe(): string;
  query(promql: string, opts?: PromQueryOptions): Promise<PromSample[]>;
  queryRange(
    promql: string,
    range: { start: Date; end: Date; stepSeconds: number },
    opts?: { signal?: AbortSignal },
  ): Promise<PromSeries[]>;
}
