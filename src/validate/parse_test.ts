import assert from "node:assert/strict";
import { parseCidr } from "../policy/cidr.ts";
import {
  identityError,
  isPortName,
  logLevelError,
  parseGoDuration,
  parsePortList,
  parseQuantity,
} from "./parse.ts";

Deno.test("parseQuantity() accepts Kubernetes quantities and rejects the rest", () => {
  const valid: Array<[string, number]> = [
    ["1k", 1000],
    ["500m", 0.5],
    ["1Gi", 2 ** 30],
    ["0.5", 0.5],
    [".5", 0.5],
    ["2e3", 2000],
    ["1Ti", 2 ** 40],
    ["64Mi", 64 * 2 ** 20],
  ];
  for (const [q, v] of valid) assert.equal(parseQuantity(q), v, q);
  for (const q of ["1K", "100 m", "1mi", "abc", "", "1GiB", "Mi"]) {
    assert.equal(parseQuantity(q), undefined, q);
  }
});

Deno.test("logLevelError() accepts Linkerd's filter syntax", () => {
  for (
    const ok of [
      "warn,linkerd=info,hickory=error,[{headers}]=off",
      "warn,linkerd=info,hickory=error",
      "info",
      "debug",
      "linkerd_proxy_http=trace,info",
      "linkerd::proxy=debug",
      "OFF",
      "linkerd",
    ]
  ) assert.equal(logLevelError(ok), undefined, ok);
  for (const bad of ["linkerd=verbose", "warn,linkerd=", "", "lin kerd=info"]) {
    assert.ok(logLevelError(bad), bad);
  }
});

Deno.test("parsePortList() reads numbers, ranges and names", () => {
  assert.deepEqual(parsePortList("25, 3306,8000-9000"), {
    ranges: [[25, 25], [3306, 3306], [8000, 9000]],
    names: [],
  });
  assert.deepEqual(parsePortList("3000,mysql").names, ["mysql"]);
  assert.match(parsePortList("4000-3000").error ?? "", /ends before it starts/);
  assert.match(parsePortList("70000").error ?? "", /not a port between 1 and 65535/);
  assert.match(parsePortList("0").error ?? "", /not a port between 1 and 65535/);
  assert.ok(parsePortList("80;443").error);
});

Deno.test("parseGoDuration() reads Go durations", () => {
  assert.equal(parseGoDuration("300ms"), 300);
  assert.equal(parseGoDuration("1m30s"), 90_000);
  assert.equal(parseGoDuration("0"), 0);
  assert.equal(parseGoDuration("1.5h"), 5_400_000);
  for (const bad of ["300", "10 s", "", "1d"]) assert.equal(parseGoDuration(bad), undefined, bad);
});

Deno.test("the network rules read CIDRs with the policy model's parser", () => {
  // src/validate has no CIDR parser of its own: these are the strings its rules reject.
  for (const bad of ["10.0.0.0/33", "300.0.0.0/8", "10.0.0/8", "fd00:::/8", "x"]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

Deno.test("identityError() follows admission's identity validation", () => {
  for (
    const ok of [
      "*",
      "*.emojivoto.serviceaccount.identity.linkerd.cluster.local",
      "web.emojivoto.serviceaccount.identity.linkerd.cluster.local",
      "spiffe://example.org/ns/web",
    ]
  ) assert.equal(identityError(ok), undefined, ok);
  for (const bad of ["Web.emojivoto", "web..x", "-web.x", "spiffe://Example.org"]) {
    assert.ok(identityError(bad), bad);
  }
});

Deno.test("isPortName() follows IANA service name rules", () => {
  for (const ok of ["http", "linkerd-admin", "h2c", "grpc-1"]) assert.ok(isPortName(ok), ok);
  for (const bad of ["HTTP", "8080", "-http", "a--b", "abcdefghijklmnop"]) {
    assert.ok(!isPortName(bad), bad);
  }
});
