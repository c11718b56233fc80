import { expect } from 'aegir/chai'
import { resolveOptions } from '../../../../src/discovery/config.ts'
import { TAG_NAMES } from '../../../../src/discovery/constants.ts'
import { Demand } from '../../../../src/discovery/demand.ts'
import { PAGING_HOLD, SETTLE_HOLD } from '../../../../src/discovery/peers/dial-holds.ts'
import { PeerIntake } from '../../../../src/discovery/peers/peer-intake.ts'
import { INBOUND_GRACE, Quotas, RECONCILE_DELAY } from '../../../../src/discovery/peers/quotas.ts'
import { Rings, closestFirst } from '../../../../src/discovery/peers/selection.ts'
import { fakeRuntime } from '../stubs/fake-clock.ts'
import { StubNode } from '../stubs/node.ts'
import { peerIds } from '../stubs/peers.ts'
import type { NamespaceSpec, RendezvousDiscoveryInit } from '../../../../src/discovery/options.ts'
import type { PeerId } from '@libp2p/interface'

const dapp: NamespaceSpec = { ns: '/dapp/x', kind: 'dapp', register: true, discover: true, quota: 2 }
const topic: NamespaceSpec = { ns: 'floodsub:t', kind: 'topic', topic: 't', register: true, discover: true, quota: 3 }
const relay: NamespaceSpec = { ns: '/libp2p/relay', kind: 'relay', register: false, discover: true, quota: 1 }

