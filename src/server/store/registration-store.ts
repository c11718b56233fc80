/**
 * Where a rendezvous point keeps registrations. The server validates requests; the store keeps them and
 * enforces the limits that must hold atomically (per peer, in total), which for a shared database means
 * across every server of the fleet.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { DEFAULT_MAX_RECORD_SIZE } from '../../constants.ts'
import { peerRecordFormatOf } from '../../protocol/peer-record.ts'
import type { PeerRecordFormat } from '../../protocol/peer-record.ts'
import type { AbortOptions } from '@libp2p/interface'

/** A registration as the store keeps it */
export interface StoredRegistration {
  /** The registrant's peer id, base58btc (`peerId.toString()`) */
  peerId: string
  namespace: string
  /** The signed peer record envelope, exactly as the registrant sent it */
  signedPeerRecord: Uint8Array
  /** How the record is sealed: a rust-libp2p requester reads only `legacy` ones */
  format: PeerRecordFormat
  /** The record's sequence number on one scale (`comparableSeq`, milliseconds whatever the sealing implementation counted), to refuse replays of older records */
  recordSeq: bigint
  /** Milliseconds since the epoch at which the registration expires */
  expiresAt: number
  /**
   * The position of this write in the store's order, unsigned and below 2^128: a REGISTER (refreshes included)
   * gets a position above every registration that had been settled when it began. Cookies are positions in this
   * order (see {@link DiscoverPage.settledBelow} for stores with concurrent writers).
   */
  seq: bigint
}

export interface RegisterInput {
  peerId: string
  namespace: string
  signedPeerRecord: Uint8Array
  /**
   * How the record is sealed, as the server found when it checked it; kept with the registration so that a
   * DISCOVER for a reader of legacy records only reads those.
   *
   * @default the format the envelope's payload type names; `'standard'` for bytes that are not an envelope
   */
  format?: PeerRecordFormat
  recordSeq: bigint
  /** Milliseconds since the epoch */
  expiresAt: number
}

export interface RegisterLimits {
  /** Most live registrations one peer may hold; replacing one of its own never counts as a new one */
  maxRegistrationsPerPeer: number
  /** Most live registrations the store holds in all */
  maxRegistrationsTotal: number
  /**
   * Largest signed peer record kept, in bytes. The server refuses larger records on the wire before they reach
   * the store; every store refuses them again through `checkRegisterInput`, so no caller can fill it with
   * records that no DISCOVER page could carry.
   *
   * @default 4096 (the server's default `maxRecordSize`)
   */
  maxRecordSize?: number
}

export type RegisterOutcome =
  | { ok: true, seq: bigint }
  /** The peer already holds `maxRegistrationsPerPeer` other registrations */
  | { ok: false, reason: 'peer-limit' }
  /** The store is full */
  | { ok: false, reason: 'total-limit' }
  /** The peer's registrations would take more than the store's byte budget for one peer */
  | { ok: false, reason: 'peer-bytes' }
  /** The registrations would take more than the store's byte budget in all */
  | { ok: false, reason: 'total-bytes' }
  /** The peer holds a registration in this namespace with a newer record (a replay) */
  | { ok: false, reason: 'stale-record' }

export interface DiscoverQuery {
  /** `undefined` asks for every namespace */
  namespace?: string
  /** Return only registrations with `seq` above this (0n: from the start) */
  afterSeq: bigint
  /**
   * Positions above `afterSeq` up to this one were returned before, while they were not settled (see
   * {@link DiscoverPage.settledBelow}). The store skips those that are still not settled, and returns those that
   * have settled since (again: the ones that committed late are among them), then goes on after `sentUpTo`. So a
   * cookie makes progress past a transaction that stays open, nothing is lost, and a registration comes at most
   * once more. Absent, or not above `afterSeq`: nothing was.
   */
  sentUpTo?: bigint
  /** At most this many registrations */
  limit: number
  /** Milliseconds since the epoch: registrations expiring at or before it are never returned */
  now: number
  /**
   * Only registrations whose record is in the legacy format (what a rust-libp2p requester can read). A store keeps
   * an index of them, so that such a DISCOVER in a namespace of thousands of standard records reads only the few
   * it returns.
   */
  legacyOnly?: boolean
}

