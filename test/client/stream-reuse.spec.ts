/**
 * Requests on streams kept open: one stream per point for requests that follow each other where the point serves
 * several per stream, a stream per request where it closes after one answer (learned, remembered), idle streams
 * closed. Real nodes over the memory transport, against the real server and a point that answers once per stream.
 */
import { expect } from 'aegir/chai'
import { rendezvousClient } from '../../src/client/index.ts'
import { PROTOCOL } from '../../src/constants.ts'
import { rendezvousServer } from '../../src/server/index.ts'
import { ok, startFakeServer } from './fixtures/fake-server.ts'
import { createNode, stopAll } from './fixtures/nodes.ts'
import type { RendezvousClient, RendezvousClientInit } from '../../src/client/index.ts'
import type { RendezvousServerInit } from '../../src/server/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type ClientNode = Libp2p<{ rendezvous: RendezvousClient }>

/** Polls `check` every 20 ms for up to `ms`; resolves to whether it came true */
async function eventually (check: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (check()) {
      return true
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return check()
}

describe('rendezvous client: requests on streams kept open', function () {
  this.timeout(30_000)

  let nodes: Libp2p[] = []

  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  async function point (init: RendezvousServerInit = {}): Promise<Multiaddr[]> {
    const node = await createNode({ rendezvous: rendezvousServer(init) })
    nodes.push(node)
    return node.getMultiaddrs()
  }

  /** A client node, and a count of the rendezvous streams it has opened */
  async function client (init: RendezvousClientInit = {}): Promise<{ node: ClientNode, opened(): number, open(): number }> {
    const node: ClientNode = await createNode({ rendezvous: rendezvousClient(init) })
    nodes.push(node)
    const connectionManager = (node as any).components.connectionManager
    const openStream = connectionManager.openStream.bind(connectionManager)
    let opened = 0
    connectionManager.openStream = async (...args: any[]) => {
      if (args[1] === PROTOCOL) {
        opened++
      }
      return openStream(...args)
    }
    return {
      node,
      opened: () => opened,
      // rendezvous streams open now, on every connection of the client
      open: () => node.getConnections().flatMap(c => c.streams).filter(s => s.protocol === PROTOCOL && s.status === 'open').length
    }
  }

  it('sends requests that follow each other on one stream to a point that serves several per stream', async () => {
    const addrs = await point()
    const alice = await client()

    for (let i = 0; i < 5; i++) {
      expect(await alice.node.services.rendezvous.register(addrs, `ns-${i}`)).to.be.a('number')
      expect((await alice.node.services.rendezvous.discover(addrs, `ns-${i}`, { cookie: null })).registrations).to.have.lengthOf(1)
    }

    expect(alice.opened()).to.equal(1)
    expect(alice.open()).to.equal(1)
  })

  it('opens more streams for requests in flight at once, and keeps at most maxStreamsPerPoint of them', async () => {
    const addrs = await point()
    const alice = await client({ maxStreamsPerPoint: 2 })
    await alice.node.services.rendezvous.register(addrs, 'ns')

    const pages = await Promise.all(Array.from({ length: 6 }, async () => alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })))
    expect(pages.every(page => page.registrations.length === 1)).to.be.true()
    expect(alice.opened()).to.be.above(2)
    expect(await eventually(() => alice.open() === 2), `${alice.open()} streams open`).to.be.true()

    // the next ones use the kept streams
    const before = alice.opened()
    await Promise.all([1, 2].map(async () => alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })))
    expect(alice.opened()).to.equal(before)
  })

  it('learns that a point closes after one answer, and opens a stream per request to it from then on', async () => {
    // a point of ours set to answer one request per stream behaves as Rust's and Nim's do
    const addrs = await point({ maxRequestsPerStream: 1 })
    const alice = await client()

    for (let i = 0; i < 6; i++) {
      expect(await alice.node.services.rendezvous.register(addrs, `ns-${i}`)).to.be.a('number')
    }

    // at most one request went again after it met a stream the point had closed
    expect(alice.opened()).to.be.within(6, 7)
    expect((alice.node.services.rendezvous as any).streams.answersOnePerStream({ id: addrs[0].getComponents().at(-1)?.value })).to.be.true()
    expect(await eventually(() => alice.open() === 0)).to.be.true()
  })

  it('works with a point that reads one request per stream, answers and closes, as Nim does', async () => {
    const node = await createNode()
    nodes.push(node)
    const fake = await startFakeServer(node, (request) => ok.register(7200n))
    const alice = await client()

    for (let i = 0; i < 5; i++) {
      expect(await alice.node.services.rendezvous.register(node.getMultiaddrs(), `ns-${i}`)).to.equal(7200)
    }
    // every REGISTER reached the point, each on a stream of its own
    expect(fake.requests.map(r => r.register?.ns)).to.deep.equal(['ns-0', 'ns-1', 'ns-2', 'ns-3', 'ns-4'])
  })

  it('keeps using streams to a point that closes them now and then, without taking it for a one-request point', async () => {
    const addrs = await point({ maxRequestsPerStream: 3 })
    const alice = await client()

    for (let i = 0; i < 9; i++) {
      expect(await alice.node.services.rendezvous.register(addrs, `ns-${i}`)).to.be.a('number')
    }

    expect(alice.opened()).to.be.within(3, 6)
    expect((alice.node.services.rendezvous as any).streams.answersOnePerStream({ id: addrs[0].getComponents().at(-1)?.value })).to.be.false()
  })

  it('closes a stream that stays unused for streamIdleTimeout', async () => {
    const addrs = await point()
    const alice = await client({ streamIdleTimeout: 200 })

    await alice.node.services.rendezvous.register(addrs, 'ns')
    expect(alice.open()).to.equal(1)
    expect(await eventually(() => alice.open() === 0, 3000)).to.be.true()

    // and opens a new one for the next request
    await alice.node.services.rendezvous.register(addrs, 'ns')
    expect(alice.opened()).to.equal(2)
  })

  it('opens a stream per request with reuseStreams: false, and for every UNREGISTER', async () => {
    const addrs = await point()
    const alice = await client({ reuseStreams: false })

    for (let i = 0; i < 4; i++) {
      await alice.node.services.rendezvous.register(addrs, 'ns')
    }
    expect(alice.opened()).to.equal(4)
    expect(await eventually(() => alice.open() === 0)).to.be.true()

    const bob = await client()
    await bob.node.services.rendezvous.register(addrs, 'ns')
    await bob.node.services.rendezvous.unregister(addrs, 'ns')
    await bob.node.services.rendezvous.unregister(addrs, 'ns')
    expect(bob.opened()).to.equal(3)
  })

  it('closes its kept streams when stopped, and opens new ones for requests after', async () => {
    const addrs = await point()
    const alice = await client()
    const service = alice.node.services.rendezvous as RendezvousClient & { stop(): Promise<void> }

    await service.register(addrs, 'ns')
    expect(alice.open()).to.equal(1)
    await service.stop()
    expect(await eventually(() => alice.open() === 0)).to.be.true()

    expect((await service.discover(addrs, 'ns', { cookie: null })).registrations).to.have.lengthOf(1)
    expect(alice.opened()).to.equal(2)
  })

  it('refuses a maxStreamsPerPoint or streamIdleTimeout that is not a positive whole number', async () => {
    await expect(createNode({ rendezvous: rendezvousClient({ maxStreamsPerPoint: 0 }) })).to.eventually.be.rejectedWith(/maxStreamsPerPoint/)
    await expect(createNode({ rendezvous: rendezvousClient({ streamIdleTimeout: -1 }) })).to.eventually.be.rejectedWith(/streamIdleTimeout/)
  })
})
