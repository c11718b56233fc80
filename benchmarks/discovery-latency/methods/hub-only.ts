/**
 * The naive baseline: every node knows one hub (a bootstrap peer that is also a relay) and connects to it,
 * nothing more. Gossipsub then works through the hub, but no node ever learns of another, so none reaches the
 * quota: the row shows what "connect to the hub" costs and that it is not enough.
 */
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { knownPeers } from '../../lib/known-peers.ts'
import { createBenchNode, stopAll } from '../../lib/nodes.ts'
import { RELAY_TRANSPORT, runRelayNodes, runSwarm } from '../harness.ts'
import type { BenchNode } from '../../lib/nodes.ts'
import type { BenchEnv, DiscoveryMethod } from '../types.ts'

/** A started hub: bootstrap peer, gossipsub member of `topics`, relay server */
export async function startHub (env: BenchEnv, topics: string[] = [env.topic], services: Record<string, (components: any) => unknown> = {}): Promise<BenchNode> {
  const hub = await createBenchNode({
    transport: env.transport,
    start: true,
    services: {
      relay: circuitRelayServer({ reservations: { maxReservations: 10_000 } }),
      ...services
    },
    connectionManager: { maxConnections: 10_000 }
  })
  for (const topic of topics) {
    hub.services.pubsub.subscribe(topic)
  }
  return hub
}

/**
 * Bootstrap to `hub` at once, as `@libp2p/bootstrap` would (see `known-peers.ts` for why it is not used itself;
 * its default first dial also waits 1 s, which would only add a constant)
 */
export function bootstrapTo (hub: BenchNode): ReturnType<typeof knownPeers> {
  return knownPeers(hub.getMultiaddrs().map(ma => ma.toString()))
}

export const method: DiscoveryMethod = {
  name: 'hub-only',
  label: 'hub only (baseline)',
  description: 'Each node dials the one hub it knows and waits; it never learns of other nodes.',

  async run (env) {
    return runSwarm(env, {
      canReachQuota: false,
      async infrastructure () {
        return { nodes: [await startHub(env)] }
      },
      nodeInit (_, infra) {
        return { peerDiscovery: [bootstrapTo(infra.nodes[0])] }
      }
    })
  },

  async relay (env, count, boundMs) {
    const hub = await startHub({ ...env, transport: RELAY_TRANSPORT })
    try {
      return await runRelayNodes(env, count, boundMs, () => ({ peerDiscovery: [bootstrapTo(hub)] }))
    } finally {
      await stopAll([hub])
    }
  }
}
