/**
 * Where each namespace is registered and discovered: `pointsFor(ns)` is the set of points that serve `ns`, and a
 * `change` event says that it may have changed for some namespace, so that the registrations and the queries,
 * which keep one piece of work per (point, namespace) placed here, start what is new and drop (with an
 * UNREGISTER) what is no longer placed.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import type { Point } from './point.ts'

export interface PointPlacementEvents {
  /** The points of some namespace may have changed */
  change: CustomEvent
}

export class PointPlacement extends TypedEventEmitter<PointPlacementEvents> {
  /** The points given in the options */
  readonly configured: Point[]

  constructor (configured: Point[]) {
    super()
    this.configured = configured
  }

  /** Every point the node may use now */
  known (): Point[] {
    return this.configured
  }

  /** The points that serve `ns`: the node registers and discovers it there */
  pointsFor (ns: string): Point[] {
    return this.configured
  }

  /**
   * Points the node also registers `ns` at, and queries while its quota is unmet after the points placed answered:
   * none while every configured point is placed
   */
  fallbackFor (ns: string): Point[] {
    return []
  }
}
