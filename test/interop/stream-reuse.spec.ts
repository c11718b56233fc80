/**
 * Our client's requests on kept streams against the other implementations' points, built from their own libraries
 * by test/interop/build.sh: a go-libp2p-rendezvous point reads requests one after another on a stream, so one
 * stream carries them all; a rust-libp2p point (request-response) answers one request per stream and closes it,
 * which the client learns and remembers for that point only, opening a stream per request there from then on.
 * Skipped, naming the build command, when the binaries are missing.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { PROTOCOL } from '../../src/constants.ts'
import { createHelper } from './fixtures/helpers.ts'
import { missingPeers, PeerProcess, stopAllPeers } from './fixtures/peer-process.ts'
import type { Helper } from './fixtures/helpers.ts'
import type { RendezvousClientInit } from '../../src/client/index.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A client of ours, with the rendezvous streams it opened per point and the ones open now */
interface CountingClient {
  node: Helper
  opened(point: PeerProcess): number
  open(point: PeerProcess): number
  answersOnePerStream(point: PeerProcess): boolean
}

describe('interop: requests on kept streams at Go and Rust points', function () {
  this.timeout(120_000)

  const missing = missingPeers()
  let go: PeerProcess
  let rust: PeerProcess
  const nodes: Helper[] = []

  before(async function () {
    if (missing != null) {
      // eslint-disable-next-line no-console
      console.log(`      SKIPPED: ${missing}`)
      this.skip()
    }

    [go, rust] = await Promise.all([PeerProcess.start('go', 'server'), PeerProcess.start('rust', 'server')])
  })

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async node => node.stop()))
  })

  after(async () => {
    await stopAllPeers()
  })

  async function client (init: RendezvousClientInit = {}): Promise<CountingClient> {
    const node = await createHelper(init)
    nodes.push(node)
    const connectionManager = (node as any).components.connectionManager
    const openStream = connectionManager.openStream.bind(connectionManager)
    const opened = new Map<string, number>()
    connectionManager.openStream = async (target: Multiaddr, protocol: string, ...rest: any[]) => {
      if (protocol === PROTOCOL) {
        const id = target.getComponents().findLast(c => c.name === 'p2p')?.value ?? ''
        opened.set(id, (opened.get(id) ?? 0) + 1)
      }
      return openStream(target, protocol, ...rest)
    }
    return {
      node,
      opened: point => opened.get(point.peerId) ?? 0,
      open: point => node.getConnections()
        .filter(c => c.remotePeer.toString() === point.peerId)
        .flatMap(c => c.streams)
        .filter(s => s.protocol === PROTOCOL && s.status === 'open').length,
      answersOnePerStream: point => (node.services.rendezvous as any).streams.answersOnePerStream({ id: point.peerId })
    }
  }

  it('sends requests one after another on one kept stream to a go-libp2p-rendezvous point', async () => {
    const alice = await client()
    const point = multiaddr(go.multiaddr)

    for (let i = 0; i < 5; i++) {
      expect(await alice.node.services.rendezvous.register(point, `reuse-go-${i}`)).to.equal(7200)
      const page = await alice.node.services.rendezvous.discover(point, `reuse-go-${i}`, { cookie: null })
      expect(page.registrations.map(r => r.peerId.toString())).to.deep.equal([alice.node.peerId.toString()])
    }

    expect(alice.opened(go)).to.equal(1)
    expect(alice.open(go)).to.equal(1)
    expect(alice.answersOnePerStream(go)).to.be.false()
  })

  it('answers many requests in flight at once at a Go point, each with its own reply, on at most maxStreamsPerPoint streams', async () => {
    const [alice, bob] = await Promise.all([client(), client()])
    const point = multiaddr(go.multiaddr)
    // even namespaces hold alice and bob, odd ones alice alone
    for (let i = 0; i < 4; i++) {
      await alice.node.services.rendezvous.register(point, `burst-go-${i}`)
      if (i % 2 === 0) {
        await bob.node.services.rendezvous.register(point, `burst-go-${i}`)
      }
    }

    const carol = await client({ maxStreamsPerPoint: 3 })
    const pages = await Promise.all(Array.from({ length: 24 }, async (_, i) => ({ i, page: await carol.node.services.rendezvous.discover(point, `burst-go-${i % 4}`, { cookie: null }) })))

    for (const { i, page } of pages) {
      const expected = (i % 2 === 0 ? [alice, bob] : [alice]).map(c => c.node.peerId.toString()).sort()
      expect(page.registrations.map(r => r.peerId.toString()).sort(), `DISCOVER ${i}`).to.deep.equal(expected)
      expect(page.registrations.every(r => r.namespace === `burst-go-${i % 4}`), `DISCOVER ${i}`).to.be.true()
    }
    expect(carol.opened(go)).to.equal(3)
  })

  it('closes a stream to a Go point once idle, and sends the next request on a new one', async () => {
    const alice = await client({ streamIdleTimeout: 300 })
    const point = multiaddr(go.multiaddr)

    await alice.node.services.rendezvous.register(point, 'idle-go')
    expect(alice.open(go)).to.equal(1)
    await pWaitFor(() => alice.open(go) === 0, { timeout: { milliseconds: 5000, message: 'streams to the Go point still open' } })

    expect((await alice.node.services.rendezvous.discover(point, 'idle-go', { cookie: null })).registrations).to.have.lengthOf(1)
    expect(alice.opened(go)).to.equal(2)
  })

  it('learns that a rust-libp2p point answers one request per stream and opens a stream per request there, while it keeps one stream for a Go point', async () => {
    const alice = await client()
    const atRust = multiaddr(rust.multiaddr)
    const atGo = multiaddr(go.multiaddr)

    // the first requests teach the client what the Rust point does (one of them may meet a stream it had closed)
    for (let i = 0; i < 3; i++) {
      expect(await alice.node.services.rendezvous.register(atRust, `mixed-${i}`)).to.equal(7200)
      expect(await alice.node.services.rendezvous.register(atGo, `mixed-${i}`)).to.equal(7200)
    }
    expect(alice.answersOnePerStream(rust)).to.be.true()
    expect(alice.answersOnePerStream(go)).to.be.false()

    // from then on: a stream per request at the Rust point, none new at the Go point
    const before = { rust: alice.opened(rust), go: alice.opened(go) }
    for (let i = 0; i < 3; i++) {
      const [fromRust, fromGo] = await Promise.all([
        alice.node.services.rendezvous.discover(atRust, `mixed-${i}`, { cookie: null }),
        alice.node.services.rendezvous.discover(atGo, `mixed-${i}`, { cookie: null })
      ])
      expect(fromRust.registrations.map(r => r.peerId.toString())).to.deep.equal([alice.node.peerId.toString()])
      expect(fromGo.registrations.map(r => r.peerId.toString())).to.deep.equal([alice.node.peerId.toString()])
    }
    expect(alice.opened(rust) - before.rust).to.equal(3)
    expect(alice.opened(go)).to.equal(before.go)
    expect(before.go).to.equal(1)
    await pWaitFor(() => alice.open(rust) === 0, { timeout: { milliseconds: 5000, message: 'streams to the Rust point still open' } })
  })
})
