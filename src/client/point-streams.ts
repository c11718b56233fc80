/**
 * Streams to rendezvous points, kept open between requests where the point allows it.
 *
 * A new stream costs both ends far more than the request it carries (protocol negotiation, muxer state, and on
 * the point a handler run per stream), so requests to a point that answers several per stream (ours, Go's) go one
 * after another on streams kept open. Points that answer one request and close the stream (Rust's
 * request-response, Nim) get a stream per request, as every implementation accepts. Which kind a point is, is
 * learned from the streams to it (see point-kinds.ts).
 *
 * A kept stream serves one request at a time. A request finding every stream of its point busy opens another one,
 * within the point's budget of streams (see stream-slots.ts: `maxStreamsPerPoint`, and room past requests hung for
 * `HUNG_AFTER_MS`), or waits for one. A stream opened past a hung request is closed after its own once the point has
 * `maxStreamsPerPoint` others. A stream unused for `idleTimeout` is closed, and so is every kept stream on
 * `closeAll()`.
 *
 * A request on a kept stream that finds the stream closed or reset by the point (its close raced the request) is
 * sent again once on a new stream: every rendezvous request is safe to repeat.
 */
import { pbStream } from '@libp2p/utils'
import { Message } from '../pb/rendezvous.ts'
import { PointKinds } from './point-kinds.ts'
import { StreamSlots } from './stream-slots.ts'
import type { StreamHistory } from './point-kinds.ts'
import type { ResolvedPoint } from './point.ts'
import type { Busy } from './stream-slots.ts'
import type { Logger, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ProtobufMessageStream } from '@libp2p/utils'

export interface PointStreamsInit {
  protocol: string
  /** Bytes; a longer reply is refused without being buffered */
  maxResponseSize: number
  runOnLimitedConnection: boolean
  /** Keep streams open between requests; false: a stream per request at every point */
  reuseStreams: boolean
  /** Most streams open to one point at once; further requests wait for one */
  maxStreamsPerPoint: number
  /** ms a kept stream may stay unused before it is closed */
  idleTimeout: number
  /** Points whose kind (several requests per stream or one) is remembered */
  maxRememberedPoints: number
  /**
   * ms after which a request without an answer no longer holds its place among `maxStreamsPerPoint` (the client:
   * `HUNG_AFTER_MS` of stream-slots.ts); default: never, for a load that wants a fixed number of streams in flight
   * (the benchmarks)
   */
  hungAfter?: number
  log: Logger
}

/** A stream to a point, with its message reader (which buffers what it read ahead) */
export interface PointStream {
  stream: Stream
  pb: ProtobufMessageStream<Message, Stream>
  /** Requests answered on it before this one */
  served: number
  /** Whether it may be kept after this request */
  keep: boolean
  /** When its last answer came (performance.now()) */
  answeredAt?: number
  /** The closeAll() round it was opened in: a stream in use during closeAll() is closed after its request */
  round: number
  /** Whether it still counts against its point's open streams */
  counted: boolean
  /** While a request is in flight on it: since when (performance.now()) */
  busy?: Busy
}

interface KeptStream extends PointStream {
  timer?: ReturnType<typeof setTimeout>
  stopWatching(): void
}

export class PointStreams {
  private readonly connectionManager: ConnectionManager
  private readonly init: PointStreamsInit
  /** Idle streams by point id, most recently used last */
  private readonly idle = new Map<string, KeptStream[]>()
  /** The streams each point may have open, and the requests waiting for one */
  private readonly slots: StreamSlots
  /** Which points answer one request per stream */
  private readonly kinds: PointKinds
  /** closeAll() calls so far */
  private round = 0

  constructor (connectionManager: ConnectionManager, init: PointStreamsInit) {
    this.connectionManager = connectionManager
    this.init = init
    this.kinds = new PointKinds(init.maxRememberedPoints, init.log)
    this.slots = new StreamSlots(init)
  }

