import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { MemoryRegistrationStore } from '../../../src/server/store/memory-registration-store.ts'
import { storeContractTests } from './contract.ts'
import type { RegisterLimits, RegisterOutcome, StoredRegistration } from '../../../src/server/store/registration-store.ts'

storeContractTests('MemoryRegistrationStore', {
  create: async () => new MemoryRegistrationStore()
})

/** What a registration looks like to the naive model: everything a discover returns */
interface ModelEntry {
  peerId: string
  namespace: string
  record: string
  recordSeq: bigint
  expiresAt: number
  seq: bigint
}

/**
 * The obviously correct store: one array, filtered and sorted on every read. The memory store sweeps expired
 * registrations on every call that is given `now`, so the model does the same; that is what makes the counts
 * `removeExpired` returns comparable.
 */
class NaiveStore {
  entries: ModelEntry[] = []

  sweep (now: number): number {
    const before = this.entries.length
    this.entries = this.entries.filter(e => e.expiresAt > now)
    return before - this.entries.length
  }

  expectedOutcome (peerId: string, namespace: string, recordSeq: bigint, limits: RegisterLimits, now: number): RegisterOutcome['ok'] | 'peer-limit' | 'total-limit' | 'stale-record' {
    this.sweep(now)
    const existing = this.entries.find(e => e.peerId === peerId && e.namespace === namespace)

    if (existing != null) {
      return recordSeq < existing.recordSeq ? 'stale-record' : true
    }

    if (this.entries.filter(e => e.peerId === peerId).length >= limits.maxRegistrationsPerPeer) {
      return 'peer-limit'
    }

    return this.entries.length >= limits.maxRegistrationsTotal ? 'total-limit' : true
  }

  put (entry: ModelEntry): void {
    this.unregister(entry.peerId, entry.namespace)
    this.entries.push(entry)
  }

  unregister (peerId: string, namespace: string): void {
    this.entries = this.entries.filter(e => !(e.peerId === peerId && e.namespace === namespace))
  }

  discover (namespace: string | undefined, afterSeq: bigint, limit: number, now: number): ModelEntry[] {
    this.sweep(now)
    return this.entries
      .filter(e => (namespace == null || e.namespace === namespace) && e.seq > afterSeq)
      .sort((a, b) => a.seq < b.seq ? -1 : 1)
      .slice(0, limit)
  }
}

function asModel (registration: StoredRegistration): ModelEntry {
  return {
    peerId: registration.peerId,
    namespace: registration.namespace,
    record: new TextDecoder().decode(registration.signedPeerRecord),
    recordSeq: registration.recordSeq,
    expiresAt: registration.expiresAt,
    seq: registration.seq
  }
}

const PEERS = ['peer-a', 'peer-b', 'peer-c', 'peer-d', 'peer-e']
const NAMESPACES = ['ns-1', 'ns-2', 'ns-3', 'ns-4']

type Operation =
  | { kind: 'register', peer: number, namespace: number, recordSeq: bigint, ttl: number, dt: number }
  | { kind: 'unregister', peer: number, namespace: number }
  | { kind: 'discover', namespace: number, cursor: number, limit: number, dt: number }
  | { kind: 'removeExpired', dt: number }
  | { kind: 'stats', dt: number }

const peer = fc.nat({ max: PEERS.length - 1 })
const namespace = fc.nat({ max: NAMESPACES.length - 1 })
const dt = fc.nat({ max: 6 })

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('register' as const), peer, namespace, recordSeq: fc.bigInt({ min: 0n, max: 4n }), ttl: fc.integer({ min: 1, max: 60 }), dt }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unregister' as const), peer, namespace }) },
  // a discover's namespace -1 stands for "all namespaces"
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('discover' as const), namespace: fc.integer({ min: -1, max: NAMESPACES.length - 1 }), cursor: fc.nat(), limit: fc.integer({ min: 1, max: 8 }), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeExpired' as const), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stats' as const), dt }) }
)

