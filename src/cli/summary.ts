/**
 * The start-up line that tells a person what is being served.
 *
 * @module
 */
import { isMeshed, type Pod } from "../mesh/pods.ts";
import { itemsOf, loadState } from "../kube/state.ts";
import type { ToolDeps } from "../tools/_spec.ts";

/** Counts namespaces and meshed workloads: `3 namespaces, 12 meshed workloads (24 of 30 pods meshed)`. */
export async function summarizeSource(deps: Pick<ToolDeps, "cluster" | "config">): Promise<string> {
  const state = await loadState(deps.cluster, ["namespaces", "pods"], {
    linkerdNamespace: deps.config.linkerdNamespace,
  });
  const pods = itemsOf(state, "pods") as unknown as readonly Pod[];
  const meshed = pods.filter((p) => isMeshed(p));
  const workloads = new Set(
    meshed.map((p) => {
      // The injector labels meshed pods with their workload: linkerd.io/proxy-deployment=web.
      const entry = Object.entries(p.metadata.labels ?? {}).find(([k]) =>
        /^linkerd\.io\/proxy-[a-z]+$/.test(k)
      );
      return `${p.metadata.namespace}/${entry ? `${entry[0]}=${entry[1]}` : p.metadata.name}`;
    }),
  );
  return `${deps.cluster.describe()}: ${
    itemsOf(state, "namespaces").length
  } namespaces, ${workloads.size} meshed workloads (${meshed.length} of ${pods.length} pods meshed)`;
}
