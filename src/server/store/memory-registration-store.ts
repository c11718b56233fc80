/**
 * The default registration store: everything in this process's memory, gone on restart.
 *
 * Costs do not grow with the number of registrations held. REGISTER is O(log n): hash lookups, an append to two
 * seq-ordered indices, a heap push, and for a refresh the removal of the entry it replaces. DISCOVER is
 * O(log n + limit) for one namespace and for all of them, from the start or from a cookie, because each namespace
 * and the whole store keep an index in `seq` order (see `SeqIndex`), and a second one of their legacy records only,
 * so that a DISCOVER for a rust-libp2p reader never walks past the standard records it cannot read. Expiry is O(log n) per registration that
 * expires, through a min-heap by expiry time (see `ExpiryHeap`); there is no timer per registration.
 *
 * Expiry is exact where it matters and bounded everywhere: expired registrations are never returned, never count
 * against the limits or budgets (a REGISTER that would be refused first removes expired ones until it fits) and
 * never hold back a replayed record. What expired is removed in slices of at most `sweepSlice` registrations,
 * yielding to the event loop between two slices, so that a million registrations expiring at once never block
 * the process for longer than one slice (the whole of it took ~1.9 s in one go): each register, discover and
 * stats removes one slice and, when more is left, has the rest removed slice by slice in the background;
 * `removeExpired` works through all of it the same way. Until then a DISCOVER removes the expired registrations
 * it meets, at most a slice of them, so its page may come out short (the next page goes on from there), and
 * `stats` may count some expired registrations. `removeExpired` returns only what that call removed; count
 * expirations for metrics from `stats()` instead.
 *
 * Calls run to completion without awaiting anything (but `removeExpired`, between slices), so each one is atomic:
 * concurrent registers from one peer can never take it past its limit.
 *
 * Memory: one small object per registration holding its record bytes (copied, so a record decoded out of a larger
 * network buffer does not keep that buffer alive) and references to its peer and namespace, whose id strings are
 * kept once per peer and once per namespace. What registrations, peers and namespaces take is counted in bytes
 * against two budgets, one for the whole store and one per peer (see `registrationCost`): the count limits
 * alone let records as large as a request fill many gigabytes.
 */
import { checkOptions } from '../../options/check-options.ts'
import { ExpiryHeap } from './expiry-heap.ts'
import { MEMORY_STORE_OPTIONS } from './memory-store-options.ts'
import { checkRegisterInput, formatOfInput } from './registration-store.ts'
import { SeqIndex } from './seq-index.ts'
import type { MemoryRegistrationStoreInit } from './memory-store-options.ts'
import type { DiscoverPage, DiscoverQuery, RegisterInput, RegisterLimits, RegisterOutcome, RegistrationStore, StoredRegistration, StoreStats } from './registration-store.ts'
import type { PeerRecordFormat } from '../../protocol/peer-record.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Length of the cookie secret, in bytes */
const COOKIE_SECRET_LENGTH = 32

/*
 * What the store's objects take in memory, in bytes, measured on Node 22 by `benchmarks/store-memory` (the heap and
 * buffer growth of a store filled in four shapes that tell a registration, a peer and a namespace apart) and
 * rounded up. The budgets count with them, so a store at its budget takes about the budget whatever fills it.
 */

/**
 * A registration besides its record's bytes: its object, the record's typed array and buffer objects and the
 * allocator's header of its bytes, the record seq, its slots in the two seq indices and the expiry heap, and its
 * entry in its peer's map (measured: 366)
 */
export const REGISTRATION_OVERHEAD_BYTES = 400
/** A peer besides its id string: its object, its map of registrations, its entry in the store's map (measured: ~385) */
export const PEER_OVERHEAD_BYTES = 400
/** A namespace besides its name: its object, its seq index's two arrays, its entry in the store's map (measured: ~490) */
export const NAMESPACE_OVERHEAD_BYTES = 500

/** Strings are counted at two bytes a character, as V8 keeps any string with a character past U+00FF */
function stringBytes (text: string): number {
  return 2 * text.length
}

/** What a registration is counted for, against the total budget and its peer's */
export function registrationCost (recordLength: number): number {
  return REGISTRATION_OVERHEAD_BYTES + recordLength
}

/** What a peer is counted for while it holds registrations, against the total budget and its own */
export function peerCost (peerId: string): number {
  return PEER_OVERHEAD_BYTES + stringBytes(peerId)
}

