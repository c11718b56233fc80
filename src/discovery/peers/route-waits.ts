/**
 * The candidates that cannot be reached now, with how long until they may be, in ms: a rendezvous point that is
 * down (until it is back: its own backoff tries it), and a peer whose addresses all go through relays that are
 * each such a point or in dial backoff. Dialing them would only fail at the relay (in a browser each failed
 * WebSocket is an error in the console) and back off a peer that did nothing wrong, which would then wait long
 * after its relay is back.
 */
import { PeerMap } from '@libp2p/peer-collections'
import type { Candidate } from './candidates.ts'
import type { PeerId } from '@libp2p/interface'

export interface RouteWaitsInput {
  members: Candidate[]
  connected: PeerMap<number>
  now: number
  /** Whether a peer is a rendezvous point that failed and has not answered since */
  pointFailing(peer: PeerId): boolean
  /** When a peer's dial backoff ends (ms since epoch; 0 or past: not backed off) */
  retryAt(peer: PeerId, now: number): number
}

export function routeWaits ({ members, connected, now, pointFailing, retryAt }: RouteWaitsInput): PeerMap<number> {
  const waits = new PeerMap<number>()
  const pointDown = (peer: PeerId): number => !connected.has(peer) && pointFailing(peer) ? Infinity : 0
  const unavailable = (peer: PeerId): number => connected.has(peer)
    ? 0
    : Math.max(pointDown(peer), retryAt(peer, now) - now)

  for (const member of members) {
    const own = pointDown(member.peerId)
    const viaRelays = member.relays == null ? 0 : Math.min(...member.relays.map(unavailable))
    const wait = Math.max(own, viaRelays)

    if (wait > 0) {
      waits.set(member.peerId, wait)
    }
  }

  return waits
}
