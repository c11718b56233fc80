/**
 * One simulated run: builds the points and the nodes of a scenario on a virtual clock with one seeded generator,
 * lets them join (a ramp, then arrivals and departures as sessions end), runs the clock to the end and reports
 * what was measured. Everything that decides what happens comes from the seed, so a run repeats exactly.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { RELAY_NAMESPACE } from '../../src/constants.ts'
import { DISCOVERY_DEFAULTS } from '../../src/discovery/config.ts'
import { topicNamespace } from '../../src/discovery/namespace-names.ts'
import { comparableSeq } from '../../src/protocol/peer-record.ts'
import { Random, Zipf } from './engine/random.ts'
import { VirtualClock } from './engine/virtual-clock.ts'
import { SimClient } from './model/client.ts'
import { TrustedRecords, makeIdentity } from './model/identities.ts'
import { LightSchedule } from './model/light-node.ts'
import { Machine } from './model/machine.ts'
import { Measurements } from './model/measure.ts'
import { Network } from './model/network.ts'
import { SimNode } from './model/node.ts'
import { SimPoint, emptyCounters } from './model/point.ts'
import { pubsubDiscoveryCost } from './model/pubsub-peer-discovery.ts'
import type { Identity } from './model/identities.ts'
import type { SimProcess } from './model/machine.ts'
import type { Cohort, QuotaKind, TimeSummary } from './model/measure.ts'
import type { DialCounters, ProcessRun } from './model/network.ts'
import type { NodeKind } from './model/node.ts'
import type { PointCounters } from './model/point.ts'
import type { PubsubDiscoveryCost } from './model/pubsub-peer-discovery.ts'
import type { Scenario } from './model/scenario.ts'
import type { Runtime } from '../../src/discovery/clock.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The simulated clock's origin: any fixed time (records carry it as their sequence number) */
const ORIGIN = Date.UTC(2027, 0, 1)

/** How often the stores are sampled and progress is printed, in simulated ms */
const SAMPLE_INTERVAL = 60_000

/** How often a node group looks at its nodes' quotas (test/fixtures/hosts/node-group.ts, `pollMs`), ms */
const GROUP_POLL_MS = 100

/** A node-group process of a run with a process model */
interface Group {
  process: SimProcess
  size: number
  /** Its nodes, as they start */
  nodes: SimNode[]
  /** The start-up of all its nodes: they start together once it is done, as the group does (its `ready` line) */
  started?: Promise<void>
}

export interface RequestRates {
  register: number
  discover: number
  unregister: number
  refused: number
  /** Registrations sent back in DISCOVER replies */
  returned: number
  /** Bytes of records sent back */
  returnedBytes: number
}

