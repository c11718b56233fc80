/**
 * The discovery module's options: their types, their defaults, and the check that refuses every value that
 * cannot work with an `InvalidParametersError` naming the option and the value, at construction, rather than a
 * node that silently misbehaves later.
 */
import { isMultiaddr, multiaddr } from '@multiformats/multiaddr'
import { peerIdOfMultiaddr } from '../client/point.ts'
import { MAX_DISCOVER_LIMIT, MAX_TTL_SECONDS } from '../constants.ts'
import { DISCOVERY_DEFAULTS } from '../defaults.ts'
import { invalidOption } from '../errors.ts'
import { namespaceProblem } from '../protocol/namespace.ts'
import { MAX_TIMER_DELAY } from './clock.ts'
import type { DiscoveryWarning } from './warnings.ts'
import type { RendezvousClient, RendezvousClientInit } from '../client/types.ts'
import type { InvalidParametersError, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Why the node wants a namespace. It decides how a peer counts towards the quota, the tag a kept peer gets and
 * the dial priority (relays first).
 */
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
   * The rendezvous points: multiaddrs (string or Multiaddr) that end in `/p2p/<peer id>`. The node registers at
   * every one of them and discovers from every one.
   *
   * @default none (the module then only reports its state, and warns once)
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
   * @default none
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
   * this fast, in ms, doubling while nothing new comes (up to `discoverInterval`).
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
   * Backoff of a rendezvous point after failures, in ms.
   *
   * @default { initial: 1000, max: 300000 }
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
   * @default 10% of maxConnections, at least 2
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
  points: Multiaddr[]
  dapp?: string
  namespaces: UserNamespace[]
  deriveNamespaces?: RendezvousDiscoveryInit['deriveNamespaces']
  relay: RelayMode
  relayListen: boolean
  quotas: Required<QuotaInit>
  tags: Required<TagInit>
  ttl?: number
  refreshMargin: number
  fastDiscoverInterval: number
  fastDiscoverWindow: number
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
  client?: RendezvousDiscoveryInit['client']
  clientInit?: RendezvousClientInit
  onWarning?: RendezvousDiscoveryInit['onWarning']
}

const KNOWN_KEYS: ReadonlyArray<keyof RendezvousDiscoveryInit> = [
  'points', 'dapp', 'namespaces', 'deriveNamespaces', 'relay', 'relayListen', 'quotas', 'tags', 'ttl',
  'refreshMargin', 'fastDiscoverInterval', 'fastDiscoverWindow', 'discoverInterval', 'maxDiscoverInterval',
  'satisfiedDiscoverInterval', 'discoverLimit', 'pollInterval', 'pointBackoff', 'peerBackoff', 'maxParallelDials',
  'maxQueuedDials', 'dialTimeout', 'connectionHeadroom', 'countGrace', 'keepAlivePoints', 'stopTimeout',
  'pubsubService', 'client', 'clientInit', 'onWarning'
]

function invalid (name: string, requirement: string, value: unknown): InvalidParametersError {
  return invalidOption('rendezvousDiscovery', name, requirement, value)
}

interface NumberRule {
  /** Smallest value allowed */
  min: number
  /**
   * Largest value allowed.
   *
   * @default MAX_TIMER_DELAY (anything larger would overflow a timer)
   */
  max?: number
  integer?: boolean
  /** `min` itself is not allowed */
  exclusiveMin?: boolean
  /** How the requirement reads, e.g. "a number of ms > 0" */
  text: string
}

const MS_POSITIVE: NumberRule = { min: 0, exclusiveMin: true, text: 'a number of ms > 0' }
const MS: NumberRule = { min: 0, text: 'a number of ms >= 0' }
const COUNT: NumberRule = { min: 0, integer: true, text: 'a whole number >= 0' }
const COUNT_POSITIVE: NumberRule = { min: 1, integer: true, text: 'a whole number >= 1' }

