import assert from "node:assert/strict";
import type { KubeObject } from "../../kube/types.ts";
import { matchProbe, routeMatchesProbe } from "./traffic.ts";

function route(spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "ns" },
    spec,
  };
}

Deno.test("matchProbe() decides how a route match treats GET <path>", () => {
  const cases: Array<[Record<string, unknown>, string, string]> = [
    [{ path: { type: "Exact", value: "/ping" } }, "/ping", "yes"],
    [{ path: { type: "Exact", value: "/ping" } }, "/ready", "no"],
    [{ path: { type: "PathPrefix", value: "/" } }, "/ready", "yes"],
    [{ path: { value: "/authors/" } }, "/authors/1", "yes"],
    [{ path: { value: "/authors" } }, "/authors", "yes"],
    [{ path: { value: "/api" } }, "/ready", "no"],
    [{ path: { value: "/api" } }, "/apix", "maybe"],
    [{ path: { type: "RegularExpression", value: "/r.*" } }, "/ready", "maybe"],
    [{ path: { value: "/" }, method: "POST" }, "/ready", "no"],
    [{ path: { value: "/" }, headers: [{ name: "x", value: "y" }] }, "/ready", "maybe"],
  ];
  for (const [m, path, want] of cases) assert.equal(matchProbe(m, path), want, JSON.stringify(m));
});

Deno.test("routeMatchesProbe() treats missing matches as match-all and hostnames as unknown", () => {
  assert.equal(routeMatchesProbe(route({ rules: [{}] }), "/x"), "yes");
  assert.equal(routeMatchesProbe(route({}), "/x"), "yes");
  assert.equal(routeMatchesProbe(route({ hostnames: ["a"], rules: [{}] }), "/x"), "maybe");
  assert.equal(
    routeMatchesProbe(
      route({ rules: [{ matches: [{ path: { type: "Exact", value: "/a" } }] }] }),
      "/x",
    ),
    "no",
  );
});
