/**
 * Named one-shot timers that can all be cancelled at once, so that `stop()` leaves nothing behind.
 */

export type TimerErrorHandler = (key: string, err: unknown) => void

interface Entry {
  timer: ReturnType<typeof setTimeout>
  due: number
}

export class Timers {
  private readonly entries = new Map<string, Entry>()
  private readonly onError: TimerErrorHandler
  private closed = true

  constructor (onError: TimerErrorHandler) {
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
    const due = Date.now() + Math.max(0, delay)
    const timer = setTimeout(() => {
      if (this.entries.get(key)?.timer !== timer) {
        return
      }

      this.entries.delete(key)

      try {
        Promise.resolve(fn()).catch(err => { this.onError(key, err) })
      } catch (err) {
        this.onError(key, err)
      }
    }, Math.max(0, delay))
    this.entries.set(key, { timer, due })
  }

  /** Moves the timer under `key` earlier to `delay` from now, if it is due later than that (or is not set) */
  setEarlier (key: string, delay: number, fn: () => unknown): void {
    const entry = this.entries.get(key)

    if (entry != null && entry.due <= Date.now() + delay) {
      return
    }

    this.set(key, delay, fn)
  }

  cancel (key: string): void {
    const entry = this.entries.get(key)

    if (entry != null) {
      clearTimeout(entry.timer)
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
      clearTimeout(entry.timer)
    }

    this.entries.clear()
  }
}
