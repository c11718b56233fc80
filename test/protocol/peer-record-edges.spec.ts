/**
 * The edges of signed peer records that the property specs (peer-record.spec.ts) do not reach: envelopes that are
 * signed but carry something other than a peer record, the exact places where `comparableSeq` changes unit, and the
 * addresses a record keeps.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { InvalidPeerRecordError } from '../../src/errors.ts'
import { addressForRecord, comparableSeq, openPeerRecord, peerRecordFormatOf } from '../../src/protocol/peer-record.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** An envelope signed by `privateKey` over any payload type, domain and payload */
async function sealed (privateKey: PrivateKey, domain: string, codec: Uint8Array, payload: Uint8Array): Promise<Uint8Array> {
  const envelope = await RecordEnvelope.seal({ domain, codec, marshal: () => payload, equals: () => false }, privateKey)
  return envelope.marshal()
}

describe('signed peer records: edges', () => {
  let privateKey: PrivateKey
  let peerId: PeerId

  beforeEach(async () => {
    privateKey = await generateKeyPair('Ed25519')
    peerId = peerIdFromPrivateKey(privateKey)
  })

  it('refuses a validly signed envelope whose payload type is neither a standard nor a legacy peer record, and names no format for it', async () => {
    const payload = new PeerRecord({ peerId, multiaddrs: [multiaddr('/ip4/192.0.2.1/tcp/4001')] }).marshal()
    const other = await sealed(privateKey, PeerRecord.DOMAIN, new TextEncoder().encode('/libp2p/some-other-record'), payload)

    await expect(openPeerRecord(other)).to.eventually.be.rejectedWith(InvalidPeerRecordError, /does not carry a peer record/)
    expect(peerRecordFormatOf(other)).to.be.undefined()
  })

  it('refuses a validly signed peer record envelope whose payload is not a PeerRecord', async () => {
    const garbage = await sealed(privateKey, PeerRecord.DOMAIN, PeerRecord.CODEC, new Uint8Array([0xff, 0xff, 0xff]))

    await expect(openPeerRecord(garbage)).to.eventually.be.rejectedWith(InvalidPeerRecordError, /peer record does not parse/)
  })

  it('refuses bytes that are no envelope, saying so', async () => {
    await expect(openPeerRecord(new Uint8Array([0xff, 0xff, 0xff]))).to.eventually.be.rejectedWith(InvalidPeerRecordError, /signed peer record does not open/)
  })

  it('changes unit exactly at 1e11 (seconds below), 1e14 (milliseconds below) and 1e17 (microseconds below)', () => {
    expect(comparableSeq(0n)).to.equal(0n)
    expect(comparableSeq(99_999_999_999n)).to.equal(99_999_999_999_000n)
    expect(comparableSeq(100_000_000_000n)).to.equal(100_000_000_000n)
    expect(comparableSeq(99_999_999_999_999n)).to.equal(99_999_999_999_999n)
    expect(comparableSeq(100_000_000_000_000n)).to.equal(100_000_000_000n)
    expect(comparableSeq(99_999_999_999_999_999n)).to.equal(99_999_999_999_999n)
    expect(comparableSeq(100_000_000_000_000_000n)).to.equal(100_000_000_000n)
  })

  it('strips only a trailing /p2p/ from an address, and keeps an empty one as it is', () => {
    const id = peerId.toString()
    expect(addressForRecord(multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${id}`)).toString()).to.equal('/ip4/192.0.2.1/tcp/4001')
    expect(addressForRecord(multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${id}/p2p-circuit`)).toString()).to.equal(`/ip4/192.0.2.1/tcp/4001/p2p/${id}/p2p-circuit`)
    expect(addressForRecord(multiaddr('/')).toString()).to.equal('/')
  })
})
