/**
 * The discovery module across stops and restarts, relay needs that come and go, and points that behave oddly
 * (repeat a full page, drop idle connections), plus its setup warnings, on real nodes: a real rendezvous server (or
 * a scripted one where a point must misbehave), real libp2p nodes on `@libp2p/memory`, relays on TCP 127.0.0.1.
 * Each test began as a defect found by the review of issue 12 (its item number is in a comment beside it).
 */
import { start, stop } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { Circuit } from '@multiformats/multiaddr-matcher'
import { expect } from 'aegir/chai'
import delay from 'delay'
import { Message } from '../../../src/pb/rendezvous.ts'
import { MemoryRegistrationStore, rendezvousServer } from '../../../src/server/index.ts'
import { ok, startFakeServer } from '../../client/fixtures/fake-server.ts'
import { fakePeer } from '../../client/fixtures/records.ts'
import { createMemoryNode, memoryAddress } from '../../fixtures/memory-node.ts'
import { FAST_POINT, createPeer, createPoint, stopAll, waitFor } from './fixtures.ts'
import type { PeerNode, PointNode } from './fixtures.ts'
import type { DiscoveryWarning } from '../../../src/discovery/warnings.ts'
import type { RegisterInput, RegisterLimits, RegisterOutcome } from '../../../src/server/store/registration-store.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** The memory store, counting REGISTERs and holding them while `gate` is set */
class GatedStore extends MemoryRegistrationStore {
  registers = 0
  gate?: Promise<void>

