/**
 * Signed peer records (RFC 0002 envelope around an RFC 0003 PeerRecord), sealed and checked the way Go, JS and
 * Nim do it: domain `libp2p-peer-record`, payload type 0x0301.
 */
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { CODE_P2P } from '@multiformats/multiaddr'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { InvalidPeerRecordError } from '../errors.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What a checked record says */
export interface VerifiedPeerRecord {
  /** The peer that signed the record, which is also the peer the record is about */
  peerId: PeerId
  multiaddrs: Multiaddr[]
  /** The record's sequence number: compare it only between records of the same peer (JS uses ms, Rust seconds) */
  seqNumber: bigint
  /** The envelope as received, to store or pass on */
  envelope: Uint8Array
}

/**
 * Seals a record of `multiaddrs` for the key's peer. `/p2p/<self>` is stripped from each address, as identify
 * does, since the record already names the peer.
 */
export async function sealPeerRecord (privateKey: PrivateKey, peerId: PeerId, multiaddrs: Multiaddr[], seqNumber?: bigint): Promise<Uint8Array> {
  const record = new PeerRecord({
    peerId,
    multiaddrs: multiaddrs.map(ma => ma.decapsulateCode(CODE_P2P)),
    seqNumber
  })
  const envelope = await RecordEnvelope.seal(record, privateKey)
  return envelope.marshal()
}

/**
 * Opens an envelope and checks everything `RecordEnvelope.openAndCertify` leaves out: the payload type and
 * that the signer is the peer the record is about. Throws {@link InvalidPeerRecordError} with the reason.
 */
export async function openPeerRecord (envelope: Uint8Array): Promise<VerifiedPeerRecord> {
  let opened: RecordEnvelope
  try {
    opened = await RecordEnvelope.openAndCertify(envelope, PeerRecord.DOMAIN)
  } catch (err: any) {
    throw new InvalidPeerRecordError(`signed peer record does not open: ${err.message ?? err}`)
  }

  if (!uint8ArrayEquals(opened.payloadType, PeerRecord.CODEC)) {
    throw new InvalidPeerRecordError('signed envelope does not carry a peer record (payload type is not 0x0301)')
  }

  let record: PeerRecord
  try {
    record = PeerRecord.createFromProtobuf(opened.payload)
  } catch (err: any) {
    throw new InvalidPeerRecordError(`peer record does not parse: ${err.message ?? err}`)
  }

  const signer = peerIdFromPublicKey(opened.publicKey)

  if (!signer.equals(record.peerId)) {
    throw new InvalidPeerRecordError(`peer record for ${record.peerId} is signed by ${signer}`)
  }

  return {
    peerId: signer,
    multiaddrs: record.multiaddrs,
    seqNumber: record.seqNumber,
    envelope
  }
}