describe('MemoryRegistrationStore', () => {
  it('behaves like a naive filter-and-sort model over random sequences of operations', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(operation, { minLength: 1, maxLength: 300, size: 'max' }),
      fc.record({ maxRegistrationsPerPeer: fc.integer({ min: 1, max: 4 }), maxRegistrationsTotal: fc.integer({ min: 1, max: 16 }) }),
      async (operations, limits) => {
        const store = new MemoryRegistrationStore()
        const model = new NaiveStore()
        /** Every seq the store gave out, as cursors for later discovers */
        const cursors: bigint[] = [0n]
        let now = 1_000
        let serial = 0

        for (const op of operations) {
          if ('dt' in op) {
            now += op.dt
          }

          if (op.kind === 'register') {
            const peerId = PEERS[op.peer]
            const ns = NAMESPACES[op.namespace]
            const record = `${peerId}/${ns}/${serial++}`
            const expected = model.expectedOutcome(peerId, ns, op.recordSeq, limits, now)
            const input = { peerId, namespace: ns, signedPeerRecord: new TextEncoder().encode(record), recordSeq: op.recordSeq, expiresAt: now + op.ttl }
            const outcome = await store.register(input, limits, now)

            if (expected === true) {
              expect(outcome.ok, `register ${record}`).to.be.true()
              const seq = outcome.ok ? outcome.seq : 0n
              expect(seq > cursors[cursors.length - 1]).to.be.true()
              cursors.push(seq)
              model.put({ peerId, namespace: ns, record, recordSeq: op.recordSeq, expiresAt: input.expiresAt, seq })
            } else {
              expect(outcome, `register ${record}`).to.deep.equal({ ok: false, reason: expected })
            }
          } else if (op.kind === 'unregister') {
            await store.unregister(PEERS[op.peer], NAMESPACES[op.namespace])
            model.unregister(PEERS[op.peer], NAMESPACES[op.namespace])
          } else if (op.kind === 'discover') {
            const ns = op.namespace < 0 ? undefined : NAMESPACES[op.namespace]
            const afterSeq = cursors[op.cursor % cursors.length]
            const page = await store.discover({ namespace: ns, afterSeq, limit: op.limit, now })
            expect(page.registrations.map(asModel)).to.deep.equal(model.discover(ns, afterSeq, op.limit, now))
          } else if (op.kind === 'removeExpired') {
            expect(await store.removeExpired(now)).to.equal(model.sweep(now))
          } else {
            model.sweep(now)
            expect(await store.stats(now)).to.deep.equal({
              registrations: model.entries.length,
              namespaces: new Set(model.entries.map(e => e.namespace)).size
            })
          }
        }

        // whatever happened, paging through everything still yields exactly the model's contents
        const everything = model.discover(undefined, 0n, Infinity, now)
        const paged: ModelEntry[] = []
        let afterSeq = 0n
        let page: StoredRegistration[]
        do {
          page = (await store.discover({ afterSeq, limit: 3, now })).registrations
          paged.push(...page.map(asModel))
          afterSeq = page.at(-1)?.seq ?? afterSeq
        } while (page.length > 0)
        expect(paged).to.deep.equal(everything)
      }
    ), { numRuns: 150 })
  })

  it('keeps seq order and every live registration through heavy churn that forces compactions', async () => {
    const store = new MemoryRegistrationStore()
    const model = new NaiveStore()
    const limits = { maxRegistrationsPerPeer: 100, maxRegistrationsTotal: 100_000 }
    const now = 1_000
    let state = 12345
    // a small deterministic generator, so a failure can be replayed
    const random = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648
      return state % n
    }

    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 1500; i++) {
        const peerId = `peer-${random(200)}`
        const ns = `ns-${random(7)}`
        const outcome = await store.register({ peerId, namespace: ns, signedPeerRecord: new TextEncoder().encode(`${round}/${i}`), recordSeq: BigInt(round), expiresAt: now + 1_000_000 }, limits, now)
        expect(outcome.ok).to.be.true()
        model.put({ peerId, namespace: ns, record: `${round}/${i}`, recordSeq: BigInt(round), expiresAt: now + 1_000_000, seq: outcome.ok ? outcome.seq : 0n })
      }

      // unregister most of what is there, in random order
      for (const entry of [...model.entries]) {
        if (random(10) < 8) {
          await store.unregister(entry.peerId, entry.namespace)
          model.unregister(entry.peerId, entry.namespace)
        }
      }

      for (const ns of [undefined, 'ns-0', 'ns-3']) {
        const expected = model.discover(ns, 0n, Infinity, now)
        const paged: ModelEntry[] = []
        let afterSeq = 0n
        let page: StoredRegistration[]
        do {
          page = (await store.discover({ namespace: ns, afterSeq, limit: 1 + random(50), now })).registrations
          paged.push(...page.map(asModel))
          afterSeq = page.at(-1)?.seq ?? afterSeq
        } while (page.length > 0)
        expect(paged).to.deep.equal(expected)
      }

      expect(await store.stats(now)).to.deep.equal({
        registrations: model.entries.length,
        namespaces: new Set(model.entries.map(e => e.namespace)).size
      })
    }
  })

  it('expires registrations in expiry order whatever order they were registered in', async () => {
    const store = new MemoryRegistrationStore()
    const expiries = Array.from({ length: 500 }, (_, i) => 1_000 + ((i * 7919) % 500))

    for (const [i, expiresAt] of expiries.entries()) {
      await store.register({ peerId: `peer-${i}`, namespace: 'ns', signedPeerRecord: new Uint8Array([1]), recordSeq: 0n, expiresAt }, { maxRegistrationsPerPeer: 1, maxRegistrationsTotal: 1000 }, 0)
    }

    let left = 500
    for (let now = 1_000; now < 1_500; now += 37) {
      const removed = await store.removeExpired(now)
      const expected = expiries.filter(e => e <= now).length - (500 - left)
      expect(removed).to.equal(expected)
      left -= removed
      const page = await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 1000, now })
      expect(page.registrations).to.have.lengthOf(left)
      expect(page.registrations.every(r => r.expiresAt > now)).to.be.true()
    }
  })

  it('keeps a copy of the record, so a view into a larger buffer does not keep that buffer alive', async () => {
    const store = new MemoryRegistrationStore()
    const frame = new Uint8Array(16 * 1024).fill(7)
    const record = frame.subarray(100, 140)

    await store.register({ peerId: 'peer-a', namespace: 'ns', signedPeerRecord: record, recordSeq: 0n, expiresAt: 10 }, { maxRegistrationsPerPeer: 1, maxRegistrationsTotal: 1 }, 0)

    const [stored] = (await store.discover({ afterSeq: 0n, limit: 1, now: 0 })).registrations
    expect(stored.signedPeerRecord).to.equalBytes(record)
    expect(stored.signedPeerRecord.buffer.byteLength).to.equal(40)
  })

  it('gives each store its own random cookie secret of 32 bytes', async () => {
    const a = await new MemoryRegistrationStore().getCookieSecret()
    const b = await new MemoryRegistrationStore().getCookieSecret()

    expect(a).to.have.lengthOf(32)
    expect(b).to.have.lengthOf(32)
    expect(a).to.not.equalBytes(b)
  })

  it('returns nothing for a discover with a limit of 0 or less', async () => {
    const store = new MemoryRegistrationStore()
    await store.register({ peerId: 'peer-a', namespace: 'ns', signedPeerRecord: new Uint8Array([1]), recordSeq: 0n, expiresAt: 10 }, { maxRegistrationsPerPeer: 1, maxRegistrationsTotal: 1 }, 0)

    expect((await store.discover({ afterSeq: 0n, limit: 0, now: 0 })).registrations).to.be.empty()
    expect((await store.discover({ afterSeq: 0n, limit: -5, now: 0 })).registrations).to.be.empty()
    expect((await store.discover({ afterSeq: -3n, limit: 1, now: 0 })).registrations).to.have.lengthOf(1)
  })

  it('refuses malformed registrations with a clear error and stores nothing', async () => {
    const store = new MemoryRegistrationStore()
    const limits = { maxRegistrationsPerPeer: 10, maxRegistrationsTotal: 10 }
    const good = { peerId: 'peer-a', namespace: 'ns', signedPeerRecord: new Uint8Array([1]), recordSeq: 0n, expiresAt: 10 }

    await expect(store.register({ ...good, expiresAt: NaN }, limits, 0)).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    await expect(store.register({ ...good, peerId: '' }, limits, 0)).to.eventually.be.rejectedWith(/peerId/)
    await expect(store.register({ ...good, namespace: '' }, limits, 0)).to.eventually.be.rejectedWith(/namespace/)
    // @ts-expect-error a record that is not bytes
    await expect(store.register({ ...good, signedPeerRecord: 'record' }, limits, 0)).to.eventually.be.rejectedWith(/signedPeerRecord/)
    // @ts-expect-error a record seq that is not a bigint
    await expect(store.register({ ...good, recordSeq: 1 }, limits, 0)).to.eventually.be.rejectedWith(/recordSeq/)
    expect(await store.stats(0)).to.deep.equal({ registrations: 0, namespaces: 0 })
  })
})