  /** Whether `point` was found to answer one request per stream */
  answersOnePerStream (point: ResolvedPoint): boolean {
    return this.kinds.answersOnePerStream(point.id)
  }

  /**
   * A stream for one request to `point`: an idle kept one, or a new one. `oneShot` asks for a stream of its own,
   * closed after the request, whatever the point allows (a request without a reply cannot tell whether a kept
   * stream was still alive)
   */
  async acquire (point: ResolvedPoint, signal: AbortSignal, oneShot = false): Promise<PointStream> {
    const reusable = this.init.reuseStreams && !oneShot && !this.kinds.answersOnePerStream(point.id)

    for (let waited = false; ; waited = true) {
      if (reusable) {
        const kept = this.takeIdle(point.id)

        if (kept != null) {
          return this.inFlight(point.id, kept)
        }
      } else if (!this.slots.hasRoom(point.id)) {
        // a stream of its own may take the place of an idle kept one
        this.closeOneIdle(point.id)
      }

      if (this.slots.hasRoom(point.id)) {
        return this.inFlight(point.id, await this.openNew(point, signal, reusable))
      }

      // one woken before keeps its place at the head of the queue
      await this.slots.wait(point.id, signal, waited)
    }
  }

  /** The request on `used` is answered: keep the stream for the next one, or close it */
  async release (point: ResolvedPoint, used: PointStream, signal: AbortSignal): Promise<void> {
    this.slots.ended(point.id, used.busy)
    used.busy = undefined
    used.served++
    used.answeredAt = performance.now()

    if (used.served > 1) {
      // it answers several requests per stream, whatever went unanswered before
      this.kinds.answeredAgain(point.id)
    }

    // a stream opened past a hung request is not kept beyond maxStreamsPerPoint
    if (used.keep && used.round === this.round && isOpen(used.stream) && this.slots.count(point.id) <= this.init.maxStreamsPerPoint) {
      this.makeIdle(point, used)
      return
    }

    this.kinds.closed(point.id, historyOf(used))
    this.forget(point.id, used)
    await used.stream.close({ signal })
  }

  /**
   * The request on `used` failed with `err`: the stream is given up. Resolves to true when the request should be
   * sent again on a new stream, because the point had closed or reset this kept stream rather than answer on it
   */
  failed (point: ResolvedPoint, used: PointStream, err: unknown, timedOut: boolean): boolean {
    this.slots.ended(point.id, used.busy)
    used.busy = undefined
    this.forget(point.id, used)
    // closed by the point (or with its connection) before it answered
    const gone = used.stream.status !== 'open' || used.stream.remoteWriteStatus !== 'writable'

    if (timedOut && used.served === 1) {
      // it answered once, then never answered the second request: a point that reads one request per stream, or a
      // slow one; several in a row tell them apart
      this.kinds.unansweredSecond(point.id)
    } else {
      this.kinds.closed(point.id, historyOf(used))
    }

    used.stream.abort(err instanceof Error ? err : new Error(String(err)))
    return used.served > 0 && gone && !timedOut
  }

  /** Closes every kept stream; the ones in use now are closed after their request */
  async closeAll (): Promise<void> {
    this.round++
    const streams = [...this.idle.entries()].flatMap(([id, kept]) => kept.map(k => ({ id, kept: k })))
    this.idle.clear()

    await Promise.all(streams.map(async ({ id, kept }) => {
      kept.stopWatching()
      clearTimeout(kept.timer)
      this.slots.give(id, kept)
      await kept.stream.close().catch(err => { kept.stream.abort(err) })
    }))
  }

  private async openNew (point: ResolvedPoint, signal: AbortSignal, keep: boolean): Promise<PointStream> {
    // counted before the stream is open, so that requests arriving meanwhile wait rather than open more
    const place = this.slots.take(point.id)
    const round = this.round

    try {
      const stream = await this.connectionManager.openStream(point.target, this.init.protocol, {
        signal,
        runOnLimitedConnection: this.init.runOnLimitedConnection
      })

      return { stream, pb: pbStream(stream, { maxDataLength: this.init.maxResponseSize }).pb(Message), served: 0, keep, round, counted: true }
    } catch (err) {
      this.slots.give(point.id, place)
      throw err
    }
  }

