/**
 * The simulator (benchmarks/simulation): a small network with every feature of the model on (churn, nodes
 * vanishing without UNREGISTER, registrations left behind, browsers behind relays, two points), run on the
 * virtual clock. The same seed gives the same run; what the model promises holds at its end.
 */
import { expect } from 'aegir/chai'
import { Random, Zipf } from '../../benchmarks/simulation/engine/random.ts'
import { VirtualClock } from '../../benchmarks/simulation/engine/virtual-clock.ts'
import { Machine } from '../../benchmarks/simulation/model/machine.ts'
import { CI, validationScenario } from '../../benchmarks/simulation/scenarios.ts'
import { Simulation } from '../../benchmarks/simulation/simulation.ts'
import type { ProcessCosts } from '../../benchmarks/simulation/model/scenario.ts'
import type { ScenarioResult } from '../../benchmarks/simulation/simulation.ts'

/** What a run decided: everything but the engine's own wall time, CPU and memory */
function outcome (result: ScenarioResult): Omit<ScenarioResult, 'engine'> & { timers: number } {
  const { engine, ...rest } = result
  return { ...rest, timers: engine.timersFired }
}

/** Every peer with a live registration at any point, in any namespace */
async function listedAtPoints (sim: Simulation): Promise<Set<string>> {
  const now = sim.clock.now()
  const listed = new Set<string>()
  for (const point of sim.points) {
    const page = await point.store.discover({ afterSeq: 0n, limit: 1_000_000, now })
    page.registrations.forEach(r => listed.add(r.peerId))
  }
  return listed
}

