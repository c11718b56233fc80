/**
 * The bytes of DISCOVER replies written and not yet taken by their peers are bounded, per peer
 * (`maxReplyBytesPerPeer`) and in all (`maxReplyBytes`): a reply past either is answered E_UNAVAILABLE, and a reader
 * that stops reading gives its bytes back when its stream's deadline resets it. Before the budget, replies that
 * nobody read held +508 MiB for 512 streams.
 *
 * The stalled readers are real libp2p streams whose reader stops (`stream.pause()`: yamux sends no more window
 * updates), asking for pages of ~400 KB, more than yamux's 256 KiB window lets through.
 */
import { lpStream, pbStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { resolveServerConfig } from '../../src/server/config.ts'
import { MemoryRegistrationStore } from '../../src/server/index.ts'
import { createTestNode } from '../fixtures/memory-node.ts'
import { discover, TestNodes } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'
import type { RendezvousServerInit } from '../../src/server/index.ts'
import type { Stream } from '@libp2p/interface'

const { MessageType, ResponseStatus } = Message

const MiB = 1024 * 1024
/** yamux's initial stream window */
const WINDOW = 256 * 1024
/** Registrations of ~4 KB each in `big`: a page of 100 is ~400 KB */
const BIG_RECORD = 4000
const PAGE = 100

/**
 * A client whose yamux never grows a stream's receive window past the spec's initial 256 KiB (yamux grows it on a
 * fast link, up to 16 MiB): a stream it pauses lets through at most 256 KiB of a reply
 */
async function stallingClient (nodes: ClientNode[]): Promise<ClientNode> {
  const node = await createTestNode({
    label: 'stalling',
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: WINDOW } })]
  }) as unknown as ClientNode
  nodes.push(node)
  return node
}

/** What the server has charged now, in all and to one peer */
function charged (point: ServerNode, peer?: ClientNode): number {
  const replies = (point.services.rendezvous as any).replies
  return peer == null ? replies.bytes : replies.bytesOf(peer.peerId.toString())
}

async function fill (store: MemoryRegistrationStore): Promise<void> {
  const now = Date.now()
  const limits = { maxRegistrationsPerPeer: 10, maxRegistrationsTotal: 1_000_000 }

  for (let i = 0; i < PAGE; i++) {
    await store.register({ peerId: `big-${i}`, namespace: 'big', signedPeerRecord: new Uint8Array(BIG_RECORD).fill(i), format: 'standard', recordSeq: 1n, expiresAt: now + 3_600_000 }, limits, now)
  }

  await store.register({ peerId: 'small', namespace: 'small', signedPeerRecord: new Uint8Array(100), format: 'standard', recordSeq: 1n, expiresAt: now + 3_600_000 }, limits, now)
}

/** A DISCOVER of a full `big` page on a stream whose reader never reads: its reply stays partly unsent */
async function stalledDiscover (client: ClientNode, point: ServerNode, streams: Stream[]): Promise<void> {
  const before = charged(point)
  const stream = await client.dialProtocol(point.getMultiaddrs(), PROTOCOL)
  streams.push(stream)
  // no window updates from here on: the server can send 256 KiB, then its reply waits in its stream
  stream.pause()
  const request = Message.encode({ type: MessageType.DISCOVER, discover: { ns: 'big', limit: BigInt(PAGE) } })
  void lpStream(stream).write(request).catch(() => {})
  await pWaitFor(() => charged(point) > before, { timeout: 5000 })
}