export interface DiscoverPage {
  /** In ascending `seq` order */
  registrations: StoredRegistration[]
  /**
   * Where a store with concurrent writers (a shared database) may still see registrations commit at lower
   * positions than ones it already shows: registrations at or above this position are returned, but a cookie
   * must not move past the last one below it, or it would skip those; it records how far it went past it instead
   * (see {@link DiscoverQuery.sentUpTo}). Absent: every position is settled. A store that has it reports it on
   * empty pages too.
   */
  settledBelow?: bigint
}

export interface StoreStats {
  registrations: number
  namespaces: number
}

export interface RegistrationStore {
  /** Opens connections, creates or migrates the schema. Called by the server's `start()` */
  start?(): Promise<void>
  /** Closes connections. Called by the server's `stop()` */
  stop?(): Promise<void>

  /**
   * Adds or replaces the registration of (peerId, namespace) and gives it the next `seq`, so that cookie holders
   * see it again. Enforces the limits and refuses a record older than the one it replaces.
   */
  register(input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome>

  /** Removes the registration of (peerId, namespace); a no-op when there is none */
  unregister(peerId: string, namespace: string): Promise<void>

  /** Live registrations after a position, in `seq` order, at most `limit` of them */
  discover(query: DiscoverQuery): Promise<DiscoverPage>

  /**
   * Deletes registrations that expired at or before `now`; returns how many. Safe to run on several servers at
   * once. A store that works through them in slices stops between two slices when `options.signal` aborts, and
   * returns what it removed by then: the rest is removed by the next call.
   */
  removeExpired(now: number, options?: AbortOptions): Promise<number>

  /**
   * A secret shared by every server on this store, to authenticate cookies. A memory store makes one at random;
   * a shared database keeps one, so that a cookie issued by one server is honoured by the others.
   */
  getCookieSecret(): Promise<Uint8Array>

  /** Counts of live registrations and namespaces, for metrics */
  stats(now: number): Promise<StoreStats>
}

const MAX_UINT64 = 0xffff_ffff_ffff_ffffn

/** The format a store keeps a registration under: the one given, else the one its envelope names */
export function formatOfInput (input: RegisterInput): PeerRecordFormat {
  return input.format ?? peerRecordFormatOf(input.signedPeerRecord) ?? 'standard'
}

/**
 * The check every store runs on a REGISTER before touching its data, so that all of them refuse the same input
 * with the same message. Throws an `InvalidParametersError` that names the field and its value.
 */
export function checkRegisterInput (input: RegisterInput, limits: RegisterLimits): void {
  if (typeof input.peerId !== 'string' || input.peerId === '') {
    throw new InvalidParametersError(`register input peerId must be a non-empty string, got ${JSON.stringify(input.peerId)}`)
  }

  if (typeof input.namespace !== 'string' || input.namespace === '') {
    throw new InvalidParametersError(`register input namespace must be a non-empty string, got ${JSON.stringify(input.namespace)}`)
  }

  if (!(input.signedPeerRecord instanceof Uint8Array)) {
    throw new InvalidParametersError(`register input signedPeerRecord must be a Uint8Array, got ${typeof input.signedPeerRecord}`)
  }

  const maxRecordSize = limits.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE

  if (!Number.isSafeInteger(maxRecordSize) || maxRecordSize < 1) {
    throw new InvalidParametersError(`register limit maxRecordSize must be a positive integer, got ${maxRecordSize}`)
  }

  if (input.signedPeerRecord.byteLength > maxRecordSize) {
    throw new InvalidParametersError(`register input signedPeerRecord must be at most maxRecordSize (${maxRecordSize}) bytes, got ${input.signedPeerRecord.byteLength}`)
  }

  if (input.format != null && input.format !== 'standard' && input.format !== 'legacy') {
    throw new InvalidParametersError(`register input format must be 'standard' or 'legacy', got ${JSON.stringify(input.format)}`)
  }

  if (typeof input.recordSeq !== 'bigint' || input.recordSeq < 0n || input.recordSeq > MAX_UINT64) {
    throw new InvalidParametersError(`register input recordSeq must be a bigint within uint64, got ${String(input.recordSeq)}`)
  }

  if (!Number.isSafeInteger(input.expiresAt)) {
    throw new InvalidParametersError(`register input expiresAt must be an integer number of milliseconds, got ${input.expiresAt}`)
  }
}