function number (name: string, value: unknown, fallback: number, rule: NumberRule): number {
  if (value === undefined) {
    return fallback
  }

  const max = rule.max ?? MAX_TIMER_DELAY

  if (typeof value !== 'number' || !Number.isFinite(value) || value < rule.min || (rule.exclusiveMin === true && value === rule.min) ||
    value > max || (rule.integer === true && !Number.isInteger(value))) {
    throw invalid(name, `${rule.text}${max < MAX_TIMER_DELAY ? ` and <= ${max}` : ''}`, value)
  }

  return value
}

function boolean (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) {
    return fallback
  }

  if (typeof value !== 'boolean') {
    throw invalid(name, 'true or false', value)
  }

  return value
}

/** Refuses a nested options object that is not a plain object or has keys nobody reads */
function object<T extends object> (name: string, value: unknown, keys: ReadonlyArray<keyof T & string>): Partial<T> {
  if (value === undefined) {
    return {}
  }

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, 'an object', value)
  }

  for (const key of Object.keys(value)) {
    if (!keys.includes(key as keyof T & string)) {
      const option = name === 'init' ? key : `${name}.${key}`
      throw invalid(option, `left out: there is no such option (the known ones${name === 'init' ? '' : ` of ${name}`}: ${keys.join(', ')})`, (value as Record<string, unknown>)[key])
    }
  }

  return value as Partial<T>
}

function backoff (name: string, value: unknown, fallback: { initial: number, max: number }): { initial: number, max: number } {
  const init = object<{ initial: number, max: number }>(name, value, ['initial', 'max'])
  const first = number(`${name}.initial`, init.initial, fallback.initial, MS_POSITIVE)
  const last = number(`${name}.max`, init.max, Math.max(first, fallback.max), MS_POSITIVE)

  if (last < first) {
    throw invalid(`${name}.max`, `>= ${name}.initial (${first})`, last)
  }

  return { initial: first, max: last }
}

function namespace (name: string, ns: unknown): string {
  if (typeof ns !== 'string') {
    throw invalid(name, 'a string', ns)
  }

  const problem = namespaceProblem(ns)

  if (problem != null) {
    throw invalid(name, `a valid namespace (${problem})`, ns)
  }

  return ns
}

function userNamespaces (value: unknown): UserNamespace[] {
  if (value === undefined) {
    return []
  }

  if (!Array.isArray(value)) {
    throw invalid('namespaces', 'an array of { ns, register?, discover?, quota?, closest? }', value)
  }

  return value.map((entry: unknown, i) => {
    const name = `namespaces[${i}]`
    const init = object<UserNamespace>(name, entry, ['ns', 'register', 'discover', 'quota', 'closest'])

    if (entry === undefined) {
      throw invalid(name, 'an object', entry)
    }

    const user: UserNamespace = { ns: namespace(`${name}.ns`, init.ns) }

    if (init.register !== undefined) {
      user.register = boolean(`${name}.register`, init.register, true)
    }

    if (init.discover !== undefined) {
      user.discover = boolean(`${name}.discover`, init.discover, true)
    }

    if (init.quota !== undefined) {
      user.quota = number(`${name}.quota`, init.quota, 0, COUNT)
    }

    if (init.closest !== undefined) {
      user.closest = number(`${name}.closest`, init.closest, 0, COUNT_POSITIVE)

      if (user.quota !== undefined && user.quota !== user.closest) {
        throw invalid(`${name}.quota`, `left out or equal to ${name}.closest (${user.closest}), which sets the quota`, user.quota)
      }
    }

    return user
  })
}