/** What a namespace is counted for while it holds registrations, against the total budget only */
export function namespaceCost (namespace: string): number {
  return NAMESPACE_OVERHEAD_BYTES + stringBytes(namespace)
}

/** Lets the event loop run (I/O included) before the next slice of work */
async function yieldToEventLoop (): Promise<void> {
  await new Promise<void>(resolve => {
    if (typeof globalThis.setImmediate === 'function') {
      globalThis.setImmediate(resolve)
    } else {
      setTimeout(resolve, 0)
    }
  })
}

/** The registrations of one namespace, in `seq` order */
class NamespaceRegistrations extends SeqIndex<Registration> {
  readonly namespace: string
  /**
   * Its registrations with a legacy record, in `seq` order; made with the first one. Its slots (two a registration)
   * fit in what `REGISTRATION_OVERHEAD_BYTES` counts beyond the measured 366 bytes, and legacy records are few.
   */
  legacy?: SeqIndex<Registration>

  constructor (namespace: string) {
    super()
    this.namespace = namespace
  }
}

/** The registrations of one peer, by namespace */
class PeerRegistrations {
  readonly peerId: string
  readonly byNamespace = new Map<string, Registration>()
  /** Its own cost and its registrations' */
  bytes: number

  constructor (peerId: string) {
    this.peerId = peerId
    this.bytes = peerCost(peerId)
  }
}

/** One registration; referenced from its peer, its namespace index, the global index and the expiry heap */
class Registration {
  // plain fields rather than constructor parameter properties, which Node's type stripping cannot run
  readonly seq: number
  readonly peer: PeerRegistrations
  readonly namespace: NamespaceRegistrations
  readonly signedPeerRecord: Uint8Array
  readonly format: PeerRecordFormat
  readonly recordSeq: bigint
  readonly expiresAt: number
  /** What it counts for against the byte budgets */
  readonly cost: number
  heapSlot = -1

  constructor (seq: number, peer: PeerRegistrations, namespace: NamespaceRegistrations, signedPeerRecord: Uint8Array, format: PeerRecordFormat, recordSeq: bigint, expiresAt: number, cost: number) {
    this.seq = seq
    this.peer = peer
    this.namespace = namespace
    this.signedPeerRecord = signedPeerRecord
    this.format = format
    this.recordSeq = recordSeq
    this.expiresAt = expiresAt
    this.cost = cost
  }

  toStored (): StoredRegistration {
    return {
      peerId: this.peer.peerId,
      namespace: this.namespace.namespace,
      signedPeerRecord: this.signedPeerRecord,
      format: this.format,
      recordSeq: this.recordSeq,
      expiresAt: this.expiresAt,
      seq: BigInt(this.seq)
    }
  }
}

export class MemoryRegistrationStore implements RegistrationStore {
  private readonly peers = new Map<string, PeerRegistrations>()
  private readonly namespaces = new Map<string, NamespaceRegistrations>()
  private readonly all = new SeqIndex<Registration>()
  /** The registrations with a legacy record, of every namespace */
  private readonly allLegacy = new SeqIndex<Registration>()
  private readonly expiries = new ExpiryHeap<Registration>()
  private readonly cookieSecret: Uint8Array
  private readonly maxBytes: number
  private readonly maxBytesPerPeer: number
  private readonly sweepSlice: number
  /** The cost of every registration, peer and namespace held */
  private bytes = 0
  /** Set while expired registrations are being removed in the background, slice by slice */
  private draining = false
  /** The latest `now` a call was given: the background removal goes up to it */
  private drainUpTo = 0
  /**
   * The last `seq` given out. A number rather than a bigint to keep the indices small and fast: it would take
   * a million registrations a second for 285 years to pass `Number.MAX_SAFE_INTEGER`.
   */
  private lastSeq = 0

  constructor (init: MemoryRegistrationStoreInit = {}) {
    const config = checkOptions(MEMORY_STORE_OPTIONS, init)
    this.maxBytes = config.maxBytes
    this.maxBytesPerPeer = config.maxBytesPerPeer
    this.sweepSlice = config.sweepSlice
    // globalThis.crypto exists in browsers and in Node >= 19
    this.cookieSecret = globalThis.crypto.getRandomValues(new Uint8Array(COOKIE_SECRET_LENGTH))
  }

  /** Bytes counted against the total budget, expired registrations not yet removed included */
  get bytesUsed (): number {
    return this.bytes
  }