export interface ScenarioResult {
  scenario: string
  description: string
  seed: number
  /** Rendezvous points every node used */
  points: number
  /** The run stopped at its wall-time bound before the end */
  cutShort: boolean
  /** Simulated time covered, ms */
  simulatedMs: number
  timeToQuota: Record<Cohort, Record<QuotaKind, TimeSummary>>
  /** Until every node of the first wave had reached its quotas (validation runs) */
  untilAllAtQuota?: {
    ms: number
    /** Requests the nodes sent (some may still be on their way) */
    register: number
    discover: number
    /** Requests the points had answered (what a real point's metrics count) */
    answered: { register: number, discover: number }
    /** DISCOVERs a node had sent when it reached its topic quota: median and maximum */
    discoverPerNodeP50: number | null
    discoverPerNodeMax: number | null
  }
  /**
   * Over the steady-state window, per point: the requests of the nodes that run the real module, per real
   * node-hour, times the nodes online on average (all of them when the scenario has no light nodes)
   */
  perPointPerSecond?: RequestRates
  /** Over the steady-state window, per point: every request the points handled (light nodes send no DISCOVER) */
  handledPerPointPerSecond?: RequestRates
  /**
   * Over the steady-state window, per point: registrations left to run out by nodes that left without
   * unregistering (what a store's sweep deletes at steady state)
   */
  abandonedPerPointPerSecond?: number
  /** Over the steady-state window, per node online */
  perNodePerHour?: { register: number, discover: number, unregister: number }
  /**
   * How the load falls on each point: requests handled since the start (REGISTER, DISCOVER and UNREGISTER, light
   * nodes' included) and registrations held at the end, and max/mean of each across the points
   */
  perPoint?: { handled: number[], registrations: number[], handledMaxOverMean: number, registrationsMaxOverMean: number }
  windowMs: number
  population: { averageOnline: number, averageRealOnline: number, joined: number, real: number, left: number, leftCleanly: number, ghosts: number, browsers: number, relays: number }
  store: { registrations: number, bytes: number, maxRegistrations: number, maxBytes: number }
  dials: DialCounters
  /** Warnings the modules gave, by code (each module says each once) */
  warnings: Record<string, number>
  pubsubPeerDiscovery: PubsubDiscoveryCost
  engine: { timersFired: number, wallMs: number, cpuMs: number, peakRssMiB: number, sharedCpuMs: number }
  /** With a process model: the simulated CPU time of each process (the point, `group 1`, ...), ms */
  processCpuMs?: Record<string, number>
  /** With a process model: the simulated CPU time of the node groups and of the point by kind of work, ms */
  cpuByKind?: { groups: Record<string, number>, point: Record<string, number> }
  /**
   * With a process model: the pieces of work of each kind in the node groups and in the point, and their mean time
   * from queued to done (behind the process's earlier work, then running at its share of a core), ms
   */
  waitByKind?: { groups: Record<string, { pieces: number, meanMs: number }>, point: Record<string, { pieces: number, meanMs: number }> }
  /** With a process model: each node's DISCOVERs sent and connections held (the point's not counted) at the end */
  nodes?: { discovers: number[], connections: number[] }
}

function rates (from: PointCounters, to: PointCounters, seconds: number): RequestRates {
  const per = (key: keyof PointCounters): number => seconds > 0 ? (to[key] - from[key]) / seconds : 0
  return {
    register: per('register'),
    discover: per('discover'),
    unregister: per('unregister'),
    refused: per('refused'),
    returned: per('returned'),
    returnedBytes: per('returnedBytes')
  }
}

/** A public IPv4 address for node `index` (20.0.0.0 and up: outside every private range) */
function publicAddress (index: number): Multiaddr {
  return multiaddr(`/ip4/${20 + Math.floor(index / 65536) % 200}.${(index >> 8) & 255}.${index & 255}.7/tcp/4001`)
}

export interface SimulationHooks {
  /** Called every simulated minute */
  progress?(line: string): void
  /** Called at the end of the run, before the nodes still online are stopped: to look at the world as it is */
  atEnd?(simulation: Simulation): void | Promise<void>
}

export class Simulation {
  readonly scenario: Scenario
  readonly clock: VirtualClock
  readonly random: Random
  readonly network: Network
  readonly points: SimPoint[]
  readonly measurements: Measurements
  private readonly runtime: Runtime
  private readonly trusted = new TrustedRecords()
  private readonly zipf: Zipf
  private readonly topicNames: string[]
  private readonly pointAddresses: Multiaddr[]
  private readonly hooks: SimulationHooks
  private readonly warnings: Record<string, number> = {}
  private nodeIndex = 0
  private joined = 0
  private left = 0
  private leftCleanly = 0
  private ghosts = 0
  private browsers = 0
  private relays = 0
  private maxRegistrations = 0
  /** Registrations held by nodes when they left without unregistering, since the window opened */
  private abandoned = 0
  private maxBytes = 0
  private windowStart?: PointCounters
  /** Requests of the nodes that run the real module, counted as the points count them */
  private readonly realCounters = emptyCounters()
  private realWindowStart?: PointCounters
  private realJoined = 0
  private readonly lights = new Map<SimNode, LightSchedule>()
  private atQuota?: { register: number, discover: number, answered: { register: number, discover: number } }
  private stopped = false
  private readonly processRun?: ProcessRun
  private groups: Group[] = []
  /** Every node that joined and runs the real module, online or not */
  readonly everyone: SimNode[] = []

