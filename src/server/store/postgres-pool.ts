/**
 * A PostgreSQL connection pool that refuses work it cannot start soon, instead of queueing it without bound.
 *
 * postgres.js queues a query until a connection is free (here: a connection runs one query at a time). When the database stalls, every request of every
 * server would queue behind it and wait out its own timeout. Here, past `maxWaiting` queries waiting for a
 * connection, a query fails at once with {@link StoreUnavailableError}, as do the failures that mean "not now"
 * (a lock or statement timeout, a lost or refused connection): the server answers those with E_UNAVAILABLE.
 */
import postgres from 'postgres'
import { StoreUnavailableError } from '../../errors.ts'
import type { Sql } from 'postgres'

export interface PoolInit {
  url: string
  /** Most connections the pool opens */
  maxConnections: number
  /** Most queries that wait for a free connection; more fail with {@link StoreUnavailableError} */
  maxWaiting: number
  /** Time allowed to open a connection, in seconds */
  connectTimeout: number
  /** Session settings sent when each connection opens */
  settings: Record<string, string>
  onNotice(message: string): void
}

/**
 * PostgreSQL error classes and codes that say "the database cannot do this now", not "this request is wrong":
 * connection exceptions (08), insufficient resources (53), operator intervention (57: query cancelled by
 * statement_timeout, shutdown, cannot connect now), lock not available (55P03, lock_timeout), and the
 * transaction rollbacks that survived the store's retries (40)
 */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '40']
const UNAVAILABLE_CODES = new Set(['55P03'])
/** Errors of the client library and of Node's sockets that mean the same */
const UNAVAILABLE_CLIENT_CODES = new Set([
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH'
])

/** Whether a failure is the database being unavailable for now */
export function isUnavailable (err: any): boolean {
  const code = err?.code
  if (typeof code !== 'string') {
    return false
  }

  return UNAVAILABLE_CODES.has(code) || UNAVAILABLE_CLIENT_CODES.has(code) ||
    (code.length === 5 && UNAVAILABLE_CLASSES.includes(code.slice(0, 2)))
}

/** `err` as a {@link StoreUnavailableError} when that is what it means, unchanged otherwise */
export function storeError (err: any): unknown {
  if (isUnavailable(err)) {
    return new StoreUnavailableError(`the database cannot answer now: ${err.message ?? err.code}`, { cause: err })
  }

  return err
}

export class Pool {
  readonly sql: Sql
  private readonly init: PoolInit
  /** Queries started and not yet settled: running on a connection or waiting for one */
  private pending = 0

  constructor (init: PoolInit) {
    this.init = init
    // max_pipeline is a postgres.js option its type declarations leave out
    const options: postgres.Options<Record<string, never>> & { max_pipeline: number } = {
      max: init.maxConnections,
      // postgres.js pipelines queries onto busy connections by default: a query stuck on a lock would hold back
      // every query queued behind it on its connection. With none pipelined, a query waits for a free connection.
      // (This also rules out sql.begin(), which the store never needs: each call is one statement.)
      max_pipeline: 0,
      connect_timeout: init.connectTimeout,
      connection: init.settings,
      onnotice: notice => { init.onNotice(notice.message) }
    }
    this.sql = postgres(init.url, options)
  }

  /** Runs `query` on the pool, or refuses at once when too many queries already wait for a connection */
  async run <T> (query: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.pending >= this.init.maxConnections + this.init.maxWaiting) {
      throw new StoreUnavailableError(`${this.pending} queries are already running or waiting for one of ${this.init.maxConnections} database connections`)
    }

    this.pending++
    try {
      return await query(this.sql)
    } catch (err) {
      throw storeError(err)
    } finally {
      this.pending--
    }
  }

  /** Waits up to `timeout` seconds for queries in flight, then closes every connection */
  async end (timeout: number): Promise<void> {
    await this.sql.end({ timeout })
  }
}
