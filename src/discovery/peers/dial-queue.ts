/**
 * Dials of discovered peers, on `@libp2p/utils`' `PeerQueue` (as js-libp2p's own dial queue and circuit relay
 * reservations are): highest priority first (relays before dapp and user namespaces before topics), at most
 * `maxParallelDials` at once and `maxQueuedDials` waiting, each bounded by `dialTimeout`, never taking the node
 * past `maxConnections - connectionHeadroom` (dials in flight included), and backing off a peer whose dial
 * failed. The connection budget and the backoff stay out here, outside the queue, which only orders and runs.
 * libp2p v3 has no autodialer: nothing else dials what discovery finds.
 */
import { PeerQueue } from '@libp2p/utils'
import { clockTimeout } from '../clock.ts'
import { PeerBackoff } from './peer-backoff.ts'
import type { Runtime } from '../clock.ts'
import type { ResolvedOptions } from '../config.ts'
import type { NamespaceKind } from '../options.ts'
import type { AbortOptions, ComponentLogger, Logger, Metrics, PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface DialQueueComponents {
  connectionManager: Pick<ConnectionManager, 'openConnection' | 'getConnections' | 'getMaxConnections'>
  logger: ComponentLogger
  metrics?: Metrics
}

export type DialQueueOptions = Pick<ResolvedOptions, 'peerBackoff' | 'maxParallelDials' | 'maxQueuedDials' | 'dialTimeout' | 'connectionHeadroom'>

export type DialOutcome = 'success' | 'failure' | 'skipped'

export interface DialJob {
  peerId: PeerId
  /** The namespace the peer is dialed for */
  ns: string
  kind: NamespaceKind
  /** Higher first */
  priority: number
}

export interface DialQueueHooks {
  /** Runs once a dial leaves the queue, before the connection is opened (e.g. to store the peer's addresses) */
  beforeDial?(job: DialJob): Promise<void>
  /** A dial left the queue and is about to open a connection */
  onStart?(job: DialJob): void
  /** A dial ended (not called for the dials a stop aborted) */
  onDone?(job: DialJob, outcome: DialOutcome, err?: unknown): void
}

/** The queue's metric: jobs queued and running (`size`, `running`, `queued`) */
export const DIAL_QUEUE_METRIC = 'libp2p_rendezvous_discovery_dial_queue'

interface DialJobOptions extends AbortOptions {
  peerId: PeerId
  priority: number
}

interface DialResult {
  outcome: DialOutcome
  error?: unknown
}

export class DialQueue {
  private readonly components: DialQueueComponents
  private readonly options: DialQueueOptions
  private readonly runtime: Runtime
  private readonly hooks: DialQueueHooks
  private readonly log: Logger
  readonly backoff: PeerBackoff
  /** Queued and running dials: a running job stays in it (and in `has`) until it ends */
  private readonly queue: PeerQueue<DialResult, DialJobOptions>
  private started = false

  constructor (components: DialQueueComponents, options: DialQueueOptions, runtime: Runtime, hooks: DialQueueHooks = {}) {
    this.components = components
    this.options = options
    this.runtime = runtime
    this.hooks = hooks
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery:dial-queue')
    this.backoff = new PeerBackoff(options.peerBackoff, runtime.random)
    this.queue = new PeerQueue<DialResult, DialJobOptions>({
      concurrency: options.maxParallelDials,
      // Array.prototype.sort is stable: among equal priorities the earlier job goes first
      sort: (a, b) => Math.sign(b.options.priority - a.options.priority) as -1 | 0 | 1,
      metricName: DIAL_QUEUE_METRIC,
      metrics: components.metrics
    })
  }

  start (): void {
    this.started = true
  }

  /** Drops what waits and aborts what runs (their job signals) */
  stop (): void {
    this.started = false
    this.queue.abort()
    this.backoff.clear()
  }

  /** Dials waiting */
  get queued (): number {
    return this.queue.queued
  }

  /** Dials running */
  get dialing (): number {
    return this.queue.running
  }

  /** Whether the peer is queued or being dialed */
  has (peer: PeerId): boolean {
    return this.queue.has(peer)
  }

  /** Whether another dial would be queued now (dials running do not count: the queue's own maxSize would) */
  get full (): boolean {
    return this.queue.queued >= this.options.maxQueuedDials
  }

  /** The most connections dials may take the node to: maxConnections minus the headroom */
  connectionLimit (): number {
    const max = this.components.connectionManager.getMaxConnections()
    const headroom = this.options.connectionHeadroom ?? Math.max(2, Math.ceil(max / 10))
    return Math.max(0, max - headroom)
  }

  /** How many more dials the connection budget allows, counting open connections and dials queued or running */
  budget (connections: number): number {
    return this.connectionLimit() - connections - this.queue.size
  }

  /** Queues a dial; false when the queue is full, not started, or the peer is queued or dialing already */
  add (job: DialJob): boolean {
    if (!this.started || this.full || this.queue.has(job.peerId)) {
      return false
    }

    // onDone runs once the job has left the queue, so that what it triggers (more dials) sees the peer gone
    this.queue.add(async ({ signal }) => this.dial(job, signal), { peerId: job.peerId, priority: job.priority })
      .then(({ outcome, error }) => { this.hooks.onDone?.(job, outcome, error) })
      // rejects only when stop() aborted the job: nothing is reported after a stop
      .catch(() => {})
    return true
  }

  private async dial (job: DialJob, signal?: AbortSignal): Promise<DialResult> {
    const connections = this.components.connectionManager.getConnections()

    if (connections.some(c => c.remotePeer.equals(job.peerId))) {
      return { outcome: 'skipped' }
    }

    // the budget may have shrunk while the dial waited (inbound connections arrived); dials running in
    // parallel have not opened their connection yet, so count them too (the queue counts this one)
    if (connections.length + this.queue.running - 1 >= this.connectionLimit()) {
      this.log('not dialing %p for %s: at the connection limit', job.peerId, job.ns)
      return { outcome: 'skipped' }
    }

    try {
      this.log('dialing %p for %s', job.peerId, job.ns)
      this.hooks.onStart?.(job)
      await this.hooks.beforeDial?.(job)
      const timeout = clockTimeout(this.runtime.clock, this.options.dialTimeout)

      try {
        await this.components.connectionManager.openConnection(job.peerId, {
          signal: signal == null ? timeout.signal : AbortSignal.any([signal, timeout.signal]),
          // the connection manager's default priority is 50; libp2p.dial() uses 75
          priority: 40 + job.priority * 10
        })
      } finally {
        timeout.clear()
      }

      this.backoff.succeed(job.peerId)
      return { outcome: 'success' }
    } catch (err: any) {
      if (signal?.aborted === true) {
        throw err
      }

      this.backoff.fail(job.peerId, this.runtime.clock.now())
      this.log('dialing %p for %s failed, backing off - %s', job.peerId, job.ns, err?.message ?? err)
      return { outcome: 'failure', error: err }
    }
  }
}
