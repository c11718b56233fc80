/**
 * Time and chance as the discovery units see them. Every unit reads the time and sets its timers through a
 * {@link Clock}, and draws its jitter through a `random` function, so that unit tests (and a simulator) can run
 * them on a fake clock, deterministically and without waiting.
 */

import { MAX_TIMER_MS } from '../constants.ts'

/** An opaque timer handle, whatever the clock's `setTimeout` returns */
export type TimerHandle = unknown

export interface Clock {
  /** Milliseconds since the epoch (or since any fixed origin: only differences matter) */
  now(): number
  /** Runs `fn` once after `ms` milliseconds */
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** Node's timers overflow past 2^31 - 1 ms (about 24.8 days) and fire at once: no delay is longer than this */
export const MAX_TIMER_DELAY = MAX_TIMER_MS

/** The wall clock and the platform's timers */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(MAX_TIMER_DELAY, Math.max(0, ms))),
  clearTimeout: (handle) => { clearTimeout(handle as ReturnType<typeof setTimeout>) }
}

/** What a unit needs of its surroundings besides its components: a clock and a source of randomness in [0, 1) */
export interface Runtime {
  clock: Clock
  random(): number
}

export const systemRuntime: Runtime = {
  clock: systemClock,
  random: Math.random
}

/**
 * An AbortSignal that aborts after `ms` on `clock`; `clear()` when done with it so that no timer is left.
 * Hand-written, not `AbortSignal.timeout`: the timer runs on the injected clock (a simulator's virtual time)
 */
export function clockTimeout (clock: Clock, ms: number): { signal: AbortSignal, clear(): void } {
  const controller = new AbortController()
  const handle = clock.setTimeout(() => { controller.abort(new Error(`timed out after ${ms} ms`)) }, ms)
  return { signal: controller.signal, clear: () => { clock.clearTimeout(handle) } }
}

/**
 * Waits for `promise` to settle, at most `ms` on `clock`; resolves to whether it settled in time. Never rejects.
 * Hand-written, not race-signal: the deadline is a timer on the injected clock, not a signal
 */
export async function settleWithin (clock: Clock, promise: Promise<unknown>, ms: number): Promise<boolean> {
  let handle: TimerHandle | undefined
  const timedOut = new Promise<boolean>(resolve => { handle = clock.setTimeout(() => { resolve(false) }, ms) })

  try {
    return await Promise.race([promise.then(() => true, () => true), timedOut])
  } finally {
    clock.clearTimeout(handle)
  }
}
