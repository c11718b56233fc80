/**
 * The discovery module's options as its users see them: `RendezvousDiscoveryInit` and the types it names (the
 * namespaces a node wants, the state they are derived from). Their doc comments and `@default` tags are the API
 * docs; the table in config.ts checks them and holds their defaults, and a test holds the two together.
 */
import type { DiscoveryWarning } from './warnings.ts'
import type { RendezvousClient, RendezvousClientInit } from '../client/types.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export type NamespaceKind = 'topic' | 'relay' | 'dapp' | 'user'

/**
 * Which registrants a namespace's quota is filled with: `any` (spread over the registrants so that each node
 * dials few and is dialed by few), or `closest` (the registrants nearest to this node in kad-dht's keyspace, the
 * XOR distance of the SHA-256 of peer ids, so that a DHT node starts with its neighbourhood)
 */
export type Selection = 'any' | 'closest'

/** One namespace the node registers under and/or discovers, after derivation */
export interface NamespaceSpec {
  /** The rendezvous namespace */
  ns: string
  /** Why the node wants it */
  kind: NamespaceKind
  /** Register this node under `ns` at the rendezvous points */
  register: boolean
  /** Discover peers under `ns` and dial them until `quota` of them are connected */
  discover: boolean
  /** Connected peers wanted from this namespace; 0 discovers (emitting `peer` events) without dialing */
  quota: number
  /**
   * Which registrants fill the quota.
   *
   * @default `any`
   */
  selection?: Selection
  /**
   * For kind `topic`: the pubsub topic. A connected peer counts towards the quota only once pubsub reports it
   * subscribed to this topic.
   */
  topic?: string
}

/** A namespace the user names in the options */
export interface UserNamespace {
  /** The rendezvous namespace */
  ns: string
  /**
   * Register this node under it.
   *
   * @default true
   */
  register?: boolean
  /**
   * Discover and dial peers under it.
   *
   * @default true
   */
  discover?: boolean
  /**
   * Connected peers wanted from it.
   *
   * @default `quotas.namespace` (4)
   */
  quota?: number
  /**
   * Keep connections to this many registrants, the ones closest to this node in kad-dht's keyspace (XOR distance
   * of the SHA-256 of peer ids), instead of `quota` registrants of any kind.
   *
   * @default none
   */
  closest?: number
}

/** What the namespace derivation sees of the node, re-read whenever it may have changed */
export interface NodeState {
  /** Pubsub topics the node is subscribed to (empty without a pubsub service) */
  topics: string[]
  /** Whether a pubsub service is present */
  hasPubsub: boolean
  /** The node runs a circuit relay v2 server (it handles the hop protocol) */
  runsRelay: boolean
  /**
   * The node needs relays: `relay` mode `always`, or `auto` with no public, verified, direct address, unless
   * every rendezvous point is on a private network the node has a direct address on
   */
  needsRelay: boolean
  /** The node's own addresses (`addressManager.getAddresses()`) */
  addresses: Multiaddr[]
}

/** When the node looks for relays */
export type RelayMode = 'auto' | 'always' | 'never'

export interface QuotaInit {
  /**
   * Connected peers wanted per subscribed pubsub topic (gossipsub's D).
   *
   * @default 6
   */
  topic?: number
  /**
   * Relays wanted while the node needs one.
   *
   * @default 2
   */
  relay?: number
  /**
   * Connected peers wanted from the node's dapp.
   *
   * @default 4
   */
  dapp?: number
  /**
   * Connected peers wanted per user namespace that sets no quota of its own.
   *
   * @default 4
   */
  namespace?: number
}

export interface TagInit {
  /**
   * Value of the `rendezvous-topic` tag on peers kept for a topic.
   *
   * @default 60
   */
  topic?: number
  /**
   * Value of the `rendezvous-relay` tag on relays kept.
   *
   * @default 80
   */
  relay?: number
  /**
   * Value of the `rendezvous-dapp` tag on dapp peers kept.
   *
   * @default 60
   */
  dapp?: number
  /**
   * Value of the `rendezvous-namespace` tag on peers kept for a user namespace.
   *
   * @default 50
   */
  namespace?: number
  /**
   * Value of the `keep-alive-rendezvous` tag on the rendezvous points.
   *
   * @default 100
   */
  point?: number
}

