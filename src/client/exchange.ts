/**
 * One rendezvous exchange: write the request on a stream to the point, read the reply. The stream comes from
 * {@link PointStreams}: one kept open for the point when it answers several requests per stream, else a new one
 * closed after the reply.
 *
 * A timeout covers the whole exchange, dial included, because some servers answer a request they cannot decode by
 * closing the stream or by never answering at all. A request on a kept stream that the point had closed is sent
 * again once on a new stream, within the same timeout. Every error names the request and the point (see
 * request-errors.ts).
 */
import { TimeoutError } from '@libp2p/interface'
import { anySignal } from 'any-signal'
import { InvalidResponseError } from '../errors.ts'
import { inContext } from './request-errors.ts'
import type { PointStream, PointStreams } from './point-streams.ts'
import type { ResolvedPoint } from './point.ts'
import type { Message } from '../pb/rendezvous.ts'
import type { Logger } from '@libp2p/interface'

export interface ExchangeOptions {
  streams: PointStreams
  /** ms for the whole exchange */
  timeout: number
  signal?: AbortSignal
  log: Logger
  /** What every error starts with: the request and the point (`describeRequest`); default: the request type and the point's id */
  context?: string
}

/** What to do on the stream: resolves to the reply, or to nothing for a request without one */
type Body<T> = (used: PointStream, signal: AbortSignal) => Promise<T>

/** The options with the context every error starts with */
function withContext (point: ResolvedPoint, request: Message, options: ExchangeOptions): ExchangeOptions & { context: string } {
  return { ...options, context: options.context ?? `${request.type} at rendezvous point ${point.id}` }
}

async function withStream <T> (point: ResolvedPoint, options: ExchangeOptions & { context: string }, oneShot: boolean, body: Body<T>): Promise<T> {
  const timeoutController = new AbortController()
  const timer = setTimeout(() => {
    timeoutController.abort(new TimeoutError(`${options.context}: no reply within ${options.timeout} ms`))
  }, options.timeout)
  const signal = anySignal([timeoutController.signal, options.signal])

  try {
    for (let attempt = 1; ; attempt++) {
      let used: PointStream | undefined

      try {
        used = await options.streams.acquire(point, signal, oneShot)
        const result = await body(used, signal)
        await options.streams.release(point, used, signal)

        return result
      } catch (err: any) {
        const timedOut = timeoutController.signal.aborted && options.signal?.aborted !== true
        const error = timedOut ? timeoutController.signal.reason : inContext(err, options.context)

        if (used == null) {
          throw error
        }

        if (options.streams.failed(point, used, error, timedOut) && attempt === 1 && !signal.aborted) {
          options.log('%s had closed the stream kept for it, sending the request again on a new one', point.id)
          continue
        }

        throw error
      }
    }
  } finally {
    clearTimeout(timer)
    signal.clear()
  }
}

/**
 * Sends `request` and resolves to the reply. A stream reset before the request was written, EOF, a reset, an
 * oversized or undecodable reply: {@link InvalidResponseError}
 */
export async function exchange (point: ResolvedPoint, request: Message, exchangeOptions: ExchangeOptions): Promise<Message> {
  const options = withContext(point, request, exchangeOptions)

  return withStream(point, options, false, async ({ pb }, signal) => {
    try {
      // a write fails too when the point has reset the stream (refused it, or closed a kept one)
      await pb.write(request, { signal })
      return await pb.read({ signal })
    } catch (err: any) {
      if (signal.aborted) {
        throw err
      }

      options.log('no valid reply from %s - %e', point.id, err)
      throw new InvalidResponseError(`${options.context}: no valid reply (${err.message ?? err})`, { cause: err })
    }
  })
}

/**
 * Sends `request` on a stream of its own and closes the write side without waiting for anything back (UNREGISTER
 * has no reply, so nothing would tell that a kept stream had been closed under it)
 */
export async function send (point: ResolvedPoint, request: Message, options: ExchangeOptions): Promise<void> {
  await withStream(point, withContext(point, request, options), true, async ({ pb }, signal) => {
    await pb.write(request, { signal })
  })
}
