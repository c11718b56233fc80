/**
 * Resource exhaustion: streams opened and left silent (slowloris), streams that read their reply and never
 * close, one peer registering under thousands of namespaces, and requests of the largest size the server
 * reads, each while an honest client keeps registering and discovering. The process's memory is read (after a
 * full collection) before and after each attack and printed; only generous bounds are asserted.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { frame } from './fixtures/frames.ts'
import { NodeSet, openRendezvousStreams, yieldToEventLoop } from './fixtures/nodes.ts'
import { CrashWatch, mb, readMemory, report } from './fixtures/process.ts'
import { discoverRaw, exchangeBytes, ownRecord, registerRaw } from './fixtures/raw.ts'
import type { ClientNode } from './fixtures/nodes.ts'
import type { MemoryReading } from './fixtures/process.ts'
import type { Stream } from '@libp2p/interface'

const { MessageType, ResponseStatus } = Message

/** What a loaded, shared 2-core machine may add to a timeout before a stream counts as left open */
const SLACK = 5000
const MAX_GROWTH = 200 * 1024 * 1024

function reportMemory (name: string, before: MemoryReading, after: MemoryReading): void {
  report(`${name} memory`, `heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}, rss ${mb(before.rss)} -> ${mb(after.rss)}`)
}

/** Resolves once the stream has ended (closed, reset or aborted), with how long that took */
async function ended (stream: Stream): Promise<number> {
  const started = performance.now()

  if (stream.status !== 'open') {
    return 0
  }

  await new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
  return performance.now() - started
}

