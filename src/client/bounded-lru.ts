/**
 * The client's bounded memories (cookies, what it learned of each point) on quick-lru. quick-lru keeps two
 * generations of up to `maxSize` entries each and drops the older one whole when the newer fills, so it may hold
 * almost twice `maxSize`: sized at half the bound, it never holds more than the option promises, and an entry used
 * since the last drop always survives the next one.
 */
import QuickLRU from 'quick-lru'

/** A quick-lru holding at most `max` entries; each forgotten `maxAge` ms after it was set, when given */
export function boundedLru <K, V> (max: number, maxAge?: number): QuickLRU<K, V> {
  return new QuickLRU<K, V>({ maxSize: Math.max(1, Math.ceil(max / 2)), ...(maxAge == null ? {} : { maxAge }) })
}
