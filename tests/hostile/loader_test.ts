/**
 * Hostile folders for the manifest loader: symlink loops, special files, files too large
 * to read, symlinks out of the given paths, files that do not parse. Each load must end
 * within a bound, load each object once, never open what is not a regular file, and turn
 * what it could not load into a problem (and a `validate_mesh_config` finding) with its
 * file and line, while every other file is still loaded.
 */
import assert from "node:assert/strict";
import { ManifestError } from "../../src/errors.ts";
import { loadConfig } from "../../src/config.ts";
import { loadManifests, type LoadProblem, ManifestSource } from "../../src/kube/manifests.ts";
import { positionOf } from "../../src/kube/types.ts";
import { validateMeshConfig } from "../../src/validate/validate_mesh_config.ts";

const UNIX = Deno.build.os !== "windows";
/** Every load here reads a handful of small files: far below this. */
const BOUND_MS = 15_000;

const NS = (name: string) =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  annotations:\n    linkerd.io/inject: enabled\n`;

/** A Server without any authorization: one `server-no-authorization` error when validated. */
const SERVER = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: web-http
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: web}
  port: 8080
  accessPolicy: deny
`;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "loader_hostile_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Loads, failing (instead of hanging) when the load does not end within the bound. */
async function load(
  paths: string[],
  opts: Parameters<typeof loadManifests>[1] = {},
): Promise<ManifestSource> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`loading ${paths.join(", ")} took over ${BOUND_MS} ms`)),
      BOUND_MS,
    );
  });
  try {
    return await Promise.race([loadManifests(paths, opts), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function rules(problems: readonly LoadProblem[]): Array<[string, string, number | undefined]> {
  return problems.map((p) => [p.file.slice(p.file.lastIndexOf("/") + 1), p.rule, p.line]);
}

async function namespaces(src: ManifestSource): Promise<string[]> {
  return (await src.list("namespaces")).map((n) => n.metadata.name).sort();
}

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test({
  name: "loader: two symlinks to their own folder end, and each object loads once",
  ignore: !UNIX,
  fn: () =>
    withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ns.yaml`, NS("shop"));
      await Deno.mkdir(`${dir}/sub`);
      await Deno.writeTextFile(`${dir}/sub/other.yaml`, NS("other"));
      await Deno.symlink(".", `${dir}/a`);
      await Deno.symlink(".", `${dir}/b`);
      await Deno.symlink("..", `${dir}/sub/up`);
      const src = await load([dir]);
      assert.deepEqual(await namespaces(src), ["other", "shop"]);
      assert.deepEqual(src.files, [`${dir}/ns.yaml`, `${dir}/sub/other.yaml`]);
      assert.deepEqual(src.problems, []);
    }),
});

Deno.test({
  name: "loader: `ln -s . loop` loads every object once",
  ignore: !UNIX,
  fn: () =>
    withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ns.yaml`, NS("shop"));
      await Deno.symlink(".", `${dir}/loop`);
      // A second name for the same file, inside the folder: read once too.
      await Deno.symlink("ns.yaml", `${dir}/same.yaml`);
      const src = await load([dir, `${dir}/ns.yaml`, `${dir}/loop`]);
      assert.equal(src.all().filter((o) => o.kind === "Namespace").length, 1);
      assert.deepEqual(src.files, [`${dir}/ns.yaml`]);
    }),
});

