/**
 * Several requests on one stream: Go's `DiscoverAsync` keeps a stream and sends a DISCOVER on it every two
 * minutes, so the server answers each request until the client closes its side, with an idle timeout between
 * requests and a bound on the requests one stream may send. A client that sends one request sees no change.
 */
import { pbStream } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { createClientNode, createServerNode, ownRecord } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'
import type { Stream } from '@libp2p/interface'
import type { ProtobufMessageStream } from '@libp2p/utils'

const { MessageType, ResponseStatus } = Message

/** Resolves with how the stream ended: `remoteCloseWrite` (the server closed its side) or the stream's status */
async function ending (stream: Stream): Promise<string> {
  return new Promise(resolve => {
    if (stream.remoteWriteStatus !== 'writable') {
      resolve('remoteCloseWrite')
      return
    }

    stream.addEventListener('remoteCloseWrite', () => { resolve('remoteCloseWrite') }, { once: true })
    stream.addEventListener('close', (evt) => { resolve(evt.error != null ? 'reset' : stream.status) }, { once: true })
  })
}

describe('server: several requests on one stream', () => {
  let server: ServerNode
  let client: ClientNode

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
  })

  async function open (): Promise<{ stream: Stream, messages: ProtobufMessageStream<Message, Stream> }> {
    const stream = await client.dialProtocol(server.getMultiaddrs(), PROTOCOL)
    return { stream, messages: pbStream(stream).pb(Message) }
  }

  it('answers REGISTER, DISCOVER, UNREGISTER and DISCOVER on one stream, in order, then closes when the client does', async () => {
    server = await createServerNode()
    client = await createClientNode()
    const { stream, messages } = await open()
    const signal = AbortSignal.timeout(5000)

    await messages.write({ type: MessageType.REGISTER, register: { ns: 'loop', signedPeerRecord: await ownRecord(client) } }, { signal })
    const registered = await messages.read({ signal })
    expect(registered.type).to.equal(MessageType.REGISTER_RESPONSE)
    expect(registered.registerResponse?.status).to.equal(ResponseStatus.OK)

    await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'loop' } }, { signal })
    const found = await messages.read({ signal })
    expect(found.discoverResponse?.registrations).to.have.lengthOf(1)

    // no reply to UNREGISTER: the next reply on the stream is the DISCOVER's, which must see it done
    await messages.write({ type: MessageType.UNREGISTER, unregister: { ns: 'loop' } }, { signal })
    await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'loop' } }, { signal })
    const after = await messages.read({ signal })
    expect(after.type).to.equal(MessageType.DISCOVER_RESPONSE)
    expect(after.discoverResponse?.registrations).to.be.empty()

    const ended = ending(stream)
    await stream.close({ signal })
    expect(await ended).to.equal('remoteCloseWrite')
  })

  it('answers requests the client writes in one go, each in turn', async () => {
    server = await createServerNode()
    client = await createClientNode()
    const { stream, messages } = await open()
    const signal = AbortSignal.timeout(5000)

    await messages.writeV([
      { type: MessageType.DISCOVER, discover: { ns: 'one' } },
      { type: MessageType.DISCOVER, discover: { ns: 'two' } },
      { type: MessageType.DISCOVER, discover: { ns: '\u0007' } }
    ], { signal })
    const replies = [await messages.read({ signal }), await messages.read({ signal }), await messages.read({ signal })]
    await stream.close({ signal })

    expect(replies.map(reply => reply.discoverResponse?.status)).to.deep.equal([ResponseStatus.OK, ResponseStatus.OK, ResponseStatus.E_INVALID_NAMESPACE])
  })

  it('ends the exchange of a client that writes one request and closes its side as before: one reply, then the server closes', async () => {
    server = await createServerNode()
    client = await createClientNode()
    const { stream, messages } = await open()
    const signal = AbortSignal.timeout(5000)

    await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'single' } }, { signal })
    const ended = ending(stream)
    await stream.close({ signal })
    const reply = await messages.read({ signal })

    expect(reply.discoverResponse?.status).to.equal(ResponseStatus.OK)
    expect(await ended).to.equal('remoteCloseWrite')
  })

  it('waits streamIdleTimeout for the next request, then resets the stream', async () => {
    server = await createServerNode({ streamIdleTimeout: 1500 })
    client = await createClientNode()
    const { stream, messages } = await open()
    const signal = AbortSignal.timeout(10_000)

    await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'idle' } }, { signal })
    await messages.read({ signal })

    // idle for less than streamIdleTimeout: still answered
    await new Promise(resolve => setTimeout(resolve, 750))
    await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'idle' } }, { signal })
    expect((await messages.read({ signal })).discoverResponse?.status).to.equal(ResponseStatus.OK)

    // then idle past it: reset
    const started = performance.now()
    expect(await ending(stream)).to.equal('reset')
    expect(performance.now() - started).to.be.at.least(1000)
  })

  it('gives a request that starts after an idle wait `timeout` from its first byte, not the idle timeout', async () => {
    server = await createServerNode({ timeout: 1000, streamIdleTimeout: 60_000 })
    client = await createClientNode()
    const { stream, messages } = await open()
    const signal = AbortSignal.timeout(10_000)

    await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'dribble' } }, { signal })
    await messages.read({ signal })

    // one byte of a length prefix and nothing more: the request's own timeout runs from here
    const ended = ending(stream)
    stream.send(Uint8Array.of(0x20))

    expect(await Promise.race([ended, new Promise(resolve => setTimeout(() => { resolve('still open') }, 5000))])).to.equal('reset')
  })

  it('answers at most maxRequestsPerStream requests on one stream, then closes its side', async () => {
    server = await createServerNode({ maxRequestsPerStream: 3 })
    client = await createClientNode()
    const { stream, messages } = await open()
    const signal = AbortSignal.timeout(5000)
    const ended = ending(stream)

    for (let i = 0; i < 3; i++) {
      await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'bounded' } }, { signal })
      expect((await messages.read({ signal })).discoverResponse?.status).to.equal(ResponseStatus.OK)
    }

    expect(await ended).to.equal('remoteCloseWrite')
    await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'bounded' } }, { signal }).catch(() => {})
    await expect(messages.read({ signal })).to.eventually.be.rejected()
    await stream.close({ signal }).catch(() => {})
  })

  it('refuses a streamIdleTimeout or maxRequestsPerStream that is not a positive integer', async () => {
    await expect(createServerNode({ streamIdleTimeout: 0 })).to.eventually.be.rejectedWith(/streamIdleTimeout/)
    await expect(createServerNode({ maxRequestsPerStream: 1.5 })).to.eventually.be.rejectedWith(/maxRequestsPerStream/)
  })
})
