/**
 * Requests on streams kept open: one stream per point for requests that follow each other where the point serves
 * several per stream, a stream per request where it closes after one answer (learned, remembered for a while),
 * idle streams closed, many requests in flight at once each answered by its own reply, a stream reset in the middle
 * of a request sent again once or failed cleanly, requests for one namespace not held up by requests hung at the
 * same point for another, and one late answer not taken for a point that answers one request per stream. Real nodes
 * over the memory transport, against the real server (with a store slow for some namespaces) and scripted points
 * (test/interop/stream-reuse.spec.ts does the same against Go and Rust points).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import sinon from 'sinon'
import { rendezvousClient } from '../../src/client/index.ts'
import { ONE_REQUEST_EVIDENCE, REMEMBER_KIND_MS } from '../../src/client/point-kinds.ts'
import { HUNG_AFTER_MS } from '../../src/client/stream-slots.ts'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { rendezvousServer } from '../../src/server/index.ts'
import { fail, ok, releaseHanging, startFakeServer } from './fixtures/fake-server.ts'
import { createNode, stopAll } from './fixtures/nodes.ts'
import { SlowNamespacesStore } from './fixtures/slow-namespaces-store.ts'
import type { RendezvousClient, RendezvousClientInit } from '../../src/client/index.ts'
import type { RendezvousServerInit } from '../../src/server/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type ClientNode = Libp2p<{ rendezvous: RendezvousClient }>

const { MessageType, ResponseStatus } = Message

async function delay (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** How a promise ended, and when (ms after `started`) */
interface Settled { outcome: string, at: number }

function settle (promise: Promise<unknown>, started: number): { settled?: Settled, done: Promise<Settled> } {
  const entry: { settled?: Settled, done: Promise<Settled> } = {} as any
  entry.done = promise.then(() => 'ok', (err: any) => err?.status ?? err?.name ?? String(err)).then(outcome => {
    entry.settled = { outcome, at: Date.now() - started }
    return entry.settled
  })
  return entry
}

