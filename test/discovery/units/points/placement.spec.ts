/**
 * Namespaces spread over points by highest-random-weight hashing, on a fake clock: every node that knows the same
 * points picks the same ones, each point holds about k/N of the namespaces, a failing point's next by weight stands
 * in until it answers again, and nodes whose views of the points differ still share a point for most namespaces
 * (measured and printed). And the points a node learns: only from trusted points, used once verified, dropped after
 * failing, bounded.
 */
import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { POINTS_NAMESPACE } from '../../../../src/constants.ts'
import { rankPoints } from '../../../../src/discovery/points/hrw.ts'
import { PointHealth } from '../../../../src/discovery/points/point-health.ts'
import { DROP_AFTER, PointLearning } from '../../../../src/discovery/points/point-learning.ts'
import { PointPlacement } from '../../../../src/discovery/points/point-placement.ts'
import { learnedPoint, parsePoints } from '../../../../src/discovery/points/point.ts'
import { fakeRuntime } from '../stubs/fake-clock.ts'
import { peerIds, pointAddress } from '../stubs/peers.ts'
import type { Point } from '../../../../src/discovery/points/point.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const K = 3
const OPTIONS = { pointsPerNamespace: K, configuredFallback: true, pointBackoff: { initial: 100, max: 1000 } }
const log = defaultLogger().forComponent('test')

function namespaces (count: number): string[] {
  return Array.from({ length: count }, (_, i) => `floodsub:topic-${i}`)
}

/** Max and mean of the namespaces each point holds */
function load (points: Point[], placed: (ns: string) => Point[], nss: string[]): { max: number, mean: number } {
  const held = new Map(points.map(p => [p.id, 0]))
  nss.forEach(ns => placed(ns).forEach(p => held.set(p.id, (held.get(p.id) ?? 0) + 1)))
  const counts = [...held.values()]
  return { max: Math.max(...counts), mean: counts.reduce((a, b) => a + b, 0) / counts.length }
}

/** The fraction of `nss` for which `x` and `y` place a point in common */
function shared (x: PointPlacement, y: PointPlacement, nss: string[]): number {
  const common = (ns: string): boolean => {
    const ids = new Set(y.pointsFor(ns).map(p => p.id))
    return x.pointsFor(ns).some(p => ids.has(p.id))
  }
  return nss.filter(common).length / nss.length
}

