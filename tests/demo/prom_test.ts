/**
 * The recorded Prometheus client (src/demo/prom.ts) on hand-made recordings, the
 * recorder's encoding round trip (scripts/gen_demo_traffic.ts), and the freshness check
 * `deno task ok` runs.
 */
import assert from "node:assert/strict";
import { NotFoundError } from "../../src/errors.ts";
import {
  DemoPromClient,
  type DemoTrafficRecording,
  instantKey,
  queryHash,
  rangeKey,
} from "../../src/demo/prom.ts";
import type { PromClient, PromSeries } from "../../src/metrics/prom_client.ts";
import { CapturePromClient, checkTraffic } from "../../scripts/gen_demo_traffic.ts";

const NOW = new Date("2027-01-10T10:00:30Z");
const Q = 'sum(increase(response_total{namespace="emojivoto"}[5m])) by (classification)';
const R = 'sum(rate(response_total{namespace="emojivoto"}[1m])) by (deployment)';

function recording(): DemoTrafficRecording {
  return {
    provenance: {
      generator: "test",
      prometheus: "Prometheus 0.0.0",
      generated: "2027-01-01T00:00:00Z",
      end: "2026-08-24T12:00:00Z",
      inputsHash: "",
    },
    coverage: {
      namespaces: { emojivoto: ["web", "web-svc"] },
      timeRanges: ["5m"],
      flowTimeRanges: ["5m"],
      trends: { "1h": ["previous"] },
    },
    labels: [{ classification: "success" }, { classification: "failure" }, {
      deployment: "web",
    }],
    answers: [
      { v: [[0, 2850], [1, null], [2, "+Inf"]] },
      { m: [[2, 1, [10, 3, "gap", 1, 12.5, 2, null, 1]]] },
    ],
    entries: {
      [queryHash(instantKey(Q, 0))]: 0,
      [queryHash(rangeKey(R, 0, 600, 60))]: 1,
      [queryHash(rangeKey(R, -10, 600, 60))]: 1,
    },
  };
}

Deno.test("DemoPromClient answers an instant query at now, decoding the values", async () => {
  const c = new DemoPromClient(recording(), { now: NOW });
  const r = await c.query(Q, { time: new Date(NOW.getTime() + 20_000) });
  assert.deepEqual(r.map((s) => s.metric), [
    { classification: "success" },
    { classification: "failure" },
    { deployment: "web" },
  ]);
  assert.equal(r[0]!.value, 2850);
  assert.ok(Number.isNaN(r[1]!.value));
  assert.equal(r[2]!.value, Number.POSITIVE_INFINITY);
  // the answer is a copy: a caller changing it does not change the next answer
  r[0]!.metric.classification = "changed";
  assert.equal((await c.query(Q))[0]!.metric.classification, "success");
});

Deno.test("DemoPromClient shifts a range answer to the asked range", async () => {
  const c = new DemoPromClient(recording(), { now: () => NOW });
  const end = new Date(Math.floor(NOW.getTime() / 1000) * 1000);
  const start = new Date(end.getTime() - 600_000);
  const [s] = await c.queryRange(R, { start, end, stepSeconds: 60 }) as [PromSeries];
  const t0 = start.getTime() / 1000;
  assert.deepEqual(s.metric, { deployment: "web" });
  assert.deepEqual(s.values.slice(0, 5), [
    [t0 + 60, 10],
    [t0 + 120, 10],
    [t0 + 180, 10],
    // step 4 is a gap
    [t0 + 300, 12.5],
    [t0 + 360, 12.5],
  ]);
  assert.equal(s.values.length, 6);
  assert.ok(Number.isNaN(s.values[5]![1]));
  // the same range ten minutes back (a baseline) is recorded too
  const back = await c.queryRange(R, {
    start: new Date(start.getTime() - 600_000),
    end: new Date(end.getTime() - 600_000),
    stepSeconds: 60,
  });
  assert.equal(back[0]!.values[0]![0], t0 - 600 + 60);
});

Deno.test("DemoPromClient: an unrecorded query is a NotFoundError saying what there is", async () => {
  const c = new DemoPromClient(recording(), { now: NOW });
  await assert.rejects(c.query(Q.replace("5m", "7m")), (err: Error) => {
    assert.ok(err instanceof NotFoundError);
    assert.match(err.message, /^The demo has no data for this query \(time_range 7m was not/);
    assert.match(err.message, /namespaces emojivoto \(web, web-svc\); time_range 5m;/);
    assert.match(err.message, /get_traffic_trends window 1h \(compare_to previous\)/);
    assert.match(err.message, /Query: sum\(increase/);
    return true;
  });
  await assert.rejects(
    c.query(Q.replace("emojivoto", "shop")),
    /namespace "shop" is not in the demo mesh/,
  );
  await assert.rejects(
    c.query(Q, { time: new Date(NOW.getTime() - 3600_000) }),
    /asked 60 minutes from now; the demo answers at now/,
  );
  const end = NOW;
  await assert.rejects(
    c.queryRange(R, { start: new Date(end.getTime() - 600_000), end, stepSeconds: 30 }),
    /range queries were recorded only .*asked: 600 s ending 0 minutes ago, step 30 s/,
  );
  // an instant key never answers a range query
  await assert.rejects(
    c.queryRange(Q, { start: new Date(end.getTime() - 600_000), end, stepSeconds: 60 }),
    NotFoundError,
  );
});

Deno.test("the recorder's encoding decodes to what Prometheus answered", async () => {
  const series: PromSeries[] = [
    {
      metric: { deployment: "web", classification: "success" },
      values: [[1000, 9.6], [1060, 9.6], [1180, 2.4000000001], [1240, Number.NaN]],
    },
    { metric: { deployment: "emoji" }, values: [[1060, 40], [1120, 450.0000004]] },
  ];
  const inner: PromClient = {
    describe: () => "fake",
    query: () => Promise.resolve([{ metric: { a: "1" }, value: 0.1 + 0.2 }]),
    queryRange: () => Promise.resolve(series),
  };
  const at = new Date("2026-08-24T12:00:00Z");
  const cap = new CapturePromClient(inner, at);
  const range = { start: new Date(1000_000), end: new Date(1240_000), stepSeconds: 60 };
  await cap.queryRange(R, range);
  await cap.query(Q, { time: at });
  const rec = recording();
  rec.labels = cap.labels;
  rec.answers = [];
  rec.entries = {};
  for (const [h, e] of cap.entries) rec.entries[h] = rec.answers.push(e.answer) - 1;
  const c = new DemoPromClient(rec, { now: at });
  assert.deepEqual(await c.query(Q, { time: at }), [{ metric: { a: "1" }, value: 0.3 }]);
  const back = await c.queryRange(R, range);
  assert.deepEqual(back[0]!.metric, { classification: "success", deployment: "web" });
  assert.deepEqual(back[0]!.values.slice(0, 3), [[1000, 9.6], [1060, 9.6], [1180, 2.4]]);
  assert.ok(Number.isNaN(back[0]!.values[3]![1]));
  assert.deepEqual(back[1]!.values, [[1060, 40], [1120, 450]]);
});

Deno.test("the embedded recording is fresh: generator unchanged, the tools' queries all held", async () => {
  assert.deepEqual(await checkTraffic(), []);
});
