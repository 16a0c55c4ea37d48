/**
 * Loads a synthetic GitOps folder (500 files, 2,000 objects, about 1 MiB of YAML) with
 * hostile entries beside it: two self-symlinks, a symlink loop, a /dev/zero symlink, a
 * FIFO, a sparse 200 MB file, a symlink to /etc/passwd and an unparsable file.
 *
 * `deno bench -A bench/loader_bench.ts` benches it; `deno run -A bench/loader_bench.ts`
 * prints one timed run with memory use.
 *
 * @module
 */
import { loadManifests } from "../src/kube/manifests.ts";

function manifest(ns: string, i: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  namespace: ${ns}
spec:
  replicas: 1
  selector:
    matchLabels: {app: app-${i}}
  template:
    metadata:
      labels: {app: app-${i}}
    spec:
      containers:
      - name: app
        image: example.com/app:1.0
        ports:
        - {containerPort: 8080, name: http}
---
apiVersion: v1
kind: Service
metadata:
  name: app-${i}
  namespace: ${ns}
spec:
  selector: {app: app-${i}}
  ports:
  - {port: 80, targetPort: http}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: app-${i}-http
  namespace: ${ns}
spec:
  podSelector:
    matchLabels: {app: app-${i}}
  port: http
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: app-${i}-http
  namespace: ${ns}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: app-${i}-http}
  requiredAuthenticationRefs:
  - {kind: ServiceAccount, name: default}
`;
}

/** Writes the folder and returns its path. */
export async function hostileFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "loader_bench_" });
  for (let n = 0; n < 10; n++) {
    const ns = `ns-${n}`;
    await Deno.mkdir(`${dir}/${ns}`);
    for (let i = 0; i < 50; i++) {
      await Deno.writeTextFile(`${dir}/${ns}/app-${i}.yaml`, manifest(ns, i));
    }
  }
  await Deno.writeTextFile(
    `${dir}/broken.yaml`,
    "kind: ConfigMap\nmetadata:\n  name: x\n bad: 1\n",
  );
  if (Deno.build.os !== "windows") {
    await Deno.symlink(".", `${dir}/a`);
    await Deno.symlink(".", `${dir}/b`);
    await Deno.symlink("..", `${dir}/ns-0/loop`);
    await Deno.symlink("/dev/zero", `${dir}/zero.yaml`);
    await Deno.symlink("/etc/passwd", `${dir}/passwd.yaml`);
    await new Deno.Command("mkfifo", { args: [`${dir}/fifo.yaml`] }).output();
  }
  const f = await Deno.open(`${dir}/huge.yaml`, { create: true, write: true });
  await f.truncate(200 * 1024 * 1024);
  f.close();
  return dir;
}

if (import.meta.main) {
  const dir = await hostileFolder();
  try {
    const t = performance.now();
    const src = await loadManifests([dir]);
    const ms = performance.now() - t;
    const rss = Deno.memoryUsage().rss / (1024 * 1024);
    // deno-lint-ignore no-console
    console.log(
      `${src.describe()}: ${ms.toFixed(0)} ms, RSS ${
        rss.toFixed(0)
      } MiB, ${src.problems.length} problems`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
} else {
  const dir = await hostileFolder();
  Deno.bench("loadManifests: 500 files with hostile entries", { n: 5 }, async () => {
    await loadManifests([dir]);
  });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
}
