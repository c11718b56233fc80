/**
 * Bounded waiting: every wait in the browser suite goes through `pollUntil`, so that a step that never happens
 * fails with a message naming what was awaited and the last thing seen, instead of hanging until mocha's timeout.
 */

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
  const interval = options.interval ?? 100
  const describe = options.describe ?? ((last: unknown) => safeJson(last))
  const deadline = Date.now() + timeout
  let last: unknown
  let lastError: unknown

  while (true) {
    try {
      const value = await check()
      if (value !== undefined && value !== null && value !== false) {
        return value
      }
      last = value
      lastError = undefined
    } catch (err) {
      lastError = err
    }

    if (Date.now() >= deadline) {
      const seen = lastError != null ? `last error: ${String((lastError as Error).message ?? lastError)}` : `last seen: ${describe(last)}`
      throw new Error(`Timed out after ${timeout} ms waiting for ${what} (${seen})`)
    }

    await new Promise(resolve => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))))
  }
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
