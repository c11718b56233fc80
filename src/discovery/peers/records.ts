/**
 * What becomes of the verified registrations a query brings: each peer's signed record is stored in the peer
 * store (its addresses certified) and the peer announced as a `peer` event, once per record (a record seen again,
 * at another point or in a later query, is neither stored nor announced again), never the node itself.
 */
import { PeerMap } from '@libp2p/peer-collections'
import type { DiscoveredRegistration } from '../../client/types.ts'
import type { ComponentLogger, Logger, PeerId, PeerInfo, PeerStore } from '@libp2p/interface'

export interface RecordsComponents {
  peerId: PeerId
  peerStore: Pick<PeerStore, 'consumePeerRecord'>
  logger: ComponentLogger
}

/** Bound on the per-peer record sequence cache; past it the cache starts over */
const MAX_SEEN_PEERS = 10_000

export class Records {
  private readonly components: RecordsComponents
  private readonly log: Logger
  /** The newest record sequence number seen per peer */
  private readonly seen = new PeerMap<bigint>()

  constructor (components: RecordsComponents) {
    this.components = components
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery:records')
  }

  /** Forgets every record seen (a new start announces everyone again) */
  clear (): void {
    this.seen.clear()
  }

  /**
   * Stores and announces what is new among `registrations` (found under `ns`), and resolves to the registrations
   * of other peers whose record is stored (new or known). Stops early, with what it has, once `running()` turns
   * false, so that nothing is announced after a stop.
   */
  async accept (ns: string, registrations: DiscoveredRegistration[], announce: (peer: PeerInfo) => void, running: () => boolean): Promise<DiscoveredRegistration[]> {
    const accepted: DiscoveredRegistration[] = []

    for (const registration of registrations) {
      if (!running()) {
        break
      }

      if (registration.peerId.equals(this.components.peerId)) {
        continue
      }

      const seen = this.seen.get(registration.peerId)

      if (seen != null && seen >= registration.seqNumber) {
        accepted.push(registration)
        continue
      }

      try {
        // false only means the store has this record or a newer one already
        await this.components.peerStore.consumePeerRecord(registration.signedPeerRecord, { expectedPeer: registration.peerId })
      } catch (err: any) {
        this.log('could not store the record of %p from "%s" - %e', registration.peerId, ns, err)
        continue
      }

      if (!running()) {
        break
      }

      if (this.seen.size >= MAX_SEEN_PEERS) {
        this.seen.clear()
      }

      this.seen.set(registration.peerId, registration.seqNumber)
      accepted.push(registration)
      announce({ id: registration.peerId, multiaddrs: registration.multiaddrs })
    }

    return accepted
  }
}
