import { defaultLogger } from '@libp2p/logger'
import { PeerSet } from '@libp2p/peer-collections'
import { expect } from 'aegir/chai'
import all from 'it-all'
import { resolveOptions } from '../../../../src/discovery/config.ts'
import { Demand } from '../../../../src/discovery/demand.ts'
import { PointHealth } from '../../../../src/discovery/points/point-health.ts'
import { PointPlacement } from '../../../../src/discovery/points/point-placement.ts'
import { parsePoints } from '../../../../src/discovery/points/point.ts'
import { Queries } from '../../../../src/discovery/points/queries.ts'
import { SETTLE_QUIET } from '../../../../src/discovery/points/query-schedule.ts'
import { FakeClient, FakePoint } from '../stubs/fake-client.ts'
import { fakeRuntime } from '../stubs/fake-clock.ts'
import { peerIds } from '../stubs/peers.ts'
import type { RendezvousDiscoveryInit } from '../../../../src/discovery/options.ts'
import type { DiscoveredPage } from '../../../../src/discovery/peers/peer-intake.ts'
import type { PeerId } from '@libp2p/interface'

/** The deficit every namespace reports, set by the test as the quotas would */
class FixedDemand extends Demand {
  value = 6

  override deficit (): number {
    return this.value
  }
}

