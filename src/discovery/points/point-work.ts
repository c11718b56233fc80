/**
 * What the registrations and the queries share: work per (point, namespace) for the pairs the placement gives,
 * each piece on its own named timer, all of it started and stopped together, so that a stop leaves no timer and no
 * request behind.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { Timers } from '../timers.ts'
import type { PointHealth } from './point-health.ts'
import type { PointPlacement } from './point-placement.ts'
import type { Point } from './point.ts'
import type { Runtime } from '../clock.ts'
import type { Logger } from '@libp2p/interface'

export abstract class PointWork<Events extends Record<string, any> = Record<string, never>> extends TypedEventEmitter<Events> {
  protected readonly points: PointHealth
  protected readonly placement: PointPlacement
  protected readonly runtime: Runtime
  protected readonly log: Logger
  protected readonly timers: Timers
  /** Aborts the requests in flight on stop; set while running */
  protected controller?: AbortController

  constructor (points: PointHealth, placement: PointPlacement, runtime: Runtime, log: Logger) {
    super()
    this.points = points
    this.placement = placement
    this.runtime = runtime
    this.log = log
    this.timers = new Timers(runtime.clock, (key, err) => { this.log.error('%s failed - %e', key, err) })
  }

  get running (): boolean {
    return this.controller != null
  }

  /** Timers set now (for tests and status) */
  get pendingTimers (): number {
    return this.timers.size
  }

  start (): void {
    if (this.running) {
      return
    }

    this.controller = new AbortController()
    this.timers.open()
  }

  /** Aborts what is in flight and cancels every timer; false when it was not running */
  protected halt (): boolean {
    if (this.controller == null) {
      return false
    }

    this.controller.abort()
    this.controller = undefined
    this.timers.clear()
    return true
  }

  /**
   * The (point, namespace) pairs that `namespaces` are placed on now, by key: each namespace at its placed points
   * and at its fallback points (`fallback` true)
   */
  protected placedPairs (namespaces: Iterable<string>): Map<string, PlacedPair> {
    const placed = new Map<string, PlacedPair>()

    for (const ns of namespaces) {
      for (const point of this.placement.pointsFor(ns)) {
        placed.set(workKey(point, ns), { point, ns, fallback: false })
      }

      for (const point of this.placement.fallbackFor(ns)) {
        placed.set(workKey(point, ns), { point, ns, fallback: true })
      }
    }

    return placed
  }
}

/** One namespace at one of its points */
export interface PlacedPair {
  point: Point
  ns: string
  /** A configured point not placed for the namespace */
  fallback: boolean
}

/** The key of one piece of work: a point and a namespace */
export function workKey (point: Point, ns: string): string {
  return `${point.id}\u0000${ns}`
}
