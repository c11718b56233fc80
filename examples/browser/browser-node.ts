/**
 * The browser node of the example page, and of the browser tests' pages: WebSockets and the circuit relay
 * transport (a browser cannot listen, so others reach it only through a relay), noise, yamux, identify, ping and
 * gossipsub. The caller adds the rendezvous discovery module (the example always does; the test of the relay
 * harness does not).
 */

import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { ServiceFactoryMap } from 'libp2p'

export interface BrowserNodeServices extends Record<string, unknown> {
  identify: unknown
  ping: Ping
  pubsub: GossipSub
}

export interface BrowserNodeInit<Extra extends ServiceFactoryMap> {
  /** Services beside the base ones, e.g. `{ rendezvous: rendezvousDiscovery(...) }` */
  services?: Extra
  /** Listen addresses, e.g. `['/p2p-circuit']` for one relay reservation; the discovery module adds its own */
  listen?: string[]
}

/** Creates the node without starting it */
export async function createBrowserNode <Extra extends ServiceFactoryMap = ServiceFactoryMap> (init: BrowserNodeInit<Extra> = {}): Promise<Libp2p<BrowserNodeServices & { [K in keyof Extra]: ReturnType<Extra[K]> }>> {
  const node = await createLibp2p({
    addresses: { listen: init.listen ?? [] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // libp2p refuses ws:// and private addresses in browsers by default; the example and the tests run on 127.0.0.1
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      ping: ping(),
      // peers of other tabs are reached through a relay, on limited connections
      pubsub: gossipsub({ runOnLimitedConnection: true, allowPublishToZeroTopicPeers: true }),
      ...init.services
    }
  })

  return node as unknown as Libp2p<BrowserNodeServices & { [K in keyof Extra]: ReturnType<Extra[K]> }>
}
