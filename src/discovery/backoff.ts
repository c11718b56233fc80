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
 * The delay before retrying after `failures` consecutive failures (1 = the first failure).
 *
 * The ceiling doubles per failure from `initial` up to `max`, and the delay is drawn uniformly between `initial`
 * and that ceiling ("full jitter" above a floor). The jitter keeps a crowd of nodes that failed together (a point
 * restarting, a network blip) from retrying together; the floor keeps a retry from firing at once.
 */
export function backoffDelay (failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const initial = Math.max(0, options.initial)
  const max = Math.max(initial, options.max)

  if (failures <= 0) {
    return 0
  }

  // 2 ** 52 is exact; beyond it the ceiling is max anyway
  const ceiling = Math.min(max, initial * 2 ** Math.min(failures - 1, 52))

  return initial + random() * (ceiling - initial)
}

/** Spreads a delay by ±`fraction` so that periodic work of many nodes does not line up */
export function jitter (delay: number, fraction: number = 0.1, random: () => number = Math.random): number {
  return Math.max(0, delay * (1 + fraction * (2 * random() - 1)))
}
