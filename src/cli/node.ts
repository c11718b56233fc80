/**
 * Builds the server's libp2p node from the command's configuration: TCP and WebSockets transports, noise, yamux,
 * identify, the rendezvous server on the chosen store, optionally a circuit relay server (`--relay`), and
 * Prometheus metrics (`--metrics`) in a registry of its own (so that several nodes in one process, as in tests, do
 * not share counters).
 *
 * The relay, the metrics and the PostgreSQL driver are loaded only when their flag asks for them: they are optional
 * peer dependencies, and a server on a memory store without `--relay` or `--metrics` runs without them installed.
 */
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { RELAY_NAMESPACE } from '../constants.ts'
import { rendezvousServer } from '../server/index.ts'
import { MemoryRegistrationStore } from '../server/store/memory-registration-store.ts'
import { ConnectionLimits } from './connection-limits.ts'
import type { CliConfig, StoreChoice } from './parse-cli.ts'
import type { RendezvousServer } from '../server/rendezvous-server.ts'
import type { RegistrationStore } from '../server/store/registration-store.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, Metrics, PrivateKey } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export interface RendezvousServices extends Record<string, unknown> {
  identify: Identify
  rendezvous: RendezvousServer
  relay?: CircuitRelayService
}

export interface RendezvousNode {
  node: Libp2p<RendezvousServices>
  store: RegistrationStore
  /** Every metric of the node, for the /metrics endpoint; none without `--metrics` */
  registry?: Registry
  /** Connections per peer, and idle ones while slots run short: started once the node has */
  connectionLimits: ConnectionLimits
}

export async function createStore (choice: StoreChoice): Promise<RegistrationStore> {
  if (choice.kind === 'memory') {
    const { kind, ...init } = choice
    return new MemoryRegistrationStore(init)
  }

  // loaded only for a PostgreSQL store: the driver is an optional peer dependency
  const { PostgresRegistrationStore } = await import('../server/store/postgres-store.ts')
  const { kind, ...init } = choice
  return new PostgresRegistrationStore(init)
}

/** A node, not yet started: `node.start()` opens the store, then listens */
export async function createRendezvousNode (config: CliConfig, privateKey: PrivateKey): Promise<RendezvousNode> {
  const store = await createStore(config.store)
  const services: Record<string, (components: any) => unknown> = {
    identify: identify(),
    // a relay lists itself under /libp2p/relay in its own store, where nodes that need a relay look
    rendezvous: rendezvousServer({ ...config.server, store, ...(config.relay ? { ownNamespaces: [RELAY_NAMESPACE] } : {}) })
  }
  let registry: Registry | undefined
  let metrics: ((components: any) => Metrics) | undefined

  if (config.metrics != null) {
    const [{ prometheusMetrics }, { Registry }] = await Promise.all([import('@libp2p/prometheus-metrics'), import('prom-client')])
    registry = new Registry()
    metrics = prometheusMetrics({ registry })
  }

  if (config.relay) {
    const { circuitRelayServer } = await import('@libp2p/circuit-relay-v2')
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: config.relayMaxReservations,
        // without a limit in the relay's answer, both ends see an unlimited connection
        applyDefaultLimit: !config.relayUnlimited
      }
    })
  }

  const connectionLimits = new ConnectionLimits({
    maxConnections: config.maxConnections,
    maxConnectionsPerPeer: config.maxConnectionsPerPeer,
    idleTimeout: config.connectionIdleTimeout
  })

  const node = await createLibp2p({
    privateKey,
    start: false,
    addresses: {
      listen: config.listen,
      announce: config.announce
    },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: config.maxConnections,
      inboundConnectionThreshold: config.inboundConnectionThreshold
    },
    connectionGater: connectionLimits.gater(),
    metrics,
    services
  })

  return { node: node as unknown as Libp2p<RendezvousServices>, store, registry, connectionLimits }
}