/** The id a stream bookkeeping entry is kept under: the point's peer id */
function pointKey (addrs: Multiaddr[]): { id: string } {
  return { id: addrs[0].getComponents().at(-1)?.value ?? '' }
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

  it('opens at most maxStreamsPerPoint streams for requests in flight at once; the others wait for one and then use it', async () => {
    const addrs = await point()
    const alice = await client({ maxStreamsPerPoint: 2 })
    await alice.node.services.rendezvous.register(addrs, 'ns')

    const pages = await Promise.all(Array.from({ length: 6 }, async () => alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })))
    expect(pages.every(page => page.registrations.length === 1)).to.be.true()
    expect(alice.opened()).to.equal(2)
    expect(alice.open()).to.equal(2)

    // the next ones use the kept streams
    await Promise.all([1, 2, 3].map(async () => alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })))
    expect(alice.opened()).to.equal(2)
  })

  it('keeps a burst within the streams a point accepts, with a stream per request too', async () => {
    // the point resets every stream of a connection beyond its second
    const addrs = await point({ maxInboundStreams: 2 })
    const alice = await client({ maxStreamsPerPoint: 2, reuseStreams: false })

    const ttls = await Promise.all(Array.from({ length: 20 }, async (_, i) => alice.node.services.rendezvous.register(addrs, `ns-${i}`)))
    expect(ttls.every(ttl => typeof ttl === 'number')).to.be.true()
    expect(alice.opened()).to.equal(20)
    await pWaitFor(() => alice.open() === 0, { timeout: { milliseconds: 5000, message: 'alice\'s streams did not all close' } })
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
    await pWaitFor(() => alice.open() === 0, { timeout: { milliseconds: 5000, message: 'alice\'s streams did not all close' } })
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
    await pWaitFor(() => alice.open() === 0, { timeout: { milliseconds: 3000, message: 'alice\'s idle stream was not closed' } })

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
    await pWaitFor(() => alice.open() === 0, { timeout: { milliseconds: 5000, message: 'alice\'s streams did not all close' } })

    const bob = await client()
    await bob.node.services.rendezvous.register(addrs, 'ns')
    await bob.node.services.rendezvous.unregister(addrs, 'ns')
    await bob.node.services.rendezvous.unregister(addrs, 'ns')
    expect(bob.opened()).to.equal(3)
  })

  it('gives back the place of a stream that failed to open, so that the next request to the point tries again at once', async () => {
    const somebody = await createNode()
    nodes.push(somebody)
    // a point nobody listens for: every dial fails at once
    const nowhere = [multiaddr(`/memory/rdv-nowhere-${Date.now()}/p2p/${somebody.peerId.toString()}`)]
    const alice = await client({ maxStreamsPerPoint: 1, timeout: 3000 })

    for (let i = 0; i < 3; i++) {
      const started = Date.now()
      const err = await alice.node.services.rendezvous.discover(nowhere, 'ns', { cookie: null }).catch((err: Error) => err)
      expect(err, `request ${i + 1}`).to.be.an.instanceOf(Error).with.property('name').that.does.not.equal('TimeoutError')
      expect(Date.now() - started, `request ${i + 1}`).to.be.below(2000)
    }
  })

  it('closes an idle kept stream to give an UNREGISTER its own when maxStreamsPerPoint are kept, rather than wait for one', async () => {
    const addrs = await point()
    const alice = await client({ maxStreamsPerPoint: 1, timeout: 2000 })

    await alice.node.services.rendezvous.register(addrs, 'ns')
    expect(alice.open()).to.equal(1)

    const started = Date.now()
    await alice.node.services.rendezvous.unregister(addrs, 'ns')
    // well within the client's timeout: it did not wait for the kept stream's idle timeout
    expect(Date.now() - started).to.be.below(1000)
    expect(alice.opened()).to.equal(2)
    await pWaitFor(() => alice.open() === 0, { timeout: { milliseconds: 5000, message: 'the kept stream and the UNREGISTER\'s were not both closed' } })

    // the registration is gone: the UNREGISTER reached the point
    expect((await alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })).registrations).to.be.empty()
  })

  it('counts an answered request as over: long after it, a request finding the kept stream busy waits for it, opening no other', async () => {
    const addrs = await point()
    const alice = await client({ maxStreamsPerPoint: 1 })
    await alice.node.services.rendezvous.register(addrs, 'ns')

    // past the time after which a request in flight counts as hung and stops holding its place
    await delay(HUNG_AFTER_MS + 300)
    await Promise.all([1, 2, 3].map(async () => alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })))
    expect(alice.opened()).to.equal(1)
  })

  it('closes its kept streams when stopped, and opens new ones for requests after', async () => {
    const addrs = await point()
    const alice = await client()
    const service = alice.node.services.rendezvous as RendezvousClient & { stop(): Promise<void> }

    await service.register(addrs, 'ns')
    expect(alice.open()).to.equal(1)
    await service.stop()
    await pWaitFor(() => alice.open() === 0, { timeout: { milliseconds: 5000, message: 'alice\'s streams did not all close' } })

    expect((await service.discover(addrs, 'ns', { cookie: null })).registrations).to.have.lengthOf(1)
    expect(alice.opened()).to.equal(2)
  })

  it('answers each of many requests in flight at once with its own reply, on at most maxStreamsPerPoint kept streams', async () => {
    const addrs = await point()
    const registrants = await Promise.all([1, 2].map(async () => client()))
    // ns-i holds alice, and bob too when i is even: each namespace's page is told apart from the others
    for (let i = 0; i < 8; i++) {
      await registrants[0].node.services.rendezvous.register(addrs, `ns-${i}`)
      if (i % 2 === 0) {
        await registrants[1].node.services.rendezvous.register(addrs, `ns-${i}`)
      }
    }
    const expected = (i: number): string[] => (i % 2 === 0 ? registrants : registrants.slice(0, 1)).map(r => r.node.peerId.toString()).sort()

    const carol = await client({ maxStreamsPerPoint: 3 })
    const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      if (i % 5 === 4) {
        // REGISTERs of carol's own in between, each in a namespace of its own
        return { i, ttl: await carol.node.services.rendezvous.register(addrs, `carol-${i}`, { ttl: 7200 + i }) }
      }
      return { i, page: await carol.node.services.rendezvous.discover(addrs, `ns-${i % 8}`, { cookie: null }) }
    }))

    for (const result of results) {
      if (result.page == null) {
        expect(result.ttl, `REGISTER ${result.i}`).to.equal(7200 + result.i)
        continue
      }
      expect(result.page.registrations.every(r => r.namespace === `ns-${result.i % 8}`), `DISCOVER ${result.i}`).to.be.true()
      expect(result.page.registrations.map(r => r.peerId.toString()).sort(), `DISCOVER ${result.i}`).to.deep.equal(expected(result.i % 8))
    }
    expect((await carol.node.services.rendezvous.discover(addrs, 'carol-4', { cookie: null })).registrations.map(r => r.peerId.toString())).to.deep.equal([carol.node.peerId.toString()])
    await pWaitFor(() => carol.open() <= 3, { timeout: { milliseconds: 5000, message: 'carol kept more than 3 streams open' } })
  })

  it('pairs each reply with its request when a point answers requests on one stream after different delays', async () => {
    const node = await createNode()
    nodes.push(node)
    // the point echoes each REGISTER's namespace number in the TTL, after a delay that varies from one to the next
    const fake = await startFakeServer(node, async (request, index) => {
      await delay((index * 7) % 23)
      return ok.register(BigInt(7200 + Number(request.register?.ns?.slice(3))))
    }, { requestsPerStream: 1000 })
    const alice = await client({ maxStreamsPerPoint: 2 })

    const ttls = await Promise.all(Array.from({ length: 30 }, async (_, i) => alice.node.services.rendezvous.register(node.getMultiaddrs(), `ns-${i}`)))

    expect(ttls).to.deep.equal(Array.from({ length: 30 }, (_, i) => 7200 + i))
    expect(fake.requests).to.have.lengthOf(30)
    // and the streams kept afterwards carry the next requests
    const streams = new Set(fake.streamOf)
    await alice.node.services.rendezvous.register(node.getMultiaddrs(), 'ns-99')
    expect(streams.has(fake.streamOf.at(-1) ?? -1)).to.be.true()
  })

  it('never hands a late reply to the next request: a stream whose request was given up is not kept', async () => {
    const node = await createNode()
    nodes.push(node)
    // the second request's reply comes after the client gave up on it
    const fake = await startFakeServer(node, async (request, index) => {
      if (index === 1) {
        await delay(500)
      }
      return ok.register(BigInt(7200 + index))
    }, { requestsPerStream: 1000 })
    const alice = await client()
    const addrs = node.getMultiaddrs()

    expect(await alice.node.services.rendezvous.register(addrs, 'ns')).to.equal(7200)
    await expect(alice.node.services.rendezvous.register(addrs, 'ns', { signal: AbortSignal.timeout(100) })).to.eventually.be.rejected()
    expect(await alice.node.services.rendezvous.register(addrs, 'ns')).to.equal(7202)
    expect(fake.streamOf).to.deep.equal([0, 0, 1])
  })

  describe('a stream reset by the point in the middle of a request', () => {
    const discoverReply = ok.discover([])

    it('sends the request again once, on a new stream, when the point resets a kept stream, and keeps the new one', async () => {
      const node = await createNode()
      nodes.push(node)
      const fake = await startFakeServer(node, (request, index) => index === 2 ? 'reset' : discoverReply, { requestsPerStream: 1000 })
      const alice = await client()
      const addrs = node.getMultiaddrs()

      for (let i = 0; i < 4; i++) {
        expect((await alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })).registrations).to.deep.equal([])
      }

      // the third request met the reset on stream 0, went again on stream 1, and the fourth followed it there
      expect(fake.streamOf).to.deep.equal([0, 0, 0, 1, 1])
      expect(fake.requests.every(r => r.type === MessageType.DISCOVER)).to.be.true()
      expect(alice.opened()).to.equal(2)
      expect((alice.node.services.rendezvous as any).streams.answersOnePerStream({ id: node.peerId.toString() })).to.be.false()
    })

    it('fails the request with InvalidResponseError when the new stream is reset too, and serves the next one', async () => {
      const node = await createNode()
      nodes.push(node)
      const fake = await startFakeServer(node, (request, index) => index === 2 || index === 3 ? 'reset' : discoverReply, { requestsPerStream: 1000 })
      const alice = await client({ timeout: 20_000 })
      const addrs = node.getMultiaddrs()

      await alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })
      await alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })
      await expect(alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })).to.eventually.be.rejected.with.property('name', 'InvalidResponseError')
      // sent twice, no more
      expect(fake.streamOf).to.deep.equal([0, 0, 0, 1])

      expect((await alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })).registrations).to.deep.equal([])
      expect(fake.streamOf).to.deep.equal([0, 0, 0, 1, 2])
      await pWaitFor(() => alice.open() === 1, { timeout: { milliseconds: 5000, message: 'alice did not keep exactly 1 stream open' } })
    })

    it('does not send a request again when the point answers it on a kept stream with bytes that do not decode, and keeps the stream open', async () => {
      const node = await createNode()
      nodes.push(node)
      // the second request, on the stream kept after the first: a reply that is no message, the stream left open
      const fake = await startFakeServer(node, (request, index) => index === 1 ? { raw: new Uint8Array([0xff, 0xff, 0xff]) } : discoverReply, { requestsPerStream: 1000 })
      const alice = await client()
      const addrs = node.getMultiaddrs()

      await alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })
      await expect(alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })).to.eventually.be.rejected.with.property('name', 'InvalidResponseError')
      // not sent again: the point had not closed the stream, it answered badly
      expect(fake.streamOf).to.deep.equal([0, 0])
    })

    it('does not send a request again when the point resets the new stream it came on', async () => {
      const node = await createNode()
      nodes.push(node)
      const fake = await startFakeServer(node, (request, index) => index === 0 ? 'reset' : fail.discover(ResponseStatus.E_UNAVAILABLE), { requestsPerStream: 1000 })
      const alice = await client()
      const addrs = node.getMultiaddrs()

      await expect(alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })).to.eventually.be.rejected.with.property('name', 'InvalidResponseError')
      expect(fake.requests).to.have.lengthOf(1)

      // the point's next answer reaches the caller as it is
      await expect(alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null })).to.eventually.be.rejected.with.property('status', ResponseStatus.E_UNAVAILABLE)
      expect(fake.streamOf).to.deep.equal([0, 1])
    })
  })

  describe('requests hung at the point', () => {
    it('answers a DISCOVER for one namespace while maxStreamsPerPoint requests for another hang at the same point', async function () {
      this.timeout(40_000)
      const store = new SlowNamespacesStore()
      store.delays.set('stuck', 40_000)
      // the point waits for its store longer than the client does, as in the review: the client's timeout ends them
      // (a point answers E_UNAVAILABLE at 80% of its timeout, so 11.2 s; and not much later, since the point's stop()
      // waits for its requests in flight)
      const addrs = await point({ store, timeout: 14_000 })
      // the defaults: timeout 10 s, maxStreamsPerPoint 4
      const alice = await client()
      await alice.node.services.rendezvous.register(addrs, 'free')

      const started = Date.now()
      const stuck = Array.from({ length: 4 }, () => settle(alice.node.services.rendezvous.discover(addrs, 'stuck', { cookie: null }), started))
      await pWaitFor(() => store.waiting === 4, { timeout: { milliseconds: 5000, message: 'the 4 requests did not reach the store' } })

      const asked = Date.now()
      const page = await alice.node.services.rendezvous.discover(addrs, 'free', { cookie: null })
      const waited = Date.now() - asked

      expect(page.registrations.map(r => r.peerId.toString())).to.deep.equal([alice.node.peerId.toString()])
      expect(stuck.map(s => s.settled), `answered after ${waited} ms: the hung requests were still in flight`).to.deep.equal([undefined, undefined, undefined, undefined])
      // eslint-disable-next-line no-console
      console.log(`      DISCOVER behind 4 hung requests answered in ${waited} ms (HUNG_AFTER_MS ${HUNG_AFTER_MS}, timeout 10000)`)

      // the hung ones time out; the stream opened past them was not kept, and a stream is kept for what follows
      const outcomes = await Promise.all(stuck.map(async s => s.done))
      expect(outcomes.map(o => o.outcome)).to.deep.equal(Array(4).fill('TimeoutError'))
      await pWaitFor(() => alice.open() === 0, { timeout: { milliseconds: 5000, message: 'alice\'s streams did not all close' } })
      await alice.node.services.rendezvous.discover(addrs, 'free', { cookie: null })
      expect(alice.open()).to.equal(1)
    })

    it('opens at most twice maxStreamsPerPoint streams however many requests hang', async () => {
      const store = new SlowNamespacesStore()
      store.delays.set('stuck', 20_000)
      // the point answers E_UNAVAILABLE at 80% of its timeout, after the client's timeouts ended the requests; and
      // not much later, since the point's stop() waits for its requests in flight
      const addrs = await point({ store, timeout: 4000 })
      const alice = await client({ maxStreamsPerPoint: 2, timeout: 2000 + HUNG_AFTER_MS })

      const started = Date.now()
      const stuck = Array.from({ length: 10 }, () => settle(alice.node.services.rendezvous.discover(addrs, 'stuck', { cookie: null }), started))
      let most = 0
      while (stuck.some(s => s.settled == null)) {
        most = Math.max(most, alice.open())
        await delay(20)
      }

      expect(most, 'most streams open at once').to.equal(4)
      expect(stuck.map(s => s.settled?.outcome)).to.deep.equal(Array(10).fill('TimeoutError'))
    })

    it('keeps using streams to a point after one late answer to a stream\'s second request', async () => {
      const store = new SlowNamespacesStore()
      store.delays.set('late', 1500)
      const addrs = await point({ store })
      const alice = await client({ timeout: 1000 })

      await alice.node.services.rendezvous.register(addrs, 'free')
      // the second request on the stream: answered after the client gave up
      await expect(alice.node.services.rendezvous.discover(addrs, 'late', { cookie: null })).to.eventually.be.rejected.with.property('name', 'TimeoutError')

      const before = alice.opened()
      for (let i = 0; i < 20; i++) {
        expect((await alice.node.services.rendezvous.discover(addrs, 'free', { cookie: null })).registrations).to.have.lengthOf(1)
      }

      // one stream in place of the one given up, not 20
      expect(alice.opened() - before, 'streams opened for 20 DISCOVERs').to.equal(1)
      expect((alice.node.services.rendezvous as any).streams.answersOnePerStream(pointKey(addrs))).to.be.false()
    })

    it(`takes a point that leaves ${ONE_REQUEST_EVIDENCE} second requests in a row unanswered for one that answers one per stream, and checks again after REMEMBER_KIND_MS`, async () => {
      const node = await createNode()
      nodes.push(node)
      const discoverReply = ok.discover([])
      // answers the first request of each stream, never the next ones, and never closes
      const fake = await startFakeServer(node, (request, index) => fake.streamOf.filter(s => s === fake.streamOf[index]).length === 1 ? discoverReply : 'hang', { requestsPerStream: 1000 })
      const alice = await client({ timeout: 500 })
      const addrs = node.getMultiaddrs()
      const discover = async (): Promise<string> => alice.node.services.rendezvous.discover(addrs, 'ns', { cookie: null }).then(() => 'ok', (err: any) => err.name)

      const outcomes: string[] = []
      for (let i = 0; i < ONE_REQUEST_EVIDENCE; i++) {
        outcomes.push(await discover(), await discover())
      }
      expect(outcomes).to.deep.equal(Array(ONE_REQUEST_EVIDENCE).fill(['ok', 'TimeoutError']).flat())
      expect((alice.node.services.rendezvous as any).streams.answersOnePerStream(pointKey(addrs))).to.be.true()

      // a stream per request from now on: every one answered
      expect([await discover(), await discover()]).to.deep.equal(['ok', 'ok'])
      expect(new Set(fake.streamOf.slice(-2)).size).to.equal(2)

      // only Date moves: quick-lru reads it for the age of what it holds
      const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] })
      try {
        clock.tick(REMEMBER_KIND_MS + 1000)
        expect((alice.node.services.rendezvous as any).streams.answersOnePerStream(pointKey(addrs))).to.be.false()
      } finally {
        clock.restore()
      }
      releaseHanging(fake)
    })
  })

  it('refuses a maxStreamsPerPoint or streamIdleTimeout that is not a positive whole number, when the factory is called', () => {
    expect(() => rendezvousClient({ maxStreamsPerPoint: 0 })).to.throw(/maxStreamsPerPoint/)
    expect(() => rendezvousClient({ streamIdleTimeout: -1 })).to.throw(/streamIdleTimeout/)
  })
})