  /** `used` now carries a request to point `id` */
  private inFlight (id: string, used: PointStream): PointStream {
    used.busy = this.slots.started(id)

    // a stream or room may be left for the next request waiting
    if (this.idle.has(id) || this.slots.hasRoom(id)) {
      this.slots.wake(id)
    }

    return used
  }

  /** Closes the least recently used idle stream of point `id`, if any */
  private closeOneIdle (id: string): void {
    const kept = this.idle.get(id)?.[0]

    if (kept != null) {
      kept.stopWatching()
      this.removeIdle(id, kept)
      kept.stream.close().catch(err => { kept.stream.abort(err) })
    }
  }

  private takeIdle (id: string): PointStream | undefined {
    const streams = this.idle.get(id) ?? []
    let kept: KeptStream | undefined

    while ((kept = streams.pop()) != null) {
      kept.stopWatching()
      clearTimeout(kept.timer)

      if (isOpen(kept.stream)) {
        break
      }

      this.slots.give(id, kept)
    }

    if (streams.length === 0) {
      this.idle.delete(id)
    }

    if (kept == null) {
      return undefined
    }

    // its place among the point's open streams goes with it to the request
    const taken = { stream: kept.stream, pb: kept.pb, served: kept.served, keep: true, answeredAt: kept.answeredAt, round: kept.round, counted: kept.counted }
    kept.counted = false
    return taken
  }

  private makeIdle (point: ResolvedPoint, used: PointStream): void {
    const { stream } = used
    const kept: KeptStream = { ...used, stopWatching: () => {} }
    // its place among the point's open streams goes with it
    used.counted = false

    // the point closing an idle stream right after its first answer closes after every answer
    const onClosed = (): void => {
      kept.stopWatching()
      this.removeIdle(point.id, kept)
      this.kinds.closed(point.id, historyOf(kept))

      if (stream.status === 'open') {
        stream.close().catch(err => { stream.abort(err) })
      }
    }
    stream.addEventListener('remoteCloseWrite', onClosed, { once: true })
    stream.addEventListener('close', onClosed, { once: true })
    kept.stopWatching = () => {
      stream.removeEventListener('remoteCloseWrite', onClosed)
      stream.removeEventListener('close', onClosed)
    }

    kept.timer = setTimeout(() => {
      kept.stopWatching()
      this.removeIdle(point.id, kept)
      this.init.log.trace('closing a stream to %s idle for %d ms', point.id, this.init.idleTimeout)
      stream.close().catch(err => { stream.abort(err) })
    }, this.init.idleTimeout)
    // an idle stream is no reason to keep a process alive
    if (typeof kept.timer === 'object') {
      kept.timer.unref?.()
    }

    const streams = this.idle.get(point.id) ?? []
    streams.push(kept)
    this.idle.set(point.id, streams)
    this.slots.wake(point.id)
  }

  private removeIdle (id: string, kept: KeptStream): void {
    const streams = this.idle.get(id)
    const index = streams?.indexOf(kept) ?? -1

    if (streams != null && index >= 0) {
      streams.splice(index, 1)
      clearTimeout(kept.timer)

      if (streams.length === 0) {
        this.idle.delete(id)
      }

      this.slots.give(id, kept)
    }
  }

  /** `used` is closed or given up: it no longer counts against its point's streams */
  private forget (id: string, used: PointStream): void {
    used.keep = false
    this.slots.give(id, used)
  }
}

/** Open both ways: the point has not closed its side and the stream was not reset */
function isOpen (stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
}

/** What `used` tells of its point */
function historyOf (used: PointStream): StreamHistory {
  return { served: used.served, answeredAt: used.answeredAt, remoteWritable: used.stream.remoteWriteStatus === 'writable' }
}
