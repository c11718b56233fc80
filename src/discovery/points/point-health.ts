/**
 * The rendezvous points' health: which answer, which back off after failures (exponential with
 * jitter, per point), and when one comes back after failing or being disconnected. Work at a point in backoff
 * waits for that point and never holds up work at the others, and so do the module's dials of the point and of
 * peers reached through it (it is also a relay): the point's backoff is the one schedule on which a dead point is
 * tried. Its cap (`pointBackoff.max`, 10 s by default) bounds how long a point that comes back waits to be used.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { describeError } from '../../client/request-errors.ts'
import { InvalidNamespaceError, NoAddressesError, RendezvousError } from '../../errors.ts'
import { backoffDelay } from '../backoff.ts'
import type { Runtime } from '../clock.ts'
import type { ResolvedOptions } from '../config.ts'
import type { Point } from './point.ts'
import type { Logger, PeerId } from '@libp2p/interface'

/** What the module knows of one rendezvous point: the point, and its health */
export interface RendezvousPointState extends Point {
  /** Failures since the last success */
  failures: number
  /** No request goes to the point before this time (ms since epoch; 0 = now) */
  backoffUntil: number
  /** The last request failed, or the connection to it closed, and nothing has succeeded since */
  down: boolean
  lastError?: string
  /** Last success since the start (ms since epoch) */
  lastSuccessAt?: number
}

/** The failure count and last error of one piece of work at a point (a registration, a query) */
export interface WorkState {
  failures: number
  lastError?: string
  /** It waits for the point (which failed, or is backing off), not for a schedule of its own */
  waitsForPoint?: boolean
}

export interface PointHealthEvents {
  /** A point answered, or connected, after having failed or been disconnected */
  up: CustomEvent<RendezvousPointState>
  /** A request to a point failed without an answer (counted once per backoff period), `lastError` says why */
  failed: CustomEvent<RendezvousPointState>
}

/**
 * Errors that concern the request, not the point's health: any status answer (the point is up and answered,
 * even E_UNAVAILABLE, which rust-libp2p gives a peer past its cap of registrations while it serves the peer's
 * other namespaces), or a request that was never sent. They back off the work alone, never the whole point.
 */
export function isRequestError (err: unknown): boolean {
  return err instanceof RendezvousError ||
    err instanceof NoAddressesError ||
    err instanceof InvalidNamespaceError
}

/**
 * The health of every point the module uses (the configured ones, and the learned ones while they are known), keyed
 * by point id: the `Point` values stay as they were made, and every unit asks here about the same point's health.
 */
export class PointHealth extends TypedEventEmitter<PointHealthEvents> {
  private readonly records = new Map<string, RendezvousPointState>()
  private readonly options: Pick<ResolvedOptions, 'pointBackoff'>
  private readonly runtime: Runtime
  private readonly log: Logger

  constructor (points: Point[], options: Pick<ResolvedOptions, 'pointBackoff'>, runtime: Runtime, log: Logger) {
    super()
    this.options = options
    this.runtime = runtime
    this.log = log
    points.forEach(point => this.state(point))
  }

  /** Every point followed, with its health */
  get list (): RendezvousPointState[] {
    return [...this.records.values()]
  }

  /** The health of `point`, followed from now on if it was not */
  state (point: Point): RendezvousPointState {
    let record = this.records.get(point.id)

    if (record == null) {
      record = { id: point.id, peerId: point.peerId, multiaddr: point.multiaddr, failures: 0, backoffUntil: 0, down: false }
      this.records.set(point.id, record)
    }

    return record
  }

  /** Stops following `point` (a learned point dropped) */
  forget (point: Point): void {
    this.records.delete(point.id)
  }

  find (peerId: PeerId): RendezvousPointState | undefined {
    return this.records.get(peerId.toString())
  }

  /** Forgets every point's health (a new start) */
  reset (): void {
    for (const point of this.list) {
      point.failures = 0
      point.backoffUntil = 0
      point.down = false
      point.lastError = undefined
      point.lastSuccessAt = undefined
    }
  }

  /** How long work at the point must wait before a request may go, in ms (0: now) */
  wait (point: Point): number {
    return Math.max(0, this.state(point).backoffUntil - this.runtime.clock.now())
  }

  /** Whether the last request to `point` failed (or its connection closed) and nothing succeeded since */
  isDown (point: Point): boolean {
    return this.records.get(point.id)?.down === true
  }

  /** Whether `peer` is a point that failed and has not answered (nor connected) since */
  failing (peer: PeerId): boolean {
    const point = this.find(peer)
    return point != null && point.down && point.failures > 0
  }

  /** Those of `points` (every point followed by default) not in backoff now */
  available<P extends Point = RendezvousPointState> (points?: P[]): P[] {
    return (points ?? this.list as unknown as P[]).filter(point => this.wait(point) === 0)
  }

  succeeded (p: Point): void {
    const point = this.state(p)
    const wasDown = point.down
    point.failures = 0
    point.backoffUntil = 0
    point.down = false
    point.lastError = undefined
    point.lastSuccessAt = this.runtime.clock.now()

    if (wasDown) {
      this.log('rendezvous point %s is back', point.id)
      this.safeDispatchEvent('up', { detail: point })
    }
  }

  /**
   * A request of `work` at `point` failed: counts it, backs off the work alone when the request was at fault
   * (the point answered, or we had nothing to send) or the whole point when it was not, and returns how long the
   * work waits before trying again.
   */
  failed (p: Point, work: WorkState, err: unknown): number {
    const point = this.state(p)
    work.failures++
    work.lastError = describeError(err)
    work.waitsForPoint = !isRequestError(err)

    if (!work.waitsForPoint) {
      if (err instanceof RendezvousError) {
        this.succeeded(point)
      }

      return backoffDelay(work.failures, this.options.pointBackoff, this.runtime.random)
    }

    this.pointFailed(point, work.lastError)
    return this.wait(point)
  }

  /** The connection to a point closed: it may come back without what it held (a restart) */
  disconnected (peerId: PeerId): void {
    const point = this.find(peerId)

    if (point != null) {
      point.down = true
    }
  }

  /** A connection to a point opened: if it was down, it is back */
  connected (peerId: PeerId): void {
    const point = this.find(peerId)

    if (point?.down === true) {
      this.succeeded(point)
    }
  }

  private pointFailed (point: RendezvousPointState, error: string): void {
    const now = this.runtime.clock.now()
    point.lastError = error
    point.down = true

    // several requests in flight fail together: count them as one failure
    if (point.backoffUntil > now) {
      return
    }

    point.failures++
    // each retry is a dial someone may see (in a browser, an error in the console): the delay grows for real
    point.backoffUntil = now + backoffDelay(point.failures, this.options.pointBackoff, this.runtime.random, 'equal')
    this.log('rendezvous point %s failed %d time(s), backing off for %d ms - %s', point.id, point.failures, point.backoffUntil - now, error)
    this.safeDispatchEvent('failed', { detail: point })
  }
}
