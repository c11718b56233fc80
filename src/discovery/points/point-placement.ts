/**
 * Where each namespace is registered and discovered. `pointsFor(ns)` is the `pointsPerNamespace` points of highest
 * weight for `ns` (hrw.ts) among the points the node knows and trusts (the configured ones and the learned ones
 * once verified, point-learning.ts), passing over a point that failed and has not answered since: the next by
 * weight stands in for it until it answers again, and then the namespace goes back to it. When fewer points than
 * that are healthy, failing ones fill the places, so that a node's only point keeps its work (which waits for it).
 *
 * `fallbackFor(ns)` is the configured points that are not placed for `ns` (with `configuredFallback`): the node
 * keeps its registration there too, and queries there while the quota is unmet, so that a peer given only one of
 * those points (a Go or Rust node, which neither learns points nor hashes) still finds it and is found.
 *
 * A `change` event says that the placement may have changed for some namespace: the registrations and the queries,
 * which keep one piece of work per (point, namespace) placed here, start what is new and drop (with an UNREGISTER)
 * what is no longer placed.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import QuickLRU from 'quick-lru'
import { rankPoints } from './hrw.ts'
import type { PointHealth } from './point-health.ts'
import type { Point } from './point.ts'
import type { ResolvedOptions } from '../config.ts'

export interface PointPlacementEvents {
  /** The points of some namespace may have changed */
  change: CustomEvent
}

export type PointPlacementOptions = Pick<ResolvedOptions, 'pointsPerNamespace' | 'configuredFallback'>

/** Namespaces whose placement is remembered until the known points or their health change */
const CACHED_NAMESPACES = 4096

export class PointPlacement extends TypedEventEmitter<PointPlacementEvents> {
  /** The points given in the options */
  readonly configured: Point[]
  private readonly health: Pick<PointHealth, 'failing'>
  private readonly options: PointPlacementOptions
  private knownPoints: Point[]
  /** What the placement was computed from: the known points and which of them fail */
  private basis = ''
  private readonly cache = new QuickLRU<string, Point[]>({ maxSize: CACHED_NAMESPACES })

  constructor (configured: Point[], health: Pick<PointHealth, 'failing'>, options: PointPlacementOptions) {
    super()
    this.configured = configured
    this.health = health
    this.options = options
    this.knownPoints = configured
    this.basis = this.currentBasis()
  }

  /** Every point the node places namespaces on now */
  known (): Point[] {
    return this.knownPoints
  }

  /** The points the node knows and trusts changed (configured ones first, then the verified learned ones) */
  setKnown (points: Point[]): void {
    this.knownPoints = points
    this.refresh()
  }

  /** A point failed or came back: places move when the set of healthy points changed */
  refresh (): void {
    const basis = this.currentBasis()

    if (basis !== this.basis) {
      this.basis = basis
      this.cache.clear()
      this.safeDispatchEvent('change')
    }
  }

  /** The points that serve `ns`: the node registers and discovers it there */
  pointsFor (ns: string): Point[] {
    let placed = this.cache.get(ns)

    if (placed == null) {
      placed = this.place(ns)
      this.cache.set(ns, placed)
    }

    return placed
  }

  /** Configured points not placed for `ns`: the node registers there too and queries there while a quota is unmet */
  fallbackFor (ns: string): Point[] {
    if (!this.options.configuredFallback) {
      return []
    }

    const placed = this.pointsFor(ns)
    return this.configured.filter(point => !placed.some(p => p.id === point.id))
  }

  private place (ns: string): Point[] {
    const k = this.options.pointsPerNamespace
    const ranked = rankPoints(ns, this.knownPoints)
    const healthy = ranked.filter(point => !this.health.failing(point.peerId))

    if (healthy.length >= k) {
      return healthy.slice(0, k)
    }

    // fewer healthy points than places: failing ones, by weight, keep the rest (their work waits for them)
    return [...healthy, ...ranked.filter(point => !healthy.includes(point)).slice(0, k - healthy.length)]
  }

  private currentBasis (): string {
    return this.knownPoints.map(point => `${point.id}${this.health.failing(point.peerId) ? '!' : ''}`).join(' ')
  }
}
