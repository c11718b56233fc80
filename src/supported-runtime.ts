/**
 * libp2p v3 needs Node.js 22 or newer (it calls `Promise.withResolvers`, among others): on Node.js 20 it fails deep
 * inside, e.g. "Promise.withResolvers is not a function" from a queue, long after the node was configured. The
 * factories and the `rendezvous-server` command check the runtime first and say so in one line. The check is
 * made once per process, and costs a string split.
 */
import { UnsupportedRuntimeError } from './errors.ts'

/** The oldest Node.js major version libp2p v3 runs on */
export const MIN_NODE_MAJOR = 22

/**
 * Why this runtime cannot run libp2p v3, or undefined when it can: on Node.js, its version (`process.versions.node`);
 * elsewhere (browsers, other runtimes), whether `Promise.withResolvers`, the first thing libp2p v3 calls that older
 * runtimes lack, is there
 */
export function runtimeProblem (nodeVersion: string | undefined, promise: PromiseConstructor = Promise): string | undefined {
  if (nodeVersion != null) {
    const major = Number(nodeVersion.split('.')[0])

    return major >= MIN_NODE_MAJOR ? undefined : `libp2p v3 needs Node.js >= ${MIN_NODE_MAJOR}; this is Node.js ${nodeVersion}`
  }

  return typeof promise.withResolvers === 'function'
    ? undefined
    : 'libp2p v3 needs Promise.withResolvers (Node.js >= 22, Chrome 119, Firefox 121, Safari 17.4), which this runtime lacks'
}

let supported = false

/** Throws an {@link UnsupportedRuntimeError} on a runtime libp2p v3 cannot run on; checks only once */
export function assertSupportedRuntime (): void {
  if (supported) {
    return
  }

  const problem = runtimeProblem((globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node)

  if (problem != null) {
    throw new UnsupportedRuntimeError(problem)
  }

  supported = true
}
