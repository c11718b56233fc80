/**
 * A transaction held open anywhere in the PostgreSQL cluster (transaction ids are cluster-wide) keeps every newer
 * registration from being settled. A cookie must never move past an unsettled position (a registration may still
 * commit there), yet its holder must make progress: docs/deployment.md promises that registrations are "still
 * discovered, just sent again to cookie holders". The review found five DISCOVERs with a cookie returning the same
 * first 100 of 150 new registrations while `BEGIN; SELECT txid_current()` was held on another connection.
 *
 * Here through the wire, with a real held transaction: the holder pages through every registration once while
 * the transaction is held, and once it ends gets the stretch it was sent unsettled once more, with a registration
 * that committed into it late; nothing is lost, nothing comes more than twice.
 */
import { expect } from 'aegir/chai'
import { discover, TestNodes } from '../fixtures.ts'
import { holdTransaction, skipWithoutPostgres, TestStores, uniqueSchema } from './postgres-test-database.ts'
import type { ClientNode, ServerNode } from '../fixtures.ts'

const LONG = 60 * 60 * 1000
const ROOMY = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: 1_000_000 }

describe('PostgreSQL: DISCOVER with a cookie while a transaction is held open elsewhere', function () {
  this.timeout(120_000)

  const stores = new TestStores()
  const nodes = new TestNodes()

  before(function () {
    skipWithoutPostgres(this, 'PostgreSQL: DISCOVER with a cookie while a transaction is held open elsewhere')
  })

  afterEach(async () => {
    await nodes.stopAll()
    await stores.cleanup()
  })

  it('pages past registrations it cannot settle yet, and sends them once more, with one that committed late, when the transaction ends', async () => {
    const schema = uniqueSchema('held')
    const store = await stores.start(schema)
    const point: ServerNode = await nodes.server({ store })
    const reader: ClientNode = await nodes.client()
    const now = Date.now()

    // the review's: a transaction that only took an id
    const idle = await holdTransaction(async tx => tx`SELECT txid_current()`)
    // and a REGISTER stuck mid-flight: its row will commit below the ones that follow it
    const late = await holdTransaction(async tx => tx`
      INSERT INTO ${tx(schema)}.rendezvous_registrations (peer_id, namespace, signed_peer_record, record_seq, expires_at, xid, seq)
      VALUES ('peer-late', 'ns', convert_to('peer-late', 'UTF8'), 1, ${now + LONG}::bigint, pg_current_xact_id()::text::bigint,
        nextval(${`${schema}.rendezvous_registration_seq`}::regclass))`)
    const seen = new Map<string, number>()
    const saw = (page: Awaited<ReturnType<typeof discover>>): number => {
      for (const registration of page.registrations) {
        const peer = new TextDecoder().decode(registration.signedPeerRecord)
        seen.set(peer, (seen.get(peer) ?? 0) + 1)
      }
      return page.registrations.length
    }

    let cookie: Uint8Array<ArrayBuffer> | undefined
    try {
      for (let i = 0; i < 150; i++) {
        const outcome = await store.register({ peerId: `peer-${i}`, namespace: 'ns', signedPeerRecord: new TextEncoder().encode(`peer-${i}`), recordSeq: 1n, expiresAt: now + LONG }, ROOMY, now)
        expect(outcome.ok).to.be.true()
      }

      // five DISCOVERs with the cookie, limit 100, as the review did
      const sizes: number[] = []
      for (let i = 0; i < 5; i++) {
        const page = await discover(reader, point, { ns: 'ns', limit: 100n, cookie })
        sizes.push(saw(page))
        cookie = page.cookie
      }
      expect(sizes).to.deep.equal([100, 50, 0, 0, 0])
      expect(seen.size).to.equal(150)
      expect([...seen.values()].every(n => n === 1)).to.be.true()

      // the late REGISTER commits; the idle transaction still holds every position above it unsettled
      await late.release()
      expect(saw(await discover(reader, point, { ns: 'ns', limit: 100n, cookie }))).to.equal(0)
    } finally {
      await late.release()
      await idle.release()
    }

    // once nothing older runs (other users of a shared test database, other suites among them, may hold a transaction
    // for a while), the stretch sent unsettled comes once more, the late one with it, then nothing
    let empty = 0
    for (let tries = 0; empty < 2 || !seen.has('peer-late'); tries++) {
      expect(tries, `still paging after ${tries} DISCOVERs; seen ${seen.size}`).to.be.below(1500)
      const page = await discover(reader, point, { ns: 'ns', limit: 100n, cookie })
      empty = saw(page) === 0 ? empty + 1 : 0
      cookie = page.cookie
      await new Promise(resolve => setTimeout(resolve, 50))
    }

    expect(seen.get('peer-late')).to.equal(1)
    expect(seen.size).to.equal(151)
    expect([...seen.values()].every(n => n >= 1 && n <= 2), JSON.stringify([...seen].filter(([, n]) => n > 2))).to.be.true()
  })
})
