/**
 * The peer record format to register with at each point. rust-libp2p points open only legacy records and reset
 * the stream of a REGISTER holding a standard one without a reply; every other implementation opens only standard
 * ones. A legacy REGISTER at a point of ours is taken, but then the point takes the client for a Rust reader and
 * serves it only legacy records, hiding every JS and Go registrant from it: legacy goes only where there is
 * evidence that the point reads nothing else.
 *
 * With `'auto'`, evidence is either the point's identify agent (`rust-libp2p/…`), or a standard REGISTER reset by
 * the point (its connection still open, as a Rust point leaves it) twice in a row, the second time on a new stream,
 * and a legacy one taken after them: a stream lost to a transport fault, at any point, is lost once, not every
 * time. A point whose agent is js-libp2p never gets legacy. What a point took is remembered, so that the next
 * REGISTER goes right the first time, but only for `REMEMBER_FORMAT_MS` (bounded, least recently used forgotten
 * first), and a remembered legacy is forgotten as soon as the point's agent says js-libp2p.
 */
import { agentVersionOf, readsOnlyLegacyRecords, readsStandardRecords } from '../protocol/agent.ts'
import { boundedLru } from './bounded-lru.ts'
import { peerIdOfMultiaddr } from './point.ts'
import type { ResolvedPoint } from './point.ts'
import type { PeerRecordFormat } from '../protocol/peer-record.ts'
import type { PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type QuickLRU from 'quick-lru'

/**
 * ms a format a point took is relied on before it is checked again: re-learning costs at most two standard
 * REGISTERs a Rust point resets at once, and a mistaken legacy hides the standard registrants no longer than this
 */
export const REMEMBER_FORMAT_MS = 10 * 60_000

/** What to do after a standard REGISTER got no reply */
export type NoReplyStep = 'legacy' | 'standard-again' | 'none'

export interface PointFormatsComponents {
  peerStore?: PeerStore
  connectionManager: Pick<ConnectionManager, 'getConnections'>
}

export class PointFormats {
  private readonly components: PointFormatsComponents
  private readonly mode: 'auto' | PeerRecordFormat
  private readonly remembered: QuickLRU<string, PeerRecordFormat>

  constructor (components: PointFormatsComponents, mode: 'auto' | PeerRecordFormat, max: number) {
    this.components = components
    this.mode = mode
    this.remembered = boundedLru(max, REMEMBER_FORMAT_MS)
  }

  /** The format to seal the next REGISTER to this point in */
  async formatFor (point: ResolvedPoint): Promise<PeerRecordFormat> {
    if (this.mode !== 'auto') {
      return this.mode
    }

    const agent = await this.agentOf(point)
    const remembered = this.remembered.get(point.id)

    if (remembered === 'legacy' && agent != null && readsStandardRecords(agent)) {
      this.remembered.delete(point.id)
      return 'standard'
    }

    if (remembered != null) {
      return remembered
    }

    return agent != null && readsOnlyLegacyRecords(agent) ? 'legacy' : 'standard'
  }

  /**
   * A standard REGISTER to `point` failed with `err` before any reply: legacy when the point is known to read only
   * legacy records, the same REGISTER again on a new stream when it failed the way a Rust point fails and has not
   * been tried again yet (`again` false), or nothing to do with the format
   */
  async afterNoReply (point: ResolvedPoint, err: unknown, again: boolean): Promise<NoReplyStep> {
    if (this.mode !== 'auto' || this.remembered.get(point.id) === 'standard') {
      return 'none'
    }

    const agent = await this.agentOf(point)

    if (agent != null && readsOnlyLegacyRecords(agent)) {
      return 'legacy'
    }

    if ((agent != null && readsStandardRecords(agent)) || !this.resetByPoint(point, err)) {
      return 'none'
    }

    return again ? 'legacy' : 'standard-again'
  }

  /** Remembers the format a point took; taking it again does not make it remembered for longer */
  worked (point: ResolvedPoint, format: PeerRecordFormat): void {
    if (this.mode === 'auto' && this.remembered.get(point.id) !== format) {
      this.remembered.set(point.id, format)
    }
  }

  /** A REGISTER in the remembered format got no reply either: find out again next time */
  forget (point: ResolvedPoint): void {
    this.remembered.delete(point.id)
  }

  /** A Rust point resets the stream of a record it cannot open and keeps the connection */
  private resetByPoint (point: ResolvedPoint, err: unknown): boolean {
    const cause = (err as { cause?: { name?: string } } | undefined)?.cause
    const peerId = pointPeerId(point)

    return cause?.name === 'StreamResetError' && peerId != null &&
      this.components.connectionManager.getConnections(peerId).some(connection => connection.status === 'open')
  }

  private async agentOf (point: ResolvedPoint): Promise<string | undefined> {
    const peerId = pointPeerId(point)
    return peerId == null ? undefined : agentVersionOf(this.components.peerStore, peerId)
  }
}

function pointPeerId (point: ResolvedPoint): PeerId | undefined {
  const target = point.target

  if (Array.isArray(target)) {
    return target.length > 0 ? peerIdOfMultiaddr(target[0]) : undefined
  }

  if ('getComponents' in target) {
    return peerIdOfMultiaddr(target)
  }

  return target
}
