/**
 * The `rendezvous-server` options: one row per flag, from which the environment variable (`RENDEZVOUS_` and the
 * flag in UPPER_SNAKE), the config file key (the flag in camelCase), the checks and `--help` follow, so the four
 * never disagree. The flags that set an option of the server or of a store take that option's row (type and
 * bounds, default, docs line) from the service's own table: a flag checks exactly what the factory checks.
 */
import { MAX_TIMER_MS } from '../constants.ts'
import { integer, boolean, oneOf, text } from '../options/option-types.ts'
import { SERVER_OPTIONS } from '../server/config.ts'
import { MEMORY_STORE_OPTIONS } from '../server/store/memory-store-options.ts'
import { POSTGRES_STORE_OPTIONS } from '../server/store/postgres-store-options.ts'
import { listenAddresses, metricsAddress, multiaddrs, storeLocation } from './command-option-types.ts'
import type { OptionRow } from '../options/option-table.ts'
import type { RendezvousServerInit } from '../server/options.ts'
import type { MemoryRegistrationStoreInit } from '../server/store/memory-store-options.ts'
import type { PostgresRegistrationStoreInit } from '../server/store/postgres-store-options.ts'

/** Which part of the program an option belongs to, for the grouping in `--help` */
export type OptionGroup = 'network' | 'identity' | 'store' | 'limits' | 'points' | 'relay' | 'operations'

/** The service options a flag can set */
export type ServiceOption =
  | { service: 'server', key: keyof Omit<RendezvousServerInit, 'store'> }
  | { service: 'memoryStore', key: keyof MemoryRegistrationStoreInit }
  | { service: 'postgresStore', key: keyof Omit<PostgresRegistrationStoreInit, 'url'> }

export interface CommandOption {
  /** The flag without its dashes */
  flag: string
  group: OptionGroup
  row: OptionRow<any>
  /** A switch on the command line (`--relay`), true or false in the environment and the config file */
  switch?: true
  /** The service option the flag sets; absent for the command's own options */
  sets?: ServiceOption
  /** The config file key, when it is not the flag in camelCase (a list named in the plural: `peerPoints`) */
  key?: string
}

export const LOG_LEVELS = ['silent', 'error', 'info', 'debug', 'trace'] as const
export type LogLevel = typeof LOG_LEVELS[number]

const COUNT = integer({ min: 1 })
const TIMER = integer({ min: 1, max: MAX_TIMER_MS, unit: 'ms' })

function server (flag: string, key: Extract<ServiceOption, { service: 'server' }>['key'], group: OptionGroup = 'limits'): CommandOption {
  return { flag, group, row: SERVER_OPTIONS.rows[key], sets: { service: 'server', key } }
}

function memoryStore (flag: string, key: keyof MemoryRegistrationStoreInit): CommandOption {
  return { flag, group: 'store', row: MEMORY_STORE_OPTIONS.rows[key], sets: { service: 'memoryStore', key } }
}

function postgresStore (flag: string, key: keyof Omit<PostgresRegistrationStoreInit, 'url'>): CommandOption {
  return { flag, group: 'store', row: POSTGRES_STORE_OPTIONS.rows[key], sets: { service: 'postgresStore', key } }
}

