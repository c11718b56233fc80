import { serviceCapabilities } from '@libp2p/interface'
import { UnexpectedEOFError } from '@libp2p/utils'
import { raceSignal } from 'race-signal'
import { RendezvousError, StoreUnavailableError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'
import { openPeerRecord } from '../protocol/peer-record.ts'
import { resolveServerConfig } from './config.ts'
import { handleDiscover } from './handle-discover.ts'
import { handleRegister } from './handle-register.ts'
import { handleUnregister } from './handle-unregister.ts'
import { nextEvent } from './next-event.ts'
import { PointNetwork } from './points/point-network.ts'
import { ReplyBudget } from './reply-budget.ts'
import { encodeReply } from './reply-encoding.ts'
import { RequestDeadline } from './request-deadline.ts'
import { RequestReader } from './request-reader.ts'
import { busy, RequestSlots } from './request-slots.ts'
import { RequesterFormats } from './requester-formats.ts'
import { SelfRegistration } from './self-registration.ts'
import { ServerMetrics } from './server-metrics.ts'
import { StrictRequest } from './strict-request.ts'
import { VerifiedRecords } from './verified-records.ts'
import type { ServerConfig } from './config.ts'
import type { KnownPointStatus, RendezvousServerComponents, RendezvousServerInit, RendezvousServerService } from './options.ts'
import type { ReplyCharge } from './reply-budget.ts'
import type { RequestContext } from './request-context.ts'
import type { Slot } from './request-slots.ts'
import type { SelfRegistrationComponents } from './self-registration.ts'
import type { RequestKind } from './server-metrics.ts'
import type { RegistrationStore } from './store/registration-store.ts'
import type { VerifiedPeerRecord } from '../protocol/peer-record.ts'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

const { MessageType, ResponseStatus } = Message

/** The share of `timeout` a request may spend in the store; the rest is for writing a reply either way */
const ANSWER_SHARE = 0.8

const BUSY = 'rendezvous point is busy, retry later'

/** The answer to a request the store could not handle in time: E_UNAVAILABLE, for the requests that have a reply */
function tooLate (request: Message): Outcome {
  return unavailable(request, BUSY)
}

/** E_UNAVAILABLE with `statusText`, for the requests that have a reply */
function unavailable (request: Message, statusText: string): Outcome {
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

/**
 * Resolves once the stream's bytes have all left it and the connection under it takes more (nothing to drain):
 * what was written has been taken by the peer, as far as this process can tell. Rejects when `signal` aborts (the
 * request's deadline: the stream is then reset, which drops what it still holds); a stream that ends has nothing
 * left to take.
 */
async function untilTaken (stream: Stream, signal: AbortSignal): Promise<void> {
  while ((stream.writeBufferLength > 0 || stream.writableNeedsDrain) && stream.status === 'open') {
    await nextEvent(stream, ['idle', 'drain', 'close'], signal)
  }
}

/** How long a DISCOVER whose answer holds standard records waits for identify to say whether the requester is rust-libp2p */
const IDENTIFY_WAIT_MS = 2000

/** What a request turned into: the reply to write (none for UNREGISTER) and how to count it */
interface Outcome {
  kind: RequestKind
  status: string
  reply?: Message
}

/**
 * A rendezvous point: serves REGISTER, UNREGISTER and DISCOVER, as many requests per stream as the client sends, from a
 * {@link RegistrationStore}, and sweeps expired registrations out of the store on an interval.
 */
export class RendezvousServer implements RendezvousServerService, Startable {
  readonly [Symbol.toStringTag] = 'libp2p-rendezvous-server'
  readonly [serviceCapabilities]: string[] = ['@libp2p/rendezvous-server']

  readonly config: ServerConfig
  readonly store: RegistrationStore
  private readonly components: RendezvousServerComponents
  private readonly log: Logger
  private readonly metrics: ServerMetrics
  private readonly requesters: RequesterFormats
  private readonly records: VerifiedRecords<VerifiedPeerRecord>
  private readonly inFlight = new Set<Promise<void>>()
  /**
   * Requests read and being handled. `maxConcurrentRequests` bounds this, not the streams open: a stream that
   * has sent nothing yet costs a timer and a buffer, and must not take an honest request's place; nor does a
   * request that waits for its requester's identify.
   */
  private readonly slots: RequestSlots
  /** Bytes of DISCOVER replies written and not yet taken by their peers */
  private readonly replies: ReplyBudget
  private cookieSecret?: Uint8Array
  private sweepTimer?: ReturnType<typeof setTimeout>
  private sweeping?: Promise<void>
  /** Aborted by stop(), so that a sweep in progress (or a store that never answers one) does not hold it up */
  private stopping?: AbortController
  private started = false
  /** Admission under `/libp2p/rendezvous`, and the point's part in a network of points when it is in one */
  private readonly points: PointNetwork
  /** This point's own listings (`ownNamespaces`) */
  private readonly ownListings: SelfRegistration[]

  constructor (components: RendezvousServerComponents, init: RendezvousServerInit & { store: RegistrationStore }) {
    this.components = components
    this.config = resolveServerConfig(init)
    this.store = init.store
    this.log = components.logger.forComponent('libp2p:rendezvous:server')
    this.records = new VerifiedRecords({ maxEntries: this.config.verifiedRecordCacheSize, verify: openPeerRecord })
    this.slots = new RequestSlots(this.config.maxConcurrentRequests)
    this.replies = new ReplyBudget({ maxBytes: this.config.maxReplyBytes, maxBytesPerPeer: this.config.maxReplyBytesPerPeer })
    // as many requests may wait for identify as may be handled, in a pool of their own
    this.requesters = new RequesterFormats(components, { identifyWait: Math.min(IDENTIFY_WAIT_MS, this.config.timeout / 4), maxWaiting: this.config.maxConcurrentRequests })
    this.metrics = new ServerMetrics(components.metrics, this.store, this.records, {
      replyBytes: () => this.replies.bytes,
      identifyWaits: () => this.requesters.waitingRequests
    })
    this.points = new PointNetwork(components, {
      config: this.config,
      store: this.store,
      openRecord: async envelope => this.records.open(envelope),
      identifyWait: Math.min(IDENTIFY_WAIT_MS, this.config.timeout / 4),
      log: this.log
    })
    this.ownListings = this.config.ownNamespaces.map(namespace => new SelfRegistration(components as SelfRegistrationComponents, { store: this.store, config: this.config, namespace, log: this.log }))
    this.onStream = this.onStream.bind(this)
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) {
      return
    }

    await this.store.start?.()
    this.cookieSecret = await this.store.getCookieSecret()
    this.points.startAdmission()

    for (const protocol of this.config.protocols) {
      await this.components.registrar.handle(protocol, this.onStream, {
        maxInboundStreams: this.config.maxInboundStreams,
        // a point in a network of points talks to the others through the client, which opens up to twice its
        // maxStreamsPerPoint (4) streams to one point when some hang
        maxOutboundStreams: 8,
        runOnLimitedConnection: this.config.runOnLimitedConnection
      })
    }

    this.requesters.start()
    this.started = true
    this.stopping = new AbortController()
    this.scheduleSweep()
    this.log('serving %s', this.config.protocols.join(', '))
  }

  /**
   * Lists this point in its own store under `ownNamespaces` (and `/libp2p/rendezvous` in a network of points), then
   * joins its network of points. Run once the node listens, or soon will: a listing waits up to `timeout` for the
   * first address. Rejects when the store refuses a listing.
   */
  async afterStart (): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.config.timeout), this.stopping?.signal ?? new AbortController().signal])
    await Promise.all(this.ownListings.map(async listing => { await listing.start({ signal }) }))
    await this.points.start({ signal })
  }

  /** Leaves the network of points and removes this point's own listings, while the node can still reach the others */
  async beforeStop (): Promise<void> {
    await this.points.stop()
    await Promise.all(this.ownListings.map(async listing => { await listing.stop() }))
  }

  knownPoints (): KnownPointStatus[] {
    return this.points.known()
  }

  /** Stops accepting streams, lets the requests in flight finish (each is bounded by `timeout`), then closes the store */
  async stop (): Promise<void> {
    if (!this.started) {
      return
    }

    this.started = false
    this.points.stopAdmission()
    clearTimeout(this.sweepTimer)
    this.stopping?.abort(new Error('the rendezvous server is stopping'))

    for (const protocol of this.config.protocols) {
      await this.components.registrar.unhandle(protocol)
    }

    // requests waiting for identify go on at once
    this.requesters.stop()
    await Promise.allSettled([...this.inFlight, this.sweeping])
    await this.store.stop?.()
    this.log('stopped')
  }

  /**
   * Removes expired registrations now; the server also does this every `sweepInterval` ms. A sweep is given
   * `timeout` ms and is cut short by `stop()`: a store that never answers must hold up neither `stop()` nor the
   * sweeps after it, and what one sweep left is the next one's work. Resolves with how many it removed (0 when
   * it was cut short or failed).
   */
  async sweep (): Promise<number> {
    const deadline = AbortSignal.timeout(this.config.timeout)
    const signal = this.stopping == null ? deadline : AbortSignal.any([deadline, this.stopping.signal])

    try {
      // a store that never answers must not hold up stop(), or the sweeps after it, beyond the timeout
      const removed = await raceSignal(this.store.removeExpired(Date.now(), { signal }), signal)
      this.metrics.sweptExpired(removed)

      if (removed > 0) {
        this.log('removed %d expired registrations', removed)
      }

      return removed
    } catch (err) {
      if (this.stopping?.signal.aborted === true) {
        this.log('sweep of expired registrations cut short by stop')
        return 0
      }

      this.metrics.storeError()

      if (deadline.aborted) {
        this.log.error('the store did not finish removing expired registrations within %d ms; the next sweep goes on', this.config.timeout)
      } else {
        this.log.error('could not remove expired registrations - %e', err)
      }

      return 0
    }
  }

  private scheduleSweep (): void {
    this.sweepTimer = setTimeout(() => {
      this.sweeping = this.sweep().then(() => {
        if (this.started) {
          this.scheduleSweep()
        }
      })
    }, this.config.sweepInterval)
  }

  private onStream (stream: Stream, connection: Connection): void {
    // tracked so that stop() can let it finish; it never rejects
    const request = this.serve(stream, connection.remotePeer).finally(() => {
      this.inFlight.delete(request)
    })
    this.inFlight.add(request)
  }

  /**
   * Requests one after another until the client closes its side: a client that sends one request and closes
   * sees what it always saw, and one that keeps the stream (Go's `DiscoverAsync` sends a DISCOVER every two
   * minutes on one stream) is answered each time. Each request has `timeout` to be read, handled and answered;
   * between requests the stream may idle for `streamIdleTimeout` (see {@link RequestDeadline}). After
   * `maxRequestsPerStream` replies the server closes its side. Whatever goes wrong ends in an abort of this
   * stream, never in a throw.
   */
  private async serve (stream: Stream, remotePeer: PeerId): Promise<void> {
    const messages = new RequestReader(stream, this.config.maxRequestSize)
    let deadline = new RequestDeadline(stream, this.config.timeout)
    let closed = false

    try {
      for (let served = 0; served < this.config.maxRequestsPerStream; served++) {
        const request = await this.nextRequest(messages, stream, deadline, served)

        if (request == null || !await this.handle(request, messages, stream, remotePeer, deadline)) {
          // the client is done (or sent what cannot be answered): close, nothing more will be read
          break
        }

        if (served + 1 === this.config.maxRequestsPerStream) {
          this.log('%p sent %d requests on one stream, closing it', remotePeer, this.config.maxRequestsPerStream)
          break
        }

        if (messages.ended) {
          // the client closed its side after its request (Rust's way): nothing more will come
          break
        }

        deadline.clear()
        deadline = RequestDeadline.afterIdle(stream, this.config.streamIdleTimeout, this.config.timeout)
      }

      await stream.close({ signal: deadline.signal })
      closed = true
    } catch (err: any) {
      this.log('aborting stream from %p - %e', remotePeer, err)
      stream.abort(err)
    }

    if (closed) {
      await this.remoteClose(stream, deadline.signal)
    }

    deadline.clear()
  }

  /**
   * The next request, or `undefined` when the client closed its side between requests. The first request of a
   * stream has no such way out: a stream closed before any request is as broken as one cut mid-frame.
   */
  private async nextRequest (messages: RequestReader, stream: Stream, deadline: RequestDeadline, served: number): Promise<Message | undefined> {
    try {
      const bytes = served === 0 ? await messages.read(deadline.signal) : await messages.next(deadline.signal)

      if (bytes == null) {
        return undefined
      }

      const request = StrictRequest.decode(bytes)
      // a request read from bytes that came with the previous one starts its clock here
      deadline.start()
      return request
    } catch (err) {
      if (served > 0 && !deadline.started) {
        // the client closed its side while a read of the next request had begun: a clean end all the same
        if (err instanceof UnexpectedEOFError && stream.remoteWriteStatus !== 'writable') {
          return undefined
        }

        if (deadline.signal.aborted) {
          this.log('%s stayed idle longer than %d ms after its last reply', stream.id, this.config.streamIdleTimeout)
        }
      }

      throw err
    }
  }

  /**
   * Handles one request and writes its reply (none for UNREGISTER), counting it whatever happens. Resolves to
   * `false` when the stream should go no further: a response type sent as a request has no answer.
   */
  private async handle (request: Message, messages: RequestReader, stream: Stream, remotePeer: PeerId, deadline: RequestDeadline): Promise<boolean> {
    let outcome: Outcome = { kind: 'invalid', status: 'aborted' }
    let charge: ReplyCharge | undefined

    try {
      // held until the store has really answered, so that a hanging store fills maxConcurrentRequests (and the
      // point answers E_UNAVAILABLE) rather than piling up work; the stream itself is given up at the timeout
      const slot = this.slots.take()
      const handling = this.answer(request, remotePeer, slot).finally(() => { slot?.release() })
      // a store that has not answered by this share of the timeout gets the request refused with E_UNAVAILABLE,
      // in time for a client whose own timeout is as long as ours to read why rather than time out. A timer cleared
      // when the store answers: an AbortSignal.timeout per request would fire seconds later all the same
      const answerBy = new AbortController()
      const timer = setTimeout(() => { answerBy.abort() }, Math.max(0, Math.floor(deadline.startedAt + this.config.timeout * ANSWER_SHARE - performance.now())))
      outcome = await raceSignal(handling, answerBy.signal).catch(err => {
        if (!answerBy.signal.aborted) {
          throw err
        }

        this.metrics.storeError()
        this.log.error('the store did not answer a request from %p within %d ms', remotePeer, this.config.timeout * ANSWER_SHARE)
        return tooLate(request)
      }).finally(() => { clearTimeout(timer) })

      if (outcome.reply != null) {
        let bytes = encodeReply(outcome.reply)

        if (outcome.kind === 'discover' && outcome.status === ResponseStatus.OK) {
          const charged = this.replies.charge(remotePeer.toString(), bytes.byteLength)

          if (typeof charged === 'string') {
            this.log('%p has too many reply bytes unread (%s budget): DISCOVER refused', remotePeer, charged)
            outcome = unavailable(request, charged === 'peer' ? 'too many replies to this peer are still unread, retry later' : BUSY)
            bytes = encodeReply(outcome.reply ?? {})
          } else {
            charge = charged
          }
        }

        await messages.write(bytes, deadline.signal)

        if (charge != null) {
          await untilTaken(stream, deadline.signal)
        }
      }

      return outcome.kind !== 'invalid'
    } finally {
      // taken by the peer, or its stream is being reset (the deadline passed), which drops what it still holds
      charge?.release()
      this.metrics.request(outcome.kind, outcome.status, (performance.now() - deadline.startedAt) / 1000)
    }
  }

  /**
   * After the server's close, all that is left of the stream is the client's. A client that never closes would
   * otherwise hold the stream and its buffers until the muxer's inactivity timeout: it gets what is left of the
   * deadline, then a reset.
   */
  private async remoteClose (stream: Stream, signal: AbortSignal): Promise<void> {
    if (stream.status !== 'open') {
      return
    }

    if (signal.aborted) {
      stream.abort(signal.reason)
      return
    }

    await new Promise<void>(resolve => {
      const done = (): void => {
        signal.removeEventListener('abort', onAbort)
        stream.removeEventListener('close', done)
        resolve()
      }
      const onAbort = (): void => {
        this.log('%s did not close its side of the stream within the timeout', stream.id)
        stream.abort(signal.reason)
        done()
      }

      stream.addEventListener('close', done)
      signal.addEventListener('abort', onAbort)
    })
  }

  /** `slot` is the request's place among `maxConcurrentRequests`, `undefined` when there was none free */
  private async answer (request: Message, remotePeer: PeerId, slot: Slot | undefined): Promise<Outcome> {
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
        this.metrics.storeError()
        this.log('the store cannot answer a request from %p now - %e', remotePeer, err)
        return { status: ResponseStatus.E_UNAVAILABLE, statusText: BUSY } as unknown as R
      }

      this.metrics.storeError()
      this.log.error('request from %p failed - %e', remotePeer, err)
      return { status: ResponseStatus.E_INTERNAL_ERROR, statusText: 'internal error' } as unknown as R
    }
  }

  private async withContext <R> (remotePeer: PeerId, slot: Slot | undefined, handler: (ctx: RequestContext) => Promise<R>): Promise<R> {
    if (slot == null) {
      throw busy()
    }

    if (this.cookieSecret == null) {
      throw new RendezvousError(ResponseStatus.E_UNAVAILABLE, 'rendezvous point is not started')
    }

    return handler({
      config: this.config,
      store: this.store,
      cookieSecret: this.cookieSecret,
      records: this.records,
      remotePeer,
      requesters: this.requesters,
      readsOnlyLegacyKnown: () => this.requesters.known(remotePeer),
      // a wait for identify gives the slot back meanwhile
      readsOnlyLegacy: async () => this.requesters.readsOnlyLegacy(remotePeer, async wait => slot.without(wait)),
      points: this.points,
      now: Date.now(),
      log: this.log
    })
  }
}
