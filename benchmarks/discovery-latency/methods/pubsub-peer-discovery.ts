/**
 * `@libp2p/pubsub-peer-discovery` as its users run it: every node bootstraps to a hub, and publishes its
 * addresses on the discovery topic every `interval` (10 s by default); the hub forwards over gossipsub. Since
 * v3 has no autodialer, discovered peers are dialed by the few lines in `../dialer.ts`.
 */
import { TOPIC, pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery'
import { dialWhileBelowQuota } from '../dialer.ts'
import { runSwarm } from '../harness.ts'
import { bootstrapTo, startHub } from './hub-only.ts'
import type { DiscoveryMethod } from '../types.ts'

export function pubsubPeerDiscoveryMethod (name: string, label: string, interval?: number): DiscoveryMethod {
  return {
    name,
    label,
    description: `Bootstrap to a hub, then announce on gossipsub every ${(interval ?? 10_000) / 1000} s (pubsub-peer-discovery); discovered peers are dialed while below quota.`,

    async run (env) {
      return runSwarm(env, {
        async infrastructure () {
          return { nodes: [await startHub(env, [TOPIC])] }
        },
        nodeInit (_, infra) {
          return { peerDiscovery: [bootstrapTo(infra.nodes[0]), pubsubPeerDiscovery({ interval })] }
        },
        afterStart (node, _, helpers, role) {
          if (role === 'swarm') {
            dialWhileBelowQuota(node, helpers)
          }
        }
      })
    }
  }
}

export const method = pubsubPeerDiscoveryMethod('pubsub-peer-discovery', 'pubsub-peer-discovery (10 s)')
