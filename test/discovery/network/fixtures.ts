/**
 * Real nodes for discovery tests: rendezvous points running the real server, and peers running the real
 * discovery module, all on `@libp2p/memory` (no IP, so no inbound rate limit), with short intervals so that a
 * whole network settles in seconds.
 */
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { memory } from '@libp2p/memory'
import { tcp } from '@libp2p/tcp'
import delay from 'delay'
import { rendezvousDiscovery } from '../../../src/discovery/index.ts'
import { rendezvousServer } from '../../../src/server/index.ts'
import { createMemoryNode, memoryAddress } from '../../fixtures/memory-node.ts'
import type { RendezvousDiscovery, RendezvousDiscoveryInit } from '../../../src/discovery/index.ts'
import type { RendezvousServer, RendezvousServerInit } from '../../../src/server/index.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type PointNode = Libp2p<{ identify: unknown, rendezvous: RendezvousServer }>
export type PeerNode = Libp2p<{ identify: unknown, rendezvous: RendezvousDiscovery, pubsub: GossipSub }>

/** Fast settings: what a test network needs to settle in seconds, not minutes */
export const FAST: RendezvousDiscoveryInit = {
  // long enough that a test sees no refresh unless it asks for one: refreshes re-announce every peer to everyone
  ttl: 20,
  pollInterval: 250,
  discoverInterval: 250,
  maxDiscoverInterval: 1000,
  satisfiedDiscoverInterval: 2000,
  // on a loaded machine pubsub may take seconds to learn a new peer's subscriptions: do not dial a replacement early
  countGrace: 5000,
  dialTimeout: 3000,
  pointBackoff: { initial: 100, max: 1000 },
  peerBackoff: { initial: 300, max: 2000 },
  stopTimeout: 500
}

/** Server settings for short-lived test networks: TTLs down to 1 s, expired registrations swept every 500 ms */
export const FAST_POINT: RendezvousServerInit = { minTtl: 1, maxTtl: 60, defaultTtl: 3, sweepInterval: 500 }

/** A rendezvous point that accepts the short TTLs tests use */
export async function createPoint (init: RendezvousServerInit = {}, node: { privateKey?: PrivateKey, listen?: string[] } = {}): Promise<PointNode> {
  return createMemoryNode({
    ...(node.privateKey == null ? {} : { privateKey: node.privateKey }),
    ...(node.listen == null ? {} : { addresses: { listen: node.listen } }),
    services: { rendezvous: rendezvousServer({ ...FAST_POINT, ...init }) }
  } as any, 'point') as any
}

export interface PeerOptions {
  points: Array<PointNode | Multiaddr | string>
  discovery?: RendezvousDiscoveryInit
  /** Run gossipsub under `pubsub`. Default: true */
  pubsub?: boolean
  /** Run a circuit relay server. Default: false */
  relayServer?: boolean
  /** Add circuitRelayTransport. Default: false */
  relayTransport?: boolean
  maxConnections?: number
  /** Add the TCP transport (circuit addresses over memory trip libp2p's address manager: relay over TCP) */
  tcp?: boolean
  /** Listen addresses. Default: one fresh memory address */
  listen?: string[]
  /** More services */
  services?: Record<string, (components: any) => unknown>
  /** The node's key, when a test must know its peer id before it starts */
  privateKey?: PrivateKey
}

export function pointAddress (point: PointNode | Multiaddr | string): Multiaddr | string {
  if (typeof point === 'string' || !('services' in point)) {
    return point
  }

  return point.getMultiaddrs()[0]
}

/** A peer running the discovery module under `services.rendezvous` */
export async function createPeer (options: PeerOptions): Promise<PeerNode> {
  const services: Record<string, any> = {
    rendezvous: rendezvousDiscovery({ relay: 'never', ...FAST, ...options.discovery, points: options.points.map(pointAddress) })
  }

  if (options.pubsub !== false) {
    // emitSelf off and floodPublish defaults: only the mesh matters here
    services.pubsub = gossipsub({ allowPublishToZeroTopicPeers: true })
  }

  if (options.relayServer === true) {
    services.relay = circuitRelayServer({ reservations: { maxReservations: 64 } })
  }

  Object.assign(services, options.services)

  return createMemoryNode({
    ...(options.privateKey == null ? {} : { privateKey: options.privateKey }),
    addresses: { listen: options.listen ?? [memoryAddress('peer')] },
    transports: [
      memory(),
      ...(options.tcp === true ? [tcp()] : []),
      ...(options.relayTransport === true ? [circuitRelayTransport()] : [])
    ],
    connectionManager: {
      // loopback TCP is rate limited per host by default
      inboundConnectionThreshold: 1000,
      ...(options.maxConnections == null ? {} : { maxConnections: options.maxConnections })
    },
    services
  } as any, 'peer') as any
}

/** Polls `check` until it is true or `timeout` ms pass; returns the last result */
export async function waitFor (check: () => boolean | Promise<boolean>, timeout: number, interval: number = 50): Promise<boolean> {
  const deadline = Date.now() + timeout

  while (Date.now() < deadline) {
    if (await check()) {
      return true
    }

    await delay(interval)
  }

  return check()
}

/** Stops nodes in parallel, ignoring those already stopped */
export async function stopAll (nodes: Array<{ stop(): void | Promise<void> } | undefined>): Promise<void> {
  await Promise.allSettled(nodes.map(async node => node?.stop()))
}

/** Connected peers of `node` that gossipsub lists as subscribed to `topic` */
export function connectedTopicPeers (node: PeerNode, topic: string): number {
  const connected = new Set(node.getPeers().map(p => p.toString()))
  return node.services.pubsub.getSubscribers(topic).filter(p => connected.has(p.toString())).length
}
