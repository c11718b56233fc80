/**
 * Streams to rendezvous points, kept open between requests where the point allows it.
 *
 * A new stream costs both ends far more than the request it carries (protocol negotiation, muxer state, and on
 * the point a handler run per stream), so requests to a point that answers several per stream (ours, Go's) go one
 * after another on streams kept open. Points that answer one request and close the stream (Rust's
 * request-response, Nim) get a stream per request, as every implementation accepts. Which kind a point is, is
 * learned from the point closing a stream right after its first answer, or from second requests on a stream left
 * unanswered several times in a row (one late answer is a slow point, not a kind), and remembered per point for
 * `REMEMBER_KIND_MS` (the least recently used point forgotten first): a point once slow is checked again.
 *
 * A kept stream serves one request at a time. A request finding every stream of its point busy opens another one,
 * up to `maxStreamsPerPoint` open to the point at once (kept or not); beyond that it waits for one to be free, first
 * come first served, within its own deadline. A burst of requests never opens more streams than a point accepts
 * (js-libp2p handlers take 32 per connection by default and reset the rest). But a request unanswered for
 * `HUNG_AFTER_MS` (a store stuck on one namespace, say) stops counting against `maxStreamsPerPoint`, up to twice
 * that many streams in all: requests for other namespaces do not wait behind it for its whole timeout. A stream
 * opened that way is closed after its request once the point has `maxStreamsPerPoint` others. A stream unused for
 * `idleTimeout` is closed, and so is every kept stream on `closeAll()`.
 *
 * A request on a kept stream that finds the stream closed or reset by the point (its close raced the request) is
 * sent again once on a new stream: every rendezvous request is safe to repeat.
 */
import { pbStream } from '@libp2p/utils'
import { raceSignal } from 'race-signal'
import { Message } from '../pb/rendezvous.ts'
import { boundedLru } from './bounded-lru.ts'
import type { ResolvedPoint } from './point.ts'
import type { Logger, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ProtobufMessageStream } from '@libp2p/utils'
import type QuickLRU from 'quick-lru'

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
   * `HUNG_AFTER_MS`); default: never, for a load that wants a fixed number of streams in flight (the benchmarks)
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

interface Busy {
  since: number
}

interface KeptStream extends PointStream {
  timer?: ReturnType<typeof setTimeout>
  stopWatching(): void
}

/**
 * A point that closes a stream within this many ms of its first answer on it closes after every answer; a later
 * close is the point's idle timeout, or its restart
 */
const CLOSE_AFTER_ANSWER_MS = 2000

/**
 * ms after which a request without an answer no longer holds its place among `maxStreamsPerPoint`: a point of ours
 * answers in a few ms, and the slowest honest answers measured (PostgreSQL under a hostile load) took 136-424 ms
 */
export const HUNG_AFTER_MS = 1000

/** Streams open to a point at most, hung ones included, in multiples of `maxStreamsPerPoint` (4 x 2 = 8 of the 32 a js-libp2p point takes) */
const MAX_STREAMS_WITH_HUNG = 2

/** Second requests on a stream left unanswered in a row before the point is taken for one that answers one per stream */
export const ONE_REQUEST_EVIDENCE = 3

/** ms what was learned of a point's kind is relied on before it is checked again */
export const REMEMBER_KIND_MS = 10 * 60_000

export class PointStreams {
  private readonly connectionManager: ConnectionManager
  private readonly init: PointStreamsInit
  /** Idle streams by point id, most recently used last */
  private readonly idle = new Map<string, KeptStream[]>()
  /** Streams open (idle, in use, or being opened) by point id */
  private readonly open = new Map<string, number>()
  /** Requests waiting for a stream to be free, by point id, first come first */
  private readonly waiting = new Map<string, Array<() => void>>()
  /** Requests in flight, by point id */
  private readonly busy = new Map<string, Set<Busy>>()
  /** By point id, while requests wait: when the next request in flight to it counts as hung */
  private readonly hungTimers = new Map<string, ReturnType<typeof setTimeout>>()
  /** Points that answer one request per stream */
  private readonly oneRequestPoints: QuickLRU<string, true>
  /** Second requests on a stream each point left unanswered, in a row */
  private readonly unansweredSeconds: QuickLRU<string, number>
  /** closeAll() calls so far */
  private round = 0

  constructor (connectionManager: ConnectionManager, init: PointStreamsInit) {
    this.connectionManager = connectionManager
    this.init = init
    this.oneRequestPoints = boundedLru(init.maxRememberedPoints, REMEMBER_KIND_MS)
    this.unansweredSeconds = boundedLru(init.maxRememberedPoints, REMEMBER_KIND_MS)
  }

