/**
 * Which requesters can read only legacy peer records. A rust-libp2p client (`libp2p-rendezvous` 0.18) opens records
 * only in the legacy format and fails a whole DISCOVER_RESPONSE that holds one standard record, so one JS or Go
 * registrant would hide every other peer from it. The server sends such a requester only legacy records.
 *
 * A requester is taken for one when identify reported its agent as `rust-libp2p/…` (rust-libp2p's default) or when
 * it registered a legacy record here: nothing but rust-libp2p seals those. Every identify the node runs is read as
 * it happens, so most requesters are known before their first DISCOVER and none of them waits.
 *
 * A Rust client usually sends its first request before identify has finished. When nothing is known yet and the
 * answer would hold a standard record, the request waits a little for identify (`identifyWait`), without its
 * request slot (see request-slots.ts). The waits are bounded on their own: at most `maxWaiting` requests at once,
 * all peers together, and {@link MAX_WAITING_PER_PEER} of one peer, so that fresh identities that never run
 * identify cannot keep others from waiting. A request beyond either bound, and one whose wait runs out, is answered
 * as a requester that reads both formats is: every implementation but rust-libp2p does, and a rust-libp2p client
 * that runs no identify at all can only be told apart by a legacy REGISTER of its own.
 */
import QuickLRU from 'quick-lru'
import { agentVersionOf, readsOnlyLegacyRecords } from '../protocol/agent.ts'
import type { IdentifyResult, Libp2pEvents, PeerId, PeerStore, TypedEventTarget } from '@libp2p/interface'

export interface RequesterFormatsComponents {
  peerStore?: PeerStore
  events?: TypedEventTarget<Libp2pEvents>
}

export interface RequesterFormatsInit {
  /** Longest wait for a requester's identify, in ms */
  identifyWait: number
  /** Most requests waiting for identify at once, all peers together */
  maxWaiting: number
}

/**
 * Requests of one peer that may wait for its identify at once: a client starting up sends a few (a DISCOVER per
 * namespace it follows), a crowd of them is a flood
 */
export const MAX_WAITING_PER_PEER = 16

/**
 * Peers remembered in each cache: quick-lru keeps between this and twice this many, the ones used most recently;
 * ~100 bytes each
 */
const REMEMBERED = 5_000

/** One peer's wait: what identify said (`undefined`: nothing in time), and the requests waiting on it */
interface Wait {
  agent: Promise<string | undefined>
  done(agent?: string): void
  requests: number
}

export class RequesterFormats {
  private readonly components: RequesterFormatsComponents
  private readonly init: RequesterFormatsInit
  /** Peers that registered a legacy record here: they read nothing else, whatever their agent */
  private readonly legacyRegistrants = new QuickLRU<string, true>({ maxSize: REMEMBERED })
  /** Whether each peer reads only legacy records, from its identify agent; `false` too for a peer whose identify never came */
  private readonly decided = new QuickLRU<string, boolean>({ maxSize: REMEMBERED })
  /** One wait per peer, however many of its requests wait: one timer each, resolved by the identify listener */
  private readonly waits = new Map<string, Wait>()
  private waiting = 0
  private listening = false

  constructor (components: RequesterFormatsComponents, init: RequesterFormatsInit) {
    this.components = components
    this.init = init
    this.onIdentify = this.onIdentify.bind(this)
  }

  /** Starts reading every identify the node runs */
  start (): void {
    if (!this.listening) {
      this.components.events?.addEventListener('peer:identify', this.onIdentify)
      this.listening = true
    }
  }

  /** Stops reading identify, and lets every wait end now */
  stop (): void {
    this.components.events?.removeEventListener('peer:identify', this.onIdentify)
    this.listening = false

    for (const wait of this.waits.values()) {
      wait.done()
    }
  }

  /** Requests waiting for identify now */
  get waitingRequests (): number {
    return this.waiting
  }

  /** Remembers a peer that registered a record: one that registered a legacy one reads nothing else */
  registered (peerId: PeerId, format: 'standard' | 'legacy'): void {
    const key = peerId.toString()

    if (format === 'legacy') {
      this.legacyRegistrants.set(key, true)
    } else {
      this.legacyRegistrants.delete(key)
    }
  }

  /** Whether the peer reads only legacy records, when that is known without waiting; `undefined` when it is not */
  known (peerId: PeerId): boolean | undefined {
    const key = peerId.toString()
    return this.legacyRegistrants.has(key) ? true : this.decided.get(key)
  }

  /**
   * Whether the peer reads only legacy records. When neither identify nor a registration has said so yet, waits up
   * to `identifyWait` for identify, within the bounds on waiting, through `outside`: the server gives back the
   * request's slot for the wait.
   */
  async readsOnlyLegacy (peerId: PeerId, outside: <T> (wait: () => Promise<T>) => Promise<T> = async wait => wait()): Promise<boolean> {
    const known = this.known(peerId)

    if (known != null) {
      return known
    }

    const key = peerId.toString()
    // identify may have finished before the server started, or before this listener saw it
    let agent = await agentVersionOf(this.components.peerStore, peerId)

    if (agent == null) {
      const wait = this.waitFor(key)

      if (wait == null) {
        // past the bounds: answered as a reader of both formats, without a wait and without remembering it
        return this.known(peerId) ?? false
      }

      try {
        agent = await outside(async () => wait.agent)
      } finally {
        wait.requests--
        this.waiting--
      }
    }

    if (agent == null) {
      // its identify never came in time: not waited for again
      this.decided.set(key, false)
      return this.known(peerId) ?? false
    }

    return this.decide(key, agent)
  }

  /** A place in the peer's wait (made on its first request), or `undefined` past the bounds */
  private waitFor (key: string): Wait | undefined {
    if (!this.listening || this.waiting >= this.init.maxWaiting) {
      return undefined
    }

    let wait = this.waits.get(key)

    if (wait == null) {
      const { promise, resolve } = Promise.withResolvers<string | undefined>()
      const timer = setTimeout(() => { done() }, this.init.identifyWait)
      const done = (agent?: string): void => {
        clearTimeout(timer)
        this.waits.delete(key)
        resolve(agent)
      }
      wait = { agent: promise, done, requests: 0 }
      this.waits.set(key, wait)
    } else if (wait.requests >= MAX_WAITING_PER_PEER) {
      return undefined
    }

    wait.requests++
    this.waiting++
    return wait
  }

  private decide (key: string, agent: string): boolean {
    const legacyOnly = readsOnlyLegacyRecords(agent)
    this.decided.set(key, legacyOnly)
    return this.legacyRegistrants.has(key) || legacyOnly
  }

  private onIdentify (evt: CustomEvent<IdentifyResult>): void {
    const key = evt.detail.peerId.toString()
    const agent = evt.detail.agentVersion ?? ''
    this.decide(key, agent)
    this.waits.get(key)?.done(agent)
  }
}