Deno.test({
  name: "loader: a symlink to /dev/zero is not read, and the other files load",
  ignore: !UNIX,
  fn: () =>
    withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ns.yaml`, NS("shop"));
      await Deno.symlink("/dev/zero", `${dir}/zero.yaml`);
      const src = await load([dir]);
      assert.deepEqual(await namespaces(src), ["shop"]);
      assert.deepEqual(rules(src.problems), [["zero.yaml", "manifest-skipped", undefined]]);
      assert.equal(src.problems[0]!.severity, "warning");
      assert.match(src.problems[0]!.message, /"\/dev\/zero", outside the paths given: not read/);
    }),
});

Deno.test({
  name: "loader: a FIFO is never opened (opening it would block), named or in a folder",
  ignore: !UNIX,
  fn: () =>
    withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ns.yaml`, NS("shop"));
      await mkfifo(`${dir}/fifo.yaml`);
      await Deno.symlink("fifo.yaml", `${dir}/link-to-fifo.yaml`);
      const src = await load([dir]);
      assert.deepEqual(await namespaces(src), ["shop"]);
      assert.deepEqual(rules(src.problems), [
        ["fifo.yaml", "manifest-skipped", undefined],
        ["link-to-fifo.yaml", "manifest-skipped", undefined],
      ]);
      assert.match(src.problems[0]!.message, /named pipe \(FIFO\), not a regular file: not read/);
      // Named directly, it is a path that cannot be read: the command cannot run.
      await assert.rejects(() => load([`${dir}/fifo.yaml`]), (e: unknown) => {
        assert.ok(e instanceof ManifestError);
        assert.match(e.message, /is a named pipe \(FIFO\), not a regular file or folder/);
        return true;
      });
    }),
});