  /** Whether `point` was found to answer one request per stream */
  answersOnePerStream (point: ResolvedPoint): boolean {
    return this.oneRequestPoints.has(point.id)
  }

  /**
   * A stream for one request to `point`: an idle kept one, or a new one. `oneShot` asks for a stream of its own,
   * closed after the request, whatever the point allows (a request without a reply cannot tell whether a kept
   * stream was still alive)
   */
  async acquire (point: ResolvedPoint, signal: AbortSignal, oneShot = false): Promise<PointStream> {
    const reusable = this.init.reuseStreams && !oneShot && !this.oneRequestPoints.has(point.id)

    for (let waited = false; ; waited = true) {
      if (reusable) {
        const kept = this.takeIdle(point.id)

        if (kept != null) {
          return this.inFlight(point.id, kept)
        }
      } else if (!this.hasRoom(point.id)) {
        // a stream of its own may take the place of an idle kept one
        this.closeOneIdle(point.id)
      }

      if (this.hasRoom(point.id)) {
        return this.inFlight(point.id, await this.openNew(point, signal, reusable))
      }

      // one woken before keeps its place at the head of the queue
      await this.waitForStream(point.id, signal, waited)
    }
  }

  /** The request on `used` is answered: keep the stream for the next one, or close it */
  async release (point: ResolvedPoint, used: PointStream, signal: AbortSignal): Promise<void> {
    this.answered(point.id, used)
    used.served++
    used.answeredAt = performance.now()

    if (used.served > 1) {
      // it answers several requests per stream, whatever went unanswered before
      this.unansweredSeconds.delete(point.id)
    }

    // a stream opened past a hung request is not kept beyond maxStreamsPerPoint
    if (used.keep && used.round === this.round && isOpen(used.stream) && this.openCount(point.id) <= this.init.maxStreamsPerPoint) {
      this.makeIdle(point, used)
      return
    }

    this.learnFrom(point, used)
    this.forget(point.id, used)
    await used.stream.close({ signal })
  }

