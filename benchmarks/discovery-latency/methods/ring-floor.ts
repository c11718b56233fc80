/**
 * The floor of discovery: every node is given, up front, the addresses of the 3 nodes after it on a ring and
 * dials them, so each ends with 3 peers it dialed and 3 that dialed it: 3N connections, the least work that gives
 * everyone 6 topic peers. Nothing is discovered, so the time to quota is the time to open 3 connections and let
 * gossipsub learn 6 subscriptions, with every node doing the same at once on the same CPU. Every other method is
 * compared with this one ("x floor").
 */
import { debug } from '../../lib/print.ts'
import { runSwarm } from '../harness.ts'
import type { BenchNode } from '../../lib/nodes.ts'
import type { DiscoveryMethod } from '../types.ts'

/** Half of gossipsub's D: each node dials these, and is dialed by as many */
const DIALS = 3

/** Waits until `node` listens (it starts at the same moment as the one dialing it) */
async function listening (node: BenchNode): Promise<void> {
  while (node.status !== 'started' || node.getMultiaddrs().length === 0) {
    if (node.status === 'stopping' || node.status === 'stopped') {
      throw new Error('stopped')
    }
    await new Promise(resolve => setTimeout(resolve, 2))
  }
}

export const method: DiscoveryMethod = {
  name: 'ring-floor',
  label: 'floor: ring neighbours known',
  description: `Each node is given the addresses of the ${DIALS} next nodes of a ring and dials them; nothing is discovered.`,

  async run (env) {
    return runSwarm(env, {
      freshness: false,
      async infrastructure () {
        return { nodes: [] }
      },
      nodeInit () {
        return {}
      },
      afterStart (node, i, helpers, role) {
        if (role !== 'swarm') {
          return
        }

        for (let k = 1; k <= DIALS; k++) {
          const target = helpers.nodes[(i + k) % helpers.nodes.length]
          void listening(target)
            .then(async () => node.dial(target.getMultiaddrs()))
            .catch((err: any) => { debug(`ring dial failed: ${err.message}`) })
        }
      }
    })
  }
}
