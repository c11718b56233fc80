/**
 * This package: every node knows one rendezvous server and runs `rendezvousDiscovery`, which registers the
 * node under its gossipsub topic, discovers the topic's registrations while the quota is unmet, and dials them
 * itself (its dialer policy). Nothing else is added: no hand-written dialer as the alternatives need.
 */
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { rendezvousDiscovery } from '../../../src/discovery/index.ts'
import { rendezvousServer } from '../../../src/server/index.ts'
import { createBenchNode, stopAll } from '../../lib/nodes.ts'
import { RELAY_TRANSPORT, runRelayNodes, runSwarm } from '../harness.ts'
import { RecordingStore } from '../recording-store.ts'
import type { RendezvousDiscoveryComponents, RendezvousDiscoveryInit, RendezvousDiscoveryService } from '../../../src/discovery/index.ts'
import type { BenchNode } from '../../lib/nodes.ts'
import type { BenchEnv, DiscoveryMethod } from '../types.ts'
import type { PeerDiscovery } from '@libp2p/interface'

/** A started rendezvous point with the server's default options, on a store that records what reaches it */
export async function startRendezvousServer (env: BenchEnv, store: RecordingStore = new RecordingStore()): Promise<BenchNode> {
  return createBenchNode({
    transport: env.transport,
    start: true,
    pubsub: false,
    services: { rendezvous: rendezvousServer({ store }) },
    connectionManager: { maxConnections: 10_000 }
  })
}

function pointsOf (server: BenchNode): string[] {
  return server.getMultiaddrs().map(ma => ma.toString())
}

/** `rendezvousDiscovery(init)`, keeping each node's module by peer id so the benchmark can read its status */
function kept (modules: Map<string, RendezvousDiscoveryService>, init: RendezvousDiscoveryInit): (components: RendezvousDiscoveryComponents) => PeerDiscovery & RendezvousDiscoveryService {
  const factory = rendezvousDiscovery(init)
  return (components) => {
    const module = factory(components)
    modules.set(components.peerId.toString(), module)
    return module
  }
}

export function rendezvousMethod (name: string, label: string, options: RendezvousDiscoveryInit = {}): DiscoveryMethod {
  return {
    name,
    label,
    description: `Each node knows one rendezvous server; rendezvousDiscovery registers it under its topic, discovers and dials${options.discoverInterval == null ? '' : ` (discoverInterval ${options.discoverInterval} ms)`}.`,

    async run (env) {
      const store = new RecordingStore()
      const modules = new Map<string, RendezvousDiscoveryService>()
      return runSwarm(env, {
        async infrastructure () {
          return {
            nodes: [await startRendezvousServer(env, store)],
            requests: () => ({ ...store.requests }),
            registeredAt: (peer) => store.registeredAt(peer)
          }
        },
        discoverQueries (node) {
          return modules.get(node.peerId.toString())?.status.scheduler.discoveries.reduce((sum, d) => sum + d.queries, 0) ?? 0
        },
        nodeInit (_, infra, role) {
          return {
            peerDiscovery: [kept(modules, {
              ...options,
              points: pointsOf(infra.nodes[0]),
              // the topic benchmark: nobody needs a relay (memory and loopback addresses count as private)
              relay: 'never',
              // the late node of the freshness phase registers but does not look for peers itself
              quotas: { topic: role === 'late' ? 0 : env.quota }
            })]
          }
        }
      })
    },

    async relay (env, count, boundMs) {
      const relayEnv: BenchEnv = { ...env, transport: RELAY_TRANSPORT }
      const store = new RecordingStore(true)
      const server = await startRendezvousServer(relayEnv, store)
      const relays: BenchNode[] = []
      try {
        // two relays that announce themselves under the relay namespace, as any relay running the module does
        for (let i = 0; i < 2; i++) {
          relays.push(await createBenchNode({
            transport: RELAY_TRANSPORT,
            start: true,
            services: { relay: circuitRelayServer({ reservations: { maxReservations: 10_000 } }) },
            peerDiscovery: [rendezvousDiscovery({ ...options, points: pointsOf(server), relay: 'never' })]
          }))
        }
        // let the relays register before the clients look (a deployment has its relays up long before)
        await waitForRegistrations(relays)
        const reservedAt = new Map<BenchNode, number>()
        // each registers under a dapp (looking for nobody there), so that its circuit address is registered
        const result = await runRelayNodes(env, count, boundMs, () => ({
          peerDiscovery: [rendezvousDiscovery({ ...options, points: pointsOf(server), relay: 'always', dapp: 'bench-relayed', quotas: { relay: 1, dapp: 0 } })]
        }), {
          onReserved: (node, at) => { reservedAt.set(node, at) },
          // the last REGISTER may still be on its way when the harness sees the last circuit address
          lingerMs: 2000
        })
        result.registeredAfterMs = [...reservedAt].map(([node, at]) => {
          const registered = store.circuitRegisteredAt(node.peerId)
          return registered == null ? null : registered - at
        })
        return result
      } finally {
        await stopAll(relays)
        await stopAll([server])
      }
    }
  }
}

/** Waits until each node is connected to its rendezvous point and a moment more for the REGISTER to land */
async function waitForRegistrations (nodes: BenchNode[]): Promise<void> {
  const deadline = performance.now() + 10_000
  while (performance.now() < deadline && nodes.some(node => node.getPeers().length === 0)) {
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  await new Promise(resolve => setTimeout(resolve, 500))
}

export const method = rendezvousMethod('rendezvous', 'rendezvous (this package)')
