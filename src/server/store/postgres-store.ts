/**
 * A {@link RegistrationStore} on PostgreSQL, shared by a fleet of rendezvous servers.
 *
 * Servers on one database (and one schema) see the same registrations, hand out positions in the same sequence
 * (so a cookie issued by one continues on another) and share the cookie secret. Limits hold across the fleet.
 *
 * How REGISTER stays correct when several servers write at once, in one transaction (the `rendezvous_register`
 * function of postgres-schema.ts, so that it is one round trip and no lock waits on the network):
 *
 * 1. `pg_advisory_xact_lock(peer)`: the registrations of one peer change one at a time, so the per-peer count
 * and the stale-record check read a state nobody else is changing.
 * 2. `pg_advisory_xact_lock(seq)`, fleet-wide, taken last and held only for the write and the commit: the row
 * counter is read, the next `seq` taken and the row written under it. PostgreSQL makes a committed
 * transaction visible before it releases its locks, so sequence values become visible in the order they were
 * taken. Without it, a writer holding seq 10 could commit after one holding seq 11, and a reader that saw 11
 * would hand out a cookie past 10, which that cookie's holder would then never see. The price is that inserts
 * into one database commit one after the other (a commit's WAL flush each): hundreds to thousands per second,
 * well above the ~140/s a million registrations refreshed every two hours need.
 * 3. The total limit reads a row counter kept exact by triggers (see postgres-schema.ts) instead of counting the
 * table. The counter includes expired rows the sweep has not yet removed; when it says "full", the store
 * sweeps and tries once more before refusing.
 *
 * Deleting (UNREGISTER, the sweep) takes no advisory lock. Sweeps on several servers split the expired rows
 * between them (`FOR UPDATE SKIP LOCKED`) and delete in batches, so no transaction holds many locks for long.
 *
 * Node-only (it opens TCP connections to the database): import it from server code, never from a browser bundle.
 */
import { randomBytes } from 'node:crypto'
import { InvalidParametersError } from '@libp2p/interface'
import { logger as createLogger } from '@libp2p/logger'
import postgres from 'postgres'
import { migrate } from './postgres-schema.ts'
import { checkRegisterInput } from './registration-store.ts'
import type { DiscoverPage, DiscoverQuery, RegisterInput, RegisterLimits, RegisterOutcome, RegistrationStore, StoredRegistration, StoreStats } from './registration-store.ts'
import type { Logger } from '@libp2p/interface'
import type { Sql } from 'postgres'

export interface PostgresRegistrationStoreInit {
  /** Connection string, e.g. `postgres://user:password@host:5432/database` (libpq syntax, `?sslmode=…` accepted) */
  url: string
  /**
   * The PostgreSQL schema (namespace) holding the tables; created if missing. Fleets that share a database but
   * must not see each other's registrations use different schemas. Letters, digits and `_` only.
   * Default: `public`
   */
  schema?: string
  /** Most connections this server opens to the database. Default: 10 */
  maxConnections?: number
  /** Time allowed to open a connection, in seconds. Default: 10 */
  connectTimeout?: number
  /**
   * PostgreSQL settings for this server's sessions, e.g. `{ statement_timeout: '5s' }`. `synchronous_commit: 'off'`
   * lifts the bound that the commit's WAL flush puts on REGISTER throughput (see the top of this file), at the cost
   * of losing the registrations of the last few hundred ms if PostgreSQL itself crashes (never when a rendezvous
   * server does). `search_path` is always the schema. Default: none
   */
  sessionSettings?: Record<string, string>
  /** Registrations deleted per transaction by the expiry sweep. Default: 10000 */
  sweepBatchSize?: number
  /** Where to log. Default: the `libp2p:rendezvous:store:postgres` debug logger */
  log?: Logger
}

/** What a transaction-level PostgreSQL error code means for a retry: deadlock detected, serialization failure */
const RETRYABLE_CODES = new Set(['40P01', '40001'])
const MAX_ATTEMPTS = 3
const COOKIE_SECRET_NAME = 'cookie'
const COOKIE_SECRET_LENGTH = 32
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

interface RegistrationRow {
  peer_id: string
  namespace: string
  signed_peer_record: Uint8Array
  record_seq: string
  expires_at: string
  seq: string
}

type Attempt = RegisterOutcome | { ok: false, reason: 'counter-full' }
type AttemptReason = Exclude<Attempt, { ok: true }>['reason']

