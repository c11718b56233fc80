/**
 * How long a stream of requests may take. A request has `timeout` to be read, handled and answered; between
 * requests a stream may stay idle for `streamIdleTimeout`, and the next request's own `timeout` starts with its
 * first byte. So a client that keeps a stream for its next request (Go's `DiscoverAsync` asks every two
 * minutes) can wait, while one that dribbles a request in byte by byte is still cut off after `timeout`.
 */
import { TimeoutError } from '@libp2p/interface'
import type { Stream } from '@libp2p/interface'

export class RequestDeadline {
  /** Aborts when the stream has run out of time, idle or busy */
  readonly signal: AbortSignal
  /** `performance.now()` when the current request's `timeout` started */
  startedAt: number
  /** Whether the request's `timeout` runs; `false` while the stream is idle between requests */
  started: boolean

  private readonly controller = new AbortController()
  private readonly stream: Stream
  private readonly timeout: number
  private timer?: ReturnType<typeof setTimeout>
  private readonly onMessage = (): void => { this.start() }

  /** The deadline of a stream's first request: its `timeout` runs from now */
  constructor (stream: Stream, timeout: number) {
    this.stream = stream
    this.timeout = timeout
    this.signal = this.controller.signal
    this.startedAt = performance.now()
    this.started = false
    this.start()
  }

  /** The deadline after a reply: `idleTimeout` until the next request's first byte, then `timeout` */
  static afterIdle (stream: Stream, idleTimeout: number, timeout: number): RequestDeadline {
    const deadline = new RequestDeadline(stream, timeout)
    deadline.idle(idleTimeout)
    return deadline
  }

  /** Starts the request's `timeout` now, unless it already runs */
  start (): void {
    if (this.started) {
      return
    }

    this.started = true
    this.startedAt = performance.now()
    this.stream.removeEventListener('message', this.onMessage)
    this.arm(this.timeout, () => new TimeoutError(`request not answered within ${this.timeout} ms`))
  }

  clear (): void {
    clearTimeout(this.timer)
    this.stream.removeEventListener('message', this.onMessage)
  }

  private idle (idleTimeout: number): void {
    this.started = false
    this.arm(idleTimeout, () => new TimeoutError(`no request within ${idleTimeout} ms of the last reply`))
    this.stream.addEventListener('message', this.onMessage)
  }

  private arm (ms: number, reason: () => Error): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { this.controller.abort(reason()) }, ms)
  }
}
