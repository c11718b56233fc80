/**
 * One rendezvous exchange on one stream: open, write the request, (read the reply), close.
 *
 * One request per stream is the only pattern every implementation serves: Rust (request-response) and Nim
 * (`readLp` once, then close) never read a second message from a stream. A timeout covers the whole exchange,
 * dial included, because some servers answer a request they cannot decode by closing the stream or by never
 * answering at all.
 */
import { TimeoutError } from '@libp2p/interface'
import { pbStream } from '@libp2p/utils'
import { anySignal } from 'any-signal'
import { InvalidResponseError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'
import type { ResolvedPoint } from './point.ts'
import type { Logger, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ProtobufMessageStream } from '@libp2p/utils'

export interface ExchangeOptions {
  protocol: string
  /** ms for the whole exchange */
  timeout: number
  /** bytes; a longer reply is refused without being buffered */
  maxResponseSize: number
  runOnLimitedConnection: boolean
  signal?: AbortSignal
  log: Logger
}

type Body<T> = (pb: ProtobufMessageStream<Message, Stream>, signal: AbortSignal) => Promise<T>

async function withStream <T> (connectionManager: ConnectionManager, point: ResolvedPoint, options: ExchangeOptions, body: Body<T>): Promise<T> {
  const timeoutController = new AbortController()
  const timer = setTimeout(() => {
    timeoutController.abort(new TimeoutError(`rendezvous point ${point.id} did not complete the exchange within ${options.timeout} ms`))
  }, options.timeout)
  const signal = anySignal([timeoutController.signal, options.signal])
  let stream: Stream | undefined

  try {
    stream = await connectionManager.openStream(point.target, options.protocol, {
      signal,
      runOnLimitedConnection: options.runOnLimitedConnection
    })

    const pb = pbStream(stream, { maxDataLength: options.maxResponseSize }).pb(Message)
    const result = await body(pb, signal)
    await stream.close({ signal })

    return result
  } catch (err: any) {
    const error = timeoutController.signal.aborted && options.signal?.aborted !== true
      ? timeoutController.signal.reason
      : err

    stream?.abort(error)
    throw error
  } finally {
    clearTimeout(timer)
    signal.clear()
  }
}

/** Sends `request` and resolves to the reply. EOF, a reset, an oversized or undecodable reply: {@link InvalidResponseError} */
export async function exchange (connectionManager: ConnectionManager, point: ResolvedPoint, request: Message, options: ExchangeOptions): Promise<Message> {
  return withStream(connectionManager, point, options, async (pb, signal) => {
    await pb.write(request, { signal })

    try {
      return await pb.read({ signal })
    } catch (err: any) {
      if (signal.aborted) {
        throw err
      }

      options.log('no valid reply from %s - %e', point.id, err)
      throw new InvalidResponseError(`rendezvous point ${point.id} sent no valid reply to ${request.type}: ${err.message ?? err}`, { cause: err })
    }
  })
}

/** Sends `request` and closes the write side without waiting for anything back (UNREGISTER has no reply) */
export async function send (connectionManager: ConnectionManager, point: ResolvedPoint, request: Message, options: ExchangeOptions): Promise<void> {
  await withStream(connectionManager, point, options, async (pb, signal) => {
    await pb.write(request, { signal })
  })
}
