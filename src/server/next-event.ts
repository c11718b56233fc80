/**
 * Waits for the first of several events of a stream, or for a signal to abort. race-event (what libp2p uses)
 * races one event name against a signal; a stream's reader and its writer each wait for any of three.
 */
import type { MessageStreamEvents, Stream } from '@libp2p/interface'

/** Resolves at the first of `names` that `stream` emits; rejects with the signal's reason when `signal` aborts first */
export async function nextEvent (stream: Stream, names: ReadonlyArray<keyof MessageStreamEvents>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()

  await new Promise<void>((resolve, reject) => {
    const stop = (): void => {
      for (const name of names) {
        stream.removeEventListener(name, done)
      }
      signal.removeEventListener('abort', aborted)
    }
    const done = (): void => {
      stop()
      resolve()
    }
    const aborted = (): void => {
      stop()
      reject(signal.reason)
    }

    for (const name of names) {
      stream.addEventListener(name, done)
    }
    signal.addEventListener('abort', aborted)
  })
}
