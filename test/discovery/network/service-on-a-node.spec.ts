import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { expect } from 'aegir/chai'
import { Registry } from 'prom-client'
import { TAG_NAMES, rendezvousDiscovery } from '../../../src/discovery/index.ts'
import { rendezvousServer } from '../../../src/server/index.ts'
import { createMemoryNode, memoryAddress } from '../../fixtures/memory-node.ts'
import { FAST, createPeer, createPoint, pointAddress, stopAll, waitFor } from './fixtures.ts'
import type { PeerNode, PointNode } from './fixtures.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'

describe('rendezvous discovery module', () => {
  let point: PointNode
  let peers: PeerNode[]

  beforeEach(async () => {
    point = await createPoint()
    peers = []
  })

  afterEach(async () => {
    await stopAll(peers)
    await stopAll([point])
  })

  it('connects two peers of the same dapp, announces them, stores certified addresses and tags them', async () => {
    const a = await createPeer({ points: [point], discovery: { dapp: 'slate' }, pubsub: false })
    peers.push(a)
    const events: PeerInfo[] = []
    a.services.rendezvous.addEventListener('peer', (evt) => events.push(evt.detail))
    const b = await createPeer({ points: [point], discovery: { dapp: 'slate' }, pubsub: false })
    peers.push(b)

    expect(await waitFor(() => a.getPeers().some(p => p.equals(b.peerId)), 5000)).to.be.true()
    expect(await waitFor(() => events.some(e => e.id.equals(b.peerId)), 5000)).to.be.true()

    const stored = await a.peerStore.get(b.peerId)
    expect(stored.addresses.some(addr => addr.isCertified)).to.be.true()
    expect(events.some(e => e.id.equals(a.peerId))).to.be.false('never announces itself')

    expect(await waitFor(async () => (await a.peerStore.get(b.peerId)).tags.has(TAG_NAMES.dapp) ||
      (await b.peerStore.get(a.peerId)).tags.has(TAG_NAMES.dapp), 3000)).to.be.true()
    const pointTags = (await a.peerStore.get(point.peerId)).tags
    expect(pointTags.get(TAG_NAMES.point)?.value).to.equal(100)
  })

  it('exposes register, discover and a status view when registered as a service', async () => {
    const a = await createPeer({ points: [point], pubsub: false })
    const b = await createPeer({ points: [point], pubsub: false })
    peers.push(a, b)

    const results = await a.services.rendezvous.register('manual-ns')
    expect(results).to.have.lengthOf(1)
    expect(results[0].ttl).to.be.greaterThan(0)

    const found = await b.services.rendezvous.discover('manual-ns')
    expect(found.map(r => r.peerId.toString())).to.deep.equal([a.peerId.toString()])

    const status = a.services.rendezvous.status
    expect(status.started).to.be.true()
    expect(status.namespaces.map(s => s.ns)).to.include('manual-ns')
    expect(status.scheduler.registrations.find(r => r.ns === 'manual-ns')?.registered).to.be.true()
    expect(status.scheduler.points[0].id).to.equal(point.peerId.toString())

    await a.services.rendezvous.unregister('manual-ns')
    expect(await waitFor(async () => (await b.services.rendezvous.discover('manual-ns')).length === 0, 3000)).to.be.true()
  })

  it('refills a quota when a kept peer goes away', async () => {
    // three peers that register but never dial, and one that wants two of them
    const others = await Promise.all([1, 2, 3].map(async () => createPeer({ points: [point], pubsub: false, discovery: { dapp: 'refill', quotas: { dapp: 0 } } })))
    peers.push(...others)
    const node = await createPeer({ points: [point], pubsub: false, discovery: { dapp: 'refill', quotas: { dapp: 2 } } })
    peers.push(node)
    const connectedOthers = (): PeerNode[] => others.filter(o => o.status === 'started' && node.getPeers().some(p => p.equals(o.peerId)))

    expect(await waitFor(() => connectedOthers().length === 2, 5000)).to.be.true()
    const gone = connectedOthers()[0]
    await gone.stop()

    expect(await waitFor(() => connectedOthers().length === 2, 5000)).to.be.true('a third peer took its place')
    expect(connectedOthers()).to.not.include(gone)
  })

  it('works as a peerDiscovery module next to gossipsub, finding topic peers from the node\'s subscriptions', async () => {
    const plain = async (): Promise<Libp2p<{ pubsub: GossipSub }>> => createMemoryNode({
      peerDiscovery: [rendezvousDiscovery({ ...FAST, relay: 'never', points: [pointAddress(point)] })],
      services: { pubsub: gossipsub() }
    }) as any
    const a = await plain()
    const b = await plain()
    peers.push(a as any, b as any)
    const discovered: string[] = []
    a.addEventListener('peer:discovery', (evt) => discovered.push(evt.detail.id.toString()))

    a.services.pubsub.subscribe('plain')
    b.services.pubsub.subscribe('plain')

    expect(await waitFor(() => a.services.pubsub.getSubscribers('plain').some(p => p.equals(b.peerId)), 8000)).to.be.true()
    expect(discovered).to.include(b.peerId.toString())
  })

  it('reports registrations, dials and quota fill in the node\'s metrics', async () => {
    const registry = new Registry()
    const node = await createMemoryNode({
      metrics: prometheusMetrics({ registry, collectDefaultMetrics: false }),
      services: { rendezvous: rendezvousDiscovery({ ...FAST, relay: 'never', dapp: 'metered', points: [pointAddress(point)] }) }
    }) as any
    // the other peer never dials, so the connection is the metered node's dial
    const other = await createPeer({ points: [point], pubsub: false, discovery: { dapp: 'metered', quotas: { dapp: 0 } } })
    peers.push(node, other)

    expect(await waitFor(() => node.getPeers().some((p: PeerId) => p.equals(other.peerId)), 5000)).to.be.true()

    const value = async (name: string): Promise<Record<string, number>> => {
      const metric = await registry.getSingleMetric(name)?.get()
      return Object.fromEntries((metric?.values ?? []).map(v => [Object.values(v.labels).join('') ?? '', v.value]))
    }

    expect(await waitFor(async () => (await value('libp2p_rendezvous_discovery_registrations'))[''] === 1, 3000)).to.be.true()
    expect((await value('libp2p_rendezvous_discovery_dials_total')).dapp_success).to.be.at.least(1)
    expect((await value('libp2p_rendezvous_discovery_requests_total')).register_ok).to.be.at.least(1)
    expect((await value('libp2p_rendezvous_discovery_peers_total'))['']).to.be.at.least(1)
    const quota = await value('libp2p_rendezvous_discovery_quota')
    expect(quota.dapp_wanted).to.equal(4)
    expect(quota.dapp_connected).to.equal(1)
  })

  it('leaves itself out of its rendezvous points when the node is one of them', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const self = peerIdFromPrivateKey(privateKey)
    const listen = memoryAddress('self-point')
    const node = await createMemoryNode({
      privateKey,
      addresses: { listen: [listen] },
      services: {
        server: rendezvousServer(),
        rendezvous: rendezvousDiscovery({ ...FAST, relay: 'never', dapp: 'self', points: [`${listen}/p2p/${self.toString()}`, pointAddress(point)] })
      }
    }) as any
    peers.push(node)

    const status = node.services.rendezvous.status
    expect(status.scheduler.points.map((p: { id: string }) => p.id)).to.deep.equal([point.peerId.toString()])
    expect(await waitFor(() => node.services.rendezvous.status.scheduler.registrations.some((r: { registered: boolean }) => r.registered), 3000)).to.be.true()
  })

  it('refuses a rendezvous point address without a peer id, with a clear error', async () => {
    await expect(createPeer({ points: ['/memory/nowhere'], pubsub: false })).to.eventually.be.rejectedWith(/\/p2p\/<peer id>/)
  })
})
