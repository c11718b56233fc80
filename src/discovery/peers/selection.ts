/**
 * Which candidates to dial for a namespace. Pure functions of the candidates, what the node already has, and
 * the clock.
 *
 * - `ring` (topics, dapps, user namespaces: peers that look for each other): the members of a namespace (the
 * node and the registrants it knows) sit on `ceil(quota / 2)` hash rings (each ordering peers by the SHA-256 of
 * the ring number and the peer id), and every member links to its successor and predecessor on each ring. Every
 * member computes the same links from the same list, so each link is dialed once, by the member with the smaller
 * id, and the other waits for it (`inboundGrace`, after which it dials itself). A member whose links collapse
 * (the same neighbour on two rings) takes its next successors as extra links. Once every node sees the same
 * registrants the quota is met with about `quota / 2` dials per node and no pair dialed twice, and the union of
 * random rings keeps the mesh's diameter small; with partial views it degrades to dialing successors.
 * - `closest`: the registrants nearest to the node in kad-dht's keyspace (XOR distance of the SHA-256 of the
 * peer ids), nearest first.
 * - `random` (relays: they never dial back): any candidates, in random order so that many nodes do not all
 * dial the same ones.
 */
import { PeerSet } from '@libp2p/peer-collections'
import { sha256 } from '@noble/hashes/sha2.js'
import type { Candidate } from './candidates.ts'
import type { PeerId } from '@libp2p/interface'

export type SelectionMode = 'ring' | 'closest' | 'random'

/** Keys hashed and kept; past this the cache starts over */
const MAX_CACHED_KEYS = 8192

const keyCache = new Map<string, Uint8Array>()

function cached (name: string, make: () => Uint8Array): Uint8Array {
  let key = keyCache.get(name)

  if (key == null) {
    if (keyCache.size >= MAX_CACHED_KEYS) {
      keyCache.clear()
    }

    key = make()
    keyCache.set(name, key)
  }

  return key
}

/** A peer's position in kad-dht's keyspace: the SHA-256 of its multihash */
export function dhtKey (peer: PeerId): Uint8Array {
  return cached(`dht:${peer.toString()}`, () => sha256(peer.toMultihash().bytes))
}

/** A peer's position on hash ring `ring` */
export function ringKey (ring: number, peer: PeerId): Uint8Array {
  return cached(`${ring}:${peer.toString()}`, () => {
    const bytes = peer.toMultihash().bytes
    const input = new Uint8Array(bytes.byteLength + 1)
    input[0] = ring
    input.set(bytes, 1)
    return sha256(input)
  })
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.byteLength, b.byteLength)

  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) {
      return a[i] - b[i]
    }
  }

  return a.byteLength - b.byteLength
}

/** Which of two keys is nearer `target` by XOR distance (negative: `a`) */
export function compareXor (a: Uint8Array, b: Uint8Array, target: Uint8Array): number {
  for (let i = 0; i < target.byteLength; i++) {
    const da = a[i] ^ target[i]
    const db = b[i] ^ target[i]

    if (da !== db) {
      return da - db
    }
  }

  return 0
}

/** `peers` nearest to `self` first, in kad-dht's keyspace */
export function closestFirst (self: PeerId, peers: PeerId[]): PeerId[] {
  const target = dhtKey(self)
  return [...peers].sort((a, b) => compareXor(dhtKey(a), dhtKey(b), target))
}

/** The members of a namespace on `count` hash rings, and the links between them that every member agrees on */
export class Rings {
  private readonly orders: PeerId[][] = []
  private readonly positions: Array<Map<string, number>> = []
  private readonly quota: number
  private readonly extraCache = new Map<string, PeerId[]>()

  /** `members` must include the node itself */
  constructor (members: PeerId[], quota: number) {
    this.quota = quota
    const count = Math.max(1, Math.ceil(quota / 2))

    for (let ring = 0; ring < count; ring++) {
      const order = [...members].sort((a, b) => compareBytes(ringKey(ring, a), ringKey(ring, b)))
      this.orders.push(order)
      this.positions.push(new Map(order.map((peer, i) => [peer.toString(), i])))
    }
  }

  get size (): number {
    return this.orders[0]?.length ?? 0
  }

  /** The member `k` places after (`k` > 0) or before (`k` < 0) `peer` on ring `ring` */
  at (peer: PeerId, ring: number, k: number): PeerId {
    const order = this.orders[ring]
    const i = this.positions[ring].get(peer.toString()) ?? 0
    return order[(((i + k) % order.length) + order.length) % order.length]
  }

