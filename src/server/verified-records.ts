/**
 * Signed peer records the server has already checked, remembered by their bytes, so that a record seen before is
 * not checked again.
 *
 * A node sends the same signed record in every REGISTER until its addresses change: once per namespace, and again
 * at every refresh. The signature check is most of what a REGISTER costs the server (~100 µs for Ed25519, more for
 * RSA or secp256k1), and it always gives the same answer for the same bytes. So the first REGISTER with a record
 * pays for the check and the ones after it find the result here.
 *
 * Only records that passed are kept, under their full bytes (never a hash of them), so no other bytes can be taken
 * for a checked record. What the check does not cover is left to the caller, for every request: that the record is
 * for the peer on the connection, and the limits on its addresses. The cache holds at most `maxEntries` records, on
 * quick-lru (two generations of `maxEntries / 2`: a record used since the last `maxEntries / 2` new ones stays, the
 * others go first); 0 turns it off.
 */
import { InvalidParametersError } from '@libp2p/interface'
import QuickLRU from 'quick-lru'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'

export interface VerifiedRecordsInit <T extends { envelope: Uint8Array }> {
  /** Most records remembered; 0 checks every record */
  maxEntries: number
  /** The check itself: opens `envelope` and verifies it, or throws */
  verify(envelope: Uint8Array): Promise<T>
}

export interface VerifiedRecordsStats {
  /** Records found here, not checked again */
  hits: number
  /** Records checked (whether or not they passed) */
  checks: number
  /** Records remembered now */
  size: number
}

export class VerifiedRecords <T extends { envelope: Uint8Array }> {
  private readonly init: VerifiedRecordsInit<T>
  /** By the envelope's bytes (base64); absent when the cache is off */
  private readonly records?: QuickLRU<string, Omit<T, 'envelope'>>
  private hits = 0
  private checks = 0

  constructor (init: VerifiedRecordsInit<T>) {
    if (!Number.isSafeInteger(init.maxEntries) || init.maxEntries < 0) {
      throw new InvalidParametersError(`VerifiedRecords maxEntries must be a non-negative integer, got ${init.maxEntries}`)
    }

    this.init = init

    if (init.maxEntries > 0) {
      // quick-lru holds up to twice its maxSize less one: this keeps it within maxEntries
      this.records = new QuickLRU({ maxSize: Math.floor((init.maxEntries + 1) / 2) })
    }
  }

  /** What `verify(envelope)` says, from memory when these bytes passed before; throws as `verify` does */
  async open (envelope: Uint8Array): Promise<T> {
    if (this.records == null) {
      this.checks++
      return this.init.verify(envelope)
    }

    const key = uint8ArrayToString(envelope, 'base64')
    const known = this.records.get(key)

    if (known != null) {
      this.hits++
      // the caller's bytes, not the ones first seen: nothing here keeps a request's buffer alive
      return { ...known, envelope } as unknown as T
    }

    this.checks++
    const record = await this.init.verify(envelope)
    const { envelope: _bytes, ...rest } = record
    this.records.set(key, rest)

    return record
  }

  /** Counts for metrics and tests: `size` walks the cache (quick-lru's own `size` stops at its `maxSize`), so it is not for a hot path */
  stats (): VerifiedRecordsStats {
    return { hits: this.hits, checks: this.checks, size: Array.from(this.records?.keys() ?? []).length }
  }
}
