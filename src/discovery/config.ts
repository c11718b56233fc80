/**
 * The discovery module's options as a table (type and bounds, default, one line of docs) and their check, which
 * `rendezvousDiscovery()` runs when it is called: a value that cannot work, or a key that is no option, throws the
 * option error then rather than leaving a node that misbehaves later. The default client's `clientInit` is checked
 * by the client's own table.
 *
 * Defaults that follow other options when not set: `maxDiscoverInterval` is at least `discoverInterval`,
 * `fastDiscoverInterval` at most `discoverInterval`, a backoff's `max` at least its `initial`.
 */
import { CLIENT_OPTIONS } from '../client/config.ts'
import { MAX_DISCOVER_LIMIT, MAX_TTL_SECONDS } from '../constants.ts'
import { checkOptions, object } from '../options/check-options.ts'
import { defaultsOf } from '../options/option-table.ts'
import { boolean, decimal, func, integer, list, oneOf, text } from '../options/option-types.ts'
import { pointAddress } from '../options/point-address.ts'
import { namespaceProblem } from '../protocol/namespace.ts'
import { MAX_TIMER_DELAY } from './clock.ts'
import { dappNamespace } from './namespace-names.ts'
import type { QuotaInit, RelayMode, RendezvousDiscoveryInit, TagInit, UserNamespace } from './options.ts'
import type { RendezvousClientInit } from '../client/types.ts'
import type { OptionTable } from '../options/option-table.ts'
import type { CheckContext, OptionType } from '../options/option-types.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A backoff: the first delay, and the ceiling it doubles up to */
export interface Backoff {
  initial: number
  max: number
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
  pointBackoff: Backoff
  peerBackoff: Backoff
  maxParallelDials: number
  maxQueuedDials: number
  dialTimeout: number
  connectionHeadroom?: number
  countGrace: number
  keepAlivePoints: boolean
  learnPoints: boolean
  maxPoints: number
  pointsPerNamespace: number
  pointListInterval: number
  configuredFallback: boolean
  stopTimeout: number
  pubsubService: string
  client?: RendezvousDiscoveryInit['client']
  clientInit?: RendezvousClientInit
  onWarning?: RendezvousDiscoveryInit['onWarning']
}

export const OWNER = 'rendezvousDiscovery'

/** A delay that must pass, in ms; anything larger would overflow a timer */
const MS_POSITIVE = decimal({ min: 0, above: true, max: MAX_TIMER_DELAY, unit: 'ms' })
/** A delay that may be none, in ms */
const MS = decimal({ min: 0, max: MAX_TIMER_DELAY, unit: 'ms' })
const COUNT = integer({ min: 0 })
const COUNT_POSITIVE = integer({ min: 1 })
const TAG_VALUE = integer({ min: 0, max: 100 })

const NAMESPACE = text({ requirement: 'a namespace of 1 to 255 bytes of UTF-8 without control characters', placeholder: '<namespace>', problem: namespaceProblem })

/** A rendezvous point: a multiaddr, or its string, that names the point's peer id */
const POINT = pointAddress()

const CLIENT_REQUIREMENT = 'a RendezvousClient or a function returning one'

const CLIENT: OptionType<NonNullable<RendezvousDiscoveryInit['client']>> = {
  requirement: CLIENT_REQUIREMENT,
  placeholder: '<client>',
  check (value: unknown, context: CheckContext): NonNullable<RendezvousDiscoveryInit['client']> {
    if (typeof value !== 'function' && (typeof value !== 'object' || value === null)) {
      context.fail(CLIENT_REQUIREMENT, value)
    }

    return value as NonNullable<RendezvousDiscoveryInit['client']>
  }
}

export const QUOTA_OPTIONS: OptionTable<QuotaInit, Required<QuotaInit>> = {
  rows: {
    // gossipsub's D
    topic: { type: COUNT, default: 6, doc: 'connected peers wanted per subscribed pubsub topic' },
    relay: { type: COUNT, default: 2, doc: 'relays wanted while the node needs one' },
    dapp: { type: COUNT, default: 4, doc: 'connected peers wanted from the node\'s dapp' },
    namespace: { type: COUNT, default: 4, doc: 'connected peers wanted per user namespace that sets no quota of its own' }
  }
}