describe('point placement', () => {
  let ids: PeerId[]
  let points: Point[]

  before(async () => {
    ids = await peerIds(21)
    points = parsePoints(ids.slice(1).map(id => pointAddress(id)))
  })

  it('gives every node that knows the same points the same k points, whatever order it learned them in', () => {
    const runtime = fakeRuntime()
    const a = new PointPlacement(points.slice(0, 5), new PointHealth([], OPTIONS, runtime, log), OPTIONS)
    const b = new PointPlacement([...points.slice(0, 5)].reverse(), new PointHealth([], OPTIONS, runtime, log), OPTIONS)

    for (const ns of namespaces(50)) {
      expect(a.pointsFor(ns).map(p => p.id)).to.deep.equal(b.pointsFor(ns).map(p => p.id))
      expect(a.pointsFor(ns)).to.have.lengthOf(K)
    }
  })

  it('spreads namespaces evenly: each of N points holds about k/N of them (max/mean printed)', () => {
    const rows: string[] = []

    for (const n of [5, 20]) {
      const known = points.slice(0, n)
      const placement = new PointPlacement(known, new PointHealth([], OPTIONS, fakeRuntime(), log), OPTIONS)
      const nss = namespaces(2000)
      const { max, mean } = load(known, ns => placement.pointsFor(ns), nss)
      rows.push(`N=${n}: mean ${mean.toFixed(0)} namespaces per point (k/N of 2000 = ${(2000 * K / n).toFixed(0)}), max/mean ${(max / mean).toFixed(3)}`)
      expect(mean).to.equal(2000 * K / n)
      expect(max / mean).to.be.below(1.15)
    }

    // eslint-disable-next-line no-console
    console.log(`      load per point, k=${K}, 2000 namespaces: ${rows.join('; ')}`)
  })

  it('measures how far views may differ: namespaces with a placed point in common (table printed)', () => {
    const nss = namespaces(2000)
    const rows: string[] = []

    for (const n of [5, 20]) {
      const all = points.slice(0, n)
      const cells: string[] = []

      for (const d of [1, 2, 3]) {
        // one node knows every point, the other misses d of them; and two nodes that each miss d others
        const full = new PointPlacement(all, new PointHealth([], OPTIONS, fakeRuntime(), log), OPTIONS)
        const missing = new PointPlacement(all.slice(d), new PointHealth([], OPTIONS, fakeRuntime(), log), OPTIONS)
        const other = new PointPlacement(all.slice(0, n - d), new PointHealth([], OPTIONS, fakeRuntime(), log), OPTIONS)
        const subset = shared(full, missing, nss)
        const disjoint = shared(missing, other, nss)
        cells.push(`d=${d}: ${(subset * 100).toFixed(1)}% / ${(disjoint * 100).toFixed(1)}%`)

        if (n - 2 * d >= 1) {
          // with k=3 the views keep a point in common for every namespace as long as they share one
          expect(subset).to.equal(1)
        }
      }

      rows.push(`N=${n}: ${cells.join(', ')}`)
    }

    // eslint-disable-next-line no-console
    console.log(`      namespaces with a common placed point (one view misses d points / each view misses d others), k=${K}: ${rows.join('; ')}`)
  })

  it('moves a failing point\'s namespaces to the next by weight, and back once it answers', async () => {
    const runtime = fakeRuntime()
    const known = points.slice(0, 5)
    const health = new PointHealth(known, OPTIONS, runtime, log)
    const placement = new PointPlacement(known, health, OPTIONS)
    let changes = 0
    placement.addEventListener('change', () => { changes++ })
    health.addEventListener('failed', () => { placement.refresh() })
    health.addEventListener('up', () => { placement.refresh() })

    const ns = 'floodsub:failover'
    const ranked = rankPoints(ns, known)
    expect(placement.pointsFor(ns).map(p => p.id)).to.deep.equal(ranked.slice(0, K).map(p => p.id))

    health.failed(ranked[0], { failures: 0 }, new Error('connection refused'))
    expect(changes).to.equal(1)
    expect(placement.pointsFor(ns).map(p => p.id)).to.deep.equal(ranked.slice(1, K + 1).map(p => p.id), 'the fourth by weight stands in')

    health.succeeded(ranked[0])
    expect(changes).to.equal(2)
    expect(placement.pointsFor(ns).map(p => p.id)).to.deep.equal(ranked.slice(0, K).map(p => p.id), 'placement returns')
  })

  it('keeps a failing point placed when there are not k healthy ones (a node\'s only point keeps its work)', () => {
    const runtime = fakeRuntime()
    const only = points.slice(0, 1)
    const health = new PointHealth(only, OPTIONS, runtime, log)
    const placement = new PointPlacement(only, health, OPTIONS)
    health.failed(only[0], { failures: 0 }, new Error('connection refused'))
    placement.refresh()
    expect(placement.pointsFor('floodsub:x').map(p => p.id)).to.deep.equal([only[0].id])
    expect(placement.fallbackFor('floodsub:x')).to.be.empty()
  })

  it('falls back to the configured points not placed, unless told not to', () => {
    const runtime = fakeRuntime()
    const configured = points.slice(0, 1)
    const known = [...configured, ...points.slice(1, 6)]
    const ns = namespaces(200).find(ns => !rankPoints(ns, known).slice(0, K).some(p => p.id === configured[0].id)) ?? ''
    const placement = new PointPlacement(configured, new PointHealth([], OPTIONS, runtime, log), OPTIONS)
    placement.setKnown(known)
    expect(placement.fallbackFor(ns).map(p => p.id)).to.deep.equal([configured[0].id])

    const off = new PointPlacement(configured, new PointHealth([], OPTIONS, runtime, log), { ...OPTIONS, configuredFallback: false })
    off.setKnown(known)
    expect(off.fallbackFor(ns)).to.be.empty()
  })
})

/** Points that answer DISCOVER of /libp2p/rendezvous with their list, or fail */
class ListingClient {
  readonly lists = new Map<string, PeerId[]>()
  readonly failing = new Set<string>()
  readonly asked: string[] = []

  async discover (point: Multiaddr, ns: string): Promise<{ registrations: Array<{ peerId: PeerId, multiaddrs: Multiaddr[] }>, dropped: number }> {
    const id = point.getComponents().findLast(c => c.name === 'p2p')?.value ?? ''
    this.asked.push(id)
    expect(ns).to.equal(POINTS_NAMESPACE)

    if (this.failing.has(id)) {
      throw new Error('connection refused')
    }

    return { registrations: (this.lists.get(id) ?? []).map(peerId => ({ peerId, multiaddrs: [] })), dropped: 0 }
  }
}

