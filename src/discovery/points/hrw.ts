/**
 * Highest-random-weight (rendezvous) hashing of a namespace over points: each point's weight for a namespace is
 * a hash of (namespace, point id), and the namespace goes to the points of highest weight. Every node that knows
 * the same points picks the same ones with no coordination; a point that leaves moves only its own namespaces
 * (each to its next by weight), and one that joins takes about 1/(n+1) of them.
 */
import { sha256 } from '@noble/hashes/sha2.js'

const encoder = new TextEncoder()

/** The weight of point `id` for namespace `ns`: the first 8 bytes of sha256(ns, 0, id) */
export function pointWeight (ns: string, id: string): bigint {
  const digest = sha256(encoder.encode(`${ns}\u0000${id}`))
  return new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0)
}

/** `points` from the highest weight for `ns` to the lowest (ties, which sha256 makes unlikely, by id) */
export function rankPoints<P extends { id: string }> (ns: string, points: readonly P[]): P[] {
  return points
    .map(point => ({ point, weight: pointWeight(ns, point.id) }))
    .sort((a, b) => {
      if (a.weight !== b.weight) {
        return a.weight > b.weight ? -1 : 1
      }

      return a.point.id < b.point.id ? -1 : 1
    })
    .map(({ point }) => point)
}
