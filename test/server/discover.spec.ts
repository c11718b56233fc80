import { expect } from 'aegir/chai'
import { Message } from '../../src/pb/rendezvous.ts'
import { COOKIE_LENGTH } from '../../src/protocol/cookie.ts'
import { MemoryRegistrationStore } from '../../src/server/index.ts'
import { createClientNode, createServerNode, discover, register } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'
import type { DiscoverPage, DiscoverQuery } from '../../src/server/store/registration-store.ts'

const { ResponseStatus } = Message

describe('server: DISCOVER', () => {
  let server: ServerNode
  let clients: ClientNode[]

  beforeEach(async () => {
    server = await createServerNode({ minTtl: 1, maxDiscoverLimit: 50 })
    clients = await Promise.all(Array.from({ length: 5 }, async () => createClientNode()))
  })

  afterEach(async () => {
    await Promise.all(clients.map(async c => c.stop()))
    await server?.stop()
  })

  function peersOf (response: Message.DiscoverResponse): string[] {
    return response.registrations.map(r => r.ns ?? '').sort()
  }

  it('returns only the registrations of the namespace asked for', async () => {
    await register(clients[0], server, 'a')
    await register(clients[1], server, 'b')
    await register(clients[2], server, 'a')

    const found = await discover(clients[3], server, { ns: 'a' })
    expect(found.status).to.equal(ResponseStatus.OK)
    expect(peersOf(found)).to.deep.equal(['a', 'a'])
  })

  it('returns every namespace when the namespace is absent, and when it is empty', async () => {
    await register(clients[0], server, 'a')
    await register(clients[1], server, 'b')

    expect(peersOf(await discover(clients[3], server, {}))).to.deep.equal(['a', 'b'])
    expect(peersOf(await discover(clients[3], server, { ns: '' }))).to.deep.equal(['a', 'b'])
  })

  it('answers OK with no registrations and a cookie of at least 8 bytes for an unknown namespace', async () => {
    const found = await discover(clients[0], server, { ns: 'nobody-here' })
    expect(found.status).to.equal(ResponseStatus.OK)
    expect(found.registrations).to.be.empty()
    expect(found.cookie?.byteLength).to.be.at.least(8)
  })

  it('returns at most `limit` registrations, and the cookie continues where the page ended', async () => {
    for (const client of clients) {
      await register(client, server, 'ns')
    }

    const first = await discover(clients[0], server, { ns: 'ns', limit: 2n })
    const second = await discover(clients[0], server, { ns: 'ns', limit: 2n, cookie: first.cookie })
    const third = await discover(clients[0], server, { ns: 'ns', limit: 2n, cookie: second.cookie })
    const fourth = await discover(clients[0], server, { ns: 'ns', limit: 2n, cookie: third.cookie })

    expect([first, second, third, fourth].map(page => page.registrations.length)).to.deep.equal([2, 2, 1, 0])
    const records = [first, second, third].flatMap(page => page.registrations.map(r => r.signedPeerRecord?.toString()))
    expect(new Set(records).size).to.equal(5)
  })

  it('reads a limit of 0 as "as many as allowed", and caps a limit above the maximum', async () => {
    for (const client of clients) {
      await register(client, server, 'ns')
    }

    expect((await discover(clients[0], server, { ns: 'ns', limit: 0n })).registrations).to.have.lengthOf(5)
    expect((await discover(clients[0], server, { ns: 'ns', limit: 0xffff_ffff_ffff_ffffn })).registrations).to.have.lengthOf(5)
  })

  it('returns only new registrations after a cookie, nothing when nothing is new, and chains', async () => {
    await register(clients[0], server, 'ns')
    const first = await discover(clients[4], server, { ns: 'ns' })
    expect(first.registrations).to.have.lengthOf(1)

    const empty = await discover(clients[4], server, { ns: 'ns', cookie: first.cookie })
    expect(empty.registrations).to.be.empty()

    await register(clients[1], server, 'ns')
    const delta = await discover(clients[4], server, { ns: 'ns', cookie: empty.cookie })
    expect(delta.registrations).to.have.lengthOf(1)

    await register(clients[2], server, 'ns')
    const next = await discover(clients[4], server, { ns: 'ns', cookie: delta.cookie })
    expect(next.registrations).to.have.lengthOf(1)
    expect(next.registrations[0].signedPeerRecord).to.not.equalBytes(delta.registrations[0].signedPeerRecord ?? new Uint8Array())
  })

  it('returns a peer again after a cookie when it registered again', async () => {
    await register(clients[0], server, 'ns')
    const first = await discover(clients[4], server, { ns: 'ns' })
    await register(clients[0], server, 'ns')
    const again = await discover(clients[4], server, { ns: 'ns', cookie: first.cookie })
    expect(again.registrations).to.have.lengthOf(1)
  })

  it('never moves the cookie past a position the store has not settled, and sends what lay beyond it once more when it settles', async () => {
    /**
     * A memory store that reports positions from `settledBelow` on as not settled, as a database with writers in
     * flight does, and skips what a cookie says it was sent while not settled, as the contract asks
     */
    class UnsettledStore extends MemoryRegistrationStore {
      settledBelow?: bigint

      async discover (query: DiscoverQuery): Promise<DiscoverPage> {
        const page = await super.discover({ ...query, limit: 1000 })
        const unsettled = (seq: bigint): boolean => this.settledBelow != null && seq >= this.settledBelow
        const skipped = (seq: bigint): boolean => query.sentUpTo != null && seq <= query.sentUpTo && unsettled(seq)
        return { registrations: page.registrations.filter(r => !skipped(r.seq)).slice(0, query.limit), settledBelow: this.settledBelow }
      }
    }
    const store = new UnsettledStore()
    const point = await createServerNode({ store })

    try {
      for (const client of clients.slice(0, 3)) {
        await register(client, point, 'ns')
      }
      // the memory store's positions are 1, 2, 3: the second and third are still in flight
      store.settledBelow = 2n
      const first = await discover(clients[4], point, { ns: 'ns' })
      expect(first.registrations).to.have.lengthOf(3)
      // the cookie stays at 1 and records that 2 and 3 were sent: they are not sent again while in flight
      const again = await discover(clients[4], point, { ns: 'ns', cookie: first.cookie })
      expect(again.registrations).to.be.empty()

      // settled: what lay above 1 comes once more (a registration that committed late there would be in it)
      store.settledBelow = undefined
      const settled = await discover(clients[4], point, { ns: 'ns', cookie: again.cookie })
      expect(settled.registrations).to.have.lengthOf(2)
      expect((await discover(clients[4], point, { ns: 'ns', cookie: settled.cookie })).registrations).to.be.empty()
    } finally {
      await point.stop()
    }
  })

  it('refuses a cookie issued for another namespace with E_INVALID_COOKIE', async () => {
    await register(clients[0], server, 'a')
    const fromA = await discover(clients[4], server, { ns: 'a' })
    const onB = await discover(clients[4], server, { ns: 'b', cookie: fromA.cookie })
    expect(onB.status).to.equal(ResponseStatus.E_INVALID_COOKIE)
    const onAll = await discover(clients[4], server, { cookie: fromA.cookie })
    expect(onAll.status).to.equal(ResponseStatus.E_INVALID_COOKIE)
  })

  it('refuses garbage cookies of 10 and 40 random bytes, and an edited one, with E_INVALID_COOKIE', async () => {
    const real = (await discover(clients[0], server, { ns: 'a' })).cookie ?? new Uint8Array()
    expect(real.byteLength).to.equal(COOKIE_LENGTH)
    const edited = real.slice()
    edited[7] ^= 1

    for (const cookie of [crypto.getRandomValues(new Uint8Array(10)), crypto.getRandomValues(new Uint8Array(40)), crypto.getRandomValues(new Uint8Array(COOKIE_LENGTH)), edited]) {
      const found = await discover(clients[0], server, { ns: 'a', cookie })
      expect(found.status).to.equal(ResponseStatus.E_INVALID_COOKIE)
      expect(found.statusText).to.be.a('string').that.is.not.empty()
    }
  })

  it('treats an empty cookie as no cookie', async () => {
    await register(clients[0], server, 'a')
    const found = await discover(clients[1], server, { ns: 'a', cookie: new Uint8Array() })
    expect(found.status).to.equal(ResponseStatus.OK)
    expect(found.registrations).to.have.lengthOf(1)
  })

  it('refuses an invalid namespace with E_INVALID_NAMESPACE', async () => {
    expect((await discover(clients[0], server, { ns: 'x'.repeat(256) })).status).to.equal(ResponseStatus.E_INVALID_NAMESPACE)
  })

  it('never returns an expired registration, keeps the one that lives, and a cookie outlives the sweep', async () => {
    await register(clients[0], server, 'ns', { ttl: 1n })
    await register(clients[1], server, 'ns', { ttl: 60n })
    const before = await discover(clients[4], server, { ns: 'ns' })
    expect(before.registrations).to.have.lengthOf(2)

    await new Promise(resolve => setTimeout(resolve, 1100))
    const after = await discover(clients[4], server, { ns: 'ns' })
    expect(after.registrations).to.have.lengthOf(1)

    await server.services.rendezvous.sweep()
    expect(await server.services.rendezvous.store.stats(Date.now())).to.include({ registrations: 1 })
    await register(clients[2], server, 'ns', { ttl: 60n })
    const continued = await discover(clients[4], server, { ns: 'ns', cookie: before.cookie })
    expect(continued.status).to.equal(ResponseStatus.OK)
    expect(continued.registrations).to.have.lengthOf(1)
  })

  it('reports the time a registration has left, not the TTL it was given', async () => {
    await register(clients[0], server, 'ns', { ttl: 3n })
    await new Promise(resolve => setTimeout(resolve, 1100))
    const found = await discover(clients[4], server, { ns: 'ns' })
    expect(Number(found.registrations[0].ttl)).to.be.within(1, 2)
  })
})

describe('server: DISCOVER response size', () => {
  it('cuts a page that would exceed maxResponseSize, and the cookie continues with the rest', async () => {
    // each registration takes a few hundred bytes: a 1 KiB budget holds a couple of them
    const server = await createServerNode({ maxResponseSize: 1024 })
    const clients = await Promise.all(Array.from({ length: 6 }, async () => createClientNode()))

    try {
      for (const client of clients) {
        await register(client, server, 'ns')
      }

      const seen = new Set<string>()
      let cookie: Uint8Array<ArrayBuffer> | undefined
      let pages = 0

      while (pages < 10) {
        const page = await discover(clients[0], server, { ns: 'ns', cookie })
        pages++
        if (page.registrations.length === 0) {
          break
        }
        expect(page.registrations.length).to.be.below(6)
        page.registrations.forEach(r => seen.add(r.signedPeerRecord?.toString() ?? ''))
        cookie = page.cookie
      }

      expect(seen.size).to.equal(6)
      expect(pages).to.be.above(2)
    } finally {
      await Promise.all(clients.map(async c => c.stop()))
      await server.stop()
    }
  })
})
