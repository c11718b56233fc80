/**
 * A rendezvous point as the discovery module knows it: its id, its peer id and the address it is reached at, made
 * once (from the options, or from a point's listing under `/libp2p/rendezvous`) and never changed. What the module
 * learns about it over time (failures, backoff, whether it is verified) lives in the units that own that, keyed
 * by `id` (point-health.ts, point-placement.ts).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdOfMultiaddr } from '../../client/point.ts'
import { factoryNames, invalidOption } from '../../options/invalid-option.ts'
import { POINT_REQUIREMENT } from '../../options/point-address.ts'
import { OWNER } from '../config.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface Point {
  /** The point's peer id as a string */
  readonly id: string
  readonly peerId: PeerId
  /** What the client dials: a configured address, or `/p2p/<id>` for a learned point (its addresses are in the peer store) */
  readonly multiaddr: Multiaddr
}

/**
 * The point `points[i]` names; throws the option error naming `points[i]` when its address does not end with
 * `/p2p/<id>` (the client checks that whoever answers is the peer named there, so a point without one cannot be used)
 */
export function parsePoint (ma: Multiaddr, i: number): Point {
  const peerId = peerIdOfMultiaddr(ma)

  if (peerId == null) {
    throw invalidOption(factoryNames(OWNER), `points[${i}]`, POINT_REQUIREMENT, ma)
  }

  return Object.freeze({ id: peerId.toString(), peerId, multiaddr: ma })
}

/** The configured points, once each, without this node (a node that is also a point may list itself) */
export function parsePoints (points: Multiaddr[], self?: PeerId): Point[] {
  const byId = new Map<string, Point>()

  points.forEach((ma, i) => {
    const point = parsePoint(ma, i)

    if (!byId.has(point.id) && self?.equals(point.peerId) !== true) {
      byId.set(point.id, point)
    }
  })

  return [...byId.values()]
}

/** A point learned from another point's listing: dialed by peer id, its listed addresses go into the peer store */
export function learnedPoint (peerId: PeerId | string): Point {
  const id = peerId.toString()
  return Object.freeze({ id, peerId: typeof peerId === 'string' ? peerIdFromString(peerId) : peerId, multiaddr: multiaddr(`/p2p/${id}`) })
}
