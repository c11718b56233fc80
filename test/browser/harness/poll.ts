/**
 * Bounded waiting: every wait in the browser suite goes through `pollUntil`, so that a step that never happens
 * fails with a message naming what was awaited and the last thing seen, instead of hanging until mocha's timeout.
 * The polling is p-wait-for's; this adds the message, and takes a check that throws as "not yet".
 */
import pWaitFor from 'p-wait-for'

export interface PollOptions {
  /** Give up after this long, in ms. Default: 10000 */
  timeout?: number
  /** Time between two checks, in ms. Default: 100 */
  interval?: number
  /** Describes the last value seen, for the failure message. Default: JSON of the value */
  describe?(last: unknown): string
}

/**
 * Calls `check` until it returns something other than `undefined`, `null` or `false`, and returns that.
 * A `check` that throws counts as "not yet" (its error is quoted if the wait times out).
 */
export async function pollUntil <T> (what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: PollOptions = {}): Promise<T> {
  const timeout = options.timeout ?? 10_000
  const describe = options.describe ?? ((last: unknown) => safeJson(last))
  let last: unknown
  let lastError: unknown

  return pWaitFor(async () => {
    try {
      const value = await check()
      if (value !== undefined && value !== null && value !== false) {
        return pWaitFor.resolveWith(value)
      }
      last = value
      lastError = undefined
    } catch (err) {
      lastError = err
    }
    return false
  }, {
    interval: options.interval ?? 100,
    timeout: {
      milliseconds: timeout,
      fallback: () => {
        const seen = lastError != null ? `last error: ${String((lastError as Error).message ?? lastError)}` : `last seen: ${describe(last)}`
        throw new Error(`Timed out after ${timeout} ms waiting for ${what} (${seen})`)
      }
    }
  })
}

/** Rejects with a clear message when `promise` takes longer than `timeout` ms */
export async function withTimeout <T> (what: string, promise: Promise<T>, timeout: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`Timed out after ${timeout} ms: ${what}`)) }, timeout)
      })
    ])
  } finally {
    clearTimeout(timer)
  }
}

function safeJson (value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value)
    return text.length > 600 ? `${text.slice(0, 600)}…` : text
  } catch {
    return String(value)
  }
}
