/**
 * Failure counts and retry times of dialed peers. A success forgets the peer. Entries whose backoff ended more
 * than `max` ago are dropped as the map grows, so that it does not keep every peer ever tried.
 */
import { PeerMap } from '@libp2p/peer-collections'
import { backoffDelay } from '../backoff.ts'
import type { BackoffOptions } from '../backoff.ts'
import type { PeerId } from '@libp2p/interface'

interface BackoffEntry {
  failures: number
  until: number
}

/** Entries kept before expired ones are swept */
const SWEEP_ABOVE = 1024

export class PeerBackoff {
  private readonly entries = new PeerMap<BackoffEntry>()
  private readonly options: BackoffOptions
  private readonly random: () => number

  constructor (options: BackoffOptions, random: () => number = Math.random) {
    this.options = options
    this.random = random
  }

  /** Records a failure at `now` and returns the time before which the peer should not be dialed again */
  fail (peer: PeerId, now: number): number {
    const entry = this.entries.get(peer)
    const failures = (entry != null && now - entry.until < this.options.max) ? entry.failures + 1 : 1
    const until = now + backoffDelay(failures, this.options, this.random)
    this.entries.set(peer, { failures, until })
    this.sweep(now)
    return until
  }

  succeed (peer: PeerId): void {
    this.entries.delete(peer)
  }

  /** True while the peer's backoff runs */
  isBackedOff (peer: PeerId, now: number): boolean {
    const entry = this.entries.get(peer)
    return entry != null && entry.until > now
  }

  /** When the peer may be dialed again, or 0 when it may be now */
  retryAt (peer: PeerId, now: number): number {
    const until = this.entries.get(peer)?.until ?? 0
    return until > now ? until : 0
  }

  failures (peer: PeerId): number {
    return this.entries.get(peer)?.failures ?? 0
  }

  get size (): number {
    return this.entries.size
  }

  clear (): void {
    this.entries.clear()
  }

  private sweep (now: number): void {
    if (this.entries.size < SWEEP_ABOVE) {
      return
    }

    for (const [peer, entry] of this.entries) {
      if (now - entry.until > this.options.max) {
        this.entries.delete(peer)
      }
    }
  }
}
