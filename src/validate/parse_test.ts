import assert from "node:assert/strict";
import {
  cidrContains,
  identityError,
  isPortName,
  logLevelError,
  parseCidr,
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
    ranges: [{ from: 25, to: 25 }, { from: 3306, to: 3306 }, { from: 8000, to: 9000 }],
    names: [],
  });
  assert.deepEqual(parsePortList("3000,mysql").names, ["mysql"]);
  assert.ok(parsePortList("4000-3000").error);
  assert.ok(parsePortList("70000").error);
  assert.ok(parsePortList("80;443").error);
});

Deno.test("parseGoDuration() reads Go durations", () => {
  assert.equal(parseGoDuration("300ms"), 300);
  assert.equal(parseGoDuration("1m30s"), 90_000);
  assert.equal(parseGoDuration("0"), 0);
  assert.equal(parseGoDuration("1.5h"), 5_400_000);
  for (const bad of ["300", "10 s", "", "1d"]) assert.equal(parseGoDuration(bad), undefined, bad);
});

Deno.test("parseCidr() and cidrContains() handle IPv4, IPv6 and bare IPs", () => {
  const ten = parseCidr("10.0.0.0/8")!;
  assert.ok(cidrContains(ten, parseCidr("10.1.0.0/16")!));
  assert.ok(!cidrContains(ten, parseCidr("192.168.0.0/16")!));
  assert.ok(cidrContains(parseCidr("fd00::/8")!, parseCidr("fd00::1")!));
  assert.ok(cidrContains(parseCidr("::/0")!, parseCidr("2001:db8::/32")!));
  assert.equal(parseCidr("192.0.2.1")!.prefix, 32);
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