  async register (input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome> {
    this.registers++
    await this.gate
    return super.register(input, limits, now)
  }
}

describe('discovery across restarts, relays and odd points', function () {
  this.timeout(40_000)

  let nodes: Array<PeerNode | PointNode | Libp2p>

  beforeEach(() => {
    nodes = []
  })

  afterEach(async () => {
    await stopAll(nodes)
  })

  async function peer (options: Parameters<typeof createPeer>[0]): Promise<PeerNode> {
    const node = await createPeer(options)
    nodes.push(node)
    return node
  }

  async function lists (observer: PeerNode, ns: string, target: PeerId): Promise<boolean> {
    return (await observer.services.rendezvous.discover(ns)).some(r => r.peerId.equals(target))
  }

  // issue 12 item 2
  it('a stop while a REGISTER is in flight leaves the node unregistered', async () => {
    const store = new GatedStore()
    const point = await createPoint({ store })
    nodes.push(point)
    const a = await peer({ points: [point], pubsub: false, discovery: { ttl: 30 } })
    const b = await peer({ points: [point], pubsub: false })

    let release!: () => void
    store.gate = new Promise(resolve => { release = resolve })
    const registered = store.registers
    void a.services.rendezvous.register('in-flight').catch(() => {})
    expect(await waitFor(() => store.registers > registered, 3000)).to.be.true('the REGISTER reached the store')

    const stopping = stop(a.services.rendezvous)
    // the point takes its time: the REGISTER lands after the stop began
    await delay(200)
    release()
    await stopping

    expect(await lists(b, 'in-flight', a.peerId)).to.be.false('still registered for the whole TTL')
  })

  // issue 12 item 3
  it('after a stop and a start the module finds the peers it knew again', async () => {
    const point = await createPoint()
    nodes.push(point)
    const b = await peer({ points: [point], pubsub: false, discovery: { dapp: 'again', quotas: { dapp: 0 }, ttl: 30 } })
    const a = await peer({ points: [point], pubsub: false, discovery: { dapp: 'again', quotas: { dapp: 1 }, ttl: 30 } })
    expect(await waitFor(() => a.getPeers().some(p => p.equals(b.peerId)), 5000)).to.be.true()

    const module = a.services.rendezvous
    await stop(module)
    const found: string[] = []
    module.addEventListener('peer', (evt) => found.push(evt.detail.id.toString()))
    await start(module)

    expect(await waitFor(() => found.includes(b.peerId.toString()), 5000)).to.be.true('b announced again')
    expect(await waitFor(() => module.status.dialer.quotas.find(q => q.ns === '/dapp/again')?.connected === 1, 5000)).to.be.true('b counts again')
  })

  // issue 12 item 3
  it('a one-off discover() does not hide the peers registered before it from the module\'s own queries', async () => {
    const point = await createPoint()
    nodes.push(point)
    const b = await peer({ points: [point], discovery: { quotas: { topic: 0 }, ttl: 30 } })
    b.services.pubsub.subscribe('later')
    expect(await waitFor(() => b.services.rendezvous.status.scheduler.registrations.some(r => r.registered), 5000)).to.be.true()

    // a looks once, by hand, before it has any use for the namespace; then it joins the topic
    const a = await peer({ points: [point], discovery: { ttl: 30 } })
    expect((await a.services.rendezvous.discover('floodsub:later')).map(r => r.peerId.toString())).to.deep.equal([b.peerId.toString()])
    a.services.pubsub.subscribe('later')

    expect(await waitFor(() => a.getPeers().some(p => p.equals(b.peerId)), 8000)).to.be.true('a found b through its own queries')
  })

  // issue 12 item 4
  it('a node that restarts reserves a relay slot again', async () => {
    const point = await createPoint()
    nodes.push(point)
    const relay = await peer({ points: [point], relayServer: true, pubsub: false, tcp: true, listen: ['/ip4/127.0.0.1/tcp/0'] })
    expect(await waitFor(() => relay.services.rendezvous.status.scheduler.registrations.some(r => r.registered), 5000)).to.be.true()
    const node = await peer({ points: [point], relayTransport: true, tcp: true, pubsub: false, discovery: { relay: 'always' } })
    const circuit = (): boolean => node.getMultiaddrs().some(ma => Circuit.matches(ma))
    expect(await waitFor(circuit, 10_000)).to.be.true('a reservation before the restart')

    await node.stop()
    await node.start()
    expect(await waitFor(circuit, 10_000)).to.be.true('a reservation after the restart')
    expect(node.services.rendezvous.status.relayListenersAdded).to.equal(1)
  })

  // issue 12 item 4
  it('a node that no longer needs a relay closes the relay listener it added', async () => {
    const point = await createPoint()
    nodes.push(point)
    const relay = await peer({ points: [point], relayServer: true, pubsub: false, tcp: true, listen: ['/ip4/127.0.0.1/tcp/0'] })
    expect(await waitFor(() => relay.services.rendezvous.status.scheduler.registrations.some(r => r.registered), 5000)).to.be.true()
    // no listen address, like a browser: in 'auto' it needs a relay
    const node = await peer({ points: [point], relayTransport: true, tcp: true, pubsub: false, listen: [], discovery: { relay: 'auto', onWarning: () => {} } })
    expect(await waitFor(() => node.getMultiaddrs().some(ma => Circuit.matches(ma)), 10_000)).to.be.true('a reservation')
    expect(node.services.rendezvous.status.relayListenersAdded).to.equal(1)

    // it gains a direct address on the points' private network: no relay needed any more
    await (node as any).components.transportManager.listen([multiaddr(memoryAddress('direct'))])
    expect(await waitFor(() => node.services.rendezvous.status.relayListenersAdded === 0, 5000)).to.be.true('the relay listener closed')
    expect(node.services.rendezvous.status.namespaces.some(s => s.ns === '/libp2p/relay')).to.be.false()
  })

  // issue 12 item 5
  it('a point that repeats a full page gets no tight loop of DISCOVERs', async () => {
    const listed = await Promise.all([1, 2, 3].map(async () => fakePeer()))
    const registrations = listed.map(p => ({ ns: '/dapp/loop', signedPeerRecord: p.record, ttl: 7200n }))
    const host = await createMemoryNode({}, 'repeating-point')
    nodes.push(host)
    let cookie = 0
    const server = await startFakeServer(host, (request) => {
      if (request.type === Message.MessageType.DISCOVER) {
        return ok.discover(registrations, new Uint8Array(8).fill(++cookie % 256))
      }

      return ok.register(7200n)
    })
    const a = await peer({ points: [host.getMultiaddrs()[0]], pubsub: false, discovery: { dapp: 'loop', discoverLimit: 3, quotas: { dapp: 0 } } })
    await delay(3000)

    const discovers = server.requests.filter(r => r.type === Message.MessageType.DISCOVER).length
    // the schedule allows a handful in 3 s (fast schedule: 100, 200, 400 ms… apart); the defect sent ~1,000
    expect(discovers).to.be.at.most(15)
    expect(a.services.rendezvous.status.scheduler.discoveries[0].queries).to.be.greaterThan(0)
  })

  // issue 12 item 14
  it('a point that drops idle connections gets no REGISTER storm on each reconnect', async () => {
    const store = new GatedStore()
    const point = await createPoint({ store })
    nodes.push(point)
    const a = await peer({ points: [point], pubsub: false, discovery: { dapp: 'idle', namespaces: [{ ns: 'idle-1', quota: 0 }, { ns: 'idle-2', quota: 0 }], quotas: { dapp: 0 }, ttl: 30 } })
    expect(await waitFor(() => a.services.rendezvous.status.scheduler.registrations.filter(r => r.registered).length === 3, 5000)).to.be.true()
    const registers = store.registers

    for (let i = 0; i < 3; i++) {
      await point.hangUp(a.peerId)
      // the keep-alive tag brings the connection back
      expect(await waitFor(() => a.getPeers().some(p => p.equals(point.peerId)), 5000)).to.be.true('reconnected')
      await delay(300)
    }

    expect(store.registers).to.equal(registers)
    const b = await peer({ points: [point], pubsub: false })
    expect(await lists(b, '/dapp/idle', a.peerId)).to.be.true()
  })

  // issue 12 item 20
  it('one visible warning on real nodes for each setup that cannot work, and none for a local one', async () => {
    const point = await createPoint()
    nodes.push(point)
    const said = new Map<string, DiscoveryWarning[]>()
    const hear = (name: string) => (warning: DiscoveryWarning) => { said.set(name, [...(said.get(name) ?? []), warning]) }

    await peer({ points: [], pubsub: false, discovery: { dapp: 'w', onWarning: hear('no points') } })
    // needs a relay, but the node has no circuitRelayTransport()
    await peer({ points: [point], pubsub: false, discovery: { relay: 'always', onWarning: hear('no relay transport') } })
    // no listen address and no way to get one: nothing it could register
    await peer({ points: [point], pubsub: false, listen: [], discovery: { dapp: 'w', onWarning: hear('no addresses') } })
    // a node on 127.0.0.1 whose point is on 127.0.0.1 too: peers reach it directly, no relay slot taken
    const localPoint = await createMemoryNode({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], services: { rendezvous: rendezvousServer(FAST_POINT) } } as any)
    nodes.push(localPoint)
    const local = await peer({ points: [localPoint.getMultiaddrs()[0]], pubsub: false, tcp: true, relayTransport: true, listen: ['/ip4/127.0.0.1/tcp/0'], discovery: { relay: 'auto', dapp: 'w', onWarning: hear('local') } })

    // the missing-address warning waits a moment for addresses that are on their way
    expect(await waitFor(() => said.has('no addresses'), 8000)).to.be.true('no-addresses warned')
    await delay(500)
    expect([...said].map(([name, warnings]) => `${name}: ${warnings.map(w => w.code).join(',')}`).sort()).to.deep.equal([
      'no addresses: no-addresses',
      'no points: no-points',
      'no relay transport: no-relay-transport'
    ])
    expect(local.services.rendezvous.status.namespaces.some(s => s.ns === '/libp2p/relay')).to.be.false('the local node wants no relay')
  })
})
