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
 * peer ids), nearest first. A peer in dial backoff leaves the ranking before it is cut to the quota: a registrant
 * that is gone (its registration still listed until its TTL runs out) would otherwise hold a place no dial can
 * fill, for as long as it is listed. The peers of the cut that are not connected are dialed even when the quota
 * is met (by farther peers): each that connects then replaces a farther one in the count (counting.ts), so the
 * node moves to nearer registrants without ever dropping one it holds for one it cannot reach.
 * - `random` (relays: they never dial back): any candidates, in random order so that many nodes do not all
 * dial the same ones.
 */
import { PeerSet } from '@libp2p/peer-collections'
import { sha256 } from '@noble/hashes/sha2.js'
import QuickLRU from 'quick-lru'
import type { Candidate } from './candidates.ts'
import type { PeerId } from '@libp2p/interface'

export type SelectionMode = 'ring' | 'closest' | 'random'

/** Keys hashed and kept, the least recently used going first (quick-lru holds up to twice its maxSize) */
const MAX_CACHED_KEYS = 8192

const keyCache = new QuickLRU<string, Uint8Array>({ maxSize: MAX_CACHED_KEYS / 2 })

function cached (name: string, make: () => Uint8Array): Uint8Array {
  let key = keyCache.get(name)

  if (key == null) {
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
  return peers
    .map(peer => ({ peer, key: dhtKey(peer) }))
    .sort((a, b) => compareXor(a.key, b.key, target))
    .map(k => k.peer)
}

/**
 * The registrants a `closest` namespace wants: the `quota` nearest to `self` of those that pass `reachable`,
 * nearest first. The peers that cannot be reached leave before the cut, not after it
 */
export function closestWanted (self: PeerId, peers: PeerId[], quota: number, reachable: (peer: PeerId) => boolean): PeerId[] {
  return closestFirst(self, peers.filter(reachable)).slice(0, quota)
}

/** The members of a namespace on `count` hash rings, and the links between them that every member agrees on */
export class Rings {
  private readonly orders: PeerId[][] = []
  private readonly positions: Array<Map<string, number>> = []
  private readonly quota: number
  private readonly linkCache = new Map<string, PeerId[]>()
  private pairs?: Map<string, PeerId[]>

  /** `members` must include the node itself */
  constructor (members: PeerId[], quota: number) {
    this.quota = quota
    const count = Math.max(1, Math.ceil(quota / 2))

    for (let ring = 0; ring < count; ring++) {
      const keyed = members.map(peer => ({ peer, key: ringKey(ring, peer) }))
      keyed.sort((a, b) => compareBytes(a.key, b.key))
      const order = keyed.map(k => k.peer)
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

  /** The successor and predecessor of `peer` on every ring, each once */
  links (peer: PeerId): PeerId[] {
    const cached = this.linkCache.get(peer.toString())

    if (cached != null) {
      return cached
    }

    const links: PeerId[] = []
    const seen = new PeerSet([peer])
    this.linkCache.set(peer.toString(), links)

    for (let ring = 0; ring < this.orders.length; ring++) {
      for (const k of [1, -1]) {
        const other = this.at(peer, ring, k)

        if (!seen.has(other)) {
          seen.add(other)
          links.push(other)
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

  /**
   * The extra links of `peer`: a member whose ring links are fewer than the quota (the same neighbour on two
   * rings) is paired with the next members on the first ring that lack links too, so that an extra link fills
   * two gaps at once and nobody ends up with more than the quota; only when none is left is it paired with a
   * member that has enough. Every member computes the same pairs
   */
  extras (peer: PeerId): PeerId[] {
    this.pairs ??= this.pairUp()
    return this.pairs.get(peer.toString()) ?? []
  }

  /** Whether `from` dials `to` for a link between them (ring link or extra): of the two ends, the smaller id */
  dials (from: PeerId, to: PeerId): boolean {
    const linked = this.links(from).some(p => p.equals(to)) || this.extras(from).some(p => p.equals(to))
    return linked && from.toString() < to.toString()
  }

  private pairUp (): Map<string, PeerId[]> {
    const pairs = new Map<string, PeerId[]>()
    const order = this.orders[0] ?? []
    const missing = new Map(order.map(peer => [peer.toString(), Math.max(0, this.quota - this.links(peer).length)]))
    const lacks = (peer: PeerId): number => missing.get(peer.toString()) ?? 0
    const linked = (a: PeerId, b: PeerId): boolean => this.links(a).some(p => p.equals(b)) || (pairs.get(a.toString()) ?? []).some(p => p.equals(b))
    const pair = (a: PeerId, b: PeerId): void => {
      for (const [x, y] of [[a, b], [b, a]]) {
        const list = pairs.get(x.toString()) ?? []
        list.push(y)
        pairs.set(x.toString(), list)
        missing.set(x.toString(), Math.max(0, lacks(x) - 1))
      }
    }

    // first among members that lack links too, nearest first on the first ring
    for (const a of order) {
      for (let k = 1; k < order.length && lacks(a) > 0; k++) {
        const b = this.at(a, 0, k)

        if (!b.equals(a) && !linked(a, b) && lacks(b) > 0) {
          pair(a, b)
        }
      }
    }

    // then among any, the one with the fewest links
    const degree = (peer: PeerId): number => this.links(peer).length + (pairs.get(peer.toString())?.length ?? 0)

    for (const a of order) {
      while (lacks(a) > 0) {
        let best: PeerId | undefined

        for (let k = 1; k < order.length; k++) {
          const b = this.at(a, 0, k)

          if (!b.equals(a) && !linked(a, b) && (best == null || degree(b) < degree(best))) {
            best = b
          }
        }

        if (best == null) {
          break
        }

        pair(a, best)
      }
    }

    return pairs
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
  /** Whether a peer is in dial backoff and not connected: a `closest` ranking leaves it out */
  backedOff(peer: PeerId): boolean
  now: number
  /** How long a ring neighbour that should dial this node is waited for */
  inboundGrace: number
  /** The wait counts from when a neighbour was first seen, or from this moment if later (ms since epoch) */
  settledAt?: number
  /** The rings of the node and `members`, when already built */
  rings?: Rings
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

  if (deficit <= 0 && mode === 'random') {
    return { targets: [], expected: 0 }
  }

  const open = (peer: PeerId): boolean => !input.have.has(peer) && input.dialable(peer)
  const peers = input.members.map(m => m.peerId)

  if (mode === 'random') {
    return { targets: shuffle(peers.filter(open), input.random).slice(0, deficit), expected: 0 }
  }

  if (mode === 'closest') {
    // only the `quota` nearest that can be reached are worth a dial; at quota too, as each replaces a farther one
    return { targets: closestWanted(input.self, peers, input.quota, peer => !input.backedOff(peer)).filter(open), expected: 0 }
  }

  const rings = input.rings ?? new Rings([input.self, ...peers], input.quota)
  const self = input.self
  const since = new Map(input.members.map(m => [m.peerId.toString(), m.since]))
  // the links this node dials, then those it waits for, then anyone by ring order (when links are undialable)
  const ringLinks = rings.links(self)
  const extras = rings.extras(self)
  const links = [...ringLinks, ...extras]
  const mine = links.filter(peer => rings.dials(self, peer))
  const expectedPeers = new PeerSet()
  let recheckAt: number | undefined

  for (const peer of links) {
    const until = Math.max(since.get(peer.toString()) ?? 0, input.settledAt ?? 0) + input.inboundGrace

    if (!input.have.has(peer) && rings.dials(peer, self) && until > input.now) {
      expectedPeers.add(peer)
      recheckAt = Math.min(recheckAt ?? until, until)
    }
  }

  // the links this node dials are its to dial, even when peers off its links already fill its quota: their other
  // ends wait for it. Once its quota is met, only the links it saw lately (a newcomer between it and a neighbour),
  // and never more links than the quota has room for
  const capacity = extras.length > 0 ? links.length : Math.min(input.quota, links.length)
  const room = capacity - expectedPeers.size - links.filter(peer => input.have.has(peer)).length
  const targets = mine
    .filter(peer => open(peer) && (deficit > 0 || input.now - (since.get(peer.toString()) ?? 0) < input.inboundGrace))
    .slice(0, Math.max(0, room))
  const seen = new PeerSet(mine)
  const wanted = Math.max(0, deficit - expectedPeers.size)

  for (const peer of [...links, ...rings.successors(self)]) {
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
