/**
 * The client against the real rendezvous server, both as libp2p services on real nodes over the memory transport.
 */
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { expect } from 'aegir/chai'
import all from 'it-all'
import pWaitFor from 'p-wait-for'
import { Registry } from 'prom-client'
import { rendezvousClient } from '../../src/client/index.ts'
import { DEFAULT_TTL_SECONDS } from '../../src/constants.ts'
import { NoAddressesError, NoRendezvousPointsError } from '../../src/errors.ts'
import { rendezvousServer } from '../../src/server/index.ts'
import { createNode, stopAll } from './fixtures/nodes.ts'
import type { RendezvousClient } from '../../src/client/index.ts'
import type { RendezvousServerService } from '../../src/server/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type ClientNode = Libp2p<{ rendezvous: RendezvousClient }>
type PointNode = Libp2p<{ rendezvous: RendezvousServerService }>

describe('rendezvous client against the rendezvous server', function () {
  this.timeout(30_000)

  let nodes: Libp2p[] = []

  async function startPoint (): Promise<{ node: PointNode, addrs: Multiaddr[] }> {
    const node: PointNode = await createNode({ rendezvous: rendezvousServer() })
    nodes.push(node)
    return { node, addrs: node.getMultiaddrs() }
  }

  async function startClients (count: number): Promise<ClientNode[]> {
    const clients = await Promise.all(Array.from({ length: count }, async () => createNode({ rendezvous: rendezvousClient() })))
    nodes.push(...clients)
    return clients
  }

  function ids (registrations: Array<{ peerId: { toString(): string } }>): string[] {
    return registrations.map(r => r.peerId.toString()).sort()
  }

  function idsOf (clients: Libp2p[]): string[] {
    return clients.map(c => c.peerId.toString()).sort()
  }

  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  it('registers, is discovered with its signed addresses, and is gone after unregistering', async () => {
    const point = await startPoint()
    const [alice, bob] = await startClients(2)

    expect(await alice.services.rendezvous.register(point.addrs, 'chat')).to.equal(DEFAULT_TTL_SECONDS)

    const found = await bob.services.rendezvous.discover(point.addrs, 'chat')
    expect(found.dropped).to.equal(0)
    expect(ids(found.registrations)).to.deep.equal(idsOf([alice]))
    const [registration] = found.registrations
    expect(registration.namespace).to.equal('chat')
    expect(registration.ttl).to.be.within(1, DEFAULT_TTL_SECONDS)
    expect(registration.multiaddrs.map(ma => ma.toString())).to.deep.equal(
      alice.getMultiaddrs().map(ma => ma.toString().replace(`/p2p/${alice.peerId.toString()}`, ''))
    )
    expect(found.cookie?.byteLength).to.be.at.least(8)

    await alice.services.rendezvous.unregister(point.addrs, 'chat')

    // UNREGISTER has no reply: wait until the point has processed it
    await pWaitFor(async () => (await bob.services.rendezvous.discover(point.addrs, 'chat', { cookie: null })).registrations.length === 0, {
      timeout: { milliseconds: 5000, message: 'the point still listed alice under "chat" 5 s after her UNREGISTER' }
    })
  })

  it('is granted the ttl it asks for within the point\'s bounds, and the default after a refused one', async () => {
    const point = await startPoint()
    const [alice] = await startClients(1)

    expect(await alice.services.rendezvous.register(point.addrs, 'a', { ttl: 10_000 })).to.equal(10_000)
    // below the point's 2 h minimum: refused with E_INVALID_TTL, then registered without a ttl
    expect(await alice.services.rendezvous.register(point.addrs, 'b', { ttl: 60 })).to.equal(DEFAULT_TTL_SECONDS)
  })

  it('pages through every registration with discoverAll', async () => {
    const point = await startPoint()
    const registrants = await startClients(7)
    const [seeker] = await startClients(1)
    await Promise.all(registrants.map(async c => c.services.rendezvous.register(point.addrs, 'many')))

    const found = await all(seeker.services.rendezvous.discoverAll(point.addrs, 'many', { limit: 3 }))

    expect(ids(found)).to.deep.equal(idsOf(registrants))
  })

  it('continues from its cookie: only new registrations, then nothing', async () => {
    const point = await startPoint()
    const [a, b, c, seeker] = await startClients(4)
    await a.services.rendezvous.register(point.addrs, 'chat')
    await b.services.rendezvous.register(point.addrs, 'chat')

    expect(ids((await seeker.services.rendezvous.discover(point.addrs, 'chat')).registrations)).to.deep.equal(idsOf([a, b]))

    await c.services.rendezvous.register(point.addrs, 'chat')
    expect(ids((await seeker.services.rendezvous.discover(point.addrs, 'chat')).registrations)).to.deep.equal(idsOf([c]))
    expect((await seeker.services.rendezvous.discover(point.addrs, 'chat')).registrations).to.be.empty()

    // starting over shows everyone again
    expect(ids((await seeker.services.rendezvous.discover(point.addrs, 'chat', { cookie: null })).registrations)).to.deep.equal(idsOf([a, b, c]))
  })

  it('sees a peer again after it re-registers', async () => {
    const point = await startPoint()
    const [a, b, seeker] = await startClients(3)
    await a.services.rendezvous.register(point.addrs, 'chat')
    await b.services.rendezvous.register(point.addrs, 'chat')
    await seeker.services.rendezvous.discover(point.addrs, 'chat')

    await a.services.rendezvous.register(point.addrs, 'chat')

    expect(ids((await seeker.services.rendezvous.discover(point.addrs, 'chat')).registrations)).to.deep.equal(idsOf([a]))
  })

  it('keeps cookies per namespace, so namespaces do not disturb each other', async () => {
    const point = await startPoint()
    const [a, b, seeker] = await startClients(3)
    await a.services.rendezvous.register(point.addrs, 'x')
    await b.services.rendezvous.register(point.addrs, 'y')

    expect(ids((await seeker.services.rendezvous.discover(point.addrs, 'x')).registrations)).to.deep.equal(idsOf([a]))
    expect(ids((await seeker.services.rendezvous.discover(point.addrs, 'y')).registrations)).to.deep.equal(idsOf([b]))
    expect((await seeker.services.rendezvous.discover(point.addrs, 'x')).registrations).to.be.empty()
  })

  it('recovers when handed a cookie of another namespace: the point refuses it and the client starts over', async () => {
    const point = await startPoint()
    const [a, seeker] = await startClients(2)
    await a.services.rendezvous.register(point.addrs, 'x')
    const { cookie } = await seeker.services.rendezvous.discover(point.addrs, 'x')

    const result = await seeker.services.rendezvous.discover(point.addrs, 'y', { cookie })

    expect(result.registrations).to.be.empty()
    expect(result.cookie).to.exist()
  })

  it('discovers every namespace when it names none, each registration with its own namespace', async () => {
    const point = await startPoint()
    const [a, b, seeker] = await startClients(3)
    await a.services.rendezvous.register(point.addrs, 'x')
    await b.services.rendezvous.register(point.addrs, 'y')

    const result = await seeker.services.rendezvous.discover(point.addrs)

    expect(result.registrations.map(r => `${r.namespace}:${r.peerId.toString()}`).sort()).to.deep.equal(
      [`x:${a.peerId.toString()}`, `y:${b.peerId.toString()}`].sort()
    )
  })

  it('finds a peer only at the point where it registered', async () => {
    const one = await startPoint()
    const two = await startPoint()
    const [a, b, seeker] = await startClients(3)
    await a.services.rendezvous.register(one.addrs, 'chat')
    await b.services.rendezvous.register(two.addrs, 'chat')

    expect(ids((await seeker.services.rendezvous.discover(one.addrs, 'chat')).registrations)).to.deep.equal(idsOf([a]))
    expect(ids((await seeker.services.rendezvous.discover(two.addrs, 'chat')).registrations)).to.deep.equal(idsOf([b]))
  })

  it('fails clearly with no rendezvous point or no address to register', async () => {
    const point = await startPoint()
    const [a] = await startClients(1)
    const silent: ClientNode = await createNode({ rendezvous: rendezvousClient() }, { listen: false })
    nodes.push(silent)

    await expect(a.services.rendezvous.register([], 'chat')).to.eventually.be.rejectedWith(NoRendezvousPointsError)
    await expect(silent.services.rendezvous.register(point.addrs, 'chat')).to.eventually.be.rejectedWith(NoAddressesError)
    // the silent node can still discover: it needs no address of its own to dial out
    expect((await silent.services.rendezvous.discover(point.addrs, 'chat')).registrations).to.be.empty()
  })

  it('turns a discovered record into a peer that can be dialled by its id', async () => {
    const point = await startPoint()
    const [a, seeker] = await startClients(2)
    await a.services.rendezvous.register(point.addrs, 'chat')

    const [registration] = (await seeker.services.rendezvous.discover(point.addrs, 'chat')).registrations
    expect(seeker.getConnections(a.peerId)).to.be.empty()

    expect(await seeker.peerStore.consumePeerRecord(registration.signedPeerRecord, { expectedPeer: registration.peerId })).to.be.true()
    const connection = await seeker.dial(registration.peerId)

    expect(connection.remotePeer.equals(a.peerId)).to.be.true()
  })

  it('runs next to the server in one node', async () => {
    const point = await startPoint()
    const both = await createNode({ server: rendezvousServer(), rendezvous: rendezvousClient() })
    nodes.push(both)
    const [a, b] = await startClients(2)

    // as a client, it registers elsewhere
    await both.services.rendezvous.register(point.addrs, 'chat')
    // as a point, it serves others
    await a.services.rendezvous.register(both.getMultiaddrs(), 'chat')

    expect(ids((await b.services.rendezvous.discover(point.addrs, 'chat')).registrations)).to.deep.equal(idsOf([both]))
    expect(ids((await b.services.rendezvous.discover(both.getMultiaddrs(), 'chat')).registrations)).to.deep.equal(idsOf([a]))
  })

  it('counts its requests by type and status in the node\'s metrics', async () => {
    const point = await startPoint()
    const registry = new Registry()
    const a: ClientNode = await createNode({ rendezvous: rendezvousClient() }, { metrics: prometheusMetrics({ registry, collectDefaultMetrics: false }) })
    nodes.push(a)

    await a.services.rendezvous.register(point.addrs, 'chat')
    // above the point's 72 h maximum: refused, then registered with the point's default
    await a.services.rendezvous.register(point.addrs, 'chat', { ttl: 300_000 })
    await a.services.rendezvous.discover(point.addrs, 'chat')
    await a.services.rendezvous.unregister(point.addrs, 'chat')

    const metric = await registry.getSingleMetric('libp2p_rendezvous_client_requests_total')?.get()
    const counts = Object.fromEntries((metric?.values ?? []).map(v => [v.labels.type_status, v.value]))
    expect(counts).to.deep.equal({
      register_ok: 2,
      register_e_invalid_ttl: 1,
      discover_ok: 1,
      unregister_sent: 1
    })
  })
})
