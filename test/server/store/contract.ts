/**
 * The behaviour every `RegistrationStore` must have, as a suite that each store's spec runs on itself:
 *
 * ```ts
 * storeContractTests('MemoryRegistrationStore', { create: async () => new MemoryRegistrationStore() })
 * ```
 *
 * `create()` returns a started, EMPTY store (a store on a shared database should truncate its tables);
 * `destroy()`, when given, stops it. Time is the `now` each call is given, never the clock, so the suite does
 * not sleep; within a test `now` never goes backwards, as a real clock's would not. Sequence numbers are only
 * compared, never assumed to start at 1 or to be contiguous, so a store backed by a database sequence passes.
 */
import { expect } from 'aegir/chai'
import type { PeerRecordFormat } from '../../../src/protocol/peer-record.ts'
import type { RegisterInput, RegisterLimits, RegisterOutcome, RegistrationStore, StoredRegistration } from '../../../src/server/store/registration-store.ts'

export interface StoreFactory {
  /** A started store holding no registrations */
  create(): Promise<RegistrationStore>
  /** Stops the store and releases what it holds */
  destroy?(store: RegistrationStore): Promise<void>
}

/** Limits so high that a test only meets the ones it sets itself */
const ROOMY: RegisterLimits = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: 1_000_000 }

/** A lifetime long enough that nothing expires during a test */
const LONG = 60 * 60 * 1000

interface RegistrationSpec {
  recordSeq?: bigint
  expiresAt?: number
  /** Distinguishes two records of one (peer, namespace) */
  tag?: string
  /** The record's format, as the server found it (absent: left to the store, which reads these bytes as standard) */
  format?: PeerRecordFormat
}

/** Record bytes that say whose they are, so a test can tell which record a store returned */
function recordOf (peerId: string, namespace: string, recordSeq: bigint, tag = ''): Uint8Array {
  return new TextEncoder().encode(`record of ${peerId} in ${namespace}, seq ${recordSeq}${tag === '' ? '' : `, ${tag}`}`)
}

