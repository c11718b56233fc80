/**
 * Who the simulated nodes are: a peer id and, per set of addresses, a signed peer record in the standard format.
 *
 * Keys are not generated and records are not signed: an Ed25519 key pair and a signature cost ~1 ms here, which
 * for the 130,000 identities of a 100k run would be minutes of nothing but key generation. A peer id is made from
 * 32 seeded random bytes taken as an Ed25519 public key, and the record's envelope carries a placeholder
 * signature; the envelope is otherwise the real encoding (the same bytes and size as a signed one). The points'
 * record check is replaced by a lookup of what it would say ({@link TrustedRecords}); what the check costs a
 * server is measured by the server benchmarks, not here.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import type { VerifiedPeerRecord } from '../../../src/protocol/peer-record.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface Identity {
  peerId: PeerId
  /** `peerId.toString()`, computed once */
  id: string
}

/** One sealed record and what a verifier would read from it */
export interface SimRecord {
  envelope: Uint8Array
  verified: VerifiedPeerRecord
}

/** Made-up peer ids, each from seeded random bytes */
export function makeIdentity (random: () => number): Identity {
  const key = new Uint8Array(32)

  for (let i = 0; i < key.length; i++) {
    key[i] = Math.floor(random() * 256)
  }

  const peerId = peerIdFromPublicKey(publicKeyFromRaw(key))
  return { peerId, id: peerId.toString() }
}

/** The bytes as a string key, for lookups by content */
function contentKey (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

/**
 * Every record the simulation sealed: what a point's check of an envelope would return (looked up by the very
 * object sent), and whose record a stored copy is (looked up by content, since stores keep copies).
 */
export class TrustedRecords {
  private readonly byObject = new WeakMap<Uint8Array, VerifiedPeerRecord>()
  private readonly byContent = new Map<string, VerifiedPeerRecord>()
  private readonly copies = new WeakMap<Uint8Array, VerifiedPeerRecord>()

  /** A record of `multiaddrs` for `identity`, with sequence number `seq` (ms, as js-libp2p counts) */
  seal (identity: Identity, multiaddrs: Multiaddr[], seq: bigint): SimRecord {
    const record = new PeerRecord({ peerId: identity.peerId, multiaddrs, seqNumber: seq })
    const publicKey = identity.peerId.publicKey

    if (publicKey == null) {
      throw new Error(`identity ${identity.id} has no public key`)
    }

    const envelope = new RecordEnvelope({
      publicKey,
      payloadType: PeerRecord.CODEC,
      payload: record.marshal(),
      signature: new Uint8Array(64)
    }).marshal()
    const verified: VerifiedPeerRecord = { peerId: identity.peerId, multiaddrs, seqNumber: seq, envelope, format: 'standard' }
    this.byObject.set(envelope, verified)
    this.byContent.set(contentKey(envelope), verified)
    return { envelope, verified }
  }

  /** What the points' check says of an envelope the simulation sent; throws, as the check does, for any other */
  async open (envelope: Uint8Array): Promise<VerifiedPeerRecord> {
    const verified = this.byObject.get(envelope)

    if (verified == null) {
      throw new Error('signed peer record does not open: not a record this simulation sealed')
    }

    return { ...verified, envelope }
  }

  /** Whose record `bytes` (a copy a store kept) is */
  lookup (bytes: Uint8Array): VerifiedPeerRecord | undefined {
    let verified = this.copies.get(bytes)

    if (verified == null) {
      verified = this.byContent.get(contentKey(bytes))

      if (verified != null) {
        this.copies.set(bytes, verified)
      }
    }

    return verified
  }

  /** Forgets a record no store can hold any more (its longest TTL has passed) */
  forget (record: SimRecord): void {
    this.byContent.delete(contentKey(record.envelope))
  }
}
