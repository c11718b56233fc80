import { pbStream } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { createClientNode, createServerNode, discover, register } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'
import type { Stream } from '@libp2p/interface'

const { ResponseStatus, MessageType } = Message

/** What became of a stream we wrote raw bytes into: the bytes that came back, and how it ended */
async function outcome (stream: Stream, timeoutMs = 5000): Promise<{ bytes: number, status: string }> {
  let bytes = 0
  const done = (async () => {
    try {
      for await (const chunk of stream) {
        bytes += chunk.byteLength
      }
    } catch {
      // a reset ends the iteration with an error; how it ended is read from stream.status below
    }
  })()
  await Promise.race([done, new Promise(resolve => setTimeout(resolve, timeoutMs))])
  return { bytes, status: stream.status }
}

describe('server: hostile input', () => {
  let server: ServerNode
  let attacker: ClientNode
  let honest: ClientNode
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown): void => { unhandled.push(err) }

  before(() => {
    process.on('unhandledRejection', onUnhandled)
  })

  after(() => {
    process.off('unhandledRejection', onUnhandled)
  })

  beforeEach(async () => {
    server = await createServerNode({ timeout: 1000, maxInboundStreams: 1024 })
    attacker = await createClientNode()
    honest = await createClientNode()
  })

  afterEach(async () => {
    await attacker?.stop()
    await honest?.stop()
    await server?.stop()
    expect(unhandled).to.be.empty()
  })

  async function rawStream (): Promise<Stream> {
    return attacker.dialProtocol(server.getMultiaddrs(), PROTOCOL)
  }

  it('ends a stream of random bytes without a reply and keeps serving', async () => {
    for (let i = 0; i < 20; i++) {
      const stream = await rawStream()
      stream.send(crypto.getRandomValues(new Uint8Array(1 + Math.floor(Math.random() * 200))))
      await stream.close().catch(() => {})
      const result = await outcome(stream)
      expect(result.status).to.not.equal('open')
    }

    expect((await register(honest, server, 'ns')).status).to.equal(ResponseStatus.OK)
  })

  it('ends a stream whose frame is cut short when the writer closes', async () => {
    const frame = Message.encode({ type: MessageType.DISCOVER, discover: { ns: 'ns' } })
    const stream = await rawStream()
    // the length prefix says 8 more bytes than are sent
    stream.send(Uint8Array.from([frame.byteLength + 8, ...frame]))
    await stream.close()
    const result = await outcome(stream)
    expect(result.bytes).to.equal(0)
    expect(result.status).to.not.equal('open')
  })

  it('ends a stream whose length prefix is a varint longer than any message could be', async () => {
    const stream = await rawStream()
    stream.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))
    const result = await outcome(stream)
    expect(result.bytes).to.equal(0)
    expect(result.status).to.not.equal('open')
  })

  it('closes without a reply when a response type is sent as a request', async () => {
    for (const type of [MessageType.REGISTER_RESPONSE, MessageType.DISCOVER_RESPONSE]) {
      const stream = await rawStream()
      const frame = Message.encode({ type, registerResponse: { status: ResponseStatus.OK } })
      stream.send(Uint8Array.from([frame.byteLength, ...frame]))
      const result = await outcome(stream)
      expect(result.bytes).to.equal(0)
    }
    expect((await discover(honest, server, { ns: 'ns' })).status).to.equal(ResponseStatus.OK)
  })

  it('answers a REGISTER or DISCOVER whose body is missing with a status', async () => {
    const { exchange } = await import('./fixtures.ts')
    const registerReply = await exchange(attacker, server, { type: MessageType.REGISTER })
    expect(registerReply.registerResponse?.status).to.equal(ResponseStatus.E_INVALID_NAMESPACE)
    const discoverReply = await exchange(attacker, server, { type: MessageType.DISCOVER })
    // no body is a DISCOVER of every namespace
    expect(discoverReply.discoverResponse?.status).to.equal(ResponseStatus.OK)
  })

  it('answers or closes every one of a thousand streams opened at once, and keeps serving', async function () {
    this.timeout(60_000)
    const clients = [attacker, ...await Promise.all(Array.from({ length: 9 }, async () => createClientNode()))]
    const request = Message.encode({ type: MessageType.DISCOVER, discover: { ns: 'flood', limit: 1n } })
    const frame = Uint8Array.from([request.byteLength, ...request])

    try {
      const results = await Promise.all(Array.from({ length: 1000 }, async (_, i) => {
        try {
          const stream = await clients[i % clients.length].dialProtocol(server.getMultiaddrs(), PROTOCOL)
          stream.send(frame)
          await stream.close().catch(() => {})
          return (await outcome(stream, 20_000)).status
        } catch (err: any) {
          return err.name as string
        }
      }))

      expect(results.filter(status => status === 'open')).to.be.empty()
      expect(results.filter(status => status === 'closed').length).to.be.above(0)
      expect((await register(honest, server, 'after-flood')).status).to.equal(ResponseStatus.OK)
    } finally {
      await Promise.all(clients.slice(1).map(async c => c.stop()))
    }
  })

  it('resets streams beyond maxInboundStreams on one connection while the first ones are served', async () => {
    // a request timeout far beyond the wait for the resets below: only the stream limit can end a stream in time
    const small = await createServerNode({ maxInboundStreams: 2, timeout: 20_000, streamIdleTimeout: 20_000 })
    const addresses = small.getMultiaddrs()

    try {
      // the first two, one after the other on one connection, held open without a request
      const first = [await attacker.dialProtocol(addresses, PROTOCOL), await attacker.dialProtocol(addresses, PROTOCOL)]
      expect(attacker.getConnections(small.peerId)).to.have.lengthOf(1)

      // two more on the same connection while those are open
      const extra = await Promise.all(Array.from({ length: 2 }, async () => attacker.dialProtocol(addresses, PROTOCOL).catch(err => err)))
      const ended = await Promise.all(extra.map(async s => s instanceof Error ? `refused (${s.name})` : (await outcome(s, 3000)).status))
      const still = ended.filter(s => s !== 'reset' && s !== 'aborted' && !s.startsWith('refused'))
      expect(still, `streams beyond maxInboundStreams (2) were not reset within 3 s (server timeout 20 s): ${ended.join(', ')}`).to.be.empty()

      // the first ones were kept through it, and each is served
      for (const stream of first) {
        expect(stream.status, 'a stream within maxInboundStreams was ended').to.equal('open')
        const messages = pbStream(stream).pb(Message)
        await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'ns' } }, { signal: AbortSignal.timeout(5000) })
        const reply = await messages.read({ signal: AbortSignal.timeout(5000) })
        expect(reply.discoverResponse?.status, 'a stream within maxInboundStreams was not answered').to.equal(ResponseStatus.OK)
        await stream.close()
      }
    } finally {
      await small.stop()
    }
  })
})
