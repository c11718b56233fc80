/**
 * The bytes of DISCOVER replies written and not yet taken by their peers, bounded server-wide and per peer, as the
 * memory store bounds the bytes of its registrations.
 *
 * A reply is written after its request has left its slot, and a peer that stops reading (its stream paused, its
 * TCP connection stalled behind a proxy) leaves it in this process: without a bound, replies of a megabyte that
 * nobody read held +508 MiB for 512 streams. A DISCOVER_RESPONSE is charged from when it is encoded until its bytes
 * have left its stream and the connection has taken them (the stream needs no drain), or until its stream ends:
 * its write timing out (the request's `timeout`) resets the stream, which drops what it still held. A reply that
 * cannot be charged is answered E_UNAVAILABLE at once rather than wait: waiting would keep the page in memory, the
 * very bytes this bounds, and a point whose budget stalled readers hold is busy for as long as they hold it.
 * REGISTER replies and refusals are a few dozen bytes and bounded by the streams themselves: they are not charged.
 */

/** Which bound a reply did not fit */
export type ReplyRefusal = 'total' | 'peer'

export interface ReplyBudgetInit {
  /** Bytes of replies in flight, all peers together */
  maxBytes: number
  /** Bytes of replies in flight to one peer */
  maxBytesPerPeer: number
}

export class ReplyBudget {
  private readonly init: ReplyBudgetInit
  private readonly perPeer = new Map<string, number>()
  private total = 0

  constructor (init: ReplyBudgetInit) {
    this.init = init
  }

  /** Bytes charged now, all peers together */
  get bytes (): number {
    return this.total
  }

  /** Bytes charged now to one peer */
  bytesOf (peer: string): number {
    return this.perPeer.get(peer) ?? 0
  }

  /** Charges `bytes` to `peer`: the charge to release once the reply is taken, or which bound it did not fit */
  charge (peer: string, bytes: number): ReplyCharge | ReplyRefusal {
    const peerBytes = this.bytesOf(peer)

    if (peerBytes + bytes > this.init.maxBytesPerPeer) {
      return 'peer'
    }

    if (this.total + bytes > this.init.maxBytes) {
      return 'total'
    }

    this.perPeer.set(peer, peerBytes + bytes)
    this.total += bytes
    return new ReplyCharge(this, peer, bytes)
  }

  /** @internal */
  refund (peer: string, bytes: number): void {
    this.total -= bytes
    const left = this.bytesOf(peer) - bytes

    if (left > 0) {
      this.perPeer.set(peer, left)
    } else {
      this.perPeer.delete(peer)
    }
  }
}

/** One reply's bytes, charged until `release()` */
export class ReplyCharge {
  private readonly budget: ReplyBudget
  private readonly peer: string
  private bytes: number

  constructor (budget: ReplyBudget, peer: string, bytes: number) {
    this.budget = budget
    this.peer = peer
    this.bytes = bytes
  }

  /** Gives the bytes back; once, whatever the number of calls */
  release (): void {
    if (this.bytes > 0) {
      this.budget.refund(this.peer, this.bytes)
      this.bytes = 0
    }
  }
}