export interface RendezvousDiscoveryInit {
  /**
   * The rendezvous points: multiaddrs (string or Multiaddr) that end in `/p2p/<peer id>`, the bootstrap list. The
   * node learns the network's other points from them (`learnPoints`), registers and discovers each namespace at
   * `pointsPerNamespace` of the points it knows, and (`configuredFallback`) keeps its registrations at these too.
   *
   * @default [] (the module then only reports its state, and warns once)
   */
  points?: Array<string | Multiaddr>
  /**
   * The dapp id. The node registers and discovers `/dapp/<id>`.
   *
   * @default none
   */
  dapp?: string
  /**
   * Namespaces of the application's own.
   *
   * @default []
   */
  namespaces?: UserNamespace[]
  /**
   * Replaces the derivation of namespaces from node state. It receives the state and the namespaces the
   * default rules derived (topics, relay, dapp, user namespaces) and returns the namespaces to use.
   * Called whenever the state may have changed; keep it cheap and deterministic.
   *
   * @default the default rules
   */
  deriveNamespaces?(state: NodeState, defaults: NamespaceSpec[]): NamespaceSpec[]
  /**
   * When the node looks for relays: `auto` while it has no public, verified, non-circuit address (browsers, nodes
   * behind NAT) unless every point is on a private network it has a direct address on, `always`, or `never`.
   *
   * @default 'auto'
   */
  relay?: RelayMode
  /**
   * While a relay is needed, make sure the node listens on `/p2p-circuit` once per wanted relay, so that the
   * circuit relay transport reserves a slot on the relays dialed. Needs `circuitRelayTransport()`.
   *
   * @default true
   */
  relayListen?: boolean
  /**
   * Connection quotas per namespace kind
   *
   * @default { topic: 6, relay: 2, dapp: 4, namespace: 4 }
   */
  quotas?: QuotaInit
  /**
   * Tag values; the tag names are fixed (see the docs). Values are 0-100
   *
   * @default { topic: 60, relay: 80, dapp: 60, namespace: 50, point: 100 }
   */
  tags?: TagInit
  /**
   * TTL asked for on REGISTER, in seconds (1 to 259200).
   *
   * @default none (the point's default, 2 h in the spec)
   */
  ttl?: number
  /**
   * A registration is refreshed this long before its granted TTL runs out, in ms, at most a quarter of the TTL;
   * up to 10% of the TTL more is taken off at random.
   *
   * @default 30000
   */
  refreshMargin?: number
  /**
   * While a quota is unmet and its namespace is younger than `fastDiscoverWindow`, queries follow each other
   * this fast, in ms, doubling while nothing new comes (up to `maxDiscoverInterval`).
   *
   * @default 100
   */
  fastDiscoverInterval?: number
  /**
   * How long after a namespace appears queries may follow the fast schedule, in ms.
   *
   * @default 10000
   */
  fastDiscoverWindow?: number
  /**
   * Delay between discover queries of a namespace whose quota is unmet, in ms.
   *
   * @default 1000
   */
  discoverInterval?: number
  /**
   * While queries bring nothing new, the delay doubles up to this, in ms.
   *
   * @default 120000
   */
  maxDiscoverInterval?: number
  /**
   * Delay between discover queries of a namespace whose quota is met, in ms: a node at quota learns of a newly
   * registered peer within this long.
   *
   * @default 30000
   */
  satisfiedDiscoverInterval?: number
  /**
   * Most registrations asked for per discover query (1 to 1000).
   *
   * @default 100
   */
  discoverLimit?: number
  /**
   * How often node state is re-read as a fallback, in ms. Changes are seen at once through events (pubsub
   * subscriptions, addresses, listeners, protocols); the poll catches anything that comes without one.
   * At least 10.
   *
   * @default 5000
   */
  pollInterval?: number
  /**
   * Backoff of a rendezvous point after failures, in ms: exponential with jitter from `initial`, at most `max`
   * between tries, which bounds how long a point that comes back waits to be used.
   *
   * @default { initial: 1000, max: 10000 }
   */
  pointBackoff?: { initial?: number, max?: number }
  /**
   * Backoff of a discovered peer after failed dials, in ms.
   *
   * @default { initial: 5000, max: 600000 }
   */
  peerBackoff?: { initial?: number, max?: number }
  /**
   * Dials in flight at once (at least 1).
   *
   * @default 4
   */
  maxParallelDials?: number
  /**
   * Dials waiting in the queue at most (at least 1); more candidates wait for the next round.
   *
   * @default 32
   */
  maxQueuedDials?: number
  /**
   * Time allowed for one dial, in ms.
   *
   * @default 10000
   */
  dialTimeout?: number
  /**
   * Connections left free below the connection manager's `maxConnections`: the dialer starts no dial that
   * would take the node past `maxConnections - connectionHeadroom`.
   *
   * @default 10% of `maxConnections`, at least 2
   */
  connectionHeadroom?: number
  /**
   * A peer dialed for a namespace, or a registrant that connected to us, counts as pending (towards the quota,
   * so no other peer is dialed in its place) this long while pubsub learns its subscriptions, in ms.
   *
   * @default 10000
   */
  countGrace?: number
  /**
   * Tag the rendezvous points `keep-alive-rendezvous` so libp2p keeps them connected.
   *
   * @default true
   */
  keepAlivePoints?: boolean
  /**
   * Learn more rendezvous points from the list the points keep under `/libp2p/rendezvous` (`POINTS_NAMESPACE`):
   * `points` are then a bootstrap list. A point is learned only from a trusted one (a configured point, or a
   * learned point that a configured one listed and that answered), and used once it has answered itself.
   *
   * @default true
   */
  learnPoints?: boolean
  /**
   * Learned points kept at most; the configured ones come on top. A learned point that fails 3 times in a row is
   * dropped.
   *
   * @default 20
   */
  maxPoints?: number
  /**
   * How many points each namespace is registered and discovered at: the first by highest-random-weight hashing of
   * (namespace, point id) over the points known and verified, so that every node that knows the same points
   * chooses the same ones. A point that fails gives its place to the next by weight until it answers again.
   *
   * @default 3
   */
  pointsPerNamespace?: number
  /**
   * How often the points' lists are read again, in ms: at 1 s, doubling up to this (and at once this
   * while every list that answered was empty: points on their own, standalone or another implementation's).
   *
   * @default 300000
   */
  pointListInterval?: number
  /**
   * Also register every namespace at the configured points, and discover there while a quota is unmet after the
   * placed points answered, so that a node given only one point (a Go or Rust peer, which neither learns points
   * nor hashes) is still found.
   *
   * @default true
   */
  configuredFallback?: boolean
  /**
   * How long `stop()` waits for REGISTERs in flight to settle and UNREGISTERs to be sent, in ms.
   *
   * @default 2000
   */
  stopTimeout?: number
  /**
   * The name of the pubsub service in `services`.
   *
   * @default 'pubsub'
   */
  pubsubService?: string
  /**
   * A rendezvous client to use instead of the default one (for tests or a custom transport)
   *
   * @default a client made by `rendezvousClient(clientInit)`
   */
  client?: RendezvousClient | ((components: any) => RendezvousClient)
  /**
   * Options of the default client
   *
   * @default {} (the client's own defaults)
   */
  clientInit?: RendezvousClientInit
  /**
   * Hears each of the module's warnings (a setup that cannot work as meant), once per kind.
   *
   * @default printed with `console.warn`, also logged as an error under `libp2p:rendezvous:discovery`
   */
  onWarning?(warning: DiscoveryWarning): void
}
