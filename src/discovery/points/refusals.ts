/**
 * How long a namespace a point refused waits before it is asked again. Points cap the registrations of one peer
 * (rust-libp2p at 32, refusing the rest with E_UNAVAILABLE; ours with E_NOT_AUTHORIZED), and a cap refuses every
 * namespace past it alike, so a refused namespace waits as if refused as many times as the point has refused in a
 * row (counted here per point, until the point accepts a namespace it did not hold).
 */
import { backoffDelay } from '../backoff.ts'
import type { Point } from './point.ts'

/**
 * Delays between REGISTERs of a namespace a point refused, in ms, growing with the refusals in a row: a cap lasts
 * until one of the node's registrations there ends, which a refresh never lets happen. Its own schedule, not the
 * points' backoff: a point that does not answer is a different matter, whose retries must stay quick
 */
export const REFUSAL_BACKOFF = { initial: 1000, max: 300_000 }

/**
 * The delay after `refusals` refusals in a row: between half the ceiling and the ceiling, which doubles per
 * refusal from `REFUSAL_BACKOFF.initial` up to its max (backoff.ts's equal jitter). Not the full jitter (which
 * spreads a crowd that failed together down to the floor): a refusal says nothing new about the point's load, and
 * delays drawn near the floor would have a node with many refused namespaces ask several times a minute however
 * often it was refused
 */
export function refusalDelay (refusals: number, random: () => number): number {
  return backoffDelay(Math.max(1, refusals), REFUSAL_BACKOFF, random, 'equal')
}

/** Point -> REGISTERs it refused in a row (since it last accepted a namespace it did not hold) */
export class PointRefusals {
  private readonly counts = new Map<string, number>()

  /** One more refusal at `point`; returns how many in a row */
  refused (point: Point): number {
    const refusals = (this.counts.get(point.id) ?? 0) + 1
    this.counts.set(point.id, refusals)
    return refusals
  }

  /** Whether `point` refused since it last accepted a new namespace */
  refusing (point: Point): boolean {
    return this.counts.has(point.id)
  }

  /** `point` accepted a namespace it did not hold: it has room again; true when it was refusing */
  accepted (point: Point): boolean {
    return this.counts.delete(point.id)
  }

  clear (): void {
    this.counts.clear()
  }
}