  constructor (scenario: Scenario, hooks: SimulationHooks = {}) {
    this.scenario = scenario
    this.hooks = hooks
    this.clock = new VirtualClock(ORIGIN)
    this.random = new Random(scenario.seed)
    this.runtime = { clock: this.clock, random: this.random.next }
    this.zipf = new Zipf(scenario.topics.count, scenario.topics.zipf)
    this.topicNames = Array.from({ length: scenario.topics.count }, (_, i) => `topic-${i}`)
    this.points = Array.from({ length: scenario.points }, (_, i) => {
      const identity = makeIdentity(this.random.next)
      const address = multiaddr(`/dns4/rdv${i}.example.com/tcp/443/wss/p2p/${identity.id}`)
      return new SimPoint(identity, address, scenario.latency.pointAccessDelayMs, scenario.server, this.clock, this.trusted)
    })
    this.pointAddresses = this.points.map(p => p.multiaddr)
    const quotas = scenario.discovery.quotas ?? {}
    this.measurements = new Measurements({
      origin: ORIGIN,
      topicQuota: quotas.topic ?? 6,
      relayQuota: quotas.relay ?? 2,
      rampEnd: Math.max(1, scenario.rampMs),
      steadyFrom: scenario.measureFromMs,
      neverAfterMs: scenario.churn == null ? 0 : 120_000,
      onAllAtQuota: () => { this.allAtQuota() }
    })

    if (scenario.processes != null) {
      const machine = new Machine(this.clock, scenario.processes.cores)
      this.processRun = { machine, point: machine.process('point'), costs: scenario.processes.costs }
      this.groups = scenario.processes.groups.map((size, i) => ({ process: machine.process(`group ${i + 1}`), size, nodes: [] }))
    }

    this.network = new Network({
      clock: this.clock,
      random: this.random,
      latency: scenario.latency,
      points: this.points,
      trusted: this.trusted,
      relayMaxReservations: scenario.relayMaxReservations,
      processes: this.processRun,
      // with node groups, quotas are seen when the group looks (its poll, in its process), as the real run sees them
      observer: { changed: (node) => { if (this.processRun == null) { this.measurements.check(node, this.clock.now()) } } }
    })
  }