export function storeContractTests (name: string, factory: StoreFactory): void {
  describe(`${name} (RegistrationStore contract)`, () => {
    let store: RegistrationStore
    /** The test's clock origin; every `now` and `expiresAt` is relative to it */
    let t0: number

    beforeEach(async () => {
      store = await factory.create()
      t0 = Date.now()
    })

    afterEach(async () => {
      await factory.destroy?.(store)
    })

    function input (peerId: string, namespace: string, spec: RegistrationSpec = {}): RegisterInput {
      const recordSeq = spec.recordSeq ?? 1n
      return {
        peerId,
        namespace,
        signedPeerRecord: recordOf(peerId, namespace, recordSeq, spec.tag),
        recordSeq,
        expiresAt: spec.expiresAt ?? t0 + LONG,
        ...(spec.format == null ? {} : { format: spec.format })
      }
    }

    async function register (peerId: string, namespace: string, spec: RegistrationSpec = {}, limits = ROOMY, now = t0): Promise<RegisterOutcome> {
      return store.register(input(peerId, namespace, spec), limits, now)
    }

    /** Registers and insists that the store accepted it; returns the seq it gave */
    async function registered (peerId: string, namespace: string, spec: RegistrationSpec = {}, limits = ROOMY, now = t0): Promise<bigint> {
      const outcome = await register(peerId, namespace, spec, limits, now)

      if (!outcome.ok) {
        throw new Error(`register(${peerId}, ${namespace}) was refused: ${outcome.reason}`)
      }

      return outcome.seq
    }

    async function discover (namespace: string | undefined, options: { afterSeq?: bigint, limit?: number, now?: number, legacyOnly?: boolean } = {}): Promise<StoredRegistration[]> {
      const page = await store.discover({
        namespace,
        afterSeq: options.afterSeq ?? 0n,
        limit: options.limit ?? 1000,
        now: options.now ?? t0,
        legacyOnly: options.legacyOnly
      })
      return page.registrations
    }

    /** Reads every page of `namespace` by cursor, `limit` at a time */
    async function discoverAll (namespace: string | undefined, limit: number, now = t0): Promise<StoredRegistration[]> {
      const all: StoredRegistration[] = []
      let afterSeq = 0n

      for (let pages = 0; pages < 10_000; pages++) {
        const page = await discover(namespace, { afterSeq, limit, now })
        expect(page.length).to.be.at.most(limit)

        if (page.length === 0) {
          return all
        }

        all.push(...page)
        afterSeq = page[page.length - 1].seq
      }

      throw new Error('pagination did not end')
    }

    function peersOf (registrations: StoredRegistration[]): string[] {
      return registrations.map(r => r.peerId)
    }

    function expectAscendingSeq (registrations: StoredRegistration[]): void {
      for (let i = 1; i < registrations.length; i++) {
        expect(registrations[i].seq > registrations[i - 1].seq, `seq at ${i} is not above the one before`).to.be.true()
      }
    }

    it('returns a registration after it is registered, with every field as given', async () => {
      const given = input('peer-a', 'ns', { recordSeq: 7n, expiresAt: t0 + LONG })
      const outcome = await store.register(given, ROOMY, t0)

      expect(outcome.ok).to.be.true()
      const found = await discover('ns')
      expect(found).to.have.lengthOf(1)
      expect(found[0].peerId).to.equal('peer-a')
      expect(found[0].namespace).to.equal('ns')
      expect(found[0].signedPeerRecord).to.equalBytes(given.signedPeerRecord)
      expect(found[0].recordSeq).to.equal(7n)
      expect(found[0].format).to.equal('standard')
      expect(found[0].expiresAt).to.equal(t0 + LONG)
      expect(outcome.ok && found[0].seq === outcome.seq).to.be.true()
      expect(found[0].seq > 0n).to.be.true()
    })

    it('keeps each record\'s format and, asked for legacy records only, returns those alone, in seq order, by cursor', async () => {
      const legacy: string[] = []

      for (let i = 0; i < 30; i++) {
        const format = i % 7 === 3 ? 'legacy' : 'standard'
        await registered(`peer-${String(i).padStart(2, '0')}`, i % 2 === 0 ? 'ns-1' : 'ns-2', { format })
        if (format === 'legacy') {
          legacy.push(`peer-${String(i).padStart(2, '0')}`)
        }
      }

      const all = await discover(undefined)
      expect(all.filter(r => r.format === 'legacy').map(r => r.peerId)).to.deep.equal(legacy)
      expect(peersOf(await discover(undefined, { legacyOnly: true }))).to.deep.equal(legacy)
      expect(peersOf(await discover('ns-2', { legacyOnly: true }))).to.deep.equal(legacy.filter(p => Number(p.slice(5)) % 2 === 1))

      // by cursor, one at a time: the page after a legacy registration starts at the next legacy one
      const [first] = await discover(undefined, { legacyOnly: true, limit: 1 })
      expect(peersOf(await discover(undefined, { legacyOnly: true, limit: 2, afterSeq: first.seq }))).to.deep.equal(legacy.slice(1, 3))
    })

    it('moves a registration between the formats when a refresh brings a record in the other one', async () => {
      await registered('peer-a', 'ns', { format: 'legacy' })
      await registered('peer-b', 'ns', { format: 'standard' })
      expect(peersOf(await discover('ns', { legacyOnly: true }))).to.deep.equal(['peer-a'])

      await registered('peer-a', 'ns', { format: 'standard', recordSeq: 2n })
      await registered('peer-b', 'ns', { format: 'legacy', recordSeq: 2n })
      expect(peersOf(await discover('ns', { legacyOnly: true }))).to.deep.equal(['peer-b'])
      expect((await discover('ns')).map(r => `${r.peerId} ${r.format}`)).to.deep.equal(['peer-a standard', 'peer-b legacy'])

      await store.unregister('peer-b', 'ns')
      expect(await discover('ns', { legacyOnly: true })).to.be.empty()
    })

    it('keeps the stored record when the caller later changes the bytes it registered', async () => {
      const given = input('peer-a', 'ns')
      const original = given.signedPeerRecord.slice()
      await store.register(given, ROOMY, t0)
      given.signedPeerRecord.fill(0)

      const found = await discover('ns')
      expect(found[0].signedPeerRecord).to.equalBytes(original)
    })

    it('returns only the namespace asked for, and nothing for a namespace nobody registered in', async () => {
      await registered('peer-a', 'ns-1')
      await registered('peer-b', 'ns-2')
      await registered('peer-c', 'ns-1')

      expect(peersOf(await discover('ns-1'))).to.have.members(['peer-a', 'peer-c'])
      expect(peersOf(await discover('ns-2'))).to.deep.equal(['peer-b'])
      expect(await discover('ns-3')).to.be.empty()
      // a namespace that is a prefix of another is still another namespace
      expect(await discover('ns-')).to.be.empty()
    })

    it('returns every namespace in ascending seq order when no namespace is given', async () => {
      await registered('peer-a', 'ns-1')
      await registered('peer-b', 'ns-2')
      await registered('peer-a', 'ns-2')

      const found = await discover(undefined)
      expect(found.map(r => `${r.peerId}@${r.namespace}`)).to.deep.equal(['peer-a@ns-1', 'peer-b@ns-2', 'peer-a@ns-2'])
      expectAscendingSeq(found)
    })

    it('gives every accepted register a higher seq than any before it, across namespaces and refreshes', async () => {
      const seqs: bigint[] = []
      seqs.push(await registered('peer-a', 'ns-1'))
      seqs.push(await registered('peer-b', 'ns-2'))
      seqs.push(await registered('peer-a', 'ns-1'))
      seqs.push(await registered('peer-a', 'ns-1', { recordSeq: 2n }))
      seqs.push(await registered('peer-c', 'ns-1'))

      for (let i = 1; i < seqs.length; i++) {
        expect(seqs[i] > seqs[i - 1], `seq ${seqs[i]} is not above ${seqs[i - 1]}`).to.be.true()
      }
    })

    it('pages by afterSeq and limit in seq order, with no duplicates and no gaps', async () => {
      for (let i = 0; i < 23; i++) {
        await registered(`peer-${i}`, i % 3 === 0 ? 'ns-x' : 'ns-y')
      }

      const everything = await discover(undefined)
      expect(everything).to.have.lengthOf(23)
      expectAscendingSeq(everything)

      for (const limit of [1, 4, 7, 23, 50]) {
        const paged = await discoverAll(undefined, limit)
        expect(paged.map(r => r.seq)).to.deep.equal(everything.map(r => r.seq))
      }

      const inX = everything.filter(r => r.namespace === 'ns-x')
      const pagedX = await discoverAll('ns-x', 3)
      expect(pagedX.map(r => r.seq)).to.deep.equal(inX.map(r => r.seq))
      expect(new Set(pagedX.map(r => r.peerId)).size).to.equal(inX.length)

      // a cursor between two seqs continues right after it
      const cursor = everything[9].seq
      const rest = await discover(undefined, { afterSeq: cursor, limit: 5 })
      expect(rest.map(r => r.seq)).to.deep.equal(everything.slice(10, 15).map(r => r.seq))
    })

    it('returns nothing after a cursor at or past the last seq, and everything from cursor 0', async () => {
      const last = await registered('peer-a', 'ns')

      expect(await discover('ns', { afterSeq: last })).to.be.empty()
      expect(await discover('ns', { afterSeq: last + 1_000_000n })).to.be.empty()
      // positions are below 2^128, the most a cookie carries
      expect(await discover(undefined, { afterSeq: (1n << 128n) - 1n })).to.be.empty()
      expect(await discover('ns', { afterSeq: (1n << 128n) - 1n })).to.be.empty()
      expect(await discover('ns', { afterSeq: 0n })).to.have.lengthOf(1)
    })

    it('replaces the registration of a (peer, namespace) on re-register and shows it again after an old cursor', async () => {
      await registered('peer-a', 'ns', { tag: 'first' })
      await registered('peer-b', 'ns')
      const cursor = (await discover('ns')).at(-1)?.seq ?? 0n
      expect(await discover('ns', { afterSeq: cursor })).to.be.empty()

      const refreshed = await registered('peer-a', 'ns', { tag: 'second', expiresAt: t0 + 2 * LONG })

      const found = await discover('ns')
      expect(peersOf(found)).to.deep.equal(['peer-b', 'peer-a'])
      expect(found[1].seq).to.equal(refreshed)
      expect(found[1].expiresAt).to.equal(t0 + 2 * LONG)
      expect(new TextDecoder().decode(found[1].signedPeerRecord)).to.match(/second$/)

      const since = await discover('ns', { afterSeq: cursor })
      expect(peersOf(since)).to.deep.equal(['peer-a'])
      expect(peersOf(await discover(undefined, { afterSeq: cursor }))).to.deep.equal(['peer-a'])
    })

    it('unregister removes the registration, and unregistering an unknown one changes nothing', async () => {
      await registered('peer-a', 'ns-1')
      await registered('peer-a', 'ns-2')
      await registered('peer-b', 'ns-1')

      await store.unregister('peer-a', 'ns-1')
      expect(peersOf(await discover('ns-1'))).to.deep.equal(['peer-b'])
      expect(peersOf(await discover('ns-2'))).to.deep.equal(['peer-a'])

      await store.unregister('peer-a', 'ns-1')
      await store.unregister('peer-a', 'ns-never')
      await store.unregister('peer-never', 'ns-2')
      expect(await discover(undefined)).to.have.lengthOf(2)
      expect(await store.stats(t0)).to.deep.equal({ registrations: 2, namespaces: 2 })
    })

    it('refuses a registration past the per-peer limit with peer-limit, and still accepts a refresh at the cap', async () => {
      const limits = { maxRegistrationsPerPeer: 3, maxRegistrationsTotal: 1000 }
      await registered('peer-a', 'ns-1', {}, limits)
      await registered('peer-a', 'ns-2', {}, limits)
      await registered('peer-a', 'ns-3', {}, limits)

      expect(await register('peer-a', 'ns-4', {}, limits)).to.deep.equal({ ok: false, reason: 'peer-limit' })
      expect(await discover('ns-4')).to.be.empty()

      // a refresh replaces one of its own, so it is not a new registration
      expect((await register('peer-a', 'ns-2', { recordSeq: 2n }, limits)).ok).to.be.true()
      // the limit is per peer
      expect((await register('peer-b', 'ns-4', {}, limits)).ok).to.be.true()

      // unregistering frees a place
      await store.unregister('peer-a', 'ns-1')
      expect((await register('peer-a', 'ns-4', {}, limits)).ok).to.be.true()
      expect(await register('peer-a', 'ns-5', {}, limits)).to.deep.equal({ ok: false, reason: 'peer-limit' })
      expect((await discover(undefined)).filter(r => r.peerId === 'peer-a')).to.have.lengthOf(3)
    })

    it('refuses a registration past the total limit with total-limit, and still accepts a refresh when full', async () => {
      const limits = { maxRegistrationsPerPeer: 10, maxRegistrationsTotal: 3 }
      await registered('peer-a', 'ns', {}, limits)
      await registered('peer-b', 'ns', {}, limits)
      await registered('peer-c', 'ns-2', {}, limits)

      expect(await register('peer-d', 'ns', {}, limits)).to.deep.equal({ ok: false, reason: 'total-limit' })
      expect(await register('peer-a', 'ns-2', {}, limits)).to.deep.equal({ ok: false, reason: 'total-limit' })
      expect((await register('peer-b', 'ns', { recordSeq: 2n }, limits)).ok).to.be.true()
      expect(await discover(undefined)).to.have.lengthOf(3)

      await store.unregister('peer-c', 'ns-2')
      expect((await register('peer-d', 'ns', {}, limits)).ok).to.be.true()
    })

    it('refuses a record above maxRecordSize (default 4096) with an InvalidParametersError naming it, and stores nothing', async () => {
      const big = (size: number): RegisterInput => ({ ...input('peer-a', 'ns'), signedPeerRecord: new Uint8Array(size).fill(1) })

      expect((await store.register(big(100), { ...ROOMY, maxRecordSize: 100 }, t0)).ok).to.be.true()
      await expect(store.register(big(101), { ...ROOMY, maxRecordSize: 100 }, t0)).to.eventually.be.rejected
        .with.property('name', 'InvalidParametersError')
      await expect(store.register(big(101), { ...ROOMY, maxRecordSize: 100 }, t0)).to.eventually.be.rejectedWith(/maxRecordSize \(100\)/)
      // the limit defaults to the server's default when the caller gives none
      expect((await store.register({ ...big(4096), namespace: 'ns-2' }, ROOMY, t0)).ok).to.be.true()
      await expect(store.register({ ...big(4097), namespace: 'ns-3' }, ROOMY, t0)).to.eventually.be.rejectedWith(/signedPeerRecord/)
      expect((await discover(undefined)).map(r => r.signedPeerRecord.byteLength)).to.deep.equal([100, 4096])
    })

    it('refuses an older record for the same (peer, namespace) with stale-record and keeps the stored one', async () => {
      const stored = await registered('peer-a', 'ns', { recordSeq: 5n, tag: 'five' })

      expect(await register('peer-a', 'ns', { recordSeq: 4n, tag: 'four' })).to.deep.equal({ ok: false, reason: 'stale-record' })

      const found = await discover('ns')
      expect(found).to.have.lengthOf(1)
      expect(found[0].seq).to.equal(stored)
      expect(found[0].recordSeq).to.equal(5n)
      expect(new TextDecoder().decode(found[0].signedPeerRecord)).to.match(/five$/)

      // the same record again is a refresh
      const same = await registered('peer-a', 'ns', { recordSeq: 5n, tag: 'five' })
      expect(same > stored).to.be.true()
      expect((await register('peer-a', 'ns', { recordSeq: 6n })).ok).to.be.true()
      // records are compared per (peer, namespace)
      expect((await register('peer-a', 'ns-other', { recordSeq: 1n })).ok).to.be.true()
      expect((await register('peer-b', 'ns', { recordSeq: 1n })).ok).to.be.true()
    })

    it('never returns a registration at or after its expiry time', async () => {
      await registered('peer-short', 'ns', { expiresAt: t0 + 100 })
      await registered('peer-long', 'ns', { expiresAt: t0 + LONG })
      await registered('peer-short', 'ns-2', { expiresAt: t0 + 50 })

      expect(peersOf(await discover('ns', { now: t0 + 49 }))).to.deep.equal(['peer-short', 'peer-long'])
      expect(await discover(undefined, { now: t0 + 99 })).to.have.lengthOf(2)
      expect(peersOf(await discover('ns', { now: t0 + 100 }))).to.deep.equal(['peer-long'])
      expect(peersOf(await discover(undefined, { now: t0 + 100 }))).to.deep.equal(['peer-long'])
      expect(await discover('ns-2', { now: t0 + 100 })).to.be.empty()
      expect(await discover(undefined, { now: t0 + LONG })).to.be.empty()
    })

    it('does not count expired registrations against the per-peer and total limits', async () => {
      const limits = { maxRegistrationsPerPeer: 1, maxRegistrationsTotal: 2 }
      await registered('peer-a', 'ns-1', { expiresAt: t0 + 10 }, limits)
      await registered('peer-b', 'ns-1', { expiresAt: t0 + 10 }, limits)

      expect(await register('peer-a', 'ns-2', {}, limits, t0 + 5)).to.deep.equal({ ok: false, reason: 'peer-limit' })
      expect(await register('peer-c', 'ns-2', {}, limits, t0 + 5)).to.deep.equal({ ok: false, reason: 'total-limit' })

      // at t0 + 10 both have expired, whether or not anything swept them
      expect((await register('peer-a', 'ns-2', {}, limits, t0 + 10)).ok).to.be.true()
      expect((await register('peer-c', 'ns-2', {}, limits, t0 + 10)).ok).to.be.true()
      expect(peersOf(await discover(undefined, { now: t0 + 10 }))).to.deep.equal(['peer-a', 'peer-c'])
    })

    it('treats an expired registration as absent, so a new record with a lower seq replaces it', async () => {
      await registered('peer-a', 'ns', { recordSeq: 9n, expiresAt: t0 + 10 })

      const outcome = await register('peer-a', 'ns', { recordSeq: 3n }, ROOMY, t0 + 10)
      expect(outcome.ok).to.be.true()
      const found = await discover('ns', { now: t0 + 10 })
      expect(found.map(r => r.recordSeq)).to.deep.equal([3n])
    })

    it('removeExpired deletes what expired at or before now, returns how many, and is idempotent', async () => {
      await registered('peer-a', 'ns-1', { expiresAt: t0 + 10 })
      await registered('peer-b', 'ns-1', { expiresAt: t0 + 20 })
      await registered('peer-c', 'ns-2', { expiresAt: t0 + 20 })
      await registered('peer-d', 'ns-2', { expiresAt: t0 + 21 })
      await registered('peer-e', 'ns-3', { expiresAt: t0 + LONG })

      expect(await store.removeExpired(t0 + 9)).to.equal(0)
      expect(await store.removeExpired(t0 + 20)).to.equal(3)
      expect(await store.removeExpired(t0 + 20)).to.equal(0)
      expect(peersOf(await discover(undefined, { now: t0 + 20 }))).to.deep.equal(['peer-d', 'peer-e'])
      expect(await store.removeExpired(t0 + LONG)).to.equal(2)
      expect(await store.removeExpired(t0 + LONG)).to.equal(0)
      expect(await store.stats(t0 + LONG)).to.deep.equal({ registrations: 0, namespaces: 0 })
    })

    it('removeExpired run several times at once removes each registration once', async () => {
      for (let i = 0; i < 20; i++) {
        await registered(`peer-${i}`, `ns-${i % 4}`, { expiresAt: t0 + 10 })
      }

      const counts = await Promise.all([1, 2, 3, 4].map(async () => store.removeExpired(t0 + 10)))
      expect(counts.reduce((a, b) => a + b, 0)).to.equal(20)
      expect(await store.stats(t0 + 10)).to.deep.equal({ registrations: 0, namespaces: 0 })
    })

    it('stats counts live registrations and the namespaces that have any', async () => {
      expect(await store.stats(t0)).to.deep.equal({ registrations: 0, namespaces: 0 })

      await registered('peer-a', 'ns-1')
      await registered('peer-b', 'ns-1')
      await registered('peer-a', 'ns-2', { expiresAt: t0 + 10 })
      await registered('peer-a', 'ns-1', { recordSeq: 2n })
      expect(await store.stats(t0)).to.deep.equal({ registrations: 3, namespaces: 2 })

      expect(await store.stats(t0 + 10)).to.deep.equal({ registrations: 2, namespaces: 1 })

      await store.unregister('peer-a', 'ns-1')
      await store.unregister('peer-b', 'ns-1')
      expect(await store.stats(t0 + 10)).to.deep.equal({ registrations: 0, namespaces: 0 })
    })

    it('gives one cookie secret of at least 16 bytes for the life of the store', async () => {
      const first = await store.getCookieSecret()
      expect(first).to.be.an.instanceOf(Uint8Array)
      expect(first.byteLength).to.be.at.least(16)
      expect(first.some(byte => byte !== 0)).to.be.true()

      await registered('peer-a', 'ns')
      expect(await store.getCookieSecret()).to.equalBytes(first)
    })

    it('never lets concurrent registers from one peer pass its limit', async () => {
      const limits = { maxRegistrationsPerPeer: 5, maxRegistrationsTotal: 1000 }
      const outcomes = await Promise.all(Array.from({ length: 40 }, async (_, i) => register('peer-a', `ns-${i}`, {}, limits)))

      expect(outcomes.filter(o => o.ok)).to.have.lengthOf(5)
      expect(outcomes.filter(o => !o.ok && o.reason === 'peer-limit')).to.have.lengthOf(35)
      expect(await discover(undefined)).to.have.lengthOf(5)
      expect(await store.stats(t0)).to.deep.equal({ registrations: 5, namespaces: 5 })
    })

    it('never lets concurrent registers from many peers pass the total limit', async () => {
      const limits = { maxRegistrationsPerPeer: 5, maxRegistrationsTotal: 7 }
      const outcomes = await Promise.all(Array.from({ length: 30 }, async (_, i) => register(`peer-${i}`, 'ns', {}, limits)))

      expect(outcomes.filter(o => o.ok)).to.have.lengthOf(7)
      expect(outcomes.filter(o => !o.ok && o.reason === 'total-limit')).to.have.lengthOf(23)
      expect(await discover('ns')).to.have.lengthOf(7)
    })

    it('keeps one entry per (peer, namespace) when one peer refreshes it many times at once', async () => {
      const outcomes = await Promise.all(Array.from({ length: 20 }, async () => register('peer-a', 'ns')))

      expect(outcomes.every(o => o.ok)).to.be.true()
      const seqs = outcomes.map(o => o.ok ? o.seq : 0n)
      expect(new Set(seqs).size).to.equal(20)

      const found = await discover('ns')
      expect(found).to.have.lengthOf(1)
      expect(seqs).to.include(found[0].seq)
    })
  })
}
