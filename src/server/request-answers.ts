/**
 * What one request turns into: the handler it goes to (REGISTER, DISCOVER, UNREGISTER), the context the handlers
 * share (config, store, cookie secret, verified records, the requester's formats, the network of points), and
 * the refusal a failure becomes (a RendezvousError's own status, E_UNAVAILABLE when the store cannot answer now
 * or no request slot is free, E_INTERNAL_ERROR otherwise). Writing the reply is stream-server.ts's job.
 */
import { RendezvousError, StoreUnavailableError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'
import { handleDiscover } from './handle-discover.ts'
import { handleRegister } from './handle-register.ts'
import { handleUnregister } from './handle-unregister.ts'
import { busy } from './request-slots.ts'
import type { ServerConfig } from './config.ts'
import type { PointNetwork } from './points/point-network.ts'
import type { RequestContext } from './request-context.ts'
import type { Slot } from './request-slots.ts'
import type { RequesterFormats } from './requester-formats.ts'
import type { RequestKind, ServerMetrics } from './server-metrics.ts'
import type { RegistrationStore } from './store/registration-store.ts'
import type { VerifiedRecords } from './verified-records.ts'
import type { VerifiedPeerRecord } from '../protocol/peer-record.ts'
import type { Logger, PeerId } from '@libp2p/interface'

const { MessageType, ResponseStatus } = Message

/** The status text of a request refused because the point has no room for it now */
export const BUSY = 'rendezvous point is busy, retry later'

/** What a request turned into: the reply to write (none for UNREGISTER) and how to count it */
export interface Outcome {
  kind: RequestKind
  status: string
  reply?: Message
}

/** The answer to a request the store could not handle in time: E_UNAVAILABLE, for the requests that have a reply */
export function tooLate (request: Message): Outcome {
  return unavailable(request, BUSY)
}

/** E_UNAVAILABLE with `statusText`, for the requests that have a reply */
export function unavailable (request: Message, statusText: string): Outcome {
  const type = request.type ?? MessageType.REGISTER
  const refusal = { status: ResponseStatus.E_UNAVAILABLE, statusText }

  if (type === MessageType.REGISTER) {
    return { kind: 'register', status: refusal.status, reply: { type: MessageType.REGISTER_RESPONSE, registerResponse: refusal } }
  }

  if (type === MessageType.DISCOVER) {
    return { kind: 'discover', status: refusal.status, reply: { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { ...refusal, registrations: [] } } }
  }

  return { kind: type === MessageType.UNREGISTER ? 'unregister' : 'invalid', status: refusal.status }
}

export interface RequestAnswersInit {
  config: ServerConfig
  store: RegistrationStore
  records: VerifiedRecords<VerifiedPeerRecord>
  requesters: RequesterFormats
  points: PointNetwork
  metrics: ServerMetrics
  log: Logger
  /** The store's cookie secret, once the server has started */
  cookieSecret(): Uint8Array | undefined
}

export class RequestAnswers {
  private readonly init: RequestAnswersInit
  private readonly log: Logger

  constructor (init: RequestAnswersInit) {
    this.init = init
    this.log = init.log
  }

  /** `slot` is the request's place among `maxConcurrentRequests`, `undefined` when there was none free */
  async answer (request: Message, remotePeer: PeerId, slot: Slot | undefined): Promise<Outcome> {
    // proto3 encoders omit zero values, so an absent type is REGISTER (= 0)
    const type = request.type ?? MessageType.REGISTER

    if (type === MessageType.UNREGISTER) {
      await this.withContext(remotePeer, slot, async ctx => { await handleUnregister(request.unregister, ctx) })
        .catch(err => { this.log('unregister from %p failed - %e', remotePeer, err) })
      return { kind: 'unregister', status: ResponseStatus.OK }
    }

    if (type === MessageType.REGISTER) {
      const registerResponse = await this.respond(remotePeer, slot, async ctx => handleRegister(request.register, ctx))
      return { kind: 'register', status: registerResponse.status ?? ResponseStatus.OK, reply: { type: MessageType.REGISTER_RESPONSE, registerResponse } }
    }

    if (type === MessageType.DISCOVER) {
      const discoverResponse = await this.respond(remotePeer, slot, async ctx => handleDiscover(request.discover, ctx))
      return { kind: 'discover', status: discoverResponse.status ?? ResponseStatus.OK, reply: { type: MessageType.DISCOVER_RESPONSE, discoverResponse } }
    }

    // a response type sent as a request: there is no reply type for it, so the stream is simply closed
    this.log('%p sent a %s as a request', remotePeer, type)
    return { kind: 'invalid', status: String(type) }
  }

  /**
   * Runs a handler and turns its failure into a response: a {@link RendezvousError} carries its own status,
   * anything else is the store failing (E_INTERNAL_ERROR, details only in the log).
   */
  private async respond <R extends { status?: Message.ResponseStatus, statusText?: string }> (remotePeer: PeerId, slot: Slot | undefined, handler: (ctx: RequestContext) => Promise<R>): Promise<R> {
    try {
      return await this.withContext(remotePeer, slot, handler)
    } catch (err: any) {
      if (err instanceof RendezvousError) {
        this.log('refused request from %p: %s %s', remotePeer, err.status, err.message)
        return { status: err.status, statusText: err.message } as unknown as R
      }

      if (err?.name === StoreUnavailableError.name) {
        this.init.metrics.storeError()
        this.log('the store cannot answer a request from %p now - %e', remotePeer, err)
        return { status: ResponseStatus.E_UNAVAILABLE, statusText: BUSY } as unknown as R
      }

      this.init.metrics.storeError()
      this.log.error('request from %p failed - %e', remotePeer, err)
      return { status: ResponseStatus.E_INTERNAL_ERROR, statusText: 'internal error' } as unknown as R
    }
  }

  private async withContext <R> (remotePeer: PeerId, slot: Slot | undefined, handler: (ctx: RequestContext) => Promise<R>): Promise<R> {
    if (slot == null) {
      throw busy()
    }

    const cookieSecret = this.init.cookieSecret()

    if (cookieSecret == null) {
      throw new RendezvousError(ResponseStatus.E_UNAVAILABLE, 'rendezvous point is not started')
    }

    return handler({
      config: this.init.config,
      store: this.init.store,
      cookieSecret,
      records: this.init.records,
      remotePeer,
      requesters: this.init.requesters,
      readsOnlyLegacyKnown: () => this.init.requesters.known(remotePeer),
      // a wait for identify gives the slot back meanwhile
      readsOnlyLegacy: async () => this.init.requesters.readsOnlyLegacy(remotePeer, async wait => slot.without(wait)),
      points: this.init.points,
      now: Date.now(),
      log: this.log
    })
  }
}
