import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { MemoryRegistrationStore, namespaceCost, peerCost, registrationCost } from '../../../src/server/store/memory-registration-store.ts'
import { storeContractTests } from './contract.ts'
import type { RegisterInput, RegisterLimits, RegisterOutcome, StoredRegistration } from '../../../src/server/store/registration-store.ts'

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

  it('returns nothing for the legacy records of a namespace nobody registered in, nor for an unregistered legacy record', async () => {
    const store = new MemoryRegistrationStore()
    await store.register({ peerId: 'peer-a', namespace: 'ns', signedPeerRecord: new Uint8Array([1]), recordSeq: 0n, expiresAt: 10, format: 'legacy' }, { maxRegistrationsPerPeer: 1, maxRegistrationsTotal: 1 }, 0)

    expect((await store.discover({ namespace: 'other', legacyOnly: true, afterSeq: 0n, limit: 10, now: 0 })).registrations).to.be.empty()
    expect((await store.discover({ namespace: 'ns', legacyOnly: true, afterSeq: 0n, limit: 10, now: 0 })).registrations).to.have.lengthOf(1)

    // an unregistered legacy record leaves both legacy indexes
    await store.unregister('peer-a', 'ns')
    expect((await store.discover({ namespace: 'ns', legacyOnly: true, afterSeq: 0n, limit: 10, now: 0 })).registrations).to.be.empty()
    expect((await store.discover({ legacyOnly: true, afterSeq: 0n, limit: 10, now: 0 })).registrations).to.be.empty()
  })

  it('takes a registration expired at now that no sweep has removed yet as absent: a lower record seq replaces it', async () => {
    // one removal per call up front, and peer-b's expires first: peer-a's expired one is still held when it registers again
    const store = new MemoryRegistrationStore({ sweepSlice: 1 })
    const limits = { maxRegistrationsPerPeer: 10, maxRegistrationsTotal: 10 }
    const record = new Uint8Array([1])
    await store.register({ peerId: 'peer-b', namespace: 'ns', signedPeerRecord: record, recordSeq: 0n, expiresAt: 5 }, limits, 0)
    await store.register({ peerId: 'peer-a', namespace: 'ns', signedPeerRecord: record, recordSeq: 5n, expiresAt: 10 }, limits, 0)

    expect((await store.register({ peerId: 'peer-a', namespace: 'ns', signedPeerRecord: record, recordSeq: 3n, expiresAt: 100 }, limits, 10)).ok).to.be.true()
    expect((await store.discover({ afterSeq: 0n, limit: 10, now: 10 })).registrations.map(r => [r.peerId, r.recordSeq])).to.deep.equal([['peer-a', 3n]])
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
    await expect(store.register(good, { ...limits, maxRecordSize: 0 }, 0)).to.eventually.be.rejectedWith('register limit maxRecordSize must be a positive integer, got 0')
    await expect(store.register(good, { ...limits, maxRecordSize: 1.5 }, 0)).to.eventually.be.rejectedWith(/maxRecordSize/)
    // @ts-expect-error a peer id that is not a string
    await expect(store.register({ ...good, peerId: 7 }, limits, 0)).to.eventually.be.rejectedWith(/peerId/)
    // @ts-expect-error a namespace that is not a string
    await expect(store.register({ ...good, namespace: ['ns'] }, limits, 0)).to.eventually.be.rejectedWith(/namespace/)
    await expect(store.register({ ...good, recordSeq: -1n }, limits, 0)).to.eventually.be.rejectedWith(/recordSeq/)
    await expect(store.register({ ...good, recordSeq: 2n ** 64n }, limits, 0)).to.eventually.be.rejectedWith(/recordSeq/)
    await expect(store.register({ ...good, expiresAt: 1.5 }, limits, 0)).to.eventually.be.rejectedWith('register input expiresAt must be an integer number of milliseconds, got 1.5')
    // @ts-expect-error a format of neither kind
    await expect(store.register({ ...good, format: 'signed' }, limits, 0)).to.eventually.be.rejectedWith('register input format must be \'standard\' or \'legacy\', got "signed"')
    expect(await store.stats(0)).to.deep.equal({ registrations: 0, namespaces: 0 })
  })

  it('takes the edges of what is valid: a record of maxRecordSize 1, a record seq of 2^64-1', async () => {
    const store = new MemoryRegistrationStore()
    const limits = { maxRegistrationsPerPeer: 10, maxRegistrationsTotal: 10, maxRecordSize: 1 }
    const good = { peerId: 'peer-a', namespace: 'ns', signedPeerRecord: new Uint8Array([1]), recordSeq: 2n ** 64n - 1n, expiresAt: 10 }

    expect((await store.register(good, limits, 0)).ok).to.be.true()
    expect((await store.discover({ afterSeq: 0n, limit: 10, now: 0 })).registrations.map(r => r.recordSeq)).to.deep.equal([2n ** 64n - 1n])
  })
})

