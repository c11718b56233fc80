/**
 * The standard swarm run most methods share: start infrastructure, create N nodes, start them at one instant,
 * subscribe each to the topic, then watch every node until it holds `quota` connected peers subscribed to the
 * topic, or the bound runs out. Optionally a freshness phase follows.
 */
import { createBenchNode, stopAll } from '../lib/nodes.ts'
import { debug } from '../lib/print.ts'
import { profilePhase } from '../lib/profiler.ts'
import type { BenchEnv, FreshnessResult, MethodResult, NodeTiming, QuotaPhase, RelayResult } from './types.ts'
import type { BenchNode, BenchNodeInit, TransportName } from '../lib/nodes.ts'
import type { PeerId } from '@libp2p/interface'

/** How often the watcher looks at every node, in ms: the resolution of every timing */
const WATCH_INTERVAL_MS = 10

export interface Infrastructure {
  /** Nodes that are not measured and never count towards a quota (hub, rendezvous server, relays) */
  nodes: BenchNode[]
  /** Requests the infrastructure has served so far, by kind, when it counts them */
  requests?(): Record<string, number>
  /** When the infrastructure first held a registration of `peer` (performance.now()), when it can tell */
  registeredAt?(peer: PeerId): number | undefined
  /** Called before the measured nodes are stopped, e.g. to cancel their loops */
  beforeStop?(): void
  /** Anything else to stop at the end */
  stop?(): Promise<void>
}

/**
 * `swarm`: one of the N measured nodes. `late`: the node started after the others for the freshness phase; it
 * must make itself findable (register, announce, provide) but not go looking for peers itself, so that the
 * observers' own discovery is what is measured
 */
export type NodeRole = 'swarm' | 'late'

export interface SwarmSpec {
  /** Starts the method's infrastructure */
  infrastructure(env: BenchEnv): Promise<Infrastructure>
  /** What node `i` adds to the common node (transport, identify, gossipsub come from the harness) */
  nodeInit(i: number, infra: Infrastructure, role: NodeRole): Omit<BenchNodeInit, 'transport'>
  /** Called once node `i` has started and subscribed, e.g. to dial what it discovers */
  afterStart?(node: BenchNode, i: number, helpers: SwarmHelpers, role: NodeRole): void
  /**
   * False for methods that cannot reach the quota by construction: the run then ends once every node is
   * connected to the infrastructure, plus `graceMs`. Default true
   */
  canReachQuota?: boolean
  /** See `canReachQuota`. Default 2000 */
  graceMs?: number
  /** Whether a late node can be found at all (the freshness phase). Default true */
  freshness?: boolean
  /**
   * DISCOVERs node `node` has sent so far (all namespaces and points), when the method can tell: the freshness
   * phase then times each observer's queries, so that the rate of a node at quota is its own, not the
   * infrastructure's count spread over everyone
   */
  discoverQueries?(node: BenchNode): number
}

export interface SwarmHelpers {
  env: BenchEnv
  /** The measured nodes, in order */
  nodes: BenchNode[]
  /** Is this peer part of the infrastructure? */
  isInfrastructure(peer: PeerId): boolean
  /** Connected peers subscribed to the topic, infrastructure excluded */
  topicPeers(node: BenchNode): number
  /** Connected peers other than the infrastructure, subscribed or not */
  connectedPeers(node: BenchNode): number
}

export function createHelpers (env: BenchEnv, infraIds: Set<string>, nodes: BenchNode[] = []): SwarmHelpers {
  const isInfrastructure = (peer: PeerId): boolean => infraIds.has(peer.toString())
  return {
    env,
    nodes,
    isInfrastructure,
    topicPeers (node) {
      let count = 0
      for (const peer of node.services.pubsub.getSubscribers(env.topic)) {
        if (!isInfrastructure(peer) && node.getConnections(peer).length > 0) {
          count++
        }
      }
      return count
    },
    connectedPeers (node) {
      return node.getPeers().filter(peer => !isInfrastructure(peer)).length
    }
  }
}