Deno.test("loader: a 200 MB (sparse) file is not read; it is a limit error and the rest loads", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ns.yaml`, NS("shop"));
    const f = await Deno.open(`${dir}/huge.yaml`, { create: true, write: true });
    await f.truncate(200 * 1024 * 1024);
    f.close();
    const before = Deno.memoryUsage().rss;
    const src = await load([dir]);
    const grown = Deno.memoryUsage().rss - before;
    assert.deepEqual(await namespaces(src), ["shop"]);
    assert.deepEqual(rules(src.problems), [["huge.yaml", "manifest-limit", undefined]]);
    assert.equal(src.problems[0]!.severity, "error");
    assert.match(src.problems[0]!.message, /200 MiB, over the limit of 8 MiB per file: not read/);
    assert.ok(grown < 100 * 1024 * 1024, `RSS grew by ${grown} bytes`);
  }));

Deno.test("loader: the total, file-count and documents-per-file limits stop reading, with clear messages", () =>
  withDir(async (dir) => {
    for (const n of ["a", "b", "c", "d"]) await Deno.writeTextFile(`${dir}/${n}.yaml`, NS(n));
    const size = (await Deno.stat(`${dir}/a.yaml`)).size;
    const total = await load([dir], { limits: { totalBytes: size * 2 + 10 } });
    assert.deepEqual(await namespaces(total), ["a", "b"]);
    assert.deepEqual(rules(total.problems), [["c.yaml", "manifest-limit", undefined]]);
    assert.match(
      total.problems[0]!.message,
      /limit of .* for all files: this file and the 1 after it were not read/,
    );

    const count = await load([dir], { limits: { files: 3 } });
    assert.deepEqual(await namespaces(count), ["a", "b", "c"]);
    assert.deepEqual(rules(count.problems), [["d.yaml", "manifest-limit", undefined]]);
    assert.equal(count.problems[0]!.message, "more than 3 manifest files: this file was not read");

    await Deno.writeTextFile(`${dir}/many.yaml`, `${NS("m1")}---\n${NS("m2")}---\n${NS("m3")}`);
    const docs = await load([`${dir}/many.yaml`], { limits: { documentsPerFile: 2 } });
    assert.deepEqual(await namespaces(docs), ["m1", "m2"]);
    assert.deepEqual(rules(docs.problems), [["many.yaml", "manifest-limit", 14]]);

    await Deno.mkdir(`${dir}/x/y/z`, { recursive: true });
    await Deno.writeTextFile(`${dir}/x/y/z/deep.yaml`, NS("deep"));
    const depth = await load([`${dir}/x`], { limits: { directoryDepth: 1 } });
    assert.deepEqual(await namespaces(depth), []);
    assert.deepEqual(rules(depth.problems), [["z", "manifest-limit", undefined]]);
    assert.match(depth.problems[0]!.message, /nested deeper than 1 levels/);

    // x/ (3 entries down to z/) is walked first; the entries of the top folder pass the limit.
    const entries = await load([`${dir}/x`, dir], { limits: { directoryEntries: 4 } });
    assert.deepEqual(await namespaces(entries), ["deep"]);
    assert.deepEqual(rules(entries.problems), [[
      dir.slice(dir.lastIndexOf("/") + 1),
      "manifest-limit",
      undefined,
    ]]);
    assert.match(
      entries.problems[0]!.message,
      /more than 4 entries in the folders given: the walk stopped/,
    );
  }));

Deno.test({
  name: "loader: symlinks out of the given paths (/etc/passwd, /etc) are skipped with a warning",
  ignore: !UNIX,
  fn: () =>
    withDir(async (dir) => {
      await Deno.mkdir(`${dir}/repo`);
      await Deno.writeTextFile(`${dir}/repo/ns.yaml`, NS("shop"));
      await Deno.symlink("/etc/passwd", `${dir}/repo/passwd.yaml`);
      await Deno.symlink("/etc", `${dir}/repo/etc`);
      await Deno.writeTextFile(`${dir}/outside.yaml`, NS("outside"));
      await Deno.symlink("../outside.yaml", `${dir}/repo/outside.yaml`);
      const src = await load([`${dir}/repo`]);
      assert.deepEqual(await namespaces(src), ["shop"]);
      assert.deepEqual(rules(src.problems), [
        ["etc", "manifest-skipped", undefined],
        ["outside.yaml", "manifest-skipped", undefined],
        ["passwd.yaml", "manifest-skipped", undefined],
      ]);
      assert.ok(src.problems.every((p) => /outside the paths given: not read/.test(p.message)));
      assert.ok(!JSON.stringify(src.all()).includes("root:"), "nothing of /etc/passwd is held");
      // Naming the outside folder as well makes the symlink's target part of the given paths.
      const both = await load([`${dir}/repo`, `${dir}/outside.yaml`]);
      assert.deepEqual(await namespaces(both), ["outside", "shop"]);
    }),
});

Deno.test("loader: an unparsable file among good ones is a finding with file:line; the others are validated", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a-server.yaml`, NS("shop") + "---\n" + SERVER);
    await Deno.writeTextFile(
      `${dir}/b-broken.yaml`,
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n namespace: shop\n",
    );
    await Deno.writeTextFile(`${dir}/c-tabs.json`, '{\n\t"apiVersion": "v1",\n\t"kind": }');
    const src = await load([dir]);
    assert.deepEqual(rules(src.problems), [
      ["b-broken.yaml", "manifest-parse-error", 5],
      ["c-tabs.json", "manifest-parse-error", 3],
    ]);
    assert.match(src.problems[0]!.message, /All mapping items must start at the same column/);
    assert.equal(src.problems[1]!.message, "Cannot parse JSON: Unexpected token '}'");

    const report = await validateMeshConfig({ cluster: src, config: loadConfig({}) }, {});
    const issues = report.results.flatMap((r) => r.issues);
    const parse = issues.filter((i) => i.rule === "manifest-parse-error");
    assert.deepEqual(parse.map((i) => [i.file, i.line, i.severity]), [
      [`${dir}/b-broken.yaml`, 5, "error"],
      [`${dir}/c-tabs.json`, 3, "error"],
    ]);
    assert.ok(
      issues.some((i) => i.rule === "server-no-authorization" && i.file === `${dir}/a-server.yaml`),
      "the good file is still validated",
    );
    assert.equal(report.summary.errors, issues.filter((i) => i.severity === "error").length);
    assert.ok(report.notes.some((n) => /2 manifest files could not be fully read/.test(n)));
    assert.match(report.source, /2 load errors/);
    assert.deepEqual(src.sourceInfo(), {
      kind: "manifests",
      description: src.describe(),
      paths: [dir],
    });
    // include_warnings: false keeps load errors and drops load warnings.
    await Deno.symlink("/etc/passwd", `${dir}/passwd.yaml`);
    const src2 = await load([dir]);
    const errorsOnly = await validateMeshConfig(
      { cluster: src2, config: loadConfig({}) },
      { include_warnings: false },
    );
    const kept = errorsOnly.results.flatMap((r) => r.issues).map((i) => i.rule);
    assert.ok(kept.includes("manifest-parse-error"));
    assert.ok(!kept.includes("manifest-skipped"));
  }));

