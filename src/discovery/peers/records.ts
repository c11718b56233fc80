/**
 * Which discovered registrations are news: a peer's record is announced as a `peer` event once per record (a
 * record seen again, at another point or in a later query, is not announced again; a newer one is), never the
 * node itself. libp2p stores the addresses of every `peer` event; the signed record itself (certified addresses)
 * is stored only for the peers the module dials, just before the dial (see quotas.ts), so that a namespace of
 * hundreds costs one signature check per record, not three.
 */
import { PeerMap } from '@libp2p/peer-collections'
import type { DiscoveredRegistration } from '../../client/types.ts'
import type { PeerId, PeerInfo } from '@libp2p/interface'

/** Bound on the per-peer record sequence cache; past it the cache starts over */
const MAX_SEEN_PEERS = 10_000

export class Records {
  private readonly self: PeerId
  /** The newest record sequence number seen per peer */
  private readonly seen = new PeerMap<bigint>()

  constructor (self: PeerId) {
    this.self = self
  }

  /** Forgets every record seen (a new start announces everyone again) */
  clear (): void {
    this.seen.clear()
  }

  /**
   * Announces what is new among `registrations` and returns the registrations of other peers (new or known), in
   * order
   */
  accept (registrations: DiscoveredRegistration[], announce: (peer: PeerInfo) => void): DiscoveredRegistration[] {
    const accepted: DiscoveredRegistration[] = []

    for (const registration of registrations) {
      if (registration.peerId.equals(this.self)) {
        continue
      }

      accepted.push(registration)
      const seen = this.seen.get(registration.peerId)

      if (seen != null && seen >= registration.seqNumber) {
        continue
      }

      if (this.seen.size >= MAX_SEEN_PEERS) {
        this.seen.clear()
      }

      this.seen.set(registration.peerId, registration.seqNumber)
      announce({ id: registration.peerId, multiaddrs: registration.multiaddrs })
    }

    return accepted
  }
}
