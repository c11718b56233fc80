/**
 * A {@link RegistrationStore} on PostgreSQL, shared by a fleet of rendezvous servers.
 *
 * Servers on one database (and one schema) see the same registrations, give out positions in the same order (so a
 * cookie issued by one continues on another) and share the cookie secret. Limits hold across the fleet.
 *
 * **Order without a fleet-wide lock.** A row's position is (id of the transaction that wrote it, a sequence
 * value), as one unsigned 128-bit number: `xid << 64 | seq`. Transactions commit in any order, so a row can become
 * visible after a row at a higher position has been read; a cookie that had moved past it would never see it.
 * Every transaction that could still commit such a row is running, and has an id at or above the oldest running
 * one, `pg_snapshot_xmin(pg_current_snapshot())`, read in the same snapshot as the rows. So a DISCOVER returns
 * what it sees, but reports that positions from `xmin << 64` on are not settled, and the cookie never moves past
 * them (see {@link DiscoverPage.settledBelow}): a registration still in flight is returned by a later DISCOVER,
 * never skipped. Writers take no lock but their peer's, commit in parallel and share WAL flushes.
 *
 * The price: a write transaction that stays open anywhere in the PostgreSQL cluster (transaction ids are
 * cluster-wide) keeps newer registrations from being settled until it ends; they are still returned, again on
 * each DISCOVER from an older cookie. `idle_in_transaction_session_timeout` bounds our own sessions; set it for
 * the other users of the cluster too.
 *
 * **REGISTER** is one round trip to the `rendezvous_register` function (postgres-schema.ts explains its steps):
 * the peer's advisory lock for the per-peer limit and the stale-record check, a row count kept in 64 shards for
 * the total limit (counted exactly, one writer at a time, only near the limit), then the upsert. The count
 * includes expired rows the sweep has not yet removed; when it says "full", the store sweeps and tries once more.
 *
 * **Deleting** (UNREGISTER, the sweep) takes no advisory lock. Sweeps on several servers split the expired rows
 * between them (`FOR UPDATE SKIP LOCKED`) and delete in batches, so no transaction holds many locks for long.
 *
 * **Bounded waits.** Every session has a `statement_timeout`, a `lock_timeout` and an
 * `idle_in_transaction_session_timeout`, and each pool refuses queries beyond a queue bound: a held lock or a
 * stalled database makes calls fail with {@link StoreUnavailableError} (E_UNAVAILABLE on the wire) instead of
 * queueing every request of the fleet. DISCOVER and stats run on a pool of their own, so they never wait behind
 * REGISTERs for a connection.
 *
 * **Time** is the database's: expiry times are stored, compared and swept on its clock, so servers whose clocks
 * disagree still agree on when a registration expires (see {@link DatabaseClock}).
 *
 * Needs PostgreSQL 13 or newer (`pg_current_xact_id`). Node-only (it opens TCP connections to the database):
 * import it from server code, never from a browser bundle.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { InvalidParametersError } from '@libp2p/interface'
import { logger as createLogger } from '@libp2p/logger'
import postgres from 'postgres'
import { checkOptions } from '../../options/check-options.ts'
import { DatabaseClock } from './postgres-clock.ts'
import { columnsOf, discoverStatement } from './postgres-discover.ts'
import { Pool } from './postgres-pool.ts'
import { migrate } from './postgres-schema.ts'
import { POSTGRES_STORE_OPTIONS } from './postgres-store-options.ts'
import { checkRegisterInput, formatOfInput } from './registration-store.ts'
import type { DiscoverRow } from './postgres-discover.ts'
import type { PostgresRegistrationStoreInit } from './postgres-store-options.ts'
import type { DiscoverPage, DiscoverQuery, RegisterInput, RegisterLimits, RegisterOutcome, RegistrationStore, StoredRegistration, StoreStats } from './registration-store.ts'
import type { Logger } from '@libp2p/interface'

/** What a transaction-level PostgreSQL error code means for a retry: deadlock detected, serialization failure */
const RETRYABLE_CODES = new Set(['40P01', '40001'])
/** Raised by rendezvous_register when its fast path finds the total limit near: call again with p_exact */
const COUNT_EXACTLY = 'RZ001'
const MAX_ATTEMPTS = 3
/** Shards of the row count; migration 2 creates this many rows */
const ROW_COUNT_SHARDS = 64
const COOKIE_SECRET_NAME = 'cookie'
const COOKIE_SECRET_LENGTH = 32
/** Offsets between the clocks smaller than this are jitter, not a change */
const CLOCK_TOLERANCE_MS = 250

