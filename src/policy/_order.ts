/**
 * Small ordering and collection helpers shared by the index builders.
 *
 * @module
 */
import type { KubeObject } from "../kube/types.ts";

/** Appends to a list in a map of lists. */
export function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Orders `ns/name` keys by namespace, then name. */
export function compareKeys(a: string, b: string): number {
  const [na = "", ma = ""] = a.split("/");
  const [nb = "", mb = ""] = b.split("/");
  return na !== nb ? (na < nb ? -1 : 1) : ma < mb ? -1 : ma > mb ? 1 : 0;
}

/** Orders objects by creation time (timestamped first), then by name. */
export function byCreation(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  // objects with a timestamp come first (as the controller orders routes)
  if (ta !== tb) return ta === "" ? 1 : tb === "" ? -1 : ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}
