/**
 * The quotas' dials: the dial queue (dial-queue.ts) and what each dial means for the count (pending-dials.ts). A
 * peer's signed record is stored (its certified addresses) just before it is dialed, and only then, so that a
 * namespace of hundreds costs one signature check per record dialed. Each finished dial is counted in the metrics
 * and announced as `dialed`, for the quotas to count again.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { PeerSet } from '@libp2p/peer-collections'
import { DIAL_PRIORITY } from '../constants.ts'
import { DialQueue } from './dial-queue.ts'
import { PendingDials } from './pending-dials.ts'
import type { Candidates } from './candidates.ts'
import type { DialJob, DialOutcome, DialQueueComponents, DialQueueOptions } from './dial-queue.ts'
import type { PeerBackoff } from './peer-backoff.ts'
import type { Runtime } from '../clock.ts'
import type { NamespaceKind, NamespaceSpec } from '../options.ts'
import type { ComponentLogger, Logger, PeerId, PeerStore } from '@libp2p/interface'
import type { PeerMap } from '@libp2p/peer-collections'

export interface DialerComponents extends DialQueueComponents {
  peerStore: Pick<PeerStore, 'consumePeerRecord'>
  logger: ComponentLogger
}

export type DialerOptions = DialQueueOptions & { countGrace: number }

export interface DialerEvents {
  /** A dial ended */
  dialed: CustomEvent<{ job: DialJob, outcome: DialOutcome }>
}

export class Dialer extends TypedEventEmitter<DialerEvents> {
  private readonly components: DialerComponents
  private readonly runtime: Runtime
  private readonly log: Logger
  private readonly candidates: Candidates
  private readonly metrics?: { dial(kind: NamespaceKind, outcome: DialOutcome): void }
  private readonly queue: DialQueue
  private readonly pending: PendingDials

  constructor (components: DialerComponents, options: DialerOptions, runtime: Runtime, candidates: Candidates, metrics?: { dial(kind: NamespaceKind, outcome: DialOutcome): void }) {
    super()
    this.components = components
    this.runtime = runtime
    this.candidates = candidates
    this.metrics = metrics
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery:dialer')
    this.pending = new PendingDials(options)
    this.queue = new DialQueue(components, options, runtime, {
      beforeDial: async (job) => this.storeRecord(job),
      onStart: (job) => { this.pending.started(job.ns, job.peerId, this.runtime.clock.now()) },
      onDone: (job, outcome) => { this.done(job, outcome) }
    })
  }

  /** The peers whose dials failed, and when each may be dialed again */
  get backoff (): PeerBackoff {
    return this.queue.backoff
  }

  get queued (): number {
    return this.queue.queued
  }

  get dialing (): number {
    return this.queue.dialing
  }

  /** Whether another dial would be queued now */
  get full (): boolean {
    return this.queue.full
  }

  start (): void {
    this.queue.start()
  }

  stop (): void {
    this.queue.stop()
    this.pending.clear()
  }

  /** Whether the peer is queued or being dialed */
  has (peer: PeerId): boolean {
    return this.queue.has(peer)
  }

  /** How many more dials the connection budget allows */
  budget (connections: number): number {
    return this.queue.budget(connections)
  }

  /** The most connections dials may take the node to: maxConnections minus the headroom */
  connectionLimit (): number {
    return this.queue.connectionLimit()
  }

  /** Queues a dial of `peer` for `spec`; false when it was not queued */
  dial (spec: NamespaceSpec, peer: PeerId): boolean {
    const queued = this.queue.add({ peerId: peer, ns: spec.ns, kind: spec.kind, priority: DIAL_PRIORITY[spec.kind] })

    if (queued) {
      this.pending.queued(spec.ns, peer)
    }

    return queued
  }

  /** Peers dialed for `ns` that still count as pending (pending-dials.ts) */
  pendingPeers (ns: string, connected: PeerMap<number>, counted: PeerId[], now: number): PeerId[] {
    return this.pending.live(ns, (peer) => this.queue.has(peer), connected, new PeerSet(counted), now)
  }

  /** The earliest moment a pending peer of `ns` stops counting as pending */
  pendingUntil (ns: string): number {
    return this.pending.until(ns)
  }

  /** Forgets the pending dials of every namespace not in `keep` */
  retain (keep: Set<string>): void {
    this.pending.retain(keep)
  }

  /** Stores the peer's signed record (its certified addresses) before it is dialed; never rejects */
  private async storeRecord (job: DialJob): Promise<void> {
    const record = this.candidates.get(job.ns, job.peerId, this.runtime.clock.now())?.record

    if (record == null || record.byteLength === 0) {
      return
    }

    try {
      // false only means the store has this record or a newer one already
      await this.components.peerStore.consumePeerRecord(record, { expectedPeer: job.peerId })
    } catch (err: any) {
      // the addresses announced with the peer event are in the peer store anyway
      this.log('could not store the record of %p - %e', job.peerId, err)
    }
  }

  private done (job: DialJob, outcome: DialOutcome): void {
    this.pending.done(job.ns, job.peerId, outcome === 'success', this.runtime.clock.now())
    this.metrics?.dial(job.kind, outcome)
    this.safeDispatchEvent('dialed', { detail: { job, outcome } })
  }
}
