import assert from "node:assert/strict";
import { parse } from "yaml";
import { validate } from "./_schema.ts";

const chart = new URL("../../helm/linkerd-mcp/", import.meta.url);
const schema = JSON.parse(Deno.readTextFileSync(new URL("values.schema.json", chart)));
const values = parse(Deno.readTextFileSync(new URL("values.yaml", chart))) as Record<
  string,
  unknown
>;

/** Deep-merges `patch` into a copy of `base` (what `--set` does). */
function withValues(patch: Record<string, unknown>, base = values): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object"
      ? withValues(v as Record<string, unknown>, cur as Record<string, unknown>)
      : v;
  }
  return out;
}

Deno.test("values.yaml validates against values.schema.json", () => {
  assert.deepEqual(validate(values, schema), []);
});

Deno.test("values.schema.json accepts realistic overrides", async (t) => {
  const good: [string, Record<string, unknown>][] = [
    ["explicit token", { auth: { token: "0123456789abcdef0123" } }],
    ["existing secret", { auth: { existingSecret: "mcp-token", existingSecretKey: "t" } }],
    ["token review", { auth: { tokenReview: { enabled: true } } }],
    ["ingress host and origin", {
      http: { allowedHosts: ["mcp.example.com"], allowedOrigins: ["https://app.example.com"] },
    }],
    ["custom Prometheus", { prometheus: { url: "https://prom.example.com:9090" } }],
    ["no inject annotation", { linkerdInject: "" }],
    ["network policy", {
      networkPolicy: { enabled: true, from: [{ namespaceSelector: {} }] },
    }],
    ["pdb percentage", { podDisruptionBudget: { enabled: true, minAvailable: "50%" } }],
    ["writes enabled", { writes: { enabled: true } }],
  ];
  for (const [name, patch] of good) {
    await t.step(name, () => assert.deepEqual(validate(withValues(patch), schema), []));
  }
});

Deno.test("values.schema.json rejects invalid values", async (t) => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["replicaCount as text", { replicaCount: "two" }, /replicaCount: expected integer/],
    ["port out of range", { http: { port: 70000 } }, /http\.port: 70000 > maximum/],
    ["short token", { auth: { token: "short" } }, /auth\.token: .* does not match/],
    ["unknown top-level key", { replicas: 3 }, /unknown key "replicas"/],
    ["unknown nested key", { auth: { tokenFile: "/x" } }, /unknown key "tokenFile"/],
    ["inject typo", { linkerdInject: "yes" }, /linkerdInject: "yes" is not one of/],
    ["bad log level", { logLevel: "verbose" }, /logLevel/],
    ["writes as text", { writes: { enabled: "yes" } }, /writes\.enabled/],
    ["writes unknown key", { writes: { secrets: true } }, /unknown key "secrets"/],
    ["bad namespace", { linkerd: { namespace: "Linkerd_NS" } }, /linkerd\.namespace/],
    [
      "Prometheus URL without scheme",
      { prometheus: { url: "prometheus:9090" } },
      /prometheus\.url/,
    ],
    [
      "origin with a path",
      { http: { allowedOrigins: ["https://a.example.com/x"] } },
      /allowedOrigins/,
    ],
    ["service type", { service: { type: "ExternalName" } }, /service\.type/],
    ["pull policy", { image: { pullPolicy: "Sometimes" } }, /image\.pullPolicy/],
    [
      "annotation value not a string",
      { podAnnotations: { a: 1 } },
      /podAnnotations\.a: expected string/,
    ],
  ];
  for (const [name, patch, expected] of bad) {
    await t.step(name, () => {
      const errors = validate(withValues(patch), schema);
      assert.ok(errors.some((e) => expected.test(e)), `${name}: ${JSON.stringify(errors)}`);
    });
  }
});
