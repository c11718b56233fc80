/**
 * Who counts towards a namespace's quota, whoever dialed whom:
 *
 * - `topic`: a connected peer that pubsub lists as subscribed to the topic. A connected registrant that pubsub
 * does not list yet (it dialed us a moment ago, or we it) is `arriving`: it is not dialed again nor replaced
 * while pubsub learns its subscriptions, for `countGrace` after its connection opened;
 * - `closest` selection: the `quota` connected registrants nearest to the node. Only connected ones are ranked:
 * a nearer registrant takes a farther one's place once it is connected, never while it is being dialed or
 * retried, so that a gone registrant (its registration still listed) neither holds a place nor, each time its
 * dial backoff runs out, takes one from a peer the node holds (selection.ts dials the nearer ones);
 * - otherwise: a connected registrant (its registration alive), or a peer kept before that is still connected.
 */
import { PeerMap, PeerSet } from '@libp2p/peer-collections'
import { closestWanted } from './selection.ts'
import type { Candidate } from './candidates.ts'
import type { NamespaceSpec } from '../options.ts'
import type { PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface CountInput {
  self: PeerId
  spec: NamespaceSpec
  /** Connected peers and when their oldest open connection opened (ms since epoch) */
  connected: PeerMap<number>
  /** The namespace's live candidates */
  members: Candidate[]
  /** For a topic: the peers pubsub lists as subscribed (connected or not) */
  subscribers: PeerId[]
  /** Peers kept (tagged) for the namespace at the last count */
  kept: PeerId[]
  now: number
  countGrace: number
}

export interface Count {
  /** Connected peers that count, the ones kept before first */
  counted: PeerId[]
  /** Connected registrants that do not count yet but are expected to */
  arriving: PeerId[]
  /** The earliest time an arriving peer stops being expected (ms since epoch) */
  arrivingUntil?: number
}

export function countPeers (input: CountInput): Count {
  const { spec, connected } = input
  const counted: PeerId[] = []
  const countedIds = new PeerSet()
  const arriving: PeerId[] = []
  let arrivingUntil: number | undefined
  const count = (peer: PeerId): void => {
    if (connected.has(peer) && !countedIds.has(peer)) {
      countedIds.add(peer)
      counted.push(peer)
    }
  }

  if (spec.kind === 'topic' && spec.topic != null) {
    input.subscribers.forEach(count)

    for (const member of input.members) {
      const openedAt = connected.get(member.peerId)

      if (openedAt == null || countedIds.has(member.peerId)) {
        continue
      }

      const until = openedAt + input.countGrace

      if (until > input.now) {
        arriving.push(member.peerId)
        arrivingUntil = Math.min(arrivingUntil ?? until, until)
      }
    }
  } else if (spec.selection === 'closest') {
    closestWanted(input.self, input.members.map(m => m.peerId), spec.quota, peer => connected.has(peer)).forEach(count)
  } else {
    input.members.forEach(member => { count(member.peerId) })
    // a kept peer whose registration ran out still counts while connected
    input.kept.forEach(count)
  }

  // the peers kept before first, so that tags do not hop between peers from one count to the next
  const kept = new PeerSet(input.kept)
  counted.sort((a, b) => Number(kept.has(b)) - Number(kept.has(a)))
  return { counted, arriving, arrivingUntil }
}

/** Connected peers and when their oldest open connection opened */
export function connectedPeers (connectionManager: Pick<ConnectionManager, 'getConnections'>): PeerMap<number> {
  const peers = new PeerMap<number>()

  for (const connection of connectionManager.getConnections()) {
    if (connection.status === 'open') {
      const opened = connection.timeline.open
      const known = peers.get(connection.remotePeer)
      peers.set(connection.remotePeer, known == null ? opened : Math.min(known, opened))
    }
  }

  return peers
}
