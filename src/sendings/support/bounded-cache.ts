/**
 * A map that keeps at most `limit` entries, forgetting the least recently used first. For what is
 * derived from content and costly to derive again (compiled templates, rendered previews): keys name
 * the content they were derived from (a content hash), so an entry is never stale, only unused.
 */
export interface BoundedCache<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): void;
  readonly size: number;
}

export function createBoundedCache<K, V>(limit: number): BoundedCache<K, V> {
  if (!(limit >= 1)) throw new Error("a bounded cache keeps at least one entry");
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const entries = new Map<K, V>();
  return {
    get(key) {
      const value = entries.get(key);
      if (value === undefined) return undefined;
      entries.delete(key);
      entries.set(key, value);
      return value;
    },
    set(key, value) {
      entries.delete(key);
      entries.set(key, value);
      if (entries.size > limit) entries.delete(entries.keys().next().value as K);
    },
    delete(key) {
      entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}

/**
 * Derives each value once however many ask at the same moment: two hundred people clicking Preview
 * together share one rendering. A derivation that fails is forgotten, so the next one tries again.
 */
export function sharedDerivation<V>(cache: BoundedCache<string, Promise<V>>, key: string, derive: () => Promise<V>): Promise<V> {
  const known = cache.get(key);
  if (known) return known;
  const derived = derive();
  cache.set(key, derived);
  derived.catch(() => {
    if (cache.get(key) === derived) cache.delete(key);
  });
  return derived;
}