const MAX_INT64 = 0x7fff_ffff_ffff_ffffn

/** The bigint columns take whole milliseconds */
function toMillis (now: number): number {
  if (!Number.isFinite(now)) {
    throw new InvalidParametersError('now must be a finite number of milliseconds')
  }
  return Math.floor(now)
}

function isRetryable (err: any): boolean {
  return RETRYABLE_CODES.has(err?.code)
}

function toRegistration (row: RegistrationRow): StoredRegistration {
  const record = row.signed_peer_record
  return {
    peerId: row.peer_id,
    namespace: row.namespace,
    // postgres hands out Buffers; give callers a plain Uint8Array over the same memory
    signedPeerRecord: new Uint8Array(record.buffer, record.byteOffset, record.byteLength),
    recordSeq: BigInt(row.record_seq),
    expiresAt: Number(row.expires_at),
    seq: BigInt(row.seq)
  }
}

export class PostgresRegistrationStore implements RegistrationStore {
  readonly schema: string
  private readonly init: PostgresRegistrationStoreInit
  private readonly log: Logger
  private readonly sweepBatchSize: number
  private sql?: Sql
  private cookieSecret?: Uint8Array

  constructor (init: PostgresRegistrationStoreInit) {
    if (typeof init?.url !== 'string' || init.url === '') {
      throw new TypeError('PostgresRegistrationStore needs a connection url, e.g. postgres://user:password@host:5432/database')
    }

    this.schema = init.schema ?? 'public'

    if (!SCHEMA_NAME.test(this.schema)) {
      throw new TypeError(`schema "${this.schema}" is not a plain identifier (letters, digits and _, at most 63)`)
    }

    this.init = init
    this.log = init.log ?? createLogger('libp2p:rendezvous:store:postgres')
    this.sweepBatchSize = init.sweepBatchSize ?? 10_000
  }

  /** Connects, creates or migrates the schema and loads the fleet's cookie secret. Rejects when the database is unreachable */
  async start (): Promise<void> {
    if (this.sql != null) {
      return
    }

    const sql = postgres(this.init.url, {
      max: this.init.maxConnections ?? 10,
      connect_timeout: this.init.connectTimeout ?? 10,
      // the tables are created and found in our schema, whatever the role's default search_path is
      connection: { application_name: 'libp2p-rendezvous', ...this.init.sessionSettings, search_path: this.schema },
      // "schema already exists, skipping" and the like are not for stdout
      onnotice: notice => { this.log('postgres notice: %s', notice.message) }
    })

    try {
      const from = await migrate(sql, this.schema, this.log)
      this.log('schema "%s" ready (was at version %d)', this.schema, from)
      this.sql = sql
      this.cookieSecret = await this.loadCookieSecret()
    } catch (err) {
      this.sql = undefined
      await sql.end({ timeout: 1 }).catch(() => {})
      throw err
    }
  }

  /** Waits up to 5 s for queries in flight, then closes every connection */
  async stop (): Promise<void> {
    const sql = this.sql
    this.sql = undefined
    this.cookieSecret = undefined
    await sql?.end({ timeout: 5 })
  }

  private get db (): Sql {
    if (this.sql == null) {
      throw new Error('the PostgreSQL store is not started')
    }
    return this.sql
  }