describe('server: bytes of replies not yet taken', function () {
  this.timeout(30_000)

  const nodes = new TestNodes()
  const stalling: ClientNode[] = []
  const streams: Stream[] = []

  afterEach(async () => {
    streams.splice(0).forEach(stream => { stream.abort(new Error('test over')) })
    await Promise.all(stalling.splice(0).map(async node => node.stop()))
    await nodes.stopAll()
  })

  async function point (init: RendezvousServerInit): Promise<ServerNode> {
    const store = new MemoryRegistrationStore()
    await fill(store)
    return nodes.server({ store, timeout: 2000, ...init })
  }

  it('answers E_UNAVAILABLE to a peer whose unread replies would pass maxReplyBytesPerPeer, serves others, and gives the bytes back when the stalled writes time out', async () => {
    const server = await point({ maxReplyBytesPerPeer: MiB })
    const staller = await stallingClient(stalling)
    const other = await nodes.client()

    await stalledDiscover(staller, server, streams)
    await stalledDiscover(staller, server, streams)
    const held = charged(server, staller)
    expect(held).to.be.above(2 * PAGE * BIG_RECORD).and.at.most(MiB)

    // a third page would take it past its budget: refused, whatever stream it comes on
    const refused = await discover(staller, server, { ns: 'big', limit: BigInt(PAGE) })
    expect(refused.status).to.equal(ResponseStatus.E_UNAVAILABLE)
    expect(refused.statusText).to.match(/unread/)
    expect(refused.registrations).to.be.empty()
    // a small page still fits, and another peer is not affected
    expect((await discover(staller, server, { ns: 'small' })).status).to.equal(ResponseStatus.OK)
    expect((await discover(other, server, { ns: 'big', limit: BigInt(PAGE) })).registrations).to.have.lengthOf(PAGE)

    // the stalled streams are reset at their deadline, which gives their bytes back
    await pWaitFor(() => charged(server) === 0, { timeout: 10_000 })
    expect(streams.every(stream => stream.status !== 'open')).to.be.true()
    expect((await discover(staller, server, { ns: 'big', limit: BigInt(PAGE) })).registrations).to.have.lengthOf(PAGE)
  })

  it('answers E_UNAVAILABLE to everyone whose reply would pass maxReplyBytes, while stalled readers hold it', async () => {
    const server = await point({ maxReplyBytes: MiB, maxReplyBytesPerPeer: MiB })
    const staller = await stallingClient(stalling)
    const honest = await nodes.client()

    await stalledDiscover(staller, server, streams)
    await stalledDiscover(staller, server, streams)

    const refused = await discover(honest, server, { ns: 'big', limit: BigInt(PAGE) })
    expect(refused.status).to.equal(ResponseStatus.E_UNAVAILABLE)
    expect(refused.statusText).to.match(/busy/)
    // what fits still goes out: the budget counts bytes, not requests
    expect((await discover(honest, server, { ns: 'small' })).status).to.equal(ResponseStatus.OK)
    expect(charged(server)).to.be.at.most(MiB)

    await pWaitFor(() => charged(server) === 0, { timeout: 10_000 })
    expect((await discover(honest, server, { ns: 'big', limit: BigInt(PAGE) })).registrations).to.have.lengthOf(PAGE)
  })

  it('counts a reply until it is taken, not only until it is written: a reader that reads late gets it all and gives the bytes back', async () => {
    const server = await point({})
    const reader = await stallingClient(stalling)
    const stream = await reader.dialProtocol(server.getMultiaddrs(), PROTOCOL)
    streams.push(stream)
    stream.pause()
    const messages = pbStream(stream, { maxDataLength: 4 * MiB }).pb(Message)
    await messages.write({ type: MessageType.DISCOVER, discover: { ns: 'big', limit: BigInt(PAGE) } })
    await pWaitFor(() => charged(server, reader) > 0, { timeout: 5000 })
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(charged(server, reader), 'still charged while the reader does not read').to.be.above(PAGE * BIG_RECORD)

    stream.resume()
    const reply = await messages.read({ signal: AbortSignal.timeout(5000) })
    expect(reply.discoverResponse?.registrations).to.have.lengthOf(PAGE)
    await pWaitFor(() => charged(server) === 0, { timeout: 5000 })
  })

  it('refuses budgets that cannot carry a full page, and raises unset ones to a larger maxResponseSize', () => {
    expect(() => resolveServerConfig({ maxReplyBytesPerPeer: MiB - 1 })).to.throw('option maxReplyBytesPerPeer must be at least maxResponseSize (1048576), or a full page could never be sent, got 1048575')
    expect(() => resolveServerConfig({ maxReplyBytes: 2 * MiB, maxReplyBytesPerPeer: 3 * MiB })).to.throw('option maxReplyBytes must be at least maxReplyBytesPerPeer (3145728), got 2097152')
    const raised = resolveServerConfig({ maxResponseSize: 8 * MiB })
    expect(raised.maxReplyBytesPerPeer).to.equal(8 * MiB)
    expect(raised.maxReplyBytes).to.equal(64 * MiB)
  })
})
