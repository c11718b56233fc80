/**
 * The PostgreSQL store under concurrent writers, without a fleet-wide lock: a cookie never skips a registration
 * that commits later at a lower position, and the total limit holds exactly.
 */
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { nextRange } from '../../../src/server/handle-discover.ts'
import { holdTransaction, skipWithoutPostgres, TestStores, uniqueSchema, withDatabase } from './postgres-test-database.ts'
import type { CookieRange } from '../../../src/protocol/cookie.ts'
import type { PostgresRegistrationStore } from '../../../src/server/store/postgres-store.ts'
import type { DiscoverPage, RegisterLimits, RegisterOutcome } from '../../../src/server/store/registration-store.ts'

const ROOMY: RegisterLimits = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: 1_000_000 }
const LONG = 60 * 60 * 1000

function record (text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

/** Where a cookie issued for this page points: after the last registration that is settled (as handleDiscover does) */
function cursorAfter (page: DiscoverPage, cursor: bigint): bigint {
  for (const registration of page.registrations) {
    if (page.settledBelow != null && registration.seq >= page.settledBelow) {
      break
    }
    cursor = registration.seq
  }
  return cursor
}

/** Runs `fn` over `items` with at most `concurrency` at once */
async function inParallel <T> (items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      await fn(items[next++])
    }
  }))
}

