/**
 * What the client registers with at points that read different records: the format (`peerRecordFormat`: legacy
 * for rust-libp2p points, known from their agent or from standard REGISTERs reset twice and a legacy one taken,
 * remembered per point for a while) and the addresses (only widely understood ones, within 2048 bytes, after a
 * refusal), against scripted points that behave as the Rust, Nim and Go ones do. What a lost REGISTER does at our
 * own point is in record-format-faults.spec.ts.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { widelyUnderstoodAddresses } from '../../src/client/addresses.ts'
import { rendezvousClient } from '../../src/client/index.ts'
import { REMEMBER_FORMAT_MS } from '../../src/client/point-formats.ts'
import { InvalidResponseError } from '../../src/errors.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { openPeerRecord, peerRecordFormatOf } from '../../src/protocol/peer-record.ts'
import { createMemoryNode } from '../fixtures/memory-node.ts'
import { fail, ok, startFakeServer } from './fixtures/fake-server.ts'
import type { FakeServer } from './fixtures/fake-server.ts'
import type { RendezvousClient, RendezvousClientInit } from '../../src/client/index.ts'
import type { Libp2p } from '@libp2p/interface'

const { ResponseStatus } = Message

type ClientNode = Libp2p<{ rendezvous: RendezvousClient }>

/** A rust-libp2p application that set an agent of its own: only the way it fails tells what it reads */
const RUST_APP_AGENT = 'my-rust-app/1.0.0'

/** A point that opens only legacy records and drops the stream of any other, as rust-libp2p's does */
function rustLike (request: Message): ReturnType<FakeServer['script']> {
  return peerRecordFormatOf(request.register?.signedPeerRecord ?? new Uint8Array()) === 'legacy' ? ok.register(7200n) : 'reset'
}

/** The formats of the REGISTERs a fake point received */
function formats (fake: FakeServer): Array<string | undefined> {
  return fake.requests.map(r => peerRecordFormatOf(r.register?.signedPeerRecord ?? new Uint8Array()))
}

