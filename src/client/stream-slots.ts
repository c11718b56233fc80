/**
 * How many streams each rendezvous point may have open, and who waits for one: the budget behind
 * {@link PointStreams}. A point gets at most `maxStreamsPerPoint` streams (kept, in use or being opened), so that a
 * burst never opens more than a point accepts (js-libp2p handlers take 32 per connection by default and reset the
 * rest); a request finding none free waits, first come first served, within its own deadline.
 *
 * But a request unanswered for `hungAfter` ms (a store stuck on one namespace, say) stops holding its place, up to
 * `MAX_STREAMS_WITH_HUNG` times `maxStreamsPerPoint` streams in all, and a request waiting is woken when one turns
 * hung: requests for other namespaces do not wait behind it for its whole timeout.
 */
import { raceSignal } from 'race-signal'

/**
 * ms after which the client takes a request without an answer for hung: a point of ours answers in a few ms, and the
 * slowest honest answers measured (PostgreSQL under a hostile load) took 136-424 ms
 */
export const HUNG_AFTER_MS = 1000

/** Streams open to a point at most, hung ones included, in multiples of `maxStreamsPerPoint` (4 x 2 = 8 of the 32 a js-libp2p point takes) */
const MAX_STREAMS_WITH_HUNG = 2

/** A request in flight: since when (performance.now()) */
export interface Busy {
  since: number
}

export interface StreamSlotsInit {
  maxStreamsPerPoint: number
  /** ms after which a request without an answer no longer holds its place; default: never */
  hungAfter?: number
}

export class StreamSlots {
  private readonly init: StreamSlotsInit
  /** Streams open (idle, in use, or being opened) by point id */
  private readonly open = new Map<string, number>()
  /** Requests in flight, by point id */
  private readonly busy = new Map<string, Set<Busy>>()
  /** Requests waiting for a stream, by point id, first come first */
  private readonly waiting = new Map<string, Array<() => void>>()
  /** By point id, while requests wait: when the next request in flight to it counts as hung */
  private readonly hungTimers = new Map<string, ReturnType<typeof setTimeout>>()

  constructor (init: StreamSlotsInit) {
    this.init = init
  }

  /** Streams open to point `id` */
  count (id: string): number {
    return this.open.get(id) ?? 0
  }

  /** A stream to point `id` is being opened; `holder.counted` says whether it still counts */
  take (id: string): { counted: boolean } {
    this.open.set(id, this.count(id) + 1)
    return { counted: true }
  }

  /** The stream `holder` stands for is closed or given up: its place goes to the first request waiting */
  give (id: string, holder: { counted: boolean }): void {
    if (!holder.counted) {
      return
    }

    holder.counted = false
    const count = this.count(id) - 1

    if (count <= 0) {
      this.open.delete(id)
    } else {
      this.open.set(id, count)
    }

    this.wake(id)
  }

  /** Whether a new stream may be opened to point `id` */
  hasRoom (id: string): boolean {
    const open = this.count(id)
    return open - this.hungCount(id) < this.init.maxStreamsPerPoint && open < this.init.maxStreamsPerPoint * MAX_STREAMS_WITH_HUNG
  }

  /** A request to point `id` is in flight from now */
  started (id: string): Busy {
    const busy = { since: performance.now() }
    const all = this.busy.get(id) ?? new Set()
    all.add(busy)
    this.busy.set(id, all)
    this.watchForHung(id)
    return busy
  }

  /** The request `busy` stood for is over, answered or not */
  ended (id: string, busy: Busy | undefined): void {
    const all = this.busy.get(id)

    if (all != null && busy != null) {
      all.delete(busy)

      if (all.size === 0) {
        this.busy.delete(id)
      }
    }
  }

  /**
   * Waits until a stream of point `id` may be free (`wake`), or a request in flight to it has hung long enough to
   * make room, or `signal` aborts. `first`: at the head of the queue (a request woken before that found nothing)
   */
  async wait (id: string, signal: AbortSignal, first: boolean): Promise<void> {
    signal.throwIfAborted()

    const { promise, resolve } = Promise.withResolvers<void>()
    const queue = this.waiting.get(id) ?? []

    if (first) {
      queue.unshift(resolve)
    } else {
      queue.push(resolve)
    }
    this.waiting.set(id, queue)
    this.watchForHung(id)

    try {
      await raceSignal(promise, signal)
    } finally {
      const index = queue.indexOf(resolve)

      if (index >= 0) {
        queue.splice(index, 1)
      }

      if (queue.length === 0 && this.waiting.get(id) === queue) {
        this.waiting.delete(id)
        clearTimeout(this.hungTimers.get(id))
        this.hungTimers.delete(id)
      }
    }
  }

  /** A stream of point `id` became free or closed: the first request waiting for one tries again */
  wake (id: string): void {
    const queue = this.waiting.get(id)
    const next = queue?.shift()

    if (queue?.length === 0) {
      this.waiting.delete(id)
    }

    next?.()
  }

  private hungCount (id: string): number {
    const since = performance.now() - (this.init.hungAfter ?? Infinity)
    let hung = 0

    for (const busy of this.busy.get(id) ?? []) {
      if (busy.since <= since) {
        hung++
      }
    }

    return hung
  }

  /** ms until the next request in flight to point `id` counts as hung, if that would make room */
  private untilNextHung (id: string): number | undefined {
    const hungAfter = this.init.hungAfter

    if (hungAfter == null || this.count(id) >= this.init.maxStreamsPerPoint * MAX_STREAMS_WITH_HUNG) {
      return undefined
    }

    const now = performance.now()
    let next: number | undefined

    for (const busy of this.busy.get(id) ?? []) {
      const wait = busy.since + hungAfter - now

      if (wait > 0 && (next == null || wait < next)) {
        next = wait
      }
    }

    return next
  }

  /** While requests wait for a stream of point `id`, wakes the first one when a request in flight makes room by hanging */
  private watchForHung (id: string): void {
    if (this.hungTimers.has(id) || !this.waiting.has(id)) {
      return
    }

    const wait = this.untilNextHung(id)

    if (wait == null) {
      return
    }

    this.hungTimers.set(id, setTimeout(() => {
      this.hungTimers.delete(id)
      this.wake(id)
      this.watchForHung(id)
    }, wait))
  }
}
