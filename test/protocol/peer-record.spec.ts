import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { InvalidPeerRecordError } from '../../src/errors.ts'
import { comparableSeq, openPeerRecord, peerRecordFormatOf, sealPeerRecord } from '../../src/protocol/peer-record.ts'
import type { VerifiedPeerRecord } from '../../src/protocol/peer-record.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

interface Signer {
  privateKey: PrivateKey
  peerId: PeerId
}

/** Addresses of the shapes nodes announce: IPv4/IPv6 over TCP or QUIC, DNS over WebSockets, in-process memory */
const addressArb = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `/ip4/${ip}/tcp/${port}`),
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `/ip4/${ip}/udp/${port}/quic-v1`),
  fc.integer({ min: 1, max: 65535 }).map(port => `/ip6/::1/tcp/${port}`),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).map(label => `/dns4/${label}.example.com/tcp/443/wss`),
  fc.stringMatching(/^[a-z0-9-]{1,30}$/).map(name => `/memory/${name}`)
)

describe('signed peer records', () => {
  let signers: Signer[]

  before(async () => {
    signers = await Promise.all((['Ed25519', 'secp256k1'] as const).map(async type => {
      const privateKey = await generateKeyPair(type)
      return { privateKey, peerId: peerIdFromPrivateKey(privateKey) }
    }))
  })

  it('open what they sealed, for any set of addresses, with /p2p/<self> stripped', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(0, 1),
      fc.array(fc.tuple(addressArb, fc.boolean()), { maxLength: 8 }),
      fc.bigInt({ min: 1n, max: 2n ** 63n }),
      async (which, addresses, seqNumber) => {
        const { privateKey, peerId } = signers[which]
        const multiaddrs = addresses.map(([address, withSelf]) => multiaddr(withSelf ? `${address}/p2p/${peerId.toString()}` : address))

        const envelope = await sealPeerRecord(privateKey, peerId, multiaddrs, seqNumber)
        const opened = await openPeerRecord(envelope)

        expect(opened.peerId.equals(peerId)).to.be.true()
        expect(opened.seqNumber).to.equal(seqNumber)
        expect(opened.multiaddrs.map(ma => ma.toString())).to.deep.equal(addresses.map(([address]) => multiaddr(address).toString()))
        expect(opened.envelope).to.equalBytes(envelope)
      }
    ), { numRuns: 100 })
  })

  // The signature covers the domain, payload type and payload, not the envelope's protobuf framing, and the
  // protobuf decoder ignores the wire-type bits of a tag: flipping those gives other bytes that decode to the
  // very same signed record. So the property is that no change yields a DIFFERENT record: a changed byte is
  // either refused or decodes to exactly what was signed.
  it('never open a single-byte change of an envelope to a record other than the one signed', async () => {
    const originals = await Promise.all(signers.map(async ({ privateKey, peerId }) => {
      const envelope = await sealPeerRecord(privateKey, peerId, [multiaddr('/ip4/192.0.2.1/tcp/4001'), multiaddr('/dns4/rdv.example.com/tcp/443/wss')])
      return { envelope, record: await openPeerRecord(envelope) }
    }))

    await fc.assert(fc.asyncProperty(
      fc.constantFrom(0, 1),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      async (which, position, mask) => {
        const { envelope, record } = originals[which]
        const tampered = new Uint8Array(envelope)
        tampered[position % tampered.byteLength] ^= mask

        await expectRefusedOrSame(tampered, record)
      }
    ), { numRuns: 300 })
  })

  it('refuse most single-byte changes of one envelope, position by position, and never accept a different record', async () => {
    const { privateKey, peerId } = signers[0]
    const envelope = await sealPeerRecord(privateKey, peerId, [multiaddr('/ip4/192.0.2.1/tcp/4001')])
    const record = await openPeerRecord(envelope)
    let refused = 0

    for (let i = 0; i < envelope.byteLength; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const tampered = new Uint8Array(envelope)
        tampered[i] ^= mask

        if (await expectRefusedOrSame(tampered, record)) {
          refused++
        }
      }
    }

    // only the few tag bytes' wire-type bits can change without effect
    expect(refused).to.be.greaterThan(envelope.byteLength * 3 - 12)
  })

  it('refuse a record signed by a key other than the peer it names', async () => {
    const [alice, bob] = signers
    const { PeerRecord, RecordEnvelope } = await import('@libp2p/peer-record')
    const forged = await RecordEnvelope.seal(new PeerRecord({ peerId: alice.peerId, multiaddrs: [] }), bob.privateKey)

    await expect(openPeerRecord(forged.marshal())).to.eventually.be.rejectedWith(InvalidPeerRecordError, /signed by/)
  })

  it('seal and open the legacy format rust-libp2p uses (domain libp2p-routing-state), and say which format a record is in', async () => {
    const [alice] = signers
    const addresses = [multiaddr('/ip4/192.0.2.1/tcp/4001')]
    const legacy = await sealPeerRecord(alice.privateKey, alice.peerId, addresses, 7n, 'legacy')
    const standard = await sealPeerRecord(alice.privateKey, alice.peerId, addresses, 7n)

    const { RecordEnvelope } = await import('@libp2p/peer-record')
    expect(new TextDecoder().decode(RecordEnvelope.createFromProtobuf(legacy).payloadType)).to.equal('/libp2p/routing-state-record')
    expect(await RecordEnvelope.createFromProtobuf(legacy).validate('libp2p-routing-state')).to.be.true()
    expect(await RecordEnvelope.createFromProtobuf(legacy).validate('libp2p-peer-record')).to.be.false()

    const opened = await openPeerRecord(legacy)
    expect(opened.format).to.equal('legacy')
    expect(opened.peerId.equals(alice.peerId)).to.be.true()
    expect(opened.seqNumber).to.equal(7n)
    expect(opened.multiaddrs.map(ma => ma.toString())).to.deep.equal(['/ip4/192.0.2.1/tcp/4001'])
    expect((await openPeerRecord(standard)).format).to.equal('standard')

    expect(peerRecordFormatOf(legacy)).to.equal('legacy')
    expect(peerRecordFormatOf(standard)).to.equal('standard')
    expect(peerRecordFormatOf(new Uint8Array([1, 2, 3]))).to.be.undefined()
  })

  it('refuse a record whose payload type names one format and whose signature holds under the other\'s domain', async () => {
    const [alice] = signers
    const { PeerRecord, RecordEnvelope } = await import('@libp2p/peer-record')
    const record = new PeerRecord({ peerId: alice.peerId, multiaddrs: [multiaddr('/ip4/192.0.2.1/tcp/4001')] })
    // standard payload type, signed under the legacy domain; and the legacy payload type under the standard domain
    const crossed = [
      await RecordEnvelope.seal({ domain: 'libp2p-routing-state', codec: PeerRecord.CODEC, marshal: () => record.marshal(), equals: () => false }, alice.privateKey),
      await RecordEnvelope.seal({ domain: 'libp2p-peer-record', codec: new TextEncoder().encode('/libp2p/routing-state-record'), marshal: () => record.marshal(), equals: () => false }, alice.privateKey)
    ]

    for (const envelope of crossed) {
      await expect(openPeerRecord(envelope.marshal())).to.eventually.be.rejectedWith(InvalidPeerRecordError, /not valid for the domain/)
    }
  })

  it('put sequence numbers of seconds, milliseconds, microseconds and nanoseconds on one scale (ms), in time order', () => {
    const now = 1_800_000_000_000n // ms
    // js-libp2p: ms; go-libp2p-rendezvous, rust-libp2p, Nim: s; go-libp2p records: ns
    const jsEarlier = comparableSeq(now - 5000n)
    const rustLater = comparableSeq(now / 1000n)
    const goLater = comparableSeq((now + 1n) * 1_000_000n)

    expect(rustLater > jsEarlier).to.be.true()
    expect(goLater > rustLater).to.be.true()
    expect(comparableSeq(now / 1000n - 10n) < comparableSeq(now)).to.be.true()
    expect(comparableSeq(now * 1000n)).to.equal(now)
    expect(comparableSeq(2n ** 64n - 1n)).to.equal((2n ** 64n - 1n) / 1_000_000n)
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (a, b) => {
      // within uint64, as every store's input check wants
      expect(comparableSeq(a) < 10n ** 14n).to.be.true()
      // within one scale, order is kept
      if (a < b && String(a).length === String(b).length) {
        expect(comparableSeq(a) <= comparableSeq(b)).to.be.true()
      }
    }))
  })
})

/** Resolves to true when `envelope` is refused, to false when it opens to exactly `expected`; fails otherwise */
async function expectRefusedOrSame (envelope: Uint8Array, expected: VerifiedPeerRecord): Promise<boolean> {
  let opened: VerifiedPeerRecord

  try {
    opened = await openPeerRecord(envelope)
  } catch (err) {
    expect(err).to.be.an.instanceOf(InvalidPeerRecordError)
    return true
  }

  expect(opened.peerId.equals(expected.peerId)).to.be.true()
  expect(opened.seqNumber).to.equal(expected.seqNumber)
  expect(opened.multiaddrs.map(ma => ma.toString())).to.deep.equal(expected.multiaddrs.map(ma => ma.toString()))

  return false
}