  async register (input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome> {
    checkRegisterInput(input, limits)
    this.sweepOneSlice(now)

    let existing = this.peers.get(input.peerId)?.byNamespace.get(input.namespace)

    if (existing != null && existing.expiresAt <= now) {
      // an expired registration is not there: it neither holds back a replay nor makes this a refresh
      this.delete(existing)
      existing = undefined
    }

    const cost = registrationCost(input.signedPeerRecord.byteLength)
    // a refresh gives back what the registration it replaces was counted for
    const growth = cost - (existing?.cost ?? 0)
    // what the peer and the store would hold: removing expired registrations on the way may drop a peer or a
    // namespace, which then counts as new again
    const peerBytesAfter = (): number => (this.peers.get(input.peerId)?.bytes ?? peerCost(input.peerId)) + growth
    const bytesAfter = (): number => this.bytes + growth +
      (this.peers.has(input.peerId) ? 0 : peerCost(input.peerId)) +
      (this.namespaces.has(input.namespace) ? 0 : namespaceCost(input.namespace))

    if (existing != null) {
      // an equal recordSeq is a refresh that resends the same record
      if (input.recordSeq < existing.recordSeq) {
        return { ok: false, reason: 'stale-record' }
      }
    } else if (!this.makeRoomForPeer(input.peerId, () => (this.peers.get(input.peerId)?.byNamespace.size ?? 0) < limits.maxRegistrationsPerPeer, now)) {
      return { ok: false, reason: 'peer-limit' }
    } else if (!this.makeRoom(() => this.all.size < limits.maxRegistrationsTotal, now)) {
      return { ok: false, reason: 'total-limit' }
    }

    if (!this.makeRoomForPeer(input.peerId, () => peerBytesAfter() <= this.maxBytesPerPeer, now)) {
      return { ok: false, reason: 'peer-bytes' }
    }

    if (!this.makeRoom(() => bytesAfter() <= this.maxBytes, now)) {
      return { ok: false, reason: 'total-bytes' }
    }

    if (existing != null) {
      this.delete(existing)
    }

    const owner = this.peers.get(input.peerId) ?? this.addPeer(input.peerId)
    const namespace = this.namespaces.get(input.namespace) ?? this.addNamespace(input.namespace)
    const registration = new Registration(
      ++this.lastSeq,
      owner,
      namespace,
      // a copy: the caller's bytes may be a view into a much larger buffer, or be reused. Not `.slice()`, which
      // on a Node Buffer is a view of the same memory
      new Uint8Array(input.signedPeerRecord),
      formatOfInput(input),
      input.recordSeq,
      input.expiresAt,
      cost
    )

    owner.byNamespace.set(namespace.namespace, registration)
    owner.bytes += cost
    this.bytes += cost
    namespace.append(registration)
    this.all.append(registration)
    if (registration.format === 'legacy') {
      namespace.legacy ??= new SeqIndex()
      namespace.legacy.append(registration)
      this.allLegacy.append(registration)
    }
    this.expiries.push(registration)

    return { ok: true, seq: BigInt(registration.seq) }
  }

  async unregister (peerId: string, namespace: string): Promise<void> {
    const registration = this.peers.get(peerId)?.byNamespace.get(namespace)

    if (registration != null) {
      this.delete(registration)
    }
  }

  async discover (query: DiscoverQuery): Promise<DiscoverPage> {
    this.sweepOneSlice(query.now)

    const namespace = query.namespace == null ? undefined : this.namespaces.get(query.namespace)
    const index = query.namespace == null
      ? (query.legacyOnly === true ? this.allLegacy : this.all)
      : (query.legacyOnly === true ? namespace?.legacy : namespace)

    const limit = Math.floor(query.limit)

    if (index == null || !(limit > 0)) {
      return { registrations: [] }
    }

    const afterSeq = query.afterSeq > BigInt(this.lastSeq) ? this.lastSeq : Math.max(0, Number(query.afterSeq))

    return {
      registrations: this.livePage(index, afterSeq, limit, query.now).map(registration => registration.toStored())
    }
  }

  /**
   * Up to `limit` live registrations of `index` after `afterSeq`. Expired ones still held (more expired at once
   * than one slice removes) are removed as they are met, at most a slice of them: past that the page comes out
   * short, and the next page goes on from there.
   */
  private livePage (index: SeqIndex<Registration>, afterSeq: number, limit: number, now: number): Registration[] {
    const page: Registration[] = []
    let removed = 0

    while (page.length < limit) {
      const batch = index.after(afterSeq, limit - page.length)

      if (batch.length === 0) {
        return page
      }

      for (const registration of batch) {
        if (registration.expiresAt > now) {
          page.push(registration)
        } else if (removed < this.sweepSlice) {
          this.delete(registration)
          removed++
        } else {
          return page
        }

        afterSeq = registration.seq
      }
    }

    return page
  }

  async removeExpired (now: number, options: AbortOptions = {}): Promise<number> {
    let removed = 0

    while (options.signal?.aborted !== true) {
      const slice = this.sweep(now, this.sweepSlice)
      removed += slice

      if (slice < this.sweepSlice) {
        break
      }

      await yieldToEventLoop()
    }

    return removed
  }

  async getCookieSecret (): Promise<Uint8Array> {
    return this.cookieSecret
  }

  async stats (now: number): Promise<StoreStats> {
    this.sweepOneSlice(now)

    return {
      registrations: this.all.size,
      namespaces: this.namespaces.size
    }
  }

  /**
   * What a request does about expiry: one slice now, and the rest in the background when there is more, so that
   * a mass expiry is gone within moments rather than at the next `removeExpired`
   */
  private sweepOneSlice (now: number): void {
    if (this.sweep(now, this.sweepSlice) < this.sweepSlice) {
      return
    }

    this.drainUpTo = Math.max(this.drainUpTo, now)

    if (this.draining) {
      return
    }

    this.draining = true
    this.removeExpiredInBackground()
      .finally(() => { this.draining = false })
      .catch(() => {})
  }

  private async removeExpiredInBackground (): Promise<void> {
    do {
      await yieldToEventLoop()
    } while (this.sweep(this.drainUpTo, this.sweepSlice) === this.sweepSlice)
  }

  /** Removes up to `max` registrations that expired at or before `now`, earliest first; returns how many */
  private sweep (now: number, max: number): number {
    let removed = 0
    let registration: Registration | undefined

    while (removed < max && (registration = this.expiries.popExpired(now)) != null) {
      this.delete(registration)
      removed++
    }

    return removed
  }

  /**
   * True when `fits()` holds, if need be after removing expired registrations, earliest first. Each removal
   * frees a registration's worth of room, so this removes about as many as the new registration needs.
   */
  private makeRoom (fits: () => boolean, now: number): boolean {
    while (!fits()) {
      if (this.sweep(now, 1) === 0) {
        return false
      }
    }

    return true
  }

  /** As {@link makeRoom}, among one peer's registrations only (at most `maxRegistrationsPerPeer` of them) */
  private makeRoomForPeer (peerId: string, fits: () => boolean, now: number): boolean {
    const peer = this.peers.get(peerId)

    if (peer == null || fits()) {
      return fits()
    }

    for (const registration of [...peer.byNamespace.values()]) {
      if (registration.expiresAt <= now) {
        this.delete(registration)
      }
    }

    return fits()
  }

  private addPeer (peerId: string): PeerRegistrations {
    const peer = new PeerRegistrations(peerId)
    this.peers.set(peerId, peer)
    this.bytes += peer.bytes
    return peer
  }

  private addNamespace (name: string): NamespaceRegistrations {
    const namespace = new NamespaceRegistrations(name)
    this.namespaces.set(name, namespace)
    this.bytes += namespaceCost(name)
    return namespace
  }

  /** Takes a live registration out of every structure; drops its peer and namespace when they become empty */
  private delete (registration: Registration): void {
    const { peer, namespace } = registration

    peer.byNamespace.delete(namespace.namespace)
    peer.bytes -= registration.cost
    this.bytes -= registration.cost
    if (peer.byNamespace.size === 0) {
      this.peers.delete(peer.peerId)
      this.bytes -= peer.bytes
    }

    namespace.remove(registration)
    if (registration.format === 'legacy') {
      namespace.legacy?.remove(registration)
      this.allLegacy.remove(registration)
    }
    if (namespace.size === 0) {
      this.namespaces.delete(namespace.namespace)
      this.bytes -= namespaceCost(namespace.namespace)
    }

    this.all.remove(registration)
    this.expiries.remove(registration)
  }
}

/** Creates an in-memory registration store (the server's default) with budgets of its own; pass it to `rendezvousServer({ store })` */
export function memoryRegistrationStore (init: MemoryRegistrationStoreInit = {}): RegistrationStore {
  return new MemoryRegistrationStore(init)
}
