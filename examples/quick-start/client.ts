// The protocol client on its own: register this node at a point under a namespace, discover who is there,
/* eslint-disable no-console */
// unregister, stop.
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { rendezvousClient } from 'libp2p-rendezvous-discovery'

const point = multiaddr(process.argv[2]) // the address the point printed

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, // what the registration tells others
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), rendezvous: rendezvousClient() }
})

const ttl = await node.services.rendezvous.register(point, 'my-app')
console.log(`registered under my-app for ${ttl} s`)

const { registrations } = await node.services.rendezvous.discover(point, 'my-app')
for (const { peerId, multiaddrs } of registrations) {
  console.log(`found ${peerId} at ${multiaddrs.join(', ')}`)
}

await node.services.rendezvous.unregister(point, 'my-app')
await node.stop()
