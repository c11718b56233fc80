/**
 * The `rendezvous-server` options: one table that drives the command-line flags, the environment variables, the
 * config file keys and `--help`, so the four never disagree.
 *
 * Precedence, highest first: flags, environment (`RENDEZVOUS_*`), the JSON config file (`--config`), defaults.
 */
import { parseArgs } from 'node:util'
import { InvalidParametersError } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_TIMER_MS } from '../constants.ts'
import { COMMAND_DEFAULTS, MEMORY_STORE_DEFAULTS, POSTGRES_STORE_DEFAULTS, SERVER_DEFAULTS } from '../defaults.ts'
import { resolveServerConfig } from '../server/config.ts'
import { postgresUrlProblem, schemaNameProblem } from '../server/store/postgres-settings.ts'
import type { RendezvousServerInit } from '../server/options.ts'
import type { MemoryRegistrationStoreInit } from '../server/store/memory-registration-store.ts'
import type { PostgresRegistrationStoreInit } from '../server/store/postgres-store.ts'
import type { ParseArgsConfig } from 'node:util'

/**
 * `integer`: a positive one; `count`: zero or more; `flag`: a switch on the command line (`--relay`), true/false in
 * the environment and the config file
 */
export type OptionKind = 'string' | 'list' | 'integer' | 'count' | 'boolean' | 'flag'

export interface OptionSpec {
  /** The flag without its dashes; the config file key is its camelCase, the env var its UPPER_SNAKE with `RENDEZVOUS_` */
  flag: string
  kind: OptionKind
  /** What `--help` prints after the flag, e.g. `<multiaddr>` */
  value?: string
  help: string
  /** The default as `--help` prints it; omitted when there is none */
  defaultText?: string
  /** Which part of the program the option belongs to, for the grouping in `--help` */
  group: 'network' | 'identity' | 'store' | 'limits' | 'relay' | 'operations'
}

/**
 * The server's options as flags: flag -> RendezvousServerInit key. The server checks the values and their
 * combinations; its messages name the key, which the command turns back into the flag.
 */
export const SERVER_FLAGS = {
  'min-ttl': 'minTtl',
  'max-ttl': 'maxTtl',
  'default-ttl': 'defaultTtl',
  'ttl-below-min': 'ttlBelowMin',
  'max-namespace-length': 'maxNamespaceLength',
  'max-registrations-per-peer': 'maxRegistrationsPerPeer',
  'max-registrations-total': 'maxRegistrationsTotal',
  'max-discover-limit': 'maxDiscoverLimit',
  'max-request-size': 'maxRequestSize',
  'max-response-size': 'maxResponseSize',
  'max-record-size': 'maxRecordSize',
  'max-record-addresses': 'maxRecordAddresses',
  'max-inbound-streams': 'maxInboundStreams',
  'max-concurrent-requests': 'maxConcurrentRequests',
  timeout: 'timeout',
  'stream-idle-timeout': 'streamIdleTimeout',
  'max-requests-per-stream': 'maxRequestsPerStream',
  'verified-record-cache-size': 'verifiedRecordCacheSize',
  'sweep-interval': 'sweepInterval',
  'run-on-limited-connection': 'runOnLimitedConnection',
  protocol: 'protocols'
} as const satisfies Record<string, keyof Omit<RendezvousServerInit, 'store'>>

/** The memory store's options as flags: flag -> MemoryRegistrationStoreInit key */
export const MEMORY_STORE_FLAGS = {
  'memory-max-bytes': 'maxBytes',
  'memory-max-bytes-per-peer': 'maxBytesPerPeer'
} as const satisfies Record<string, keyof MemoryRegistrationStoreInit>

/** The PostgreSQL store's options as flags, besides its URL (`--store`): flag -> PostgresRegistrationStoreInit key */
export const POSTGRES_STORE_FLAGS = {
  'postgres-schema': 'schema',
  'postgres-max-connections': 'maxConnections',
  'postgres-max-read-connections': 'maxReadConnections',
  'postgres-max-waiting': 'maxWaiting',
  'postgres-connect-timeout': 'connectTimeout',
  'postgres-statement-timeout': 'statementTimeout',
  'postgres-lock-timeout': 'lockTimeout'
} as const satisfies Record<string, keyof PostgresRegistrationStoreInit>

