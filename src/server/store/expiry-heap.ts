/**
 * A binary min-heap of items by expiry time, so that removing what has expired costs O(log n) per expired item
 * and nothing for the rest: no timer per registration, no scan of the whole store.
 *
 * Each item remembers its own slot in the heap (`heapSlot`), so an item that leaves early (unregistered or
 * replaced by a refresh) is taken out in O(log n) instead of lingering until it would have expired.
 */

/** What the heap needs to know of an item */
export interface Expiring {
  /** Milliseconds since the epoch; the heap orders by it */
  readonly expiresAt: number
  /** The item's slot in the heap, kept up to date by the heap; -1 when the item is not in it */
  heapSlot: number
}

export class ExpiryHeap<T extends Expiring> {
  private readonly items: T[] = []

  get size (): number {
    return this.items.length
  }

  push (item: T): void {
    if (!Number.isFinite(item.expiresAt)) {
      // NaN would break the ordering for every item after it
      throw new RangeError(`expiresAt ${item.expiresAt} is not a finite number`)
    }

    item.heapSlot = this.items.length
    this.items.push(item)
    this.up(item.heapSlot)
  }

  /** Removes and returns the item expiring first if it expires at or before `now` */
  popExpired (now: number): T | undefined {
    const first = this.items[0]

    if (first == null || first.expiresAt > now) {
      return undefined
    }

    this.remove(first)
    return first
  }

  /** Takes an item out of the heap; returns false when it was not in it */
  remove (item: T): boolean {
    const slot = item.heapSlot

    if (slot < 0 || this.items[slot] !== item) {
      return false
    }

    const last = this.items.pop() as T
    item.heapSlot = -1

    if (last !== item) {
      this.items[slot] = last
      last.heapSlot = slot
      // the item moved into the hole may belong above or below it
      this.down(this.up(slot))
    }

    return true
  }

  private up (slot: number): number {
    const item = this.items[slot]

    while (slot > 0) {
      const parentSlot = (slot - 1) >>> 1
      const parent = this.items[parentSlot]

      if (parent.expiresAt <= item.expiresAt) {
        break
      }

      this.items[slot] = parent
      parent.heapSlot = slot
      slot = parentSlot
    }

    this.items[slot] = item
    item.heapSlot = slot
    return slot
  }

  private down (slot: number): void {
    const item = this.items[slot]
    const count = this.items.length

    while (true) {
      let child = slot * 2 + 1

      if (child >= count) {
        break
      }

      if (child + 1 < count && this.items[child + 1].expiresAt < this.items[child].expiresAt) {
        child++
      }

      if (this.items[child].expiresAt >= item.expiresAt) {
        break
      }

      this.items[slot] = this.items[child]
      this.items[slot].heapSlot = slot
      slot = child
    }

    this.items[slot] = item
    item.heapSlot = slot
  }
}
