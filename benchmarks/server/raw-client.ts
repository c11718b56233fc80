/**
 * Raw protocol requests, as any client would send them: the client's transport (its kept streams, or a stream per
 * request) without its record checks, so that the figures are the server's (and the transport's), not our client's.
 */
import { logger } from '@libp2p/logger'
import { CLIENT_DEFAULTS } from '../../src/client/config.ts'
import { exchange as clientExchange } from '../../src/client/exchange.ts'
import { PointStreams } from '../../src/client/point-streams.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export { Message }

/** How requests travel: a new stream each (what every client did before), or one after another on kept streams */
export type StreamMode = 'stream-per-request' | 'open-streams'

export interface RawClient {
  /** Sends `request` and reads the one reply */
  request(request: Message, signal: AbortSignal): Promise<Message>
  /** Closes the kept streams */
  close(): Promise<void>
}

const log = logger('libp2p:rendezvous:bench:raw-client')

/** Requests from `node` to the point at `target` (a multiaddr ending in /p2p/<id>) */
export function rawClient (node: Libp2p<any>, target: Multiaddr, protocol: string, mode: StreamMode, maxStreams = 64): RawClient {
  const connectionManager = (node as any).components.connectionManager
  const streams = new PointStreams(connectionManager, {
    protocol,
    maxResponseSize: CLIENT_DEFAULTS.maxResponseSize,
    runOnLimitedConnection: false,
    reuseStreams: mode === 'open-streams',
    maxStreamsPerPoint: maxStreams,
    idleTimeout: 60_000,
    maxRememberedPoints: 16,
    log
  })
  const point = { target, id: target.getComponents().findLast(c => c.name === 'p2p')?.value ?? '' }

  return {
    request: async (request, signal) => clientExchange(point, request, { streams, timeout: 10_000, signal, log }),
    close: async () => { await streams.closeAll() }
  }
}

/** Sends `request` on a new stream of its own and reads the one reply */
export async function exchange (node: Libp2p<any>, target: Multiaddr, protocol: string, request: Message, signal: AbortSignal): Promise<Message> {
  return rawClient(node, target, protocol, 'stream-per-request').request(request, signal)
}

export function registerRequest (ns: string, signedPeerRecord: Uint8Array<ArrayBuffer>): Message {
  return { type: Message.MessageType.REGISTER, register: { ns, signedPeerRecord } }
}

export function discoverRequest (ns: string | undefined, limit: number, cookie?: Uint8Array<ArrayBuffer>): Message {
  return { type: Message.MessageType.DISCOVER, discover: { ns, limit: BigInt(limit), cookie } }
}

/**
 * The status of a reply. A response without a status field is OK: that is the proto2 default, and servers whose
 * protobuf code skips default values (canvas) never write it
 */
export function statusOf (reply: Message): string {
  const response = reply.registerResponse ?? reply.discoverResponse
  if (response == null) {
    return `no response (${reply.type})`
  }
  return response.status ?? Message.ResponseStatus.OK
}
