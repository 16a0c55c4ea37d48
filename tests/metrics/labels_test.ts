import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../src/errors.ts";
import {
  escapeRegex,
  formatDuration,
  formatMatchers,
  parseDuration,
  quoteLabelValue,
  validateName,
} from "../../src/metrics/labels.ts";
import { HOSTILE, parseErrors, shape, stringLiterals } from "./_promql.ts";

Deno.test("validateName() rejects every hostile value for every kind", () => {
  for (const v of HOSTILE) {
    for (const kind of ["namespace", "service", "workload"] as const) {
      assert.throws(
        () => validateName(v, kind),
        InvalidArgumentError,
        `accepted ${JSON.stringify(v.slice(0, 40))} as ${kind}`,
      );
    }
  }
});

Deno.test("validateName() accepts Kubernetes names and says why it rejects others", () => {
  assert.equal(validateName("emojivoto", "namespace"), "emojivoto");
  assert.equal(validateName("web-svc", "service"), "web-svc");
  assert.equal(validateName("web.v2", "workload"), "web.v2");
  assert.throws(() => validateName("1web", "service"), /DNS-1035 label/);
  assert.throws(() => validateName("a".repeat(64), "namespace"), /at most 63/);
  assert.throws(
    () => validateName('x"}', "service", "target_service"),
    /Cannot use target_service "x\\"}"/,
  );
});

Deno.test("quoteLabelValue() keeps every hostile value a single string literal", () => {
  const benign = shape(`up${formatMatchers([{ label: "a", op: "=", value: "x" }])}`);
  // The check can fail: pasting the value unescaped changes the structure.
  assert.notEqual(shape(`up{a="${HOSTILE[0]}"}`), benign);
  for (const v of HOSTILE) {
    const q = `up${formatMatchers([{ label: "a", op: "=", value: v }])}`;
    assert.equal(
      parseErrors(q),
      0,
      `parse error for ${JSON.stringify(v.slice(0, 40))}: ${q.slice(0, 80)}`,
    );
    assert.equal(shape(q), benign, `structure changed for ${JSON.stringify(v.slice(0, 40))}`);
    const lits = stringLiterals(q);
    assert.equal(lits.length, 1);
    assert.equal(lits[0], quoteLabelValue(v));
    // The literal decodes back to the value (JSON string escapes are a subset of PromQL's).
    assert.equal(JSON.parse(lits[0]!), v);
  }
});

Deno.test("escapeRegex() makes metacharacters literal", () => {
  assert.equal(escapeRegex("a.b|c(d)*"), "a\\.b\\|c\\(d\\)\\*");
});

Deno.test("parseDuration() accepts Prometheus durations from 1m to 30d", () => {
  assert.equal(parseDuration("5m"), 300);
  assert.equal(parseDuration("1h30m"), 5400);
  assert.equal(parseDuration("7d"), 604_800);
  assert.equal(parseDuration("30d"), 2_592_000);
  assert.equal(parseDuration("1m"), 60);
  assert.equal(parseDuration("90s"), 90);
});

Deno.test("parseDuration() rejects malformed and out-of-range durations clearly", () => {
  assert.throws(() => parseDuration("30s"), /between 1m and 30d/);
  assert.throws(() => parseDuration("31d"), /between 1m and 30d/);
  assert.throws(() => parseDuration("5 minutes"), /Prometheus duration such as "5m"/);
  assert.throws(() => parseDuration("-5m"), InvalidArgumentError);
  assert.throws(() => parseDuration("5m] or vector(1) ["), InvalidArgumentError);
  assert.throws(() => parseDuration(""), InvalidArgumentError);
  assert.throws(() => parseDuration("1".repeat(100) + "m"), InvalidArgumentError);
});

Deno.test("formatDuration() prints the shortest duration", () => {
  assert.equal(formatDuration(300), "5m");
  assert.equal(formatDuration(5400), "1h30m");
  assert.equal(formatDuration(86_400 * 7), "7d");
  assert.equal(formatDuration(90), "1m30s");
});
