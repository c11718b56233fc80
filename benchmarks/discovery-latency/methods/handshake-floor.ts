/**
 * The floor: one connection handshake (transport, noise, yamux) on the same transport, from a fresh node to a
 * node that is already listening. No discovery method can find and connect a peer faster than this.
 */
import { createBenchNode, stopAll } from '../../lib/nodes.ts'
import type { BenchNode } from '../../lib/nodes.ts'
import type { DiscoveryMethod, NodeTiming } from '../types.ts'

/** At most this many handshakes: the distribution is stable long before N = 100 */
const MAX_SAMPLES = 50

/** Handshakes made first and not counted, so that the JIT has compiled the code paths being timed */
const WARMUP = 3

export const method: DiscoveryMethod = {
  name: 'handshake-floor',
  label: 'floor: one handshake',
  description: 'A fresh node dials a listening node it already knows: transport + noise + yamux, nothing else.',

  async run (env) {
    const listener = await createBenchNode({ transport: env.transport, start: true })
    const target = listener.getMultiaddrs()[0]
    const nodes: NodeTiming[] = []

    try {
      for (let i = 0; i < WARMUP + Math.min(env.nodes, MAX_SAMPLES); i++) {
        let dialer: BenchNode | undefined
        try {
          dialer = await createBenchNode({ transport: env.transport, start: true })
          const startedAt = performance.now()
          await dialer.dial(target)
          const ms = performance.now() - startedAt
          if (i >= WARMUP) {
            nodes.push({ infraMs: ms, firstPeerMs: ms, quotaMs: ms })
          }
        } finally {
          await stopAll([dialer])
        }
      }
    } finally {
      await stopAll([listener])
    }

    return { nodes, notes: [`${nodes.length} sequential handshakes; time-to-quota here is one handshake`] }
  }
}
