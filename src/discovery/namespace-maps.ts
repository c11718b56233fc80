/**
 * What the units that keep something per namespace share: forgetting the namespaces no longer wanted.
 */

/** Deletes from every map the namespaces not in `keep` */
export function retainNamespaces (keep: Set<string>, ...maps: Array<Map<string, unknown>>): void {
  for (const map of maps) {
    for (const ns of [...map.keys()]) {
      if (!keep.has(ns)) {
        map.delete(ns)
      }
    }
  }
}