describe('PostgresRegistrationStore with concurrent writers', function () {
  this.timeout(60_000)

  const stores = new TestStores()

  before(function () {
    skipWithoutPostgres(this, 'PostgresRegistrationStore with concurrent writers')
  })

  afterEach(async () => {
    await stores.cleanup()
  })

  for (const cookies of ['one position', 'the settled position and how far past it was sent'] as const) {
    it(`never lets a cookie skip a registration, while three servers REGISTER from many connections at once (cookies carry ${cookies})`, async () => {
      const schema = uniqueSchema('hammer')
      const writers = await Promise.all([1, 2, 3].map(async () => stores.start(schema, { maxConnections: 8 })))
      const reader = await stores.start(schema)
      const now = Date.now()
      // 600 writes by 200 peers: each peer registers, then refreshes twice, so rows also move to new positions
      const writes = Array.from({ length: 600 }, (_, i) => ({ peer: `peer-${i % 200}`, round: Math.floor(i / 200), writer: writers[i % 3] }))
      const write = async ({ peer, round, writer }: typeof writes[number]): Promise<void> => {
        const outcome = await writer.register({ peerId: peer, namespace: 'ns', signedPeerRecord: record(`${peer} ${round}`), recordSeq: BigInt(round), expiresAt: now + LONG }, ROOMY, now)
        expect(outcome.ok, `${peer} round ${round}`).to.be.true()
      }
      // A writer held open on a connection of its own between the first round and the refreshes: it has its
      // position, and every refresh after it commits first at a higher one. Whatever the timing, the reader meets
      // pages it must not move past, and the held row, committed last, must still be found.
      let held: { release(): Promise<void> } | undefined
      let writing = true

      const writersDone = (async () => {
        try {
          await inParallel(writes.slice(0, 200), 24, write)
          held = await holdTransaction(async tx => tx`
          INSERT INTO ${tx(schema)}.rendezvous_registrations (peer_id, namespace, signed_peer_record, record_seq, expires_at, xid, seq)
          VALUES ('peer-held', 'ns', '\\x01'::bytea, 1, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint + ${LONG},
            pg_current_xact_id()::text::bigint, nextval(${`${schema}.rendezvous_registration_seq`}::regclass))`)
          await inParallel(writes.slice(200), 24, write)
        } finally {
          writing = false
        }
      })()

      const seen = new Map<string, Set<bigint>>()
      let cursor = 0n
      let range: CookieRange = { settled: 0n, sent: 0n }
      let pages = 0
      let unsettledPages = 0
      let unsettledWhileHeld = 0
      try {
        while (true) {
          const done = !writing && held == null
          const page = cookies === 'one position'
            ? await reader.discover({ namespace: 'ns', afterSeq: cursor, limit: 7, now })
            : await reader.discover({ namespace: 'ns', afterSeq: range.settled, sentUpTo: range.sent, limit: 7, now })
          pages++
          for (const registration of page.registrations) {
            expect(registration.seq > (cookies === 'one position' ? cursor : range.settled)).to.be.true()
            const positions = seen.get(registration.peerId) ?? new Set()
            positions.add(registration.seq)
            seen.set(registration.peerId, positions)
          }
          if (page.settledBelow != null && page.registrations.some(r => r.seq >= (page.settledBelow ?? 0n))) {
            unsettledPages++
            if (held != null && !writing) {
              unsettledWhileHeld++
            }
          }
          cursor = cursorAfter(page, cursor)
          range = nextRange(range, page.settledBelow, page.registrations.at(-1)?.seq)
          // once every refresh has committed and the reader has met them unsettled, the held writer commits last
          if (held != null && unsettledWhileHeld > 0) {
            await held.release()
            held = undefined
          }
          // stop only after a read that began once every writer had finished found nothing more
          if (done && page.registrations.length === 0) {
            break
          }
          expect(pages, 'the reader never got to the end').to.be.below(10_000)
        }
      } finally {
        await writersDone
        await held?.release()
      }

      // every row as it finally stands was seen at its final position: nothing was skipped, the held row neither
      const final = await reader.discover({ namespace: 'ns', afterSeq: 0n, limit: 1000, now })
      expect(final.registrations).to.have.lengthOf(201)
      for (const registration of final.registrations) {
        expect(seen.get(registration.peerId)?.has(registration.seq), `${registration.peerId} at ${registration.seq}`).to.be.true()
      }
      // the held row sits below every refresh: the reader read past it (unsettled) before it committed
      const heldRow = final.registrations.find(r => r.peerId === 'peer-held')
      expect(heldRow, 'the held registration').to.exist()
      expect(final.registrations.filter(r => r.seq > (heldRow?.seq ?? 0n))).to.have.lengthOf(200)
      expect(pages).to.be.greaterThan(10)
      expect(unsettledPages).to.be.greaterThan(0)
    })
  }

  it('keeps a cookie below a transaction still running, and returns its registration once it commits', async () => {
    const schema = uniqueSchema('horizon')
    const store = await stores.start(schema)
    const now = Date.now()
    // a writer that has taken its position and not committed: what a REGISTER looks like mid-flight
    const slow = await holdTransaction(async tx => tx`
      INSERT INTO ${tx(schema)}.rendezvous_registrations (peer_id, namespace, signed_peer_record, record_seq, expires_at, xid, seq)
      VALUES ('peer-slow', 'ns', '\\x01'::bytea, 1, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint + ${LONG},
        pg_current_xact_id()::text::bigint, nextval(${`${schema}.rendezvous_registration_seq`}::regclass))`)

    try {
      const fast = await store.register({ peerId: 'peer-fast', namespace: 'ns', signedPeerRecord: record('fast'), recordSeq: 1n, expiresAt: now + LONG }, ROOMY, now)
      expect(fast.ok).to.be.true()

      // peer-fast is visible and returned, but a cookie must stay below the slow writer, which comes before it
      const during = await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 10, now })
      expect(during.registrations.map(r => r.peerId)).to.deep.equal(['peer-fast'])
      expect(cursorAfter(during, 0n)).to.equal(0n)
    } finally {
      await slow.release()
    }

    const after = await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 10, now })
    expect(after.registrations.map(r => r.peerId)).to.deep.equal(['peer-slow', 'peer-fast'])

    // and once no older transaction runs (other users of a shared test database may hold one for a moment), the
    // cookie moves past both
    let cursor = 0n
    await pWaitFor(async () => {
      cursor = cursorAfter(await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 10, now }), 0n)
      return cursor !== 0n && cursor >= after.registrations[1].seq
    }, { interval: 50, timeout: { milliseconds: 10_000, message: 'the cookie never moved past a committed registration' } })
    expect(cursor).to.equal(after.registrations[1].seq)
  })

  it('holds the total limit exactly when servers add rows at once, far from it and near it', async () => {
    const schema = uniqueSchema('total')
    const fleet = await Promise.all([1, 2, 3].map(async () => stores.start(schema, { maxConnections: 8 })))
    const now = Date.now()
    const limits = { maxRegistrationsPerPeer: 10, maxRegistrationsTotal: 150 }
    const register = async (store: PostgresRegistrationStore, peer: string): Promise<RegisterOutcome> =>
      store.register({ peerId: peer, namespace: 'ns', signedPeerRecord: record(peer), recordSeq: 1n, expiresAt: now + LONG }, limits, now)

    // 60 at once: far enough below 150 that every shard's count can be in flight (the fast path)
    const first = await Promise.all(Array.from({ length: 60 }, async (_, i) => register(fleet[i % 3], `peer-${i}`)))
    expect(first.every(o => o.ok)).to.be.true()

    // 150 more at once: the fast path takes them up to near the limit, then they are counted one at a time
    const second = await Promise.all(Array.from({ length: 150 }, async (_, i) => register(fleet[i % 3], `peer-${60 + i}`)))
    expect(second.filter(o => o.ok)).to.have.lengthOf(90)
    expect(second.filter(o => !o.ok && o.reason === 'total-limit')).to.have.lengthOf(60)

    expect(await fleet[0].stats(now)).to.deep.equal({ registrations: 150, namespaces: 1 })
    const [counted] = await withDatabase(async sql => sql`SELECT sum(value)::int AS n, count(*)::int AS shards FROM ${sql(schema)}.rendezvous_row_counts`)
    expect(counted).to.deep.equal({ n: 150, shards: 64 })

    // a refresh needs no place; an unregister frees one
    expect((await fleet[1].register({ peerId: 'peer-0', namespace: 'ns', signedPeerRecord: record('again'), recordSeq: 2n, expiresAt: now + LONG }, limits, now)).ok).to.be.true()
    await fleet[2].unregister('peer-1', 'ns')
    expect((await register(fleet[0], 'peer-new')).ok).to.be.true()
    expect(await register(fleet[1], 'peer-newer')).to.deep.equal({ ok: false, reason: 'total-limit' })
  })
})
