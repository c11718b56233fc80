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

/** Peers remembered, in each collection; the oldest is forgotten first */
const MAX_REMEMBERED = 10_000

/** Sets `key` in a map used as a bounded LRU (a Set is a map to nothing) */
function remember <V> (collection: Map<string, V> | Set<string>, key: string, value?: V): void {
  collection.delete(key)

  if (collection instanceof Map) {
    collection.set(key, value as V)
  } else {
    collection.add(key)
  }

  if (collection.size > MAX_REMEMBERED) {
    const oldest = collection.keys().next().value
    if (oldest != null) {
      collection.delete(oldest)
    }
  }
}

export class RequesterFormats {
  private readonly components: RequesterFormatsComponents
  private readonly legacyRegistrants = new Set<string>()
  /** What each peer's identify agent said: a peer store read (which decodes the peer) per DISCOVER is too dear under load */
  private readonly decided = new Map<string, boolean>()
  /** Peers already waited for whose identify did not come in time: never waited for twice */
  private readonly waitedFor = new Set<string>()
  /** One wait per peer, whatever the number of its requests waiting: one listener each, not one per request */
  private readonly waiting = new Map<string, Promise<string | undefined>>()
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
  async readsOnlyLegacy (peerId: PeerId): Promise<boolean> {
    const key = peerId.toString()

    if (this.legacyRegistrants.has(key)) {
      return true
    }

    const decided = this.decided.get(key)

    if (decided != null) {
      return decided
    }

    let agent = await agentVersionOf(this.components.peerStore, peerId)

    if (agent == null && !this.waitedFor.has(key)) {
      let waiting = this.waiting.get(key)

      if (waiting == null) {
        waiting = this.identified(peerId).finally(() => { this.waiting.delete(key) })
        this.waiting.set(key, waiting)
      }

      agent = await waiting
    }

    if (agent == null) {
      remember(this.waitedFor, key)
      return false
    }

    const legacyOnly = readsOnlyLegacyRecords(agent)
    remember(this.decided, key, legacyOnly)
    return legacyOnly
  }

  /** The agent identify reports for the peer within `identifyWait`, or `undefined` */
  private async identified (peerId: PeerId): Promise<string | undefined> {
    const events = this.components.events

    if (events == null) {
      return undefined
    }

    return new Promise(resolve => {
      const done = (agent?: string): void => {
        clearTimeout(timer)
        events.removeEventListener('peer:identify', onIdentify)
        resolve(agent)
      }
      const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
        if (evt.detail.peerId.equals(peerId)) {
          done(evt.detail.agentVersion ?? '')
        }
      }
      const timer = setTimeout(done, this.identifyWait)
      events.addEventListener('peer:identify', onIdentify)
      // identify may have finished between the look-up above and the listener
      void agentVersionOf(this.components.peerStore, peerId).then(agent => { if (agent != null) { done(agent) } })
    })
  }
}
