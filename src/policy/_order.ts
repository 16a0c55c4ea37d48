/**
 * Small ordering and collection helpers shared by the index builders.
 *
 * @module
 */
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
