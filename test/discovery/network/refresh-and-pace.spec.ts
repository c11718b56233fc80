import { expect } from 'aegir/chai'
import { PROTOCOL } from '../../../src/constants.ts'
import { createMemoryNode } from '../../fixtures/memory-node.ts'
import { createPeer, createPoint, stopAll, waitFor } from './fixtures.ts'
import type { PeerNode, PointNode } from './fixtures.ts'
import type { Libp2p } from '@libp2p/interface'

describe('discovery scheduler', () => {
  let nodes: Array<PeerNode | PointNode | Libp2p>

  beforeEach(() => {
    nodes = []
  })

  afterEach(async () => {
    await stopAll(nodes)
  })

  it('refreshes a registration before the granted TTL runs out', async () => {
    const point = await createPoint()
    nodes.push(point)
    // the point grants 2 s; without refreshes the registration would be gone after that
    const a = await createPeer({ points: [point], pubsub: false, discovery: { dapp: 'fresh', ttl: 2 } })
    const b = await createPeer({ points: [point], pubsub: false })
    nodes.push(a, b)

    const registration = (): { registeredAt?: number, ttl?: number } | undefined => a.services.rendezvous.status.scheduler.registrations.find(r => r.ns === '/dapp/fresh')
    expect(await waitFor(() => registration()?.registeredAt != null, 3000)).to.be.true()
    const first = registration()?.registeredAt ?? 0
    expect(registration()?.ttl).to.equal(2)

    expect(await waitFor(() => (registration()?.registeredAt ?? 0) > first, 3000)).to.be.true('refreshed')
    expect(await waitFor(() => (registration()?.registeredAt ?? 0) > first + 1500, 4000)).to.be.true('refreshed again')
    // still there after twice the TTL
    expect((await b.services.rendezvous.discover('/dapp/fresh')).some(r => r.peerId.equals(a.peerId))).to.be.true()
  })

  it('does not let a point that never answers hold up the others, and backs it off', async () => {
    const good = await createPoint()
    // speaks the protocol but never replies
    const silent = await createMemoryNode({}, 'silent')
    await silent.handle(PROTOCOL, () => {}, { runOnLimitedConnection: true })
    nodes.push(good, silent)

    const a = await createPeer({
      points: [silent.getMultiaddrs()[0], good],
      pubsub: false,
      discovery: { dapp: 'patient', clientInit: { timeout: 1500 } }
    })
    nodes.push(a)

    const at = (id: string): { registered: boolean, failures: number } | undefined => a.services.rendezvous.status.scheduler.registrations.find(r => r.point === id)
    expect(await waitFor(() => at(good.peerId.toString())?.registered === true, 1000)).to.be.true('the good point is served first')
    expect(at(silent.peerId.toString())?.registered).to.be.false()

    expect(await waitFor(() => (a.services.rendezvous.status.scheduler.points.find(p => p.id === silent.peerId.toString())?.failures ?? 0) > 0, 4000)).to.be.true()
    const silentState = a.services.rendezvous.status.scheduler.points.find(p => p.id === silent.peerId.toString())
    expect(silentState?.down).to.be.true()
    expect(silentState?.backoffUntil).to.be.greaterThan(0)
  })

  it('slows discovery down while nothing new arrives, and further once the quota is met', async () => {
    const point = await createPoint()
    nodes.push(point)
    const a = await createPeer({ points: [point], pubsub: false, discovery: { dapp: 'quiet', quotas: { dapp: 1 } } })
    nodes.push(a)
    const query = (): { interval: number, queries: number, nextQueryAt?: number } | undefined => a.services.rendezvous.status.scheduler.discoveries.find(d => d.ns === '/dapp/quiet')

    // nothing to find: the interval doubles from 250 ms up to maxDiscoverInterval (1000 ms)
    expect(await waitFor(() => query()?.interval === 1000, 4000)).to.be.true()

    const b = await createPeer({ points: [point], pubsub: false, discovery: { dapp: 'quiet', quotas: { dapp: 0 } } })
    nodes.push(b)
    expect(await waitFor(() => a.getPeers().some(p => p.equals(b.peerId)), 4000)).to.be.true()

    // quota met: the next query waits satisfiedDiscoverInterval (2000 ms ± 10%), not the short interval
    const queries = query()?.queries ?? 0
    expect(await waitFor(() => (query()?.queries ?? 0) > queries, 3000)).to.be.true()
    expect((query()?.nextQueryAt ?? 0) - Date.now()).to.be.greaterThan(1000)
  })
})
