/**
 * The points as `status().scheduler.points` reports them: every point the node knows (configured and learned,
 * verified or not), with its health and how many of the namespaces in use are placed there.
 */
import type { PointHealth } from './point-health.ts'
import type { PointLearning } from './point-learning.ts'
import type { PointPlacement } from './point-placement.ts'
import type { PointStatus } from '../types.ts'

export function pointStatus (learning: PointLearning, health: PointHealth, placement: PointPlacement, namespaces: Iterable<string>): PointStatus[] {
  const placed = new Map<string, number>()

  for (const ns of namespaces) {
    for (const point of placement.pointsFor(ns)) {
      placed.set(point.id, (placed.get(point.id) ?? 0) + 1)
    }
  }

  return learning.status().map(({ id, ...known }) => {
    const { peerId, multiaddr, ...rest } = health.state(learning.point(id))
    return { ...rest, ...known, multiaddr: multiaddr.toString(), placed: placed.get(id) ?? 0 }
  })
}
