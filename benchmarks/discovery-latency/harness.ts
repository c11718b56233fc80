/**
 * The standard swarm run most methods share: start infrastructure, create N nodes, start them at one instant,
 * subscribe each to the topic, then watch every node until it holds `quota` connected peers subscribed to the
 * topic, or the bound runs out. Optionally a freshness phase follows.
 */
import { createBenchNode, stopAll } from '../lib/nodes.ts'
import { debug } from '../lib/print.ts'
import type { BenchEnv, FreshnessResult, MethodResult, NodeTiming, RelayResult } from './types.ts'
import type { BenchNode, BenchNodeInit, TransportName } from '../lib/nodes.ts'
import type { PeerId } from '@libp2p/interface'

/** How often the watcher looks at every node, in ms: the resolution of every timing */
const WATCH_INTERVAL_MS = 10

export interface Infrastructure {
  /** Nodes that are not measured and never count towards a quota (hub, rendezvous server, relays) */
  nodes: BenchNode[]
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
}

export interface SwarmHelpers {
  env: BenchEnv
  /** Is this peer part of the infrastructure? */
  isInfrastructure(peer: PeerId): boolean
  /** Connected peers subscribed to the topic, infrastructure excluded */
  topicPeers(node: BenchNode): number
  /** Connected peers other than the infrastructure, subscribed or not */
  connectedPeers(node: BenchNode): number
}

export function createHelpers (env: BenchEnv, infraIds: Set<string>): SwarmHelpers {
  const isInfrastructure = (peer: PeerId): boolean => infraIds.has(peer.toString())
  return {
    env,
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
  const helpers = createHelpers(env, infraIds)
  const nodes: BenchNode[] = []
  const notes: string[] = []

  try {
    for (let i = 0; i < env.nodes; i++) {
      nodes.push(await createBenchNode({ ...spec.nodeInit(i, infra, 'swarm'), transport: env.transport }))
    }

    const timings: NodeTiming[] = nodes.map(() => ({ infraMs: null, firstPeerMs: null, quotaMs: null }))
    const startedAt: number[] = []
    const commonStart = performance.now()

    const started = nodes.map(async (node, i) => {
      startedAt[i] = performance.now()
      await node.start()
      node.services.pubsub.subscribe(env.topic)
      spec.afterStart?.(node, i, helpers, 'swarm')
    })

    const allStarted = Promise.all(started)
    await watch(env, nodes, timings, startedAt, helpers, commonStart, spec)
    await allStarted

    for (const node of nodes) {
      debug(`${node.peerId}: peers ${node.getPeers().length}, topic peers ${helpers.topicPeers(node)}, subscribers ${node.services.pubsub.getSubscribers(env.topic).length}`)
    }

    let freshness: FreshnessResult | undefined
    if (env.freshness) {
      freshness = await measureFreshness(env, spec, infra, nodes, timings, helpers, notes)
    }

    return { nodes: timings, freshness, notes }
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
 * a connection the observer's side opened or accepted).
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

  try {
    clock.lateStartedAt = performance.now()
    await late.start()
    late.services.pubsub.subscribe(env.topic)
    spec.afterStart?.(late, nodes.length, helpers, 'late')

    const deadline = performance.now() + env.freshnessBoundMs
    while (found.size < observers.length && performance.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  } finally {
    listeners.forEach(remove => { remove() })
    await stopAll([late])
  }

  if (observers.length === 0) {
    notes.push('freshness: no node was at quota, nobody to observe the late node')
  }

  return { observers: observers.length, foundMs: [...found.values()] }
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

export async function runRelayNodes (env: BenchEnv, count: number, boundMs: number, nodeInit: (i: number) => Omit<BenchNodeInit, 'transport' | 'listen' | 'relayReservations'>, afterStart?: (node: BenchNode) => void): Promise<RelayResult> {
  const nodes: BenchNode[] = []
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(await createBenchNode({ ...nodeInit(i), transport: RELAY_TRANSPORT, listen: false, relayReservations: 1 }))
    }

    const reservationMs: Array<number | null> = nodes.map(() => null)
    await Promise.all(nodes.map(async (node, i) => {
      const startedAt = performance.now()
      const reserved = new Promise<void>(resolve => {
        const check = (): void => {
          if (node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))) {
            reservationMs[i] ??= performance.now() - startedAt
            node.removeEventListener('self:peer:update', check)
            resolve()
          }
        }
        node.addEventListener('self:peer:update', check)
      })
      await node.start()
      afterStart?.(node)
      await raceTimeout(reserved, boundMs - (performance.now() - startedAt))
    }))

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
