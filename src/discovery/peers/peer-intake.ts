/**
 * Where discovered registrations enter the peers' side, from a query's page or a `discover()` call, verified
 * once by the client:
 *
 * - the node itself is dropped here, and nowhere else;
 * - a peer's record is announced as a `peer` event once per record (a record seen again, at another point or in a
 * later query, is not announced again; a newer one is, decided by {@link isNewerRecord});
 * - the others' registrations become candidates of the quotas (peers/quotas.ts).
 *
 * libp2p stores the addresses of every `peer` event; the signed record itself (certified addresses) is stored only
 * for the peers the module dials, just before the dial (see quotas.ts), so that a namespace of hundreds costs one
 * signature check per record, not three.
 *
 * A page also says whether the list it belongs to is complete: while more pages follow, or the young namespace
 * still fills, the quotas hold the namespace's dials, so that the choice is made among all the registrants.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { PeerMap } from '@libp2p/peer-collections'
import { comparableSeq } from '../../protocol/peer-record.ts'
import { relaysOf } from './candidates.ts'
import type { Quotas } from './quotas.ts'
import type { DiscoveredRegistration } from '../../client/types.ts'
import type { Point } from '../points/point.ts'
import type { PeerId, PeerInfo } from '@libp2p/interface'

/** Bound on the per-peer record sequence cache; past it the cache starts over */
const MAX_SEEN_PEERS = 10_000

/** Whether a record numbered `seq` is newer than one numbered `than` (none: it is), whichever unit sealed them */
export function isNewerRecord (seq: bigint, than?: bigint): boolean {
  return than == null || comparableSeq(than) < comparableSeq(seq)
}

/** One DISCOVER answer, with what is known of how complete the list is */
export interface DiscoveredPage {
  ns: string
  point: Point
  /** Verified registrations (the node's own among them, if it registered) */
  registrations: DiscoveredRegistration[]
  /** More pages follow at once: the registrations so far are not the whole list */
  more: boolean
  /**
   * The namespace is young and its registrants are still arriving (a query brought one the queries had not seen
   * within the last `SETTLE_QUIET`): peers started with this one are still registering, and the next query (on
   * the fast schedule) will likely bring more
   */
  filling: boolean
}

/** Where the pages go: the next unit downstream (peers/peer-intake.ts) */
export interface PageSink {
  /** Takes a page of registrations; resolves to how many peers were new to the namespace */
  take(page: DiscoveredPage): Promise<number>
}

export interface PeerIntakeEvents {
  /** A peer with a record not announced before */
  peer: CustomEvent<PeerInfo>
  /** Registrations of other peers under a namespace were taken (new or known) */
  taken: CustomEvent<{ ns: string, registrations: DiscoveredRegistration[] }>
}

export class PeerIntake extends TypedEventEmitter<PeerIntakeEvents> implements PageSink {
  private readonly self: PeerId
  private readonly quotas: Pick<Quotas, 'addCandidate' | 'holdDials' | 'releaseDials'>
  /** The newest record sequence number announced per peer */
  private readonly announced = new PeerMap<bigint>()
  private running = false

  constructor (self: PeerId, quotas: Pick<Quotas, 'addCandidate' | 'holdDials' | 'releaseDials'>) {
    super()
    this.self = self
    this.quotas = quotas
  }

  /** A new start announces everyone again */
  start (): void {
    this.running = true
    this.announced.clear()
  }

  stop (): void {
    this.running = false
  }

  /**
   * Takes one page of a query: announces its records and offers the peers to the quotas. While more pages follow,
   * or the young namespace still fills, dials for the namespace wait; once the list is complete they go, among all
   * the candidates. Resolves to how many peers were new to the namespace.
   */
  async take (page: DiscoveredPage): Promise<number> {
    // the hold goes on before any of the page's peers is a candidate, and comes off once all of them are
    if (page.more || page.filling) {
      this.quotas.holdDials(page.ns, page.point.id, page.more ? 'paging' : 'filling')
    }

    const { added } = this.accept(page.ns, page.registrations)

    if (!page.more && !page.filling) {
      this.quotas.releaseDials(page.ns, page.point.id)
    }

    return added
  }

  /**
   * Announces what is new among `registrations` and makes the other peers candidates of `ns`; returns the other
   * peers' registrations, in order, and how many of them were new to the namespace
   */
  accept (ns: string, registrations: DiscoveredRegistration[]): { others: DiscoveredRegistration[], added: number } {
    const others = registrations.filter(r => !r.peerId.equals(this.self))

    if (!this.running) {
      return { others, added: 0 }
    }

    for (const registration of others) {
      if (!isNewerRecord(registration.seqNumber, this.announced.get(registration.peerId))) {
        continue
      }

      if (this.announced.size >= MAX_SEEN_PEERS) {
        this.announced.clear()
      }

      this.announced.set(registration.peerId, registration.seqNumber)
      this.safeDispatchEvent('peer', { detail: { id: registration.peerId, multiaddrs: registration.multiaddrs } })
    }

    let added = 0

    for (const registration of others) {
      if (this.quotas.addCandidate(ns, registration.peerId, registration.ttl, registration.signedPeerRecord, relaysOf(registration.multiaddrs))) {
        added++
      }
    }

    this.safeDispatchEvent('taken', { detail: { ns, registrations: others } })
    return { others, added }
  }
}