export const TAG_OPTIONS: OptionTable<TagInit, Required<TagInit>> = {
  rows: {
    topic: { type: TAG_VALUE, default: 60, doc: 'value of the `rendezvous-topic` tag on peers kept for a topic' },
    relay: { type: TAG_VALUE, default: 80, doc: 'value of the `rendezvous-relay` tag on relays kept' },
    dapp: { type: TAG_VALUE, default: 60, doc: 'value of the `rendezvous-dapp` tag on dapp peers kept' },
    namespace: { type: TAG_VALUE, default: 50, doc: 'value of the `rendezvous-namespace` tag on peers kept for a user namespace' },
    // the points above everything (pruning ignores keep-alive tags), relays above the peers they carry
    point: { type: TAG_VALUE, default: 100, doc: 'value of the `keep-alive-rendezvous` tag on the rendezvous points' }
  }
}

export const USER_NAMESPACE_OPTIONS: OptionTable<UserNamespace> = {
  rows: {
    ns: { type: NAMESPACE, required: true, doc: 'the rendezvous namespace' },
    register: { type: boolean(), defaultText: 'true', doc: 'register this node under it' },
    discover: { type: boolean(), defaultText: 'true', doc: 'discover and dial peers under it' },
    quota: { type: COUNT, defaultText: '`quotas.namespace`', note: '4', doc: 'connected peers wanted from it' },
    closest: { type: COUNT_POSITIVE, defaultText: 'none', doc: 'keep connections to this many registrants, the ones nearest to this node in kad-dht\'s keyspace' }
  },
  relate (user, { fail, ref }) {
    if (user.closest !== undefined && user.quota !== undefined && user.quota !== user.closest) {
      fail('quota', `left out or equal to ${ref('closest')} (${user.closest}), which sets the quota`, user.quota)
    }
  }
}

/** The table of a backoff whose ceiling is `max` unless set (or `initial` is higher) */
function backoffOptions (initial: number, max: number): OptionTable<{ initial?: number, max?: number }, Backoff> {
  return {
    rows: {
      initial: { type: MS_POSITIVE, default: initial, doc: 'the first delay, in ms' },
      max: { type: MS_POSITIVE, default: max, doc: 'the ceiling the delay doubles up to, in ms' }
    },
    relate (backoff, { isSet, fail, ref }) {
      if (!isSet('max')) {
        backoff.max = Math.max(backoff.initial, backoff.max)
      }

      if (backoff.max < backoff.initial) {
        fail('max', `at least ${ref('initial')} (${backoff.initial})`, backoff.max)
      }
    }
  }
}

// a point that comes back is used within 10 s; a dead one costs a dial per 7.5 s on average (equal jitter, point-health.ts)
const POINT_BACKOFF = backoffOptions(1000, 10_000)
const PEER_BACKOFF = backoffOptions(5000, 600_000)

