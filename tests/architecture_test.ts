/**
 * The arrows of the architecture, checked on the whole import graph (every import
 * followed transitively, not one folder's direct imports):
 *
 * - the pure domain folders (`src/policy`, `src/validate`, `src/lifecycle`, `src/metrics` but its two
 *   Prometheus adapters) reach no I/O: no live cluster or manifests source, no
 *   client-node, no MCP SDK, no `node:fs`/`node:http(s)`/`node:net`, no `Deno.*`,
 *   no `fetch`, no `console` — whatever the path;
 * - no import cycle in `src/policy` or `src/validate`;
 * - `src/kube` imports nothing from `src/mesh` (Linkerd knowledge builds on Kubernetes,
 *   not the other way round), and Kubernetes object shapes are declared in `src/kube`.
 *
 * Type-only imports (`import type`, or only `type` specifiers) are erased at run time:
 * they count for cycles and the kube → mesh arrow, not for reaching I/O.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** One import of one file. */
interface Edge {
  /** A repository path (`src/kube/live.ts`) or a bare specifier (`npm:…`, `node:fs`, `yaml`). */
  to: string;
  typeOnly: boolean;
}

/** The parsed source tree: each file's imports and whether its own code does I/O. */
interface Graph {
  edges: Map<string, Edge[]>;
  /** Files whose own code uses `Deno.*`, `fetch(` or `console.` (comments stripped). */
  selfIO: Map<string, string>;
}

const IMPORT_RE =
  /(?:^|[\n;])\s*(import|export)\s+(type\s+)?([\w*\s{},$]*?)\s*from\s*["']([^"']+)["']/g;
const SIDE_EFFECT_RE = /(?:^|[\n;])\s*import\s*["']([^"']+)["']/g;
const DYNAMIC_RE = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The imports of one file's text. Exported shapes: see {@linkcode Edge}. */
function importsOf(text: string): Array<{ spec: string; typeOnly: boolean }> {
  const out: Array<{ spec: string; typeOnly: boolean }> = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const clause = m[3]!.trim();
    const braces = clause.match(/^\{([\s\S]*)\}$/);
    const specifiers = braces
      ? braces[1]!.split(",").map((s) => s.trim()).filter(Boolean)
      : undefined;
    const allTypes = specifiers !== undefined && specifiers.length > 0 &&
      specifiers.every((s) => s.startsWith("type "));
    out.push({ spec: m[4]!, typeOnly: m[2] !== undefined || allTypes });
  }
  for (const m of text.matchAll(SIDE_EFFECT_RE)) out.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(DYNAMIC_RE)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** Builds the graph from file texts (repository path → text). */
function buildGraph(files: ReadonlyMap<string, string>): Graph {
  const edges = new Map<string, Edge[]>();
  const selfIO = new Map<string, string>();
  for (const [path, text] of files) {
    const list: Edge[] = [];
    for (const { spec, typeOnly } of importsOf(text)) {
      list.push({ to: spec.startsWith(".") ? resolve(path, spec) : spec, typeOnly });
    }
    edges.set(path, list);
    const code = stripComments(text);
    const io = code.match(/\bDeno\.\w+|(?<![.\w])fetch\(|\bconsole\.\w+/);
    if (io) selfIO.set(path, io[0]);
  }
  return { edges, selfIO };
}

function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const seg of spec.split("/")) {
    if (seg === "..") parts.pop();
    else if (seg !== ".") parts.push(seg);
  }
  return parts.join("/");
}

/** Modules that are I/O whoever reaches them (by a value import). */
const IO_MODULES: ReadonlyArray<RegExp> = [
  /^src\/kube\/live\.ts$/,
  /^src\/kube\/_live_http\.ts$/,
  /^src\/kube\/manifests\.ts$/,
  /^src\/kube\/kubeconfig\.ts$/,
  /^src\/metrics\/prom_client\.ts$/,
  /^src\/http\//,
  /^(npm:)?@kubernetes\/client-node/,
  /^(npm:)?@modelcontextprotocol\/sdk/,
  /^node:(fs|fs\/promises|http|https|http2|net|tls|dgram|dns|child_process)$/,
];

/** Domain folders that are pure as a whole, besides src/policy and src/validate. */
const PURE_FOLDERS = ["src/lifecycle/", "src/writes/", "src/topology/", "src/multicluster/"];

/** The pure domain files: they may reach no I/O. */
function isPure(path: string): boolean {
  if (path.endsWith("_test.ts") || !path.endsWith(".ts")) return false;
  if (path.startsWith("src/policy/") || path.startsWith("src/validate/")) return true;
  if (PURE_FOLDERS.some((f) => path.startsWith(f))) return true;
  return path.startsWith("src/metrics/") && path !== "src/metrics/prom_client.ts" &&
    path !== "src/metrics/mod.ts";
}

/**
 * For each pure file that reaches I/O through value imports, one shortest path from
 * it to the I/O (`a.ts → b.ts → node:fs`).
 */
function ioViolations(graph: Graph, pure: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const root of [...graph.edges.keys()].filter(pure).sort()) {
    const parent = new Map<string, string | null>([[root, null]]);
    const queue = [root];
    let found: { at: string; what: string } | undefined;
    while (queue.length && !found) {
      const node = queue.shift()!;
      if (IO_MODULES.some((re) => re.test(node))) found = { at: node, what: "" };
      else if (graph.selfIO.has(node)) {
        found = { at: node, what: ` (uses ${graph.selfIO.get(node)})` };
      }
      if (found) break;
      for (const e of graph.edges.get(node) ?? []) {
        if (e.typeOnly || parent.has(e.to)) continue;
        parent.set(e.to, node);
        queue.push(e.to);
      }
    }
    if (!found) continue;
    const chain: string[] = [];
    for (let n: string | null = found.at; n !== null; n = parent.get(n) ?? null) chain.unshift(n);
    out.push(chain.join(" → ") + found.what);
  }
  return out;
}

