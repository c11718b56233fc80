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
 * for the peer on the connection, and the limits on its addresses. The cache holds at most `maxEntries` records and
 * forgets the least recently used first; 0 turns it off.
 */
import { InvalidParametersError } from '@libp2p/interface'
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
  /** By the envelope's bytes (base64), in order of last use: the first one is the next to go */
  private readonly records = new Map<string, Omit<T, 'envelope'>>()
  private hits = 0
  private checks = 0

  constructor (init: VerifiedRecordsInit<T>) {
    if (!Number.isSafeInteger(init.maxEntries) || init.maxEntries < 0) {
      throw new InvalidParametersError(`VerifiedRecords maxEntries must be a non-negative integer, got ${init.maxEntries}`)
    }

    this.init = init
  }

  /** What `verify(envelope)` says, from memory when these bytes passed before; throws as `verify` does */
  async open (envelope: Uint8Array): Promise<T> {
    if (this.init.maxEntries === 0) {
      this.checks++
      return this.init.verify(envelope)
    }

    const key = uint8ArrayToString(envelope, 'base64')
    const known = this.records.get(key)

    if (known != null) {
      this.hits++
      // most recently used goes last
      this.records.delete(key)
      this.records.set(key, known)
      // the caller's bytes, not the ones first seen: nothing here keeps a request's buffer alive
      return { ...known, envelope } as unknown as T
    }

    this.checks++
    const record = await this.init.verify(envelope)
    const { envelope: _bytes, ...rest } = record
    this.records.set(key, rest)

    if (this.records.size > this.init.maxEntries) {
      const oldest = this.records.keys().next().value

      if (oldest != null) {
        this.records.delete(oldest)
      }
    }

    return record
  }

  stats (): VerifiedRecordsStats {
    return { hits: this.hits, checks: this.checks, size: this.records.size }
  }
}
