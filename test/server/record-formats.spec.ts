/**
 * Both peer record formats at one point: a REGISTER in either is accepted and kept byte for byte; a requester that
 * reads only legacy records (a rust-libp2p client, known from its identify agent or from a legacy registration) is
 * never sent a standard one, which would fail its whole DISCOVER_RESPONSE; everyone else gets both. And the
 * "older record" check does not lock out a peer whose implementation counts `seq` in seconds after one in ms.
 */
import { expect } from 'aegir/chai'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { Message } from '../../src/pb/rendezvous.ts'
import { peerRecordFormatOf, sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { createMemoryNode } from '../fixtures/memory-node.ts'
import { createClientNode, createServerNode, discover, register } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'

const { ResponseStatus } = Message

async function record (client: ClientNode, format: 'standard' | 'legacy', seqNumber?: bigint): Promise<Uint8Array<ArrayBuffer>> {
  return sealPeerRecord((client as any).components.privateKey, client.peerId, client.getMultiaddrs(), seqNumber, format) as Promise<Uint8Array<ArrayBuffer>>
}

/** A client whose identify agent is rust-libp2p's default */
async function rustAgent (): Promise<ClientNode> {
  return createMemoryNode({ nodeInfo: { userAgent: 'rust-libp2p/0.57.1' } } as any, 'rust') as Promise<ClientNode>
}

describe('server: peer record formats', () => {
  let server: ServerNode
  const clients: ClientNode[] = []

  beforeEach(async () => {
    server = await createServerNode()
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async c => c.stop()))
    await server?.stop()
  })

  async function client (): Promise<ClientNode> {
    const node = await createClientNode()
    clients.push(node)
    return node
  }

  /** A standard registrant and a legacy one in `ns`, in that order */
  async function mixed (ns: string): Promise<{ standard: ClientNode, legacy: ClientNode }> {
    const standard = await client()
    const legacy = await client()
    expect((await register(standard, server, ns, { signedPeerRecord: await record(standard, 'standard') })).status).to.equal(ResponseStatus.OK)
    expect((await register(legacy, server, ns, { signedPeerRecord: await record(legacy, 'legacy') })).status).to.equal(ResponseStatus.OK)
    return { standard, legacy }
  }

  it('accepts a REGISTER in the legacy format and hands its bytes out unchanged', async () => {
    const rust = await client()
    const sent = await record(rust, 'legacy')

    expect((await register(rust, server, 'formats', { signedPeerRecord: sent })).status).to.equal(ResponseStatus.OK)

    const reader = await client()
    const [registration] = (await discover(reader, server, { ns: 'formats' })).registrations ?? []
    expect(uint8ArrayEquals(registration.signedPeerRecord ?? new Uint8Array(), sent)).to.be.true()
  })

  it('refuses a legacy record signed by another peer with E_INVALID_SIGNED_PEER_RECORD, as a standard one', async () => {
    const rust = await client()
    const other = await client()
    const forged = await sealPeerRecord((other as any).components.privateKey, rust.peerId, rust.getMultiaddrs(), undefined, 'legacy') as Uint8Array<ArrayBuffer>

    expect((await register(rust, server, 'formats', { signedPeerRecord: forged })).status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
  })

  it('sends both formats to a requester that can read both', async () => {
    await mixed('both')
    const reader = await client()

    expect((await discover(reader, server, { ns: 'both' })).registrations).to.have.lengthOf(2)
  })

  it('sends only legacy records to a peer that registered one, filling the page past the standard ones', async () => {
    const { legacy } = await mixed('rusty')

    // limit 1: the standard record comes first in the store, the page must still carry the legacy one
    const page = await discover(legacy, server, { ns: 'rusty', limit: 1n })
    expect(page.registrations?.map(r => peerRecordFormatOf(r.signedPeerRecord ?? new Uint8Array()))).to.deep.equal(['legacy'])

    // and the cookie goes on from after it: nothing more
    const next = await discover(legacy, server, { ns: 'rusty', limit: 1n, cookie: page.cookie })
    expect(next.registrations).to.be.empty()
  })

  it('sends only legacy records to a requester whose identify agent is rust-libp2p, waiting for identify if it has not finished', async () => {
    await mixed('agent')
    const rust = await rustAgent()
    clients.push(rust)

    const page = await discover(rust, server, { ns: 'agent' })
    expect(page.registrations?.map(r => peerRecordFormatOf(r.signedPeerRecord ?? new Uint8Array()))).to.deep.equal(['legacy'])
  })

  it('lets a peer whose identity moves from JS (seq in ms) to Rust (seq in seconds) register again at once, and still refuses an older record', async () => {
    const peer = await client()
    const nowMs = BigInt(Date.now())

    expect((await register(peer, server, 'seq', { signedPeerRecord: await record(peer, 'standard', nowMs) })).status).to.equal(ResponseStatus.OK)
    // a few seconds later, the same key in a Rust process: seconds, a far smaller number
    expect((await register(peer, server, 'seq', { signedPeerRecord: await record(peer, 'legacy', nowMs / 1000n + 5n) })).status).to.equal(ResponseStatus.OK)
    // a record from before both is still a replay
    const replay = await register(peer, server, 'seq', { signedPeerRecord: await record(peer, 'standard', nowMs - 60_000n) })
    expect(replay.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
  })
})
