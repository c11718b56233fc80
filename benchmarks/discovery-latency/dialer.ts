/**
 * The few lines a js-libp2p v3 user has to add to a discovery module that only emits `peer` events: v3 has no
 * autodialer, so discovered peers are dialed here while the node is below its quota. Pending dials count
 * towards the quota so that a burst of discoveries does not dial everybody.
 */
import { debug } from '../lib/print.ts'
import type { SwarmHelpers } from './harness.ts'
import type { BenchNode } from '../lib/nodes.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A function that dials `peer` unless the node is at quota, already connected or already dialing it. Addresses,
 * when given, are dialed directly (the peer store may not have them yet)
 */
export function quotaDialer (node: BenchNode, helpers: SwarmHelpers): (peer: PeerId, multiaddrs?: Multiaddr[]) => void {
  const pending = new Set<string>()

  return (peer, multiaddrs) => {
    const key = peer.toString()
    if (node.status !== 'started' || helpers.isInfrastructure(peer) || peer.equals(node.peerId) || pending.has(key) || node.getConnections(peer).length > 0) {
      return
    }
    if (helpers.connectedPeers(node) + pending.size >= helpers.env.quota) {
      return
    }

    pending.add(key)
    node.dial(multiaddrs != null && multiaddrs.length > 0 ? multiaddrs : peer)
      .catch((err) => { debug(`dial ${peer} failed: ${err.message}`) })
      .finally(() => { pending.delete(key) })
  }
}

/** Dials every peer the node discovers (`peer:discovery`) while it is below quota */
export function dialWhileBelowQuota (node: BenchNode, helpers: SwarmHelpers): void {
  const dial = quotaDialer(node, helpers)
  node.addEventListener('peer:discovery', (evt) => { dial(evt.detail.id) })
}
