/**
 * The default registration store: everything in this process's memory, gone on restart.
 *
 * Costs do not grow with the number of registrations held. REGISTER is O(log n): hash lookups, an append to two
 * seq-ordered indices, a heap push, and for a refresh the removal of the entry it replaces. DISCOVER is
 * O(log n + limit) for one namespace and for all of them, from the start or from a cookie, because each namespace
 * and the whole store keep an index in `seq` order (see `SeqIndex`). Expiry is O(log n) per registration that
 * expires, through a min-heap by expiry time (see `ExpiryHeap`); there is no timer per registration.
 *
 * Expiry is exact: every call that is given `now` (register, discover, stats, removeExpired) first removes what
 * has expired by then. So expired registrations are never returned, never count against the per-peer or total
 * limits, never hold back a replayed record, and never show in stats. Each registration is removed once, so the
 * sweeping adds amortized O(log n) per registration. A consequence: `removeExpired` returns only what that call
 * removed, which is less than what expired when a register or discover got there first; count expirations for
 * metrics from `stats()` instead (with a shared database, other servers' sweeps make that count partial anyway).
 *
 * Calls run to completion without awaiting anything, so each one is atomic: concurrent registers from one peer
 * can never take it past its limit.
 *
 * Memory: one small object per registration holding its record bytes (copied, so a record decoded out of a larger
 * network buffer does not keep that buffer alive) and references to its peer and namespace, whose id strings are
 * kept once per peer and once per namespace.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { ExpiryHeap } from './expiry-heap.ts'
import { SeqIndex } from './seq-index.ts'
import type { DiscoverPage, DiscoverQuery, RegisterInput, RegisterLimits, RegisterOutcome, RegistrationStore, StoredRegistration, StoreStats } from './registration-store.ts'

/** Length of the cookie secret, in bytes */
const COOKIE_SECRET_LENGTH = 32

/** The registrations of one namespace, in `seq` order */
class NamespaceRegistrations extends SeqIndex<Registration> {
  readonly namespace: string

  constructor (namespace: string) {
    super()
    this.namespace = namespace
  }
}

/** The registrations of one peer, by namespace */
class PeerRegistrations {
  readonly peerId: string
  readonly byNamespace = new Map<string, Registration>()

  constructor (peerId: string) {
    this.peerId = peerId
  }
}

/** One registration; referenced from its peer, its namespace index, the global index and the expiry heap */
class Registration {
  // plain fields rather than constructor parameter properties, which Node's type stripping cannot run
  readonly seq: number
  readonly peer: PeerRegistrations
  readonly namespace: NamespaceRegistrations
  readonly signedPeerRecord: Uint8Array
  readonly recordSeq: bigint
  readonly expiresAt: number
  heapSlot = -1

  constructor (seq: number, peer: PeerRegistrations, namespace: NamespaceRegistrations, signedPeerRecord: Uint8Array, recordSeq: bigint, expiresAt: number) {
    this.seq = seq
    this.peer = peer
    this.namespace = namespace
    this.signedPeerRecord = signedPeerRecord
    this.recordSeq = recordSeq
    this.expiresAt = expiresAt
  }

  toStored (): StoredRegistration {
    return {
      peerId: this.peer.peerId,
      namespace: this.namespace.namespace,
      signedPeerRecord: this.signedPeerRecord,
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
  private readonly expiries = new ExpiryHeap<Registration>()
  private readonly cookieSecret: Uint8Array
  /**
   * The last `seq` given out. A number rather than a bigint to keep the indices small and fast: it would take
   * a million registrations a second for 285 years to pass `Number.MAX_SAFE_INTEGER`.
   */
  private lastSeq = 0

  constructor () {
    // globalThis.crypto exists in browsers and in Node >= 19
    this.cookieSecret = globalThis.crypto.getRandomValues(new Uint8Array(COOKIE_SECRET_LENGTH))
  }

  async register (input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome> {
    checkRegisterInput(input)
    this.sweep(now)

    const peer = this.peers.get(input.peerId)
    const existing = peer?.byNamespace.get(input.namespace)

    if (existing != null) {
      // an equal recordSeq is a refresh that resends the same record
      if (input.recordSeq < existing.recordSeq) {
        return { ok: false, reason: 'stale-record' }
      }
    } else if ((peer?.byNamespace.size ?? 0) >= limits.maxRegistrationsPerPeer) {
      return { ok: false, reason: 'peer-limit' }
    } else if (this.all.size >= limits.maxRegistrationsTotal) {
      return { ok: false, reason: 'total-limit' }
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
      // a copy: the caller's bytes may be a view into a much larger buffer, or be reused
      input.signedPeerRecord.slice(),
      input.recordSeq,
      input.expiresAt
    )

    owner.byNamespace.set(namespace.namespace, registration)
    namespace.append(registration)
    this.all.append(registration)
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
    this.sweep(query.now)

    const index = query.namespace == null ? this.all : this.namespaces.get(query.namespace)

    const limit = Math.floor(query.limit)

    if (index == null || !(limit > 0)) {
      return { registrations: [] }
    }

    const afterSeq = query.afterSeq > BigInt(this.lastSeq) ? this.lastSeq : Math.max(0, Number(query.afterSeq))

    return {
      registrations: index.after(afterSeq, limit).map(registration => registration.toStored())
    }
  }

  async removeExpired (now: number): Promise<number> {
    return this.sweep(now)
  }

  async getCookieSecret (): Promise<Uint8Array> {
    return this.cookieSecret
  }

  async stats (now: number): Promise<StoreStats> {
    this.sweep(now)

    return {
      registrations: this.all.size,
      namespaces: this.namespaces.size
    }
  }

  /** Removes every registration that expired at or before `now`; returns how many */
  private sweep (now: number): number {
    let removed = 0
    let registration: Registration | undefined

    while ((registration = this.expiries.popExpired(now)) != null) {
      this.delete(registration)
      removed++
    }

    return removed
  }

  private addPeer (peerId: string): PeerRegistrations {
    const peer = new PeerRegistrations(peerId)
    this.peers.set(peerId, peer)
    return peer
  }

  private addNamespace (name: string): NamespaceRegistrations {
    const namespace = new NamespaceRegistrations(name)
    this.namespaces.set(name, namespace)
    return namespace
  }

  /** Takes a live registration out of every structure; drops its peer and namespace when they become empty */
  private delete (registration: Registration): void {
    const { peer, namespace } = registration

    peer.byNamespace.delete(namespace.namespace)
    if (peer.byNamespace.size === 0) {
      this.peers.delete(peer.peerId)
    }

    namespace.remove(registration)
    if (namespace.size === 0) {
      this.namespaces.delete(namespace.namespace)
    }

    this.all.remove(registration)
    this.expiries.remove(registration)
  }
}

function checkRegisterInput (input: RegisterInput): void {
  if (typeof input.peerId !== 'string' || input.peerId === '') {
    throw new InvalidParametersError('peerId must be a non-empty string')
  }

  if (typeof input.namespace !== 'string' || input.namespace === '') {
    throw new InvalidParametersError('namespace must be a non-empty string')
  }

  if (!(input.signedPeerRecord instanceof Uint8Array)) {
    throw new InvalidParametersError('signedPeerRecord must be a Uint8Array')
  }

  if (typeof input.recordSeq !== 'bigint') {
    throw new InvalidParametersError('recordSeq must be a bigint')
  }

  if (!Number.isFinite(input.expiresAt)) {
    throw new InvalidParametersError('expiresAt must be a finite number of milliseconds')
  }
}
