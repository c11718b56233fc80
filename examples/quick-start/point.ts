// A rendezvous point: a libp2p node with the rendezvous server service. Give the address it prints to the nodes.
/* eslint-disable no-console */
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { rendezvousServer } from 'libp2p-rendezvous-discovery'

const point = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), rendezvous: rendezvousServer() }
})

console.log(`rendezvous point: ${point.getMultiaddrs()[0]}`)
process.once('SIGINT', () => { void point.stop() })
process.once('SIGTERM', () => { void point.stop() })
