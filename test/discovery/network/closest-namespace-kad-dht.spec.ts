/**
 * "Nodes are connected to X closest peers": nodes running `@libp2p/kad-dht` and the discovery module with a
 * `closest` namespace start with their neighbourhood in the DHT's keyspace, found through a rendezvous point.
 */
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { sha256 } from '@noble/hashes/sha2.js'
import { expect } from 'aegir/chai'
import { createPeer, createPoint, stopAll, waitFor } from './fixtures.ts'
import type { PeerNode, PointNode } from './fixtures.ts'
import type { PeerId } from '@libp2p/interface'
import type { SingleKadDHT } from '@libp2p/kad-dht'

/** What the test reads of kad-dht's routing table (its public type only shows the size) */
interface RoutingTableView {
  find(peer: PeerId): Promise<PeerId | undefined>
}

/** A DHT of the test's own, so that nothing here could ever mix with a public one */
const PROTOCOL = '/rendezvous-test/kad/1.0.0'

/** The peers nearest to `self` in kad-dht's keyspace (XOR of the SHA-256 of the peer ids), computed here on its own */
function nearest (self: PeerId, peers: PeerId[], count: number): string[] {
  const key = (peer: PeerId): Uint8Array => sha256(peer.toMultihash().bytes)
  const distance = (peer: PeerId): bigint => {
    const a = key(self)
    const b = key(peer)
    let d = 0n

    for (let i = 0; i < a.length; i++) {
      d = (d << 8n) | BigInt(a[i] ^ b[i])
    }

    return d
  }

  return peers
    .filter(peer => !peer.equals(self))
    .sort((a, b) => (distance(a) < distance(b) ? -1 : 1))
    .slice(0, count)
    .map(String)
}

describe('a closest namespace with kad-dht', function () {
  this.timeout(60_000)

  let point: PointNode | undefined
  let nodes: Array<PeerNode & { services: { dht: SingleKadDHT } }>

  afterEach(async () => {
    await stopAll(nodes)
    await stopAll([point])
  })

  it('with closest: 4, each node holds its 4 XOR-closest registrants, and they are in its routing table', async () => {
    point = await createPoint()
    nodes = await Promise.all(Array.from({ length: 12 }, async () => createPeer({
      points: [point as PointNode],
      pubsub: false,
      discovery: { namespaces: [{ ns: 'dht-neighbours', closest: 4 }] },
      services: {
        ping: ping(),
        // memory addresses are "private": the default mapper would keep no peer in the table
        dht: kadDHT({ protocol: PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper })
      }
    }) as any))
    const ids = nodes.map(node => node.peerId)

    const holdsNearest = (node: PeerNode): boolean => {
      const connected = new Set(node.getPeers().map(String))
      return nearest(node.peerId, ids, 4).every(id => connected.has(id))
    }

    const reached = await waitFor(() => nodes.every(holdsNearest), 30_000, 200)
    const missing = nodes.filter(node => !holdsNearest(node)).map(node => `${node.peerId.toString().slice(-6)}: ${nearest(node.peerId, ids, 4).filter(id => !node.getPeers().map(String).includes(id)).length} of 4 missing`)
    expect(reached).to.be.true(missing.join('; '))

    // identify tells each DHT about the other's protocol, and the DHT takes the peer into its table
    const inTable = async (node: PeerNode & { services: { dht: SingleKadDHT } }): Promise<boolean> => {
      for (const id of nearest(node.peerId, ids, 4)) {
        const peer = ids.find(p => p.toString() === id) as PeerId

        if (await (node.services.dht.routingTable as unknown as RoutingTableView).find(peer) == null) {
          return false
        }
      }

      return true
    }
    expect(await waitFor(async () => (await Promise.all(nodes.map(inTable))).every(Boolean), 10_000, 200)).to.be.true('in the routing tables')

    // and the module counts and keeps exactly those
    for (const node of nodes) {
      const quota = node.services.rendezvous.status.dialer.quotas.find(q => q.ns === 'dht-neighbours')
      expect(quota?.quota).to.equal(4)
      expect(await waitFor(() => node.services.rendezvous.status.dialer.quotas.find(q => q.ns === 'dht-neighbours')?.kept === 4, 3000)).to.be.true()
    }
  })
})
