/**
 * The peers dialed for each namespace that do not count yet: a peer dialed counts as pending while its dial waits
 * in the queue, while it runs (at most `dialTimeout + countGrace`), and for `countGrace` after it succeeded, so
 * that no second peer is dialed in its place while pubsub learns the first one's subscriptions.
 */
import { PeerMap } from '@libp2p/peer-collections'
import type { PeerId } from '@libp2p/interface'
import type { PeerSet } from '@libp2p/peer-collections'

export interface PendingDialsOptions {
  dialTimeout: number
  countGrace: number
}

export class PendingDials {
  private readonly options: PendingDialsOptions
  /** ns -> peer -> counts as pending until (ms since epoch; Infinity while the dial waits in the queue) */
  private readonly pending = new Map<string, PeerMap<number>>()

  constructor (options: PendingDialsOptions) {
    this.options = options
  }

  /** A dial of `peer` for `ns` was queued */
  queued (ns: string, peer: PeerId): void {
    let pending = this.pending.get(ns)

    if (pending == null) {
      pending = new PeerMap()
      this.pending.set(ns, pending)
    }

    pending.set(peer, Infinity)
  }

  /** The dial left the queue: a dial that never settles must not hold its place in the quota for ever */
  started (ns: string, peer: PeerId, now: number): void {
    this.pending.get(ns)?.set(peer, now + this.options.dialTimeout + this.options.countGrace)
  }

  /** The dial ended: a success counts as pending for `countGrace`, anything else no longer */
  done (ns: string, peer: PeerId, success: boolean, now: number): void {
    if (success) {
      this.pending.get(ns)?.set(peer, now + this.options.countGrace)
    } else {
      this.pending.get(ns)?.delete(peer)
    }
  }

  /**
   * Pending peers of `ns` that still count as pending: queued, dialing (`dialing`), or connected and waiting for
   * pubsub, each within its deadline; expired and counted ones are forgotten
   */
  live (ns: string, dialing: (peer: PeerId) => boolean, connected: PeerMap<number>, counted: PeerSet, now: number): PeerId[] {
    const pending = this.pending.get(ns)
    const live: PeerId[] = []

    if (pending == null) {
      return live
    }

    for (const [peer, until] of pending) {
      const stillPending = until > now && (until === Infinity || dialing(peer) || connected.has(peer))

      if (counted.has(peer) || !stillPending) {
        pending.delete(peer)
        continue
      }

      live.push(peer)
    }

    return live
  }

  /** The earliest finite pending deadline of `ns` */
  until (ns: string): number {
    let until = Infinity

    for (const deadline of this.pending.get(ns)?.values() ?? []) {
      until = Math.min(until, deadline)
    }

    return until
  }

  /** Forgets every namespace not in `keep` */
  retain (keep: Set<string>): void {
    for (const ns of [...this.pending.keys()]) {
      if (!keep.has(ns)) {
        this.pending.delete(ns)
      }
    }
  }

  clear (): void {
    this.pending.clear()
  }
}