export const DISCOVERY_OPTIONS: OptionTable<RendezvousDiscoveryInit, ResolvedOptions> = {
  owner: OWNER,
  rows: {
    points: {
      type: list(POINT, { requirement: 'an array of multiaddrs (or their strings) that end with /p2p/<peer id>' }),
      default: [],
      note: 'the module then only reports its state, and warns once',
      doc: 'rendezvous points: multiaddrs ending in `/p2p/<id>`, the bootstrap list: the node learns the others from them and places each namespace on `pointsPerNamespace` of the points it knows'
    },
    dapp: {
      type: text({
        requirement: 'a dapp id whose namespace /dapp/<id> is 1 to 255 bytes of UTF-8 without control characters',
        placeholder: '<id>',
        problem: id => namespaceProblem(id) ?? namespaceProblem(dappNamespace(id))
      }),
      defaultText: 'none',
      doc: 'dapp id: register and discover `/dapp/<id>`'
    },
    namespaces: {
      type: list(object(USER_NAMESPACE_OPTIONS), { requirement: 'an array of { ns, register?, discover?, quota?, closest? }' }),
      default: [],
      doc: 'the application\'s own namespaces (`{ ns, register?, discover?, quota?, closest? }`; `closest: n` keeps the n registrants nearest in kad-dht\'s keyspace)'
    },
    deriveNamespaces: {
      type: func(),
      defaultText: 'the default rules',
      doc: '`(state, defaults) => NamespaceSpec[]`, replaces the rules above'
    },
    relay: {
      type: oneOf(['auto', 'always', 'never']),
      default: 'auto',
      doc: 'when to look for relays: `\'auto\'`, `\'always\'`, `\'never\'`'
    },
    relayListen: {
      type: boolean(),
      default: true,
      doc: 'add `/p2p-circuit` listen addresses as relays connect'
    },
    quotas: {
      type: object(QUOTA_OPTIONS),
      default: defaultsOf(QUOTA_OPTIONS) as Required<QuotaInit>,
      doc: 'connected peers wanted per namespace kind'
    },
    tags: {
      type: object(TAG_OPTIONS),
      default: defaultsOf(TAG_OPTIONS) as Required<TagInit>,
      doc: 'values of the tags on the peers kept (see [discovery.md](discovery.md#quotas-tags-and-the-connection-manager))'
    },
    ttl: {
      type: integer({ min: 1, max: MAX_TTL_SECONDS, unit: 'seconds' }),
      defaultText: 'none',
      note: 'the point\'s default, 2 h in the spec',
      doc: 'TTL asked for on REGISTER, in seconds'
    },
    refreshMargin: {
      type: MS,
      default: 30_000,
      doc: 'refresh this long before the granted TTL ends, in ms (at most a quarter of it), minus up to 10% of the TTL at random'
    },
    fastDiscoverInterval: {
      type: MS_POSITIVE,
      default: 100,
      doc: 'while a quota is unmet and its namespace younger than `fastDiscoverWindow`, delay between queries, in ms, doubling while nothing new comes (up to `maxDiscoverInterval`)'
    },
    fastDiscoverWindow: {
      type: MS,
      default: 10_000,
      doc: 'how long after a namespace appears queries may follow the fast schedule, in ms'
    },
    discoverInterval: {
      type: MS_POSITIVE,
      default: 1000,
      doc: 'delay between queries while a quota is unmet and new peers keep coming, in ms'
    },
    maxDiscoverInterval: {
      type: MS_POSITIVE,
      default: 120_000,
      doc: 'the delay doubles up to this while queries bring nothing new, in ms'
    },
    satisfiedDiscoverInterval: {
      type: MS_POSITIVE,
      default: 30_000,
      doc: 'delay between queries once the quota is met, in ms: a node at quota learns of a newcomer within it, at one query per period'
    },
    discoverLimit: {
      type: integer({ min: 1, max: MAX_DISCOVER_LIMIT }),
      default: 100,
      doc: 'registrations asked for per query (a full page with something new is followed by the next at once)'
    },
    pollInterval: {
      type: decimal({ min: 10, max: MAX_TIMER_DELAY, unit: 'ms' }),
      default: 5000,
      doc: 'fallback re-read of node state, in ms; changes are seen at once through events'
    },
    pointBackoff: {
      type: object(POINT_BACKOFF),
      default: defaultsOf(POINT_BACKOFF) as unknown as Backoff,
      doc: 'backoff of a failing point, in ms: exponential, jittered in the upper half of the doubled ceiling; `max` bounds how long a point that comes back waits to be used'
    },
    peerBackoff: {
      type: object(PEER_BACKOFF),
      default: defaultsOf(PEER_BACKOFF) as unknown as Backoff,
      doc: 'backoff of a peer whose dial failed, in ms, same shape'
    },
    maxParallelDials: {
      type: COUNT_POSITIVE,
      default: 4,
      doc: 'dials in flight at once'
    },
    maxQueuedDials: {
      type: COUNT_POSITIVE,
      default: 32,
      doc: 'dials waiting in the queue at most'
    },
    dialTimeout: {
      type: MS_POSITIVE,
      default: 10_000,
      doc: 'time allowed for one dial, in ms'
    },
    connectionHeadroom: {
      type: COUNT,
      defaultText: '10% of `maxConnections`, at least 2',
      doc: 'the dialer stops at `maxConnections - connectionHeadroom`'
    },
    countGrace: {
      type: MS,
      default: 10_000,
      doc: 'a topic peer just dialed, or a registrant that connected to us, counts as pending this long while pubsub learns its subscriptions, in ms'
    },
    keepAlivePoints: {
      type: boolean(),
      default: true,
      doc: 'tag the points `keep-alive-rendezvous` so libp2p keeps them connected'
    },
    learnPoints: {
      type: boolean(),
      default: true,
      doc: 'learn more points from the lists (`/libp2p/rendezvous`) of the points given, and of the learned points they listed once verified; `points` are then the bootstrap list'
    },
    maxPoints: {
      type: COUNT_POSITIVE,
      default: 20,
      doc: 'learned points kept at most (the configured ones come on top)'
    },
    pointsPerNamespace: {
      type: COUNT_POSITIVE,
      default: 3,
      doc: 'points each namespace is registered and discovered at, chosen by highest-random-weight hashing of (namespace, point id) over the points known and verified; nodes that know the same points choose the same'
    },
    pointListInterval: {
      type: MS_POSITIVE,
      default: 300_000,
      doc: 'the points\' lists are read again at 1 s, doubling up to this, in ms (at once this when every list answered empty: a lone point)'
    },
    configuredFallback: {
      type: boolean(),
      default: true,
      doc: 'also register every namespace at the configured points, and discover there while a quota is unmet after the placed points answered: a node given one point (a Go or Rust peer) is still found'
    },
    stopTimeout: {
      type: MS,
      default: 2000,
      doc: 'how long stopping waits for REGISTERs in flight to settle and UNREGISTERs to go out, in ms'
    },
    pubsubService: {
      type: text({ requirement: 'the name of a service (a non-empty string)', placeholder: '<name>' }),
      default: 'pubsub',
      doc: 'name of the pubsub service'
    },
    client: {
      type: CLIENT,
      defaultText: 'a client made by `rendezvousClient(clientInit)`',
      doc: 'a `RendezvousClient` (or a factory of one) to use instead'
    },
    clientInit: {
      type: object(CLIENT_OPTIONS),
      default: {},
      note: 'the client\'s own defaults',
      doc: 'options of the default client (see the client options above)'
    },
    onWarning: {
      type: func(),
      defaultText: 'printed with `console.warn`, also logged as an error under `libp2p:rendezvous:discovery`',
      doc: 'hears each warning about a setup that cannot work as meant, once per kind (see [discovery.md](discovery.md#warnings))'
    }
  },
  relate (options, { isSet, fail, ref }) {
    if (!isSet('maxDiscoverInterval')) {
      options.maxDiscoverInterval = Math.max(options.discoverInterval, options.maxDiscoverInterval)
    }

    if (options.maxDiscoverInterval < options.discoverInterval) {
      fail('maxDiscoverInterval', `at least ${ref('discoverInterval')} (${options.discoverInterval})`, options.maxDiscoverInterval)
    }

    if (!isSet('fastDiscoverInterval')) {
      options.fastDiscoverInterval = Math.min(options.fastDiscoverInterval, options.discoverInterval)
    }
  }
}

/** Every default of the discovery module's options that is one value */
export const DISCOVERY_DEFAULTS = defaultsOf(DISCOVERY_OPTIONS) as Readonly<Omit<ResolvedOptions, 'dapp' | 'deriveNamespaces' | 'ttl' | 'connectionHeadroom' | 'client' | 'clientInit' | 'onWarning'>>

/** Fills in defaults and refuses values that cannot work, with an `InvalidParametersError` naming the option */
export function resolveOptions (init: RendezvousDiscoveryInit = {}): ResolvedOptions {
  return checkOptions(DISCOVERY_OPTIONS, init)
}
