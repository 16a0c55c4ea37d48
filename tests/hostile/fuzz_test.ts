/**
 * Fuzzed tool arguments for every tool in `tools/list`, through a real MCP client
 * (linked in-memory transports) on the embedded demo mesh. Argument sets are made
 * from each tool's advertised input schema: wrong types, huge and odd strings,
 * prototype keys (`__proto__`, `constructor`), negative and huge numbers, unknown
 * keys, nulls, nested junk, and random mixes of valid values. Every answer must be a
 * valid result or an isError result with a clear message: never "failed
 * unexpectedly", never a JavaScript error text, never a protocol failure.
 *
 * Deterministic (seeded) and bounded in time. `FUZZ_SEED` and `FUZZ_PER_TOOL` change
 * the seed and the number of random mixes per tool.
 */
import assert from "node:assert/strict";
import { createDemoSource } from "../../src/demo/mod.ts";
import type { PromClient } from "../../src/metrics/prom_client.ts";
import { testDeps } from "../_helpers.ts";
import { connectInProcess } from "../_mcp.ts";

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
};
type CallResult = {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
};

/** Texts that betray an unhandled exception or a leaked JavaScript error. */
const UNSAFE =
  /failed unexpectedly|TypeError|ReferenceError|RangeError|SyntaxError: (?!the)|Cannot read propert|is not a function|is not iterable|undefined is not|null is not|Maximum call stack|\bat (?:file|async|new) |\.ts:\d+:\d+/;

/** A Prometheus that answers every query with no data. */
const EMPTY_PROMETHEUS: PromClient = {
  describe: () => "empty Prometheus (fuzz)",
  query: () => Promise.resolve([]),
  queryRange: () => Promise.resolve([]),
};

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function nested(depth: number): unknown {
  let v: unknown = "bottom";
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { deeper: v };
  return v;
}

/** Values of every wrong or hostile kind. Prototype keys come from JSON.parse, as on the wire. */
const JUNK: unknown[] = [
  null,
  0,
  -1,
  -2147483649,
  1e308,
  -1e308,
  0.5,
  Number.MAX_SAFE_INTEGER + 2,
  true,
  false,
  "",
  " ",
  "x".repeat(100_000),
  "💥ünïcødé\u202e\u0000\uffff\ud800",
  "../../../../etc/passwd",
  "${jndi:ldap://x}",
  "' OR 1=1 --",
  'sum(rate(x[5m])) or vector(1) {job="a"}',
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "emojivoto/web-svc",
  "-1h",
  "999999999999999999999d",
  [],
  [1, "a", null],
  {},
  JSON.parse('{"__proto__":{"polluted":true}}'),
  JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'),
  nested(60),
  Array.from({ length: 2000 }, (_, i) => i),
];

/** Plausible values for a property, from its schema. */
function validValues(name: string, s: JsonSchema): unknown[] {
  const alts = s.anyOf ?? [s];
  const out: unknown[] = [];
  for (const a of alts) {
    if (a.enum) out.push(...a.enum);
    const types = Array.isArray(a.type) ? a.type : [a.type];
    if (types.includes("string")) {
      out.push(
        ...(/namespace/.test(name)
          ? ["emojivoto", "booksapp", "linkerd", "no-such-ns"]
          : /service|name/.test(name)
          ? ["web-svc", "emoji-svc", "voting-svc", "webapp", "books", "nope"]
          : /time|window|range|compare/.test(name)
          ? ["5m", "1h", "24h", "0s", "7d"]
          : ["x", "emojivoto"]),
      );
    }
    if (types.includes("integer") || types.includes("number")) {
      out.push(a.minimum ?? 0, a.maximum ?? 100, 1, 8080, 65536, -1);
    }
    if (types.includes("boolean")) out.push(true, false);
  }
  return out.length ? out : ["x"];
}

/** Argument sets for one tool: systematic, then `random` seeded mixes. */
function argumentSets(schema: JsonSchema, rand: () => number, random: number): unknown[] {
  const props = Object.entries(schema.properties ?? {});
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const valid = (): Record<string, unknown> => {
    const args: Record<string, unknown> = {};
    for (const [name, s] of props) {
      if ((schema.required ?? []).includes(name) || rand() < 0.5) {
        args[name] = pick(validValues(name, s));
      }
    }
    return args;
  };
  const sets: unknown[] = [
    {},
    valid(),
    { unknown_key: 1 },
    JSON.parse('{"__proto__":{"polluted":true}}'),
    JSON.parse('{"constructor":"x","prototype":{}}'),
    { ...valid(), targetPort: 9999 },
  ];
  for (const [name] of props) {
    for (const junk of JUNK) sets.push({ ...valid(), [name]: junk });
    sets.push({ ...valid(), [`${name}_`]: "typo" });
  }
  for (let i = 0; i < random; i++) {
    const args = valid();
    for (const [name] of props) if (rand() < 0.3) args[name] = pick(JUNK);
    if (rand() < 0.1) args[pick(["__proto__", "constructor", "x".repeat(300), ""])] = pick(JUNK);
    sets.push(args);
  }
  return sets;
}

