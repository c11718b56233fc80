/**
 * The module as a whole, wired from its units, on a node without a network: a fake client and points, stub
 * components and a fake clock.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { RendezvousDiscovery } from '../../../src/discovery/index.ts'
import { PAGING_HOLD } from '../../../src/discovery/peers/dial-holds.ts'
import { INBOUND_GRACE } from '../../../src/discovery/peers/quotas.ts'
import { FakeClient, FakePoint, deferred } from './stubs/fake-client.ts'
import { fakeRuntime } from './stubs/fake-clock.ts'
import { StubNode } from './stubs/node.ts'
import { peerIds } from './stubs/peers.ts'
import type { RendezvousDiscoveryInit } from '../../../src/discovery/options.ts'
import type { DiscoveryWarning } from '../../../src/discovery/warnings.ts'
import type { PeerId, PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const circuitTransport = { listenFilter: (addrs: Multiaddr[]) => addrs.filter(ma => ma.toString() === '/p2p-circuit') }
const PUBLIC_POINT_HOST = '/dns4/rdv.example.com/tcp/443/wss'

interface Setup {
  module: RendezvousDiscovery
  node: StubNode
  point: FakePoint
  client: FakeClient
  runtime: ReturnType<typeof fakeRuntime>
  warnings: DiscoveryWarning[]
  peers: PeerInfo[]
}

describe('discovery module', () => {
  let self: PeerId
  let pointId: PeerId
  let others: PeerId[]
  let running: RendezvousDiscovery[]

  before(async () => {
    [self, pointId, ...others] = await peerIds(12)
  })

  beforeEach(() => {
    running = []
  })

  afterEach(async () => {
    await Promise.all(running.map(async m => m.stop()))
  })

  function setup (init: RendezvousDiscoveryInit = {}, pointHost = '/memory/point'): Setup {
    const runtime = fakeRuntime()
    const node = new StubNode(self, runtime.clock)
    node.addresses = [multiaddr('/memory/self')]
    const point = new FakePoint(pointId, runtime.clock)
    const client = new FakeClient(self, [point], runtime.clock)
    const warnings: DiscoveryWarning[] = []
    const peers: PeerInfo[] = []
    const module = new RendezvousDiscovery(node as any, {
      points: [multiaddr(`${pointHost}/p2p/${pointId.toString()}`)],
      client,
      relay: 'never',
      onWarning: (w) => warnings.push(w),
      ...init
    }, runtime)
    module.addEventListener('peer', (evt) => peers.push(evt.detail))
    running.push(module)
    return { module, node, point, client, runtime, warnings, peers }
  }

  async function start ({ module, runtime }: Setup): Promise<void> {
    module.start()
    module.afterStart()
    await runtime.clock.tick(0)
  }

  describe('one visible warning for a setup that cannot work (issue 12, item 20)', () => {
    it('when no rendezvous point is configured', async () => {
      const s = setup({ points: [] })
      await start(s)
      expect(s.warnings.map(w => w.code)).to.deep.equal(['no-points'])
      expect(s.module.status.warnings).to.have.lengthOf(1)
    })

    it('when the node has namespaces to register but no address, once it stays so', async () => {
      const s = setup({ dapp: 'x' })
      s.node.addresses = []
      await start(s)
      expect(s.warnings).to.have.lengthOf(0)
      await s.runtime.clock.tick(3000)
      expect(s.warnings.map(w => w.code)).to.deep.equal(['no-addresses'])
      expect(s.warnings[0].message).to.include('/dapp/x')

      await s.runtime.clock.tick(60_000)
      expect(s.warnings).to.have.lengthOf(1, 'once')
    })

    it('not while a node that needs a relay waits for its reservation', async () => {
      const s = setup({ dapp: 'x', relay: 'always' })
      s.node.addresses = []
      s.node.transports = [circuitTransport]
      await start(s)
      await s.runtime.clock.tick(10_000)
      expect(s.warnings).to.have.lengthOf(0)
    })

    it('when a relay is needed and no transport can listen on /p2p-circuit', async () => {
      const s = setup({ relay: 'always' })
      await start(s)
      expect(s.warnings.map(w => w.code)).to.deep.equal(['no-relay-transport'])
      expect(s.warnings[0].message).to.include('circuitRelayTransport()')
    })

    it('when relay: \'auto\' takes a relay slot for a node whose direct addresses are private', async () => {
      const s = setup({ relay: 'auto' }, PUBLIC_POINT_HOST)
      s.node.addresses = [multiaddr('/ip4/192.168.1.2/tcp/4001')]
      s.node.transports = [circuitTransport]
      await start(s)
      expect(s.warnings.map(w => w.code)).to.deep.equal(['relay-for-private-node'])
      expect(s.module.namespaces.map(n => n.ns)).to.include('/libp2p/relay')
    })

    it('and none for a node on the private network of its points, which needs no relay', async () => {
      const s = setup({ relay: 'auto' }, '/ip4/127.0.0.1/tcp/4001')
      s.node.addresses = [multiaddr('/ip4/127.0.0.1/tcp/4002')]
      await start(s)
      expect(s.warnings).to.have.lengthOf(0)
      expect(s.module.namespaces.map(n => n.ns)).to.not.include('/libp2p/relay')
    })

    it('prints with console.warn by default', async () => {
      const s = setup({ points: [], onWarning: undefined })
      const printed: unknown[] = []
      /* eslint-disable no-console */
      const warn = console.warn
      console.warn = (...args: unknown[]) => { printed.push(args.join(' ')) }

      try {
        await start(s)
      } finally {
        console.warn = warn
      }
      /* eslint-enable no-console */

      expect(printed).to.have.lengthOf(1)
      expect(String(printed[0])).to.match(/^libp2p-rendezvous-discovery: no rendezvous points/)
    })
  })

  describe('cookies belong to the module (issue 12, item 3)', () => {
    it('finds and announces the peers it knew again after a stop and a start', async () => {
      const s = setup({ dapp: 'x', quotas: { dapp: 0 } })
      s.point.register(others[0], '/dapp/x', 7200)
      await start(s)
      expect(s.peers.map(p => p.id.toString())).to.deep.equal([others[0].toString()])

      await s.module.stop()
      await start(s)
      expect(s.peers.map(p => p.id.toString())).to.deep.equal([others[0], others[0]].map(String))
    })

    it('keeps querying from its own cookie after a one-off discover walked the namespace to its end', async () => {
      const s = setup({ dapp: 'x', quotas: { dapp: 1 } })
      await start(s)
      await s.module.discover('/dapp/x')

      // a peer registers after both: the module's next query must find it
      s.point.register(others[1], '/dapp/x', 7200)
      await s.runtime.clock.tick(1000)
      expect(s.peers.map(p => p.id.toString())).to.include(others[1].toString())
    })
  })

  it('dials nothing from the first page of a long list until the last page is in (the paging order)', async () => {
    const s = setup({ dapp: 'x', quotas: { dapp: 2 }, discoverLimit: 3 })

    for (const other of others.slice(0, 8)) {
      s.point.register(other, '/dapp/x', 7200)
    }

    const last = deferred()
    s.client.onDiscover = async (call) => {
      if (call.cookie != null) {
        await last.promise
      }
    }
    await start(s)
    await s.runtime.clock.tick(PAGING_HOLD - 100)
    expect(s.node.dialed).to.have.lengthOf(0, 'the first page is not the list')

    last.resolve()
    await s.runtime.clock.tick(INBOUND_GRACE * 2)
    expect(s.node.dialed.length).to.be.within(1, 2)
  })

  it('does not register again at a point that reconnects still holding its registrations (issue 12, item 14)', async () => {
    const s = setup({ dapp: 'x', namespaces: [{ ns: 'y' }, { ns: 'z' }], quotas: { dapp: 0, namespace: 0 } })
    await start(s)
    expect(s.client.count('register')).to.equal(3)

    s.node.connect(pointId)
    s.node.disconnect(pointId)
    s.node.connect(pointId)
    await s.runtime.clock.tick(0)
    expect(s.client.count('register')).to.equal(3)

    s.node.disconnect(pointId)
    s.point.clear()
    s.node.connect(pointId)
    await s.runtime.clock.tick(0)
    expect(s.client.count('register')).to.equal(6)
  })

  it('registers the new addresses soon after a listener starts, before libp2p\'s own address update', async () => {
    const s = setup({ dapp: 'x', quotas: { dapp: 0 } })
    await start(s)
    expect(s.client.count('register')).to.equal(1)

    s.node.addresses = [...s.node.addresses, multiaddr('/ip4/1.2.3.4/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo/p2p-circuit')]
    s.node.events.safeDispatchEvent('transport:listening', { detail: {} as any })
    await s.runtime.clock.tick(100)
    expect(s.client.count('register')).to.equal(2)
  })

  it('stops cleanly: nothing left on the clock, UNREGISTER sent, tags removed', async () => {
    const s = setup({ dapp: 'x', quotas: { dapp: 1 } })
    s.point.register(others[0], '/dapp/x', 7200)
    await start(s)
    await s.runtime.clock.tick(INBOUND_GRACE * 2)
    expect(s.node.connections).to.have.lengthOf(1)

    await s.module.stop()
    expect(s.client.count('unregister')).to.equal(1)
    expect(s.runtime.clock.pending).to.equal(0)
    expect(s.node.tagsOf(others[0])).to.deep.equal([])
    expect(s.point.registered('/dapp/x').map(String)).to.deep.equal([others[0].toString()])
  })
})