/** A row of a page (see postgres-discover.ts) */
type RegistrationRow = DiscoverRow & { peer_id: string }

type Attempt = RegisterOutcome | { ok: false, reason: 'counter-full' }
type AttemptReason = Exclude<Attempt, { ok: true }>['reason']

/** A row's (xid, seq) as one position */
function positionOf (xid: string | bigint, seq: string | bigint): bigint {
  return (BigInt(xid) << 64n) | BigInt(seq)
}

/** The bigint columns take whole milliseconds */
function toMillis (now: number): number {
  if (!Number.isFinite(now)) {
    throw new InvalidParametersError('now must be a finite number of milliseconds')
  }
  return Math.floor(now)
}

/** The code of a database error, also when it was wrapped as a StoreUnavailableError */
function codeOf (err: any): string | undefined {
  return err?.cause?.code ?? err?.code
}

export class PostgresRegistrationStore implements RegistrationStore {
  readonly schema: string
  private readonly init: PostgresRegistrationStoreInit
  private readonly log: Logger
  private readonly sweepBatchSize: number
  private readonly limits: { maxConnections: number, maxReadConnections: number, maxWaiting: number, connectTimeout: number }
  private readonly settings: Record<string, string>
  private readonly clock: DatabaseClock
  private pools?: { writes: Pool, reads: Pool }
  private cookieSecret?: Uint8Array

  constructor (init: PostgresRegistrationStoreInit) {
    const config = checkOptions(POSTGRES_STORE_OPTIONS, init)
    this.schema = config.schema
    this.init = config
    this.log = config.log ?? createLogger('libp2p:rendezvous:store:postgres')
    this.sweepBatchSize = config.sweepBatchSize
    this.limits = {
      maxConnections: config.maxConnections,
      maxReadConnections: config.maxReadConnections,
      maxWaiting: config.maxWaiting,
      connectTimeout: config.connectTimeout
    }
    this.settings = {
      // the tables are created and found in our schema, whatever the role's default search_path is
      application_name: 'libp2p-rendezvous',
      ...config.sessionSettings,
      search_path: this.schema,
      statement_timeout: String(config.statementTimeout),
      lock_timeout: String(config.lockTimeout),
      idle_in_transaction_session_timeout: String(config.idleInTransactionTimeout)
    }
    this.clock = new DatabaseClock({
      localClock: config.clock ?? Date.now,
      checkInterval: config.clockCheckInterval,
      tolerance: CLOCK_TOLERANCE_MS,
      log: this.log
    })
  }

  /** Connects, creates or migrates the schema, loads the fleet's cookie secret and reads the database's clock. Rejects when the database is unreachable */
  async start (): Promise<void> {
    if (this.pools != null) {
      return
    }

    const pool = (maxConnections: number, settings: Record<string, string>): Pool => new Pool({
      url: this.init.url,
      maxConnections,
      maxWaiting: this.limits.maxWaiting,
      connectTimeout: this.limits.connectTimeout,
      settings,
      // "schema already exists, skipping" and the like are not for stdout
      onNotice: message => { this.log('postgres notice: %s', message) }
    })
    const pools = {
      writes: pool(this.limits.maxConnections, this.settings),
      // DISCOVER never waits behind REGISTERs for a connection, and a bug could never make it write
      reads: pool(this.limits.maxReadConnections, { ...this.settings, default_transaction_read_only: 'on' })
    }

    try {
      await this.migrate()
      this.pools = pools
      this.cookieSecret = await this.loadCookieSecret()
      await this.clock.start(pools.reads.sql)
    } catch (err) {
      this.pools = undefined
      this.clock.stop()
      await Promise.all([pools.writes.end(1), pools.reads.end(1)]).catch(() => {})
      throw err
    }
  }

