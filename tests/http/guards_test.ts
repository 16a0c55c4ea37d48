import assert from "node:assert/strict";
import {
  bearerToken,
  createAuthenticator,
  resolveToken,
  timingSafeEqual,
  TokenConfigError,
} from "../../src/http/auth.ts";
import { hostAllowed, isLoopback, originAllowed, splitHost } from "../../src/http/guards.ts";

Deno.test("isLoopback() knows loopback names and addresses", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) {
    assert.ok(isLoopback(h), h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.1", "example.com"]) assert.ok(!isLoopback(h), h);
});

Deno.test("hostAllowed() matches names with any port, name:port exactly, and *", () => {
  assert.deepEqual(splitHost("[::1]:8080"), { name: "[::1]", port: "8080" });
  assert.ok(hostAllowed("LocalHost:8080", ["localhost"]));
  assert.ok(hostAllowed("mcp.example.com:443", ["mcp.example.com:443"]));
  assert.ok(!hostAllowed("mcp.example.com:444", ["mcp.example.com:443"]));
  assert.ok(!hostAllowed("evil.example.com", ["localhost", "127.0.0.1"]));
  assert.ok(!hostAllowed(null, ["localhost"]));
  assert.ok(hostAllowed("anything", ["*"]));
});

Deno.test("originAllowed() lets requests without Origin through and checks the rest", () => {
  assert.ok(originAllowed(null, []));
  assert.ok(originAllowed("http://localhost:6274", ["http://localhost"]));
  assert.ok(!originAllowed("https://localhost:6274", ["http://localhost"]));
  assert.ok(originAllowed("https://app.example.com", ["https://app.example.com"]));
  assert.ok(!originAllowed("https://app.example.com:8443", ["https://app.example.com:443"]));
  assert.ok(!originAllowed("http://evil.example.com", ["http://localhost"]));
  assert.ok(!originAllowed("null", ["http://localhost"]));
});

Deno.test("timingSafeEqual() and bearerToken()", () => {
  assert.ok(timingSafeEqual("abc", "abc"));
  assert.ok(!timingSafeEqual("abc", "abd"));
  assert.ok(!timingSafeEqual("abc", "abcd"));
  assert.ok(!timingSafeEqual("", "a"));
  assert.equal(bearerToken("Bearer xyz"), "xyz");
  assert.equal(bearerToken("bearer  xyz "), "xyz");
  assert.equal(bearerToken("Basic xyz"), undefined);
  assert.equal(bearerToken("Bearer a b"), undefined);
  assert.equal(bearerToken(null), undefined);
});

Deno.test("resolveToken() prefers the file, trims it and rejects short tokens", async () => {
  const files: Record<string, string> = { "/t": "file-token-0123456789\n", "/short": "abc" };
  const readTextFile = (p: string) =>
    p in files ? Promise.resolve(files[p]!) : Promise.reject(new Error("No such file"));
  assert.equal(
    await resolveToken({ tokenFile: "/t", envToken: "env-token-0123456789", readTextFile }),
    "file-token-0123456789",
  );
  assert.equal(await resolveToken({ envToken: "env-token-0123456789" }), "env-token-0123456789");
  assert.equal(await resolveToken({ envToken: "  " }), undefined);
  assert.equal(await resolveToken({}), undefined);
  await assert.rejects(resolveToken({ tokenFile: "/short", readTextFile }), TokenConfigError);
  await assert.rejects(resolveToken({ tokenFile: "/missing", readTextFile }), /Cannot read/);
});

Deno.test("createAuthenticator() caches accepted and rejected TokenReview results briefly", async () => {
  let calls = 0;
  let now = 0;
  const auth = createAuthenticator({
    tokenReview: (t) => {
      calls++;
      return Promise.resolve(t === "good");
    },
    reviewCacheMs: 1000,
    rejectCacheMs: 500,
    now: () => now,
  });
  assert.deepEqual(await auth("Bearer good"), { ok: true, via: "token-review" });
  assert.deepEqual(await auth("Bearer good"), { ok: true, via: "token-review" });
  assert.equal(calls, 1);
  now = 2000;
  await auth("Bearer good");
  assert.equal(calls, 2);
  assert.equal((await auth("Bearer bad")).ok, false);
  assert.equal((await auth("Bearer bad")).ok, false);
  assert.equal(calls, 3, "a rejected token is remembered, not reviewed again at once");
  now = 2600;
  assert.equal((await auth("Bearer bad")).ok, false);
  assert.equal(calls, 4, "the rejection is forgotten after rejectCacheMs");
  assert.deepEqual(await auth(null), { ok: false, reason: "missing bearer token" });
  assert.deepEqual(await createAuthenticator({})(null), { ok: true, via: "none" });
});