export async function runSwarm (env: BenchEnv, spec: SwarmSpec): Promise<MethodResult> {
  const infra = await spec.infrastructure(env)
  const infraIds = new Set(infra.nodes.map(node => node.peerId.toString()))
  const nodes: BenchNode[] = []
  const helpers = createHelpers(env, infraIds, nodes)
  const notes: string[] = []

  try {
    for (let i = 0; i < env.nodes; i++) {
      nodes.push(await createBenchNode({ ...spec.nodeInit(i, infra, 'swarm'), transport: env.transport }))
    }

    const timings: NodeTiming[] = nodes.map(() => ({ infraMs: null, firstPeerMs: null, quotaMs: null }))
    const startedAt: number[] = []
    const profiler = await profilePhase(`${env.method ?? 'method'}-${env.transport}-${env.nodes}`)
    const cpuStart = process.cpuUsage()
    const commonStart = performance.now()

    const started = nodes.map(async (node, i) => {
      startedAt[i] = performance.now()
      await node.start()
      node.services.pubsub.subscribe(env.topic)
      spec.afterStart?.(node, i, helpers, 'swarm')
    })

    const allStarted = Promise.all(started)
    await watch(env, nodes, timings, startedAt, helpers, commonStart, spec)
    const cpu = process.cpuUsage(cpuStart)
    await profiler.stop()
    const quotaPhase: QuotaPhase = {
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - commonStart,
      connections: nodes.map(node => node.getConnections().filter(c => !helpers.isInfrastructure(c.remotePeer)).length)
    }
    await allStarted

    for (const node of nodes) {
      debug(`${node.peerId}: peers ${node.getPeers().length}, topic peers ${helpers.topicPeers(node)}, subscribers ${node.services.pubsub.getSubscribers(env.topic).length}`)
    }

    let freshness: FreshnessResult | undefined
    if (env.freshness && spec.freshness !== false) {
      freshness = await measureFreshness(env, spec, infra, nodes, timings, helpers, notes)
    }

    return { nodes: timings, quotaPhase, freshness, notes }
  } finally {
    infra.beforeStop?.()
    await stopAll(nodes)
    await stopAll(infra.nodes)
    await infra.stop?.()
  }
}

/** Polls every node until all reached the quota or the bound ran out */
async function watch (env: BenchEnv, nodes: BenchNode[], timings: NodeTiming[], startedAt: number[], helpers: SwarmHelpers, commonStart: number, spec: SwarmSpec): Promise<void> {
  const canReachQuota = spec.canReachQuota ?? true
  let allInfraAt: number | undefined

  await new Promise<void>(resolve => {
    const timer = setInterval(() => {
      const now = performance.now()
      let pending = 0
      let withoutInfra = 0

      nodes.forEach((node, i) => {
        if (startedAt[i] == null || node.status !== 'started') {
          pending++
          withoutInfra++
          return
        }

        const t = timings[i]
        if (t.infraMs == null) {
          if (node.getPeers().some(peer => helpers.isInfrastructure(peer))) {
            t.infraMs = now - startedAt[i]
          } else {
            withoutInfra++
          }
        }

        if (t.quotaMs == null) {
          const count = helpers.topicPeers(node)
          if (count > 0 && t.firstPeerMs == null) {
            t.firstPeerMs = now - startedAt[i]
          }
          if (count >= env.quota) {
            t.quotaMs = now - startedAt[i]
          } else {
            pending++
          }
        }
      })

      if (withoutInfra === 0 && allInfraAt == null) {
        allInfraAt = now
      }

      const outOfTime = now - commonStart >= env.boundMs
      const hopeless = !canReachQuota && allInfraAt != null && now - allInfraAt >= (spec.graceMs ?? 2000)

      if (pending === 0 || outOfTime || hopeless) {
        clearInterval(timer)
        resolve()
      }
    }, WATCH_INTERVAL_MS)
  })
}

/**
 * Starts one more node after the others settled and measures, for every node already at quota, how long it
 * takes to learn of the newcomer: a `peer:discovery` event for it (from a discovery module, or from identify on
 * a connection the observer's side opened or accepted). When the infrastructure counts its requests, the phase
 * runs its whole bound, so that the request rate of nodes at quota is measured over a fixed window.
 */
