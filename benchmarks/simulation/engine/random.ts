/**
 * Seeded randomness: one generator drives a whole run (the discovery units' jitter, the network's delays, churn,
 * topic choices), so that a run repeats exactly from its seed. The distributions the scenarios use are here.
 */

/** sfc32 (small fast counter): 128 bits of state, good statistical quality, a number in [0, 1) per call */
export function seededRandom (seed: number): () => number {
  let a = 0x9E3779B9
  let b = 0x243F6A88
  let c = 0xB7E15162
  let d = seed >>> 0

  const next = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }

  // the first outputs of a fresh state are poorly mixed
  for (let i = 0; i < 16; i++) {
    next()
  }

  return next
}

export class Random {
  readonly next: () => number

  constructor (seed: number) {
    this.next = seededRandom(seed)
  }

  uniform (min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  /** A whole number in [0, n) */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  chance (p: number): boolean {
    return this.next() < p
  }

  /** Exponential with the given mean */
  exponential (mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  /** Standard normal (Box-Muller) */
  normal (): number {
    const u = 1 - this.next()
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Log-normal with the given median and shape `sigma` (the standard deviation of its logarithm) */
  logNormal (median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal())
  }

  pick<T> (items: readonly T[]): T {
    return items[this.int(items.length)]
  }
}

/**
 * Zipf's law over `n` ranks: rank k (0-based) is drawn with a probability proportional to 1 / (k + 1)^s. A table of
 * the cumulative weights, searched by bisection.
 */
export class Zipf {
  private readonly cumulative: Float64Array

  constructor (n: number, s: number) {
    this.cumulative = new Float64Array(n)
    let total = 0

    for (let k = 0; k < n; k++) {
      total += 1 / (k + 1) ** s
      this.cumulative[k] = total
    }

    for (let k = 0; k < n; k++) {
      this.cumulative[k] /= total
    }
  }

  /** The share of draws that land on rank `k` */
  share (k: number): number {
    return this.cumulative[k] - (k === 0 ? 0 : this.cumulative[k - 1])
  }

  sample (random: () => number): number {
    const u = random()
    let lo = 0
    let hi = this.cumulative.length - 1

    while (lo < hi) {
      const mid = (lo + hi) >> 1

      if (this.cumulative[mid] < u) {
        lo = mid + 1
      } else {
        hi = mid
      }
    }

    return lo
  }
}
