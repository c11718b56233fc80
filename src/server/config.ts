/**
 * The server's options as a table (type and bounds, default, one line of docs), and its check: `rendezvousServer()`
 * runs it when it is called, so an option set that cannot work throws the option error then, not on the first
 * request. The command's flags for these options come from this table too (cli/option-table.ts).
 *
 * Defaults that follow other options when they are not set: `defaultTtl` (the spec's 2 h, clamped into
 * [minTtl, maxTtl], so that lowering `maxTtl` below 2 h, as tests and short-lived networks do, brings the default
 * down with it) and `maxRecordSize` (4 KiB, lowered to what a request and a response can carry).
 */
import {
  DEFAULT_MAX_RECORD_SIZE, DEFAULT_TTL_SECONDS, MAX_DISCOVER_LIMIT, MAX_NAMESPACE_LENGTH, MAX_REGISTRATIONS_PER_PEER,
  MAX_TIMER_MS, MAX_TTL_SECONDS, MIN_TTL_SECONDS, PROTOCOL
} from '../constants.ts'
import { checkOptions } from '../options/check-options.ts'
import { defaultsOf } from '../options/option-table.ts'
import { boolean, integer, list, oneOf, protocolId, text, withMethods } from '../options/option-types.ts'
import { namespaceProblem } from '../protocol/namespace.ts'
import { admitList, peerPointList } from './points/point-options.ts'
import { largestRecordInResponse } from './response-size.ts'
import type { RendezvousServerInit } from './options.ts'
import type { RegistrationStore } from './store/registration-store.ts'
import type { OptionNames } from '../options/invalid-option.ts'
import type { OptionTable, RelateContext } from '../options/option-table.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Every server option with its default applied, the peer points as multiaddrs and the admitted points as strings */
export type ServerConfig = Required<Omit<RendezvousServerInit, 'store' | 'peerPoints' | 'admitPoints'>> & {
  peerPoints: Multiaddr[]
  admitPoints: 'any' | string[]
}

/** The options as checked: the store stays unset when none was given (the factory makes a memory store per node) */
export type CheckedServerOptions = ServerConfig & { store?: RegistrationStore }

const TTL = integer({ min: 1, max: MAX_TTL_SECONDS, unit: 'seconds' })
const BYTES = integer({ min: 1, unit: 'bytes' })
const COUNT = integer({ min: 1 })
// timers longer than this fire at once
const TIMER = integer({ min: 1, max: MAX_TIMER_MS, unit: 'ms' })

/** A record must fit in one DISCOVER_RESPONSE on its own (or its namespace's paging stops at it), and in a request */
function relateRecordSize (config: ServerConfig, { isSet, fail, ref }: RelateContext): void {
  const fits = largestRecordInResponse(config.maxResponseSize, config.maxNamespaceLength)

  if (!isSet('maxRecordSize')) {
    config.maxRecordSize = Math.min(config.maxRecordSize, config.maxRequestSize, fits)
  }

  if (config.maxRecordSize < 1 || config.maxRecordSize > fits) {
    // a default lowered below one byte: no record fits at all
    const record = Math.max(1, config.maxRecordSize)
    const what = config.maxRecordSize < 1 ? 'any record' : `a record of ${ref('maxRecordSize')} (${record}) bytes`
    fail('maxResponseSize', `at least ${config.maxResponseSize - fits + record} bytes, to carry ${what} in a namespace of ${ref('maxNamespaceLength')} (${config.maxNamespaceLength}) bytes`, config.maxResponseSize)
  }

  if (config.maxRecordSize > config.maxRequestSize) {
    fail('maxRecordSize', `at most ${ref('maxRequestSize')} (${config.maxRequestSize}), or no request could carry such a record`, config.maxRecordSize)
  }
}

/**
 * A full page must fit one peer's reply budget, and one peer's budget the server's: unset budgets follow a raised
 * `maxResponseSize`, set ones that cannot work are refused
 */
function relateReplyBudgets (config: ServerConfig, { isSet, fail, ref }: RelateContext): void {
  if (!isSet('maxReplyBytesPerPeer')) {
    config.maxReplyBytesPerPeer = Math.max(config.maxReplyBytesPerPeer, config.maxResponseSize)
  }

  if (!isSet('maxReplyBytes')) {
    config.maxReplyBytes = Math.max(config.maxReplyBytes, config.maxReplyBytesPerPeer)
  }

  if (config.maxReplyBytesPerPeer < config.maxResponseSize) {
    fail('maxReplyBytesPerPeer', `at least ${ref('maxResponseSize')} (${config.maxResponseSize}), or a full page could never be sent`, config.maxReplyBytesPerPeer)
  }

  if (config.maxReplyBytes < config.maxReplyBytesPerPeer) {
    fail('maxReplyBytes', `at least ${ref('maxReplyBytesPerPeer')} (${config.maxReplyBytesPerPeer})`, config.maxReplyBytes)
  }
}