  /** The successor and predecessor of `peer` on every ring */
  links (peer: PeerId): PeerSet {
    const links = new PeerSet()

    for (let ring = 0; ring < this.orders.length; ring++) {
      for (const k of [1, -1]) {
        const other = this.at(peer, ring, k)

        if (!other.equals(peer)) {
          links.add(other)
        }
      }
    }

    return links
  }

  /** Every other member in the order `peer` would dial them: first successors on each ring, then second, … */
  successors (peer: PeerId): PeerId[] {
    const out: PeerId[] = []
    const seen = new PeerSet([peer])

    for (let k = 1; k < this.size; k++) {
      for (let ring = 0; ring < this.orders.length; ring++) {
        const other = this.at(peer, ring, k)

        if (!seen.has(other)) {
          seen.add(other)
          out.push(other)
        }
      }
    }

    return out
  }

  /** The extra links `peer` takes when its ring links are fewer than the quota (some neighbours repeat) */
  extras (peer: PeerId): PeerId[] {
    const id = peer.toString()
    let extras = this.extraCache.get(id)

    if (extras == null) {
      const links = this.links(peer)
      const missing = this.quota - links.size
      extras = missing > 0 ? this.successors(peer).filter(p => !links.has(p)).slice(0, missing) : []
      this.extraCache.set(id, extras)
    }

    return extras
  }

  /** Whether `from` dials `to` for a link between them (both must be members) */
  dials (from: PeerId, to: PeerId): boolean {
    const smaller = from.toString() < to.toString()

    if (this.links(from).has(to)) {
      return smaller
    }

    const fromWants = this.extras(from).some(p => p.equals(to))
    const toWants = this.extras(to).some(p => p.equals(from))
    return fromWants && (!toWants || smaller)
  }
}

/** Fisher-Yates, in place */
export function shuffle<T> (items: T[], random: () => number = Math.random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = items[i]
    items[i] = items[j]
    items[j] = tmp
  }

  return items
}

export interface DialPlanInput {
  self: PeerId
  mode: SelectionMode
  quota: number
  /** Peers wanted beyond those counted and pending */
  deficit: number
  /** The namespace's live candidates (never the node itself) */
  members: Candidate[]
  /** Peers that count or are pending already */
  have: PeerSet
  /** Whether a peer may be dialed now (not connected, not dialing, not backing off) */
  dialable(peer: PeerId): boolean
  now: number
  /** How long a ring neighbour that should dial this node is waited for (ms since it was first seen) */
  inboundGrace: number
  random(): number
}

export interface DialPlan {
  /** Peers to dial, best first */
  targets: PeerId[]
  /** Peers expected to dial this node, counted towards the deficit */
  expected: number
  /** When the first of the expected peers stops being expected (ms since epoch) */
  recheckAt?: number
}

/** The peers to dial for one namespace now */
export function planDials (input: DialPlanInput): DialPlan {
  const { mode, deficit } = input

  if (deficit <= 0) {
    return { targets: [], expected: 0 }
  }

  const open = (peer: PeerId): boolean => !input.have.has(peer) && input.dialable(peer)
  const peers = input.members.map(m => m.peerId)

  if (mode === 'random') {
    return { targets: shuffle(peers.filter(open), input.random).slice(0, deficit), expected: 0 }
  }

  if (mode === 'closest') {
    // only the `quota` nearest count, so only they are worth a dial
    return { targets: closestFirst(input.self, peers).slice(0, input.quota).filter(open).slice(0, deficit), expected: 0 }
  }

  const rings = new Rings([input.self, ...peers], input.quota)
  const self = input.self
  const since = new Map(input.members.map(m => [m.peerId.toString(), m.since]))
  // the links this node dials, then those it waits for, then anyone by ring order (when links are undialable)
  const links = [...rings.links(self), ...rings.extras(self)]
  const mine = links.filter(peer => rings.dials(self, peer))
  const expectedPeers = new PeerSet()
  let recheckAt: number | undefined

  for (const peer of links) {
    const until = (since.get(peer.toString()) ?? 0) + input.inboundGrace

    if (!input.have.has(peer) && rings.dials(peer, self) && until > input.now) {
      expectedPeers.add(peer)
      recheckAt = Math.min(recheckAt ?? until, until)
    }
  }

  const seen = new PeerSet()
  const targets: PeerId[] = []
  const wanted = Math.max(0, deficit - expectedPeers.size)

  for (const peer of [...mine, ...links, ...rings.successors(self)]) {
    if (targets.length >= wanted) {
      break
    }

    if (seen.has(peer) || expectedPeers.has(peer)) {
      continue
    }

    seen.add(peer)

    if (open(peer)) {
      targets.push(peer)
    }
  }

  return { targets, expected: expectedPeers.size, recheckAt }
}