describe('points a node learns', () => {
  let ids: PeerId[]

  before(async () => {
    ids = await peerIds(12)
  })

  function setup (maxPoints = 20): { learning: PointLearning, client: ListingClient, health: PointHealth, runtime: ReturnType<typeof fakeRuntime>, configured: Point[] } {
    const runtime = fakeRuntime()
    const configured = parsePoints([pointAddress(ids[1])])
    const health = new PointHealth(configured, OPTIONS, runtime, log)
    const client = new ListingClient()
    const learning = new PointLearning({ client: client as any, peerStore: { merge: async () => ({}) as any }, peerId: ids[0] }, configured, health, { learnPoints: true, maxPoints, pointListInterval: 60_000, discoverLimit: 100, pointBackoff: OPTIONS.pointBackoff }, runtime, log)
    return { learning, client, health, runtime, configured }
  }

  it('learns from a configured point, uses a learned point once it answered, and learns from it but not from what it lists', async () => {
    const { learning, client, runtime } = setup()
    const [self, configured, a, b, c] = ids
    client.lists.set(configured.toString(), [configured, a, self])
    client.lists.set(a.toString(), [b])
    client.lists.set(b.toString(), [c])
    learning.start()
    await runtime.clock.tick(0)
    await runtime.clock.tick(0)

    expect(learning.usable().map(p => p.id)).to.deep.equal([configured, a, b].map(String), 'a and b answered; this node is never learned')
    expect(learning.status().find(s => s.id === b.toString())).to.include({ source: 'learned', verified: true, learnedFrom: a.toString() })
    // b is two steps from a configured point: it answered, so it is used, but its list is not read
    expect(learning.status().some(s => s.id === c.toString())).to.be.false('nothing is learned from a point two steps away')
    expect(client.asked.filter(id => id === b.toString())).to.have.lengthOf(1, 'b asked once, to verify it')
    learning.stop()
  })

  it('reads the lists at a doubling delay while a network forms, and a lone point\'s (an empty list) only every pointListInterval', async () => {
    const [, configured] = ids
    const lone = setup()
    lone.learning.start()
    await lone.runtime.clock.tick(0)
    await lone.runtime.clock.tick(59_999)
    expect(lone.client.asked).to.have.lengthOf(1, 'an empty list: the point is on its own, read again after pointListInterval')
    await lone.runtime.clock.tick(1)
    expect(lone.client.asked).to.have.lengthOf(2)
    lone.learning.stop()

    const network = setup()
    network.client.lists.set(configured.toString(), [configured])
    network.learning.start()
    await network.runtime.clock.tick(0)
    await network.runtime.clock.tick(1000 + 2000 + 4000)
    expect(network.client.asked).to.have.lengthOf(4, 'a point that lists itself: read at 0, 1, 3 and 7 s')
    network.learning.stop()
  })

  it('drops a learned point that fails 3 times in a row, and keeps at most maxPoints learned', async () => {
    const { learning, client, runtime } = setup(2)
    const [, configured, a, b, c] = ids
    client.lists.set(configured.toString(), [a, b, c])
    learning.start()
    await runtime.clock.tick(0)
    expect(learning.status().filter(s => s.source === 'learned').map(s => s.id)).to.deep.equal([a, b].map(String), 'bounded by maxPoints')

    client.failing.add(a.toString())

    for (let i = 0; i < 20 && learning.status().some(s => s.id === a.toString()); i++) {
      await runtime.clock.tick(60_000)
    }

    expect(learning.status().some(s => s.id === a.toString())).to.be.false(`dropped after ${DROP_AFTER} failures`)
    expect(learning.usable().map(p => p.id)).to.include(b.toString())
    learning.stop()
  })

  it('reads nothing with learnPoints off, and still probes a failing point on its backoff and a point whose connection closed', async () => {
    const runtime = fakeRuntime()
    const configured = parsePoints([pointAddress(ids[1])])
    const health = new PointHealth(configured, OPTIONS, runtime, log)
    const client = new ListingClient()
    const learning = new PointLearning({ client: client as any, peerStore: { merge: async () => ({}) as any }, peerId: ids[0] }, configured, health, { learnPoints: false, maxPoints: 20, pointListInterval: 60_000, discoverLimit: 100, pointBackoff: OPTIONS.pointBackoff }, runtime, log)
    learning.start()
    await runtime.clock.tick(10_000)
    expect(client.asked).to.be.empty()

    health.failed(configured[0], { failures: 0 }, new Error('refused'))
    await runtime.clock.tick(1000)
    expect(client.asked).to.deep.equal([configured[0].id])
    expect(health.isDown(configured[0])).to.be.false('the probe answered: back')

    // a closed connection is probed at once, and at most once per pointBackoff.max
    learning.disconnected(configured[0].peerId)
    learning.disconnected(configured[0].peerId)
    await runtime.clock.tick(0)
    expect(client.asked).to.have.lengthOf(2)
    await runtime.clock.tick(OPTIONS.pointBackoff.max)
    learning.disconnected(configured[0].peerId)
    await runtime.clock.tick(0)
    expect(client.asked).to.have.lengthOf(3)
    learning.disconnected(ids[5])
    await runtime.clock.tick(0)
    expect(client.asked).to.have.lengthOf(3, 'not a point')
    learning.stop()
  })

  it('makes a learned point dialable by peer id', () => {
    expect(learnedPoint(ids[2]).multiaddr.toString()).to.equal(`/p2p/${ids[2].toString()}`)
  })
})