describe('discovery queries', () => {
  let self: PeerId
  let pointId: PeerId
  let others: PeerId[]

  before(async () => {
    [self, pointId, ...others] = await peerIds(14)
  })

  interface Setup {
    queries: Queries
    points: PointHealth
    client: FakeClient
    point: FakePoint
    runtime: ReturnType<typeof fakeRuntime>
    pages: DiscoveredPage[]
    /** The deficit the quotas report */
    deficit: FixedDemand
  }

  function setup (init: RendezvousDiscoveryInit = {}): Setup {
    const runtime = fakeRuntime()
    const point = new FakePoint(pointId, runtime.clock)
    const options = resolveOptions({ points: [point.multiaddr], ...init })
    const client = new FakeClient(self, [point], runtime.clock)
    const configured = parsePoints(options.points)
    const points = new PointHealth(configured, options, runtime, defaultLogger().forComponent('test'))
    const pages: DiscoveredPage[] = []
    const deficit = new FixedDemand()
    const known = new PeerSet()
    const queries = new Queries({ client, logger: defaultLogger() }, points, new PointPlacement(configured, points, options), options, runtime, {
      demand: deficit,
      intake: {
        take: async (page) => {
          pages.push(page)
          let fresh = 0

          for (const r of page.registrations) {
            if (!known.has(r.peerId)) {
              known.add(r.peerId)
              fresh++
            }
          }

          return fresh
        }
      }
    })
    queries.start()
    return { queries, points, client, point, runtime, pages, deficit }
  }

  it('queries a fallback point (a configured one not placed) only while the quota is unmet after the placed point answered', async () => {
    const runtime = fakeRuntime()
    const placed = new FakePoint(pointId, runtime.clock)
    const fallback = new FakePoint(others[0], runtime.clock)
    const options = resolveOptions({ points: [fallback.multiaddr], pointsPerNamespace: 1 })
    const client = new FakeClient(self, [placed, fallback], runtime.clock)
    const [configured] = parsePoints([fallback.multiaddr])
    const points = new PointHealth([configured], options, runtime, defaultLogger().forComponent('test'))
    const placement = new PointPlacement([configured], points, options)
    placement.setKnown(parsePoints([placed.multiaddr]))
    const deficit = new FixedDemand()
    deficit.value = 0
    const queries = new Queries({ client, logger: defaultLogger() }, points, placement, options, runtime, { demand: deficit, intake: { take: async () => 0 } })
    queries.start()
    queries.setNamespaces(['a'])
    const at = (point: FakePoint): number => client.calls.filter(c => c.type === 'discover' && c.point === point.peerId.toString()).length

    await runtime.clock.tick(60_000)
    expect(at(placed)).to.be.greaterThan(0)
    expect(at(fallback)).to.equal(0, 'the quota is met: the fallback point is not asked')

    deficit.value = 6
    deficit.count('a', 6)
    await runtime.clock.tick(1000)
    expect(at(fallback)).to.be.greaterThan(0, 'the quota is unmet: the fallback point is asked too')
    queries.stop()
  })

  it('queries at once, then only for what is new, with the cookie of the previous answer', async () => {
    const { queries, client, point, runtime, pages } = setup()
    point.register(others[0], 'ns', 7200)
    queries.setNamespaces(['ns'])
    await runtime.clock.tick(0)
    expect(client.calls[0].cookie).to.equal(null, 'the first query starts from the beginning')
    expect(pages[0].registrations.map(r => r.peerId.toString())).to.deep.equal([others[0].toString()])

    point.register(others[1], 'ns', 7200)
    await runtime.clock.tick(200)
    expect(client.count('discover')).to.be.at.least(2)
    expect(client.calls.slice(1).every(c => c.cookie instanceof Uint8Array)).to.be.true()
    expect(pages.slice(1).flatMap(p => p.registrations).map(r => r.peerId.toString())).to.deep.equal([others[1].toString()])
    queries.stop()
  })

  describe('cookies belong to the queries (issue 12, item 3)', () => {
    it('starts from the beginning after a stop and a start, and finds the peers known before again', async () => {
      const { queries, client, point, runtime, pages } = setup()
      point.register(others[0], 'ns', 7200)
      queries.setNamespaces(['ns'])
      await runtime.clock.tick(0)
      expect(pages).to.have.lengthOf(1)

      queries.stop()
      queries.start()
      queries.setNamespaces(['ns'])
      await runtime.clock.tick(0)

      const last = client.calls[client.calls.length - 1]
      expect(last.cookie).to.equal(null)
      expect(pages[pages.length - 1].registrations.map(r => r.peerId.toString())).to.deep.equal([others[0].toString()])
      queries.stop()
    })

    it('starts from the beginning for a namespace dropped and wanted again', async () => {
      const { queries, client, runtime } = setup()
      queries.setNamespaces(['ns'])
      await runtime.clock.tick(0)
      await runtime.clock.tick(200)
      expect(client.calls[client.calls.length - 1].cookie).to.be.an.instanceOf(Uint8Array)

      queries.setNamespaces([])
      queries.setNamespaces(['ns'])
      await runtime.clock.tick(0)
      expect(client.calls[client.calls.length - 1].cookie).to.equal(null)
      queries.stop()
    })

    it('never continues from a cookie the client holds for someone else (a one-off discover)', async () => {
      const { queries, client, point, runtime, pages } = setup()
      point.register(others[0], 'ns', 7200)
      // someone walks the namespace to its end with the same client: the client's own cookie jar would now
      // point past every registration
      await all(client.discoverAll(point.multiaddr, 'ns', { cookie: null }))

      queries.setNamespaces(['ns'])
      await runtime.clock.tick(0)
      expect(pages[0].registrations).to.have.lengthOf(1)
      queries.stop()
    })
  })

  it('hands each page over together with whether more pages follow, and fetches those at once', async () => {
    const { queries, point, runtime, pages } = setup({ discoverLimit: 4 })

    for (const other of others.slice(0, 10)) {
      point.register(other, 'ns', 7200)
    }

    queries.setNamespaces(['ns'])
    await runtime.clock.tick(0)

    expect(pages.map(p => [p.registrations.length, p.more])).to.deep.equal([[4, true], [4, true], [2, false]])
    queries.stop()
  })

  it('says a young namespace is still filling while registrants keep arriving, and confirms it settled after a quiet time', async () => {
    const { queries, client, point, runtime, pages } = setup({ fastDiscoverInterval: 100 })
    point.register(others[0], 'ns', 7200)
    queries.setNamespaces(['ns'])
    await runtime.clock.tick(0)
    expect(pages[0].filling).to.be.true()

    // peers started together keep registering
    for (const other of others.slice(1, 4)) {
      point.register(other, 'ns', 7200)
      await runtime.clock.tick(60)
    }

    expect(pages.every(p => p.filling)).to.be.true()
    await runtime.clock.tick(1000)

    // pages and calls match one to one: the last that brought someone, then the one that confirms the quiet
    const lastNew = pages.map(p => p.registrations.length > 0).lastIndexOf(true)
    const settled = pages.findIndex(p => !p.filling)
    expect(settled).to.be.greaterThan(lastNew)
    const quiet = client.calls[settled].at - client.calls[lastNew].at
    expect(quiet).to.be.within(SETTLE_QUIET, SETTLE_QUIET + 20, 'the confirming query goes as the quiet time ends')
    queries.stop()
  })

  it('does not loop on a point that repeats a full page (issue 12, item 5)', async () => {
    const { queries, client, point, runtime, pages } = setup({ discoverLimit: 4, discoverInterval: 1000, fastDiscoverInterval: 100 })

    for (const other of others.slice(0, 4)) {
      point.register(other, 'ns', 7200)
    }

    // a broken point: the same full page, with a fresh cookie, every time
    const page = point.discover('ns', null, 4)
    client.answer = () => ({ ...page, cookie: new Uint8Array(8).fill(client.calls.length) })
    queries.setNamespaces(['ns'])
    await runtime.clock.tick(3000)

    // a walk of two pages (the second brings nothing new), then one query each at the schedule's pace: 100, 200,
    // 400, 800 ms later (the next 1.6 s later)
    expect(pages.map(p => p.more)).to.deep.equal([true, false, false, false, false, false])
    expect(client.count('discover')).to.equal(6)
    queries.stop()
  })

  it('queries fast while a young namespace is short of its quota, slower later, and once per period at quota', async () => {
    const { queries, client, runtime, deficit } = setup({ fastDiscoverInterval: 100, fastDiscoverWindow: 2000, discoverInterval: 1000, maxDiscoverInterval: 4000, satisfiedDiscoverInterval: 30_000 })
    queries.setNamespaces(['ns'])
    await runtime.clock.tick(0)
    const at = (): number[] => client.calls.map(c => c.at - client.calls[0].at)

    await runtime.clock.tick(2000)
    // nothing new comes: 100, 200, 400, 800 ms apart (±10%)
    expect(at().length).to.equal(5)

    await runtime.clock.tick(10_000)
    const slow = at().slice(5)
    expect(slow.length).to.be.within(2, 4)

    // the quota is met: at most one query per 30 s from then on, the first within 30 s
    deficit.value = 0
    await runtime.clock.tick(4400)
    const before = client.count('discover')
    await runtime.clock.tick(30_000)
    expect(client.count('discover')).to.equal(before + 1)
    await runtime.clock.tick(120_000)
    expect(client.count('discover')).to.equal(before + 5)
    queries.stop()
  })

  it('asks a young namespace short of its quota that brings nothing new 7 times in its first 10 s, not every second', async () => {
    // the defaults: 100 ms, doubling; a young namespace of 40 topics whose only other registrant is known cost 13
    // DISCOVERs each in 10 s when the fast delay stopped doubling at discoverInterval (1 s)
    const { queries, client, runtime } = setup()
    queries.setNamespaces(['ns'])
    await runtime.clock.tick(10_000)
    // at 0, 0.1, 0.3, 0.7, 1.5, 3.1 and 6.3 s (±10%)
    expect(client.count('discover')).to.equal(7)
    queries.stop()
  })

  it('pulls the next query forward when the quotas count a met quota unmet', async () => {
    const { queries, client, runtime, deficit } = setup({ satisfiedDiscoverInterval: 30_000 })
    deficit.value = 0
    deficit.count('ns', 0)
    queries.setNamespaces(['ns'])
    await runtime.clock.tick(0)
    await runtime.clock.tick(1000)
    expect(client.count('discover')).to.equal(1)

    deficit.value = 1
    const unmetAt = runtime.clock.now()
    deficit.count('ns', 1)
    await runtime.clock.tick(300)
    expect(client.count('discover')).to.be.at.least(2)
    expect(client.calls[1].at - unmetAt).to.be.within(100, 300)
    queries.stop()
  })

  it('waits for a point in backoff, and ends a walk of pages that fails half way', async () => {
    const { queries, client, point, runtime, pages } = setup({ discoverLimit: 2, pointBackoff: { initial: 1000, max: 1000 } })

    for (const other of others.slice(0, 5)) {
      point.register(other, 'ns', 7200)
    }

    client.onDiscover = (call) => {
      if (call.cookie != null) {
        throw new Error('connection reset')
      }
    }
    queries.setNamespaces(['ns'])
    await runtime.clock.tick(0)
    expect(pages.map(p => p.more)).to.deep.equal([true, false], 'the failed walk ends with an empty last page')

    client.onDiscover = undefined
    await runtime.clock.tick(999)
    expect(client.count('discover')).to.equal(2, 'nothing while the point backs off')
    await runtime.clock.tick(1)
    expect(client.count('discover')).to.be.greaterThan(2)
    queries.stop()
  })

  it('brings forward only the queries that waited for a point that comes back; the others keep their schedule', async () => {
    const { queries, client, runtime, points } = setup({ fastDiscoverWindow: 1000, pointBackoff: { initial: 5000, max: 5000 } })
    const point = points.list[0]
    queries.setNamespaces(['a', 'b', 'c'])
    // past the fast schedule: the next queries are seconds away
    await runtime.clock.tick(2000)
    const settled = client.count('discover')

    // the connection closed and opened again: the point is back, and no query waited for it
    points.disconnected(point.peerId)
    queries.pointBack(point)
    await runtime.clock.tick(10)
    expect(client.count('discover')).to.equal(settled, 'no query brought forward')

    // a query of 'a' (pulled forward by its quota) fails with the point, which backs off: once the point is back,
    // that query goes at once, and it alone
    client.onDiscover = () => { throw new Error('connection reset') }
    queries.quotaUnmet('a')
    await runtime.clock.tick(500)
    expect(point.down).to.be.true()
    client.onDiscover = undefined
    const failed = client.count('discover')
    points.succeeded(point)
    queries.pointBack(point)
    await runtime.clock.tick(10)
    expect(client.calls.slice(failed).map(c => c.ns)).to.deep.equal(['a'], 'the query that waited for the point, alone')
    queries.stop()
  })
})
