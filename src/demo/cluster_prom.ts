/**
 * The Prometheus of each demo cluster. `west` runs linkerd-viz: its Prometheus is the
 * embedded recording (`./prom.ts`, imported on the first query so that start-up does not
 * pay for decoding it). `east` runs no linkerd-viz in the demo, so it has no Prometheus:
 * every query fails with a {@linkcode NotFoundError} that says so and where the data is.
 *
 * @module
 */
import { NotFoundError } from "../errors.ts";
import { lazyPromClient } from "../metrics/lazy_client.ts";
import type { PromClient } from "../metrics/prom_client.ts";

/** A demo cluster's name (the first is the default). */
export type DemoClusterName = "west" | "east";

/** "Now" for a demo Prometheus: a fixed date, a clock, or the wall clock when absent. */
export type DemoNow = Date | (() => Date);

/** West's recorded Prometheus, `now` as in `DemoPromClientOptions` of `./prom.ts`. */
export function westDemoPromClient(now?: DemoNow): PromClient {
  const description =
    "the demo's west cluster's recorded Prometheus (linkerd-viz; embedded, no Prometheus is contacted)";
  const client = lazyPromClient(
    () => import("./prom.ts").then((m) => m.createDemoPromClient(now)),
    description,
  );
  return { ...client, describe: () => description };
}

/** The message of every east query: which data there is not, and where there is some. */
export function eastNoPrometheusMessage(promql: string): string {
  return `The demo's east cluster has no Prometheus: linkerd-viz is not installed there, so ` +
    `there are no metrics to answer from (nothing was recorded for east). The demo's metrics ` +
    `are west's (cluster "west": emojivoto, booksapp, the control plane, and the service ` +
    `mirror's gateway probes of the Link to east); east's policy, topology and connectivity ` +
    `answers need no metrics. Query: ${promql}`;
}

/** East's Prometheus: none, said honestly on every query. */
export function eastDemoPromClient(): PromClient {
  return {
    describe: () => "none: the demo's east cluster runs no linkerd-viz Prometheus",
    query: (promql) => Promise.reject(new NotFoundError(eastNoPrometheusMessage(promql))),
    queryRange: (promql) => Promise.reject(new NotFoundError(eastNoPrometheusMessage(promql))),
  };
}

/** The Prometheus client of a demo cluster. */
export function demoPromClientFor(cluster: DemoClusterName, now?: DemoNow): PromClient {
  return cluster === "east" ? eastDemoPromClient() : westDemoPromClient(now);
}
