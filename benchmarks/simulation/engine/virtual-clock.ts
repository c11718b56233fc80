/**
 * Simulated time: a {@link Clock} whose timers sit in a binary heap ordered by due time (then by the order they
 * were set), and a loop that fires them one by one, letting every promise chain a timer started settle before the
 * next timer fires, as Node does between two timer callbacks. Nothing waits on the wall clock, so a simulated hour
 * takes as long as the work done in it.
 *
 * The promise chains must wait only on other promises and on this clock: the loop settles them with one
 * `setImmediate`, which runs after every microtask queued so far, but not after real I/O or real timers.
 */
import type { Clock, TimerHandle } from '../../../src/discovery/clock.ts'

interface Timer {
  due: number
  order: number
  fn: (() => void) | undefined
}

/** Lets every promise chain that waits only on other promises settle */
async function settle (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

export class VirtualClock implements Clock {
  private time: number
  private heap: Timer[] = []
  private order = 0
  private cancelled = 0
  /** Timer callbacks run so far */
  fired = 0

  /** `start`: the time the simulation starts at, in ms since the epoch */
  constructor (start: number) {
    this.time = start
  }

  now (): number {
    return this.time
  }

  setTimeout (fn: () => void, ms: number): TimerHandle {
    if (Number.isNaN(ms)) {
      // a delay computed from something undefined: a bug of the model, not a timer to fire at once
      throw new TypeError('setTimeout: the delay is NaN')
    }

    const timer: Timer = { due: this.time + Math.max(0, ms), order: this.order++, fn }
    this.push(timer)
    return timer
  }

  clearTimeout (handle: TimerHandle): void {
    const timer = handle as Timer | undefined

    if (timer?.fn != null) {
      timer.fn = undefined
      this.cancelled++

      // cancelled timers stay in the heap until they surface; rebuild it when they are the majority
      if (this.cancelled > 1024 && this.cancelled > this.heap.length / 2) {
        this.heap = this.heap.filter(t => t.fn != null)
        this.cancelled = 0

        for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) {
          this.down(i)
        }
      }
    }
  }

  /** Timers set and neither fired nor cancelled */
  get pending (): number {
    return this.heap.length - this.cancelled
  }

  /**
   * Fires every timer due up to `end` in order, settling the promise chains after each, then moves the time to
   * `end`. `shouldStop` is asked between two timers: true ends the run early, at the time reached.
   */
  async runUntil (end: number, shouldStop?: () => boolean): Promise<void> {
    await settle()

    while (this.heap.length > 0) {
      const next = this.heap[0]

      if (next.fn == null) {
        this.pop()
        this.cancelled--
        continue
      }

      if (next.due > end) {
        break
      }

      this.pop()
      this.time = Math.max(this.time, next.due)
      const fn = next.fn
      next.fn = undefined
      this.fired++
      fn()
      await settle()

      if (shouldStop?.() === true) {
        return
      }
    }

    this.time = Math.max(this.time, end)
    await settle()
  }

  private before (a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order)
  }

  private push (timer: Timer): void {
    const heap = this.heap
    heap.push(timer)
    let i = heap.length - 1

    while (i > 0) {
      const parent = (i - 1) >> 1

      if (!this.before(heap[i], heap[parent])) {
        break
      }

      [heap[i], heap[parent]] = [heap[parent], heap[i]]
      i = parent
    }
  }

  private pop (): void {
    const heap = this.heap
    const last = heap.pop()

    if (heap.length > 0 && last != null) {
      heap[0] = last
      this.down(0)
    }
  }

  private down (start: number): void {
    const heap = this.heap
    let i = start

    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i

      if (left < heap.length && this.before(heap[left], heap[smallest])) {
        smallest = left
      }

      if (right < heap.length && this.before(heap[right], heap[smallest])) {
        smallest = right
      }

      if (smallest === i) {
        return
      }

      [heap[i], heap[smallest]] = [heap[smallest], heap[i]]
      i = smallest
    }
  }
}