describe('quotas', () => {
  let self: PeerId
  let others: PeerId[]

  before(async () => {
    [self, ...others] = await peerIds(13)
  })

  function setup (init: RendezvousDiscoveryInit = {}): { quotas: Quotas, node: StubNode, runtime: ReturnType<typeof fakeRuntime>, subscribers: PeerId[], outcomes: string[], unmet: string[] } {
    const runtime = fakeRuntime()
    const node = new StubNode(self, runtime.clock)
    const subscribers: PeerId[] = []
    const outcomes: string[] = []
    const unmet: string[] = []
    const demand = new Demand()
    demand.addEventListener('unmet', (evt) => unmet.push(evt.detail))
    const quotas = new Quotas(node, resolveOptions({ countGrace: 5000, ...init }), runtime, {
      demand,
      subscriptions: { subscribers: () => subscribers },
      metrics: { dial: (kind, outcome) => outcomes.push(`${kind}:${outcome}`) }
    })
    quotas.start()
    return { quotas, node, runtime, subscribers, outcomes, unmet }
  }

  it('dials up to the quota, tags the peers it keeps, and removes the tags when the namespace goes', async () => {
    const { quotas, node, runtime } = setup()
    quotas.setNamespaces([dapp])
    others.slice(0, 6).forEach(p => quotas.addCandidate(dapp.ns, p, 60))
    await runtime.clock.tick(INBOUND_GRACE + 100)

    expect(node.connections).to.have.lengthOf(2)
    expect(quotas.deficit(dapp.ns)).to.equal(0)
    const kept = node.connections.map(c => c.remotePeer)
    expect(kept.every(p => node.tagsOf(p).includes(TAG_NAMES.dapp))).to.be.true()

    quotas.setNamespaces([])
    await runtime.clock.tick(RECONCILE_DELAY * 5)
    expect(kept.every(p => node.tagsOf(p).length === 0)).to.be.true()
    await quotas.stop()
  })

  it('stores a peer\'s signed record just before dialing it, and only then', async () => {
    const { quotas, node, runtime } = setup()
    quotas.setNamespaces([dapp])
    others.slice(0, 6).forEach(p => quotas.addCandidate(dapp.ns, p, 60, new Uint8Array([1])))
    await runtime.clock.tick(INBOUND_GRACE + 100)

    expect(node.records.map(String).sort()).to.deep.equal(node.dialed.map(String).sort())
    expect(node.records.length).to.be.lessThan(6)
    await quotas.stop()
  })

  it('never dials itself, and announces an unmet quota once per transition', async () => {
    const { quotas, node, runtime, unmet } = setup()
    quotas.setNamespaces([dapp])
    const intake = new PeerIntake(self, quotas)
    intake.start()
    expect(intake.accept(dapp.ns, [{ peerId: self, multiaddrs: [], namespace: dapp.ns, ttl: 60, seqNumber: 1n, signedPeerRecord: new Uint8Array(0) }]).added).to.equal(0)
    await runtime.clock.tick(5000)
    expect(node.dialed).to.have.lengthOf(0)
    expect(unmet).to.deep.equal([dapp.ns])
    await quotas.stop()
  })

  it('dials nothing while a point pages through a long list, then chooses among the whole list (the paging order)', async () => {
    const { quotas, node, runtime } = setup()
    quotas.setNamespaces([dapp])
    const firstPage = others.slice(0, 3)
    const lastPage = others.slice(3, 10)

    // a page and "more follow" in one call: the hold is set before the page's peers are candidates
    quotas.holdDials(dapp.ns, 'point', 'paging')
    firstPage.forEach(p => quotas.addCandidate(dapp.ns, p, 60))
    await runtime.clock.tick(100)
    expect(node.dialed).to.have.lengthOf(0, 'nothing dialed from the first page')

    lastPage.forEach(p => quotas.addCandidate(dapp.ns, p, 60))
    quotas.releaseDials(dapp.ns, 'point')
    await runtime.clock.tick(INBOUND_GRACE + 100)

    // the same choice as a node that got the whole list in one page
    const whole = setup()
    whole.quotas.setNamespaces([dapp])
    others.slice(0, 10).forEach(p => whole.quotas.addCandidate(dapp.ns, p, 60))
    await whole.runtime.clock.tick(INBOUND_GRACE + 100)
    expect(node.dialed.map(String).sort()).to.deep.equal(whole.node.dialed.map(String).sort())
    await quotas.stop()
    await whole.quotas.stop()
  })

  it('waits while a young namespace still fills, and then dials among all its registrants', async () => {
    const { quotas, node, runtime } = setup()
    quotas.setNamespaces([dapp])
    quotas.holdDials(dapp.ns, 'point', 'filling')
    others.slice(0, 3).forEach(p => quotas.addCandidate(dapp.ns, p, 60))
    await runtime.clock.tick(1000)
    expect(node.dialed).to.have.lengthOf(0)

    others.slice(3, 10).forEach(p => quotas.addCandidate(dapp.ns, p, 60))
    quotas.releaseDials(dapp.ns, 'point')
    await runtime.clock.tick(INBOUND_GRACE + 100)
    expect(node.dialed.length).to.be.within(1, 2)

    // a namespace that never stops growing is waited for SETTLE_HOLD at most
    const other = setup()
    other.quotas.setNamespaces([dapp])
    other.quotas.holdDials(dapp.ns, 'point', 'filling')
    others.slice(0, 6).forEach(p => other.quotas.addCandidate(dapp.ns, p, 60))
    await other.runtime.clock.tick(SETTLE_HOLD - 10)
    other.quotas.holdDials(dapp.ns, 'point', 'filling')
    expect(other.node.dialed).to.have.lengthOf(0)
    await other.runtime.clock.tick(INBOUND_GRACE + 100)
    expect(other.node.dialed.length).to.be.greaterThan(0)
    await quotas.stop()
    await other.quotas.stop()
  })

  it('dials the ring links that are its to dial even when peers off its links fill its quota, so their other ends do not wait', async () => {
    const { quotas, node, runtime, subscribers } = setup()
    const ring: NamespaceSpec = { ...topic, quota: 6 }
    const members = others.slice(0, 10)
    const rings = new Rings([self, ...members], 6)
    const mine = [...rings.links(self), ...rings.extras(self)].filter(p => rings.dials(self, p))
    const strangers = members.filter(p => !rings.links(self).some(l => l.equals(p)) && !rings.extras(self).some(l => l.equals(p)))
    expect(mine.length).to.be.greaterThan(0)
    expect(strangers.length).to.be.greaterThan(0)

    quotas.setNamespaces([ring])
    members.forEach(p => quotas.addCandidate(ring.ns, p, 60))
    // peers off its links dial it and subscribe first
    for (const stranger of strangers.slice(0, 6)) {
      node.connect(stranger)
      subscribers.push(stranger)
    }

    await runtime.clock.tick(RECONCILE_DELAY * 5)
    expect(mine.every(p => node.dialed.some(d => d.equals(p)))).to.be.true()
    await quotas.stop()
  })

  it('stops holding dials when the last page never comes', async () => {
    const { quotas, node, runtime } = setup()
    quotas.setNamespaces([dapp])
    quotas.holdDials(dapp.ns, 'point', 'paging')
    others.slice(0, 3).forEach(p => quotas.addCandidate(dapp.ns, p, 60))
    await runtime.clock.tick(PAGING_HOLD - 1)
    expect(node.dialed).to.have.lengthOf(0)
    await runtime.clock.tick(1)
    expect(node.dialed.length).to.be.greaterThan(0)
    await quotas.stop()
  })

  it('counts a topic peer whoever dialed, and does not dial in place of a registrant that just connected', async () => {
    const { quotas, node, runtime, subscribers } = setup()
    quotas.setNamespaces([topic])
    others.slice(0, 6).forEach(p => quotas.addCandidate(topic.ns, p, 60))

    // three registrants dial us before our reconcile runs; pubsub does not list them yet
    for (const peer of others.slice(0, 3)) {
      node.connect(peer, 'inbound')
    }

    await runtime.clock.tick(INBOUND_GRACE + 100)
    expect(node.dialed).to.have.lengthOf(0, 'they are arriving: nobody is dialed in their place')
    expect(quotas.deficit(topic.ns)).to.equal(0)

    // pubsub learns two of them; the third never subscribes: after countGrace it no longer counts
    subscribers.push(others[0], others[1])
    await runtime.clock.tick(5000)
    expect(quotas.status().quotas[0].connected).to.equal(2)
    expect(node.dialed).to.have.lengthOf(1)
    await quotas.stop()
  })

  it('backs off a peer whose dial failed and dials another, then looks again when the backoff ends', async () => {
    const { quotas, node, runtime, outcomes } = setup({ peerBackoff: { initial: 10_000, max: 10_000 } })
    const [bad, good] = others
    node.dial = (peer) => {
      if (peer.equals(bad)) {
        throw new Error('unreachable')
      }
    }
    quotas.setNamespaces([relay])
    quotas.addCandidate(relay.ns, bad, 600)
    await runtime.clock.tick(RECONCILE_DELAY * 5)
    expect(outcomes).to.deep.equal(['relay:failure'])
    expect(quotas.status().backedOff).to.equal(1)

    quotas.addCandidate(relay.ns, good, 600)
    await runtime.clock.tick(RECONCILE_DELAY * 5)
    expect(outcomes).to.deep.equal(['relay:failure', 'relay:success'])

    node.disconnect(good)
    node.dial = () => {}
    await runtime.clock.tick(9000)
    // the good one is dialed again at once; the bad one waits out its backoff
    expect(node.dialed.filter(p => p.equals(bad))).to.have.lengthOf(1)
    await quotas.stop()
  })

  it('dials nothing past maxConnections minus the headroom', async () => {
    const { quotas, node, runtime } = setup({ connectionHeadroom: 2 })
    node.maxConnections = 5
    quotas.setNamespaces([{ ...dapp, quota: 10 }])
    others.slice(0, 10).forEach(p => quotas.addCandidate(dapp.ns, p, 60))
    await runtime.clock.tick(INBOUND_GRACE * 2)

    expect(node.connections).to.have.lengthOf(3)
    expect(quotas.status().connectionLimit).to.equal(3)
    await quotas.stop()
  })

  it('keeps the registrants nearest in kad-dht\'s keyspace for a closest namespace, and moves to a nearer one', async () => {
    const { quotas, node, runtime } = setup()
    const closest: NamespaceSpec = { ns: 'dht', kind: 'user', register: true, discover: true, quota: 2, selection: 'closest' }
    const pool = others.slice(0, 8)
    const nearest = closestFirst(self, pool)
    quotas.setNamespaces([closest])

    // the two nearest are not known yet: the next two are kept
    nearest.slice(2).forEach(p => quotas.addCandidate(closest.ns, p, 60))
    await runtime.clock.tick(RECONCILE_DELAY * 5)
    expect(node.connections.map(c => c.remotePeer.toString()).sort()).to.deep.equal(nearest.slice(2, 4).map(String).sort())

    nearest.slice(0, 2).forEach(p => quotas.addCandidate(closest.ns, p, 60))
    await runtime.clock.tick(RECONCILE_DELAY * 5)
    const tagged = nearest.filter(p => node.tagsOf(p).includes(TAG_NAMES.user))
    expect(tagged.map(String)).to.deep.equal(nearest.slice(0, 2).map(String))
    await quotas.stop()
  })
})
