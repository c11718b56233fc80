/**
 * Named one-shot timers on a {@link Clock} that can all be cancelled at once, so that `stop()` leaves nothing
 * behind.
 */
import { MAX_TIMER_DELAY } from './clock.ts'
import type { Clock, TimerHandle } from './clock.ts'

export type TimerErrorHandler = (key: string, err: unknown) => void

interface Entry {
  handle: TimerHandle
  due: number
}

export class Timers {
  private readonly entries = new Map<string, Entry>()
  private readonly clock: Clock
  private readonly onError: TimerErrorHandler
  private closed = true

  constructor (clock: Clock, onError: TimerErrorHandler) {
    this.clock = clock
    this.onError = onError
  }

  /** Accept timers again (after `clear()` from a previous stop) */
  open (): void {
    this.closed = false
  }

  /**
   * Runs `fn` after `delay` ms, replacing any timer already set under `key`. A rejection or throw from `fn` goes
   * to the error handler, never unhandled. Does nothing once closed.
   */
  set (key: string, delay: number, fn: () => unknown): void {
    if (this.closed) {
      return
    }

    this.cancel(key)
    const wait = Math.min(MAX_TIMER_DELAY, Math.max(0, delay))
    const entry: Entry = { handle: undefined, due: this.clock.now() + wait }
    entry.handle = this.clock.setTimeout(() => {
      if (this.entries.get(key) !== entry) {
        return
      }

      this.entries.delete(key)

      try {
        Promise.resolve(fn()).catch(err => { this.onError(key, err) })
      } catch (err) {
        this.onError(key, err)
      }
    }, wait)
    this.entries.set(key, entry)
  }

  /** Moves the timer under `key` earlier to `delay` from now, if it is due later than that (or is not set) */
  setEarlier (key: string, delay: number, fn: () => unknown): void {
    const entry = this.entries.get(key)

    if (entry != null && entry.due <= this.clock.now() + delay) {
      return
    }

    this.set(key, delay, fn)
  }

  cancel (key: string): void {
    const entry = this.entries.get(key)

    if (entry != null) {
      this.clock.clearTimeout(entry.handle)
      this.entries.delete(key)
    }
  }

  /** When the timer under `key` fires (ms since epoch), if set */
  due (key: string): number | undefined {
    return this.entries.get(key)?.due
  }

  has (key: string): boolean {
    return this.entries.has(key)
  }

  get size (): number {
    return this.entries.size
  }

  /** Cancels every timer and refuses new ones until `open()` */
  clear (): void {
    this.closed = true

    for (const entry of this.entries.values()) {
      this.clock.clearTimeout(entry.handle)
    }

    this.entries.clear()
  }
}
