/**
 * The PostgreSQL store's options: their public type and their table (type and bounds, default, one line of docs),
 * from which `postgresRegistrationStore()` checks them and the command makes its `--postgres-*` flags. Kept apart
 * from the store, which loads the driver, so that the command can check these options without it.
 */
import { MAX_TIMER_MS } from '../../constants.ts'
import { defaultsOf } from '../../options/option-table.ts'
import { func, integer, text } from '../../options/option-types.ts'
import { postgresUrlProblem, SCHEMA_NAME } from './postgres-settings.ts'
import type { OptionTable } from '../../options/option-table.ts'
import type { CheckContext, OptionType } from '../../options/option-types.ts'
import type { Logger } from '@libp2p/interface'

export interface PostgresRegistrationStoreInit {
  /** Connection string, e.g. `postgres://user:password@host:5432/database` (libpq syntax, `?sslmode=…` accepted) */
  url: string
  /**
   * The PostgreSQL schema (namespace) holding the tables; created if missing. Fleets that share a database but
   * must not see each other's registrations use different schemas. Letters, digits and `_` only.
   *
   * @default 'public'
   */
  schema?: string
  /**
   * Most connections this server opens for REGISTER, UNREGISTER and the sweep.
   *
   * @default 10
   */
  maxConnections?: number
  /**
   * Most connections this server opens for DISCOVER and stats, besides `maxConnections`.
   *
   * @default 5
   */
  maxReadConnections?: number
  /**
   * Most queries that wait for a free connection, per pool; beyond it a call fails at once with
   * `StoreUnavailableError` (E_UNAVAILABLE) rather than queue behind a stalled database: about what a server's
   * `maxConcurrentRequests` (256) lets in.
   *
   * @default 250
   */
  maxWaiting?: number
  /**
   * Time allowed to open a connection, in seconds.
   *
   * @default 10
   */
  connectTimeout?: number
  /**
   * Longest a statement may run (`statement_timeout`), in ms.
   *
   * @default 5000
   */
  statementTimeout?: number
  /**
   * Longest a statement may wait for a lock (`lock_timeout`), in ms.
   *
   * @default 2000
   */
  lockTimeout?: number
  /**
   * Longest a session may sit idle inside a transaction (`idle_in_transaction_session_timeout`), in ms.
   *
   * @default 10000
   */
  idleInTransactionTimeout?: number
  /**
   * The clock that the times given to the store (`now`, `expiresAt`) are read from; the store moves them onto
   * the database's clock.
   *
   * @default `Date.now` (the clock the server uses)
   */
  clock?(): number
  /**
   * How often the offset between `clock` and the database's clock is measured again, in ms.
   *
   * @default 60000
   */
  clockCheckInterval?: number
  /**
   * PostgreSQL settings for this server's sessions, e.g. `{ work_mem: '8MB' }`. `synchronous_commit: 'off'`
   * saves a REGISTER the wait for its commit's WAL flush, at the cost of losing the registrations of the last
   * few hundred ms if PostgreSQL itself crashes (never when a rendezvous server does). `search_path` is always the
   * schema, and the timeouts are the options above.
   *
   * @default none
   */
  sessionSettings?: Record<string, string>
  /**
   * Registrations deleted per transaction by the expiry sweep.
   *
   * @default 10000
   */
  sweepBatchSize?: number
  /**
   * Where to log.
   *
   * @default the `libp2p:rendezvous:store:postgres` logger
   */
  log?: Logger
}

/** The options as checked, with their defaults; the clock, the settings and the logger stay unset when not given */
export type PostgresStoreConfig = Required<Omit<PostgresRegistrationStoreInit, 'clock' | 'sessionSettings' | 'log'>> &
  Pick<PostgresRegistrationStoreInit, 'clock' | 'sessionSettings' | 'log'>

// PostgreSQL takes its timeouts as a 32-bit number of ms
const MILLISECONDS = integer({ min: 1, max: MAX_TIMER_MS, unit: 'ms' })
const COUNT = integer({ min: 1 })