export const DEFAULT_LISTEN: string[] = [...COMMAND_DEFAULTS.listen]
export const DEFAULT_IDENTITY_FILE = COMMAND_DEFAULTS.identity
export const LOG_LEVELS = ['silent', 'error', 'info', 'debug', 'trace'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export const OPTIONS: OptionSpec[] = [
  { flag: 'listen', kind: 'list', value: '<multiaddr>', group: 'network', defaultText: DEFAULT_LISTEN.join(','), help: 'Address to listen on, TCP (/ip4/A/tcp/N) or WebSockets (/ip4/A/tcp/N/ws, for browsers; terminate TLS in a proxy and --announce /wss). Repeat the flag or separate with commas' },
  { flag: 'announce', kind: 'list', value: '<multiaddr>', group: 'network', help: 'Address to tell peers instead of the listen addresses, e.g. /dns4/rdv.example.com/tcp/443/wss behind a TLS proxy. Repeatable' },
  { flag: 'max-connections', kind: 'integer', value: '<n>', group: 'network', defaultText: String(COMMAND_DEFAULTS.maxConnections), help: 'Most open connections; past it libp2p prunes the least valuable' },
  { flag: 'inbound-connection-threshold', kind: 'integer', value: '<n>', group: 'network', defaultText: String(COMMAND_DEFAULTS.inboundConnectionThreshold), help: 'Inbound connections accepted per second from one IP address (raise it when many clients share a NAT)' },
  { flag: 'identity', kind: 'string', value: '<file>', group: 'identity', defaultText: DEFAULT_IDENTITY_FILE, help: 'Private key file: created (Ed25519, mode 0600) on first start, reused after, so the peer id stays the same' },
  { flag: 'store', kind: 'string', value: 'memory|<url>', group: 'store', defaultText: COMMAND_DEFAULTS.store, help: 'Where registrations live: "memory" (lost on restart) or a postgres://user:password@host:5432/db URL, which several servers can share' },
  { flag: 'store-start-timeout', kind: 'integer', value: '<ms>', group: 'store', defaultText: String(COMMAND_DEFAULTS.storeStartTimeout), help: 'How long the store may take to start (connect, create or migrate its tables) before the command gives up with status 1' },
  { flag: 'memory-max-bytes', kind: 'integer', value: '<bytes>', group: 'store', defaultText: String(MEMORY_STORE_DEFAULTS.maxBytes), help: 'Memory store: bytes its registrations may take in all; past it REGISTER gets E_UNAVAILABLE' },
  { flag: 'memory-max-bytes-per-peer', kind: 'integer', value: '<bytes>', group: 'store', defaultText: String(MEMORY_STORE_DEFAULTS.maxBytesPerPeer), help: 'Memory store: bytes one peer\'s registrations may take; past it REGISTER gets E_NOT_AUTHORIZED' },
  { flag: 'postgres-schema', kind: 'string', value: '<name>', group: 'store', defaultText: POSTGRES_STORE_DEFAULTS.schema, help: 'PostgreSQL schema for the tables; servers on the same schema form one fleet' },
  { flag: 'postgres-max-connections', kind: 'integer', value: '<n>', group: 'store', defaultText: String(POSTGRES_STORE_DEFAULTS.maxConnections), help: 'Most connections this server opens to PostgreSQL for REGISTER, UNREGISTER and the expiry sweep' },
  { flag: 'postgres-max-read-connections', kind: 'integer', value: '<n>', group: 'store', defaultText: String(POSTGRES_STORE_DEFAULTS.maxReadConnections), help: 'Most connections it opens for DISCOVER, besides --postgres-max-connections' },
  { flag: 'postgres-max-waiting', kind: 'integer', value: '<n>', group: 'store', defaultText: String(POSTGRES_STORE_DEFAULTS.maxWaiting), help: 'Queries that may wait for a free connection, per pool; past it a request gets E_UNAVAILABLE at once' },
  { flag: 'postgres-connect-timeout', kind: 'integer', value: '<s>', group: 'store', defaultText: String(POSTGRES_STORE_DEFAULTS.connectTimeout), help: 'How long opening a connection to PostgreSQL may take, in seconds' },
  { flag: 'postgres-statement-timeout', kind: 'integer', value: '<ms>', group: 'store', defaultText: String(POSTGRES_STORE_DEFAULTS.statementTimeout), help: 'How long one statement may run before PostgreSQL cancels it, in milliseconds' },
  { flag: 'postgres-lock-timeout', kind: 'integer', value: '<ms>', group: 'store', defaultText: String(POSTGRES_STORE_DEFAULTS.lockTimeout), help: 'How long a statement may wait for a row lock, in milliseconds' },
  { flag: 'min-ttl', kind: 'integer', value: '<s>', group: 'limits', defaultText: String(SERVER_DEFAULTS.minTtl), help: 'Shortest registration TTL accepted, in seconds' },
  { flag: 'max-ttl', kind: 'integer', value: '<s>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxTtl), help: 'Longest registration TTL accepted, in seconds' },
  { flag: 'default-ttl', kind: 'integer', value: '<s>', group: 'limits', defaultText: String(SERVER_DEFAULTS.defaultTtl), help: 'TTL of a registration that asks for none, in seconds (within min..max)' },
  { flag: 'ttl-below-min', kind: 'string', value: 'clamp|reject', group: 'limits', defaultText: SERVER_DEFAULTS.ttlBelowMin, help: 'What a REGISTER asking for less than --min-ttl gets: clamp registers it for --min-ttl (Go\'s client asks for 120 s and never retries a refusal), reject answers E_INVALID_TTL' },
  { flag: 'max-namespace-length', kind: 'integer', value: '<bytes>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxNamespaceLength), help: 'Longest namespace, in UTF-8 bytes' },
  { flag: 'max-registrations-per-peer', kind: 'integer', value: '<n>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxRegistrationsPerPeer), help: 'Live registrations one peer may hold (across the fleet on PostgreSQL)' },
  { flag: 'max-registrations-total', kind: 'integer', value: '<n>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxRegistrationsTotal), help: 'Live registrations held in all; past it REGISTER gets E_UNAVAILABLE' },
  { flag: 'max-discover-limit', kind: 'integer', value: '<n>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxDiscoverLimit), help: 'Most registrations in one DISCOVER response' },
  { flag: 'max-request-size', kind: 'integer', value: '<bytes>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxRequestSize), help: 'Largest request read' },
  { flag: 'max-response-size', kind: 'integer', value: '<bytes>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxResponseSize), help: 'Largest DISCOVER response written' },
  { flag: 'max-record-size', kind: 'integer', value: '<bytes>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxRecordSize), help: 'Largest signed peer record accepted; it must fit in one DISCOVER response' },
  { flag: 'max-record-addresses', kind: 'integer', value: '<n>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxRecordAddresses), help: 'Most addresses a registered peer record may list' },
  { flag: 'max-inbound-streams', kind: 'integer', value: '<n>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxInboundStreams), help: 'Rendezvous streams served at once per connection' },
  { flag: 'max-concurrent-requests', kind: 'integer', value: '<n>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxConcurrentRequests), help: 'Requests processed at once, all peers together; past it requests get E_UNAVAILABLE' },
  { flag: 'timeout', kind: 'integer', value: '<ms>', group: 'limits', defaultText: String(SERVER_DEFAULTS.timeout), help: 'Time allowed to read a request, handle it and reply, in milliseconds' },
  { flag: 'stream-idle-timeout', kind: 'integer', value: '<ms>', group: 'limits', defaultText: String(SERVER_DEFAULTS.streamIdleTimeout), help: 'How long a stream may stay silent after a reply before it is reset, in milliseconds (Go\'s DiscoverAsync asks again every 120 s on one stream)' },
  { flag: 'max-requests-per-stream', kind: 'integer', value: '<n>', group: 'limits', defaultText: String(SERVER_DEFAULTS.maxRequestsPerStream), help: 'Requests answered on one stream; after the last reply the server closes its side' },
  { flag: 'verified-record-cache-size', kind: 'count', value: '<n>', group: 'limits', defaultText: String(SERVER_DEFAULTS.verifiedRecordCacheSize), help: 'Signed peer records remembered after their signature check (about 3 KiB each), so the same record sent again is not checked again; 0 checks every record' },
  { flag: 'sweep-interval', kind: 'integer', value: '<ms>', group: 'limits', defaultText: String(SERVER_DEFAULTS.sweepInterval), help: 'How often expired registrations are removed, in milliseconds' },
  { flag: 'run-on-limited-connection', kind: 'boolean', value: 'true|false', group: 'limits', defaultText: String(SERVER_DEFAULTS.runOnLimitedConnection), help: 'Serve requests that arrive over relayed (limited) connections' },
  { flag: 'protocol', kind: 'list', value: '<id>', group: 'limits', defaultText: SERVER_DEFAULTS.protocols.join(','), help: 'Protocol id to serve. Repeatable' },
  { flag: 'relay', kind: 'flag', group: 'relay', defaultText: String(COMMAND_DEFAULTS.relay), help: 'Also run a circuit relay v2 server, and register this server under the "/libp2p/relay" namespace so browsers find it' },
  { flag: 'relay-max-reservations', kind: 'integer', value: '<n>', group: 'relay', defaultText: String(COMMAND_DEFAULTS.relayMaxReservations), help: 'Most relay reservations held at once' },
  { flag: 'relay-unlimited', kind: 'flag', group: 'relay', defaultText: String(COMMAND_DEFAULTS.relayUnlimited), help: 'Relay connections with no time or data limit (by default each gets 2 minutes and 128 KiB). go-libp2p opens no stream on a limited relayed connection, so Go nodes (go-libp2p-pubsub among them) need this to talk to browsers behind this relay; relayed traffic is then unbounded' },
  { flag: 'metrics', kind: 'string', value: '[host:]port', group: 'operations', help: 'Serve Prometheus metrics at http://host:port/metrics (host defaults to 127.0.0.1). Off when not set' },
  { flag: 'log-level', kind: 'string', value: LOG_LEVELS.join('|'), group: 'operations', defaultText: COMMAND_DEFAULTS.logLevel, help: 'How much to log to stderr (a DEBUG environment variable, when set, wins)' },
  { flag: 'config', kind: 'string', value: '<file>', group: 'operations', help: 'JSON file of options, keys in camelCase (e.g. {"listen": ["/ip4/0.0.0.0/tcp/4001"], "maxTtl": 86400}); flags and env vars override it' }
]

/** What the command was asked to do */
export type CliRequest =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'run', config: CliConfig }

export interface MetricsAddress {
  host: string
  port: number
}

/** The store and the options set for it (the store applies its defaults to the rest) */
export type StoreChoice =
  | { kind: 'memory' } & MemoryRegistrationStoreInit
  | { kind: 'postgres', schema: string } & PostgresRegistrationStoreInit

/** Every option with its value, defaults applied, checked */
export interface CliConfig {
  listen: string[]
  announce: string[]
  maxConnections: number
  inboundConnectionThreshold: number
  identityFile: string
  store: StoreChoice
  /** How long the store may take to start, in ms */
  storeStartTimeout: number
  /** Only the server options that were set; the server applies its own defaults to the rest */
  server: Omit<RendezvousServerInit, 'store'>
  relay: boolean
  relayMaxReservations: number
  /** Relayed connections get no time or data limit (go-libp2p treats a limited one as unusable for most protocols) */
  relayUnlimited: boolean
  metrics?: MetricsAddress
  logLevel: LogLevel
}

/**
 * Bad flags, env vars or config file: the command prints the message and exits with status 2. It is the package's
 * one error for bad options, named after the flag, variable or config key at fault
 */
export class UsageError extends InvalidParametersError {
  static name = 'UsageError'
  name = 'UsageError'
}

export function camelCase (flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
}

export function kebabCase (key: string): string {
  return key.replace(/[A-Z]/g, letter => `-${letter.toLowerCase()}`)
}

export function envName (flag: string): string {
  return `RENDEZVOUS_${flag.replace(/-/g, '_').toUpperCase()}`
}

/** Hides the password of a connection URL, for printing */
export function redactUrl (url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1:***@')
}

type RawValue = string | string[] | number | boolean

interface Source {
  /** How the message names where a value came from */
  describe(flag: string): string
  values: Map<string, RawValue>
}

function toList (value: RawValue, where: string): string[] {
  let items: unknown[] | undefined
  if (Array.isArray(value)) {
    items = value
  } else if (typeof value === 'string') {
    items = [value]
  }

  if (items == null || items.some(item => typeof item !== 'string')) {
    throw new UsageError(`${where} must be a list of strings`)
  }

  return (items as string[]).flatMap(item => item.split(',')).map(item => item.trim()).filter(item => item !== '')
}

function toMultiaddrs (value: RawValue, where: string): string[] {
  return toList(value, where).map(text => {
    try {
      return multiaddr(text).toString()
    } catch (err: any) {
      throw new UsageError(`${where}: "${text}" is not a multiaddr (${err.message})`)
    }
  })
}

/**
 * The addresses the command's transports can listen on: TCP and WebSockets over an IP address. Anything else
 * (QUIC, WebRTC, a /dns name, /wss without a certificate) would make libp2p fail at start, or be dropped without a
 * word beside an address that works.
 */
function toListenAddresses (value: RawValue, where: string): string[] {
  return toMultiaddrs(value, where).map(text => {
    const names = multiaddr(text).getComponents().map(component => component.name)
    const ws = names.length === 3 && names[2] === 'ws'

    if (!((names.length === 2 || ws) && (names[0] === 'ip4' || names[0] === 'ip6') && names[1] === 'tcp')) {
      const wss = names.includes('wss') || names.includes('tls')
      throw new UsageError(`${where}: cannot listen on "${text}": this server listens on TCP (/ip4/0.0.0.0/tcp/4001) and WebSockets (/ip4/0.0.0.0/tcp/4002/ws) addresses only${wss ? '; for wss, terminate TLS in a proxy in front of a /ws address and --announce the /wss one' : ''}`)
    }

    return text
  })
}

/** A whole number of at least `min`, from a flag, a variable or a JSON number */
function toWholeNumber (value: RawValue, where: string, min: 0 | 1): number {
  const text = String(value).trim()
  let n = NaN
  if (typeof value === 'number') {
    n = value
  } else if (/^\d+$/.test(text)) {
    n = Number(text)
  }

  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${where} must be ${min === 1 ? 'a positive integer' : 'an integer of 0 or more'}, got "${String(value)}"`)
  }

  return n
}

function toInteger (value: RawValue, where: string): number {
  return toWholeNumber(value, where, 1)
}

function toCount (value: RawValue, where: string): number {
  return toWholeNumber(value, where, 0)
}

function toBoolean (value: RawValue, where: string): boolean {
  if (typeof value === 'boolean') {
    return value
  }

  const text = String(value).trim().toLowerCase()

  if (['true', '1', 'yes', 'on'].includes(text)) {
    return true
  }
  if (['false', '0', 'no', 'off'].includes(text)) {
    return false
  }

  throw new UsageError(`${where} must be true or false, got "${String(value)}"`)
}

/** A timer's delay: a positive integer no larger than the longest delay timers take */
function toTimerDelay (value: RawValue, where: string): number {
  const delay = toInteger(value, where)

  if (delay > MAX_TIMER_MS) {
    throw new UsageError(`${where} must be at most ${MAX_TIMER_MS} ms (the longest timer delay, about 24.8 days), got ${delay}`)
  }

  return delay
}

function toStringValue (value: RawValue, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new UsageError(`${where} must be a non-empty string`)
  }
  return value.trim()
}

/** How a value of each kind is read */
const CONVERTERS: Record<OptionKind, (value: RawValue, where: string) => unknown> = {
  string: toStringValue,
  list: toList,
  integer: toInteger,
  count: toCount,
  boolean: toBoolean,
  flag: toBoolean
}

/** The values of `flags` (flag -> option key) that are set, read by their flags' kinds */
function optionsOf <Flag extends string, Key extends string> (get: Getter, flags: Record<Flag, Key>): Partial<Record<Key, any>> {
  const set: Partial<Record<Key, any>> = {}

  for (const [flag, key] of Object.entries(flags) as Array<[Flag, Key]>) {
    const kind = OPTIONS.find(spec => spec.flag === flag)?.kind ?? 'string'
    const value = get(flag, CONVERTERS[kind])

    if (value !== undefined) {
      set[key] = value
    }
  }

  return set
}

export function parseMetricsAddress (value: string, where = '--metrics'): MetricsAddress {
  const match = /^(?:(\[[0-9a-f:.]+\]|[^:\s]+):)?(\d+)$/i.exec(value.trim())
  const port = match == null ? NaN : Number(match[2])

  if (match == null || !Number.isSafeInteger(port) || port > 65535) {
    throw new UsageError(`${where} must be [host:]port, e.g. 127.0.0.1:9464 or 9464, got "${value}"`)
  }

  return { host: (match[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port }
}

/** The options in effect: flags over env over config file over defaults */
function merge (sources: Source[]): Map<string, { value: RawValue, where: string }> {
  const merged = new Map<string, { value: RawValue, where: string }>()

  // lowest precedence first, so that later sources overwrite
  for (const source of sources) {
    for (const [flag, value] of source.values) {
      merged.set(flag, { value, where: source.describe(flag) })
    }
  }

  return merged
}

/** What a config file value of each kind must be, in JSON */
const JSON_TYPES: Record<OptionKind, { name: string, accepts(value: unknown): boolean }> = {
  string: { name: 'a string', accepts: value => typeof value === 'string' },
  list: { name: 'a string or an array of strings', accepts: value => typeof value === 'string' || (Array.isArray(value) && value.every(item => typeof item === 'string')) },
  integer: { name: 'a number', accepts: value => typeof value === 'number' },
  count: { name: 'a number', accepts: value => typeof value === 'number' },
  boolean: { name: 'true or false', accepts: value => typeof value === 'boolean' },
  flag: { name: 'true or false', accepts: value => typeof value === 'boolean' }
}

function configFileSource (path: string, text: string): Source {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err: any) {
    throw new UsageError(`config file ${path} is not valid JSON: ${err.message}`)
  }

  if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`config file ${path} must hold a JSON object of options`)
  }

  const byKey = new Map(OPTIONS.filter(spec => spec.flag !== 'config').map(spec => [camelCase(spec.flag), spec]))
  const values = new Map<string, RawValue>()

  for (const [key, value] of Object.entries(parsed)) {
    const spec = byKey.get(key)

    if (spec == null) {
      throw new UsageError(`config file ${path} has an unknown option "${key}" (known: ${[...byKey.keys()].join(', ')})`)
    }

    // JSON has types: "7200" for a number or "yes" for a boolean is a mistake to point out, not a value to coerce
    const expected = JSON_TYPES[spec.kind]
    if (!expected.accepts(value)) {
      throw new UsageError(`"${key}" in ${path} must be ${expected.name}, got ${JSON.stringify(value)}`)
    }

    values.set(spec.flag, value as RawValue)
  }

  return { values, describe: flag => `"${camelCase(flag)}" in ${path}` }
}

function envSource (env: Record<string, string | undefined>): Source {
  const values = new Map<string, RawValue>()

  for (const spec of OPTIONS) {
    const value = env[envName(spec.flag)]

    if (value != null && value !== '') {
      values.set(spec.flag, value)
    }
  }

  return { values, describe: flag => `environment variable ${envName(flag)}` }
}

/**
 * `--min-ttl -5` as `--min-ttl=-5`: node's parser takes a value that starts with a dash for an option and calls
 * the flag "ambiguous", which hides the real problem (a negative number); joined, the value reaches its check
 */
function joinNegativeValues (argv: string[], options: ParseArgsConfig['options']): string[] {
  const joined: string[] = []

  for (let i = 0; i < argv.length; i++) {
    const option = argv[i].startsWith('--') ? options?.[argv[i].slice(2)] : undefined

    if (option?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) {
      joined.push(`${argv[i]}=${argv[i + 1]}`)
      i++
    } else {
      joined.push(argv[i])
    }
  }

  return joined
}

function flagSource (argv: string[]): { source: Source, help: boolean, version: boolean } {
  const options: ParseArgsConfig['options'] = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' }
  }

  for (const spec of OPTIONS) {
    options[spec.flag] = spec.kind === 'flag'
      ? { type: 'boolean' }
      : { type: 'string', multiple: spec.kind === 'list' }
  }

  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals: false })
  } catch (err: any) {
    // node's messages name the option at fault ("Unknown option '--foo'", "Option '--listen <value>' argument missing")
    throw new UsageError(err.message)
  }

  const values = new Map<string, RawValue>()

  for (const [flag, value] of Object.entries(parsed.values)) {
    if (flag !== 'help' && flag !== 'version' && value !== undefined) {
      values.set(flag, value as RawValue)
    }
  }

  return {
    source: { values, describe: flag => `--${flag}` },
    help: parsed.values.help === true,
    version: parsed.values.version === true
  }
}

type Getter = <T> (flag: string, convert: (value: RawValue, where: string) => T) => T | undefined

/** The config file (named by a flag or env var), then the environment, then the flags: lowest precedence first */
function collectSources (flags: Source, environment: Source, readFile: (path: string) => string): Source[] {
  const configPath = flags.values.get('config') ?? environment.values.get('config')

  if (configPath == null) {
    return [environment, flags]
  }

  const path = toStringValue(configPath, flags.values.has('config') ? '--config' : envName('config'))
  let text: string
  try {
    text = readFile(path)
  } catch (err: any) {
    throw new UsageError(`cannot read config file ${path}: ${err.message}`)
  }

  return [configFileSource(path, text), environment, flags]
}

function serverOptions (get: Getter): CliConfig['server'] {
  const set: CliConfig['server'] = optionsOf(get, SERVER_FLAGS)

  try {
    // the server would refuse these at start; a bad combination (min-ttl above max-ttl, ...) is a usage error
    resolveServerConfig(set)
  } catch (err: any) {
    const flagOf = new Map<string, string>(Object.entries(SERVER_FLAGS).map(([flag, key]) => [key, flag]))
    throw new UsageError(String(err.message)
      .replace(/rendezvousServer option /g, '')
      .replace(/\b[a-z][A-Za-z]+\b/g, word => flagOf.has(word) ? `--${flagOf.get(word)}` : word))
  }

  return set
}

function storeChoice (get: Getter, where: (flag: string) => string): StoreChoice {
  const text = get('store', toStringValue) ?? COMMAND_DEFAULTS.store

  const schema = get('postgres-schema', toStringValue)
  const schemaProblem = schema == null ? undefined : schemaNameProblem(schema)
  if (schemaProblem != null) {
    throw new UsageError(`${where('postgres-schema')}: ${schemaProblem}`)
  }

  if (text === 'memory') {
    return { kind: 'memory', ...optionsOf(get, MEMORY_STORE_FLAGS) }
  }

  if (/^postgres(ql)?:\/\//i.test(text)) {
    const urlProblem = postgresUrlProblem(text)
    if (urlProblem != null) {
      throw new UsageError(`${where('store')}: "${redactUrl(text)}" is not a usable PostgreSQL URL: ${urlProblem}`)
    }

    for (const flag of Object.keys(MEMORY_STORE_FLAGS)) {
      if (get(flag, value => value) != null) {
        throw new UsageError(`${where(flag)} applies to the memory store only, and ${where('store')} names a PostgreSQL one`)
      }
    }

    return { ...optionsOf(get, POSTGRES_STORE_FLAGS), kind: 'postgres', url: text, schema: schema ?? POSTGRES_STORE_DEFAULTS.schema }
  }

  throw new UsageError(`${where('store')} must be "memory" or a postgres:// URL, got "${redactUrl(text)}"`)
}

/**
 * Turns argv (without the node and script paths), the environment and the config file into what to do.
 * `readFile` reads the config file; it is the only I/O, injected so that parsing stays a pure function.
 * Throws a {@link UsageError} with a message that names the flag, env var or config key at fault.
 */
export function parseCli (argv: string[], env: Record<string, string | undefined>, readFile: (path: string) => string): CliRequest {
  const flags = flagSource(argv)

  if (flags.help) {
    return { action: 'help' }
  }
  if (flags.version) {
    return { action: 'version' }
  }

  const options = merge(collectSources(flags.source, envSource(env), readFile))
  const where = (flag: string): string => options.get(flag)?.where ?? `--${flag}`
  const get: Getter = (flag, convert) => {
    const entry = options.get(flag)
    return entry == null ? undefined : convert(entry.value, entry.where)
  }

  const listen = get('listen', toListenAddresses) ?? DEFAULT_LISTEN
  if (listen.length === 0) {
    throw new UsageError(`${where('listen')} needs at least one address`)
  }

  const logLevel = get('log-level', toStringValue) ?? COMMAND_DEFAULTS.logLevel
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`${where('log-level')} must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  }

  const metrics = options.get('metrics')

  return {
    action: 'run',
    config: {
      listen,
      announce: get('announce', toMultiaddrs) ?? [],
      maxConnections: get('max-connections', toInteger) ?? COMMAND_DEFAULTS.maxConnections,
      inboundConnectionThreshold: get('inbound-connection-threshold', toInteger) ?? COMMAND_DEFAULTS.inboundConnectionThreshold,
      identityFile: get('identity', toStringValue) ?? DEFAULT_IDENTITY_FILE,
      store: storeChoice(get, where),
      storeStartTimeout: get('store-start-timeout', toTimerDelay) ?? COMMAND_DEFAULTS.storeStartTimeout,
      server: serverOptions(get),
      relay: get('relay', toBoolean) ?? COMMAND_DEFAULTS.relay,
      relayMaxReservations: get('relay-max-reservations', toInteger) ?? COMMAND_DEFAULTS.relayMaxReservations,
      relayUnlimited: get('relay-unlimited', toBoolean) ?? COMMAND_DEFAULTS.relayUnlimited,
      metrics: metrics == null ? undefined : parseMetricsAddress(String(metrics.value), metrics.where),
      logLevel: logLevel as LogLevel
    }
  }
}

const GROUP_TITLES: Record<OptionSpec['group'], string> = {
  network: 'Network',
  identity: 'Identity',
  store: 'Store',
  limits: 'Rendezvous limits',
  relay: 'Circuit relay',
  operations: 'Operations'
}

/** The `--help` text: every option with its env var and default */
export function helpText (): string {
  const lines = [
    'Usage: rendezvous-server [options]',
    '',
    'Runs a libp2p rendezvous point (/rendezvous/1.0.0). Prints its peer id and dialable addresses, then serves',
    'until SIGINT or SIGTERM. Every option can also be set by an environment variable (shown under it) or a JSON',
    'config file (--config); flags win over the environment, which wins over the file.',
    ''
  ]

  for (const group of Object.keys(GROUP_TITLES) as Array<OptionSpec['group']>) {
    lines.push(`${GROUP_TITLES[group]}:`)

    for (const spec of OPTIONS.filter(option => option.group === group)) {
      lines.push(`  --${spec.flag}${spec.value == null ? '' : ` ${spec.value}`}`)
      lines.push(`      ${spec.help}`)
      lines.push(`      env ${envName(spec.flag)}${spec.defaultText == null ? '' : `, default ${spec.defaultText}`}`)
    }

    lines.push('')
  }

  lines.push(
    'Other:',
    '  -h, --help       Show this text',
    '  -v, --version    Show the version',
    '',
    'Exit status: 0 after a clean stop (also when SIGINT or SIGTERM comes during start-up), 1 when the server',
    'could not start (e.g. the database is unreachable, the store did not start within --store-start-timeout, or a',
    'port is taken), 2 for bad options. The JSON "listening" line is the last line written to stdout.',
    '',
    'Examples:',
    '  rendezvous-server --identity /var/lib/rendezvous/identity.key --listen /ip4/0.0.0.0/tcp/4001 --metrics 9464',
    '  RENDEZVOUS_STORE=postgres://rendezvous:secret@db:5432/rendezvous rendezvous-server --relay',
    ''
  )

  return lines.join('\n')
}
