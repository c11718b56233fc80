/**
 * Checks the registrations of a DISCOVER_RESPONSE one by one. A rendezvous point is not trusted: each entry must
 * carry a signed peer record that opens, whose signer is the peer it describes, in the namespace asked for. A bad
 * entry is dropped and the rest kept, never the whole response (the Rust client fails whole responses, which
 * makes one bad registrant hide every other peer).
 */
import { DEFAULT_TTL_SECONDS, MAX_DISCOVERED_TTL_SECONDS } from '../constants.ts'
import { openPeerRecord } from '../protocol/peer-record.ts'
import type { DiscoveredRegistration } from './types.ts'
import type { Message } from '../pb/rendezvous.ts'
import type { Namespace } from '../protocol/namespace.ts'
import type { Logger } from '@libp2p/interface'

export interface VerifiedRegistrations {
  registrations: DiscoveredRegistration[]
  dropped: number
}

/**
 * The TTL a client may rely on: absent or 0 (proto3 peers omit 0) is read as the spec's default, anything
 * above the spec's maximum is cut to it, so timers are never built from u64::MAX.
 */
export function discoveredTtl (ttl: bigint | undefined): number {
  if (ttl == null || ttl <= 0n) {
    return DEFAULT_TTL_SECONDS
  }

  return ttl > BigInt(MAX_DISCOVERED_TTL_SECONDS) ? MAX_DISCOVERED_TTL_SECONDS : Number(ttl)
}

async function verifyOne (entry: Message.Register, namespace: Namespace | undefined): Promise<DiscoveredRegistration> {
  // Go sets `ns` only when answering a query for all namespaces, so an empty one is fine
  if (namespace != null && entry.ns != null && entry.ns !== '' && entry.ns !== namespace) {
    throw new Error(`registration is for namespace "${entry.ns}" but "${namespace}" was asked for`)
  }

  if (entry.signedPeerRecord == null || entry.signedPeerRecord.byteLength === 0) {
    throw new Error('registration has no signed peer record')
  }

  // checks the signature, domain, payload type and that the signer is the record's peer
  const record = await openPeerRecord(entry.signedPeerRecord)

  return {
    peerId: record.peerId,
    multiaddrs: record.multiaddrs,
    namespace: namespace ?? entry.ns ?? '',
    ttl: discoveredTtl(entry.ttl),
    seqNumber: record.seqNumber,
    signedPeerRecord: record.envelope
  }
}

/**
 * Verifies every entry; drops and logs the bad ones. When a peer appears more than once for the same namespace,
 * only the record with the highest sequence number is kept.
 */
export async function verifyRegistrations (entries: Message.Register[], namespace: Namespace | undefined, log: Logger, pointId: string): Promise<VerifiedRegistrations> {
  const outcomes = await Promise.all(entries.map(async entry => verifyOne(entry, namespace).then(
    registration => ({ registration }),
    (error: Error) => ({ error })
  )))

  const kept = new Map<string, DiscoveredRegistration>()
  let dropped = 0

  outcomes.forEach((outcome, index) => {
    if ('error' in outcome) {
      dropped++
      log('dropped registration %d from %s: %s', index, pointId, outcome.error.message)
      return
    }

    const registration = outcome.registration
    const key = `${registration.peerId.toString()}\u0000${registration.namespace}`
    const previous = kept.get(key)

    if (previous == null || previous.seqNumber < registration.seqNumber) {
      kept.set(key, registration)
    }
  })

  return { registrations: [...kept.values()], dropped }
}
