/**
 * Exponential backoff with jitter, shared by the points (per rendezvous point) and the peers (per dialed peer).
 */

export interface BackoffOptions {
  /** Delay after the first failure, in ms */
  initial: number
  /** Longest delay, in ms */
  max: number
}

/**
 * How a delay is drawn below its ceiling: `'full'` anywhere between `initial` and the ceiling; `'equal'` in its upper
 * half (never below `initial`), so that the delay grows with the failures as the ceiling does
 */
export type BackoffJitter = 'full' | 'equal'

/**
 * The delay before retrying after `failures` consecutive failures (1 = the first failure).
 *
 * The ceiling doubles per failure from `initial` up to `max`, and the delay is drawn uniformly between `initial`
 * and that ceiling ("full jitter" above a floor), or between half the ceiling and the ceiling (`'equal'`). The
 * jitter keeps a crowd of nodes that failed together (a point restarting, a network blip) from retrying together;
 * the floor keeps a retry from firing at once. Full jitter draws delays near `initial` at any failure count (one
 * in five retries at the cap of the point backoff came within 2 s); equal jitter backs off for real while still
 * spreading a crowd over half the ceiling.
 */
export function backoffDelay (failures: number, options: BackoffOptions, random: () => number = Math.random, spread: BackoffJitter = 'full'): number {
  const initial = Math.max(0, options.initial)
  const max = Math.max(initial, options.max)

  if (failures <= 0) {
    return 0
  }

  // 2 ** 52 is exact; beyond it the ceiling is max anyway
  const ceiling = Math.min(max, initial * 2 ** Math.min(failures - 1, 52))
  const floor = spread === 'equal' ? Math.max(initial, ceiling / 2) : initial

  return floor + random() * (ceiling - floor)
}

/** Spreads a delay by ±`fraction` so that periodic work of many nodes does not line up */
export function jitter (delay: number, fraction: number = 0.1, random: () => number = Math.random): number {
  return Math.max(0, delay * (1 + fraction * (2 * random() - 1)))
}
