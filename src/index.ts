/**
 * @packageDocumentation
 *
 * Rendezvous for js-libp2p v3: find the peers a node needs (its pubsub topics' subscribers, relays, the other
 * peers of its dapp) and connect to them. Three libp2p services speak the libp2p rendezvous protocol
 * (`/rendezvous/1.0.0`):
 *
 * - {@link rendezvousDiscovery}, a peer discovery module: from the node's own state it works out where to
 * register and what to search, keeps its registrations fresh, and dials what it finds until each connection quota
 * is filled, tagging the peers it keeps for the connection manager;
 * - {@link rendezvousServer}, a rendezvous point, with an in-memory store or one on PostgreSQL
 * (`libp2p-rendezvous-discovery/postgres`) that a fleet of points shares;
 * - {@link rendezvousClient}, the protocol client: register, unregister, discover.
 *
 * The `rendezvous-server` command deploys a point. Every option and its default is in docs/configuration.md.
 *
 * @example A rendezvous point
 *
 * ```ts
 * import { identify } from '@libp2p/identify'
 * import { noise } from '@libp2p/noise'
 * import { tcp } from '@libp2p/tcp'
 * import { yamux } from '@libp2p/yamux'
 * import { createLibp2p } from 'libp2p'
 * import { rendezvousServer } from 'libp2p-rendezvous-discovery'
 *
 * const point = await createLibp2p({
 *   addresses: { listen: ['/ip4/0.0.0.0/tcp/4001'] },
 *   transports: [tcp()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()],
 *   services: { identify: identify(), rendezvous: rendezvousServer() }
 * })
 * console.log(point.getMultiaddrs().map(String)) // give one of these to the nodes
 * ```
 *
 * @example A node that finds the peers of its topics, its relays and its dapp
 *
 * ```ts
 * import { gossipsub } from '@libp2p/gossipsub'
 * import { identify } from '@libp2p/identify'
 * import { noise } from '@libp2p/noise'
 * import { tcp } from '@libp2p/tcp'
 * import { yamux } from '@libp2p/yamux'
 * import { createLibp2p } from 'libp2p'
 * import { rendezvousDiscovery } from 'libp2p-rendezvous-discovery'
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/0.0.0.0/tcp/0'] },
 *   transports: [tcp()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()],
 *   services: {
 *     identify: identify(),
 *     pubsub: gossipsub(),
 *     rendezvous: rendezvousDiscovery({ points: ['/dns4/rdv.example.com/tcp/4001/p2p/12D3KooW…'], dapp: 'slate' })
 *   }
 * })
 * // registers under floodsub:news, then finds and dials up to 6 subscribers of the topic
 * node.services.pubsub.subscribe('news')
 * ```
 *
 * @example The protocol client on its own
 *
 * ```ts
 * import { multiaddr } from '@multiformats/multiaddr'
 * import { rendezvousClient } from 'libp2p-rendezvous-discovery'
 *
 * const node = await createLibp2p({
 *   // …addresses, transports, encrypters, muxers
 *   services: { identify: identify(), rendezvous: rendezvousClient() }
 * })
 * const point = multiaddr('/dns4/rdv.example.com/tcp/4001/p2p/12D3KooW…')
 * const ttl = await node.services.rendezvous.register(point, 'my-app') // seconds granted
 * const { registrations } = await node.services.rendezvous.discover(point, 'my-app')
 * for await (const registration of node.services.rendezvous.discoverAll(point)) {
 *   // every namespace, page after page
 * }
 * await node.services.rendezvous.unregister(point, 'my-app')
 * ```
 */

export { rendezvousDiscovery } from './discovery/index.ts'
export { rendezvousServer } from './server/index.ts'
export { memoryRegistrationStore } from './server/store/memory-registration-store.ts'
export { rendezvousClient } from './client/index.ts'

export { PROTOCOL, POINTS_NAMESPACE, RELAY_NAMESPACE } from './constants.ts'
export { TAG_NAMES } from './discovery/constants.ts'
export { dappNamespace, topicNamespace } from './discovery/namespace-names.ts'
export {
  RendezvousError, InvalidResponseError, InvalidPeerRecordError, InvalidCookieError, InvalidNamespaceError,
  NoAddressesError, NoRendezvousPointsError, StoreUnavailableError, UnsupportedRuntimeError, STATUS_CODES
} from './errors.ts'
export type { ResponseStatus } from './errors.ts'

export type {
  RendezvousDiscoveryInit, RendezvousDiscoveryComponents, RendezvousDiscoveryService, RendezvousDiscoveryStatus,
  RendezvousDiscoveryDiscoverOptions, PointRegistrationResult, NamespaceKind, NamespaceSpec, NodeState, QuotaInit,
  RelayMode, Selection, TagInit, UserNamespace, DialerStatus, QuotaStatus, SchedulerStatus, PointStatus, RegistrationStatus,
  DiscoveryStatus, DiscoveryWarning, DiscoveryWarningCode
} from './discovery/index.ts'
export type { RendezvousPointState } from './discovery/points/point-health.ts'
export type { Point } from './discovery/points/point.ts'
export type { KnownPointInfo } from './discovery/points/point-learning.ts'
export type { RendezvousServerInit, RendezvousServerComponents, RendezvousServerService, KnownPointStatus } from './server/index.ts'
export type { MemoryRegistrationStoreInit } from './server/store/memory-store-options.ts'
export type {
  RegistrationStore, StoredRegistration, RegisterInput, RegisterLimits, RegisterOutcome, DiscoverQuery, DiscoverPage,
  StoreStats
} from './server/store/registration-store.ts'
export type { PeerRecordFormat } from './protocol/peer-record.ts'
export type { RendezvousClientComponents } from './client/index.ts'
export type {
  RendezvousClient, RendezvousClientInit, RendezvousPoint, RegisterOptions, DiscoverOptions, DiscoverResult,
  DiscoveredRegistration
} from './client/types.ts'
