/**
 * Requests being handled at once, all peers together, bounded by `maxConcurrentRequests`: past it a request is
 * answered E_UNAVAILABLE rather than pile up work behind a busy store.
 *
 * A slot is held from when a request has been read until the store has really answered it (a store that hangs
 * fills the slots, and the point says it is busy), but never while the request only waits: a DISCOVER that waits
 * for its requester's identify gives its slot back for the wait and needs a free one again after it, so requests
 * that wait (a crowd of fresh identities that never run identify) cannot take honest requests' places.
 */
import { RendezvousError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'

const BUSY = 'rendezvous point is busy, retry later'

/** The refusal of a request that finds every slot taken */
export function busy (): RendezvousError {
  return new RendezvousError(Message.ResponseStatus.E_UNAVAILABLE, BUSY)
}

export class RequestSlots {
  private readonly max: number
  private taken = 0

  constructor (max: number) {
    this.max = max
  }

  /** Slots held now */
  get inUse (): number {
    return this.taken
  }

  /** A slot, or `undefined` when all are taken */
  take (): Slot | undefined {
    if (this.taken >= this.max) {
      return undefined
    }

    this.taken++
    return new Slot(this)
  }

  /** @internal */
  give (): void {
    this.taken--
  }

  /** @internal */
  retake (): boolean {
    if (this.taken >= this.max) {
      return false
    }

    this.taken++
    return true
  }
}

/** One request's slot */
export class Slot {
  private readonly slots: RequestSlots
  private held = true

  constructor (slots: RequestSlots) {
    this.slots = slots
  }

  /** Gives the slot back; once, whatever the number of calls */
  release (): void {
    if (this.held) {
      this.held = false
      this.slots.give()
    }
  }

  /**
   * Runs `wait` without the slot, then takes one again: rejects with E_UNAVAILABLE when none is free by then (the
   * point got busy meanwhile), as a request that had arrived then would be
   */
  async without <T> (wait: () => Promise<T>): Promise<T> {
    this.release()
    const result = await wait()

    if (!this.slots.retake()) {
      throw busy()
    }

    this.held = true
    return result
  }
}