  async run (): Promise<ScenarioResult> {
    const wallStart = performance.now()
    const cpuStart = process.cpuUsage()
    let peakRss = process.memoryUsage.rss()
    const s = this.scenario
    const end = ORIGIN + s.durationMs

    for (const point of this.points) {
      await point.start()
    }

    const ghostsPerNode = s.warmStart ? this.ghostsPerNode() : 0

    for (let i = 0; i < s.nodes; i++) {
      const at = s.rampMs * this.random.next()
      const session = s.churn == null ? undefined : this.residualSession()
      this.clock.setTimeout(() => {
        void this.join(session)
        // the registrations left behind by nodes gone before, in step with the nodes online
        const ghosts = Math.floor(ghostsPerNode) + (this.random.chance(ghostsPerNode % 1) ? 1 : 0)

        for (let g = 0; g < ghosts; g++) {
          void this.addGhost()
        }
      }, at)
    }

    if (s.churn != null) {
      this.scheduleArrival()
    }

    this.clock.setTimeout(() => {
      this.measurements.openWindow(this.clock.now())
      this.windowStart = this.totals()
      this.realWindowStart = { ...this.realCounters }
    }, s.measureFromMs)

    const sample = (): void => {
      void this.sampleStores()
      peakRss = Math.max(peakRss, process.memoryUsage.rss())
      this.hooks.progress?.(`${s.name}: ${((this.clock.now() - ORIGIN) / 60_000).toFixed(0)} min simulated, ${this.network.nodes.size} nodes online, ${this.clock.fired} timers, wall ${((performance.now() - wallStart) / 1000).toFixed(0)} s, RSS ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB`)
      this.clock.setTimeout(sample, SAMPLE_INTERVAL)
    }
    this.clock.setTimeout(sample, SAMPLE_INTERVAL)

    let cutShort = false
    await this.clock.runUntil(end, () => {
      if (this.stopped) {
        return true
      }

      if (performance.now() - wallStart > s.wallLimitMs) {
        cutShort = true
        return true
      }

      return false
    })

    const now = this.clock.now()
    await this.sampleStores()
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
    const online = [...this.network.nodes.values()]
    this.measurements.finish(online, now)
    const windowMs = this.windowStart == null ? 0 : now - (ORIGIN + s.measureFromMs)
    const nodeHours = this.measurements.nodeHours(now)
    const realNodeHours = this.measurements.realNodeHours(now)
    const result = this.result(cutShort, now, windowMs, nodeHours, realNodeHours)
    result.perPoint = await this.loadPerPoint()
    await this.hooks.atEnd?.(this)
    const cpu = process.cpuUsage(cpuStart)
    result.engine = {
      timersFired: this.clock.fired,
      wallMs: performance.now() - wallStart,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRssMiB: peakRss / 2 ** 20,
      sharedCpuMs: this.network.cpuUsed
    }

    if (this.processRun != null) {
      result.processCpuMs = Object.fromEntries(this.processRun.machine.processes.map(p => [p.name, p.used]))
      const groups: Record<string, number> = {}

      for (const group of this.groups) {
        for (const [kind, ms] of Object.entries(group.process.usedBy)) {
          groups[kind] = (groups[kind] ?? 0) + ms
        }
      }

      result.cpuByKind = { groups, point: { ...this.processRun.point.usedBy } }
      const waits = (procs: SimProcess[]): Record<string, { pieces: number, meanMs: number }> => {
        const sums: Record<string, { pieces: number, ms: number }> = {}

        for (const proc of procs) {
          for (const [kind, { pieces, ms }] of Object.entries(proc.waitedBy)) {
            const sum = sums[kind] ?? { pieces: 0, ms: 0 }
            sum.pieces += pieces
            sum.ms += ms
            sums[kind] = sum
          }
        }

        return Object.fromEntries(Object.entries(sums).map(([kind, { pieces, ms }]) => [kind, { pieces, meanMs: ms / Math.max(1, pieces) }]))
      }
      result.waitByKind = { groups: waits(this.groups.map(g => g.process)), point: waits([this.processRun.point]) }
      result.nodes = {
        discovers: this.everyone.map(n => n.sent.discover),
        connections: this.everyone.map(n => n.connectionManager.getConnections().length)
      }
    }
    await this.shutdown(online)
    return result
  }

