/**
 * The discovery module's public types: its components, its status, and the API it offers under `services`
 * (re-exported by `src/index.ts` and `src/discovery/index.ts`, where typedoc finds them).
 */
import type { NamespaceSpec, NodeState } from './options.ts'
import type { DialerStatus } from './peers/dialer-status.ts'
import type { RendezvousPointState } from './points/point-health.ts'
import type { KnownPointInfo } from './points/point-learning.ts'
import type { DiscoveryStatus } from './points/queries.ts'
import type { RegistrationStatus } from './points/registrations.ts'
import type { DiscoveryWarning } from './warnings.ts'
import type { DiscoveredRegistration } from '../client/types.ts'
import type { AbortOptions, ComponentLogger, Libp2pEvents, Metrics, PeerId, PeerStore, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar, TransportManager } from '@libp2p/interface-internal'

export interface RendezvousDiscoveryComponents {
  peerId: PeerId
  privateKey: PrivateKey
  peerStore: PeerStore
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  transportManager: TransportManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

/** A point the module knows: where it came from, whether it is verified, its health, and whether it is used */
export type PointStatus = Omit<RendezvousPointState, 'peerId' | 'multiaddr'> & Omit<KnownPointInfo, 'id'> & {
  multiaddr: string
  /** Namespaces in use now placed at it (fallback registrations at a configured point not counted) */
  placed: number
}

/** Points, registrations and discovery queries */
export interface SchedulerStatus {
  /** Every point known: configured and learned (verified or not); `down` says which failed */
  points: PointStatus[]
  registrations: RegistrationStatus[]
  discoveries: DiscoveryStatus[]
}

/** A read-only view of what the module is doing */
export interface RendezvousDiscoveryStatus {
  started: boolean
  /** The node state the namespaces were last derived from */
  state?: Omit<NodeState, 'addresses'> & { addresses: string[] }
  /** The namespaces in use */
  namespaces: NamespaceSpec[]
  /** Quotas, dial queue and connection budget */
  dialer: DialerStatus
  /** Points, registrations and discovery queries */
  scheduler: SchedulerStatus
  /** `/p2p-circuit` listeners this module added and that are open */
  relayListenersAdded: number
  /** The warnings said so far */
  warnings: DiscoveryWarning[]
}

/** What `register()` got from each point */
export interface PointRegistrationResult {
  /** The point's peer id */
  point: string
  /** The TTL granted, in seconds, when the point accepted */
  ttl?: number
  /** Why it did not, otherwise */
  error?: string
}

export interface RendezvousDiscoveryDiscoverOptions extends AbortOptions {
  /**
   * Most registrations asked of each point.
   *
   * @default the `discoverLimit` option (100)
   */
  limit?: number
}

/**
 * The module's API when registered under `services`, beside the `peer` events every libp2p `PeerDiscovery` emits
 * (the factory gives a `PeerDiscovery & RendezvousDiscoveryService`)
 */
export interface RendezvousDiscoveryService {
  /**
   * Registers the node under `ns` at every point now and keeps the registration refreshed until
   * `unregister(ns)` or stop. Resolves to each point's answer; rejects (while still retrying in the background)
   * when no point accepted.
   */
  register(ns: string, options?: AbortOptions): Promise<PointRegistrationResult[]>
  /** Stops registering `ns` (unless the node's state still wants it) and sends UNREGISTER to every point */
  unregister(ns: string): Promise<void>
  /**
   * Asks every point not in backoff for all registrations under `ns`, from the start (with cookies of its own,
   * which the module's queries never see). The peers found are verified, stored with certified addresses,
   * announced as `peer` events and become dial candidates of a namespace the module discovers.
   */
  discover(ns: string, options?: RendezvousDiscoveryDiscoverOptions): Promise<DiscoveredRegistration[]>
  /** What the module is doing: namespaces, quotas, points, registrations, queries */
  readonly status: RendezvousDiscoveryStatus
}
