/**
 * The demo behind `npm run demo`: a rendezvous point and 12 peers on TCP 127.0.0.1. Each peer knows only the
 * point's address and subscribes to one gossipsub topic; the discovery module registers it under
 * `floodsub:<topic>`, discovers the others and dials them until 6 topic peers are connected. Then one peer
 * publishes and the demo counts who received it. Everything stops by itself.
 */
/* eslint-disable no-console */
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { rendezvousDiscovery, rendezvousServer } from '../src/index.ts'
import type { RendezvousDiscoveryService } from '../src/index.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

const PEERS = 12
const TOPIC = 'demo-news'
const QUOTA = 6
const DEADLINE_MS = 60_000

// every node of the demo shares 127.0.0.1, so lift libp2p's limit of 5 inbound connections per second per IP
const connectionManager = { inboundConnectionThreshold: 1000 }
const transport = { transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] }

const point = await createLibp2p({
  ...transport,
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  connectionManager,
  services: { identify: identify(), rendezvous: rendezvousServer() }
})
const pointAddress = point.getMultiaddrs()[0]
console.log(`rendezvous point ${pointAddress.toString()}`)

type Peer = Libp2p<{ identify: unknown, pubsub: GossipSub, rendezvous: RendezvousDiscoveryService }>
const started = performance.now()
const peers: Peer[] = await Promise.all(Array.from({ length: PEERS }, async () => createLibp2p({
  ...transport,
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  connectionManager,
  services: {
    identify: identify(),
    pubsub: gossipsub(),
    rendezvous: rendezvousDiscovery({ points: [pointAddress], relay: 'never' })
  }
})))
peers.forEach(peer => { peer.services.pubsub.subscribe(TOPIC) })

function topicPeers (peer: Peer): number {
  const connected = new Set(peer.getPeers().map(id => id.toString()))
  return peer.services.pubsub.getSubscribers(TOPIC).filter(id => connected.has(id.toString())).length
}

const reachedAt = new Map<Peer, number>()
while (reachedAt.size < PEERS && performance.now() - started < DEADLINE_MS) {
  for (const peer of peers) {
    if (!reachedAt.has(peer) && topicPeers(peer) >= QUOTA) {
      reachedAt.set(peer, performance.now() - started)
      console.log(`peer ${peers.indexOf(peer).toString().padStart(2)} has ${QUOTA} topic peers after ${Math.round(reachedAt.get(peer) ?? 0)} ms`)
    }
  }
  await new Promise(resolve => setTimeout(resolve, 50))
}

let received = 0
peers.slice(1).forEach(peer => {
  peer.services.pubsub.addEventListener('message', () => { received++ })
})
await new Promise(resolve => setTimeout(resolve, 1500)) // a heartbeat or so for the mesh to form
await peers[0].services.pubsub.publish(TOPIC, new TextEncoder().encode('hello from peer 0'))
await new Promise(resolve => setTimeout(resolve, 1000))

console.log(`\n${reachedAt.size}/${PEERS} peers reached ${QUOTA} connected topic peers; ${received}/${PEERS - 1} received the message`)
console.log('registrations at the point:', await point.services.rendezvous.store.stats(Date.now()))

await Promise.all(peers.map(async peer => peer.stop()))
await point.stop()
process.exitCode = reachedAt.size === PEERS && received === PEERS - 1 ? 0 : 1