  /**
   * The request on `used` failed with `err`: the stream is given up. Resolves to true when the request should be
   * sent again on a new stream, because the point had closed or reset this kept stream rather than answer on it
   */
  failed (point: ResolvedPoint, used: PointStream, err: unknown, timedOut: boolean): boolean {
    this.answered(point.id, used)
    this.forget(point.id, used)
    // closed by the point (or with its connection) before it answered
    const gone = used.stream.status !== 'open' || used.stream.remoteWriteStatus !== 'writable'

    if (timedOut && used.served === 1) {
      // it answered once, then never answered the second request: a point that reads one request per stream, or a
      // slow one; several in a row tell them apart
      this.unansweredSecond(point)
    } else {
      this.learnFrom(point, used)
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
      this.uncount(id, kept)
      await kept.stream.close().catch(err => { kept.stream.abort(err) })
    }))
  }

  private async openNew (point: ResolvedPoint, signal: AbortSignal, keep: boolean): Promise<PointStream> {
    // counted before the stream is open, so that requests arriving meanwhile wait rather than open more
    const place = { counted: true }
    const round = this.round
    this.open.set(point.id, this.openCount(point.id) + 1)

    try {
      const stream = await this.connectionManager.openStream(point.target, this.init.protocol, {
        signal,
        runOnLimitedConnection: this.init.runOnLimitedConnection
      })

      return { stream, pb: pbStream(stream, { maxDataLength: this.init.maxResponseSize }).pb(Message), served: 0, keep, round, counted: true }
    } catch (err) {
      this.uncount(point.id, place)
      throw err
    }
  }

  private openCount (id: string): number {
    return this.open.get(id) ?? 0
  }

  /** Whether a new stream may be opened to point `id`: requests hung for `HUNG_AFTER_MS` leave their place to it */
  private hasRoom (id: string): boolean {
    const open = this.openCount(id)
    return open - this.hungCount(id) < this.init.maxStreamsPerPoint && open < this.init.maxStreamsPerPoint * MAX_STREAMS_WITH_HUNG
  }

  private hungCount (id: string): number {
    const since = performance.now() - (this.init.hungAfter ?? Infinity)
    let hung = 0

    for (const busy of this.busy.get(id) ?? []) {
      if (busy.since <= since) {
        hung++
      }
    }

    return hung
  }

  /** ms until the next request in flight to point `id` counts as hung, if that would make room */
  private untilNextHung (id: string): number | undefined {
    const hungAfter = this.init.hungAfter

    if (hungAfter == null || this.openCount(id) >= this.init.maxStreamsPerPoint * MAX_STREAMS_WITH_HUNG) {
      return undefined
    }

    const now = performance.now()
    let next: number | undefined

    for (const busy of this.busy.get(id) ?? []) {
      const wait = busy.since + hungAfter - now

      if (wait > 0 && (next == null || wait < next)) {
        next = wait
      }
    }

    return next
  }

  /** `used` now carries a request to point `id` */
  private inFlight (id: string, used: PointStream): PointStream {
    used.busy = { since: performance.now() }
    const busy = this.busy.get(id) ?? new Set()
    busy.add(used.busy)
    this.busy.set(id, busy)
    this.watchForHung(id)

    // a stream or room may be left for the next request waiting
    if (this.idle.has(id) || this.hasRoom(id)) {
      this.wakeNext(id)
    }

    return used
  }

  /** The request on `used` is over, answered or not */
  private answered (id: string, used: PointStream): void {
    const busy = this.busy.get(id)

    if (busy != null && used.busy != null) {
      busy.delete(used.busy)

      if (busy.size === 0) {
        this.busy.delete(id)
      }
    }

    used.busy = undefined
  }

  /**
   * Waits until a stream of point `id` is free or closed, or a request in flight to it has hung long enough to make
   * room, or `signal` aborts
   */
  private async waitForStream (id: string, signal: AbortSignal, first: boolean): Promise<void> {
    signal.throwIfAborted()

    const { promise, resolve } = Promise.withResolvers<void>()
    const queue = this.waiting.get(id) ?? []

    if (first) {
      queue.unshift(resolve)
    } else {
      queue.push(resolve)
    }
    this.waiting.set(id, queue)

    this.watchForHung(id)

    try {
      await raceSignal(promise, signal)
    } finally {
      const index = queue.indexOf(resolve)

      if (index >= 0) {
        queue.splice(index, 1)
      }

      if (queue.length === 0 && this.waiting.get(id) === queue) {
        this.waiting.delete(id)
        clearTimeout(this.hungTimers.get(id))
        this.hungTimers.delete(id)
      }
    }
  }

  /** While requests wait for a stream of point `id`, wakes the first one when a request in flight makes room by hanging */
  private watchForHung (id: string): void {
    if (this.hungTimers.has(id) || !this.waiting.has(id)) {
      return
    }

    const wait = this.untilNextHung(id)

    if (wait == null) {
      return
    }

    this.hungTimers.set(id, setTimeout(() => {
      this.hungTimers.delete(id)
      this.wakeNext(id)
      this.watchForHung(id)
    }, wait))
  }

  /** A stream of point `id` became free or closed: the first request waiting for one tries again */
  private wakeNext (id: string): void {
    const queue = this.waiting.get(id)
    const next = queue?.shift()

    if (queue?.length === 0) {
      this.waiting.delete(id)
    }

    next?.()
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

      this.uncount(id, kept)
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
      this.learnFrom(point, kept)

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
    this.wakeNext(point.id)
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

      this.uncount(id, kept)
    }
  }

  /** `used` is closed or given up: it no longer counts against its point's streams */
  private forget (id: string, used: PointStream): void {
    used.keep = false
    this.uncount(id, used)
  }

  private uncount (id: string, holder: { counted: boolean }): void {
    if (!holder.counted) {
      return
    }

    holder.counted = false
    const count = this.openCount(id) - 1

    if (count <= 0) {
      this.open.delete(id)
    } else {
      this.open.set(id, count)
    }

    this.wakeNext(id)
  }

  /** A point that closed its side of `used` right after its first answer answers one request per stream */
  private learnFrom (point: ResolvedPoint, used: PointStream): void {
    if (used.served === 1 && used.stream.remoteWriteStatus !== 'writable' && used.answeredAt != null &&
      performance.now() - used.answeredAt < CLOSE_AFTER_ANSWER_MS) {
      this.learnOneRequest(point)
    }
  }

  /** A second request on a stream of `point` went unanswered */
  private unansweredSecond (point: ResolvedPoint): void {
    const count = (this.unansweredSeconds.get(point.id) ?? 0) + 1

    if (count < ONE_REQUEST_EVIDENCE) {
      this.unansweredSeconds.set(point.id, count)
      return
    }

    this.unansweredSeconds.delete(point.id)
    this.learnOneRequest(point)
  }

  private learnOneRequest (point: ResolvedPoint): void {
    if (!this.oneRequestPoints.has(point.id)) {
      this.init.log('%s answers one request per stream, opening a stream per request for the next %d ms', point.id, REMEMBER_KIND_MS)
    }

    this.oneRequestPoints.set(point.id, true)
  }
}

/** Open both ways: the point has not closed its side and the stream was not reset */
function isOpen (stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
}