describe('simulation', function () {
  this.timeout(600_000)

  describe('virtual clock', () => {
    it('fires timers in due order, those due together in the order they were set, and never a cancelled one', async () => {
      const clock = new VirtualClock(1000)
      const fired: string[] = []
      clock.setTimeout(() => fired.push('b'), 20)
      clock.setTimeout(() => fired.push('a'), 10)
      clock.setTimeout(() => fired.push('c'), 20)
      const cancelled = clock.setTimeout(() => fired.push('x'), 15)
      clock.clearTimeout(cancelled)
      await clock.runUntil(1100)
      expect(fired).to.deep.equal(['a', 'b', 'c'])
      expect(clock.now()).to.equal(1100)
      expect(clock.pending).to.equal(0)
    })

    it('lets the promise chains a timer starts settle before the next timer fires', async () => {
      const clock = new VirtualClock(0)
      const order: string[] = []
      const chain = async (): Promise<void> => {
        await Promise.resolve()
        await Promise.resolve()
        order.push('chain of the first')
        // set from inside the chain: due at once, after the timer already due at this time
        clock.setTimeout(() => order.push('set by the chain'), 0)
      }
      clock.setTimeout(() => { void chain() }, 5)
      clock.setTimeout(() => order.push('second'), 5)
      await clock.runUntil(10)
      expect(order).to.deep.equal(['chain of the first', 'second', 'set by the chain'])
    })

    it('refuses a delay that is not a number', () => {
      expect(() => new VirtualClock(0).setTimeout(() => {}, NaN)).to.throw(/NaN/)
    })
  })

  describe('randomness', () => {
    it('repeats from its seed', () => {
      const a = new Random(7)
      const b = new Random(7)
      const c = new Random(8)
      const draws = (r: Random): number[] => Array.from({ length: 5 }, () => r.next())
      const first = draws(a)
      expect(first).to.deep.equal(draws(b))
      expect(first).to.not.deep.equal(draws(c))
      expect(first.every(x => x >= 0 && x < 1)).to.equal(true)
    })

    it('draws Zipf ranks in proportion to 1 / rank^s', () => {
      const zipf = new Zipf(10, 1)
      const random = new Random(1)
      const counts = new Array(10).fill(0)
      const draws = 100_000

      for (let i = 0; i < draws; i++) {
        counts[zipf.sample(random.next)]++
      }

      for (let k = 0; k < 10; k++) {
        expect(counts[k] / draws).to.be.closeTo(zipf.share(k), 0.01)
      }

      expect(zipf.share(0) / zipf.share(1)).to.be.closeTo(2, 1e-9)
    })
  })

  describe('a small network with churn, browsers and relays', () => {
    let first: ScenarioResult
    let world: {
      overConnected: number
      overReserved: number
      cleanLeaversStillListed: number
      cleanLeavers: number
      online: number
      registeredShare: number
    }

    before(async () => {
      first = await new Simulation(CI, {
        atEnd: async (sim) => {
          const now = sim.clock.now()
          const listed = await listedAtPoints(sim)

          const online = [...sim.network.nodes.values()]
          const cleanLeavers = sim.everyone.filter(n => n.departure === 'clean')
          world = {
            overConnected: online.filter(n => n.connectionCount > n.maxConnections).length,
            overReserved: online.filter(n => n.reservations.size > CI.relayMaxReservations).length,
            cleanLeaversStillListed: cleanLeavers.filter(n => listed.has(n.id)).length,
            cleanLeavers: cleanLeavers.length,
            online: online.length,
            // a node online for a minute with an address is registered at the points
            registeredShare: online.filter(n => now - n.joinedAt > 60_000 && n.addresses().length > 0 && listed.has(n.id)).length /
              Math.max(1, online.filter(n => now - n.joinedAt > 60_000 && n.addresses().length > 0).length)
          }
        }
      }).run()
    })

    it('runs the same way from the same seed, and another way from another', async () => {
      const again = await new Simulation(CI).run()
      expect(outcome(again)).to.deep.equal(outcome(first))

      const other = await new Simulation({ ...CI, seed: CI.seed + 1 }).run()
      expect(outcome(other)).to.not.deep.equal(outcome(first))
    })

    it('runs to its end within its wall-time bound', () => {
      expect(first.cutShort).to.equal(false)
      expect(first.simulatedMs).to.equal(CI.durationMs)
    })

    it('has churn: nodes joined and left, some cleanly and some not, and left registrations behind at the start', () => {
      expect(first.population.joined).to.be.greaterThan(CI.nodes)
      expect(first.population.left).to.be.greaterThan(0)
      expect(first.population.leftCleanly).to.be.greaterThan(0).and.lessThan(first.population.left)
      expect(first.population.ghosts).to.be.greaterThan(0)
      expect(first.population.browsers).to.be.greaterThan(0)
      expect(first.population.relays).to.be.greaterThan(0)
    })

    it('keeps every node within maxConnections and every relay within its reservations', () => {
      expect(world.online).to.be.greaterThan(0)
      expect(world.overConnected).to.equal(0)
      expect(world.overReserved).to.equal(0)
    })

    it('leaves no registration of a node that stopped cleanly at any point', () => {
      expect(world.cleanLeavers).to.be.greaterThan(0)
      expect(world.cleanLeaversStillListed).to.equal(0)
    })

    it('keeps the nodes online registered', () => {
      expect(world.registeredShare).to.equal(1)
    })

    it('brings every node to its quotas, topics and relays, in both cohorts, and reports ordered percentiles', () => {
      // every published run has never = 0: a node that stays short of a quota for 2 minutes online is a defect
      for (const cohort of ['start', 'steady'] as const) {
        for (const kind of ['topic', 'relay', 'reachable'] as const) {
          const t = first.timeToQuota[cohort][kind]
          expect(t.never, `${cohort} ${kind}: quotas never reached (of ${t.reached + t.never})`).to.equal(0)
          expect(t.reached, `${cohort} ${kind}: quotas reached`).to.be.greaterThan(0)
          expect(t.p50, kind).to.be.a('number')
          expect(t.p50 ?? 0).to.be.at.most(t.p95 ?? 0)
          expect(t.p95 ?? 0).to.be.at.most(t.p99 ?? 0)
          expect(t.p99 ?? 0).to.be.at.most(t.max ?? 0)
        }
      }
    })

    it('counts the requests the points served and the steady-state rates', () => {
      expect(first.perPointPerSecond?.register).to.be.greaterThan(0)
      expect(first.perPointPerSecond?.discover).to.be.greaterThan(0)
      expect(first.perPointPerSecond?.unregister).to.be.greaterThan(0)
      expect(first.perNodePerHour?.discover).to.be.greaterThan(0)
      expect(first.store.registrations).to.be.greaterThan(0)
      expect(first.store.bytes).to.be.greaterThan(0)
      expect(first.pubsubPeerDiscovery.publishedPerSecond).to.be.closeTo(first.population.averageOnline / 10, 1e-9)
    })
  })

  describe('a network of real and light nodes', () => {
    const LIGHT = { ...CI, name: 'ci-light', realShare: 0.5 }
    let result: ScenarioResult
    let world: { online: number, light: number, lightRegistered: number, lightOld: number, overConnected: number, realTopics: number }

    before(async () => {
      result = await new Simulation(LIGHT, {
        atEnd: async (sim) => {
          const now = sim.clock.now()
          const listed = await listedAtPoints(sim)

          const online = [...sim.network.nodes.values()]
          // a light node online for a minute is registered at the points, as a real one is
          const lightOld = online.filter(n => n.light && now - n.joinedAt > 60_000)
          // the first wave: the nodes that joined before the ramp's end (the run started `durationMs` ago)
          const rampEnd = now - sim.scenario.durationMs + sim.scenario.rampMs
          world = {
            online: online.length,
            light: online.filter(n => n.light).length,
            lightOld: lightOld.length,
            lightRegistered: lightOld.filter(n => listed.has(n.id)).length,
            overConnected: online.filter(n => n.connectionCount > n.maxConnections).length,
            realTopics: sim.everyone.filter(n => n.joinedAt < rampEnd).reduce((sum, n) => sum + n.topics.length, 0)
          }
        }
      }).run()
    })

    it('runs both kinds, the real ones with the module and the light ones without', () => {
      expect(result.population.real).to.be.greaterThan(0).and.lessThan(result.population.joined)
      expect(world.light).to.be.greaterThan(0).and.lessThan(world.online)
      expect(world.overConnected).to.equal(0)
    })

    it('keeps the light nodes registered', () => {
      expect(world.lightOld).to.be.greaterThan(0)
      expect(world.lightRegistered).to.equal(world.lightOld)
    })

    it('measures times to quota on the real nodes only, and every one of them reaches its topics\' quotas', () => {
      const t = result.timeToQuota.start.topic
      expect(t.reached).to.be.greaterThan(0)
      expect(t.never, `topic quotas never reached (of ${t.reached + t.never})`).to.equal(0)
      expect(t.reached + t.never).to.be.at.most(world.realTopics)
    })

    it('scales the real nodes\' requests to the network: the points handle fewer DISCOVERs than reported, as light nodes send none', () => {
      const reported = result.perPointPerSecond
      const handled = result.handledPerPointPerSecond
      expect(reported?.discover).to.be.greaterThan(0)
      expect(handled?.discover).to.be.greaterThan(0).and.lessThan(reported?.discover ?? 0)
      expect(handled?.register).to.be.greaterThan(0)
      expect(result.population.averageRealOnline).to.be.greaterThan(0).and.lessThan(result.population.averageOnline)
    })
  })

  describe('the process model of the validation against real runs', () => {
    /** Costs as a calibration on the 2-core machine measured them (2026-12-08, 50 nodes), ms */
    const COSTS: ProcessCosts = {
      nodeStartMs: 8.3,
      connection: { dialerMs: 19.8, listenerMs: 19.0 },
      pointConnection: { dialerMs: 11.4, pointMs: 10.7 },
      register: { clientMs: 2.7, pointMs: 1.7 },
      discover: { clientMs: 0.63, clientPerRecordMs: 0.32, pointMs: 1.7, pointPerRecordMs: 0.006 },
      idle: { periodMs: 1000, perNodeMs: 0.62, perConnectionMs: 1.07 },
      latency: { nodeRttMs: 0.75, pointConnectMs: 0, pointRequestMs: 0 }
    }

    it('shares the cores equally among the processes with work', async () => {
      const finished = async (cores: number): Promise<number[]> => {
        const clock = new VirtualClock(0)
        const machine = new Machine(clock, cores)
        const [a, b, c] = ['a', 'b', 'c'].map(name => machine.process(name))
        const ends: number[] = []
        const done = Promise.all([a.run(100, 'work'), b.run(100, 'work'), c.run(50, 'work')].map(async (p, i) => p.then(() => { ends[i] = clock.now() })))
        await clock.runUntil(10_000)
        await done
        return ends
      }

      // one core: three at a third each until c is done at 150 ms, then two at half each for the 50 ms left
      expect((await finished(1)).map(Math.round)).to.deep.equal([250, 250, 150])
      // two cores: two thirds each until c is done at 75 ms, then a whole core each for the 50 ms left
      expect((await finished(2)).map(Math.round)).to.deep.equal([125, 125, 75])
    })

    it('runs a node\'s idle work once per period after the last ran, never a backlog, when it outgrows the cores', async () => {
      // idle work of 12 nodes x 150 ms per s: nearly twice the one core; a timer re-armed when it runs comes late
      // instead (queued every period, the groups' queues grew by most of a second per second, without end)
      const costs = { ...COSTS, idle: { periodMs: 1000, perNodeMs: 150, perConnectionMs: 0 } }
      const result = await new Simulation(validationScenario(12, { cores: 1, groups: [6, 6], costs }, 1)).run()
      const idle = result.waitByKind?.groups.idle

      expect(result.timeToQuota.start.topic.never).to.equal(0)
      expect(idle?.pieces).to.be.greaterThan(12)
      // a group's round of idle work (6 x 150 ms at a share of a core) takes under 3 s: no piece waits much longer
      expect(idle?.meanMs).to.be.lessThan(3000)
    })
  })
})
