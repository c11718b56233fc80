/**
 * The PostgreSQL store's bounds: a held lock or a stalled database makes calls fail with StoreUnavailableError
 * (E_UNAVAILABLE on the wire) instead of queueing the fleet, and expiry runs on the database's clock whatever the
 * servers' clocks say.
 */
import { expect } from 'aegir/chai'
import { Message } from '../../../src/pb/rendezvous.ts'
import { createClientNode, createServerNode, discover, register } from '../fixtures.ts'
import { holdRowLock, skipWithoutPostgres, TestStores, uniqueSchema, within } from './postgres-test-database.ts'
import type { PostgresRegistrationStore } from '../../../src/server/store/postgres-store.ts'
import type { RegisterLimits } from '../../../src/server/store/registration-store.ts'
import type { ClientNode, ServerNode } from '../fixtures.ts'
import type postgres from 'postgres'

const { ResponseStatus } = Message
const ROOMY: RegisterLimits = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: 1_000_000 }
const LONG = 60 * 60 * 1000
const HOUR = 60 * 60 * 1000

function record (text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

describe('PostgresRegistrationStore bounds', function () {
  this.timeout(60_000)

  const stores = new TestStores()
  const nodes: Array<ServerNode | ClientNode> = []

  before(function () {
    skipWithoutPostgres(this, 'PostgresRegistrationStore bounds')
  })

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async node => node.stop()))
    await stores.cleanup()
  })

  async function registerPeer (store: PostgresRegistrationStore, peerId: string, recordSeq = 1n): Promise<boolean> {
    const now = Date.now()
    const outcome = await store.register({ peerId, namespace: 'ns', signedPeerRecord: record(`${peerId} ${recordSeq}`), recordSeq, expiresAt: now + LONG }, ROOMY, now)
    return outcome.ok
  }

  it('fails a REGISTER stuck behind a held row lock after lockTimeout, while the fleet keeps serving', async () => {
    const schema = uniqueSchema('stall')
    const [a, b] = await Promise.all([1, 2].map(async () => stores.start(schema, { lockTimeout: 500 })))
    expect(await registerPeer(a, 'peer-held')).to.be.true()
    const lock = await holdRowLock(schema, 'peer-held')

    try {
      const stuck = registerPeer(a, 'peer-held', 2n)
      stuck.catch(() => {})

      // the rest of the fleet is not queued behind it
      const others = await within(5000, 'REGISTERs of other peers on both servers', Promise.all(Array.from({ length: 30 }, async (_, i) => registerPeer(i % 2 === 0 ? a : b, `peer-${i}`))))
      expect(others.every(ok => ok)).to.be.true()
      const page = await within(5000, 'a DISCOVER', b.discover({ namespace: 'ns', afterSeq: 0n, limit: 100, now: Date.now() }))
      expect(page.registrations).to.have.lengthOf(31)

      await expect(within(5000, 'the stuck REGISTER', stuck)).to.eventually.be.rejected.with.property('name', 'StoreUnavailableError')
    } finally {
      await lock.release()
    }

    // and the peer can refresh once the lock is gone
    expect(await registerPeer(b, 'peer-held', 3n)).to.be.true()
  })

  it('ends a statement that runs past statementTimeout with StoreUnavailableError', async () => {
    const store = await stores.start(undefined, { lockTimeout: 30_000, statementTimeout: 500 })
    expect(await registerPeer(store, 'peer-held')).to.be.true()
    const lock = await holdRowLock(store.schema, 'peer-held')

    try {
      await expect(within(5000, 'the stuck REGISTER', registerPeer(store, 'peer-held', 2n))).to.eventually.be.rejected.with.property('name', 'StoreUnavailableError')
    } finally {
      await lock.release()
    }
  })

  it('refuses at once, with StoreUnavailableError, a call beyond maxWaiting queries waiting for a connection', async () => {
    const store = await stores.start(undefined, { maxConnections: 1, maxWaiting: 1, lockTimeout: 30_000, statementTimeout: 30_000 })
    expect(await registerPeer(store, 'peer-held')).to.be.true()
    const lock = await holdRowLock(store.schema, 'peer-held')
    let running: Promise<boolean[]> | undefined

    try {
      // the only connection waits on the lock, the next call waits for the connection: there is no room for a third
      running = Promise.all([registerPeer(store, 'peer-held', 2n), registerPeer(store, 'peer-waiting')])
      running.catch(() => {})
      await new Promise(resolve => setTimeout(resolve, 100))

      await expect(within(1000, 'the third REGISTER', registerPeer(store, 'peer-refused'))).to.eventually.be.rejected
        .with.property('message').that.matches(/already running or waiting/)
    } finally {
      await lock.release()
    }

    expect(await running).to.deep.equal([true, true])
    expect(await registerPeer(store, 'peer-refused')).to.be.true()
  })

  it('sets the statement, lock and idle-in-transaction timeouts on every session, reads and writes', async () => {
    const store = await stores.start(undefined, { statementTimeout: 4321, lockTimeout: 1234, idleInTransactionTimeout: 5678 })
    const show = async (pool: 'reads' | 'writes'): Promise<unknown> => (store as any)[pool].run(async (sql: postgres.Sql) => sql`
      SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock,
        current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('transaction_read_only') AS read_only`)

    expect(await show('writes')).to.deep.equal([{ statement: '4321ms', lock: '1234ms', idle: '5678ms', read_only: 'off' }])
    expect(await show('reads')).to.deep.equal([{ statement: '4321ms', lock: '1234ms', idle: '5678ms', read_only: 'on' }])
  })

  it('answers E_UNAVAILABLE on the wire to a REGISTER stuck behind a held row lock, and OK to everyone else meanwhile', async () => {
    const store = await stores.start(undefined, { lockTimeout: 300 })
    // the server's own deadline is far off: the answer must come from the store's bound
    const point = await createServerNode({ store, timeout: 60_000 })
    const held = await createClientNode()
    const others = await Promise.all([1, 2, 3].map(async () => createClientNode()))
    nodes.push(point, held, ...others)

    expect((await register(held, point, 'ns')).status).to.equal(ResponseStatus.OK)
    const lock = await holdRowLock(store.schema, held.peerId.toString())

    try {
      // the fixtures' exchanges give up after 5 s
      const [stuck, ...rest] = await Promise.all([register(held, point, 'ns'), ...others.map(async peer => register(peer, point, 'ns'))])
      expect(stuck.status).to.equal(ResponseStatus.E_UNAVAILABLE)
      expect(rest.map(r => r.status)).to.deep.equal([ResponseStatus.OK, ResponseStatus.OK, ResponseStatus.OK])
      const found = await discover(others[0], point, { ns: 'ns' })
      expect(found.status).to.equal(ResponseStatus.OK)
      expect(found.registrations).to.have.lengthOf(4)
    } finally {
      await lock.release()
    }
  })

  it('keeps expiry on the database clock: a server whose clock runs an hour ahead sweeps nothing early and reads true TTLs', async () => {
    const schema = uniqueSchema('clocks')
    const onTime = await stores.start(schema)
    const ahead = await stores.start(schema, { clock: () => Date.now() + HOUR })
    const expiresIn = 60_000

    const registeredOnTime = Date.now()
    expect((await onTime.register({ peerId: 'peer-a', namespace: 'ns', signedPeerRecord: record('a'), recordSeq: 1n, expiresAt: registeredOnTime + expiresIn }, ROOMY, registeredOnTime)).ok).to.be.true()

    // to the server that is ahead, peer-a still has its minute left
    expect(await ahead.removeExpired(Date.now() + HOUR)).to.equal(0)
    const seenAhead = await ahead.discover({ namespace: 'ns', afterSeq: 0n, limit: 10, now: Date.now() + HOUR })
    expect(seenAhead.registrations.map(r => r.peerId)).to.deep.equal(['peer-a'])
    expect(seenAhead.registrations[0].expiresAt - (registeredOnTime + HOUR + expiresIn)).to.be.within(-1000, 1000)
    expect(await ahead.stats(Date.now() + HOUR)).to.deep.equal({ registrations: 1, namespaces: 1 })

    // and what it registers for a minute lasts a minute to the others
    const registeredAhead = Date.now() + HOUR
    expect((await ahead.register({ peerId: 'peer-b', namespace: 'ns', signedPeerRecord: record('b'), recordSeq: 1n, expiresAt: registeredAhead + expiresIn }, ROOMY, registeredAhead)).ok).to.be.true()
    const seenOnTime = await onTime.discover({ namespace: 'ns', afterSeq: 0n, limit: 10, now: Date.now() })
    expect(seenOnTime.registrations.map(r => r.peerId)).to.deep.equal(['peer-a', 'peer-b'])
    expect(seenOnTime.registrations[1].expiresAt - (registeredAhead - HOUR + expiresIn)).to.be.within(-1000, 1000)

    // both expire a minute from now, whoever sweeps
    expect(await onTime.removeExpired(Date.now() + expiresIn - 5000)).to.equal(0)
    expect(await ahead.removeExpired(Date.now() + HOUR + expiresIn + 5000)).to.equal(2)
  })
})
