import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { resolveServerConfig } from '../../src/server/config.ts'
import { MemoryRegistrationStore } from '../../src/server/index.ts'
import { namespaceCost, peerCost, registrationCost } from '../../src/server/store/memory-registration-store.ts'
import { HangingStore, SlowStore } from '../fixtures/slow-store.ts'
import { createServerNode, discover, ownRecord, register, TestNodes } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'
import type { RendezvousServerInit } from '../../src/server/index.ts'

const { ResponseStatus } = Message

describe('server: limits', () => {
  const nodes = new TestNodes()
  const server = async (init?: RendezvousServerInit): Promise<ServerNode> => nodes.server(init)
  const client = async (): Promise<ClientNode> => nodes.client()

  afterEach(async () => {
    await nodes.stopAll()
  })

  it('refuses a registration beyond maxRegistrationsPerPeer with E_NOT_AUTHORIZED, yet lets the peer refresh one it holds', async () => {
    const point = await server({ maxRegistrationsPerPeer: 3 })
    const peer = await client()

    for (const ns of ['a', 'b', 'c']) {
      expect((await register(peer, point, ns)).status).to.equal(ResponseStatus.OK)
    }

    const fourth = await register(peer, point, 'd')
    expect(fourth.status).to.equal(ResponseStatus.E_NOT_AUTHORIZED)
    expect(fourth.statusText).to.match(/maximum of 3/)
    expect((await register(peer, point, 'b')).status).to.equal(ResponseStatus.OK)

    // another peer is not affected by this one's cap
    expect((await register(await client(), point, 'd')).status).to.equal(ResponseStatus.OK)
  })

  it('refuses a registration beyond maxRegistrationsTotal with E_UNAVAILABLE', async () => {
    const point = await server({ maxRegistrationsTotal: 2 })
    expect((await register(await client(), point, 'a')).status).to.equal(ResponseStatus.OK)
    expect((await register(await client(), point, 'a')).status).to.equal(ResponseStatus.OK)
    const third = await register(await client(), point, 'a')
    expect(third.status).to.equal(ResponseStatus.E_UNAVAILABLE)
    expect(third.statusText).to.match(/full/)
  })

  it('answers E_UNAVAILABLE to requests beyond maxConcurrentRequests while the store is busy', async () => {
    const point = await server({ maxConcurrentRequests: 2, store: new SlowStore(300) })
    const peers = await Promise.all(Array.from({ length: 6 }, async () => client()))
    const statuses = await Promise.all(peers.map(async (peer, i) => (await register(peer, point, `ns${i}`)).status))

    expect(statuses.filter(s => s === ResponseStatus.E_UNAVAILABLE)).to.not.be.empty()
    expect(statuses.filter(s => s === ResponseStatus.OK)).to.not.be.empty()
    expect(statuses.every(s => s === ResponseStatus.OK || s === ResponseStatus.E_UNAVAILABLE)).to.be.true()
  })

  it('resets a stream whose request frame is larger than maxRequestSize without reading it, and keeps serving', async () => {
    const point = await server({ maxRequestSize: 1024 })
    const peer = await client()
    const stream = await peer.dialProtocol(point.getMultiaddrs(), PROTOCOL)
    // a length prefix announcing 1 MiB, then a little of it: the server must give up at the prefix
    stream.send(Uint8Array.from([0x80, 0x80, 0x40, 1, 2, 3]))

    const closed = new Promise<string>(resolve => {
      stream.addEventListener('close', () => { resolve(stream.status) }, { once: true })
    })
    expect(await closed).to.be.oneOf(['reset', 'aborted', 'closed'])
    expect(stream.status).to.not.equal('closed', 'the server answered an oversized frame instead of refusing it')

    expect((await register(peer, point, 'still-serving')).status).to.equal(ResponseStatus.OK)
  })

  it('gives up on a stream that sends nothing within the timeout', async () => {
    const point = await server({ timeout: 300 })
    const peer = await client()
    const stream = await peer.dialProtocol(point.getMultiaddrs(), PROTOCOL)
    const started = Date.now()

    await new Promise<void>(resolve => {
      stream.addEventListener('close', () => { resolve() }, { once: true })
    })

    expect(Date.now() - started).to.be.below(5000)
    expect((await discover(peer, point, { ns: 'x' })).status).to.equal(ResponseStatus.OK)
  })

  it('lets two servers sharing one store continue each other\'s cookies', async () => {
    const store = new MemoryRegistrationStore()
    const first = await server({ store })
    const second = await server({ store })
    const a = await client()
    const b = await client()
    const reader = await client()

    await register(a, first, 'shared')
    const page = await discover(reader, first, { ns: 'shared' })
    expect(page.registrations).to.have.lengthOf(1)

    await register(b, second, 'shared')
    const continued = await discover(reader, second, { ns: 'shared', cookie: page.cookie })
    expect(continued.status).to.equal(ResponseStatus.OK)
    expect(continued.registrations).to.have.lengthOf(1)
  })

  it('refuses a cookie issued by a server that does not share its store with E_INVALID_COOKIE', async () => {
    const first = await server({})
    const second = await server({})
    const reader = await client()

    const page = await discover(reader, first, { ns: 'x' })
    expect((await discover(reader, second, { ns: 'x', cookie: page.cookie })).status).to.equal(ResponseStatus.E_INVALID_COOKIE)
  })

  it('refuses options that cannot work when it is built, with an InvalidParametersError naming the option and value', async () => {
    const refusal = (init: Parameters<typeof resolveServerConfig>[0]): Error => {
      try {
        resolveServerConfig(init)
      } catch (err: any) {
        expect(err.name).to.equal('InvalidParametersError')
        return err
      }
      throw new Error(`${JSON.stringify(init)} was accepted`)
    }

    expect(refusal({ minTtl: 100, maxTtl: 10 }).message).to.equal('rendezvousServer: option minTtl must be at most maxTtl (10), got 100')
    expect(refusal({ defaultTtl: 5, minTtl: 10 }).message).to.equal('rendezvousServer: option defaultTtl must be within minTtl and maxTtl (10 to 259200), got 5')
    expect(refusal({ maxDiscoverLimit: 0 }).message).to.equal('rendezvousServer: option maxDiscoverLimit must be a whole number, 1 or more, got 0')
    expect(refusal({ protocols: [] }).message).to.match(/option protocols must be a non-empty array/)
    expect(refusal({ protocols: ['notaprotocol'] }).message).to.match(/option protocols\[0\] must be a protocol id that starts with "\/".*"notaprotocol"/)
    expect(resolveServerConfig({ minTtl: 1 }).defaultTtl).to.equal(7200)
  })

  it('bounds the TTLs by the spec\'s 72 h and every timer by 2^31 - 1 ms, beyond which Node fires timers at once', () => {
    // 2^31 ms as a TTL made the CLI's relay self-registration refresh in a busy loop
    expect(() => resolveServerConfig({ maxTtl: 2 ** 31 })).to.throw(/maxTtl must be a whole number of seconds from 1 to 259200, got 2147483648/)
    expect(() => resolveServerConfig({ maxTtl: 259_201 })).to.throw(/maxTtl must be a whole number of seconds from 1 to 259200/)
    expect(() => resolveServerConfig({ defaultTtl: 300_000 })).to.throw(/defaultTtl must be a whole number of seconds from 1 to 259200/)
    expect(() => resolveServerConfig({ minTtl: 300_000 })).to.throw(/minTtl must be a whole number of seconds from 1 to 259200/)
    expect(() => resolveServerConfig({ timeout: 2 ** 31 })).to.throw(/timeout must be a whole number of ms from 1 to 2147483647/)
    expect(() => resolveServerConfig({ sweepInterval: 2 ** 31 })).to.throw(/sweepInterval must be a whole number of ms from 1 to 2147483647/)
    expect(resolveServerConfig({ maxTtl: 259_200, defaultTtl: 259_200, timeout: 2 ** 31 - 1, sweepInterval: 2 ** 31 - 1 }).maxTtl).to.equal(259_200)
  })

  it('refuses a record size that no response or request could carry, and lowers the default one to fit', () => {
    // 1024 - 128 (response) - 24 (registration) - 255 (namespace) = 617 bytes
    expect(resolveServerConfig({ maxResponseSize: 1024 }).maxRecordSize).to.equal(617)
    expect(resolveServerConfig({ maxRequestSize: 1024 }).maxRecordSize).to.equal(1024)
    expect(resolveServerConfig({}).maxRecordSize).to.equal(4096)
    expect(() => resolveServerConfig({ maxResponseSize: 1024, maxRecordSize: 618 })).to.throw('rendezvousServer: option maxResponseSize must be at least 1025 bytes, to carry a record of maxRecordSize (618) bytes in a namespace of maxNamespaceLength (255) bytes, got 1024')
    expect(() => resolveServerConfig({ maxResponseSize: 300 })).to.throw('rendezvousServer: option maxResponseSize must be at least 408 bytes, to carry any record in a namespace of maxNamespaceLength (255) bytes, got 300')
    expect(() => resolveServerConfig({ maxRequestSize: 1024, maxRecordSize: 2048 })).to.throw('rendezvousServer: option maxRecordSize must be at most maxRequestSize (1024), or no request could carry such a record, got 2048')
  })

  it('refuses a record above maxRecordSize, or listing more than maxRecordAddresses, with E_INVALID_SIGNED_PEER_RECORD', async () => {
    const point = await server({ maxRecordSize: 600, maxRecordAddresses: 3 })
    const peer = await client()
    const addresses = (n: number, pad = ''): ReturnType<typeof multiaddr>[] => Array.from({ length: n }, (_, i) => multiaddr(`/dns4/host-${i}${pad}.example.com/tcp/${1000 + i}`))

    expect((await register(peer, point, 'three', { signedPeerRecord: await ownRecord(peer, addresses(3)) })).status).to.equal(ResponseStatus.OK)

    const four = await register(peer, point, 'four', { signedPeerRecord: await ownRecord(peer, addresses(4)) })
    expect(four.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
    expect(four.statusText).to.equal('peer record lists 4 addresses, above the 3 this point accepts')

    const large = await ownRecord(peer, addresses(3, 'x'.repeat(150)))
    expect(large.byteLength).to.be.above(600)
    const big = await register(peer, point, 'big', { signedPeerRecord: large })
    expect(big.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
    expect(big.statusText).to.equal(`signed peer record is ${large.byteLength} bytes, above the 600 this point accepts`)
    expect((await discover(peer, point, {})).registrations.map(r => r.ns)).to.deep.equal(['three'])
  })

  it('refuses at REGISTER a record larger than a DISCOVER response can carry, so paging its namespace goes on', async () => {
    // before, such a record was stored, never sent, and the namespace's cookie never passed it
    const point = await server({ maxResponseSize: 1024 })
    const [first, large, last] = [await client(), await client(), await client()]

    expect((await register(first, point, 'paged')).status).to.equal(ResponseStatus.OK)
    const record = await ownRecord(large, Array.from({ length: 16 }, (_, i) => multiaddr(`/dns4/host-${i}.padding-padding-padding.example.com/tcp/${1000 + i}`)))
    expect(record.byteLength).to.be.above(1024 - 128 - 24 - 'paged'.length)
    expect((await register(large, point, 'paged', { signedPeerRecord: record })).status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
    expect((await register(last, point, 'paged')).status).to.equal(ResponseStatus.OK)

    const found: string[] = []
    let cookie: Uint8Array<ArrayBuffer> | undefined
    for (let page = 0; page < 5; page++) {
      const response = await discover(first, point, { ns: 'paged', limit: 1n, cookie })
      found.push(...response.registrations.map(r => r.ns ?? ''))
      if (response.registrations.length === 0) {
        break
      }
      cookie = response.cookie
    }
    expect(found).to.have.lengthOf(2)
  })

  it('answers E_NOT_AUTHORIZED past the memory store\'s byte budget for one peer and E_UNAVAILABLE past its total one', async () => {
    const probe = await client()
    const record = await ownRecord(probe)
    const cost = registrationCost(record.byteLength)
    const peer = peerCost(probe.peerId.toString())
    const point = await server({ store: new MemoryRegistrationStore({ maxBytesPerPeer: peer + 2 * cost, maxBytes: 2 * peer + 3 * cost + 2 * namespaceCost('ns-0') }) })

    expect((await register(probe, point, 'ns-0')).status).to.equal(ResponseStatus.OK)
    expect((await register(probe, point, 'ns-1')).status).to.equal(ResponseStatus.OK)
    const perPeer = await register(probe, point, 'ns-2')
    expect(perPeer.status).to.equal(ResponseStatus.E_NOT_AUTHORIZED)
    expect(perPeer.statusText).to.match(/most memory this point gives one peer/)

    const other = await client()
    expect((await register(other, point, 'ns-0')).status).to.equal(ResponseStatus.OK)
    const total = await register(await client(), point, 'ns-0')
    expect(total.status).to.equal(ResponseStatus.E_UNAVAILABLE)
    expect(total.statusText).to.match(/full \(memory budget\)/)
  })

  it('stops at once while a sweep of expired registrations hangs, and a hung sweep does not stop the later ones', async () => {
    const store = new HangingStore(['removeExpired'])
    const point = await createServerNode({ store, sweepInterval: 20, timeout: 200 })

    // each sweep is given up at the timeout, then the next one is scheduled
    await pWaitFor(() => store.calls.removeExpired >= 3, { interval: 20, timeout: { milliseconds: 4000, fallback: () => {} } })
    expect(store.calls.removeExpired).to.be.at.least(3)

    let timer: ReturnType<typeof setTimeout> | undefined
    const stopped = await Promise.race([
      (async () => { await point.stop(); return 'stopped' })(),
      new Promise(resolve => { timer = setTimeout(resolve, 10_000, 'still stopping after 10 s') })
    ])
    clearTimeout(timer)
    expect(stopped).to.equal('stopped')
  })
})
