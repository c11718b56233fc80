import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { resolveOptions } from '../../../../src/discovery/config.ts'
import { PointHealth } from '../../../../src/discovery/points/point-health.ts'
import { PointPlacement } from '../../../../src/discovery/points/point-placement.ts'
import { parsePoints } from '../../../../src/discovery/points/point.ts'
import { REFUSAL_BACKOFF, refusalDelay } from '../../../../src/discovery/points/refusals.ts'
import { Registrations } from '../../../../src/discovery/points/registrations.ts'
import { RendezvousError } from '../../../../src/errors.ts'
import { Message } from '../../../../src/pb/rendezvous.ts'
import { FakeClient, FakePoint, deferred } from '../stubs/fake-client.ts'
import { fakeRuntime } from '../stubs/fake-clock.ts'
import { peerIds } from '../stubs/peers.ts'
import type { RendezvousDiscoveryInit } from '../../../../src/discovery/options.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const ADDRESS = multiaddr('/memory/self')

describe('registrations', () => {
  let self: PeerId
  let pointIds: PeerId[]

  before(async () => {
    [self, ...pointIds] = await peerIds(3)
  })

  function setup (init: RendezvousDiscoveryInit = {}, pointCount = 1): { registrations: Registrations, client: FakeClient, fakePoints: FakePoint[], points: PointHealth, runtime: ReturnType<typeof fakeRuntime>, addresses: Multiaddr[] } {
    const runtime = fakeRuntime()
    const fakePoints = pointIds.slice(0, pointCount).map(id => new FakePoint(id, runtime.clock))
    const options = resolveOptions({ points: fakePoints.map(p => p.multiaddr), stopTimeout: 2000, ...init })
    const client = new FakeClient(self, fakePoints, runtime.clock)
    const log = defaultLogger().forComponent('test')
    const addresses: Multiaddr[] = [ADDRESS]
    const configured = parsePoints(options.points)
    const points = new PointHealth(configured, options, runtime, log)
    points.addEventListener('up', (evt) => { void registrations.pointBack(evt.detail) })
    const registrations = new Registrations({ peerId: self, client, addresses: () => addresses, logger: defaultLogger() }, points, new PointPlacement(configured, points, options), options, runtime)
    registrations.start()
    return { registrations, client, fakePoints, points, runtime, addresses }
  }

  it('registers each namespace at each point at once, and refreshes before the granted TTL runs out', async () => {
    const { registrations, client, fakePoints, runtime } = setup({ ttl: 100, refreshMargin: 10_000 }, 2)
    registrations.setNamespaces(['a', 'b'])
    await runtime.clock.tick(0)

    expect(client.count('register')).to.equal(4)
    expect(fakePoints.every(p => p.registered('a').length === 1 && p.registered('b').length === 1)).to.be.true()
    expect(registrations.status().every(r => r.registered && r.ttl === 100)).to.be.true()

    // refresh at 100 s - 10 s margin - up to 10 s of jitter: between 80 and 90 s
    await runtime.clock.tick(79_000)
    expect(client.count('register')).to.equal(4)
    await runtime.clock.tick(11_000)
    expect(client.count('register')).to.equal(8)
    await registrations.stop()
  })

  it('waits for an address without failing, and registers as soon as one appears', async () => {
    const { registrations, client, runtime, addresses, points } = setup()
    addresses.length = 0
    registrations.setNamespaces(['a'])
    await runtime.clock.tick(5000)

    expect(client.count('register')).to.equal(0)
    expect(points.list[0].failures).to.equal(0, 'no address is not the point failing')
    expect(registrations.status()[0].lastError).to.match(/no addresses/)

    addresses.push(ADDRESS)
    registrations.addressesChanged()
    await runtime.clock.tick(0)
    expect(client.count('register')).to.equal(1)
    await registrations.stop()
  })

  it('registers again once when the addresses change, and once more after a REGISTER in flight that carries the old ones', async () => {
    const { registrations, client, runtime, addresses } = setup()
    registrations.setNamespaces(['a'])
    await runtime.clock.tick(0)
    expect(client.count('register')).to.equal(1)

    registrations.addressesChanged()
    await runtime.clock.tick(0)
    expect(client.count('register')).to.equal(1, 'the same addresses: nothing to do')

    const held = deferred()
    client.onRegister = async () => held.promise
    addresses.push(multiaddr('/memory/second'))
    registrations.addressesChanged()
    await runtime.clock.tick(0)
    expect(client.count('register')).to.equal(2)

    // a third address while the second REGISTER flies: one more REGISTER, after it
    addresses.push(multiaddr('/memory/third'))
    registrations.addressesChanged()
    await runtime.clock.tick(0)
    expect(client.count('register')).to.equal(2)

    client.onRegister = undefined
    held.resolve()
    await runtime.clock.tick(0)
    expect(client.count('register')).to.equal(3)
    await runtime.clock.tick(1000)
    expect(client.count('register')).to.equal(3)
    await registrations.stop()
  })

  describe('UNREGISTER after the REGISTER in flight (issue 12, item 2)', () => {
    it('on stop, sends UNREGISTER only once the REGISTER in flight has settled, so the point ends up without the node', async () => {
      const { registrations, client, fakePoints, runtime } = setup()
      const held = deferred()
      client.onRegister = async () => held.promise
      registrations.setNamespaces(['a'])
      await runtime.clock.tick(0)
      expect(client.count('register')).to.equal(1)

      const stopped = registrations.stop()
      await runtime.clock.tick(100)
      expect(client.count('unregister')).to.equal(0, 'not while the REGISTER flies')

      held.resolve()
      await runtime.clock.tick(0)
      await stopped
      expect(client.count('unregister')).to.equal(1)
      expect(client.calls.map(c => c.type)).to.deep.equal(['register', 'unregister'])
      expect(fakePoints[0].registered('a')).to.have.lengthOf(0)
    })

    it('does the same for a namespace dropped while its REGISTER flies', async () => {
      const { registrations, client, fakePoints, runtime } = setup()
      const held = deferred()
      client.onRegister = async () => held.promise
      registrations.setNamespaces(['a'])
      await runtime.clock.tick(0)

      registrations.setNamespaces([])
      await runtime.clock.tick(100)
      expect(client.count('unregister')).to.equal(0)

      held.resolve()
      await runtime.clock.tick(0)
      expect(client.calls.map(c => c.type)).to.deep.equal(['register', 'unregister'])
      expect(fakePoints[0].registered('a')).to.have.lengthOf(0)
      await registrations.stop()
    })

    it('waits for a REGISTER that never answers at most stopTimeout, then aborts it and still unregisters', async () => {
      const { registrations, client, runtime } = setup({ stopTimeout: 2000 })
      let aborted = false
      client.onRegister = async (_call, options) => new Promise((resolve, reject) => {
        options.signal?.addEventListener('abort', () => { aborted = true; reject(new Error('aborted')) })
      })
      registrations.setNamespaces(['a'])
      await runtime.clock.tick(0)

      let done = false
      const stopped = registrations.stop().then(() => { done = true })
      await runtime.clock.tick(1999)
      expect(done).to.be.false()
      expect(client.count('unregister')).to.equal(0)

      await runtime.clock.tick(1)
      await stopped
      expect(aborted).to.be.true()
      expect(client.count('unregister')).to.equal(1)
      expect(runtime.clock.pending).to.equal(0, 'no timer left behind')
    })

    it('sends a new REGISTER of a namespace wanted again only after its UNREGISTER', async () => {
      const { registrations, client, fakePoints, runtime } = setup()
      registrations.setNamespaces(['a'])
      await runtime.clock.tick(0)

      const held = deferred()
      client.onUnregister = async () => held.promise
      registrations.setNamespaces([])
      registrations.setNamespaces(['a'])
      await runtime.clock.tick(100)
      expect(client.calls.map(c => c.type)).to.deep.equal(['register', 'unregister'])

      held.resolve()
      await runtime.clock.tick(0)
      expect(client.calls.map(c => c.type)).to.deep.equal(['register', 'unregister', 'register'])
      expect(fakePoints[0].registered('a')).to.have.lengthOf(1)
      await registrations.stop()
    })
  })

  describe('a point that comes back (issue 12, item 14)', () => {
    it('is not sent the registrations again when it still lists the node after a reconnect', async () => {
      const { registrations, client, points, runtime } = setup()
      registrations.setNamespaces(['a', 'b', 'c'])
      await runtime.clock.tick(0)
      expect(client.count('register')).to.equal(3)

      // the point pruned an idle connection; libp2p reconnects
      points.disconnected(pointIds[0])
      points.connected(pointIds[0])
      await runtime.clock.tick(0)

      expect(client.count('discover')).to.equal(1, 'one DISCOVER to check')
      expect(client.count('register')).to.equal(3, 'no REGISTER storm')
      await registrations.stop()
    })

    it('is sent every registration again when it lost them (a restart with an empty store)', async () => {
      const { registrations, client, fakePoints, points, runtime } = setup()
      registrations.setNamespaces(['a', 'b', 'c'])
      await runtime.clock.tick(0)

      points.disconnected(pointIds[0])
      fakePoints[0].clear()
      points.connected(pointIds[0])
      await runtime.clock.tick(0)

      expect(client.count('register')).to.equal(6)
      expect(['a', 'b', 'c'].every(ns => fakePoints[0].registered(ns).length === 1)).to.be.true()
      await registrations.stop()
    })

    it('finds the node on a later page of a long namespace', async () => {
      const { registrations, client, fakePoints, points, runtime } = setup({ discoverLimit: 2 })
      const others = await peerIds(8)

      for (const other of others.slice(3)) {
        fakePoints[0].register(other, 'a', 7200)
      }

      registrations.setNamespaces(['a'])
      await runtime.clock.tick(0)
      points.disconnected(pointIds[0])
      points.connected(pointIds[0])
      await runtime.clock.tick(0)

      expect(client.count('discover')).to.equal(3)
      expect(client.count('register')).to.equal(1)
      await registrations.stop()
    })
  })

  it('backs a registration off alone when the point refuses it, and the whole point when it fails', async () => {
    const { registrations, client, points, runtime } = setup({ pointBackoff: { initial: 1000, max: 1000 } })
    client.onRegister = () => { throw new RendezvousError(Message.ResponseStatus.E_NOT_AUTHORIZED, 'no') }
    registrations.setNamespaces(['a'])
    await runtime.clock.tick(0)

    expect(points.list[0].down).to.be.false('the point answered')
    expect(points.list[0].backoffUntil).to.equal(0)
    expect(registrations.status()[0].failures).to.equal(1)

    client.onRegister = () => { throw new Error('connection refused') }
    await runtime.clock.tick(1000)
    expect(points.list[0].down).to.be.true()
    expect(points.list[0].backoffUntil).to.be.greaterThan(runtime.clock.now())

    client.onRegister = undefined
    await runtime.clock.tick(1000)
    expect(registrations.status()[0].registered).to.be.true()
    expect(points.list[0].down).to.be.false()
    await registrations.stop()
  })

  describe('a point that caps the registrations of a peer (issue 20)', () => {
    /** A point that holds at most `cap` namespaces of the node and refuses the rest with E_UNAVAILABLE, as rust-libp2p does */
    function capped (client: FakeClient, cap: number): Set<string> {
      const held = new Set<string>()
      client.onRegister = (call) => {
        if (!held.has(call.ns ?? '') && held.size >= cap) {
          throw new RendezvousError(Message.ResponseStatus.E_UNAVAILABLE, 'too many registrations')
        }

        held.add(call.ns ?? '')
      }
      client.onUnregister = (call) => { held.delete(call.ns ?? '') }
      return held
    }

    /** When the REGISTERs of the namespaces the point does not hold went, from the first request on */
    const refusedAt = (client: FakeClient, held: Set<string>): number[] => client.calls.filter(c => c.type === 'register' && !held.has(c.ns ?? '')).map(c => c.at - client.calls[0].at)

    it('makes each refused namespace wait longer with every refusal in a row there, and never backs the point off', async () => {
      const { registrations, client, points, runtime } = setup()
      const held = capped(client, 2)
      registrations.setNamespaces(['a', 'b', 'c', 'd', 'e', 'f'])
      await runtime.clock.tick(0)
      expect(held.size).to.equal(2)

      await runtime.clock.tick(120_000)
      const refused = refusedAt(client, held)
      // 4 refused at once, then each again after 1, 1-2, 2-4 and 4-8 s (refusals 1 to 4 in a row), then after 8 s or
      // more; with the backoff of each namespace alone they would have asked about 7 times each in 2 minutes
      expect(refused.length).to.be.within(8, 13)
      expect(refused.filter(at => at >= 60_000).length).to.be.at.most(3, 'refused REGISTERs in the second minute')
      expect(points.list[0]).to.include({ down: false, backoffUntil: 0, failures: 0 })
      expect(registrations.status().filter(r => r.registered).map(r => r.ns)).to.have.lengthOf(2)
      await registrations.stop()
    })

    it('tries the refused namespaces again within about a second once a slot may have freed there', async () => {
      const { registrations, client, runtime } = setup()
      const held = capped(client, 2)
      registrations.setNamespaces(['a', 'b', 'c', 'd'])
      await runtime.clock.tick(30_000)
      const [gone] = [...held]

      // the node leaves one of the namespaces it holds there: its UNREGISTER frees a slot
      registrations.setNamespaces(['a', 'b', 'c', 'd'].filter(ns => ns !== gone))
      await runtime.clock.tick(REFUSAL_BACKOFF.initial * 1.5 + 10)
      expect(held.size).to.equal(2, 'a refused namespace took the free slot')
      expect(registrations.status().filter(r => r.registered)).to.have.lengthOf(2)
      await registrations.stop()
    })

    it('draws a refused namespace\'s delay in the upper half of a ceiling that doubles per refusal, within bounds', () => {
      expect(refusalDelay(1, () => 0)).to.equal(REFUSAL_BACKOFF.initial)
      expect(refusalDelay(4, () => 0)).to.equal(REFUSAL_BACKOFF.initial * 4)
      expect(refusalDelay(4, () => 1)).to.equal(REFUSAL_BACKOFF.initial * 8)
      expect(refusalDelay(1000, () => 1)).to.equal(REFUSAL_BACKOFF.max)
      expect(refusalDelay(1000, () => 0)).to.equal(REFUSAL_BACKOFF.max / 2)
    })
  })
})
