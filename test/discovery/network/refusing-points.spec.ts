/**
 * Points that refuse some of a node's registrations, or drop its connection, on real nodes over `@libp2p/memory`
 * and the real server: a refusal backs off that namespace at that point alone (the point is up and serves the
 * others), and DISCOVERs keep their own schedule whatever REGISTER gets and however often the point reconnects.
 * The requests of the node's namespaces are counted at the point's store. (The same with the real rust-libp2p point, whose cap answers
 * E_UNAVAILABLE: capped-rust-point.spec.ts.)
 */
import { expect } from 'aegir/chai'
import delay from 'delay'
import { POINTS_NAMESPACE } from '../../../src/constants.ts'
import { MemoryRegistrationStore } from '../../../src/server/index.ts'
import { createPeer, createPoint, stopAll, waitFor } from './fixtures.ts'
import type { PeerNode, PointNode } from './fixtures.ts'
import type { RendezvousDiscoveryInit } from '../../../src/discovery/index.ts'
import type { DiscoverPage, DiscoverQuery, RegisterInput, RegisterLimits, RegisterOutcome } from '../../../src/server/store/registration-store.ts'

/** The memory store, noting when each REGISTER and DISCOVER reached it, and which REGISTERs it refused */
class CountingStore extends MemoryRegistrationStore {
  readonly registers: number[] = []
  readonly refusedRegisters: number[] = []
  readonly discovers: number[] = []

  async register (input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome> {
    this.registers.push(Date.now())
    const outcome = await super.register(input, limits, now)
    if (!outcome.ok) {
      this.refusedRegisters.push(Date.now())
    }
    return outcome
  }

  async discover (query: DiscoverQuery): Promise<DiscoverPage> {
    // the reading of the points' list (its own schedule, point-learning.ts) is not one of the node's namespaces
    if (query.namespace !== POINTS_NAMESPACE) {
      this.discovers.push(Date.now())
    }
    return super.discover(query)
  }
}

/** The default schedule of queries (the test fixtures' is fast), a young namespace's fast one cut to `window` ms */
function defaultSchedule (window: number): RendezvousDiscoveryInit {
  return { fastDiscoverInterval: 100, fastDiscoverWindow: window, discoverInterval: 1000, maxDiscoverInterval: 120_000, satisfiedDiscoverInterval: 30_000, pointBackoff: { initial: 1000, max: 300_000 } }
}

/** `count` namespaces the node registers and discovers, each wanting a peer nobody else offers */
function namespaces (count: number): RendezvousDiscoveryInit['namespaces'] {
  return Array.from({ length: count }, (_, i) => ({ ns: `refused-${i}`, quota: 1 }))
}

const since = (times: number[], from: number): number => times.filter(t => t >= from).length

describe('points that refuse registrations or drop connections', function () {
  this.timeout(40_000)

  let nodes: Array<PeerNode | PointNode>

  beforeEach(() => {
    nodes = []
  })

  afterEach(async () => {
    await stopAll(nodes)
  })

  it('a full point (E_UNAVAILABLE) gets a few REGISTERs of the namespaces it refused and no DISCOVER off schedule, and is never taken for down', async () => {
    const store = new CountingStore()
    const point = await createPoint({ store, maxRegistrationsTotal: 4 })
    nodes.push(point)
    const started = Date.now()
    const node = await createPeer({ points: [point], pubsub: false, discovery: { ...defaultSchedule(3000), namespaces: namespaces(8) } })
    nodes.push(node)
    let down = 0
    const sample = setInterval(() => { down += node.services.rendezvous.status.scheduler.points.filter(p => p.down).length }, 50)

    try {
      // the fast schedule ends at 3 s, its delay doubling on (0.1, 0.2 ... 3.2 s, and a last query near 6.3 s); by 7 s
      // the unmet namespaces query every 12 s or more
      await delay(14_000 - (Date.now() - started))
    } finally {
      clearInterval(sample)
    }

    const from = started + 7000
    const registrations = node.services.rendezvous.status.scheduler.registrations
    expect(registrations.filter(r => r.registered)).to.have.lengthOf(4)
    expect(registrations.filter(r => !r.registered).every(r => /E_UNAVAILABLE/.test(r.lastError ?? ''))).to.be.true()
    expect(down).to.equal(0, 'the point was taken for down')
    // refused 4 at once, then one at about 1, 1.5, 3 and 6 s: at most a couple after 7 s (the accepted namespaces'
    // refreshes, due between 13 and 15 s at the fixtures' TTL of 20 s, are not refusals and are not counted)
    expect(since(store.refusedRegisters, from)).to.be.at.most(3, `${store.refusedRegisters.length} refused REGISTERs of ${store.registers.length} in all`)
    expect(since(store.discovers, from)).to.equal(0, `${store.discovers.length} DISCOVERs in all`)
  })

  it('a point that drops the connection again and again gets one DISCOVER per reconnect (the check of its registrations), not every namespace\'s at once', async () => {
    const store = new CountingStore()
    const point = await createPoint({ store })
    nodes.push(point)
    const node = await createPeer({ points: [point], pubsub: false, discovery: { ...defaultSchedule(1000), namespaces: namespaces(6) } })
    nodes.push(node)
    expect(await waitFor(() => node.services.rendezvous.status.scheduler.registrations.every(r => r.registered), 5000)).to.be.true()
    // past the fast schedule: the next queries are 16 s away
    await delay(2500)

    const before = store.discovers.length
    const reconnects = 3

    for (let i = 0; i < reconnects; i++) {
      await point.hangUp(node.peerId)
      // the keep-alive tag brings the connection back
      expect(await waitFor(() => node.getPeers().some(p => p.equals(point.peerId)), 5000)).to.be.true('reconnected')
      await delay(300)
    }

    expect(store.discovers.length - before).to.be.at.most(reconnects, 'DISCOVERs during the reconnects')
    expect(node.services.rendezvous.status.scheduler.registrations.every(r => r.registered)).to.be.true()
  })
})
