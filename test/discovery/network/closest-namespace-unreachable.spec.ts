/**
 * A `closest` namespace whose nearest registrants are gone (their registrations still listed at the point, their
 * nodes stopped without a word): the node holds the nearest registrants it can reach instead, and keeps them once
 * the gone ones' dial backoff runs out, on real nodes over `@libp2p/memory` and the real server.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { rendezvousClient } from '../../../src/client/index.ts'
import { closestFirst } from '../../../src/discovery/peers/selection.ts'
import { createMemoryNode } from '../../fixtures/memory-node.ts'
import { createPeer, createPoint, stopAll, waitFor } from './fixtures.ts'
import type { PeerNode, PointNode } from './fixtures.ts'
import type { RendezvousClient } from '../../../src/client/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

const NS = 'neighbours'

type Registrant = Libp2p<{ identify: unknown, rendezvous: RendezvousClient }>

describe('a closest namespace whose nearest registrants are gone', function () {
  this.timeout(60_000)

  let nodes: Array<PeerNode | PointNode | Libp2p>

  beforeEach(() => {
    nodes = []
  })

  afterEach(async () => {
    await stopAll(nodes)
  })

  /**
   * Five registrants of `NS` at a point, the `gone` nearest to the observer's (future) peer id stopped after
   * registering, and the observer started with `closest: 2`
   */
  async function setup (gone: number): Promise<{ observer: PeerNode, live: PeerId[] }> {
    const point = await createPoint()
    nodes.push(point)
    const observerKey = await generateKeyPair('Ed25519')
    const observerId = peerIdFromPrivateKey(observerKey)
    const registrants = await Promise.all(Array.from({ length: 5 }, async () => {
      const node: Registrant = await createMemoryNode({ services: { rendezvous: rendezvousClient({ timeout: 5000 }) } }, 'registrant') as any
      nodes.push(node)
      return node
    }))

    for (const node of registrants) {
      // a long TTL: the gone ones stay listed for the whole test, as a crashed node's registration does
      await node.services.rendezvous.register(point.getMultiaddrs()[0], NS, { ttl: 60 })
    }

    const order = closestFirst(observerId, registrants.map(r => r.peerId)).map(String)
    const byDistance = order.map(id => registrants.find(r => r.peerId.toString() === id) as Registrant)
    // stopped without unregistering: their registrations stay, their addresses answer nothing
    await Promise.all(byDistance.slice(0, gone).map(async node => node.stop()))

    const observer = await createPeer({ points: [point], pubsub: false, privateKey: observerKey, discovery: { namespaces: [{ ns: NS, closest: 2 }] } })
    nodes.push(observer)
    return { observer, live: byDistance.slice(gone).map(node => node.peerId) }
  }

  function holds (observer: PeerNode, peers: PeerId[]): boolean {
    const connected = new Set(observer.getPeers().map(String))
    return peers.every(peer => connected.has(peer.toString()))
  }

  function quota (observer: PeerNode): { connected: number, kept: number } {
    const status = observer.services.rendezvous.status.dialer.quotas.find(q => q.ns === NS)
    return { connected: status?.connected ?? 0, kept: status?.kept ?? 0 }
  }

  /** Samples the quota for `ms` (past the gone peers' longest dial backoff of 2 s) and returns the lowest fill */
  async function lowestOver (observer: PeerNode, ms: number): Promise<number> {
    let lowest = Infinity
    const until = Date.now() + ms

    while (Date.now() < until) {
      lowest = Math.min(lowest, quota(observer).connected, quota(observer).kept)
      await new Promise(resolve => setTimeout(resolve, 20))
    }

    return lowest
  }

  for (const gone of [1, 2]) {
    it(`with closest: 2 and the ${gone === 1 ? 'nearest registrant' : 'two nearest registrants'} gone, holds the two nearest it can reach and keeps them`, async () => {
      const { observer, live } = await setup(gone)
      const nearestLive = live.slice(0, 2)

      const reached = await waitFor(() => holds(observer, nearestLive) && quota(observer).connected === 2 && quota(observer).kept === 2, 10_000, 100)
      expect(reached).to.be.true(`holds ${quota(observer).connected} of 2 (kept ${quota(observer).kept}), connected to ${observer.getPeers().length} peers`)

      // the gone ones' dial backoff (300 ms to 2 s here) runs out again and again: the peers kept stay kept
      expect(await lowestOver(observer, 4000)).to.equal(2, 'the quota dropped while a gone registrant was retried')
      expect(holds(observer, nearestLive)).to.be.true()
    })
  }
})