  private result (cutShort: boolean, now: number, windowMs: number, nodeHours: number, realNodeHours: number): ScenarioResult {
    const s = this.scenario
    const kinds: QuotaKind[] = ['topic', 'relay', 'reachable']
    const timeToQuota = Object.fromEntries((['start', 'steady'] as Cohort[]).map(cohort =>
      [cohort, Object.fromEntries(kinds.map(kind => [kind, this.measurements.summary(cohort, kind)]))])) as ScenarioResult['timeToQuota']
    const result: ScenarioResult = {
      scenario: s.name,
      description: s.description,
      seed: s.seed,
      points: s.points,
      cutShort,
      simulatedMs: now - ORIGIN,
      timeToQuota,
      windowMs,
      population: {
        averageOnline: windowMs > 0 ? nodeHours * 3_600_000 / windowMs : this.network.nodes.size,
        averageRealOnline: windowMs > 0 ? realNodeHours * 3_600_000 / windowMs : this.network.nodes.size - this.lights.size,
        joined: this.joined,
        real: this.realJoined,
        left: this.left,
        leftCleanly: this.leftCleanly,
        ghosts: this.ghosts,
        browsers: this.browsers,
        relays: this.relays
      },
      store: { registrations: 0, bytes: 0, maxRegistrations: this.maxRegistrations, maxBytes: this.maxBytes },
      dials: { ...this.network.dials },
      warnings: { ...this.warnings },
      pubsubPeerDiscovery: pubsubDiscoveryCost(windowMs > 0 ? nodeHours * 3_600_000 / windowMs : s.nodes, s.pubsubDiscoveryIntervalMs),
      engine: { timersFired: 0, wallMs: 0, cpuMs: 0, peakRssMiB: 0, sharedCpuMs: 0 }
    }

    const store = this.points[0]?.store
    result.store.registrations = this.lastRegistrations
    result.store.bytes = store?.bytesUsed ?? 0

    if (this.atQuota != null && this.measurements.allAtQuotaAt != null) {
      const counts = this.everyone.filter(n => n.discoversAtQuota != null).map(n => n.discoversAtQuota as number).sort((a, b) => a - b)
      result.untilAllAtQuota = {
        ms: this.measurements.allAtQuotaAt,
        register: this.atQuota.register,
        discover: this.atQuota.discover,
        answered: this.atQuota.answered,
        discoverPerNodeP50: counts.length === 0 ? null : counts[Math.ceil(counts.length / 2) - 1],
        discoverPerNodeMax: counts.length === 0 ? null : counts[counts.length - 1]
      }
    }

    if (this.windowStart != null && this.realWindowStart != null && windowMs > 0 && realNodeHours > 0) {
      const seconds = windowMs / 1000
      result.handledPerPointPerSecond = rates(this.windowStart, this.totals(), seconds * this.points.length)
      // the real nodes are a uniform sample of the nodes joining: their requests per node-hour, times the node-hours
      // of the whole network, spread over the points
      const perNodeHour = rates(this.realWindowStart, this.realCounters, realNodeHours)
      const scale = nodeHours / seconds / this.points.length
      result.perPointPerSecond = Object.fromEntries(Object.entries(perNodeHour).map(([k, v]) => [k, v * scale])) as unknown as RequestRates
      result.abandonedPerPointPerSecond = this.abandoned / this.points.length / seconds
      result.perNodePerHour = { register: perNodeHour.register, discover: perNodeHour.discover, unregister: perNodeHour.unregister }
    }

    return result
  }

  /** Requests each point handled since the start, and the registrations it holds now */
  private async loadPerPoint (): Promise<NonNullable<ScenarioResult['perPoint']>> {
    const handled = this.points.map(point => point.counters.register + point.counters.discover + point.counters.unregister)
    const registrations = await Promise.all(this.points.map(async point => (await point.store.stats(this.clock.now())).registrations))
    const maxOverMean = (values: number[]): number => {
      const mean = values.reduce((a, b) => a + b, 0) / values.length
      return mean === 0 ? 0 : Math.round(Math.max(...values) / mean * 100) / 100
    }
    return { handled, registrations, handledMaxOverMean: maxOverMean(handled), registrationsMaxOverMean: maxOverMean(registrations) }
  }

  private lastRegistrations = 0

  private async sampleStores (): Promise<void> {
    const point = this.points[0]

    if (point == null) {
      return
    }

    const stats = await point.store.stats(this.clock.now())
    this.lastRegistrations = stats.registrations
    this.maxRegistrations = Math.max(this.maxRegistrations, stats.registrations)
    this.maxBytes = Math.max(this.maxBytes, point.store.bytesUsed)
  }

  /** Requests of every point, summed */
  private totals (): PointCounters {
    const sum = emptyCounters()

    for (const point of this.points) {
      for (const key of Object.keys(sum) as Array<keyof PointCounters>) {
        sum[key] += point.counters[key]
      }
    }

    return sum
  }