  async register (input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome> {
    checkRegisterInput(input, limits)
    now = toMillis(now)
    let swept = false

    for (let attempt = 1; ; attempt++) {
      let outcome: Attempt

      try {
        outcome = await this.tryRegister(input, limits, now)
      } catch (err) {
        if (isRetryable(err) && attempt < MAX_ATTEMPTS) {
          this.log('register of %s in "%s" hit %s, retrying', input.peerId, input.namespace, (err as any).code)
          continue
        }
        throw err
      }

      if (outcome.ok || outcome.reason !== 'counter-full') {
        return outcome
      }

      // the counter includes expired rows nobody has swept yet: remove them and look again, once
      if (swept) {
        return { ok: false, reason: 'total-limit' }
      }
      swept = true
      await this.removeExpired(now)
    }
  }

  private async tryRegister (input: RegisterInput, limits: RegisterLimits, now: number): Promise<Attempt> {
    const [result] = await this.db<Array<{ outcome: AttemptReason | 'ok', assigned_seq: string | null }>>`
      SELECT outcome, assigned_seq FROM rendezvous_register(
        ${input.peerId}, ${input.namespace}, ${input.signedPeerRecord}, ${input.recordSeq.toString()}::numeric,
        ${input.expiresAt}::bigint, ${limits.maxRegistrationsPerPeer}::bigint, ${limits.maxRegistrationsTotal}::bigint,
        ${now}::bigint, ${this.lockKey('peer', input.peerId)}, ${this.lockKey('seq')}
      )`

    if (result.outcome === 'ok') {
      return { ok: true, seq: BigInt(result.assigned_seq ?? '') }
    }

    return { ok: false, reason: result.outcome }
  }

  async unregister (peerId: string, namespace: string): Promise<void> {
    await this.db`DELETE FROM rendezvous_registrations WHERE peer_id = ${peerId} AND namespace = ${namespace}`
  }

  async discover (query: DiscoverQuery): Promise<DiscoverPage> {
    const now = toMillis(query.now)
    const limit = Math.max(0, Math.floor(query.limit))

    // a cookie can carry any uint64, but seq is a bigint column: nothing lies past its maximum
    if (limit === 0 || query.afterSeq >= MAX_INT64) {
      return { registrations: [] }
    }

    const after = query.afterSeq.toString()
    // A reader needs no lock: every seq at or below the highest one it can see is already committed (or gone)
    const rows = query.namespace == null
      ? await this.db<RegistrationRow[]>`
          SELECT peer_id, namespace, signed_peer_record, record_seq, expires_at, seq
          FROM rendezvous_registrations
          WHERE seq > ${after}::bigint AND expires_at > ${now}
          ORDER BY seq
          LIMIT ${limit}`
      : await this.db<RegistrationRow[]>`
          SELECT peer_id, namespace, signed_peer_record, record_seq, expires_at, seq
          FROM rendezvous_registrations
          WHERE namespace = ${query.namespace} AND seq > ${after}::bigint AND expires_at > ${now}
          ORDER BY seq
          LIMIT ${limit}`

    return { registrations: rows.map(toRegistration) }
  }

  async removeExpired (now: number): Promise<number> {
    now = toMillis(now)
    let removed = 0

    while (true) {
      // rows another server is sweeping (or a register is refreshing) are skipped, not waited for
      const [result] = await this.db<Array<{ n: string }>>`
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
        SELECT count(*) AS n FROM deleted`
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
    await this.db`
      INSERT INTO rendezvous_secrets (name, value) VALUES (${COOKIE_SECRET_NAME}, ${randomBytes(COOKIE_SECRET_LENGTH)})
      ON CONFLICT (name) DO NOTHING`
    // a second statement, so its snapshot sees a secret another server committed while our insert waited
    const [row] = await this.db<Array<{ value: Uint8Array }>>`
      SELECT value FROM rendezvous_secrets WHERE name = ${COOKIE_SECRET_NAME}`
    return Uint8Array.from(row.value)
  }

  async stats (now: number): Promise<StoreStats> {
    now = toMillis(now)
    // rows minus the expired ones (a short index range after a sweep) rather than a scan of the live ones; the
    // namespaces by a skip scan of the (namespace, seq) index: O(namespaces × log n), not O(registrations)
    const [row] = await this.db<Array<{ registrations: string, namespaces: string }>>`
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
        (SELECT value FROM rendezvous_counters WHERE name = 'registrations')
          - (SELECT count(*) FROM rendezvous_registrations WHERE expires_at <= ${now}) AS registrations,
        (SELECT count(*) FROM names WHERE names.namespace IS NOT NULL AND EXISTS (
          SELECT 1 FROM rendezvous_registrations r WHERE r.namespace = names.namespace AND r.expires_at > ${now}
        )) AS namespaces`

    return { registrations: Number(row.registrations), namespaces: Number(row.namespaces) }
  }

  /** Advisory lock keys are hashed from text that names this schema, so fleets in other schemas never wait on us */
  private lockKey (kind: 'peer' | 'seq', id = ''): string {
    return `libp2p-rendezvous:${this.schema}:${kind}:${id}`
  }
}

/** Creates a PostgreSQL registration store; pass it to `rendezvousServer({ store })` */
export function postgresRegistrationStore (init: PostgresRegistrationStoreInit): PostgresRegistrationStore {
  return new PostgresRegistrationStore(init)
}
