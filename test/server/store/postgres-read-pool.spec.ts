/**
 * DISCOVER never waits behind REGISTERs for a PostgreSQL connection (postgres-store.ts): DISCOVER and stats run on
 * a pool of their own. Here every write connection is held by a REGISTER stuck on a row lock, more REGISTERs wait
 * for one, and a DISCOVER must still answer at once, with what is stored.
 */
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { holdTransaction, skipWithoutPostgres, TestStores, within, withDatabase } from './postgres-test-database.ts'
import type { PostgresRegistrationStore } from '../../../src/server/store/postgres-store.ts'
import type { RegisterLimits } from '../../../src/server/store/registration-store.ts'

const ROOMY: RegisterLimits = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: 1_000_000 }
const HOUR = 60 * 60 * 1000
/** How long the stuck REGISTERs may wait on their lock: far beyond the DISCOVER's bound below */
const STUCK_MS = 30_000
/** A DISCOVER of a few rows on a free connection takes milliseconds; this leaves room for a loaded machine */
const DISCOVER_BOUND_MS = 3000

async function registerPeer (store: PostgresRegistrationStore, peerId: string, recordSeq: bigint): Promise<boolean> {
  const now = Date.now()
  const outcome = await store.register({ peerId, namespace: 'ns', signedPeerRecord: new TextEncoder().encode(`${peerId} ${recordSeq}`), recordSeq, expiresAt: now + HOUR }, ROOMY, now)
  return outcome.ok
}

describe('PostgresRegistrationStore read pool', function () {
  this.timeout(STUCK_MS + 30_000)

  const stores = new TestStores()

  before(function () {
    skipWithoutPostgres(this, 'PostgresRegistrationStore read pool')
  })

  afterEach(async () => {
    await stores.cleanup()
  })

  it('answers a DISCOVER at once while every write connection waits on a lock and more REGISTERs queue for one', async () => {
    const maxConnections = 2
    const store = await stores.start(undefined, { maxConnections, maxReadConnections: 1, maxWaiting: 10, lockTimeout: STUCK_MS, statementTimeout: STUCK_MS })
    const held = ['peer-held-1', 'peer-held-2']

    for (const peerId of held) {
      expect(await registerPeer(store, peerId, 1n)).to.be.true()
    }

    // another session locks the rows of the two peers, as a server stuck mid-REGISTER would
    let holderPid = 0
    const lock = await holdTransaction(async tx => {
      holderPid = Number((await tx`SELECT pg_backend_pid() AS pid`)[0].pid)
      await tx`SELECT 1 FROM ${tx(store.schema)}.rendezvous_registrations WHERE peer_id IN ${tx(held)} FOR UPDATE`
    })
    let writes: Promise<boolean[]> = Promise.resolve([])

    try {
      // one refresh per held peer takes each write connection and waits on the lock; three more wait for a connection
      writes = Promise.all([
        ...held.map(async peerId => registerPeer(store, peerId, 2n)),
        ...['peer-queued-1', 'peer-queued-2', 'peer-queued-3'].map(async peerId => registerPeer(store, peerId, 1n))
      ])
      writes.catch(() => {})

      // the write pool is full: both its connections are blocked by the lock
      const blocked = async (): Promise<number> => withDatabase(async sql => Number((await sql`
        SELECT count(*) AS n FROM pg_stat_activity WHERE ${holderPid}::integer = ANY(pg_blocking_pids(pid))`)[0].n))
      // the assertion below says how many were blocked at the timeout
      await pWaitFor(async () => await blocked() >= maxConnections, { interval: 50, timeout: { milliseconds: 10_000, fallback: () => {} } })
      expect(await blocked(), 'write connections blocked by the lock').to.equal(maxConnections)

      const started = Date.now()
      const page = await within(DISCOVER_BOUND_MS, 'a DISCOVER while every write connection waits on a lock', store.discover({ namespace: 'ns', afterSeq: 0n, limit: 100, now: Date.now() }))
      const stats = await within(DISCOVER_BOUND_MS, 'the store\'s stats meanwhile', store.stats(Date.now()))
      const took = Date.now() - started

      expect(page.registrations.map(r => r.peerId).sort()).to.deep.equal(held)
      expect(stats.registrations).to.equal(2)
      expect(took, 'a DISCOVER and a stats read while REGISTERs hold the write pool, ms').to.be.below(DISCOVER_BOUND_MS)
    } finally {
      await lock.release()
    }

    // and the REGISTERs go through once the lock is gone
    expect(await within(10_000, 'the REGISTERs after the lock was released', writes)).to.deep.equal([true, true, true, true, true])
  })
})