export const SERVER_OPTIONS: OptionTable<RendezvousServerInit, CheckedServerOptions> = {
  owner: 'rendezvousServer',
  rows: {
    store: {
      type: withMethods('a RegistrationStore (an object with register, unregister, discover, removeExpired, getCookieSecret and stats methods)', ['register', 'unregister', 'discover', 'removeExpired', 'getCookieSecret', 'stats']),
      defaultText: 'a new `memoryRegistrationStore()`',
      doc: 'where registrations live; `postgresRegistrationStore(init)` shares them across a fleet'
    },
    minTtl: {
      type: TTL,
      default: MIN_TTL_SECONDS,
      note: '2 h, the spec\'s recommendation',
      doc: 'shortest TTL accepted, seconds'
    },
    maxTtl: {
      type: TTL,
      default: MAX_TTL_SECONDS,
      note: '72 h, the spec\'s maximum',
      doc: 'longest TTL accepted, seconds (clients drop TTLs past the spec\'s 72 h)'
    },
    defaultTtl: {
      type: TTL,
      default: DEFAULT_TTL_SECONDS,
      note: '2 h, the spec\'s; when not set, kept between `minTtl` and `maxTtl`',
      doc: 'TTL of a REGISTER without one (or with 0), seconds'
    },
    ttlBelowMin: {
      type: oneOf(['clamp', 'reject']),
      // Go's client accepts TTLs from 120 s and never retries a refusal
      default: 'clamp',
      doc: 'a TTL under `minTtl`: `\'clamp\'` registers it for `minTtl` (the reply says so), `\'reject\'` answers `E_INVALID_TTL` (Go\'s client asks from 120 s and never retries). Over `maxTtl` is always refused'
    },
    maxNamespaceLength: {
      type: BYTES,
      default: MAX_NAMESPACE_LENGTH,
      note: 'the spec',
      doc: 'longest namespace, **UTF-8 bytes** (Rust and Go count bytes too)'
    },
    maxRegistrationsPerPeer: {
      type: COUNT,
      default: MAX_REGISTRATIONS_PER_PEER,
      note: 'the spec',
      doc: 'live registrations per peer; refreshing one it holds always succeeds'
    },
    maxRegistrationsTotal: {
      type: COUNT,
      // not in the spec: a bound on the whole store so that one server cannot be filled without limit
      default: 1_000_000,
      doc: 'live registrations in all; beyond it REGISTER gets `E_UNAVAILABLE`'
    },
    maxDiscoverLimit: {
      type: COUNT,
      default: MAX_DISCOVER_LIMIT,
      note: 'the spec',
      doc: 'most registrations per DISCOVER page; also used for a missing or 0 `limit`'
    },
    maxRequestSize: {
      type: BYTES,
      // a REGISTER carries one signed peer record: an Ed25519 record with a handful of addresses is ~200 bytes and an
      // RSA-2048 one ~600, so 16 KiB leaves room for many addresses while keeping a hostile frame small
      default: 16 * 1024,
      doc: 'largest request frame, bytes; a larger length prefix resets the stream before the body is read'
    },
    maxResponseSize: {
      type: BYTES,
      // Rust caps messages at 1 MiB too, so a Rust client can read every page a server of ours sends
      default: 1024 * 1024,
      doc: 'largest DISCOVER_RESPONSE, bytes; a page is cut short to fit and its cookie continues'
    },
    maxRecordSize: {
      type: BYTES,
      default: DEFAULT_MAX_RECORD_SIZE,
      note: 'lowered to fit `maxRequestSize` and `maxResponseSize` when those are set low',
      doc: 'largest signed peer record accepted, bytes; beyond it: `E_INVALID_SIGNED_PEER_RECORD`. Must fit one DISCOVER_RESPONSE with a namespace of `maxNamespaceLength`'
    },
    maxRecordAddresses: {
      type: COUNT,
      // each address is a dial a discovering peer may try
      default: 64,
      doc: 'most addresses in a registered record; beyond it: `E_INVALID_SIGNED_PEER_RECORD`'
    },
    maxInboundStreams: {
      type: COUNT,
      default: 32,
      doc: 'rendezvous streams per connection at once'
    },
    maxConcurrentRequests: {
      type: COUNT,
      default: 256,
      doc: 'requests in progress, all peers together; beyond it: `E_UNAVAILABLE`. A DISCOVER waiting for its requester\'s identify (to tell a rust-libp2p reader) is not counted while it waits; as many again may wait, at most 16 of one peer, the others are answered at once'
    },
    timeout: {
      type: TIMER,
      default: 10_000,
      doc: 'time to read a request, handle it and write the reply, ms; then the stream is reset. A store still busy at 80% of it gets the request `E_UNAVAILABLE`'
    },
    streamIdleTimeout: {
      type: TIMER,
      // a shorter wait would end Go's discovery after a page
      default: 150_000,
      note: 'Go\'s `DiscoverAsync` asks again on the same stream every 120 s',
      doc: 'how long a stream may stay silent after a reply before the client\'s next request on it, ms; then it is reset. A next request gets `timeout` from its first byte'
    },
    maxRequestsPerStream: {
      type: COUNT,
      // 33 hours of Go's DiscoverAsync polls
      default: 1000,
      doc: 'requests answered on one stream; after the last reply the server closes its side'
    },
    maxReplyBytes: {
      type: BYTES,
      // replies written and not yet read: a few percent of the memory store's 1 GiB
      default: 64 * 1024 * 1024,
      note: '64 MiB; raised to `maxReplyBytesPerPeer` when that is set higher',
      doc: 'bytes of DISCOVER replies written and not yet taken by their peers, all peers together; a DISCOVER whose reply does not fit gets `E_UNAVAILABLE`. A reply is counted until its bytes have left for the connection, or until its stream is reset at `timeout` (a reader that stops reading)'
    },
    maxReplyBytesPerPeer: {
      type: BYTES,
      // four full pages: our client keeps up to four streams to a point
      default: 4 * 1024 * 1024,
      note: '4 MiB, four full pages; raised to `maxResponseSize` when that is set higher',
      doc: 'the same for one peer; at least `maxResponseSize`, so that a full page can always be sent'
    },
    verifiedRecordCacheSize: {
      type: integer({ min: 0 }),
      default: 5000,
      doc: 'signed peer records remembered after their signature check (by their bytes; those not used since half as many newer ones came are forgotten first), so the same record sent again, to refresh or in another namespace, is not checked again; about 3 KiB each; `0` checks every record'
    },
    sweepInterval: {
      type: TIMER,
      default: 60_000,
      doc: 'time between two removals of expired registrations, ms (expired ones are never returned meanwhile); a sweep that takes longer than `timeout` is given up and the next one goes on'
    },
    runOnLimitedConnection: {
      type: boolean(),
      default: true,
      doc: 'serve peers that reach the point over a relayed connection'
    },
    protocols: {
      type: list(protocolId(), { nonEmpty: true }),
      default: [PROTOCOL],
      doc: 'protocol ids served (e.g. add `/canvas/rendezvous/1.0.0`, same schema)'
    },
    peerPoints: {
      type: peerPointList(),
      default: [],
      defaultText: 'none',
      doc: 'rendezvous points to join a network of points through (multiaddrs ending in `/p2p/<id>`): the point registers itself under `/libp2p/rendezvous` at each and learns the other points from them; its own address in the list is skipped'
    },
    admitPoints: {
      type: admitList(),
      default: [],
      defaultText: 'none',
      note: 'the peer points only',
      doc: 'peer ids allowed to register under `/libp2p/rendezvous` here besides the peer points (the network\'s list of points), or `\'any\'` for closed test networks; others get `E_NOT_AUTHORIZED`. Learned points are used only when admitted'
    },
    maxLearnedPoints: {
      type: integer({ min: 0 }),
      // a network of community points has tens of them; each costs a REGISTER per half TTL and a slow DISCOVER
      default: 100,
      doc: 'points learned from other points kept beside the peer points; while full, new ones are ignored'
    },
    pointDiscoverInterval: {
      type: TIMER,
      default: 600_000,
      note: '10 min',
      doc: 'how often a settled point asks each point it knows for new points, ms (every 1 s at first, doubling while nothing new comes)'
    },
    ownNamespaces: {
      type: list(text({ requirement: 'a namespace of 1 to 255 bytes of UTF-8 without control characters', placeholder: '<namespace>', problem: namespaceProblem })),
      default: [],
      doc: 'namespaces the point lists itself under in its own store (`rendezvous-server --relay` sets `[\'/libp2p/relay\']`), refreshed at half the default TTL and when its addresses change'
    }
  },
  relate (config, context) {
    const { isSet, fail, ref } = context

    if (!isSet('defaultTtl')) {
      config.defaultTtl = Math.min(Math.max(DEFAULT_TTL_SECONDS, config.minTtl), config.maxTtl)
    }

    if (config.minTtl > config.maxTtl) {
      fail('minTtl', `at most ${ref('maxTtl')} (${config.maxTtl})`, config.minTtl)
    }

    if (config.defaultTtl < config.minTtl || config.defaultTtl > config.maxTtl) {
      fail('defaultTtl', `within ${ref('minTtl')} and ${ref('maxTtl')} (${config.minTtl} to ${config.maxTtl})`, config.defaultTtl)
    }

    relateRecordSize(config, context)
    relateReplyBudgets(config, context)
  }
}

/** Every default of the server's options */
export const SERVER_DEFAULTS = defaultsOf(SERVER_OPTIONS) as Readonly<ServerConfig>

/**
 * Checks the server's options and applies the defaults: the factory and the service call it, and the command with
 * `names` that name its flags
 */
export function checkServerOptions (init: RendezvousServerInit = {}, names?: OptionNames): CheckedServerOptions {
  return checkOptions(SERVER_OPTIONS, init, names)
}

/** Every option with its value, without the store */
export function resolveServerConfig (init: RendezvousServerInit = {}): ServerConfig {
  const { store, ...config } = checkServerOptions(init)
  return config
}