describe('stress: resource exhaustion', function () {
  this.timeout(180_000)
  const nodes = new NodeSet()
  const crashes = new CrashWatch()

  before(() => { crashes.start() })
  after(() => { crashes.stop() })

  afterEach(async () => {
    await nodes.stopAll()
    expect(crashes.errors, crashes.describe()).to.be.empty()
  })

  it('ends streams that never send when the timeout runs out, and serves honest clients while they are held open', async () => {
    // long enough that the silent streams are all still held when the honest client comes, on a loaded machine too
    const timeout = 8000
    // fewer requests at once than the attackers hold streams: silent streams must not take their places
    const server = await nodes.server({ timeout, maxConcurrentRequests: 64, maxInboundStreams: 32 })
    const attackers = await nodes.clients(5)
    const honest = await nodes.client({ timeout: 10_000 })
    const before = readMemory()

    // 5 connections x 30 streams = 150 silent streams, each accepted by the server and left without a byte
    const opened = performance.now()
    const silent = async (attacker: ClientNode): Promise<Stream | undefined> =>
      attacker.dialProtocol(server.getMultiaddrs(), PROTOCOL, { signal: AbortSignal.timeout(SLACK) }).catch(() => undefined)
    const idle = (await Promise.all(attackers.flatMap(attacker => Array.from({ length: 30 }, async () => silent(attacker)))))
      .filter((s): s is Stream => s != null)
    const endings = idle.map(async stream => ended(stream))

    const dialed = performance.now() - opened

    // while they are held: the honest client is served, at the first attempt
    const held = openRendezvousStreams(server).length
    const point = server.getMultiaddrs()[0]
    const asked = performance.now()
    const registered = await honest.services.rendezvous.register(point, 'during-slowloris')
    const found = await honest.services.rendezvous.discover(point, 'during-slowloris', { cookie: null })
    const servedIn = performance.now() - asked
    const stillHeld = openRendezvousStreams(server).length

    const durations = await Promise.all(endings)
    // the client keeps a stream per point open for its next request: only the attackers' streams are left to end
    await honest.stop()
    // a boolean, so that the figures are reported before the assertion
    const drained = await pWaitFor(() => openRendezvousStreams(server).length === 0 && pWaitFor.resolveWith(true), { interval: 50, timeout: { milliseconds: SLACK, fallback: () => false } })
    const after = readMemory()

    report('slowloris', `${idle.length} silent streams opened in ${dialed.toFixed(0)} ms (${held} open on the server before and ${stillHeld} after the honest client's register + discover, which took ${servedIn.toFixed(0)} ms)`)
    report('slowloris streams ended after', `${Math.min(...durations).toFixed(0)}-${Math.max(...durations).toFixed(0)} ms (server timeout ${timeout} ms)`)
    reportMemory('slowloris', before, after)

    expect(idle.length).to.be.above(64)
    expect(stillHeld, 'the silent streams were still held while the honest client was served').to.be.above(64)
    expect(registered).to.be.above(0)
    expect(found.registrations.map(r => r.peerId.toString())).to.include(honest.peerId.toString())
    expect(idle.filter(s => s.status === 'open')).to.be.empty()
    expect(Math.max(...durations)).to.be.below(timeout + SLACK)
    expect(drained, `${openRendezvousStreams(server).length} streams still open on the server`).to.be.true()
    expect(after.heapUsed - before.heapUsed).to.be.below(MAX_GROWTH)
  })

  it('keeps no stream of a client that reads its reply and never closes its side beyond streamIdleTimeout', async () => {
    // the server waits this long for a next request on the stream (Go's DiscoverAsync sends one every 2 min)
    const timeout = 1000
    const server = await nodes.server({ timeout, streamIdleTimeout: timeout })
    const attacker = await nodes.client()
    const request = frame(Message.encode({ type: MessageType.DISCOVER, discover: { ns: 'half-open' } }))

    const streams = await Promise.all(Array.from({ length: 20 }, async () => {
      const stream = await attacker.dialProtocol(server.getMultiaddrs(), PROTOCOL)
      // read the reply, never close: the write side stays open for as long as the server lets it
      const reply = new Promise<number>(resolve => {
        let bytes = 0
        stream.addEventListener('message', (evt) => { bytes += evt.data.byteLength })
        stream.addEventListener('remoteCloseWrite', () => { resolve(bytes) }, { once: true })
        stream.addEventListener('close', () => { resolve(bytes) }, { once: true })
      })
      stream.send(request)
      return { stream, reply: await reply }
    }))

    expect(streams.every(s => s.reply > 0), 'every DISCOVER was answered').to.be.true()
    // a boolean, so that the figures are reported before the assertion
    const drained = await pWaitFor(() => openRendezvousStreams(server).length === 0 && pWaitFor.resolveWith(true), { interval: 50, timeout: { milliseconds: timeout + SLACK, fallback: () => false } })
    report('half-open streams left on the server after their reply', `${openRendezvousStreams(server).length} of ${streams.length}`)
    expect(drained, `${openRendezvousStreams(server).length} answered streams still open on the server ${timeout + SLACK} ms later`).to.be.true()
  })

  it('holds one peer flooding REGISTER across 2,000 namespaces to maxRegistrationsPerPeer with E_NOT_AUTHORIZED, others unaffected', async () => {
    const server = await nodes.server()
    const limit = server.services.rendezvous.config.maxRegistrationsPerPeer
    const flooder = await nodes.client()
    const honest = await nodes.client({ timeout: 10_000 })
    const record = await ownRecord(flooder)
    const namespaces = Array.from({ length: 2 * limit }, (_, i) => `flood/${i}`)
    const statuses = new Map<string, number>()
    const before = readMemory()
    const honestLoop = nodes.honest(honest, server)
    const started = performance.now()
    let next = 0

    // 16 streams at a time on the flooder's connection, in order, so that the first `limit` are the ones kept
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < namespaces.length) {
        const ns = namespaces[next++]
        const response = await registerRaw(flooder, server, { ns, signedPeerRecord: record })
        statuses.set(response.status ?? 'none', (statuses.get(response.status ?? 'none') ?? 0) + 1)
        await yieldToEventLoop()
      }
    }))

    const seconds = (performance.now() - started) / 1000
    await honestLoop.stop()
    const stats = await server.services.rendezvous.store.stats(Date.now())
    const after = readMemory()

    report('register flood', `${namespaces.length} namespaces in ${seconds.toFixed(1)} s: ${[...statuses.entries()].map(([s, n]) => `${s} ${n}`).join(', ')}; store holds ${stats.registrations} registrations in ${stats.namespaces} namespaces; honest rounds ${honestLoop.rounds}`)
    reportMemory('register flood', before, after)

    expect(statuses.get(ResponseStatus.OK)).to.equal(limit)
    expect(statuses.get(ResponseStatus.E_NOT_AUTHORIZED)).to.equal(namespaces.length - limit)
    expect(stats.registrations).to.equal(limit + 1)
    // a registration the flooder holds can still be refreshed; a new one still cannot
    expect((await registerRaw(flooder, server, { ns: 'flood/0', signedPeerRecord: record })).status).to.equal(ResponseStatus.OK)
    expect((await registerRaw(flooder, server, { ns: 'flood/new', signedPeerRecord: record })).status).to.equal(ResponseStatus.E_NOT_AUTHORIZED)
    expect(honestLoop.problems, honestLoop.problems.slice(0, 5).join('\n')).to.be.empty()
    expect(honestLoop.rounds).to.be.above(0)
    expect(after.heapUsed - before.heapUsed).to.be.below(MAX_GROWTH)
  })

  it('answers REGISTERs of exactly maxRequestSize bytes, resets those one byte over, and pages their records under maxResponseSize', async () => {
    // records as large as a request, with hundreds of addresses: the defaults (4 KiB, 64 addresses) would refuse
    // them before they reach the store
    const server = await nodes.server({ maxRecordSize: 16 * 1024, maxRecordAddresses: 1000 })
    const { maxRequestSize, maxResponseSize } = server.services.rendezvous.config
    const sender = await nodes.client()
    const honest = await nodes.client({ timeout: 10_000 })
    const reader = await nodes.client()

    // a record with as many addresses as fit, then a namespace that tops the request up to the exact size
    const sized = await largestRegister(sender, maxRequestSize)
    expect(sized.exact.byteLength).to.equal(maxRequestSize)
    expect(sized.over.byteLength).to.equal(maxRequestSize + 1)

    const before = readMemory()
    const honestLoop = nodes.honest(honest, server)
    const count = 100
    const results: Array<{ exact?: string, over: string }> = []

    // 10 pairs at a time: the sender's one connection may have 32 streams open at the server (maxInboundStreams)
    for (let batch = 0; batch < count; batch += 10) {
      results.push(...await Promise.all(Array.from({ length: 10 }, async (_, j) => {
        // same size, another namespace of the same length
        const exact = await exchangeBytes(sender, server, sized.withNamespaceIndex(batch + j))
        const over = await exchangeBytes(sender, server, sized.over).then(reply => reply == null ? 'no reply' : 'reply', (err: Error) => err.name)
        return { exact: exact?.registerResponse?.status, over }
      })))
    }
    await honestLoop.stop()

    expect(results.map(r => r.exact)).to.deep.equal(Array(count).fill(ResponseStatus.OK))
    expect(results.every(r => r.over !== 'reply'), `over-size requests: ${results.map(r => r.over).join(', ')}`).to.be.true()

    // 100 records of ~16 KiB are ~1.6 MiB: more than one response may hold, so the pages must be cut and chained
    const pages: number[] = []
    const seen = new Set<string>()
    let cookie: Uint8Array<ArrayBuffer> | undefined

    for (let page = 0; page < 10; page++) {
      const response = await discoverRaw(reader, server, { ns: undefined, cookie })
      const size = Message.encode({ type: MessageType.DISCOVER_RESPONSE, discoverResponse: response }).byteLength
      expect(response.status).to.equal(ResponseStatus.OK)
      expect(size).to.be.at.most(maxResponseSize)
      pages.push(response.registrations.length)

      for (const registration of response.registrations) {
        expect(seen.has(registration.ns ?? ''), `${registration.ns} twice`).to.be.false()
        seen.add(registration.ns ?? '')
      }

      if (response.registrations.length === 0) {
        break
      }
      cookie = response.cookie
    }

    const after = readMemory()
    report('maximal requests', `${count} REGISTERs of ${maxRequestSize} bytes answered OK, ${count} of ${maxRequestSize + 1} bytes refused; discover pages of ${pages.join(' + ')} registrations under ${maxResponseSize} bytes each; honest rounds ${honestLoop.rounds}`)
    reportMemory('maximal requests', before, after)

    expect(seen.size).to.equal(count + 1) // and the honest client's
    expect(pages.filter(n => n > 0).length).to.be.above(1)
    expect(honestLoop.problems, honestLoop.problems.slice(0, 5).join('\n')).to.be.empty()
    expect(after.heapUsed - before.heapUsed).to.be.below(MAX_GROWTH)
  })
})

