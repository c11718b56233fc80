/**
 * Serving one inbound stream of the rendezvous protocol: its requests one after another, each read, answered
 * (request-answers.ts) and written within the request's deadline, the stream's idle time between requests, the
 * request slots and the reply-byte budget a DISCOVER reply is charged to, and the close (or reset) at its end.
 * Whatever goes wrong ends in an abort of the stream, never in a throw.
 */
import { UnexpectedEOFError } from '@libp2p/utils'
import { raceSignal } from 'race-signal'
import { Message } from '../pb/rendezvous.ts'
import { nextEvent } from './next-event.ts'
import { encodeReply } from './reply-encoding.ts'
import { BUSY, tooLate, unavailable } from './request-answers.ts'
import { RequestDeadline } from './request-deadline.ts'
import { RequestReader } from './request-reader.ts'
import { StrictRequest } from './strict-request.ts'
import type { ServerConfig } from './config.ts'
import type { ReplyBudget, ReplyCharge } from './reply-budget.ts'
import type { Outcome, RequestAnswers } from './request-answers.ts'
import type { RequestSlots } from './request-slots.ts'
import type { ServerMetrics } from './server-metrics.ts'
import type { Logger, PeerId, Stream } from '@libp2p/interface'

const { ResponseStatus } = Message

/** The share of `timeout` a request may spend in the store; the rest is for writing a reply either way */
const ANSWER_SHARE = 0.8

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

export interface StreamServerInit {
  config: ServerConfig
  log: Logger
  metrics: ServerMetrics
  /**
   * Requests read and being handled. `maxConcurrentRequests` bounds this, not the streams open: a stream that
   * has sent nothing yet costs a timer and a buffer, and must not take an honest request's place; nor does a
   * request that waits for its requester's identify.
   */
  slots: RequestSlots
  /** Bytes of DISCOVER replies written and not yet taken by their peers */
  replies: ReplyBudget
  answers: RequestAnswers
}

export class StreamServer {
  private readonly config: ServerConfig
  private readonly log: Logger
  private readonly metrics: ServerMetrics
  private readonly slots: RequestSlots
  private readonly replies: ReplyBudget
  private readonly answers: RequestAnswers

  constructor (init: StreamServerInit) {
    this.config = init.config
    this.log = init.log
    this.metrics = init.metrics
    this.slots = init.slots
    this.replies = init.replies
    this.answers = init.answers
  }

  /**
   * Requests one after another until the client closes its side: a client that sends one request and closes
   * sees what it always saw, and one that keeps the stream (Go's `DiscoverAsync` sends a DISCOVER every two
   * minutes on one stream) is answered each time. Each request has `timeout` to be read, handled and answered;
   * between requests the stream may idle for `streamIdleTimeout` (see {@link RequestDeadline}). After
   * `maxRequestsPerStream` replies the server closes its side. Whatever goes wrong ends in an abort of this
   * stream, never in a throw.
   */
  async serve (stream: Stream, remotePeer: PeerId): Promise<void> {
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
      const handling = this.answers.answer(request, remotePeer, slot).finally(() => { slot?.release() })
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
}