export const COMMAND_OPTIONS: readonly CommandOption[] = [
  {
    flag: 'listen',
    group: 'network',
    row: { type: listenAddresses(), default: ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'], doc: 'Address to listen on, TCP (/ip4/A/tcp/N) or WebSockets (/ip4/A/tcp/N/ws, for browsers; terminate TLS in a proxy and --announce /wss). Repeat the flag or separate with commas' }
  },
  {
    flag: 'announce',
    group: 'network',
    row: { type: multiaddrs(), default: [], defaultText: 'none', note: 'the listen addresses', doc: 'Address to tell peers instead of the listen addresses, e.g. /dns4/rdv.example.com/tcp/443/wss behind a TLS proxy. Repeatable' }
  },
  {
    flag: 'max-connections',
    group: 'network',
    row: { type: COUNT, default: 1000, doc: 'Most open connections; past it libp2p refuses new ones (and prunes the least valuable when its own dials go past it)' }
  },
  {
    flag: 'max-connections-per-peer',
    group: 'network',
    row: { type: COUNT, default: 4, doc: 'Most connections one peer id may hold; a peer past it is refused, so that one peer cannot take every --max-connections slot' }
  },
  {
    flag: 'connection-idle-timeout',
    group: 'network',
    row: { type: TIMER, default: 60_000, doc: 'While more than 90% of --max-connections are open, an inbound connection without a stream for this long is closed (unless its peer holds a relay reservation), in milliseconds' }
  },
  {
    flag: 'inbound-connection-threshold',
    group: 'network',
    // libp2p's own default; raise it when many clients share a NAT
    row: { type: COUNT, default: 5, doc: 'Inbound connections accepted per second from one IP address (raise it when many clients share a NAT)' }
  },
  {
    flag: 'identity',
    group: 'identity',
    row: { type: text({ requirement: 'a file path', placeholder: '<file>' }), default: 'rendezvous-identity.key', doc: 'Private key file: created (Ed25519, mode 0600) on first start, reused after, so the peer id stays the same' }
  },
  {
    flag: 'store',
    group: 'store',
    row: { type: storeLocation(), default: 'memory', doc: 'Where registrations live: "memory" (lost on restart) or a postgres://user:password@host:5432/db URL, which several servers can share' }
  },
  {
    flag: 'store-start-timeout',
    group: 'store',
    // connect, create or migrate the tables
    row: { type: TIMER, default: 30_000, doc: 'How long the store may take to start (connect, create or migrate its tables) before the command gives up with status 1, in milliseconds' }
  },
  memoryStore('memory-max-bytes', 'maxBytes'),
  memoryStore('memory-max-bytes-per-peer', 'maxBytesPerPeer'),
  postgresStore('postgres-schema', 'schema'),
  postgresStore('postgres-max-connections', 'maxConnections'),
  postgresStore('postgres-max-read-connections', 'maxReadConnections'),
  postgresStore('postgres-max-waiting', 'maxWaiting'),
  postgresStore('postgres-connect-timeout', 'connectTimeout'),
  postgresStore('postgres-statement-timeout', 'statementTimeout'),
  postgresStore('postgres-lock-timeout', 'lockTimeout'),
  server('min-ttl', 'minTtl'),
  server('max-ttl', 'maxTtl'),
  server('default-ttl', 'defaultTtl'),
  server('ttl-below-min', 'ttlBelowMin'),
  server('max-namespace-length', 'maxNamespaceLength'),
  server('max-registrations-per-peer', 'maxRegistrationsPerPeer'),
  server('max-registrations-total', 'maxRegistrationsTotal'),
  server('max-discover-limit', 'maxDiscoverLimit'),
  server('max-request-size', 'maxRequestSize'),
  server('max-response-size', 'maxResponseSize'),
  server('max-record-size', 'maxRecordSize'),
  server('max-record-addresses', 'maxRecordAddresses'),
  server('max-inbound-streams', 'maxInboundStreams'),
  server('max-concurrent-requests', 'maxConcurrentRequests'),
  server('timeout', 'timeout'),
  server('stream-idle-timeout', 'streamIdleTimeout'),
  server('max-requests-per-stream', 'maxRequestsPerStream'),
  server('max-reply-bytes', 'maxReplyBytes'),
  server('max-reply-bytes-per-peer', 'maxReplyBytesPerPeer'),
  server('verified-record-cache-size', 'verifiedRecordCacheSize'),
  server('sweep-interval', 'sweepInterval'),
  server('run-on-limited-connection', 'runOnLimitedConnection'),
  server('protocol', 'protocols'),
  { ...server('peer-point', 'peerPoints', 'points'), key: 'peerPoints' },
  { ...server('admit-point', 'admitPoints', 'points'), key: 'admitPoints' },
  server('max-learned-points', 'maxLearnedPoints', 'points'),
  server('point-discover-interval', 'pointDiscoverInterval', 'points'),
  {
    flag: 'relay',
    group: 'relay',
    switch: true,
    row: { type: boolean(), default: false, doc: 'Also run a circuit relay v2 server, and register this server under the "/libp2p/relay" namespace so browsers find it' }
  },
  {
    flag: 'relay-max-reservations',
    group: 'relay',
    row: { type: COUNT, default: 128, doc: 'Most relay reservations held at once' }
  },
  {
    flag: 'relay-unlimited',
    group: 'relay',
    switch: true,
    row: { type: boolean(), default: false, doc: 'Relay connections with no time or data limit (by default each gets 2 minutes and 128 KiB). go-libp2p opens no stream on a limited relayed connection, so Go nodes (go-libp2p-pubsub among them) need this to talk to browsers behind this relay; relayed traffic is then unbounded' }
  },
  {
    flag: 'metrics',
    group: 'operations',
    row: { type: metricsAddress(), defaultText: 'none', note: 'off', doc: 'Serve Prometheus metrics at http://host:port/metrics (host defaults to 127.0.0.1). Off when not set' }
  },
  {
    flag: 'log-level',
    group: 'operations',
    row: { type: oneOf(LOG_LEVELS), default: 'error', doc: 'How much to log to stderr (a DEBUG environment variable, when set, wins)' }
  },
  {
    flag: 'stop-timeout',
    group: 'operations',
    row: { type: TIMER, default: 30_000, doc: 'How long a stop after SIGINT or SIGTERM may take before the command gives up on it and exits 1, in milliseconds (a second signal does the same at once)' }
  },
  {
    flag: 'config',
    group: 'operations',
    row: { type: text({ requirement: 'a file path', placeholder: '<file>' }), defaultText: 'none', doc: 'JSON file of options, keys in camelCase (e.g. {"listen": ["/ip4/0.0.0.0/tcp/4001"], "maxTtl": 86400}); flags and env vars override it' }
  }
]

/** The config file key of an option: its flag in camelCase, unless it names one */
export function configKey (option: Pick<CommandOption, 'flag' | 'key'>): string {
  return option.key ?? option.flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
}

/** The environment variable of a flag */
export function envName (flag: string): string {
  return `RENDEZVOUS_${flag.replace(/-/g, '_').toUpperCase()}`
}

/** The flag that sets a service option, e.g. `max-ttl` for the server's `maxTtl` */
export function flagOf (service: ServiceOption['service'], key: string): string | undefined {
  return COMMAND_OPTIONS.find(option => option.sets?.service === service && option.sets.key === key)?.flag
}
