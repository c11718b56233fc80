/**
 * Signed peer records (RFC 0002 envelope around an RFC 0003 PeerRecord) in both formats in use:
 *
 * `standard`: domain `libp2p-peer-record`, payload type 0x0301, as Go, JS and Nim seal and open them.
 *
 * `legacy`: domain `libp2p-routing-state`, payload type the UTF-8 bytes of `/libp2p/routing-state-record`, as RFC
 * 0003 first wrote them and as rust-libp2p's rendezvous (`PeerRecord::new`, `from_signed_envelope`) still seals and
 * opens them, and nothing else.
 *
 * The payload (the PeerRecord protobuf) is the same in both. The envelope names its payload type, which says which
 * domain its signature must verify under, so opening costs one signature check whatever the format.
 */
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { InvalidPeerRecordError } from '../errors.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The two ways a signed peer record is sealed: `standard` (domain `libp2p-peer-record`, payload type 0x0301: Go, JS,
 * Nim) and `legacy` (domain `libp2p-routing-state`, payload type `/libp2p/routing-state-record`: rust-libp2p's
 * rendezvous). A store keeps each registration's format, so that a requester that reads only one gets only those.
 */
export type PeerRecordFormat = 'standard' | 'legacy'

const LEGACY_DOMAIN = 'libp2p-routing-state'
const LEGACY_CODEC = uint8ArrayFromString('/libp2p/routing-state-record')

const FORMATS: Record<PeerRecordFormat, { domain: string, codec: Uint8Array }> = {
  standard: { domain: PeerRecord.DOMAIN, codec: PeerRecord.CODEC },
  legacy: { domain: LEGACY_DOMAIN, codec: LEGACY_CODEC }
}

/** The format an envelope's payload type names, or `undefined` when it is not a peer record at all */
function formatOfPayloadType (payloadType: Uint8Array): PeerRecordFormat | undefined {
  if (uint8ArrayEquals(payloadType, PeerRecord.CODEC)) {
    return 'standard'
  }

  if (uint8ArrayEquals(payloadType, LEGACY_CODEC)) {
    return 'legacy'
  }

  return undefined
}

/**
 * The format of a sealed record, read from its payload type without checking the signature: for records already
 * checked (a server deciding what a requester can parse), never to trust a record.
 */
export function peerRecordFormatOf (envelope: Uint8Array): PeerRecordFormat | undefined {
  try {
    return formatOfPayloadType(RecordEnvelope.createFromProtobuf(envelope).payloadType)
  } catch {
    return undefined
  }
}

/**
 * A record's `seq` on one scale, milliseconds, so that records of one peer can be ordered whichever implementation
 * sealed them: js-libp2p counts milliseconds, rust-libp2p, go-libp2p-rendezvous and Nim seconds, go-libp2p's own
 * records nanoseconds. Compared raw, a peer whose identity moves from JS to Rust would have every record refused
 * as "older" until the JS one expired. Values are placed by magnitude: below 1e11 are seconds (until the year
 * 5138), below 1e14 milliseconds, below 1e17 microseconds, the rest nanoseconds. Finer units are cut to the
 * millisecond, so two records of one millisecond compare equal, which a store takes as a refresh; every result is
 * below 1e14, well within uint64. A small counter reads as seconds, which keeps its own order.
 */
export function comparableSeq (seq: bigint): bigint {
  if (seq < 100_000_000_000n) {
    return seq * 1_000n
  }

  if (seq < 100_000_000_000_000n) {
    return seq
  }

  if (seq < 100_000_000_000_000_000n) {
    return seq / 1_000n
  }

  return seq / 1_000_000n
}

/** What a checked record says */
export interface VerifiedPeerRecord {
  /** The peer that signed the record, which is also the peer the record is about */
  peerId: PeerId
  multiaddrs: Multiaddr[]
  /** The record's sequence number: compare it only between records of the same peer (JS uses ms, Rust seconds) */
  seqNumber: bigint
  /** The envelope as received, to store or pass on */
  envelope: Uint8Array
  /** How it was sealed */
  format: PeerRecordFormat
}

/**
 * The address as a record holds it: without a trailing `/p2p/<id>`, since the record already names the peer. Only
 * a trailing one: in `/…/p2p/<relay>/p2p-circuit` the `/p2p/` names the relay and stays.
 */
export function addressForRecord (ma: Multiaddr): Multiaddr {
  const components = ma.getComponents()

  if (components.length > 0 && components[components.length - 1].code === CODE_P2P) {
    return multiaddr(components.slice(0, -1))
  }

  return ma
}

/**
 * Seals a record of `multiaddrs` for the key's peer, in the standard format unless `legacy` is asked for (what a
 * rust-libp2p rendezvous point can open). `/p2p/<self>` is stripped from each address, as identify does, since
 * the record already names the peer.
 */
export async function sealPeerRecord (privateKey: PrivateKey, peerId: PeerId, multiaddrs: Multiaddr[], seqNumber?: bigint, format: PeerRecordFormat = 'standard'): Promise<Uint8Array> {
  const record = new PeerRecord({
    peerId,
    multiaddrs: multiaddrs.map(addressForRecord),
    seqNumber
  })

  if (format === 'legacy') {
    // the same payload under the legacy domain and payload type: RecordEnvelope.seal reads both from the record
    const legacy = { domain: LEGACY_DOMAIN, codec: LEGACY_CODEC, marshal: () => record.marshal(), equals: (other: unknown) => record.equals(other) }
    return (await RecordEnvelope.seal(legacy, privateKey)).marshal()
  }

  return (await RecordEnvelope.seal(record, privateKey)).marshal()
}

/**
 * Opens an envelope of either format and checks everything `RecordEnvelope.openAndCertify` leaves out: that the
 * payload type is a peer record's, that the signature holds under that format's domain, and that the signer is the
 * peer the record is about. Throws {@link InvalidPeerRecordError} with the reason.
 */
export async function openPeerRecord (envelope: Uint8Array): Promise<VerifiedPeerRecord> {
  let opened: RecordEnvelope
  try {
    opened = RecordEnvelope.createFromProtobuf(envelope)
  } catch (err: any) {
    throw new InvalidPeerRecordError(`signed peer record does not open: ${err.message ?? err}`)
  }

  // the payload type is covered by the signature, so it may pick the domain the signature must verify under
  const format = formatOfPayloadType(opened.payloadType)

  if (format == null) {
    throw new InvalidPeerRecordError('signed envelope does not carry a peer record (payload type is neither 0x0301 nor /libp2p/routing-state-record)')
  }

  let valid: boolean
  try {
    valid = await opened.validate(FORMATS[format].domain)
  } catch (err: any) {
    throw new InvalidPeerRecordError(`signed peer record does not open: ${err.message ?? err}`)
  }

  if (!valid) {
    throw new InvalidPeerRecordError(`signed peer record does not open: the signature is not valid for the domain ${FORMATS[format].domain}`)
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
    envelope,
    format
  }
}
