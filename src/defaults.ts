/**
 * Every default of the package, in one place: the rendezvous server's options and its stores', the client's, the
 * discovery module's and the `rendezvous-server` command's. The services apply these values, `rendezvous-server
 * --help` prints them, and a test holds the options' `@default` tags and the tables of docs/configuration.md to
 * them, so a default is changed here and nowhere else.
 *
 * The protocol's own numbers (the spec's TTLs and limits) live in constants.ts; the defaults that follow the spec
 * name them. Defaults that depend on another option (a server's `defaultTtl` within a lowered `maxTtl`, the
 * discovery module's `connectionHeadroom` from `maxConnections`) are worked out where the options are resolved,
 * from the values here.
 */
import {
  DEFAULT_TTL_SECONDS, MAX_DISCOVER_LIMIT, MAX_NAMESPACE_LENGTH, MAX_REGISTRATIONS_PER_PEER, MAX_TTL_SECONDS,
  MIN_TTL_SECONDS, PROTOCOL
} from './constants.ts'
import type { RendezvousClientInit } from './client/types.ts'
import type { QuotaInit, RendezvousDiscoveryInit, TagInit } from './discovery/options.ts'
import type { RendezvousServerInit } from './server/options.ts'
import type { MemoryRegistrationStoreInit } from './server/store/memory-registration-store.ts'
import type { PostgresRegistrationStoreInit } from './server/store/postgres-store.ts'

/** How long one request/response exchange may take, either side, in ms */
const EXCHANGE_TIMEOUT_MS = 10_000

/**
 * The largest DISCOVER_RESPONSE a server writes and a client reads, in bytes: 1000 registrations of ~1 KiB fit.
 * Rust caps messages at 1 MiB too, so a Rust client can read every page a server of ours sends.
 */
const RESPONSE_SIZE = 1024 * 1024

/** `rendezvousServer(init)` */
export const SERVER_DEFAULTS: Readonly<Required<Omit<RendezvousServerInit, 'store'>>> = {
  minTtl: MIN_TTL_SECONDS,
  maxTtl: MAX_TTL_SECONDS,
  defaultTtl: DEFAULT_TTL_SECONDS,
  // Go's client accepts TTLs from 120 s and never retries a refusal
  ttlBelowMin: 'clamp',
  maxNamespaceLength: MAX_NAMESPACE_LENGTH,
  maxRegistrationsPerPeer: MAX_REGISTRATIONS_PER_PEER,
  // not in the spec: a bound on the whole store so that one server cannot be filled without limit
  maxRegistrationsTotal: 1_000_000,
  maxDiscoverLimit: MAX_DISCOVER_LIMIT,
  // a REGISTER carries one signed peer record: an Ed25519 record with a handful of addresses is ~200 bytes and an
  // RSA-2048 one ~600, so 16 KiB leaves room for many addresses while keeping a hostile frame small
  maxRequestSize: 16 * 1024,
  maxResponseSize: RESPONSE_SIZE,
  // an RSA-2048 record with 40 addresses is ~2.5 KiB, and go-libp2p's identify trims a node's own record to 4 KiB
  // too; a record is held for its whole TTL and sent in every page that lists it, so its size bounds the store
  maxRecordSize: 4 * 1024,
  // each address is a dial a discovering peer may try
  maxRecordAddresses: 64,
  maxInboundStreams: 32,
  maxConcurrentRequests: 256,
  timeout: EXCHANGE_TIMEOUT_MS,
  // Go's DiscoverAsync asks again every 120 s on one stream: a shorter wait would end its discovery after a page
  streamIdleTimeout: 150_000,
  // 33 hours of Go's DiscoverAsync polls
  maxRequestsPerStream: 1000,
  verifiedRecordCacheSize: 5000,
  sweepInterval: 60_000,
  runOnLimitedConnection: true,
  protocols: [PROTOCOL]
}

/** `new MemoryRegistrationStore(init)` */
export const MEMORY_STORE_DEFAULTS: Readonly<Required<MemoryRegistrationStoreInit>> = {
  // see docs/server.md: about 1.1 KiB of heap per registration with its record
  maxBytes: 1024 * 1024 * 1024,
  // the spec's 1000 registrations of 1.6 KiB records
  maxBytesPerPeer: 2 * 1024 * 1024,
  // about 2 ms of work between yields to the event loop
  sweepSlice: 1000
}

