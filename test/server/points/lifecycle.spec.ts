/**
 * How a point keeps its place in a network of points over time: it refreshes its announcements before the TTL runs
 * out, announces again when its addresses change, keeps retrying a peer point that is down, and gets back into the
 * lists of a point that restarted with an empty store.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { POINTS_NAMESPACE } from '../../../src/constants.ts'
import { memoryAddress } from '../../fixtures/memory-node.ts'
import { PointNodes, listedIn, planPoint, sorted, within } from './fixtures.ts'
import type { PointNode } from './fixtures.ts'

/** The addresses a point's store holds in the record of `peerId` under `/libp2p/rendezvous` */
async function recordAddresses (point: PointNode, peerId: string): Promise<string[]> {
  const { registrations } = await point.services.rendezvous.store.discover({ namespace: POINTS_NAMESPACE, afterSeq: 0n, limit: 1000, now: Date.now() })
  const registration = registrations.find(registration => registration.peerId === peerId)

  if (registration == null) {
    return []
  }

  const { openPeerRecord } = await import('../../../src/protocol/peer-record.ts')
  return (await openPeerRecord(registration.signedPeerRecord)).multiaddrs.map(String)
}

describe('a point in a network of points over time', function () {
  this.timeout(60_000)

  const nodes = new PointNodes()

  afterEach(async () => {
    await nodes.stopAll()
  })

  it('refreshes its announcement at half the TTL the other point grants, so it stays listed past the TTL', async () => {
    const [a, b] = await Promise.all([planPoint('ttl-a'), planPoint('ttl-b')])
    const admitPoints = [a.peerId.toString(), b.peerId.toString()]
    // A grants 2 s: B registers again every second
    const pointA = await nodes.point(a, { admitPoints, minTtl: 1, maxTtl: 2 })
    await nodes.point(b, { admitPoints, peerPoints: [a.address] })

    await within('A listing B', 5000, async () => (await listedIn(pointA)).includes(b.peerId.toString()))
    const first = (await pointA.services.rendezvous.store.discover({ namespace: POINTS_NAMESPACE, afterSeq: 0n, limit: 10, now: Date.now() })).registrations.find(r => r.peerId === b.peerId.toString())

    // three TTLs later, still listed, by a registration made since
    await new Promise(resolve => setTimeout(resolve, 6000))
    await pointA.services.rendezvous.sweep()
    const later = (await pointA.services.rendezvous.store.discover({ namespace: POINTS_NAMESPACE, afterSeq: 0n, limit: 10, now: Date.now() })).registrations.find(r => r.peerId === b.peerId.toString())
    expect(later).to.not.be.undefined()
    expect((later?.seq ?? 0n) > (first?.seq ?? 0n)).to.be.true()
  })

  it('announces its new record at every point it knows when its addresses change', async () => {
    const [a, b] = await Promise.all([planPoint('addr-a'), planPoint('addr-b')])
    const admitPoints = [a.peerId.toString(), b.peerId.toString()]
    const pointA = await nodes.point(a, { admitPoints })
    const pointB = await nodes.point(b, { admitPoints, peerPoints: [a.address] })
    await within('A listing B', 5000, async () => (await recordAddresses(pointA, b.peerId.toString())).length === 1)

    const added = memoryAddress('addr-b-second')
    await (pointB as any).components.transportManager.listen([multiaddr(added)])

    // address updates are gathered for 1 s, then every known point gets the new record
    await within('A holding B\'s new address', 5000, async () => (await recordAddresses(pointA, b.peerId.toString())).includes(added))
    // and B's own listing has it too
    expect(await recordAddresses(pointB, b.peerId.toString())).to.include(added)
  })

  it('keeps retrying a peer point that is down at start, and joins it once it is up', async () => {
    const [a, b] = await Promise.all([planPoint('late-a'), planPoint('late-b')])
    const admitPoints = [a.peerId.toString(), b.peerId.toString()]
    const pointB = await nodes.point(b, { admitPoints, peerPoints: [a.address] })

    // A is not there: B's visits fail, backing off 1 s, 2 s, 4 s…, and B keeps A (a peer point is never dropped)
    await within('B failing to reach A three times', 10_000, () => (pointB.services.rendezvous.knownPoints()[0]?.failures ?? 0) >= 3)
    expect(pointB.services.rendezvous.knownPoints().map(point => point.peerId.toString())).to.deep.equal([a.peerId.toString()])

    const pointA = await nodes.point(a, { admitPoints })
    const both = sorted(admitPoints)
    // the next retry is at most 8 s away (the 4th failure's backoff)
    const took = await within('A and B listing each other', 15_000, async () => (await listedIn(pointA)).join() === both.join() && (await listedIn(pointB)).join() === both.join())
    expect(pointB.services.rendezvous.knownPoints()[0]).to.include({ failures: 0, announced: true })
    // eslint-disable-next-line no-console
    console.log(`      POINTS_LATE_PEER_REPORT: a peer point that came up after 3 failures listed both ${Math.round(took)} ms later (bound: the backoff, 8 s)`)
  })

  it('drops a learned point whose registration ran out, though it still answers', async () => {
    // P lists for 2 s at most; X lists itself there once and never again (a point that left the network)
    const [p, q] = await Promise.all([planPoint('expiry-p'), planPoint('expiry-q')])
    const pointP = await nodes.point(p, { admitPoints: 'any', minTtl: 1, maxTtl: 2 })
    const x = await nodes.pointWithClient(await planPoint('expiry-x'))
    expect(await x.services.client.register(pointP.getMultiaddrs(), POINTS_NAMESPACE, { ttl: 2 })).to.equal(2)

    const pointQ = await nodes.point(q, { peerPoints: [p.address], admitPoints: 'any' })
    const knows = (id: string): boolean => pointQ.services.rendezvous.knownPoints().some(point => point.peerId.toString() === id)
    await within('Q learning X from P\'s list', 5000, () => knows(x.peerId.toString()))
    // X refuses Q's announcement (it admits nobody) but answers: only its expired listing drops it
    const took = await within('Q dropping X', 10_000, () => !knows(x.peerId.toString()))
    expect(knows(p.peerId.toString())).to.be.true()
    // eslint-disable-next-line no-console
    console.log(`      POINTS_EXPIRY_REPORT: a learned point whose 2 s listing ran out dropped ${Math.round(took)} ms after it was learned`)
  })

  it('gets back into the list of a point that restarted with an empty store, and lists it again', async () => {
    const [a, b] = await Promise.all([planPoint('restart-a'), planPoint('restart-b')])
    const admitPoints = [a.peerId.toString(), b.peerId.toString()]
    const both = sorted(admitPoints)
    const pointA = await nodes.point(a, { admitPoints })
    const pointB = await nodes.point(b, { admitPoints, peerPoints: [a.address] })
    await within('A and B listing each other', 5000, async () => (await listedIn(pointA)).join() === both.join() && (await listedIn(pointB)).join() === both.join())

    // B goes away (its UNREGISTER removes it from A's list) and comes back with the same identity and an empty store
    await pointB.stop()
    const restartedB = await nodes.point(b, { admitPoints, peerPoints: [a.address] })
    const restarted = performance.now()

    // B announces at its peer point A; A, hearing B again, announces at B, which lost A's registration with its store
    const took = await within('A and the restarted B listing each other', 10_000, async () => (await listedIn(pointA)).join() === both.join() && (await listedIn(restartedB)).join() === both.join())
    expect(performance.now() - restarted).to.be.below(10_000)
    // eslint-disable-next-line no-console
    console.log(`      POINTS_RESTART_REPORT: a restarted point and its peer point list each other again ${Math.round(took)} ms after it started`)
  })
})
