/**
 * Raw protocol requests, one per stream, as any client would send them: no client library in the way, so the
 * figures are the server's (and the transport's), not our client's.
 */
import { pbStream } from '@libp2p/utils'
import { CLIENT_DEFAULTS } from '../../src/defaults.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export { Message }

/** Sends `request` on a new stream and reads the one reply */
export async function exchange (node: Libp2p<any>, target: Multiaddr, protocol: string, request: Message, signal: AbortSignal): Promise<Message> {
  const stream = await node.dialProtocol(target, protocol, { signal })
  try {
    const pb = pbStream(stream, { maxDataLength: CLIENT_DEFAULTS.maxResponseSize }).pb(Message)
    await pb.write(request, { signal })
    const reply = await pb.read({ signal })
    await stream.close({ signal })
    return reply
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
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
