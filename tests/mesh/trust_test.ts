import assert from "node:assert/strict";
import { daysUntil, parseTrustBundle, validityAt } from "../../src/mesh/trust.ts";
import { anchorPem } from "./_fixtures.ts";

const NOW = new Date("2026-11-24T12:00:00Z");

Deno.test("parseTrustBundle() reads every certificate of a bundle", () => {
  const { anchors, errors } = parseTrustBundle(
    `# comment\n${anchorPem("valid")}\n${anchorPem("expired")}`,
  );
  assert.deepEqual(errors, []);
  assert.equal(anchors.length, 2);
  assert.equal(anchors[0]!.commonName, "root.linkerd.cluster.local");
  assert.equal(anchors[0]!.notAfter.toISOString(), "2036-11-01T00:00:00.000Z");
  assert.equal(anchors[0]!.unsupportedCrypto, undefined);
  assert.match(anchors[0]!.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
});

Deno.test("parseTrustBundle() reports unparsable blocks and unsupported keys", () => {
  const bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
  const { anchors, errors } = parseTrustBundle(`${bad}\n${anchorPem("rsa1024")}`);
  assert.equal(anchors.length, 1);
  assert.match(errors[0]!, /^certificate 1 cannot be parsed/);
  assert.match(anchors[0]!.unsupportedCrypto!, /2048 or 4096 bits, not 1024/);
  assert.deepEqual(parseTrustBundle("no pem here"), { anchors: [], errors: [] });
});

Deno.test("validityAt() warns 60 days ahead", () => {
  const at = (name: Parameters<typeof anchorPem>[0]) =>
    validityAt(parseTrustBundle(anchorPem(name)).anchors[0]!, NOW);
  assert.equal(at("valid"), "valid");
  assert.equal(at("expiring"), "expiring");
  assert.equal(at("expired"), "expired");
  assert.equal(at("future"), "not-yet-valid");
  assert.equal(daysUntil(new Date("2026-12-20T00:00:00Z"), NOW), 25);
});
