/**
 * Peer ids for unit tests: the same ones in every run (keys from fixed seeds), so that what depends on their
 * order (hash rings, XOR distances) repeats, made once, since key generation is the slow part of a unit test.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const made: PeerId[] = []

/** `count` distinct peer ids, the same ones on every call within a test run */
export async function peerIds (count: number): Promise<PeerId[]> {
  while (made.length < count) {
    const seed = new Uint8Array(32)
    new DataView(seed.buffer).setUint32(0, made.length + 1)
    made.push(peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)))
  }

  return made.slice(0, count)
}

/** A rendezvous point address for a peer id (memory: nothing listens there in a unit test) */
export function pointAddress (peerId: PeerId, label = 'point'): Multiaddr {
  return multiaddr(`/memory/${label}/p2p/${peerId.toString()}`)
}
