/**
 * Exponential backoff with jitter, shared by the scheduler (per rendezvous point) and the dialer (per peer).
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

interface BackoffEntry {
  failures: number
  until: number
}

/**
 * Failure counts and retry times per key (a peer id string). A success forgets the key. Entries whose backoff
 * ended more than `max` ago are dropped on access so that the map does not grow with every peer ever tried.
 */
export class Backoff {
  private readonly entries = new Map<string, BackoffEntry>()
  private readonly options: BackoffOptions
  private readonly random: () => number

  constructor (options: BackoffOptions, random: () => number = Math.random) {
    this.options = options
    this.random = random
  }

  /** Records a failure and returns the time (ms since epoch) before which the key should not be retried */
  fail (key: string, now: number = Date.now()): number {
    const entry = this.entries.get(key)
    const failures = (entry != null && now - entry.until < this.options.max) ? entry.failures + 1 : 1
    const until = now + backoffDelay(failures, this.options, this.random)
    this.entries.set(key, { failures, until })
    this.prune(now)
    return until
  }

  succeed (key: string): void {
    this.entries.delete(key)
  }

  /** True while the key's backoff runs */
  isBackedOff (key: string, now: number = Date.now()): boolean {
    const entry = this.entries.get(key)
    return entry != null && entry.until > now
  }

  /** When the key may be retried, or 0 when it may be now */
  retryAt (key: string, now: number = Date.now()): number {
    const until = this.entries.get(key)?.until ?? 0
    return until > now ? until : 0
  }

  failures (key: string): number {
    return this.entries.get(key)?.failures ?? 0
  }

  get size (): number {
    return this.entries.size
  }

  clear (): void {
    this.entries.clear()
  }

  private prune (now: number): void {
    if (this.entries.size < 1024) {
      return
    }

    for (const [key, entry] of this.entries) {
      if (now - entry.until > this.options.max) {
        this.entries.delete(key)
      }
    }
  }
}