describe('client: record format and addresses per point', function () {
  this.timeout(20_000)

  const nodes: Libp2p[] = []

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => n.stop()))
  })

  async function setup (script: FakeServer['script'], init: RendezvousClientInit = {}, pointAgent?: string): Promise<{ client: ClientNode, point: Libp2p, fake: FakeServer }> {
    const point = await createMemoryNode(pointAgent == null ? {} : { nodeInfo: { userAgent: pointAgent } } as any, 'point')
    const client = await createMemoryNode({ services: { rendezvous: rendezvousClient({ timeout: 2000, ...init }) } }, 'client') as unknown as ClientNode
    nodes.push(point, client)
    const fake = await startFakeServer(point, script)
    return { client, point, fake }
  }

  it('registers in the legacy format at a point that resets every standard REGISTER, once that is seen twice, and remembers it for the next REGISTER', async () => {
    const { client, point, fake } = await setup(rustLike, {}, RUST_APP_AGENT)

    expect(await client.services.rendezvous.register(point.getMultiaddrs(), 'a')).to.equal(7200)
    expect(formats(fake)).to.deep.equal(['standard', 'standard', 'legacy'])

    fake.requests = []
    await client.services.rendezvous.register(point.getMultiaddrs(), 'b')
    expect(formats(fake)).to.deep.equal(['legacy'])
  })

  it('checks again what a point reads once REMEMBER_FORMAT_MS has passed', async () => {
    const { client, point, fake } = await setup(rustLike, {}, RUST_APP_AGENT)
    await client.services.rendezvous.register(point.getMultiaddrs(), 'a')

    // only Date moves: quick-lru reads it for the age of what it holds, libp2p keeps its own timers
    const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] })
    try {
      clock.tick(REMEMBER_FORMAT_MS - 1000)
      fake.requests = []
      await client.services.rendezvous.register(point.getMultiaddrs(), 'b')
      expect(formats(fake)).to.deep.equal(['legacy'])

      clock.tick(2000)
      fake.requests = []
      await client.services.rendezvous.register(point.getMultiaddrs(), 'c')
      expect(formats(fake)).to.deep.equal(['standard', 'standard', 'legacy'])
    } finally {
      clock.restore()
    }
  })

  it('forgets a remembered legacy format once the point\'s agent says js-libp2p', async () => {
    let legacyOnly = true
    const { client, point, fake } = await setup(request => legacyOnly ? rustLike(request) : ok.register(7200n), {}, RUST_APP_AGENT)
    await client.services.rendezvous.register(point.getMultiaddrs(), 'a')
    expect(formats(fake)).to.deep.equal(['standard', 'standard', 'legacy'])

    // what identify records when it meets a js-libp2p node there (the same point id serving another program)
    legacyOnly = false
    await client.peerStore.merge(point.peerId, { metadata: { AgentVersion: new TextEncoder().encode('js-libp2p/3.3.11 node/22.23.3') } })
    fake.requests = []
    await client.services.rendezvous.register(point.getMultiaddrs(), 'b')
    expect(formats(fake)).to.deep.equal(['standard'])
  })

  it('never sends legacy to a point whose agent is js-libp2p, however its streams fail', async () => {
    const { client, point, fake } = await setup(rustLike)
    await client.dial(point.getMultiaddrs())
    await new Promise(resolve => setTimeout(resolve, 300))

    await expect(client.services.rendezvous.register(point.getMultiaddrs(), 'a')).to.eventually.be.rejectedWith(InvalidResponseError)
    expect(formats(fake)).to.deep.equal(['standard'])
  })

  it('registers in the legacy format from the start at a point whose identify agent is rust-libp2p', async () => {
    const { client, point, fake } = await setup(rustLike, {}, 'rust-libp2p/0.57.1')
    // identify runs on the connection: let it finish before the first REGISTER
    await client.dial(point.getMultiaddrs())
    await new Promise(resolve => setTimeout(resolve, 300))

    await client.services.rendezvous.register(point.getMultiaddrs(), 'a')
    expect(formats(fake)).to.deep.equal(['legacy'])
  })

  it('keeps to the format it is given: standard never switches, legacy is sent from the start', async () => {
    const standard = await setup(rustLike, { peerRecordFormat: 'standard' })
    await expect(standard.client.services.rendezvous.register(standard.point.getMultiaddrs(), 'a')).to.eventually.be.rejectedWith(InvalidResponseError)
    expect(formats(standard.fake)).to.deep.equal(['standard'])

    const legacy = await setup(rustLike, { peerRecordFormat: 'legacy' })
    await legacy.client.services.rendezvous.register(legacy.point.getMultiaddrs(), 'a')
    expect(formats(legacy.fake)).to.deep.equal(['legacy'])
  })

  it('does not switch a point that took a standard record before to legacy when one REGISTER gets no reply', async () => {
    let drop = false
    const { client, point, fake } = await setup(() => drop ? 'reset' : ok.register(7200n))
    await client.services.rendezvous.register(point.getMultiaddrs(), 'a')

    drop = true
    fake.requests = []
    await expect(client.services.rendezvous.register(point.getMultiaddrs(), 'a')).to.eventually.be.rejectedWith(InvalidResponseError)
    expect(formats(fake)).to.deep.equal(['standard'])
  })

  it('retries once with only widely understood addresses when a point refuses the record, as Nim does for /webrtc-direct, /certhash or /memory', async () => {
    const known = '/ip4/192.0.2.1/tcp/4001'
    // Nim refuses a whole record holding one multiaddr its table lacks
    const nimLike = async (request: Message): Promise<Message> => {
      const record = await openPeerRecord(request.register?.signedPeerRecord ?? new Uint8Array())
      return record.multiaddrs.every(ma => ma.toString() === known) ? ok.register(7200n) : fail.register(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
    }
    const { client, point, fake } = await setup(nimLike)
    const multiaddrs = [
      multiaddr('/ip4/192.0.2.1/udp/4001/webrtc-direct/certhash/uEiAkH5a4DPGKUuOBjYw0CgwjvcJCJMD2K_1JGlT3G-qKUQ'),
      multiaddr(known),
      multiaddr('/memory/in-process')
    ]

    expect(await client.services.rendezvous.register(point.getMultiaddrs(), 'a', { multiaddrs })).to.equal(7200)

    const sent = await Promise.all(fake.requests.map(async r => (await openPeerRecord(r.register?.signedPeerRecord ?? new Uint8Array())).multiaddrs.map(String)))
    expect(sent).to.deep.equal([multiaddrs.map(String), [known]])
  })

  it('gives up after standard twice, legacy and narrowed records all get no reply: four REGISTERs at most', async () => {
    const { client, point, fake } = await setup(() => 'reset', {}, RUST_APP_AGENT)
    const multiaddrs = [multiaddr('/ip4/192.0.2.1/tcp/4001'), multiaddr('/memory/in-process')]

    await expect(client.services.rendezvous.register(point.getMultiaddrs(), 'a', { multiaddrs })).to.eventually.be.rejectedWith(InvalidResponseError)
    expect(formats(fake)).to.deep.equal(['standard', 'standard', 'legacy', 'standard'])
  })

  it('keeps widely understood addresses within the 2048 bytes of addresses a Go point takes, in the order given', () => {
    const long = Array.from({ length: 40 }, (_, i) => multiaddr(`/dns4/${'a'.repeat(50)}-${i}.example.com/tcp/443/wss`))
    const kept = widelyUnderstoodAddresses([
      multiaddr('/ip4/192.0.2.1/udp/4001/quic-v1/webtransport'),
      multiaddr('/ip4/192.0.2.1/udp/4001/quic-v1'),
      multiaddr('/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWBdKitL12SceozBvA8fqd9nCL6jQCLRnTh2VnHnoB11Pu/p2p-circuit'),
      ...long
    ])

    expect(kept[0].toString()).to.equal('/ip4/192.0.2.1/udp/4001/quic-v1')
    expect(kept[1].toString()).to.include('/p2p-circuit')
    expect(kept.reduce((bytes, ma) => bytes + ma.bytes.byteLength, 0)).to.be.at.most(2048)
    expect(kept.length).to.be.below(long.length + 2)
  })

  it('counts an address\'s bytes as sealed, without the peer\'s own /p2p/, and keeps one that fills the bound exactly', () => {
    const first = multiaddr('/ip4/192.0.2.1/tcp/4001')
    const second = multiaddr('/ip4/192.0.2.2/tcp/4001/p2p/12D3KooWBdKitL12SceozBvA8fqd9nCL6jQCLRnTh2VnHnoB11Pu')
    const sealedBytes = first.bytes.byteLength + multiaddr('/ip4/192.0.2.2/tcp/4001').bytes.byteLength

    expect(widelyUnderstoodAddresses([first, second], sealedBytes)).to.deep.equal([first, second])
    expect(widelyUnderstoodAddresses([first, second], sealedBytes - 1)).to.deep.equal([first])
    // one that does not fit is passed over, not the end: a shorter one after it still fits
    expect(widelyUnderstoodAddresses([second, first], first.bytes.byteLength)).to.deep.equal([first])
  })

  it('sends a cookie back byte for byte, whatever it holds (Go\'s end in a SHA-256 that is not UTF-8)', async () => {
    const cookie = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xfe, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80])
    const { client, point, fake } = await setup(() => ok.discover([], cookie))

    await client.services.rendezvous.discover(point.getMultiaddrs(), 'a')
    await client.services.rendezvous.discover(point.getMultiaddrs(), 'a')

    expect([...(fake.requests[1].discover?.cookie ?? [])]).to.deep.equal([...cookie])
  })
})
