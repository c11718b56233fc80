/**
 * The peer record format to register with at each point. rust-libp2p points open only legacy records and drop a
 * REGISTER holding a standard one without a reply; every other implementation opens only standard ones. With
 * `'auto'`, a point whose identify agent is `rust-libp2p/…` gets legacy from the start, the others standard, and
 * whatever format a point accepted is remembered (bounded, least recently used forgotten first) so that the next
 * REGISTER goes right the first time.
 */
import { agentVersionOf, readsOnlyLegacyRecords } from '../protocol/agent.ts'
import { peerIdOfMultiaddr } from './point.ts'
import type { ResolvedPoint } from './point.ts'
import type { PeerRecordFormat } from '../protocol/peer-record.ts'
import type { PeerId, PeerStore } from '@libp2p/interface'

export class PointFormats {
  private readonly peerStore?: PeerStore
  private readonly mode: 'auto' | PeerRecordFormat
  private readonly remembered = new Map<string, PeerRecordFormat>()
  private readonly max: number

  constructor (components: { peerStore?: PeerStore }, mode: 'auto' | PeerRecordFormat, max: number) {
    this.peerStore = components.peerStore
    this.mode = mode
    this.max = Math.max(1, max)
  }

  /** The format to seal the next REGISTER to this point in */
  async formatFor (point: ResolvedPoint): Promise<PeerRecordFormat> {
    if (this.mode !== 'auto') {
      return this.mode
    }

    const remembered = this.remembered.get(point.id)

    if (remembered != null) {
      return remembered
    }

    const peerId = pointPeerId(point)
    const agent = peerId == null ? undefined : await agentVersionOf(this.peerStore, peerId)
    return agent != null && readsOnlyLegacyRecords(agent) ? 'legacy' : 'standard'
  }

  /** Whether a standard REGISTER that got no reply may be tried again in the legacy format */
  mayTryLegacy (point: ResolvedPoint): boolean {
    return this.mode === 'auto' && this.remembered.get(point.id) !== 'standard'
  }

  /** Remembers the format a point accepted */
  worked (point: ResolvedPoint, format: PeerRecordFormat): void {
    if (this.mode !== 'auto') {
      return
    }

    this.remembered.delete(point.id)
    this.remembered.set(point.id, format)

    if (this.remembered.size > this.max) {
      const oldest = this.remembered.keys().next().value
      if (oldest != null) {
        this.remembered.delete(oldest)
      }
    }
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