Deno.test("loader: alias and merge errors carry file:line, and a billion-laughs document is not expanded", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/alias.yaml`,
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\ndata:\n  x: *nope\n" +
        "---\nbase: &b hello\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  <<: *b\n  name: m\n" +
        "---\n" + NS("fine"),
    );
    const bomb = ["a: &a [x,x,x,x,x,x,x,x,x,x]"];
    for (const [n, p] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"]]) {
      bomb.push(`${n}: &${n} [${Array(10).fill(`*${p}`).join(",")}]`);
    }
    await Deno.writeTextFile(`${dir}/bomb.yaml`, "apiVersion: v1\n" + bomb.join("\n") + "\n");
    const src = await load([dir]);
    assert.deepEqual(await namespaces(src), ["fine"]);
    assert.deepEqual(rules(src.problems), [
      ["alias.yaml", "manifest-parse-error", 7],
      ["alias.yaml", "manifest-parse-error", 13],
      ["bomb.yaml", "manifest-parse-error", 3],
    ]);
    assert.match(src.problems[0]!.message, /alias "\*nope" names no anchor/);
    assert.match(src.problems[1]!.message, /merge key "<<" must be given a map/);
    assert.match(src.problems[2]!.message, /more than 1000 nodes/);
  }));

Deno.test("loader: a stream of concatenated JSON objects loads, as kubectl reads it", () =>
  withDir(async (dir) => {
    const ns = (n: string) =>
      JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: n } });
    await Deno.writeTextFile(`${dir}/glued.json`, ns("a") + ns("b"));
    await Deno.writeTextFile(`${dir}/lines.json`, `${ns("c")}\n${ns("d")}\n`);
    await Deno.writeTextFile(`${dir}/stream.yaml`, `${ns("e")}\n\n  ${ns("f")}`);
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: [JSON.parse(ns("g")), JSON.parse(ns("h"))],
    };
    await Deno.writeTextFile(`${dir}/list.json`, JSON.stringify(list, null, 2));
    const src = await load([dir]);
    assert.deepEqual(src.problems, []);
    assert.deepEqual(await namespaces(src), ["a", "b", "c", "d", "e", "f", "g", "h"]);
    const lines = src.all().map((o) => [o.metadata.name, positionOf(o)?.line]);
    assert.deepEqual(Object.fromEntries(lines), {
      a: 1,
      b: 1,
      c: 1,
      d: 2,
      e: 1,
      f: 3,
      g: 5,
      h: 12,
    });
    // A broken object after good ones: the good ones load, the broken one has its line.
    await Deno.writeTextFile(
      `${dir}/lines.json`,
      `${ns("c")}\n{"apiVersion": "v1",\n "kind" "X"}\n`,
    );
    const broken = await load([`${dir}/lines.json`]);
    assert.deepEqual(await namespaces(broken), ["c"]);
    assert.deepEqual(rules(broken.problems), [["lines.json", "manifest-parse-error", 3]]);
  }));

Deno.test("loader: a missing path cannot be loaded (ManifestError, plain words)", async () => {
  await assert.rejects(() => load(["/nonexistent/manifests"]), (e: unknown) => {
    assert.ok(e instanceof ManifestError);
    assert.equal(e.message, 'Cannot read manifests at "/nonexistent/manifests": it does not exist');
    return true;
  });
});

Deno.test("loader: nesting too deep for the stack is a parse error, not a crash", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/deep.yaml`,
      "a: " + "[".repeat(5000) + "]".repeat(5000) + "\n",
    );
    await Deno.writeTextFile(
      `${dir}/deep.json`,
      '{"a":' + "[".repeat(100_000) + "]".repeat(99_999) + "}}",
    );
    await Deno.writeTextFile(`${dir}/ns.yaml`, NS("shop"));
    const src = await load([dir]);
    assert.deepEqual(await namespaces(src), ["shop"]);
    assert.deepEqual(rules(src.problems), [
      ["deep.json", "manifest-parse-error", 1],
      ["deep.yaml", "manifest-parse-error", 1],
    ]);
  }));
