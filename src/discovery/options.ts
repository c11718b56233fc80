import type { RendezvousClient, RendezvousClientInit } from '../client/types.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Why the node wants a namespace. It decides how a peer counts towards the quota, the tag a kept peer gets and
 * the dial priority (relays first).
 */
export type NamespaceKind = 'topic' | 'relay' | 'dapp' | 'user'

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
   * For kind `topic`: the pubsub topic. A connected peer counts towards the quota only once pubsub reports it
   * subscribed to this topic.
   */
  topic?: string
}

/** A namespace the user names in the options */
export interface UserNamespace {
  /** The rendezvous namespace */
  ns: string
  /** Register this node under it. Default: true */
  register?: boolean
  /** Discover and dial peers under it. Default: true */
  discover?: boolean
  /** Connected peers wanted from it. Default: `quotas.namespace` (4) */
  quota?: number
}

/** What the namespace derivation sees of the node, re-read about once a second and on address changes */
export interface NodeState {
  /** Pubsub topics the node is subscribed to (empty without a pubsub service) */
  topics: string[]
  /** Whether a pubsub service is present */
  hasPubsub: boolean
  /** The node runs a circuit relay v2 server (it handles the hop protocol) */
  runsRelay: boolean
  /** The node needs relays (`relay` mode `always`, or `auto` and no public, verified, direct address) */
  needsRelay: boolean
  /** The node's own addresses (`addressManager.getAddresses()`) */
  addresses: Multiaddr[]
}

/** When the node looks for relays */
export type RelayMode = 'auto' | 'always' | 'never'

export interface QuotaInit {
  /** Connected peers wanted per subscribed pubsub topic (gossipsub's D). Default: 6 */
  topic?: number
  /** Relays wanted while the node needs one. Default: 2 */
  relay?: number
  /** Connected peers wanted from the node's dapp. Default: 4 */
  dapp?: number
  /** Connected peers wanted per user namespace that sets no quota of its own. Default: 4 */
  namespace?: number
}

export interface TagInit {
  /** Value of the `rendezvous-topic` tag on peers kept for a topic. Default: 60 */
  topic?: number
  /** Value of the `rendezvous-relay` tag on relays kept. Default: 80 */
  relay?: number
  /** Value of the `rendezvous-dapp` tag on dapp peers kept. Default: 60 */
  dapp?: number
  /** Value of the `rendezvous-namespace` tag on peers kept for a user namespace. Default: 50 */
  namespace?: number
  /** Value of the `keep-alive-rendezvous` tag on the rendezvous points. Default: 100 */
  point?: number
}

