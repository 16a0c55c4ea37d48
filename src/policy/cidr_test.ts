import assert from "node:assert/strict";
import { cidrContains, cidrCovers, parseCidr, parseIp } from "./cidr.ts";

Deno.test("parseIp() reads IPv4, IPv6, compressed and IPv4-mapped forms", () => {
  assert.deepEqual(parseIp("10.0.0.1"), { family: 4, bits: 0x0a000001n });
  assert.deepEqual(parseIp("::1"), { family: 6, bits: 1n });
  assert.deepEqual(parseIp("fd00::"), { family: 6, bits: 0xfd00n << 112n });
  assert.deepEqual(parseIp("::ffff:10.0.0.1"), { family: 6, bits: (0xffffn << 32n) | 0x0a000001n });
  assert.equal(parseIp("2001:db8:0:0:0:0:0:1")?.bits, parseIp("2001:db8::1")?.bits);
});

Deno.test("parseIp() rejects malformed addresses", () => {
  for (
    const bad of [
      "256.0.0.1",
      "1.2.3",
      "1.2.3.4.5",
      "::1::2",
      "g::1",
      "1:2:3:4:5:6:7:8:9",
      "",
      "a.b.c.d",
    ]
  ) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("parseCidr() masks host bits and treats a bare IP as a host block", () => {
  assert.equal(parseCidr("10.1.2.3/8")?.bits, 0x0a000000n);
  assert.equal(parseCidr("10.1.2.3")?.prefix, 32);
  assert.equal(parseCidr("fd00::1")?.prefix, 128);
  assert.equal(parseCidr("10.0.0.0/33"), undefined);
  assert.equal(parseCidr("::/129"), undefined);
  assert.equal(parseCidr("10.0.0.0/8/1"), undefined);
});

Deno.test("cidrContains() matches within the family only", () => {
  const net = parseCidr("10.0.0.0/8")!;
  assert.equal(cidrContains(net, parseIp("10.255.1.1")!), true);
  assert.equal(cidrContains(net, parseIp("11.0.0.1")!), false);
  assert.equal(cidrContains(parseCidr("0.0.0.0/0")!, parseIp("::1")!), false);
  assert.equal(cidrContains(parseCidr("fd00::/8")!, parseIp("fd12:3456::1")!), true);
  assert.equal(cidrContains(parseCidr("fd00::/8")!, parseIp("fe80::1")!), false);
});

Deno.test("cidrCovers() compares blocks", () => {
  assert.equal(cidrCovers(parseCidr("10.0.0.0/8")!, parseCidr("10.1.0.0/16")!), true);
  assert.equal(cidrCovers(parseCidr("10.1.0.0/16")!, parseCidr("10.0.0.0/8")!), false);
});