describe('MemoryRegistrationStore: byte budgets', () => {
  const ROOMY = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: 1_000_000 }
  // every peer id and namespace below has the same length, so each costs the same
  const c = registrationCost(1000)
  const p = peerCost('peer-a')
  const n = namespaceCost('ns-1')

  function input (peerId: string, namespace: string, size = 1000, expiresAt = 1_000_000, recordSeq = 0n): RegisterInput {
    return { peerId, namespace, signedPeerRecord: new Uint8Array(size).fill(1), recordSeq, expiresAt }
  }

  async function namespacesOf (store: MemoryRegistrationStore, now: number): Promise<string[]> {
    return (await store.discover({ afterSeq: 0n, limit: 100, now })).registrations.map(r => `${r.peerId}/${r.namespace}`)
  }

  it('refuses what would take one peer past maxBytesPerPeer with peer-bytes, and the store past maxBytes with total-bytes', async () => {
    const store = new MemoryRegistrationStore({ maxBytesPerPeer: p + 2 * c, maxBytes: 2 * p + 3 * c + 2 * n })

    expect((await store.register(input('peer-a', 'ns-1'), ROOMY, 0)).ok).to.be.true()
    expect((await store.register(input('peer-a', 'ns-2'), ROOMY, 0)).ok).to.be.true()
    expect(store.bytesUsed).to.equal(p + 2 * c + 2 * n)
    expect(await store.register(input('peer-a', 'ns-3'), ROOMY, 0)).to.deep.equal({ ok: false, reason: 'peer-bytes' })

    // a refresh is counted for what it adds: the same size fits, a larger record does not, a smaller one does
    expect((await store.register(input('peer-a', 'ns-1', 1000, 1_000_000, 1n), ROOMY, 0)).ok).to.be.true()
    expect(await store.register(input('peer-a', 'ns-1', 1001, 1_000_000, 2n), ROOMY, 0)).to.deep.equal({ ok: false, reason: 'peer-bytes' })
    expect((await store.register(input('peer-a', 'ns-1', 900, 1_000_000, 3n), ROOMY, 0)).ok).to.be.true()
    expect(store.bytesUsed).to.equal(p + 2 * c - 100 + 2 * n)

    // a new peer costs its own object besides its registration
    expect((await store.register(input('peer-b', 'ns-1'), ROOMY, 0)).ok).to.be.true()
    expect(await store.register(input('peer-c', 'ns-1'), ROOMY, 0)).to.deep.equal({ ok: false, reason: 'total-bytes' })

    // unregistering gives back the registration's bytes, and its peer's when it was the last one
    await store.unregister('peer-b', 'ns-1')
    expect(store.bytesUsed).to.equal(p + 2 * c - 100 + 2 * n)
    expect((await store.register(input('peer-c', 'ns-1'), ROOMY, 0)).ok).to.be.true()
    expect(await namespacesOf(store, 0)).to.deep.equal(['peer-a/ns-2', 'peer-a/ns-1', 'peer-c/ns-1'])

    for (const [peer, ns] of [['peer-a', 'ns-1'], ['peer-a', 'ns-2'], ['peer-c', 'ns-1']]) {
      await store.unregister(peer, ns)
    }
    expect(store.bytesUsed).to.equal(0)
  })

  it('counts a new peer\'s and a new namespace\'s cost against maxBytes to the byte, and refuses a first record past maxBytesPerPeer', async () => {
    const exact = new MemoryRegistrationStore({ maxBytes: p + c + n })
    expect((await exact.register(input('peer-a', 'ns-1'), ROOMY, 0)).ok).to.be.true()
    expect(exact.bytesUsed).to.equal(p + c + n)

    const short = new MemoryRegistrationStore({ maxBytes: p + c + n - 1 })
    expect(await short.register(input('peer-a', 'ns-1'), ROOMY, 0)).to.deep.equal({ ok: false, reason: 'total-bytes' })
    expect(short.bytesUsed).to.equal(0)

    // a peer the store does not hold yet, whose first record alone is past its budget
    const perPeer = new MemoryRegistrationStore({ maxBytesPerPeer: p + c - 1 })
    expect(await perPeer.register(input('peer-a', 'ns-1'), ROOMY, 0)).to.deep.equal({ ok: false, reason: 'peer-bytes' })
    expect((await perPeer.register(input('peer-a', 'ns-1', 999), ROOMY, 0)).ok).to.be.true()

    // a peer whose last registration went is new again: its cost is counted again, once
    await exact.unregister('peer-a', 'ns-1')
    expect(exact.bytesUsed).to.equal(0)
    expect((await exact.register(input('peer-a', 'ns-1'), ROOMY, 0)).ok).to.be.true()
    expect(exact.bytesUsed).to.equal(p + c + n)
  })

  it('removes expired registrations to make room under either budget, however many a sweep slice leaves', async () => {
    // one registration per call is removed up front: the budgets must remove the rest themselves
    const perPeer = new MemoryRegistrationStore({ maxBytesPerPeer: p + 2 * c, sweepSlice: 1 })
    expect((await perPeer.register(input('peer-b', 'ns-1', 1000, 5), ROOMY, 0)).ok).to.be.true()
    expect((await perPeer.register(input('peer-a', 'ns-1', 1000, 10), ROOMY, 0)).ok).to.be.true()
    expect((await perPeer.register(input('peer-a', 'ns-2', 1000, 10), ROOMY, 0)).ok).to.be.true()
    // at 20 all have expired; the up-front slice takes peer-b's, and a record twice the size needs both of peer-a's gone
    expect((await perPeer.register(input('peer-a', 'ns-3', 2 * c - registrationCost(0)), ROOMY, 20)).ok).to.be.true()
    expect(await namespacesOf(perPeer, 20)).to.deep.equal(['peer-a/ns-3'])

    const total = new MemoryRegistrationStore({ maxBytes: 3 * p + 4 * c + 2 * n, sweepSlice: 1 })
    expect((await total.register(input('peer-b', 'ns-1', 1000, 5), ROOMY, 0)).ok).to.be.true()
    expect((await total.register(input('peer-c', 'ns-1', 1000, 6), ROOMY, 0)).ok).to.be.true()
    expect((await total.register(input('peer-a', 'ns-1', 1000, 10), ROOMY, 0)).ok).to.be.true()
    expect((await total.register(input('peer-a', 'ns-2', 1000, 10), ROOMY, 0)).ok).to.be.true()
    expect(await total.register(input('peer-d', 'ns-3', 1000, 10), ROOMY, 0)).to.deep.equal({ ok: false, reason: 'total-bytes' })
    expect((await total.register(input('peer-d', 'ns-3', 2 * c - registrationCost(0)), ROOMY, 20)).ok).to.be.true()
    expect(await namespacesOf(total, 20)).to.deep.equal(['peer-d/ns-3'])
    expect(total.bytesUsed).to.be.at.most(3 * p + 4 * c + 2 * n)
  })

  it('refuses budgets that are not positive integers, naming the option', () => {
    expect(() => new MemoryRegistrationStore({ maxBytes: 0 })).to.throw('memoryRegistrationStore: option maxBytes must be a whole number of bytes, 1 or more, got 0').with.property('name', 'InvalidParametersError')
    expect(() => new MemoryRegistrationStore({ maxBytesPerPeer: 1.5 })).to.throw(/maxBytesPerPeer/)
    expect(() => new MemoryRegistrationStore({ sweepSlice: -1 })).to.throw(/sweepSlice/)
  })
})