/** `postgresRegistrationStore(init)`; the url has no default, nor do the session settings, the clock or the logger */
export const POSTGRES_STORE_DEFAULTS: Readonly<Required<Omit<PostgresRegistrationStoreInit, 'url' | 'clock' | 'sessionSettings' | 'log'>>> = {
  schema: 'public',
  maxConnections: 10,
  maxReadConnections: 5,
  maxWaiting: 250,
  connectTimeout: 10,
  statementTimeout: 5000,
  lockTimeout: 2000,
  idleInTransactionTimeout: 10_000,
  clockCheckInterval: 60_000,
  sweepBatchSize: 10_000
}

/** `rendezvousClient(init)` */
export const CLIENT_DEFAULTS: Readonly<Required<RendezvousClientInit>> = {
  timeout: EXCHANGE_TIMEOUT_MS,
  maxResponseSize: RESPONSE_SIZE,
  runOnLimitedConnection: true,
  protocol: PROTOCOL,
  maxCookies: 1024,
  maxDiscoverPages: 100,
  // always sent: Rust points return every registration without one
  discoverLimit: MAX_DISCOVER_LIMIT,
  peerRecordFormat: 'auto',
  maxRememberedPoints: 1024,
  reuseStreams: true,
  maxStreamsPerPoint: 4,
  // well under the 150 s a server of ours waits for the next request
  streamIdleTimeout: 30_000
}

/** The discovery options that have a value of their own (the others default to none, or follow another option) */
type DiscoveryDefaults = Required<Omit<RendezvousDiscoveryInit, 'points' | 'dapp' | 'namespaces' | 'deriveNamespaces' | 'ttl' | 'connectionHeadroom' | 'client' | 'clientInit' | 'onWarning' | 'quotas' | 'tags' | 'pointBackoff' | 'peerBackoff'>> & {
  quotas: Required<QuotaInit>
  tags: Required<TagInit>
  pointBackoff: { initial: number, max: number }
  peerBackoff: { initial: number, max: number }
}

/** `rendezvousDiscovery(init)` */
export const DISCOVERY_DEFAULTS: Readonly<DiscoveryDefaults> = {
  relay: 'auto',
  relayListen: true,
  // topic: gossipsub's D
  quotas: { topic: 6, relay: 2, dapp: 4, namespace: 4 },
  // the points above everything (pruning ignores keep-alive tags), relays above the peers they carry
  tags: { topic: 60, relay: 80, dapp: 60, namespace: 50, point: 100 },
  refreshMargin: 30_000,
  fastDiscoverInterval: 100,
  fastDiscoverWindow: 10_000,
  discoverInterval: 1000,
  maxDiscoverInterval: 120_000,
  satisfiedDiscoverInterval: 30_000,
  discoverLimit: 100,
  pollInterval: 5000,
  pointBackoff: { initial: 1000, max: 300_000 },
  peerBackoff: { initial: 5000, max: 600_000 },
  maxParallelDials: 4,
  maxQueuedDials: 32,
  dialTimeout: 10_000,
  countGrace: 10_000,
  keepAlivePoints: true,
  stopTimeout: 2000,
  pubsubService: 'pubsub'
}

/** The `rendezvous-server` command's own options; its server and store flags default to the values above */
export const COMMAND_DEFAULTS = {
  listen: ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'],
  identity: 'rendezvous-identity.key',
  store: 'memory',
  // connect, create or migrate the tables
  storeStartTimeout: 30_000,
  maxConnections: 1000,
  // libp2p's own default; raise it when many clients share a NAT
  inboundConnectionThreshold: 5,
  relay: false,
  relayMaxReservations: 128,
  relayUnlimited: false,
  logLevel: 'error'
} as const

/**
 * A default as the docs, `@default` tags and `--help` write it: numbers and booleans as they are, strings quoted,
 * arrays and objects as literals
 */
export function formatDefault (value: unknown): string {
  if (typeof value === 'string') {
    return `'${value}'`
  }

  if (Array.isArray(value)) {
    return `[${value.map(formatDefault).join(', ')}]`
  }

  if (typeof value === 'object' && value !== null) {
    return `{ ${Object.entries(value).map(([key, entry]) => `${key}: ${formatDefault(entry)}`).join(', ')} }`
  }

  return String(value)
}
