/**
 * One way to build the libp2p nodes of every benchmark, so that methods differ only in what they add: the same
 * transport, encryption, muxer, identify and gossipsub everywhere.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { memory } from '@libp2p/memory'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerDiscovery, PrivateKey } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'

export type TransportName = 'memory' | 'tcp'

export const TRANSPORTS: TransportName[] = ['memory', 'tcp']

/** Services every benchmark node has; methods add their own under other keys */
export interface BaseServices {
  identify: Identify
  pubsub: GossipSub
  [key: string]: unknown
}

export type BenchNode = Libp2p<BaseServices>

export interface BenchNodeInit {
  transport: TransportName
  /** Listen on the transport (default true); false models a node that cannot be dialed, like a browser */
  listen?: boolean
  /** Also listen for reservations on this many relays (adds the circuit relay transport). Default 0 */
  relayReservations?: number
  /** Extra services, merged over identify and pubsub */
  services?: Record<string, (components: any) => unknown>
  peerDiscovery?: Array<(components: any) => PeerDiscovery>
  /** Extra gossipsub options (defaults: D = 6, heartbeat 1 s) */
  gossipsub?: Parameters<typeof gossipsub>[0]
  /**
   * Run gossipsub (default true). Infrastructure that takes no part in the topic (a rendezvous server, which
   * runs no pubsub when deployed) leaves it out, so that every node does not also exchange subscriptions and
   * heartbeats with it
   */
  pubsub?: boolean
  /** Overrides of the connection manager options */
  connectionManager?: Libp2pOptions['connectionManager']
  /** Create the node started (default false, so that a harness can start many at the same instant) */
  start?: boolean
  /** The node's key (default: a new Ed25519 key) */
  privateKey?: PrivateKey
  /** The agent identify reports (default: libp2p's own, `js-libp2p/…`) */
  userAgent?: string
  /** The node's logger (default: libp2p's); a `prefixLogger` tells the nodes of one process apart in a DEBUG trace */
  logger?: Libp2pOptions['logger']
}

let memoryAddressCounter = 0

/** A listen address nobody else uses on this transport */
export function listenAddress (transport: TransportName): string {
  return transport === 'memory'
    ? `/memory/bench-${process.pid}-${memoryAddressCounter++}`
    : '/ip4/127.0.0.1/tcp/0'
}

/** A new node. Every call builds a fresh options object: `createLibp2p` mutates the one it is given */
export async function createBenchNode (init: BenchNodeInit): Promise<BenchNode> {
  const relayReservations = init.relayReservations ?? 0
  const listen: string[] = []

  if (init.listen !== false) {
    listen.push(listenAddress(init.transport))
  }

  for (let i = 0; i < relayReservations; i++) {
    listen.push('/p2p-circuit')
  }

  const transports: Array<(components: any) => any> = [init.transport === 'memory' ? memory() : tcp()]

  if (relayReservations > 0) {
    transports.push(circuitRelayTransport())
  }

  const options: Libp2pOptions<BaseServices> = {
    start: init.start ?? false,
    privateKey: init.privateKey,
    ...(init.logger == null ? {} : { logger: init.logger }),
    ...(init.userAgent == null ? {} : { nodeInfo: { userAgent: init.userAgent } }),
    addresses: { listen },
    transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: init.peerDiscovery ?? [],
    connectionManager: {
      // everything dials 127.0.0.1 at once: lift the per-host inbound rate limit (5/s by default)
      inboundConnectionThreshold: 100_000,
      maxIncomingPendingConnections: 1000,
      ...init.connectionManager
    },
    services: {
      identify: identify(),
      ...(init.pubsub === false
        ? {}
        : {
            pubsub: gossipsub({
              // every node here shares one IP (127.0.0.1): gossipsub's IP colocation penalty (-5 x (peers - 10)^2) would
              // graylist any peer with more than ~11 same-IP connections and drop its subscriptions and messages
              scoreParams: { IPColocationFactorWeight: 0 },
              ...init.gossipsub
            })
          }),
      ...init.services
    } as any
  }

  return createLibp2p(options)
}

/** Stops nodes in parallel, ignoring errors: used in `finally` blocks where the measurement is already taken */
export async function stopAll (nodes: Array<{ stop(): unknown } | undefined>): Promise<void> {
  await Promise.all(nodes.map(async node => {
    try {
      await node?.stop()
    } catch {
      // the measurement is taken; a node that fails to stop cleanly changes nothing in it
    }
  }))
}