describe('MemoryRegistrationStore: expiry in slices', () => {
  const LIMITS = { maxRegistrationsPerPeer: 10, maxRegistrationsTotal: 1_000_000 }
  const RECORD = new Uint8Array([1])
  const each = registrationCost(1) + peerCost('peer-000')

  async function fill (store: MemoryRegistrationStore, count: number, expiresAt: number, from = 0): Promise<void> {
    for (let i = from; i < from + count; i++) {
      const outcome = await store.register({ peerId: `peer-${String(i).padStart(3, '0')}`, namespace: 'ns', signedPeerRecord: RECORD, recordSeq: 0n, expiresAt }, LIMITS, 0)
      expect(outcome.ok).to.be.true()
    }
  }

  /** How many of the registrations held (one per peer, all in one namespace) */
  function held (store: MemoryRegistrationStore): number {
    return (store.bytesUsed - (store.bytesUsed > 0 ? namespaceCost('ns') : 0)) / each
  }

  it('removes at most a slice or two per request after a mass expiry, never returns what expired, and removes the rest in the background', async () => {
    const store = new MemoryRegistrationStore({ sweepSlice: 10 })
    await fill(store, 100, 10)
    await fill(store, 1, 1000, 100)

    const page = await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 1000, now: 20 })
    // one slice swept up front, one slice at most of those met while reading the page
    expect(held(store)).to.be.at.least(101 - 20)
    expect(page.registrations.every(r => r.expiresAt > 20)).to.be.true()

    for (let turns = 0; turns < 100 && held(store) > 1; turns++) {
      await new Promise(resolve => setImmediate(resolve))
    }
    expect(held(store)).to.equal(1)
    expect((await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 1000, now: 20 })).registrations.map(r => r.peerId)).to.deep.equal(['peer-100'])
  })

  it('reads a page past at most one slice of expired registrations (expired at now included), and ends it short there', async () => {
    const store = new MemoryRegistrationStore({ sweepSlice: 10 })
    await fill(store, 100, 20)
    await fill(store, 1, 1000, 100)

    const page = await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 1000, now: 20 })
    // one slice swept up front, one removed while reading the page, which ends there; the background removal has
    // not run yet (it waits for the event loop)
    expect(page.registrations).to.deep.equal([])
    expect(held(store)).to.equal(81)
  })

  it('fills a page up to its limit and no further after removing expired registrations on the way', async () => {
    const store = new MemoryRegistrationStore({ sweepSlice: 2 })
    await fill(store, 3, 10)
    await fill(store, 4, 1000, 3)

    // at 20 the slice up front removes two of the three expired; the page meets the third first
    const page = await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 2, now: 20 })
    expect(page.registrations.map(r => r.peerId)).to.deep.equal(['peer-003', 'peer-004'])
  })

  it('removes a second mass expiry in the background too, after the first one\'s removal ended', async () => {
    const store = new MemoryRegistrationStore({ sweepSlice: 10 })

    for (const [from, expiresAt] of [[0, 10], [100, 30]]) {
      await fill(store, 100, expiresAt, from)
      await store.stats(expiresAt + 1)

      for (let turns = 0; turns < 100 && held(store) > 0; turns++) {
        await new Promise(resolve => setImmediate(resolve))
      }
      expect(held(store), `after the expiry at ${expiresAt}`).to.equal(0)
    }
  })

  it('removeExpired lets the event loop run between slices, and stops between two slices when its signal aborts', async () => {
    const store = new MemoryRegistrationStore({ sweepSlice: 10 })
    await fill(store, 100, 10)

    let seenBetweenSlices = -1
    setImmediate(() => { seenBetweenSlices = held(store) })
    expect(await store.removeExpired(20)).to.equal(100)
    expect(seenBetweenSlices).to.be.within(1, 99)

    await fill(store, 100, 30)
    const controller = new AbortController()
    const removing = store.removeExpired(40, { signal: controller.signal })
    controller.abort()
    expect(await removing).to.equal(10)
    expect(await store.removeExpired(40)).to.equal(90)
  })
})
