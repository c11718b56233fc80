/**
 * A rendezvous server node and raw protocol exchanges with it: the server tests speak bytes and messages
 * directly, so that they can send what no well-behaved client would.
 */
import { pbStream } from '@libp2p/utils'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { rendezvousServer } from '../../src/server/index.ts'
import { createMemoryNode } from '../fixtures/memory-node.ts'
import type { RendezvousServerInit } from '../../src/server/index.ts'
import type { RendezvousServer } from '../../src/server/rendezvous-server.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type ServerNode = Libp2p<{ identify: unknown, rendezvous: RendezvousServer }>
export type ClientNode = Libp2p<{ identify: unknown }>

export async function createServerNode (init: RendezvousServerInit = {}): Promise<ServerNode> {
  return createMemoryNode({ services: { rendezvous: rendezvousServer(init) } }, 'rendezvous') as Promise<ServerNode>
}

export async function createClientNode (): Promise<ClientNode> {
  return createMemoryNode({}, 'client') as Promise<ClientNode>
}

/** The nodes a test starts: `stopAll()`, from an `afterEach`, stops every one */
export class TestNodes {
  private readonly nodes: Array<ServerNode | ClientNode> = []

  async server (init: RendezvousServerInit = {}): Promise<ServerNode> {
    const node = await createServerNode(init)
    this.nodes.push(node)
    return node
  }

  async client (): Promise<ClientNode> {
    const node = await createClientNode()
    this.nodes.push(node)
    return node
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.nodes.splice(0).map(async node => node.stop()))
  }
}

/** The client node's own signed record over its listen addresses (or the given ones) */
export async function ownRecord (client: ClientNode, multiaddrs?: Multiaddr[], seqNumber?: bigint): Promise<Uint8Array<ArrayBuffer>> {
  const privateKey: PrivateKey = (client as any).components.privateKey
  return sealPeerRecord(privateKey, client.peerId, multiaddrs ?? client.getMultiaddrs(), seqNumber) as Promise<Uint8Array<ArrayBuffer>>
}

/** Sends one message on a new stream and reads one reply */
export async function exchange (client: ClientNode, server: ServerNode, request: Message): Promise<Message> {
  const stream = await client.dialProtocol(server.getMultiaddrs(), PROTOCOL)
  const messages = pbStream(stream, { maxDataLength: 4 * 1024 * 1024 }).pb(Message)
  await messages.write(request, { signal: AbortSignal.timeout(5000) })
  const reply = await messages.read({ signal: AbortSignal.timeout(5000) })
  await stream.close()
  return reply
}

export async function register (client: ClientNode, server: ServerNode, ns: string, extra: Partial<Message.Register> = {}): Promise<Message.RegisterResponse> {
  const reply = await exchange(client, server, {
    type: Message.MessageType.REGISTER,
    register: { ns, signedPeerRecord: await ownRecord(client), ...extra }
  })

  if (reply.type !== Message.MessageType.REGISTER_RESPONSE || reply.registerResponse == null) {
    throw new Error(`expected a REGISTER_RESPONSE, got ${reply.type}`)
  }

  return reply.registerResponse
}

export async function discover (client: ClientNode, server: ServerNode, discover: Message.Discover = {}): Promise<Message.DiscoverResponse> {
  const reply = await exchange(client, server, { type: Message.MessageType.DISCOVER, discover })

  if (reply.type !== Message.MessageType.DISCOVER_RESPONSE || reply.discoverResponse == null) {
    throw new Error(`expected a DISCOVER_RESPONSE, got ${reply.type}`)
  }

  return reply.discoverResponse
}

/** UNREGISTER has no reply: write it, close, and wait until the server has closed its side too */
export async function unregister (client: ClientNode, server: ServerNode, ns: string): Promise<void> {
  const stream = await client.dialProtocol(server.getMultiaddrs(), PROTOCOL)
  const messages = pbStream(stream).pb(Message)
  await messages.write({ type: Message.MessageType.UNREGISTER, unregister: { ns } })
  await stream.close()
}