/** Import cycles (strongly connected components of more than one file, or a self-import). */
function cycles(graph: Graph, within: (path: string) => boolean): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let counter = 0;
  const nodes = [...graph.edges.keys()].filter(within);
  const next = (n: string) =>
    (graph.edges.get(n) ?? []).map((e) => e.to).filter((t) => graph.edges.has(t) && within(t));
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next(v).includes(v)) out.push(scc.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return out;
}

async function sourceFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}${e.name}`;
      if (e.isDirectory) await walk(`${path}/`);
      else if (e.name.endsWith(".ts")) {
        files.set(path, await Deno.readTextFile(new URL(path, ROOT)));
      }
    }
  };
  await walk("src/");
  files.set("main.ts", await Deno.readTextFile(new URL("main.ts", ROOT)));
  return files;
}

const GRAPH = await sourceFiles().then(buildGraph);

Deno.test("the import graph is read: what the pure folders import resolves to source files", () => {
  assert.ok(GRAPH.edges.size > 100, `${GRAPH.edges.size} files`);
  const missing: string[] = [];
  const seen = new Set<string>();
  const queue = [...GRAPH.edges.keys()].filter(isPure);
  while (queue.length) {
    const from = queue.pop()!;
    if (seen.has(from)) continue;
    seen.add(from);
    for (const e of GRAPH.edges.get(from) ?? []) {
      if (!e.to.startsWith("src/")) continue;
      if (!GRAPH.edges.has(e.to)) missing.push(`${from} → ${e.to}`);
      else queue.push(e.to);
    }
  }
  assert.deepEqual(missing, []);
  assert.ok(
    (GRAPH.edges.get("src/kube/credentials_client_node.ts") ?? []).some((e) =>
      /client-node/.test(e.to)
    ),
    "credentials_client_node.ts is seen importing client-node",
  );
  assert.equal(
    ioViolations(GRAPH, (p) => p === "src/server.ts").length,
    1,
    "the MCP server, which is not pure, is seen reaching the SDK",
  );
});

Deno.test("pure folders (policy, validate, metrics) reach no I/O, transitively", () => {
  const pure = [...GRAPH.edges.keys()].filter(isPure);
  assert.ok(
    pure.some((p) => p.startsWith("src/policy/")) &&
      pure.some((p) => p.startsWith("src/validate/")) &&
      PURE_FOLDERS.every((f) => pure.some((p) => p.startsWith(f))),
  );
  assert.deepEqual(ioViolations(GRAPH, isPure), []);
});

Deno.test("no import cycle in src/policy or src/validate", () => {
  const inPureDomain = (p: string) => p.startsWith("src/policy/") || p.startsWith("src/validate/");
  assert.deepEqual(cycles(GRAPH, inPureDomain), []);
});

Deno.test("src/kube imports nothing from src/mesh (no kube → mesh arrow)", () => {
  const bad: string[] = [];
  for (const [from, edges] of GRAPH.edges) {
    if (!from.startsWith("src/kube/")) continue;
    for (const e of edges) if (e.to.startsWith("src/mesh/")) bad.push(`${from} → ${e.to}`);
  }
  assert.deepEqual(bad, []);
});

Deno.test("Kubernetes object shapes are declared in src/kube only", async () => {
  const shapes =
    /^export\s+(?:interface|type)\s+(KubeObject|ObjectMeta|OwnerReference|Pod|PodSpec|PodStatus|ContainerSpec|ContainerStatus|ProbeSpec)\b/m;
  const elsewhere: string[] = [];
  for (const [path, text] of await sourceFiles()) {
    if (path.startsWith("src/kube/")) continue;
    const m = stripComments(text).match(shapes);
    if (m) elsewhere.push(`${path}: ${m[1]}`);
  }
  assert.deepEqual(elsewhere, []);
});

// ------------------------------------------------------------------ the checker itself

Deno.test("the checker finds I/O reached through a chain, and ignores type-only imports", () => {
  const graph = buildGraph(
    new Map([
      ["src/policy/a.ts", 'import { b } from "./b.ts";\nimport type { C } from "../kube/live.ts";'],
      ["src/policy/b.ts", 'import {\n  x,\n  type Y,\n} from "../kube/state.ts";'],
      ["src/kube/state.ts", "// Deno.readFile is only mentioned here\nexport const x = 1;"],
      ["src/validate/c.ts", 'export { y } from "../util.ts";'],
      ["src/util.ts", "export const y = () => Deno.readTextFileSync('x');"],
      ["src/metrics/d.ts", 'import { type A, type B } from "npm:@kubernetes/client-node";'],
      ["src/metrics/e.ts", 'const m = await import("../kube/manifests.ts");'],
      ["src/kube/manifests.ts", ""],
    ]),
  );
  assert.deepEqual(ioViolations(graph, isPure), [
    "src/metrics/e.ts → src/kube/manifests.ts",
    "src/validate/c.ts → src/util.ts (uses Deno.readTextFileSync)",
  ]);
});

Deno.test("the checker finds import cycles, type-only ones included", () => {
  const graph = buildGraph(
    new Map([
      ["src/policy/a.ts", 'import { b } from "./b.ts";'],
      ["src/policy/b.ts", 'import type { A } from "./a.ts";'],
      ["src/policy/c.ts", 'import { c } from "./c.ts";'],
      ["src/policy/d.ts", 'import { b } from "./b.ts";'],
    ]),
  );
  assert.deepEqual(cycles(graph, () => true).sort(), [
    ["src/policy/a.ts", "src/policy/b.ts"],
    ["src/policy/c.ts"],
  ]);
});