export interface RendezvousDiscoveryInit {
  /**
   * The rendezvous points: multiaddrs (string or Multiaddr) that end in `/p2p/<peer id>`. The node registers at
   * every one of them and discovers from every one. Default: none (the module then only reports its state)
   */
  points?: Array<string | Multiaddr>
  /** The dapp id. The node registers and discovers `/dapp/<id>`. Default: none */
  dapp?: string
  /** Namespaces of the application's own. Default: none */
  namespaces?: UserNamespace[]
  /**
   * Replaces the derivation of namespaces from node state. It receives the state and the namespaces the
   * default rules derived (topics, relay, dapp, user namespaces) and returns the namespaces to use.
   * Called about once a second; keep it cheap and deterministic. Default: the default rules unchanged
   */
  deriveNamespaces?(state: NodeState, defaults: NamespaceSpec[]): NamespaceSpec[]
  /**
   * When the node looks for relays: `auto` while it has no public, verified, non-circuit address (browsers, nodes
   * behind NAT), `always`, or `never`. Default: `auto`
   */
  relay?: RelayMode
  /**
   * While a relay is needed, make sure the node listens on `/p2p-circuit` once per wanted relay, so that the
   * circuit relay transport reserves a slot on the relays dialed. Needs `circuitRelayTransport()`. Default: true
   */
  relayListen?: boolean
  /** Connection quotas per namespace kind */
  quotas?: QuotaInit
  /** Tag values; the tag names are fixed (see the README). Values are 0-100 */
  tags?: TagInit
  /** TTL asked for on REGISTER, in seconds. Default: none (the point's default, 2 h in the spec) */
  ttl?: number
  /**
   * A registration is refreshed this long before its granted TTL runs out, in ms, at most a quarter of the TTL;
   * up to 10% of the TTL more is taken off at random. Default: 30000
   */
  refreshMargin?: number
  /** Delay between discover queries of a namespace whose quota is unmet, in ms. Default: 1000 */
  discoverInterval?: number
  /** While queries bring nothing new, the delay doubles up to this, in ms. Default: 120000 */
  maxDiscoverInterval?: number
  /** Delay between discover queries of a namespace whose quota is met, in ms. Default: 600000 */
  satisfiedDiscoverInterval?: number
  /** Most registrations asked for per discover query. Default: 100 */
  discoverLimit?: number
  /** How often node state (pubsub topics, relay need) is re-read and quotas reconciled, in ms. Default: 1000 */
  pollInterval?: number
  /** Backoff of a rendezvous point after failures, in ms. Default: `{ initial: 1000, max: 300000 }` */
  pointBackoff?: { initial?: number, max?: number }
  /** Backoff of a discovered peer after failed dials, in ms. Default: `{ initial: 5000, max: 600000 }` */
  peerBackoff?: { initial?: number, max?: number }
  /** Dials in flight at once. Default: 4 */
  maxParallelDials?: number
  /** Dials waiting in the queue at most; more candidates wait for the next round. Default: 32 */
  maxQueuedDials?: number
  /** Time allowed for one dial, in ms. Default: 10000 */
  dialTimeout?: number
  /**
   * Connections left free below the connection manager's `maxConnections`: the dialer starts no dial that
   * would take the node past `maxConnections - connectionHeadroom`. Default: 10% of maxConnections, at least 2
   */
  connectionHeadroom?: number
  /**
   * After a successful dial for a topic, the peer counts as pending (towards the quota, so no other peer is
   * dialed in its place) this long while pubsub learns its subscriptions, in ms. Default: 10000
   */
  countGrace?: number
  /** Tag the rendezvous points `keep-alive-rendezvous` so libp2p keeps them connected. Default: true */
  keepAlivePoints?: boolean
  /** How long `stop()` waits for UNREGISTERs to be sent, in ms. Default: 2000 */
  stopTimeout?: number
  /** The name of the pubsub service in `services`. Default: `pubsub` */
  pubsubService?: string
  /** A rendezvous client to use instead of the default one (for tests or a custom transport) */
  client?: RendezvousClient | ((components: any) => RendezvousClient)
  /** Options of the default client */
  clientInit?: RendezvousClientInit
}

/** The namespace a dapp id maps to */
export function dappNamespace (id: string): string {
  return `/dapp/${id}`
}

/** The namespace a pubsub topic maps to: go-libp2p-pubsub's discovery names, so Go nodes meet ours */
export function topicNamespace (topic: string): string {
  return `floodsub:${topic}`
}

/** The namespace of circuit relay v2 servers, shared with the server's CLI */
export { RELAY_NAMESPACE } from '../constants.ts'

/** The protocol a circuit relay v2 server handles */
export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'

/** Tag names, one per kind of kept peer, and the rendezvous points' keep-alive tag */
export const TAG_NAMES: Record<NamespaceKind | 'point', string> = {
  topic: 'rendezvous-topic',
  relay: 'rendezvous-relay',
  dapp: 'rendezvous-dapp',
  user: 'rendezvous-namespace',
  point: 'keep-alive-rendezvous'
}

/** Dial priority per kind: higher dials first (relays first, since a node that needs one has no other way in) */
export const DIAL_PRIORITY: Record<NamespaceKind, number> = {
  relay: 3,
  dapp: 2,
  user: 2,
  topic: 1
}

/** Every option resolved to its value */
export interface ResolvedOptions {
  points: Array<string | Multiaddr>
  dapp?: string
  namespaces: UserNamespace[]
  deriveNamespaces?: RendezvousDiscoveryInit['deriveNamespaces']
  relay: RelayMode
  relayListen: boolean
  quotas: Required<QuotaInit>
  tags: Required<TagInit>
  ttl?: number
  refreshMargin: number
  discoverInterval: number
  maxDiscoverInterval: number
  satisfiedDiscoverInterval: number
  discoverLimit: number
  pollInterval: number
  pointBackoff: { initial: number, max: number }
  peerBackoff: { initial: number, max: number }
  maxParallelDials: number
  maxQueuedDials: number
  dialTimeout: number
  connectionHeadroom?: number
  countGrace: number
  keepAlivePoints: boolean
  stopTimeout: number
  pubsubService: string
}