function points (value: unknown): Multiaddr[] {
  if (value === undefined) {
    return []
  }

  if (!Array.isArray(value)) {
    throw invalid('points', 'an array of multiaddrs', value)
  }

  return value.map((point: unknown, i) => {
    let ma: Multiaddr

    if (isMultiaddr(point)) {
      ma = point
    } else if (typeof point !== 'string') {
      throw invalid(`points[${i}]`, 'a multiaddr or a string', point)
    } else {
      try {
        ma = multiaddr(point)
      } catch (err: any) {
        throw invalid(`points[${i}]`, `a multiaddr (${err?.message ?? err})`, point)
      }
    }

    pointPeerId(ma, i)
    return ma
  })
}

/**
 * The peer id that point `points[i]` ends with; throws naming the option when there is none (the client checks
 * that whoever answers is the peer named there, so a point without one cannot be used)
 */
export function pointPeerId (ma: Multiaddr, i: number): PeerId {
  const peerId = peerIdOfMultiaddr(ma)

  if (peerId == null) {
    throw invalid(`points[${i}]`, 'a multiaddr that ends with /p2p/<peer id>', ma.toString())
  }

  return peerId
}

function oneOf<T extends string> (name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) {
    return fallback
  }

  if (!allowed.includes(value as T)) {
    throw invalid(name, allowed.map(a => `'${a}'`).join(', ').replace(/, ([^,]*)$/, ' or $1'), value)
  }

  return value as T
}

function optionalFunction (name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw invalid(name, 'a function', value)
  }
}

