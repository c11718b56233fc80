/**
 * The Node.js side of the browser tests: libp2p nodes reachable from a page over WebSockets on 127.0.0.1
 * (relays, the rendezvous point, the peer that dials a browser through a relay).
 */

import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { WebSockets } from '@multiformats/multiaddr-matcher'
import { createTestNode } from '../../fixtures/memory-node.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { ServiceFactoryMap } from 'libp2p'

export interface NodePeerOptions {
  /** Run a circuit relay server. Default: false */
  relay?: boolean
  /** Listen on WebSockets at 127.0.0.1. Default: true */
  listen?: boolean
  /** Run gossipsub (usable on relayed connections). Default: true */
  pubsub?: boolean
  /** Extra services (e.g. the rendezvous server) */
  services?: ServiceFactoryMap
}

export type NodePeer = Libp2p<{ identify: unknown, ping: Ping, pubsub: GossipSub } & Record<string, any>>

/** A Node.js libp2p node over WebSockets, with identify, ping and gossipsub (usable on relayed connections) */
export async function startNodePeer (options: NodePeerOptions = {}): Promise<NodePeer> {
  const services: ServiceFactoryMap = {
    ping: ping(),
    ...(options.pubsub === false ? {} : { pubsub: gossipsub({ runOnLimitedConnection: true, allowPublishToZeroTopicPeers: true }) }),
    ...options.services
  }
  if (options.relay === true) {
    services.relay = circuitRelayServer({
      reservations: {
        // the default 128 KiB per relayed connection is enough for a chat, but not for a test that keeps
        // gossipsub heartbeats and pings running for a minute; time stays limited to the default 2 minutes
        defaultDataLimit: 16n * 1024n * 1024n
      }
    })
  }
  const node = await createTestNode({
    addresses: { listen: options.listen === false ? [] : ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets(), circuitRelayTransport()],
    // many loopback connections arrive at once from the pages (P7)
    connectionManager: { inboundConnectionThreshold: 1000 },
    services
  })
  return node as unknown as NodePeer
}

/** The node's WebSockets address with `/p2p/<id>`, as a page dials it */
export function wsAddress (node: Libp2p): string {
  const addr = node.getMultiaddrs().find(ma => WebSockets.exactMatch(ma))
  if (addr == null) {
    throw new Error(`node ${node.peerId} has no WebSockets address: ${node.getMultiaddrs().join(', ')}`)
  }
  return addr.toString()
}