function nonNegative (name: string, value: number | undefined, fallback: number): number {
  if (value == null) {
    return fallback
  }

  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`rendezvousDiscovery: option ${name} must be a finite number >= 0, got ${String(value)}`)
  }

  return value
}

function tagValue (name: string, value: number | undefined, fallback: number): number {
  const v = nonNegative(`tags.${name}`, value, fallback)

  if (v > 100 || !Number.isInteger(v)) {
    throw new TypeError(`rendezvousDiscovery: option tags.${name} must be an integer from 0 to 100, got ${v}`)
  }

  return v
}

function resolveBackoff (name: string, value: { initial?: number, max?: number } | undefined, initial: number, max: number): { initial: number, max: number } {
  const first = nonNegative(`${name}.initial`, value?.initial, initial)
  return { initial: first, max: Math.max(first, nonNegative(`${name}.max`, value?.max, max)) }
}

function resolveTags (tags: TagInit = {}): Required<TagInit> {
  return {
    topic: tagValue('topic', tags.topic, 60),
    relay: tagValue('relay', tags.relay, 80),
    dapp: tagValue('dapp', tags.dapp, 60),
    namespace: tagValue('namespace', tags.namespace, 50),
    point: tagValue('point', tags.point, 100)
  }
}

/** Fills in defaults and rejects values that cannot work, with a message naming the option */
export function resolveOptions (init: RendezvousDiscoveryInit = {}): ResolvedOptions {
  const relay = init.relay ?? 'auto'

  if (!['auto', 'always', 'never'].includes(relay)) {
    throw new TypeError(`rendezvousDiscovery: option relay must be 'auto', 'always' or 'never', got ${String(relay)}`)
  }

  const discoverInterval = nonNegative('discoverInterval', init.discoverInterval, 1000)

  return {
    points: init.points ?? [],
    dapp: init.dapp,
    namespaces: init.namespaces ?? [],
    deriveNamespaces: init.deriveNamespaces,
    relay,
    relayListen: init.relayListen ?? true,
    quotas: {
      topic: nonNegative('quotas.topic', init.quotas?.topic, 6),
      relay: nonNegative('quotas.relay', init.quotas?.relay, 2),
      dapp: nonNegative('quotas.dapp', init.quotas?.dapp, 4),
      namespace: nonNegative('quotas.namespace', init.quotas?.namespace, 4)
    },
    tags: resolveTags(init.tags),
    ttl: init.ttl == null ? undefined : nonNegative('ttl', init.ttl, 0),
    refreshMargin: nonNegative('refreshMargin', init.refreshMargin, 30_000),
    discoverInterval,
    maxDiscoverInterval: Math.max(discoverInterval, nonNegative('maxDiscoverInterval', init.maxDiscoverInterval, 120_000)),
    satisfiedDiscoverInterval: nonNegative('satisfiedDiscoverInterval', init.satisfiedDiscoverInterval, 600_000),
    discoverLimit: Math.max(1, nonNegative('discoverLimit', init.discoverLimit, 100)),
    pollInterval: Math.max(10, nonNegative('pollInterval', init.pollInterval, 1000)),
    pointBackoff: resolveBackoff('pointBackoff', init.pointBackoff, 1000, 300_000),
    peerBackoff: resolveBackoff('peerBackoff', init.peerBackoff, 5000, 600_000),
    maxParallelDials: Math.max(1, nonNegative('maxParallelDials', init.maxParallelDials, 4)),
    maxQueuedDials: Math.max(1, nonNegative('maxQueuedDials', init.maxQueuedDials, 32)),
    dialTimeout: nonNegative('dialTimeout', init.dialTimeout, 10_000),
    connectionHeadroom: init.connectionHeadroom == null ? undefined : nonNegative('connectionHeadroom', init.connectionHeadroom, 0),
    countGrace: nonNegative('countGrace', init.countGrace, 10_000),
    keepAlivePoints: init.keepAlivePoints ?? true,
    stopTimeout: nonNegative('stopTimeout', init.stopTimeout, 2000),
    pubsubService: init.pubsubService ?? 'pubsub'
  }
}

/** The peer id at the end of a rendezvous point's address, for error messages and keys */
export type PointTarget = { peerId: PeerId, multiaddr: Multiaddr }
