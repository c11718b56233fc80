// A node that finds the other subscribers of its topic: the discovery module registers it under floodsub:news at
/* eslint-disable no-console */
// the point, discovers the others there and dials them (up to 6). Start several, each with the point's address.
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { rendezvousDiscovery } from 'libp2p-rendezvous-discovery'

const point = process.argv[2] // the address the point printed, /ip4/…/tcp/…/p2p/…

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, // a node registers the addresses it listens on
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    pubsub: gossipsub(),
    rendezvous: rendezvousDiscovery({ points: [point] })
  }
})

node.services.pubsub.subscribe('news')
console.log(`node ${node.peerId} listening on ${node.getMultiaddrs()[0]}`)

// the subscribers of the topic this node is connected to, whenever they change
let known = ''
const showPeers = (): void => {
  const peers = node.services.pubsub.getSubscribers('news')
    .filter(peer => node.getConnections(peer).length > 0) // a peer that left may be listed a moment longer
    .map(String).sort().join(', ')

  if (peers !== known) {
    known = peers
    console.log(`topic peers: ${peers === '' ? 'none' : peers}`)
  }
}
node.services.pubsub.addEventListener('subscription-change', showPeers)
node.addEventListener('peer:disconnect', showPeers) // gossipsub says nothing when a subscriber leaves

// Ctrl-C, or a service manager's SIGTERM: stop, which unregisters the node at the point
process.once('SIGINT', () => { void node.stop() })
process.once('SIGTERM', () => { void node.stop() })
