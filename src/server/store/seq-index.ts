/**
 * Items ordered by a strictly increasing sequence number, with cheap removal anywhere and cheap reads of
 * "the next `limit` items after position S" (what a DISCOVER with a cookie asks for).
 *
 * The store hands out sequence numbers in increasing order, so a new item always belongs at the end: the index
 * is a plain array in `seq` order and finding a position is a binary search. Removing an item leaves a
 * tombstone in its slot (it keeps its `seq`, so the binary search still works) instead of shifting the array.
 *
 * Reading past tombstones must not cost more than the items read, or a burst of removals right after a
 * cursor would make every DISCOVER from that cursor slow. So each slot has a "next live slot" pointer, a
 * union-find over the slots that only ever links a slot to the slot after it: skipping a run of tombstones
 * follows the pointers once and path compression makes the next skip over the same run a single step. A new item
 * appended at the end is found by pointers that ran off the end, so appends need no pointer fix-up.
 *
 * When tombstones outnumber live items (and there are more than a few) the arrays are compacted in place. A
 * compaction costs O(slots) but needs at least as many removals since the previous one, so removal is amortized
 * O(log n) (the binary search) and memory stays within twice the live items.
 */

/** What the index needs to know of an item */
export interface Sequenced {
  /** Strictly increasing across the items appended to one index */
  readonly seq: number
}

/** Compacting a small index is cheap anyway; this stops tiny indices from compacting on every removal */
const MIN_TOMBSTONES_BEFORE_COMPACTION = 32

export class SeqIndex<T extends Sequenced> {
  /** Items in `seq` order; a removed item stays in its slot as a tombstone until the next compaction */
  private items: T[] = []
  /** `next[i] === i` when slot i is live; otherwise a slot at or before the next live one (or `items.length`) */
  private next: number[] = []
  private tombstones = 0

  /** How many live items the index holds */
  get size (): number {
    return this.items.length - this.tombstones
  }

  /** How many slots (live and tombstones) the index holds; for tests of its memory bound */
  get slots (): number {
    return this.items.length
  }

  /** Adds an item whose `seq` is above every `seq` appended before */
  append (item: T): void {
    const last = this.items[this.items.length - 1]

    if (last != null && item.seq <= last.seq) {
      throw new RangeError(`seq ${item.seq} is not above the last seq ${last.seq}`)
    }

    this.next.push(this.items.length)
    this.items.push(item)
  }

  /** Removes the item; returns false when this index does not hold it live */
  remove (item: T): boolean {
    const slot = this.slotOf(item.seq)

    if (slot < 0 || this.items[slot] !== item || this.next[slot] !== slot) {
      return false
    }

    this.next[slot] = slot + 1
    this.tombstones++

    if (this.tombstones === this.items.length) {
      // nothing live: start afresh rather than keep the tombstones
      this.items = []
      this.next = []
      this.tombstones = 0
    } else if (this.tombstones >= MIN_TOMBSTONES_BEFORE_COMPACTION && this.tombstones > this.size) {
      this.compact()
    }

    return true
  }

  /** Live items with `seq > afterSeq`, in `seq` order, at most `limit` of them */
  after (afterSeq: number, limit: number): T[] {
    const page: T[] = []
    let slot = this.firstSlotAfter(afterSeq)

    while (page.length < limit) {
      slot = this.liveSlotFrom(slot)

      if (slot >= this.items.length) {
        break
      }

      page.push(this.items[slot])
      slot++
    }

    return page
  }

  /** Every live item in `seq` order; O(slots), for tests and diagnostics */
  toArray (): T[] {
    return this.items.filter((_, slot) => this.next[slot] === slot)
  }

  /** The slot holding `seq` (live or tombstone), or -1 */
  private slotOf (seq: number): number {
    const slot = this.firstSlotAfter(seq - 1)
    return slot < this.items.length && this.items[slot].seq === seq ? slot : -1
  }

  /** The first slot whose item has `seq > afterSeq` (binary search over live items and tombstones alike) */
  private firstSlotAfter (afterSeq: number): number {
    let lo = 0
    let hi = this.items.length

    while (lo < hi) {
      const mid = (lo + hi) >>> 1

      if (this.items[mid].seq <= afterSeq) {
        lo = mid + 1
      } else {
        hi = mid
      }
    }

    return lo
  }

  /** The first live slot at or after `slot`, or `items.length`; compresses the path it walked */
  private liveSlotFrom (slot: number): number {
    const end = this.items.length
    let live = slot

    while (live < end && this.next[live] !== live) {
      live = this.next[live]
    }

    // point every tombstone on the way straight at the live slot (or the end), so the next walk is one step
    while (slot < end && slot !== live) {
      const following = this.next[slot]
      this.next[slot] = live
      slot = following
    }

    return live
  }

  /**
   * Drops the tombstones in place, in one pass and without allocating: on an index of a million slots (a mass
   * expiry) building new arrays took ~90 ms and a garbage collection, one pass over the old ones takes a few ms
   */
  private compact (): void {
    let live = 0

    for (let slot = 0; slot < this.items.length; slot++) {
      if (this.next[slot] === slot) {
        this.items[live++] = this.items[slot]
      }
    }

    this.items.length = live
    this.next.length = live

    for (let slot = 0; slot < live; slot++) {
      this.next[slot] = slot
    }

    this.tombstones = 0
  }
}