/** Fills in defaults and refuses values that cannot work, with an InvalidParametersError naming the option */
export function resolveOptions (init: RendezvousDiscoveryInit = {}): ResolvedOptions {
  const options = object<RendezvousDiscoveryInit>('init', init, KNOWN_KEYS as Array<keyof RendezvousDiscoveryInit & string>)
  const quotas = object<QuotaInit>('quotas', options.quotas, ['topic', 'relay', 'dapp', 'namespace'])
  const tags = object<TagInit>('tags', options.tags, ['topic', 'relay', 'dapp', 'namespace', 'point'])
  const tag: NumberRule = { min: 0, max: 100, integer: true, text: 'a whole number from 0' }
  const dapp = options.dapp === undefined ? undefined : namespace('dapp', options.dapp)

  if (dapp !== undefined) {
    namespace('dapp', dappNamespace(dapp))
  }

  optionalFunction('deriveNamespaces', options.deriveNamespaces)
  optionalFunction('onWarning', options.onWarning)

  if (options.client !== undefined && typeof options.client !== 'function' && (typeof options.client !== 'object' || options.client === null)) {
    throw invalid('client', 'a RendezvousClient or a function returning one', options.client)
  }

  if (options.clientInit !== undefined && (typeof options.clientInit !== 'object' || options.clientInit === null)) {
    throw invalid('clientInit', 'an object', options.clientInit)
  }

  const pubsubService = options.pubsubService ?? DISCOVERY_DEFAULTS.pubsubService

  if (typeof pubsubService !== 'string' || pubsubService === '') {
    throw invalid('pubsubService', 'a service name', pubsubService)
  }

  const discoverInterval = number('discoverInterval', options.discoverInterval, DISCOVERY_DEFAULTS.discoverInterval, MS_POSITIVE)
  const maxDiscoverInterval = number('maxDiscoverInterval', options.maxDiscoverInterval, Math.max(discoverInterval, DISCOVERY_DEFAULTS.maxDiscoverInterval), MS_POSITIVE)

  if (maxDiscoverInterval < discoverInterval) {
    throw invalid('maxDiscoverInterval', `>= discoverInterval (${discoverInterval})`, maxDiscoverInterval)
  }

  return {
    points: points(options.points),
    dapp,
    namespaces: userNamespaces(options.namespaces),
    deriveNamespaces: options.deriveNamespaces,
    relay: oneOf('relay', options.relay, ['auto', 'always', 'never'], DISCOVERY_DEFAULTS.relay),
    relayListen: boolean('relayListen', options.relayListen, DISCOVERY_DEFAULTS.relayListen),
    quotas: {
      topic: number('quotas.topic', quotas.topic, DISCOVERY_DEFAULTS.quotas.topic, COUNT),
      relay: number('quotas.relay', quotas.relay, DISCOVERY_DEFAULTS.quotas.relay, COUNT),
      dapp: number('quotas.dapp', quotas.dapp, DISCOVERY_DEFAULTS.quotas.dapp, COUNT),
      namespace: number('quotas.namespace', quotas.namespace, DISCOVERY_DEFAULTS.quotas.namespace, COUNT)
    },
    tags: {
      topic: number('tags.topic', tags.topic, DISCOVERY_DEFAULTS.tags.topic, tag),
      relay: number('tags.relay', tags.relay, DISCOVERY_DEFAULTS.tags.relay, tag),
      dapp: number('tags.dapp', tags.dapp, DISCOVERY_DEFAULTS.tags.dapp, tag),
      namespace: number('tags.namespace', tags.namespace, DISCOVERY_DEFAULTS.tags.namespace, tag),
      point: number('tags.point', tags.point, DISCOVERY_DEFAULTS.tags.point, tag)
    },
    ttl: options.ttl === undefined ? undefined : number('ttl', options.ttl, 0, { min: 1, max: MAX_TTL_SECONDS, integer: true, text: 'a whole number of seconds >= 1' }),
    refreshMargin: number('refreshMargin', options.refreshMargin, DISCOVERY_DEFAULTS.refreshMargin, MS),
    fastDiscoverInterval: number('fastDiscoverInterval', options.fastDiscoverInterval, Math.min(DISCOVERY_DEFAULTS.fastDiscoverInterval, discoverInterval), MS_POSITIVE),
    fastDiscoverWindow: number('fastDiscoverWindow', options.fastDiscoverWindow, DISCOVERY_DEFAULTS.fastDiscoverWindow, MS),
    discoverInterval,
    maxDiscoverInterval,
    satisfiedDiscoverInterval: number('satisfiedDiscoverInterval', options.satisfiedDiscoverInterval, DISCOVERY_DEFAULTS.satisfiedDiscoverInterval, MS_POSITIVE),
    discoverLimit: number('discoverLimit', options.discoverLimit, DISCOVERY_DEFAULTS.discoverLimit, { min: 1, max: MAX_DISCOVER_LIMIT, integer: true, text: 'a whole number >= 1' }),
    pollInterval: number('pollInterval', options.pollInterval, DISCOVERY_DEFAULTS.pollInterval, { min: 10, text: 'a number of ms >= 10' }),
    pointBackoff: backoff('pointBackoff', options.pointBackoff, DISCOVERY_DEFAULTS.pointBackoff),
    peerBackoff: backoff('peerBackoff', options.peerBackoff, DISCOVERY_DEFAULTS.peerBackoff),
    maxParallelDials: number('maxParallelDials', options.maxParallelDials, DISCOVERY_DEFAULTS.maxParallelDials, COUNT_POSITIVE),
    maxQueuedDials: number('maxQueuedDials', options.maxQueuedDials, DISCOVERY_DEFAULTS.maxQueuedDials, COUNT_POSITIVE),
    dialTimeout: number('dialTimeout', options.dialTimeout, DISCOVERY_DEFAULTS.dialTimeout, MS_POSITIVE),
    connectionHeadroom: options.connectionHeadroom === undefined ? undefined : number('connectionHeadroom', options.connectionHeadroom, 0, COUNT),
    countGrace: number('countGrace', options.countGrace, DISCOVERY_DEFAULTS.countGrace, MS),
    keepAlivePoints: boolean('keepAlivePoints', options.keepAlivePoints, DISCOVERY_DEFAULTS.keepAlivePoints),
    stopTimeout: number('stopTimeout', options.stopTimeout, DISCOVERY_DEFAULTS.stopTimeout, MS),
    pubsubService,
    client: options.client,
    clientInit: options.clientInit,
    onWarning: options.onWarning
  }
}