  /** Creates or migrates the schema, on a connection of its own: a migration is one transaction */
  private async migrate (): Promise<void> {
    const sql = postgres(this.init.url, {
      max: 1,
      connect_timeout: this.limits.connectTimeout,
      connection: this.settings,
      onnotice: notice => { this.log('postgres notice: %s', notice.message) }
    })

    try {
      const from = await migrate(sql, this.schema, this.log)
      this.log('schema "%s" ready (was at version %d)', this.schema, from)
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {})
    }
  }

  /** Waits up to 5 s for queries in flight, then closes every connection */
  async stop (): Promise<void> {
    const pools = this.pools
    this.pools = undefined
    this.cookieSecret = undefined
    this.clock.stop()
    await Promise.all([pools?.writes.end(5), pools?.reads.end(5)])
  }

  private get writes (): Pool {
    return this.started().writes
  }

  private get reads (): Pool {
    return this.started().reads
  }

  private started (): { writes: Pool, reads: Pool } {
    if (this.pools == null) {
      throw new Error('the PostgreSQL store is not started')
    }
    return this.pools
  }

  async register (input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome> {
    checkRegisterInput(input, limits)
    const at = this.clock.toDatabase(toMillis(now))
    const expiresAt = this.clock.toDatabase(input.expiresAt)
    let exact = false
    let swept = false

    for (let attempt = 1; ; attempt++) {
      let outcome: Attempt

      try {
        outcome = await this.tryRegister(input, expiresAt, limits, at, exact)
      } catch (err) {
        const code = codeOf(err)

        if (code === COUNT_EXACTLY && !exact) {
          exact = true
          continue
        }
        if (code != null && RETRYABLE_CODES.has(code) && attempt < MAX_ATTEMPTS) {
          this.log('register of %s in "%s" hit %s, retrying', input.peerId, input.namespace, code)
          continue
        }
        throw err
      }

      if (outcome.ok || outcome.reason !== 'counter-full') {
        return outcome
      }

      // the count includes expired rows nobody has swept yet: remove them and look again, once
      if (swept) {
        return { ok: false, reason: 'total-limit' }
      }
      swept = true
      await this.removeExpiredAt(at)
    }
  }

  private async tryRegister (input: RegisterInput, expiresAt: number, limits: RegisterLimits, now: number, exact: boolean): Promise<Attempt> {
    const [result] = await this.writes.run(async sql => sql<Array<{ outcome: AttemptReason | 'ok', position_xid: string | null, position_seq: string | null }>>`
      SELECT outcome, position_xid, position_seq FROM rendezvous_register(
        ${input.peerId}, ${input.namespace}, ${input.signedPeerRecord}, ${input.recordSeq.toString()}::numeric,
        ${expiresAt}::bigint, ${limits.maxRegistrationsPerPeer}::bigint, ${limits.maxRegistrationsTotal}::bigint,
        ${now}::bigint, ${this.lockKey('peer', input.peerId)}, ${this.lockKey('total')},
        ${randomInt(ROW_COUNT_SHARDS)}::integer, ${exact}::boolean, ${formatOfInput(input) === 'legacy'}::boolean
      )`)

    if (result.outcome === 'ok') {
      return { ok: true, seq: positionOf(result.position_xid ?? '', result.position_seq ?? '') }
    }

    return { ok: false, reason: result.outcome }
  }

  async unregister (peerId: string, namespace: string): Promise<void> {
    await this.writes.run(async sql => sql`DELETE FROM rendezvous_registrations WHERE peer_id = ${peerId} AND namespace = ${namespace}`)
  }

  async discover (query: DiscoverQuery): Promise<DiscoverPage> {
    const now = this.clock.toDatabase(toMillis(query.now))
    const limit = Math.max(0, Math.floor(query.limit))
    const after = columnsOf(query.afterSeq)
    const sent = query.sentUpTo != null && query.sentUpTo > query.afterSeq ? columnsOf(query.sentUpTo) : undefined

    // a cookie can carry any 128-bit position, but xid and seq are bigint columns: nothing lies past their maximum
    if (limit === 0 || after == null) {
      return { registrations: [] }
    }

    const rows = await this.reads.run(async sql => discoverStatement(sql, { ...query, after, sent, now, limit }))

    return {
      registrations: rows.filter((row): row is RegistrationRow => row.peer_id != null).map(row => this.toRegistration(row)),
      settledBelow: positionOf(rows[0].horizon, 0n)
    }
  }

  private toRegistration (row: RegistrationRow): StoredRegistration {
    const record = row.signed_peer_record
    return {
      peerId: row.peer_id,
      namespace: row.namespace,
      // postgres hands out Buffers; give callers a plain Uint8Array over the same memory
      signedPeerRecord: new Uint8Array(record.buffer, record.byteOffset, record.byteLength),
      format: row.legacy ? 'legacy' : 'standard',
      recordSeq: BigInt(row.record_seq),
      expiresAt: this.clock.toLocal(Number(row.expires_at)),
      seq: positionOf(row.xid, row.seq)
    }
  }

  async removeExpired (now: number): Promise<number> {
    return this.removeExpiredAt(this.clock.toDatabase(toMillis(now)))
  }

  /** Deletes what expired at or before `now`, a time on the database's clock */
  private async removeExpiredAt (now: number): Promise<number> {
    let removed = 0

    while (true) {
      // rows another server is sweeping (or a register is refreshing) are skipped, not waited for
      const [result] = await this.writes.run(async sql => sql<Array<{ n: string }>>`
        WITH doomed AS (
          SELECT ctid FROM rendezvous_registrations
          WHERE expires_at <= ${now}
          LIMIT ${this.sweepBatchSize}
          FOR UPDATE SKIP LOCKED
        ), deleted AS (
          DELETE FROM rendezvous_registrations r
          USING doomed
          WHERE r.ctid = doomed.ctid AND r.expires_at <= ${now}
          RETURNING 1
        )
        SELECT count(*) AS n FROM deleted`)
      const n = Number(result.n)
      removed += n

      if (n < this.sweepBatchSize) {
        return removed
      }
    }
  }

  async getCookieSecret (): Promise<Uint8Array> {
    this.cookieSecret ??= await this.loadCookieSecret()
    return this.cookieSecret
  }

  /** The first server of the fleet creates the secret; every server, that one included, then reads the one that won */
  private async loadCookieSecret (): Promise<Uint8Array> {
    return this.writes.run(async sql => {
      await sql`
        INSERT INTO rendezvous_secrets (name, value) VALUES (${COOKIE_SECRET_NAME}, ${randomBytes(COOKIE_SECRET_LENGTH)})
        ON CONFLICT (name) DO NOTHING`
      // a second statement, so its snapshot sees a secret another server committed while our insert waited
      const [row] = await sql<Array<{ value: Uint8Array }>>`
        SELECT value FROM rendezvous_secrets WHERE name = ${COOKIE_SECRET_NAME}`
      return Uint8Array.from(row.value)
    })
  }

  async stats (now: number): Promise<StoreStats> {
    const at = this.clock.toDatabase(toMillis(now))
    // rows minus the expired ones (a short index range after a sweep) rather than a scan of the live ones; the
    // namespaces by a skip scan of the (namespace, xid, seq) index: O(namespaces × log n), not O(registrations)
    const [row] = await this.reads.run(async sql => sql<Array<{ registrations: string, namespaces: string }>>`
      WITH RECURSIVE names AS (
        (SELECT namespace FROM rendezvous_registrations ORDER BY namespace LIMIT 1)
        UNION ALL
        SELECT (
          SELECT r.namespace FROM rendezvous_registrations r
          WHERE r.namespace > names.namespace ORDER BY r.namespace LIMIT 1
        )
        FROM names WHERE names.namespace IS NOT NULL
      )
      SELECT
        (SELECT sum(value) FROM rendezvous_row_counts)
          - (SELECT count(*) FROM rendezvous_registrations WHERE expires_at <= ${at}) AS registrations,
        (SELECT count(*) FROM names WHERE names.namespace IS NOT NULL AND EXISTS (
          SELECT 1 FROM rendezvous_registrations r WHERE r.namespace = names.namespace AND r.expires_at > ${at}
        )) AS namespaces`)

    return { registrations: Number(row.registrations), namespaces: Number(row.namespaces) }
  }

  /** Advisory lock keys are hashed from text that names this schema, so fleets in other schemas never wait on us */
  private lockKey (kind: 'peer' | 'total', id = ''): string {
    return `libp2p-rendezvous:${this.schema}:${kind}:${id}`
  }
}

/** Creates a PostgreSQL registration store; pass it to `rendezvousServer({ store })` */
export function postgresRegistrationStore (init: PostgresRegistrationStoreInit): RegistrationStore {
  return new PostgresRegistrationStore(init)
}
