/**
 * The common shape of a discovery method under test. Each method lives in `methods/<name>.ts` and exports one
 * `DiscoveryMethod`; the harness runs them one after another, each in its own child process, with the same
 * environment.
 */
import type { TransportName } from '../lib/nodes.ts'

/** What every method is run with */
export interface BenchEnv {
  /** The method's name, for file names */
  method?: string
  transport: TransportName
  /** Measured nodes, started together */
  nodes: number
  /** The gossipsub topic all of them subscribe to */
  topic: string
  /** Connected peers subscribed to the topic that count as "found what it needs" (gossipsub's D) */
  quota: number
  /** How long to wait for every node to reach the quota, in ms, from the common start */
  boundMs: number
  /** Also measure freshness: a node started after the others, and how long nodes at quota take to find it */
  freshness: boolean
  /** Bound of the freshness phase, in ms */
  freshnessBoundMs: number
}

/** Times of one measured node, in ms since its `start()` was called; `null` when it never happened */
export interface NodeTiming {
  /** Its first connection to the method's infrastructure (hub, rendezvous server) */
  infraMs: number | null
  /** Its first connected peer subscribed to the topic */
  firstPeerMs: number | null
  /** `quota` connected peers subscribed to the topic */
  quotaMs: number | null
}

export interface FreshnessResult {
  /** Nodes that were at quota when the late node started */
  observers: number
  /** Per observer that found the late node: ms from the late node's `start()` until it was discovered */
  foundMs: number[]
  /**
   * Per observer that found the late node: ms from the moment its registration reached the infrastructure (when
   * the method can tell, e.g. the rendezvous server's store) until it was discovered
   */
  foundAfterRegistrationMs?: number[]
  /** How long the phase ran, in ms */
  durationMs?: number
  /** Requests the infrastructure counted during the phase, by kind (e.g. `discover`), when it counts them */
  requests?: Record<string, number>
  /** Per observer: DISCOVERs it sent during the phase, when the method can tell */
  queriesPerObserver?: number[]
  /** The shortest time between two DISCOVERs of one observer during the phase, in ms (to 50 ms) */
  shortestQueryGapMs?: number
}

/** CPU and connections over the quota phase: from the common start until every node reached the quota */
export interface QuotaPhase {
  /** CPU time of the whole process over the phase, in ms (all nodes and the infrastructure share it) */
  cpuMs: number
  wallMs: number
  /** Per measured node at the end of the phase: open connections to other measured nodes (infrastructure not counted) */
  connections: number[]
}

export interface MethodResult {
  nodes: NodeTiming[]
  quotaPhase?: QuotaPhase
  freshness?: FreshnessResult
  /** Anything the method wants to say about this run (e.g. why it could not reach the quota) */
  notes?: string[]
}

export interface RelayResult {
  /** Per relay-needing node: ms from `start()` until it advertised a `/p2p-circuit` address; null: never */
  reservationMs: Array<number | null>
  /**
   * Per relay-needing node: ms from its reservation (the circuit address in its listeners) until the
   * infrastructure held a registration carrying it; null: never. Only for methods that register addresses
   */
  registeredAfterMs?: Array<number | null>
}

export interface DiscoveryMethod {
  /** Short id, used on the command line and as the module's file name */
  name: string
  /** Label in tables and the chart */
  label: string
  /** One sentence: what the nodes know and do */
  description: string
  /** Runs N nodes and reports their timings. Must stop everything it started before resolving */
  run(env: BenchEnv): Promise<MethodResult>
  /** Time for nodes that need a relay (no listen address) to hold a reservation, when the method can do it */
  relay?(env: BenchEnv, count: number, boundMs: number): Promise<RelayResult>
}