  private allAtQuota (): void {
    const sent = { register: 0, discover: 0 }

    for (const node of this.everyone) {
      sent.register += node.sent.register
      sent.discover += node.sent.discover
    }

    const handled = this.totals()
    this.atQuota = { ...sent, answered: { register: handled.register, discover: handled.discover } }

    if (this.scenario.churn == null && this.scenario.stopAtQuota === true) {
      this.stopped = true
    }
  }

  /** A session length drawn for a node joining now */
  private session (): number {
    const churn = this.scenario.churn

    if (churn == null) {
      return Infinity
    }

    return this.random.logNormal(churn.medianSessionMs, churn.sessionSigma)
  }

  /**
   * What is left of the session of a node found online in a network at steady state: a session drawn in
   * proportion to its length (longer sessions are more likely to be under way), of which a uniform share is left.
   * For a log-normal, the length-biased draw is a log-normal of median `median * e^(sigma^2)`.
   */
  private residualSession (): number {
    const churn = this.scenario.churn

    if (churn == null) {
      return Infinity
    }

    const biased = this.random.logNormal(churn.medianSessionMs * Math.exp(churn.sessionSigma ** 2), churn.sessionSigma)
    return biased * this.random.next()
  }

  private meanSession (): number {
    const churn = this.scenario.churn
    return churn == null ? Infinity : churn.medianSessionMs * Math.exp(churn.sessionSigma ** 2 / 2)
  }

  /** Arrivals as a Poisson process that keeps `nodes` online on average */
  private scheduleArrival (): void {
    const gap = this.random.exponential(this.meanSession() / this.scenario.nodes)
    this.clock.setTimeout(() => {
      if (this.clock.now() - ORIGIN < this.scenario.durationMs) {
        void this.join(this.session())
        this.scheduleArrival()
      }
    }, gap)
  }

  private topicsForNode (): string[] {
    const [min, max] = this.scenario.topics.perNode
    const wanted = Math.min(this.topicNames.length, min + this.random.int(max - min + 1))
    const chosen = new Set<string>()

    for (let tries = 0; chosen.size < wanted && tries < wanted * 20; tries++) {
      chosen.add(this.topicNames[this.zipf.sample(this.random.next)])
    }

    return [...chosen].sort()
  }

  private nextSeq (): bigint {
    return BigInt(Math.floor(this.clock.now()))
  }

  private createNode (): SimNode {
    const s = this.scenario
    const kind: NodeKind = this.random.chance(s.browserShare) ? 'browser' : 'public'
    const runsRelay = kind === 'public' && this.random.chance(s.relayShare)
    const identity = makeIdentity(this.random.next)
    const index = this.nodeIndex++
    const [minDelay, maxDelay] = s.latency.accessDelayMs
    const light = s.realShare != null && s.realShare < 1 && !this.random.chance(s.realShare)

    return new SimNode({
      identity,
      kind,
      runsRelay,
      topics: this.topicsForNode(),
      accessDelay: this.random.uniform(minDelay, maxDelay),
      maxConnections: kind === 'browser' ? s.maxConnections.browser : s.maxConnections.public,
      address: kind === 'public' ? publicAddress(index) : undefined,
      light,
      discovery: {
        ...s.discovery,
        points: this.pointAddresses,
        relay: 'auto',
        onWarning: (warning) => { this.warnings[warning.code] = (this.warnings[warning.code] ?? 0) + 1 }
      },
      runtime: this.runtime,
      network: this.network,
      seal: (id: Identity, addresses: Multiaddr[]) => this.trusted.seal(id, addresses, this.nextSeq()),
      client: (node) => new SimClient(node, this.network, this.realCounters)
    })
  }

