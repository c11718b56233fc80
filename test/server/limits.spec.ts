import { expect } from 'aegir/chai'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { MemoryRegistrationStore } from '../../src/server/index.ts'
import { SlowStore } from '../fixtures/slow-store.ts'
import { createClientNode, createServerNode, discover, register } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'

const { ResponseStatus } = Message

describe('server: limits', () => {
  const nodes: Array<ClientNode | ServerNode> = []

  async function server (init: Parameters<typeof createServerNode>[0]): Promise<ServerNode> {
    const node = await createServerNode(init)
    nodes.push(node)
    return node
  }

  async function client (): Promise<ClientNode> {
    const node = await createClientNode()
    nodes.push(node)
    return node
  }

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => n.stop()))
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

  it('refuses options that cannot work when it is built', async () => {
    const { resolveServerConfig } = await import('../../src/server/config.ts')
    expect(() => resolveServerConfig({ minTtl: 100, maxTtl: 10 })).to.throw(RangeError, /minTtl/)
    expect(() => resolveServerConfig({ defaultTtl: 5, minTtl: 10 })).to.throw(RangeError, /defaultTtl/)
    expect(() => resolveServerConfig({ maxDiscoverLimit: 0 })).to.throw(RangeError, /maxDiscoverLimit/)
    expect(() => resolveServerConfig({ protocols: [] })).to.throw(RangeError, /protocols/)
    expect(resolveServerConfig({ minTtl: 1 }).defaultTtl).to.equal(7200)
  })
})
