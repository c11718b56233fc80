/**
 * Turns argv, the environment and the config file into what the command does: each option's value checked by its
 * row's type (the server's and the stores' own rows for the flags that set their options), the defaults applied,
 * and the server's options checked together as the factory checks them, with messages that name the flags. A pure
 * function but for reading the config file, which is injected.
 */
import { optionContext } from '../options/check-options.ts'
import { describeValue } from '../options/invalid-option.ts'
import { checkServerOptions } from '../server/config.ts'
import { POSTGRES_STORE_OPTIONS } from '../server/store/postgres-store-options.ts'
import { mergeSources, flagSource } from './option-sources.ts'
import { COMMAND_OPTIONS, flagOf } from './option-table.ts'
import { UsageError } from './usage-error.ts'
import type { MetricsAddress } from './command-option-types.ts'
import type { SourcedValue } from './option-sources.ts'
import type { LogLevel, ServiceOption } from './option-table.ts'
import type { OptionNames } from '../options/invalid-option.ts'
import type { OptionType } from '../options/option-types.ts'
import type { RendezvousServerInit } from '../server/options.ts'
import type { MemoryRegistrationStoreInit } from '../server/store/memory-store-options.ts'
import type { PostgresRegistrationStoreInit } from '../server/store/postgres-store-options.ts'

/** What the command was asked to do */
export type CliRequest =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'run', config: CliConfig }

/** The store and the options set for it (the store applies its defaults to the rest) */
export type StoreChoice =
  | { kind: 'memory' } & MemoryRegistrationStoreInit
  | { kind: 'postgres', schema: string } & PostgresRegistrationStoreInit

/** Every option with its value, defaults applied, checked */
export interface CliConfig {
  listen: string[]
  announce: string[]
  maxConnections: number
  /** Connections one peer id may hold */
  maxConnectionsPerPeer: number
  /** How long an inbound connection may go without a stream before it is closed, when connections run short, in ms */
  connectionIdleTimeout: number
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
  /** How long a stop may take before the command gives up on it, in ms */
  stopTimeout: number
}

/**
 * The names of messages about the command's options: an option by where its value came from, another option by
 * its flag, a value from text as it was typed (a JSON value with its type)
 */
function commandNames (values: Map<string, SourcedValue>, service?: ServiceOption['service']): OptionNames {
  const flagAt = (path: string): string => {
    const key = path.replace(/(\[\d+\])+$/, '')
    return service == null ? key : flagOf(service, key) ?? key
  }

  return {
    subject: path => values.get(flagAt(path))?.where ?? `--${flagAt(path)}`,
    reference: path => `--${flagAt(path)}`,
    show: (path, value) => values.get(flagAt(path))?.text === false ? describeValue(value) : JSON.stringify(String(value)),
    error: message => new UsageError(message)
  }
}

/** The value a source's text (or JSON value) stands for, before its check */
function fromSource (source: SourcedValue, type: OptionType<unknown>): unknown {
  const { raw } = source

  if (typeof raw === 'boolean') {
    // a switch
    return raw
  }

  if (source.text) {
    // a list flag given several times: each may hold several items too
    return Array.isArray(raw)
      ? raw.flatMap(text => type.fromText?.(String(text)) ?? text)
      : type.fromText?.(String(raw)) ?? raw
  }

  // in JSON, as in the environment, a list may be one string of comma-separated items
  return type.multiple === true && typeof raw === 'string' ? type.fromText?.(raw) ?? raw : raw
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

  const values = mergeSources(flags, env, readFile)
  const where = (flag: string): string => values.get(flag)?.where ?? `--${flag}`
  const own = new Map<string, unknown>()
  const services: Record<ServiceOption['service'], Record<string, unknown>> = { server: {}, memoryStore: {}, postgresStore: {} }

  // every value checked by its row's type, in the table's order
  for (const option of COMMAND_OPTIONS) {
    const source = values.get(option.flag)
    const names = commandNames(values, option.sets?.service)
    const path = option.sets?.key ?? option.flag
    const value = source == null ? undefined : option.row.type.check(fromSource(source, option.row.type), optionContext(names, path))

    if (option.sets != null) {
      if (value !== undefined) {
        services[option.sets.service][option.sets.key] = value
      }
    } else {
      own.set(option.flag, value ?? option.row.default)
    }
  }

  const get = <T> (flag: string): T => own.get(flag) as T
  const server = services.server as CliConfig['server']
  // the rules between the server's options, as the factory runs them, in terms of the flags
  checkServerOptions(server, commandNames(values, 'server'))

  return {
    action: 'run',
    config: {
      listen: get('listen'),
      announce: get('announce'),
      maxConnections: get('max-connections'),
      maxConnectionsPerPeer: get('max-connections-per-peer'),
      connectionIdleTimeout: get('connection-idle-timeout'),
      inboundConnectionThreshold: get('inbound-connection-threshold'),
      identityFile: get('identity'),
      store: storeChoice(get('store'), services, where),
      storeStartTimeout: get('store-start-timeout'),
      server,
      relay: get('relay'),
      relayMaxReservations: get('relay-max-reservations'),
      relayUnlimited: get('relay-unlimited'),
      metrics: get('metrics'),
      logLevel: get('log-level'),
      stopTimeout: get('stop-timeout')
    }
  }
}

function storeChoice (location: string, services: Record<ServiceOption['service'], Record<string, unknown>>, where: (flag: string) => string): StoreChoice {
  if (location === 'memory') {
    return { kind: 'memory', ...services.memoryStore }
  }

  const memoryOnly = Object.keys(services.memoryStore)[0]

  if (memoryOnly != null) {
    throw new UsageError(`${where(flagOf('memoryStore', memoryOnly) ?? memoryOnly)} applies to the memory store only, and ${where('store')} names a PostgreSQL one`)
  }

  const postgres = services.postgresStore as Omit<PostgresRegistrationStoreInit, 'url'>

  return { ...postgres, kind: 'postgres', url: location, schema: postgres.schema ?? POSTGRES_STORE_OPTIONS.rows.schema.default ?? 'public' }
}
