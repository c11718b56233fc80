/**
 * The peers discovered under each namespace and how long their registrations live: the pool the quotas are
 * filled from. Bounded per namespace on quick-lru (the least recently seen go first); expiry stays here, on the
 * injected clock's time the callers pass (quick-lru's maxAge reads Date.now()).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import QuickLRU from 'quick-lru'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface Candidate {
  peerId: PeerId
  /** When the registration it came from runs out (ms since epoch) */
  expiresAt: number
  /** When it was first seen under the namespace (ms since epoch) */
  since: number
  /** Its signed peer record, stored in the peer store before it is dialed */
  record?: Uint8Array
  /** The relays its registered addresses all go through; none when it has an address without a relay */
  relays?: PeerId[]
}

/**
 * The relays a peer with these addresses is reached through, when every address is a circuit address through a
 * named relay (`…/p2p/<relay>/p2p-circuit`); undefined when any address is direct (or names no relay)
 */
export function relaysOf (multiaddrs: Multiaddr[]): PeerId[] | undefined {
  const relays: PeerId[] = []

  for (const ma of multiaddrs) {
    const components = ma.getComponents()
    const circuit = components.findIndex(component => component.name === 'p2p-circuit')
    const relay = components.slice(0, Math.max(0, circuit)).reverse().find(component => component.name === 'p2p')?.value

    if (circuit < 0 || relay == null) {
      return undefined
    }

    try {
      relays.push(peerIdFromString(relay))
    } catch {
      return undefined
    }
  }

  return relays.length > 0 ? relays : undefined
}

/** Most candidates remembered per namespace */
export const MAX_CANDIDATES_PER_NAMESPACE = 1000

export class Candidates {
  /**
   * ns -> its pool, keyed by peer id string. quick-lru keeps two generations of `maxSize` and holds up to twice
   * its maxSize less one: half the bound keeps a pool within it. Full, a pool forgets its older generation (the
   * peers seen least recently, about half of it) at once rather than one peer at a time.
   */
  private readonly pools = new Map<string, QuickLRU<string, Candidate>>()
  /** ns -> a number that changes whenever a peer joins or leaves its pool */
  private readonly versions = new Map<string, number>()
  private readonly generation: number

  constructor (max: number = MAX_CANDIDATES_PER_NAMESPACE) {
    this.generation = Math.max(1, Math.floor((max + 1) / 2))
  }

  /**
   * A peer discovered under `ns` whose registration lives `ttl` seconds more. Returns true when the peer is new
   * to the namespace (not a refresh of one known and alive).
   */
  add (ns: string, peerId: PeerId, ttl: number, now: number, record?: Uint8Array, relays?: PeerId[]): boolean {
    let pool = this.pools.get(ns)

    if (pool == null) {
      pool = new QuickLRU({ maxSize: this.generation, onEviction: () => { this.changed(ns) } })
      this.pools.set(ns, pool)
    }

    const key = peerId.toString()
    const known = pool.peek(key)
    const alive = known != null && known.expiresAt > now

    if (known == null) {
      this.changed(ns)
    }

    // delete first so that the pool's order is the order of last sighting, and no stale copy stays in the
    // older generation (its eviction would count as a peer leaving)
    pool.delete(key)
    pool.set(key, {
      peerId,
      expiresAt: now + Math.max(0, ttl) * 1000,
      since: alive ? known.since : now,
      record: record ?? known?.record,
      relays: record == null ? known?.relays : relays
    })

    return !alive
  }

  /** The candidate, if known under `ns` and alive */
  get (ns: string, peerId: PeerId, now: number): Candidate | undefined {
    const candidate = this.pools.get(ns)?.peek(peerId.toString())
    return candidate != null && candidate.expiresAt > now ? candidate : undefined
  }

  /** The live candidates of `ns`, the least recently seen first; those whose registration ran out are forgotten */
  live (ns: string, now: number): Candidate[] {
    const pool = this.pools.get(ns)

    if (pool == null) {
      return []
    }

    const out: Candidate[] = []
    const expired: string[] = []

    for (const [key, candidate] of pool.entriesAscending()) {
      if (candidate.expiresAt <= now) {
        expired.push(key)
      } else {
        out.push(candidate)
      }
    }

    for (const key of expired) {
      pool.delete(key)
      this.changed(ns)
    }

    return out
  }

  /** Changes whenever a peer joins or leaves the pool of `ns`, so that what is computed from the pool can be kept */
  version (ns: string): number {
    return this.versions.get(ns) ?? 0
  }

  private changed (ns: string): void {
    this.versions.set(ns, (this.versions.get(ns) ?? 0) + 1)
  }

  /** Forgets every namespace not in `keep` */
  retain (keep: Set<string>): void {
    for (const ns of [...this.pools.keys()]) {
      if (!keep.has(ns)) {
        this.pools.delete(ns)
        this.changed(ns)
      }
    }
  }

  clear (): void {
    for (const ns of this.pools.keys()) {
      this.changed(ns)
    }

    this.pools.clear()
  }
}
