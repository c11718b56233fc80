/**
 * Which namespaces' dials wait for their list of registrants to be complete. While a point is still paging
 * through a long list (`paging`, waited for up to `PAGING_HOLD` after each page), or a young namespace is still
 * filling (`filling`, up to `SETTLE_HOLD` in all), dials for it wait, so that the choice is made among all the
 * registrants, not among those that came first, which every node would get alike. When the last hold of a
 * namespace comes off, the moment is kept: the ring selection counts its inbound grace from it.
 */
import { retainNamespaces } from '../namespace-maps.ts'

/** Longest wait for the last page of a discovery before dialing from what came, in ms */
export const PAGING_HOLD = 5000

/**
 * Longest wait, in all, for the registrants of a young namespace to stop arriving before dialing from what came,
 * in ms: 50 nodes started together in one process on a loaded machine register over about 3 s
 */
export const SETTLE_HOLD = 5000

export type HoldReason = 'paging' | 'filling'

export class DialHolds {
  /** ns -> point -> until when dialing waits for the rest of its answer (ms since epoch) */
  private readonly holds = new Map<string, Map<string, number>>()
  /** ns -> when a wait for its list to be complete last ended (ms since epoch) */
  private readonly settled = new Map<string, number>()

  /** Dials for `ns` wait for the rest of what `point` lists (see the file's comment) */
  hold (ns: string, point: string, reason: HoldReason, now: number): void {
    let points = this.holds.get(ns)

    if (points == null) {
      points = new Map()
      this.holds.set(ns, points)
    }

    const held = points.get(point)

    if (reason === 'paging') {
      points.set(point, now + PAGING_HOLD)
    } else if (held == null || held <= now) {
      points.set(point, now + SETTLE_HOLD)
    }
  }

  /** The list `point` gives for `ns` is complete as far as it knows; true when a hold came off */
  release (ns: string, point: string, now: number): boolean {
    if (this.holds.get(ns)?.delete(point) === true) {
      this.settled.set(ns, now)
      return true
    }

    return false
  }

  /** Until when dials for `ns` wait (0 or a past time: they may go); holds that ran out are forgotten */
  heldUntil (ns: string, now: number): number {
    let until = 0

    for (const [point, deadline] of this.holds.get(ns) ?? []) {
      if (deadline <= now) {
        this.holds.get(ns)?.delete(point)
      } else {
        until = Math.max(until, deadline)
      }
    }

    return until
  }

  /** When a wait for the list of `ns` to be complete last ended (0: never) */
  settledAt (ns: string): number {
    return this.settled.get(ns) ?? 0
  }

  /** Forgets every namespace not in `keep` */
  retain (keep: Set<string>): void {
    retainNamespaces(keep, this.holds, this.settled)
  }

  clear (): void {
    this.holds.clear()
    this.settled.clear()
  }
}
