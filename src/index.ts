/**
 * @packageDocumentation
 *
 * Rendezvous for js-libp2p v3: a client and a server of the libp2p rendezvous protocol (`/rendezvous/1.0.0`),
 * and a peer discovery module that registers the node where it can serve, discovers the peers it needs and
 * dials them until its connection quotas are filled.
 */

export { PROTOCOL } from './constants.ts'
export { RendezvousError, InvalidResponseError, InvalidPeerRecordError, InvalidCookieError, InvalidNamespaceError, NoAddressesError, NoRendezvousPointsError, STATUS_CODES } from './errors.ts'
export type { ResponseStatus } from './errors.ts'
export { Message } from './pb/rendezvous.ts'
export { rendezvousServer, RendezvousServer, MemoryRegistrationStore } from './server/index.ts'
export type { RendezvousServerInit, RendezvousServerComponents } from './server/index.ts'
export { rendezvousClient, DefaultRendezvousClient } from './client/index.ts'
export type { RendezvousClientComponents } from './client/index.ts'
export { rendezvousDiscovery, RendezvousDiscovery, RELAY_NAMESPACE, TAG_NAMES, dappNamespace, topicNamespace } from './discovery/index.ts'
export type { RendezvousDiscoveryInit, RendezvousDiscoveryComponents, RendezvousDiscoveryService, RendezvousDiscoveryStatus, RendezvousDiscoveryDiscoverOptions, PointRegistrationResult, NamespaceKind, NamespaceSpec, NodeState, QuotaInit, RelayMode, Selection, TagInit, UserNamespace, DialerStatus, QuotaStatus, SchedulerStatus, RegistrationStatus, DiscoveryStatus, DiscoveryWarning, DiscoveryWarningCode } from './discovery/index.ts'
export type { RegistrationStore, StoredRegistration, RegisterInput, RegisterLimits, RegisterOutcome, DiscoverQuery, DiscoverPage, StoreStats } from './server/store/registration-store.ts'
export type { RendezvousClient, RendezvousClientInit, RendezvousPoint, RegisterOptions, DiscoverOptions, DiscoverResult, DiscoveredRegistration } from './client/types.ts'
