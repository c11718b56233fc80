// A browser node that meets the other tabs of its dapp through a rendezvous point that is also a relay: the
/* eslint-disable no-console */
// discovery module finds the relay under /libp2p/relay, reserves a slot on it, registers the circuit address it gets
// under the dapp's and the topic's namespaces, and dials the other tabs it finds there, through the relay.
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { rendezvousDiscovery } from 'libp2p-rendezvous-discovery'

// the address rendezvous-server printed, from the page's own address: …/?point=/ip4/127.0.0.1/tcp/9090/ws/p2p/12D3…
// (one or more: ?point=…&point=…)
const points = new URLSearchParams(location.search).getAll('point')
const log = document.querySelector('#log') as HTMLElement
const show = (line: string): void => {
  log.textContent += `${line}\n`
  console.log(line)
}

const node = await createLibp2p({
  transports: [webSockets(), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  // for this trial on 127.0.0.1 only: in browsers libp2p refuses ws:// and private addresses (public points use wss)
  connectionGater: { denyDialMultiaddr: () => false },
  services: {
    identify: identify(),
    // other browsers are reached over relayed (limited) connections only
    pubsub: gossipsub({ runOnLimitedConnection: true }),
    rendezvous: rendezvousDiscovery({ points, dapp: 'quick-start' })
  }
})

node.services.pubsub.subscribe('news')
show(`node ${node.peerId}`)

// a browser cannot listen: its addresses are the circuit addresses its relay reservations give it
let addresses = ''
node.addEventListener('self:peer:update', () => {
  const now = node.getMultiaddrs().map(String).join(', ')

  if (now !== addresses) {
    addresses = now
    show(`addresses: ${now === '' ? 'none' : now}`)
  }
})

// the subscribers of the topic this tab is connected to (the other tabs), whenever they change
let known = ''
const showPeers = (): void => {
  const peers = node.services.pubsub.getSubscribers('news')
    .filter(peer => node.getConnections(peer).length > 0) // a peer that left may be listed a moment longer
    .map(String).sort().join(', ')

  if (peers !== known) {
    known = peers
    show(`topic peers: ${peers === '' ? 'none' : peers}`)
  }
}
node.services.pubsub.addEventListener('subscription-change', showPeers)
node.addEventListener('peer:disconnect', showPeers) // gossipsub says nothing when a subscriber leaves
