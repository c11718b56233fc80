/**
 * SIGINT and SIGTERM as the command hears them: the first asks for a clean stop, a second ends a stop that is taking
 * too long. The handlers are installed once, for the whole life of the process, and never removed: while a signal
 * has no handler its default action is back in place (ending the process with 128 + its number, 143 for SIGTERM),
 * and a second signal sent in the instant between removing one handler and adding the next (GNU `timeout` signals
 * the process and then its group) killed the command before it could stop cleanly or say why.
 */

export interface StopSignals {
  /** Resolves with the name of the `n`th signal (1 for the first), at once when it has come already */
  nth(n: number): Promise<NodeJS.Signals>
}

/** Signals remembered by name; a flood of them is counted past this, not kept */
const REMEMBERED = 8

let installed: StopSignals | undefined

/** The process's stop signals, their handlers installed on the first call */
export function stopSignals (): StopSignals {
  if (installed != null) {
    return installed
  }

  const received: NodeJS.Signals[] = []
  let count = 0
  const waiting: Array<{ n: number, resolve(signal: NodeJS.Signals): void }> = []

  const onSignal = (signal: NodeJS.Signals): void => {
    count++

    if (received.length < REMEMBERED) {
      received.push(signal)
    }

    for (const waiter of waiting.filter(waiter => waiter.n <= count)) {
      waiting.splice(waiting.indexOf(waiter), 1)
      waiter.resolve(received[Math.min(waiter.n, received.length) - 1])
    }
  }

  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  installed = {
    async nth (n) {
      if (n <= count) {
        return received[Math.min(n, received.length) - 1]
      }

      return new Promise(resolve => {
        waiting.push({ n, resolve })
      })
    }
  }

  return installed
}
