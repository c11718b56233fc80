/**
 * The discovery module's fixed names and ranks: the protocol that tells a relay server, the tags it puts on the
 * peers it keeps, and the order in which it dials the kinds of peers it wants.
 */
import type { NamespaceKind } from './options.ts'

/** The protocol a circuit relay v2 server handles */
export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'

/** Tag names, one per kind of kept peer, and the rendezvous points' keep-alive tag */
export const TAG_NAMES: Record<NamespaceKind | 'point', string> = {
  topic: 'rendezvous-topic',
  relay: 'rendezvous-relay',
  dapp: 'rendezvous-dapp',
  user: 'rendezvous-namespace',
  point: 'keep-alive-rendezvous'
}

/** Dial priority per kind: higher dials first (relays first, since a node that needs one has no other way in) */
export const DIAL_PRIORITY: Record<NamespaceKind, number> = {
  relay: 3,
  dapp: 2,
  user: 2,
  topic: 1
}
