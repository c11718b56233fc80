/**
 * A modelled rendezvous point: the server's own request handlers (`handleRegister`, `handleDiscover`,
 * `handleUnregister`) on the real memory store, with the server's resolved options and cookie secret, behind no
 * network stack. Requests arrive as the protocol's decoded messages; what the handlers return or throw goes back
 * as the reply or as its status, as `RendezvousServer` does. Expired registrations are swept on the simulated
 * clock every `sweepInterval`.
 *
 * It counts what it serves, by request type, and the bytes of the records it sends back.
 */
import { RendezvousError } from '../../../src/errors.ts'
import { Message } from '../../../src/pb/rendezvous.ts'
import { resolveServerConfig } from '../../../src/server/config.ts'
import { handleDiscover } from '../../../src/server/handle-discover.ts'
import { handleRegister } from '../../../src/server/handle-register.ts'
import { handleUnregister } from '../../../src/server/handle-unregister.ts'
import { MemoryRegistrationStore } from '../../../src/server/store/memory-registration-store.ts'
import { noopLogger } from './logger.ts'
import type { Identity, TrustedRecords } from './identities.ts'
import type { Endpoint } from './node.ts'
import type { Clock } from '../../../src/discovery/clock.ts'
import type { VerifiedPeerRecord } from '../../../src/protocol/peer-record.ts'
import type { ServerConfig } from '../../../src/server/config.ts'
import type { RendezvousServerInit } from '../../../src/server/options.ts'
import type { RequestContext } from '../../../src/server/request-context.ts'
import type { RequesterFormats } from '../../../src/server/requester-formats.ts'
import type { VerifiedRecords } from '../../../src/server/verified-records.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type RequestType = 'register' | 'discover' | 'unregister'

/** Requests served, by type, and what went back */
export interface PointCounters {
  register: number
  discover: number
  unregister: number
  /** REGISTERs and DISCOVERs answered with an error status */
  refused: number
  /** Registrations sent back in DISCOVER replies */
  returned: number
  /** Bytes of the records sent back in DISCOVER replies */
  returnedBytes: number
}

export function emptyCounters (): PointCounters {
  return { register: 0, discover: 0, unregister: 0, refused: 0, returned: 0, returnedBytes: 0 }
}

/** Every requester reads standard records: the simulated nodes are all this package's */
const requesters = { registered: () => {} } as unknown as RequesterFormats

export class SimPoint implements Endpoint {
  readonly identity: Identity
  readonly multiaddr: Multiaddr
  /** One-way delay to the core of the network, ms */
  readonly accessDelay: number
  readonly store: MemoryRegistrationStore
  readonly config: ServerConfig
  /** Totals since the start */
  readonly counters = emptyCounters()
  private readonly clock: Clock
  private readonly records: VerifiedRecords<VerifiedPeerRecord>
  private cookieSecret?: Uint8Array
  private sweepTimer?: unknown

  constructor (identity: Identity, multiaddr: Multiaddr, accessDelay: number, init: Omit<RendezvousServerInit, 'store'>, clock: Clock, trusted: TrustedRecords) {
    this.identity = identity
    this.multiaddr = multiaddr
    this.accessDelay = accessDelay
    this.clock = clock
    this.config = resolveServerConfig(init)
    this.store = new MemoryRegistrationStore()
    // the check of a record is replaced by what it would say (see identities.ts)
    this.records = { open: async (envelope: Uint8Array) => trusted.open(envelope) } as unknown as VerifiedRecords<VerifiedPeerRecord>
  }

  get peerId (): PeerId {
    return this.identity.peerId
  }

  async start (): Promise<void> {
    this.cookieSecret = await this.store.getCookieSecret()
    this.scheduleSweep()
  }

  stop (): void {
    this.clock.clearTimeout(this.sweepTimer)
  }

  /** Serves one request from `from`; rejects with the RendezvousError whose status the reply would carry */
  async handle (type: 'register', request: Message.Register, from: PeerId): Promise<Message.RegisterResponse>
  async handle (type: 'discover', request: Message.Discover, from: PeerId): Promise<Message.DiscoverResponse>
  async handle (type: 'unregister', request: Message.Unregister, from: PeerId): Promise<void>
  async handle (type: RequestType, request: any, from: PeerId): Promise<unknown> {
    this.counters[type]++
    const ctx = this.context(from)

    try {
      if (type === 'register') {
        return await handleRegister(request, ctx)
      }

      if (type === 'unregister') {
        await handleUnregister(request, ctx)
        return
      }

      const response = await handleDiscover(request, ctx)
      this.counters.returned += response.registrations.length

      for (const registration of response.registrations) {
        this.counters.returnedBytes += registration.signedPeerRecord?.byteLength ?? 0
      }

      return response
    } catch (err: any) {
      this.counters.refused++

      if (err instanceof RendezvousError) {
        throw err
      }

      // what the server answers for anything but a RendezvousError: the store failed
      throw new RendezvousError(Message.ResponseStatus.E_INTERNAL_ERROR, `internal error: ${err?.message ?? err}`)
    }
  }

  private context (remotePeer: PeerId): RequestContext {
    if (this.cookieSecret == null) {
      throw new RendezvousError(Message.ResponseStatus.E_UNAVAILABLE, 'rendezvous point is not started')
    }

    return {
      config: this.config,
      store: this.store,
      cookieSecret: this.cookieSecret,
      records: this.records,
      remotePeer,
      requesters,
      readsOnlyLegacyKnown: () => false,
      readsOnlyLegacy: async () => false,
      // the server reads Date.now(): whole milliseconds
      now: Math.floor(this.clock.now()),
      log: noopLogger
    }
  }

  private scheduleSweep (): void {
    this.sweepTimer = this.clock.setTimeout(() => {
      void this.store.removeExpired(this.clock.now()).finally(() => { this.scheduleSweep() })
    }, this.config.sweepInterval)
  }
}
