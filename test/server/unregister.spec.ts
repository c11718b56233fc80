import { pbStream } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import pRetry from 'p-retry'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { createClientNode, createServerNode, discover, register, unregister } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'

describe('server: UNREGISTER', () => {
  let server: ServerNode
  let client: ClientNode
  let other: ClientNode

  beforeEach(async () => {
    server = await createServerNode()
    client = await createClientNode()
    other = await createClientNode()
  })

  afterEach(async () => {
    await client?.stop()
    await other?.stop()
    await server?.stop()
  })

  async function registrationsIn (ns: string): Promise<number> {
    return (await discover(other, server, { ns })).registrations.length
  }

  it('removes the registration, in that namespace only', async () => {
    await register(client, server, 'a')
    await register(client, server, 'b')
    await unregister(client, server, 'a')

    await pRetry(async () => { expect(await registrationsIn('a')).to.equal(0) }, { retries: 20, minTimeout: 20, maxTimeout: 20 })
    expect(await registrationsIn('b')).to.equal(1)
  })

  it('sends no reply: the server closes the stream without writing anything', async () => {
    await register(client, server, 'a')
    const stream = await client.dialProtocol(server.getMultiaddrs(), PROTOCOL)
    await pbStream(stream).pb(Message).write({ type: Message.MessageType.UNREGISTER, unregister: { ns: 'a' } })
    await stream.close()

    const received: Uint8Array[] = []
    for await (const chunk of stream) {
      received.push(chunk.subarray())
    }
    expect(received).to.be.empty()
  })

  it('is a no-op for a namespace the peer is not registered in', async () => {
    await register(client, server, 'a')
    await unregister(client, server, 'never-registered')
    await unregister(other, server, 'a')
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(await registrationsIn('a')).to.equal(1)
  })

  it('only removes the registration of the peer that sent it, whatever legacy id it names', async () => {
    await register(client, server, 'a')
    const stream = await other.dialProtocol(server.getMultiaddrs(), PROTOCOL)
    await pbStream(stream).pb(Message).write({ type: Message.MessageType.UNREGISTER, unregister: { ns: 'a', id: client.peerId.toMultihash().bytes } })
    await stream.close()
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(await registrationsIn('a')).to.equal(1)
  })
})