async function measureFreshness (env: BenchEnv, spec: SwarmSpec, infra: Infrastructure, nodes: BenchNode[], timings: NodeTiming[], helpers: SwarmHelpers, notes: string[]): Promise<FreshnessResult> {
  const observers = nodes.filter((_, i) => timings[i].quotaMs != null)
  const late = await createBenchNode({ ...spec.nodeInit(nodes.length, infra, 'late'), transport: env.transport })
  const lateId = late.peerId.toString()
  const found = new Map<BenchNode, number>()
  const clock = { lateStartedAt: 0 }
  const listeners: Array<() => void> = []

  for (const observer of observers) {
    const onFound = (evt: CustomEvent<{ id: PeerId }>): void => {
      if (evt.detail.id.toString() === lateId && !found.has(observer)) {
        found.set(observer, performance.now() - clock.lateStartedAt)
      }
    }
    observer.addEventListener('peer:discovery', onFound)
    listeners.push(() => {
      observer.removeEventListener('peer:discovery', onFound)
    })
  }

  const before = infra.requests?.()
  let durationMs = 0
  // per observer: the DISCOVER count last seen and the instants it went up (to the resolution of the poll, 50 ms)
  const queries = observers.map(node => ({ seen: spec.discoverQueries?.(node) ?? 0, at: [] as number[] }))
  const countQueries = (): void => {
    if (spec.discoverQueries == null) {
      return
    }
    const now = performance.now()
    observers.forEach((node, i) => {
      const count = spec.discoverQueries?.(node) ?? 0
      for (; queries[i].seen < count; queries[i].seen++) {
        queries[i].at.push(now)
      }
    })
  }

  try {
    clock.lateStartedAt = performance.now()
    await late.start()
    late.services.pubsub.subscribe(env.topic)
    spec.afterStart?.(late, nodes.length, helpers, 'late')

    // with request counts the phase runs its whole bound, so that the rate is measured over a fixed window
    const deadline = performance.now() + env.freshnessBoundMs
    const done = (): boolean => before == null && found.size >= observers.length
    while (!done() && performance.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50))
      countQueries()
    }
    durationMs = performance.now() - clock.lateStartedAt
  } finally {
    listeners.forEach(remove => { remove() })
    await stopAll([late])
  }

  if (observers.length === 0) {
    notes.push('freshness: no node was at quota, nobody to observe the late node')
  }

  const result: FreshnessResult = { observers: observers.length, foundMs: [...found.values()], durationMs }
  const registeredAt = infra.registeredAt?.(late.peerId)

  if (registeredAt != null) {
    result.foundAfterRegistrationMs = [...found.values()].map(ms => ms + clock.lateStartedAt - registeredAt)
  }

  if (spec.discoverQueries != null) {
    result.queriesPerObserver = queries.map(q => q.at.length)
    result.shortestQueryGapMs = queries.flatMap(q => q.at.slice(1).map((at, i) => at - q.at[i]))
      .reduce<number | undefined>((min, gap) => min == null || gap < min ? gap : min, undefined)
  }

  if (before != null) {
    const after = infra.requests?.() ?? {}
    result.requests = Object.fromEntries(Object.entries(after).map(([kind, count]) => [kind, count - (before[kind] ?? 0)]))
  }

  return result
}

/**
 * Starts `count` nodes that cannot be dialed (no listen address, like browsers) and want one relay reservation,
 * and measures for each the time from `start()` until it advertises a `/p2p-circuit` address.
 *
 * Always on TCP: on `@libp2p/memory`, circuit-relay-v2@4 throws from an event handler once a reservation is
 * made (`confirmObservedAddr` -> `getNetConfig`: "was not an IPv4, IPv6, DNS... address"), which takes the
 * process down. Methods must build their relays with {@link RELAY_TRANSPORT}.
 */
export const RELAY_TRANSPORT: TransportName = 'tcp'

export interface RelayNodeHooks {
  /** Called once a node has started */
  afterStart?(node: BenchNode): void
  /** Called when a node first advertises a circuit address, with the instant (performance.now()) */
  onReserved?(node: BenchNode, at: number): void
  /** How long the nodes keep running after the last reservation (e.g. for a REGISTER on its way), in ms. Default 0 */
  lingerMs?: number
}

export async function runRelayNodes (env: BenchEnv, count: number, boundMs: number, nodeInit: (i: number) => Omit<BenchNodeInit, 'transport' | 'listen' | 'relayReservations'>, hooks: RelayNodeHooks = {}): Promise<RelayResult> {
  const { afterStart, onReserved } = hooks
  const nodes: BenchNode[] = []
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(await createBenchNode({ ...nodeInit(i), transport: RELAY_TRANSPORT, listen: false, relayReservations: 1 }))
    }

    const reservationMs: Array<number | null> = nodes.map(() => null)
    await Promise.all(nodes.map(async (node, i) => {
      const startedAt = performance.now()
      const reserved = new Promise<void>(resolve => {
        // a new listener's addresses are in getMultiaddrs() as it starts listening; libp2p's self:peer:update for
        // them comes after a 1 s debounce
        const check = (): void => {
          if (node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))) {
            const at = performance.now()
            reservationMs[i] ??= at - startedAt
            onReserved?.(node, at)
            node.removeEventListener('self:peer:update', check)
            node.removeEventListener('transport:listening', check)
            resolve()
          }
        }
        node.addEventListener('self:peer:update', check)
        node.addEventListener('transport:listening', check)
      })
      await node.start()
      afterStart?.(node)
      await raceTimeout(reserved, boundMs - (performance.now() - startedAt))
    }))

    await new Promise(resolve => setTimeout(resolve, hooks.lingerMs ?? 0))
    return { reservationMs }
  } finally {
    await stopAll(nodes)
  }
}

/** Waits for `promise` or `ms`, whichever comes first, and leaves no timer behind */
export async function raceTimeout (promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([promise, new Promise<void>(resolve => { timer = setTimeout(resolve, Math.max(0, ms)) })])
  } finally {
    clearTimeout(timer)
  }
}
