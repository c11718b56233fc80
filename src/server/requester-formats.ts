/**
 * Which requesters can read only legacy peer records. A rust-libp2p client (`libp2p-rendezvous` 0.18) opens records
 * only in the legacy format and fails a whole DISCOVER_RESPONSE that holds one standard record, so one JS or Go
 * registrant would hide every other peer from it. The server sends such a requester only legacy records.
 *
 * A requester is taken for one when identify reported its agent as `rust-libp2p/…` (rust-libp2p's default) or when
 * it registered a legacy record here: nothing but rust-libp2p seals those. A Rust client usually sends its first
 * request before identify has finished, so when its agent is not known yet and the answer would hold a standard
 * record, the server waits a little for identify (`identifyWait`) before deciding.
 */
import { agentVersionOf, readsOnlyLegacyRecords } from '../protocol/agent.ts'
import type { IdentifyResult, Libp2pEvents, PeerId, PeerStore, TypedEventTarget } from '@libp2p/interface'

export interface RequesterFormatsComponents {
  peerStore?: PeerStore
  events?: TypedEventTarget<Libp2pEvents>
}

/** Peers remembered, in each set; the oldest is forgotten first */
const MAX_REMEMBERED = 10_000

/** Adds `key` to a set used as a bounded LRU */
function remember (set: Set<string>, key: string): void {
  set.delete(key)
  set.add(key)

  if (set.size > MAX_REMEMBERED) {
    const oldest = set.values().next().value
    if (oldest != null) {
      set.delete(oldest)
    }
  }
}

export class RequesterFormats {
  private readonly components: RequesterFormatsComponents
  private readonly legacyRegistrants = new Set<string>()
  /** Peers already waited for whose identify named no legacy-only agent: never waited for twice */
  private readonly waitedFor = new Set<string>()
  private readonly identifyWait: number

  constructor (components: RequesterFormatsComponents, identifyWait: number) {
    this.components = components
    this.identifyWait = identifyWait
  }

  /** Remembers a peer that registered a legacy record: it reads nothing else */
  registered (peerId: PeerId, format: 'standard' | 'legacy'): void {
    const key = peerId.toString()

    if (format === 'legacy') {
      remember(this.legacyRegistrants, key)
    } else {
      this.legacyRegistrants.delete(key)
    }
  }

  /** Whether the peer can read only legacy records; may wait up to `identifyWait` for identify to tell */
  async readsOnlyLegacy (peerId: PeerId, signal: AbortSignal): Promise<boolean> {
    if (this.legacyRegistrants.has(peerId.toString())) {
      return true
    }

    const agent = await agentVersionOf(this.components.peerStore, peerId)

    if (agent != null) {
      return readsOnlyLegacyRecords(agent)
    }

    if (this.waitedFor.has(peerId.toString())) {
      return false
    }

    const identified = await this.identified(peerId, signal)

    if (identified != null && readsOnlyLegacyRecords(identified)) {
      return true
    }

    remember(this.waitedFor, peerId.toString())
    return false
  }

  /** The agent identify reports for the peer within `identifyWait`, or `undefined` */
  private async identified (peerId: PeerId, signal: AbortSignal): Promise<string | undefined> {
    const events = this.components.events

    if (events == null || signal.aborted) {
      return undefined
    }

    return new Promise(resolve => {
      const done = (agent?: string): void => {
        clearTimeout(timer)
        events.removeEventListener('peer:identify', onIdentify)
        signal.removeEventListener('abort', onAbort)
        resolve(agent)
      }
      const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
        if (evt.detail.peerId.equals(peerId)) {
          done(evt.detail.agentVersion ?? '')
        }
      }
      const onAbort = (): void => { done() }
      const timer = setTimeout(done, this.identifyWait)
      events.addEventListener('peer:identify', onIdentify)
      signal.addEventListener('abort', onAbort)
      // identify may have finished between the look-up above and the listener
      void agentVersionOf(this.components.peerStore, peerId).then(agent => { if (agent != null) { done(agent) } })
    })
  }
}
