/**
 * A clock that moves only when a test says so: timers fire in order as `tick` passes their due time, and the
 * promises they start settle before the next one fires. With a seeded `random`, a unit runs the same way every
 * time, in microseconds of real time. Kept beside sinon's fake timers on purpose: this one is the injected `Clock`
 * the discovery units (and the simulator's virtual clock) run on, and fakes no global; sinon's replace the globals
 * (setTimeout, Date) for code that has no injected clock (the server's self-registration, the client).
 */
import type { Clock, Runtime, TimerHandle } from '../../../../src/discovery/clock.ts'

interface FakeTimer {
  id: number
  due: number
  fn(): void
}

/** Lets every promise chain that waits only on other promises settle */
export async function settle (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

export class FakeClock implements Clock {
  private time: number
  private nextId = 1
  private timers: FakeTimer[] = []

  constructor (start = 1_000_000) {
    this.time = start
  }

  now (): number {
    return this.time
  }

  setTimeout (fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, due: this.time + Math.max(0, ms), fn }
    this.timers.push(timer)
    return timer.id
  }

  clearTimeout (handle: TimerHandle): void {
    this.timers = this.timers.filter(timer => timer.id !== handle)
  }

  /** Timers set and not fired */
  get pending (): number {
    return this.timers.length
  }

  /** When the next timer fires, if any */
  get nextDue (): number | undefined {
    return this.timers.reduce<number | undefined>((min, t) => min == null || t.due < min ? t.due : min, undefined)
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order, and settling after each */
  async tick (ms: number): Promise<void> {
    const target = this.time + ms
    await settle()

    for (;;) {
      const next = this.timers
        .filter(timer => timer.due <= target)
        .sort((a, b) => a.due - b.due || a.id - b.id)[0]

      if (next == null) {
        break
      }

      this.timers = this.timers.filter(timer => timer !== next)
      this.time = Math.max(this.time, next.due)
      next.fn()
      await settle()
    }

    this.time = target
    await settle()
  }
}

/** mulberry32: a small seeded generator, so that jitter and shuffles repeat from run to run */
export function seededRandom (seed = 42): () => number {
  let a = seed >>> 0

  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function fakeRuntime (seed?: number): Runtime & { clock: FakeClock } {
  return { clock: new FakeClock(), random: seededRandom(seed) }
}
