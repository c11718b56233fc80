/**
 * Streams to rendezvous points, kept open between requests where the point allows it.
 *
 * A new stream costs both ends far more than the request it carries (protocol negotiation, muxer state, and on
 * the point a handler run per stream), so requests to a point that answers several per stream (ours, Go's) go one
 * after another on streams kept open. Points that answer one request and close the stream (Rust's
 * request-response, Nim) get a stream per request, as every implementation accepts; which kind a point is, is
 * learned from the first stream that the point closed after one answer, and remembered per point (the least
 * recently used point forgotten first).
 *
 * A kept stream serves one request at a time. A request finding every kept stream of its point busy opens another
 * one; at most `maxStreamsPerPoint` are kept, extra ones are closed after their request. A stream unused for
 * `idleTimeout` is closed, and so is every kept stream on `closeAll()`.
 *
 * A request on a kept stream that finds the stream closed or reset by the point (its close raced the request) is
 * sent again once on a new stream: every rendezvous request is safe to repeat.
 */
import { pbStream } from '@libp2p/utils'
import { Message } from '../pb/rendezvous.ts'
import type { ResolvedPoint } from './point.ts'
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
  /** Most streams kept open per point */
  maxStreamsPerPoint: number
  /** ms a kept stream may stay unused before it is closed */
  idleTimeout: number
  /** Points whose kind (several requests per stream or one) is remembered */
  maxRememberedPoints: number
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

export class PointStreams {
  private readonly connectionManager: ConnectionManager
  private readonly init: PointStreamsInit
  /** Idle streams by point id, most recently used last */
  private readonly idle = new Map<string, KeptStream[]>()
  /** Streams kept (idle or in use) by point id */
  private readonly kept = new Map<string, number>()
  /** Points that answer one request per stream, least recently used first */
  private readonly oneRequestPoints = new Map<string, true>()

  constructor (connectionManager: ConnectionManager, init: PointStreamsInit) {
    this.connectionManager = connectionManager
    this.init = init
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

    if (reusable) {
      const kept = this.takeIdle(point.id)

      if (kept != null) {
        return kept
      }
    }

    const stream = await this.connectionManager.openStream(point.target, this.init.protocol, {
      signal,
      runOnLimitedConnection: this.init.runOnLimitedConnection
    })
    const keep = reusable && (this.kept.get(point.id) ?? 0) < this.init.maxStreamsPerPoint

    if (keep) {
      this.kept.set(point.id, (this.kept.get(point.id) ?? 0) + 1)
    }

    return { stream, pb: pbStream(stream, { maxDataLength: this.init.maxResponseSize }).pb(Message), served: 0, keep }
  }

  /** The request on `used` is answered: keep the stream for the next one, or close it */
  async release (point: ResolvedPoint, used: PointStream, signal: AbortSignal): Promise<void> {
    used.served++
    used.answeredAt = performance.now()

    if (used.keep && isOpen(used.stream)) {
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
    this.forget(point.id, used)
    // closed by the point (or with its connection) before it answered
    const gone = used.stream.status !== 'open' || used.stream.remoteWriteStatus !== 'writable'

    if (timedOut && used.served === 1) {
      // it answered once, then never answered the second request
      this.learnOneRequest(point)
    } else {
      this.learnFrom(point, used)
    }

    used.stream.abort(err instanceof Error ? err : new Error(String(err)))
    return used.served > 0 && gone && !timedOut
  }

  /** Closes every kept stream */
  async closeAll (): Promise<void> {
    const streams = [...this.idle.values()].flat()
    this.idle.clear()
    this.kept.clear()

    await Promise.all(streams.map(async kept => {
      kept.stopWatching()
      clearTimeout(kept.timer)
      await kept.stream.close().catch(err => { kept.stream.abort(err) })
    }))
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

      this.release1(id)
    }

    if (streams.length === 0) {
      this.idle.delete(id)
    }

    return kept == null ? undefined : { stream: kept.stream, pb: kept.pb, served: kept.served, keep: true, answeredAt: kept.answeredAt }
  }

  private makeIdle (point: ResolvedPoint, used: PointStream): void {
    const { stream } = used
    const kept: KeptStream = { ...used, stopWatching: () => {} }

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

      this.release1(id)
    }
  }

  private forget (id: string, used: PointStream): void {
    if (used.keep) {
      used.keep = false
      this.release1(id)
    }
  }

  private release1 (id: string): void {
    const count = (this.kept.get(id) ?? 1) - 1

    if (count <= 0) {
      this.kept.delete(id)
    } else {
      this.kept.set(id, count)
    }
  }

  /** A point that closed its side of `used` right after its first answer answers one request per stream */
  private learnFrom (point: ResolvedPoint, used: PointStream): void {
    if (used.served === 1 && used.stream.remoteWriteStatus !== 'writable' && used.answeredAt != null &&
      performance.now() - used.answeredAt < CLOSE_AFTER_ANSWER_MS) {
      this.learnOneRequest(point)
    }
  }

  private learnOneRequest (point: ResolvedPoint): void {
    if (!this.oneRequestPoints.has(point.id)) {
      this.init.log('%s answers one request per stream, opening a stream per request from now on', point.id)
    }

    this.oneRequestPoints.delete(point.id)
    this.oneRequestPoints.set(point.id, true)

    if (this.oneRequestPoints.size > this.init.maxRememberedPoints) {
      const oldest = this.oneRequestPoints.keys().next().value

      if (oldest != null) {
        this.oneRequestPoints.delete(oldest)
      }
    }
  }
}

/** Open both ways: the point has not closed its side and the stream was not reset */
function isOpen (stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
}
