/**
 * What the PostgreSQL tests share: the database they run on, a schema of their own per suite, and a clear skip
 * when no database was given.
 *
 * The database comes from `RENDEZVOUS_TEST_POSTGRES_URL` (`.ci/run` starts PostgreSQL and sets it). Without it,
 * the suites that need it are skipped with a message saying so: they never pass without having run.
 */
import postgres from 'postgres'
import { PostgresRegistrationStore } from '../../../src/server/store/postgres-store.ts'
import type { PostgresRegistrationStoreInit } from '../../../src/server/store/postgres-store-options.ts'

/** The test database's connection string, when one was given */
export const POSTGRES_URL: string | undefined = process.env.RENDEZVOUS_TEST_POSTGRES_URL === '' ? undefined : process.env.RENDEZVOUS_TEST_POSTGRES_URL

/** Call from a `before` hook (a `function`, not an arrow): skips the suite, saying why, when there is no database */
export function skipWithoutPostgres (context: Mocha.Context, suite: string): void {
  if (POSTGRES_URL == null) {
    // eslint-disable-next-line no-console
    console.log(`      SKIPPED ${suite}: set RENDEZVOUS_TEST_POSTGRES_URL to a PostgreSQL database (e.g. postgres://rendezvous:rendezvous@127.0.0.1:5432/rendezvous_test; .ci/run does) to run it`)
    context.skip()
  }
}

/** A schema name no other run uses, so suites (and engineers) sharing the database never see each other's rows */
export function uniqueSchema (label: string): string {
  return `rdv_test_${label}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
}

/** Runs `fn` on a short-lived connection to the test database */
export async function withDatabase <T> (fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  if (POSTGRES_URL == null) {
    throw new Error('RENDEZVOUS_TEST_POSTGRES_URL is not set')
  }

  const sql = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} })
  try {
    return await fn(sql)
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/** Removes a schema and everything in it */
export async function dropSchema (schema: string): Promise<void> {
  await withDatabase(async sql => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`)
}

/** Empties the store's tables in `schema` (an empty store, as the contract suite wants at the start of each test) */
export async function emptySchema (schema: string): Promise<void> {
  await withDatabase(async sql => sql.begin(async tx => {
    await tx`TRUNCATE ${tx(schema)}.rendezvous_registrations`
    // TRUNCATE fires no DELETE trigger, so the row count is reset by hand
    await tx`UPDATE ${tx(schema)}.rendezvous_row_counts SET value = 0`
  }))
}

/**
 * The stores a test starts, on schemas of their own or shared between several (a fleet): `cleanup()`, from an
 * `afterEach`, stops every one and drops every schema.
 */
export class TestStores {
  private readonly stores: PostgresRegistrationStore[] = []
  private readonly schemas = new Set<string>()

  /** A started store on `schema` (by default a new one of its own) */
  async start (schema = uniqueSchema('store'), init: Omit<PostgresRegistrationStoreInit, 'url' | 'schema'> = {}): Promise<PostgresRegistrationStore> {
    this.schemas.add(schema)
    const store = new PostgresRegistrationStore({ url: POSTGRES_URL ?? '', schema, ...init })
    this.stores.push(store)
    await store.start()
    return store
  }

  async cleanup (): Promise<void> {
    await Promise.all(this.stores.splice(0).map(async store => store.stop()))
    const schemas = [...this.schemas]
    this.schemas.clear()
    await Promise.all(schemas.map(dropSchema))
  }
}

/** `promise`, or a rejection naming `what` after `ms`: a test that would hang fails instead, and cleans up */
export async function within <T> (ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} did not settle within ${ms} ms`)) }, ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Runs `work` in a transaction of its own and keeps that transaction open until `release()`, as another client
 * of the database (or a server stuck mid-REGISTER) would
 */
export async function holdTransaction (work: (tx: postgres.TransactionSql) => Promise<unknown>): Promise<{ release(): Promise<void> }> {
  let release = (): void => {}
  const released = new Promise<void>(resolve => { release = resolve })
  let done = (): void => {}
  const doneYet = new Promise<void>(resolve => { done = resolve })
  const holder = withDatabase(async sql => sql.begin(async (tx: postgres.TransactionSql) => {
    await work(tx)
    done()
    await released
  }))
  await Promise.race([doneYet, holder])

  return {
    release: async () => {
      release()
      await holder
    }
  }
}

/** Holds a lock on the rows of `peerId` in `schema` until `release()` */
export async function holdRowLock (schema: string, peerId: string): Promise<{ release(): Promise<void> }> {
  return holdTransaction(async tx => tx`SELECT 1 FROM ${tx(schema)}.rendezvous_registrations WHERE peer_id = ${peerId} FOR UPDATE`)
}
