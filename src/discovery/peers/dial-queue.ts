/**
 * Dials of discovered peers: a bounded queue, highest priority first (relays before dapp and user namespaces
 * before topics), at most `maxParallelDials` at once, each bounded by `dialTimeout`, never taking the node past
 * `maxConnections - connectionHeadroom` (dials in flight included), and backing off a peer whose dial failed.
 * libp2p v3 has no autodialer: nothing else dials what discovery finds.
 */
import { PeerSet } from '@libp2p/peer-collections'
import { clockTimeout } from '../clock.ts'
import { PeerBackoff } from './peer-backoff.ts'
import type { Runtime } from '../clock.ts'
import type { ResolvedOptions } from '../config.ts'
import type { NamespaceKind } from '../options.ts'
import type { ComponentLogger, Logger, PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface DialQueueComponents {
  connectionManager: Pick<ConnectionManager, 'openConnection' | 'getConnections' | 'getMaxConnections'>
  logger: ComponentLogger
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
  /** A dial ended */
  onDone?(job: DialJob, outcome: DialOutcome, err?: unknown): void
}

export class DialQueue {
  private readonly components: DialQueueComponents
  private readonly options: DialQueueOptions
  private readonly runtime: Runtime
  private readonly hooks: DialQueueHooks
  private readonly log: Logger
  readonly backoff: PeerBackoff
  private queue: DialJob[] = []
  /** Peers queued or dialing */
  private readonly peers = new PeerSet()
  private running = 0
  private controller?: AbortController

  constructor (components: DialQueueComponents, options: DialQueueOptions, runtime: Runtime, hooks: DialQueueHooks = {}) {
    this.components = components
    this.options = options
    this.runtime = runtime
    this.hooks = hooks
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery:dial-queue')
    this.backoff = new PeerBackoff(options.peerBackoff, runtime.random)
  }

  start (): void {
    this.controller ??= new AbortController()
  }

  /** Drops what waits and aborts what runs */
  stop (): void {
    this.controller?.abort()
    this.controller = undefined
    this.queue = []
    this.peers.clear()
    this.running = 0
    this.backoff.clear()
  }

  /** Dials waiting */
  get queued (): number {
    return this.queue.length
  }

  /** Dials running */
  get dialing (): number {
    return this.running
  }

  /** Whether the peer is queued or being dialed */
  has (peer: PeerId): boolean {
    return this.peers.has(peer)
  }

  /** Whether another dial would be queued now */
  get full (): boolean {
    return this.queue.length >= this.options.maxQueuedDials
  }

  /** The most connections dials may take the node to: maxConnections minus the headroom */
  connectionLimit (): number {
    const max = this.components.connectionManager.getMaxConnections()
    const headroom = this.options.connectionHeadroom ?? Math.max(2, Math.ceil(max / 10))
    return Math.max(0, max - headroom)
  }

  /** How many more dials the connection budget allows, counting open connections and dials queued or running */
  budget (connections: number): number {
    return this.connectionLimit() - connections - this.peers.size
  }

  /** Queues a dial; false when the queue is full, not started, or the peer is queued or dialing already */
  add (job: DialJob): boolean {
    if (this.controller == null || this.full || this.peers.has(job.peerId)) {
      return false
    }

    this.peers.add(job.peerId)
    this.queue.push(job)
    // stable: among equal priorities the earlier job goes first
    this.queue.sort((a, b) => b.priority - a.priority)
    this.pump()
    return true
  }

  private pump (): void {
    while (this.controller != null && this.running < this.options.maxParallelDials && this.queue.length > 0) {
      const job = this.queue.shift()

      if (job != null) {
        this.running++
        void this.dial(job, this.controller.signal)
      }
    }
  }

  private async dial (job: DialJob, signal: AbortSignal): Promise<void> {
    let outcome: DialOutcome = 'skipped'
    let error: unknown

    try {
      const connections = this.components.connectionManager.getConnections()

      if (connections.some(c => c.remotePeer.equals(job.peerId))) {
        return
      }

      // the budget may have shrunk while the dial waited (inbound connections arrived); dials running in
      // parallel have not opened their connection yet, so count them too
      if (connections.length + this.running - 1 >= this.connectionLimit()) {
        this.log('not dialing %p for %s: at the connection limit', job.peerId, job.ns)
        return
      }

      this.log('dialing %p for %s', job.peerId, job.ns)
      this.hooks.onStart?.(job)
      await this.hooks.beforeDial?.(job)
      const timeout = clockTimeout(this.runtime.clock, this.options.dialTimeout)

      try {
        await this.components.connectionManager.openConnection(job.peerId, {
          signal: AbortSignal.any([signal, timeout.signal]),
          // the connection manager's default priority is 50; libp2p.dial() uses 75
          priority: 40 + job.priority * 10
        })
        outcome = 'success'
        this.backoff.succeed(job.peerId)
      } finally {
        timeout.clear()
      }
    } catch (err: any) {
      if (signal.aborted) {
        return
      }

      outcome = 'failure'
      error = err
      this.backoff.fail(job.peerId, this.runtime.clock.now())
      this.log('dialing %p for %s failed, backing off - %s', job.peerId, job.ns, err?.message ?? err)
    } finally {
      if (!signal.aborted) {
        this.running--
        this.peers.delete(job.peerId)
        this.hooks.onDone?.(job, outcome, error)
        this.pump()
      }
    }
  }
}