interface SizedRegister {
  /** A valid REGISTER (no length prefix) of exactly the size asked for */
  exact: Uint8Array
  /** The same, one byte longer */
  over: Uint8Array
  /** `exact` with a namespace of the same length that ends in `i` */
  withNamespaceIndex(i: number): Uint8Array
}

/**
 * The largest REGISTER the server reads, as valid as any: a record signed by the sender with as many addresses as
 * fit, and a namespace of the length that brings the message to exactly `size` bytes.
 */
async function largestRegister (sender: ClientNode, size: number): Promise<SizedRegister> {
  const encode = (ns: string, record: Uint8Array<ArrayBuffer>): Uint8Array => Message.encode({ type: MessageType.REGISTER, register: { ns, signedPeerRecord: record } })
  const addresses = [...sender.getMultiaddrs()]
  let record = await ownRecord(sender, addresses)

  // grow the record until a short namespace no longer leaves room for a 200-byte one
  while (encode('x', record).byteLength < size - 250) {
    const n = addresses.length
    addresses.push(multiaddr(`/dns4/host-${n}.${'padding'.repeat(4)}.example.com/tcp/${1000 + n}`))
    record = await ownRecord(sender, addresses)
  }

  for (let length = 10; length <= 255; length++) {
    const ns = 'm'.repeat(length)

    if (encode(ns, record).byteLength === size && encode(`${ns}m`, record).byteLength === size + 1) {
      return {
        exact: encode(ns, record),
        over: encode(`${ns}m`, record),
        withNamespaceIndex: (i) => encode(`${ns.slice(0, -4)}${String(i).padStart(4, '0')}`, record)
      }
    }
  }

  throw new Error(`no namespace length brings a REGISTER with this record to ${size} bytes`)
}
