/**
 * The addresses every rendezvous implementation takes in a record. Nim refuses a whole record holding one
 * multiaddr its table lacks (`/webrtc-direct`, `/certhash`, `/webtransport`, `/memory`, …) and reads at most 4096
 * bytes per request; go-libp2p-rendezvous refuses more than 2048 bytes of addresses. A record cut down to the
 * protocols below, within 2048 bytes, is what a client falls back to when a point refuses its full one.
 */
import { addressForRecord } from '../protocol/peer-record.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Protocols every implementation's multiaddr table has: IP and DNS, TCP/UDP, QUIC v1, TLS, WebSockets, relays */
const WIDELY_UNDERSTOOD = new Set([
  'ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr', 'tcp', 'udp', 'quic-v1', 'tls', 'sni', 'ws', 'wss', 'p2p', 'p2p-circuit'
])

/** go-libp2p-rendezvous's bound on the bytes of all addresses of a record (`MaxPeerAddressLength`) */
export const MAX_RECORD_ADDRESS_BYTES = 2048

/**
 * The addresses made only of widely understood protocols, in the order given, as many as fit in `maxBytes`
 * (counted as they are sealed: without the peer's own `/p2p/` suffix).
 */
export function widelyUnderstoodAddresses (multiaddrs: Multiaddr[], maxBytes: number = MAX_RECORD_ADDRESS_BYTES): Multiaddr[] {
  const kept: Multiaddr[] = []
  let bytes = 0

  for (const ma of multiaddrs) {
    const sealed = addressForRecord(ma)

    if (!sealed.getComponents().every(component => WIDELY_UNDERSTOOD.has(component.name))) {
      continue
    }

    if (bytes + sealed.bytes.byteLength > maxBytes) {
      continue
    }

    bytes += sealed.bytes.byteLength
    kept.push(ma)
  }

  return kept
}