  private async join (session: number | undefined): Promise<void> {
    const node = this.createNode()
    this.joined++
    this.browsers += node.kind === 'browser' ? 1 : 0
    this.relays += node.runsRelay ? 1 : 0
    if (!node.light) {
      this.everyone.push(node)
    }
    node.joinedAt = this.clock.now()
    const group = node.light ? undefined : this.groupFor(node)
    await this.startInGroup(group)
    node.startedAt = this.clock.now()
    this.network.nodes.set(node.id, node)
    this.network.track(node, true)
    this.measurements.joined(node, this.clock.now())
    node.start()

    if (group != null) {
      this.idleWork(node)
    }

    if (node.light) {
      if (node.kind === 'browser') {
        this.network.assignLightRelay(node)
      }

      const light = new LightSchedule({
        node,
        client: new SimClient(node, this.network),
        points: this.points,
        clock: this.clock,
        random: this.random.next,
        ttl: this.scenario.discovery.ttl,
        refreshMargin: this.scenario.discovery.refreshMargin ?? DISCOVERY_DEFAULTS.refreshMargin,
        // a real node registers at every configured point unless configuredFallback is off: then at k by weight
        pointsPerNamespace: this.scenario.discovery.configuredFallback === false ? (this.scenario.discovery.pointsPerNamespace ?? DISCOVERY_DEFAULTS.pointsPerNamespace) : undefined
      })
      this.lights.set(node, light)
      light.start()
    } else {
      this.realJoined++
    }

    if (session != null && Number.isFinite(session)) {
      this.clock.setTimeout(() => { void this.leave(node) }, session)
    }
  }

  /** The node-group process the next real node goes to: the first with room, in order, as the run fills them */
  private groupFor (node: SimNode): Group | undefined {
    const group = this.groups.find(g => g.nodes.length < g.size)

    if (group != null) {
      group.nodes.push(node)
      node.process = group.process
    }

    return group
  }

  /**
   * A node group creates and starts all its nodes before any of them counts as started (node-group.ts starts them
   * together and times each from the end of its own start): one piece of work for all of them, then the group's
   * look at its nodes' quotas every `GROUP_POLL_MS`, queued in its process like everything else there
   */
  private async startInGroup (group: Group | undefined): Promise<void> {
    const run = this.processRun

    if (run == null || group == null) {
      return
    }

    if (group.started == null) {
      group.started = group.process.run(group.size * run.costs.nodeStartMs, 'start')
      void group.started.then(() => { this.pollQuotas(group) })
    }

    await group.started
  }

  private pollQuotas (group: Group): void {
    this.clock.setTimeout(() => {
      void group.process.run(0, 'poll').then(() => {
        if (this.stopped) {
          return
        }

        for (const node of group.nodes) {
          this.measurements.check(node, this.clock.now())
        }

        this.pollQuotas(group)
      })
    }, GROUP_POLL_MS)
  }

  /**
   * What a node costs its process every `idle.periodMs` while it runs (its heartbeat, pings, timers). Like the timers
   * that do this work in a real process (gossipsub's heartbeat re-armed when it runs, Node's setInterval re-armed when
   * its callback runs), the next period starts once this one's work has run: a busy process runs them late and
   * fewer, never a backlog of them. Queuing one every period whatever the process's queue (as before) made the idle
   * work of 200 nodes in 8 processes (25 x (0.5 + 0.7 x 10 connections) ms per s each, 1.5 cores) outgrow the 1.6
   * cores a loaded round had: the queues grew without end, and nodes stuck behind them never reached their quota
   * in 120 s, while every real node did within 62 s
   */
  private idleWork (node: SimNode): void {
    const run = this.processRun
    const proc = node.process

    if (run == null || proc == null) {
      return
    }

    const { periodMs, perNodeMs, perConnectionMs } = run.costs.idle
    this.clock.setTimeout(() => {
      if (!node.online || this.stopped) {
        return
      }

      void proc.run(perNodeMs + perConnectionMs * node.connectionCount, 'idle').then(() => { this.idleWork(node) })
    }, periodMs)
  }