Deno.test("fuzzed arguments for every tool: a valid result or a clear isError, never a crash", async () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 9);
  const perTool = Number(Deno.env.get("FUZZ_PER_TOOL") ?? 20);
  const rand = mulberry32(seed);
  const deps = testDeps([], { cluster: createDemoSource(), prom: EMPTY_PROMETHEUS });
  const { client, close } = await connectInProcess(deps, { toolTimeoutMs: 5000 });
  const started = performance.now();
  let requests = 0;
  let results = 0;
  let refused = 0;
  const unsafe: string[] = [];
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.length >= 11, `only ${tools.length} tools listed`);
    for (const tool of tools) {
      const sets = argumentSets(tool.inputSchema as JsonSchema, rand, perTool);
      // A few calls at a time: bounded, but not one by one.
      for (let i = 0; i < sets.length; i += 8) {
        await Promise.all(
          sets.slice(i, i + 8).map(async (args) => {
            requests++;
            const what = `${tool.name} ${JSON.stringify(args)?.slice(0, 200)}`;
            let res: CallResult;
            try {
              res = await client.callTool(
                { name: tool.name, arguments: args as Record<string, unknown> },
                undefined,
                { timeout: 10_000 },
              ) as CallResult;
            } catch (err) {
              unsafe.push(`${what}: protocol failure: ${String(err).slice(0, 300)}`);
              return;
            }
            const texts = res.content.map((c) => c.text ?? "").join("\n");
            if (UNSAFE.test(texts)) {
              unsafe.push(`${what}: unsafe text: ${texts.slice(0, 300)}`);
              return;
            }
            if (res.isError) {
              if (!res.content[0]?.text || res.content[0].text.length < 15) {
                unsafe.push(`${what}: isError without a clear message`);
              } else refused++;
              return;
            }
            const source = res.structuredContent?.["dataSource"] as { kind?: string } | undefined;
            if (source?.kind !== "demo") {
              unsafe.push(`${what}: result without dataSource.kind "demo"`);
            } else if (!/demo/i.test(texts)) {
              unsafe.push(`${what}: demo result whose text does not say so`);
            } else results++;
          }),
        );
      }
      // Unknown keys are refused over MCP, like `call` refuses them.
      const typo = await client.callTool({
        name: tool.name,
        arguments: { definitely_not_an_argument: 1 },
      }) as CallResult;
      requests++;
      assert.equal(typo.isError, true, `${tool.name} accepted an unknown argument`);
      assert.match(typo.content[0]!.text!, /definitely_not_an_argument/);
      refused++;
    }
  } finally {
    await close();
  }
  const ms = performance.now() - started;
  // deno-lint-ignore no-console
  console.error(
    `fuzz (seed ${seed}): ${requests} requests in ${
      ms.toFixed(0)
    } ms: ${results} valid results, ${refused} refused safely (isError), ${unsafe.length} unsafe`,
  );
  assert.deepEqual(unsafe.slice(0, 20), [], `${unsafe.length} unsafe answers`);
  assert.equal(results + refused, requests);
  assert.ok(ms < 30_000, `the fuzz suite took ${ms} ms`);
});

Deno.test("enum arguments refuse prototype names (constructor, __proto__, ...) in the schema", async () => {
  const deps = testDeps([], { cluster: createDemoSource(), prom: EMPTY_PROMETHEUS });
  const { client, close } = await connectInProcess(deps);
  let checked = 0;
  try {
    const { tools } = await client.listTools();
    for (const tool of tools) {
      const props = (tool.inputSchema as JsonSchema).properties ?? {};
      for (const [name, s] of Object.entries(props)) {
        const values = (s.anyOf ?? [s]).flatMap((a) => a.enum ?? []);
        if (values.length === 0) continue;
        for (const bad of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
          if (values.includes(bad)) continue;
          const res = await client.callTool({
            name: tool.name,
            arguments: { [name]: bad },
          }) as CallResult;
          checked++;
          assert.equal(res.isError, true, `${tool.name} {${name}: "${bad}"} was accepted`);
          assert.match(res.content[0]!.text!, new RegExp(`Invalid arguments for ${tool.name}`));
          assert.doesNotMatch(res.content[0]!.text!, UNSAFE);
        }
      }
    }
  } finally {
    await close();
  }
  assert.ok(checked >= 10, `only ${checked} enum checks: the schemas advertise too few enums`);
});