/** Settings by name, each a string, as PostgreSQL's `SET` takes them */
const SETTINGS_REQUIREMENT = 'an object of PostgreSQL settings whose values are strings, e.g. { work_mem: \'8MB\' }'
const SESSION_SETTINGS: OptionType<Record<string, string>> = {
  requirement: SETTINGS_REQUIREMENT,
  placeholder: '<object>',
  check (value: unknown, context: CheckContext): Record<string, string> {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some(setting => typeof setting !== 'string')) {
      context.fail(SETTINGS_REQUIREMENT, value)
    }

    return value as Record<string, string>
  }
}

export const POSTGRES_STORE_OPTIONS: OptionTable<PostgresRegistrationStoreInit, PostgresStoreConfig> = {
  owner: 'postgresRegistrationStore',
  rows: {
    url: {
      type: text({
        requirement: 'a connection URL, e.g. postgres://user:password@host:5432/database',
        placeholder: '<url>',
        problem: postgresUrlProblem
      }),
      required: true,
      doc: 'connection string, e.g. `postgres://user:password@host:5432/database` (libpq syntax, `?sslmode=…` accepted)'
    },
    schema: {
      type: text({
        requirement: 'a plain identifier (letters, digits and _, not starting with a digit, at most 63)',
        placeholder: '<name>',
        valid: schema => SCHEMA_NAME.test(schema)
      }),
      default: 'public',
      doc: 'schema of the tables, created if missing; fleets sharing a database use one each; letters, digits and `_`'
    },
    maxConnections: {
      type: COUNT,
      default: 10,
      doc: 'connections this server opens for REGISTER, UNREGISTER and the sweep'
    },
    maxReadConnections: {
      type: COUNT,
      default: 5,
      doc: 'connections this server opens for DISCOVER and stats, besides `maxConnections`'
    },
    maxWaiting: {
      type: COUNT,
      default: 250,
      doc: 'queries waiting for a free connection, per pool; beyond it a call fails at once (`E_UNAVAILABLE`)'
    },
    connectTimeout: {
      type: integer({ min: 1, max: Math.floor(MAX_TIMER_MS / 1000), unit: 'seconds' }),
      default: 10,
      doc: 'time allowed to open a connection, seconds'
    },
    statementTimeout: {
      type: MILLISECONDS,
      default: 5000,
      doc: 'how long a statement may run (`statement_timeout`), ms'
    },
    lockTimeout: {
      type: MILLISECONDS,
      default: 2000,
      doc: 'how long a statement may wait for a lock (`lock_timeout`), ms'
    },
    idleInTransactionTimeout: {
      type: MILLISECONDS,
      default: 10_000,
      doc: 'how long a session may sit idle inside a transaction (`idle_in_transaction_session_timeout`), ms'
    },
    clock: {
      type: func(),
      defaultText: '`Date.now`',
      note: 'the clock the server uses',
      doc: 'the clock the times given to the store are read from; the store moves them onto the database\'s clock'
    },
    clockCheckInterval: {
      type: MILLISECONDS,
      default: 60_000,
      doc: 'time between two measurements of the offset between `clock` and the database\'s clock, ms'
    },
    sessionSettings: {
      type: SESSION_SETTINGS,
      defaultText: 'none',
      doc: 'PostgreSQL settings for this server\'s sessions, e.g. `{ synchronous_commit: \'off\' }` (see [deployment.md](deployment.md#a-fleet-on-postgresql))'
    },
    sweepBatchSize: {
      type: COUNT,
      default: 10_000,
      doc: 'registrations deleted per transaction by the expiry sweep'
    },
    log: {
      // a libp2p logger is a function with `error` and `trace` functions on it
      type: func<Logger>(),
      defaultText: 'the `libp2p:rendezvous:store:postgres` logger',
      doc: 'where to log'
    }
  }
}

/** Every default of the PostgreSQL store's options that is one value */
export const POSTGRES_STORE_DEFAULTS = defaultsOf(POSTGRES_STORE_OPTIONS) as Readonly<Omit<PostgresStoreConfig, 'url'>>