  private async leave (node: SimNode): Promise<void> {
    if (!node.online) {
      return
    }

    const clean = this.random.chance(this.scenario.churn?.cleanLeaveShare ?? 1)
    this.left++

    const light = this.lights.get(node)

    if (clean) {
      this.leftCleanly++
      // libp2p's stop: the module unregisters while the connections are still up, then everything closes
      await (light == null ? node.module?.beforeStop() : light.unregisterAll())
    }

    if (!clean && this.windowStart != null) {
      this.abandoned += light != null ? light.registered : node.module?.status.scheduler.registrations.filter(r => r.registered).length ?? 0
    }

    light?.stop()
    this.lights.delete(node)
    node.lightRelay?.reservations.delete(node.id)
    node.online = false
    node.departure = clean ? 'clean' : 'vanished'
    this.network.nodes.delete(node.id)
    this.network.track(node, false)
    this.measurements.left(node, this.clock.now())
    this.network.disconnectAll(node)
    await node.module?.stop()
  }

  /**
   * How many registrations of nodes that left without unregistering there are per node online, at steady state:
   * departures come at `1 / mean session` per node, a share of them unclean, and each leaves its registrations to
   * run out within one TTL.
   */
  private ghostsPerNode (): number {
    const churn = this.scenario.churn

    if (churn == null) {
      return 0
    }

    const ttlMs = (this.scenario.discovery.ttl ?? this.points[0].config.defaultTtl) * 1000
    return ttlMs / this.meanSession() * (1 - churn.cleanLeaveShare)
  }

  /**
   * The registrations of one node that left without unregistering, as it would have left them at a random moment
   * of the last TTL: written straight into each point's store with what is left of their TTL.
   */
  private async addGhost (): Promise<void> {
    const s = this.scenario
    const ttlMs = (s.discovery.ttl ?? this.points[0].config.defaultTtl) * 1000
    const now = Math.floor(this.clock.now())
    const identity = makeIdentity(this.random.next)
    const browser = this.random.chance(s.browserShare)
    const runsRelay = !browser && this.random.chance(s.relayShare)
    // nobody answers at these addresses any more: what they are matters only for the record's size
    const address = browser
      ? multiaddr(`${publicAddress(this.nodeIndex++).toString()}/p2p/${identity.id}/p2p-circuit`)
      : publicAddress(this.nodeIndex++)
    const left = Math.ceil(this.random.next() * ttlMs)
    const seq = BigInt(now - (ttlMs - left))
    const record = this.trusted.seal(identity, [address], seq)
    const namespaces = this.topicsForNode().map(topicNamespace)

    if (runsRelay) {
      namespaces.push(RELAY_NAMESPACE)
    }

    for (const point of this.points) {
      for (const namespace of namespaces) {
        await point.store.register({ peerId: identity.id, namespace, signedPeerRecord: record.envelope, recordSeq: comparableSeq(seq), expiresAt: now + left }, {
          maxRegistrationsPerPeer: point.config.maxRegistrationsPerPeer,
          maxRegistrationsTotal: point.config.maxRegistrationsTotal,
          maxRecordSize: point.config.maxRecordSize
        }, now)
      }
    }

    this.ghosts++
  }

  /** Stops every module still running and the points, abruptly (nothing more is measured) */
  private async shutdown (online: SimNode[]): Promise<void> {
    for (const node of online) {
      node.online = false
    }

    this.network.nodes.clear()

    for (const light of this.lights.values()) {
      light.stop()
    }

    // a module's stop cancels its timers at once; what it still awaits (its UNREGISTERs under way, a leave's stop
    // that a second stop waits for) waits on the simulated clock, which runs no more: that is let go
    const stops = Promise.allSettled(online.map(async node => node.module?.stop()))
    await Promise.race([stops, new Promise(resolve => setImmediate(resolve))])

    for (const point of this.points) {
      point.stop()
    }
  }
}
