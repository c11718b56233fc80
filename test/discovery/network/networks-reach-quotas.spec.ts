/**
 * Whole networks in one process: a real rendezvous server and real libp2p nodes (gossipsub, circuit relay) on
 * `@libp2p/memory` (the relay on TCP 127.0.0.1), each running the discovery module with short intervals.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { start, stop } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { Circuit } from '@multiformats/multiaddr-matcher'
import { expect } from 'aegir/chai'
import delay from 'delay'
import { parseCli } from '../../../src/cli/parse-cli.ts'
import { runServer } from '../../../src/cli/run-server.ts'
import { TAG_NAMES } from '../../../src/discovery/index.ts'
import { MemoryRegistrationStore } from '../../../src/server/index.ts'
import { memoryAddress } from '../../fixtures/memory-node.ts'
import { connectedTopicPeers, createPeer, createPoint, stopAll, waitFor } from './fixtures.ts'
import type { PeerNode, PointNode } from './fixtures.ts'
import type { RegistrationStore } from '../../../src/server/store/registration-store.ts'

/** A memory store that counts the requests reaching it */
function countingStore (): { store: RegistrationStore, calls: { register: number, discover: number, unregister: number } } {
  const inner = new MemoryRegistrationStore()
  const calls = { register: 0, discover: 0, unregister: 0 }
  const store = new Proxy(inner, {
    get (target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)

      if (typeof value !== 'function') {
        return value
      }

      if (prop === 'register' || prop === 'discover' || prop === 'unregister') {
        return (...args: any[]) => {
          calls[prop]++
          return value.apply(target, args)
        }
      }

      return value.bind(target)
    }
  })

  return { store, calls }
}

describe('in-process rendezvous networks', function () {
  this.timeout(40_000)

  let points: PointNode[]
  let peers: PeerNode[]

  beforeEach(() => {
    points = []
    peers = []
  })

  afterEach(async () => {
    await stopAll(peers)
    await stopAll(points)
  })

  async function peer (options: Parameters<typeof createPeer>[0]): Promise<PeerNode> {
    const node = await createPeer(options)
    peers.push(node)
    return node
  }

  async function registered (node: PeerNode, ns: string): Promise<boolean> {
    return waitFor(() => node.services.rendezvous.status.scheduler.registrations.some(r => r.ns === ns && r.registered), 5000)
  }

  it('brings 30 nodes on one topic to 6 connected topic peers each', async function () {
    this.timeout(70_000)
    const point = await createPoint()
    points.push(point)
    const topic = 'thirty'

    const nodes = await Promise.all(Array.from({ length: 30 }, async () => peer({ points: [point] })))
    nodes.forEach(node => { node.services.pubsub.subscribe(topic) })

    const reached = await waitFor(() => nodes.every(node => connectedTopicPeers(node, topic) >= 6), 45_000, 200)
    const counts = nodes.map(node => connectedTopicPeers(node, topic))
    const short = nodes.filter(node => connectedTopicPeers(node, topic) < 6)
      .map(node => `${node.getPeers().length} connections, ${JSON.stringify(node.services.rendezvous.status.dialer)}`)
    expect(reached).to.be.true(`connected topic peers per node: ${counts.join(',')}; short of quota: ${short.join(' | ')}`)

    // the dialers dialed about what the quotas asked: one connection per node to the point and, between the nodes,
    // about one per pair of ring neighbours (6 per node, 7 at most on average), far from the 465 + 30 of a full mesh
    const edges = nodes.reduce((sum, node) => sum + node.getPeers().length, 0 + point.getPeers().length) / 2
    expect(edges).to.be.at.most(30 + 30 * 7 / 2, `connections per node: ${nodes.map(node => node.getPeers().length).join(',')}`)

    const quota = (): { quota: number, kept: number } | undefined => nodes[0].services.rendezvous.status.dialer.quotas.find(q => q.ns === `floodsub:${topic}`)
    expect(quota()?.quota).to.equal(6)
    expect(await waitFor(() => quota()?.kept === 6, 2000)).to.be.true('six topic peers are kept')
  })

  it('brings a node that subscribes later to its quota, and unregisters a topic the node leaves', async () => {
    const point = await createPoint()
    points.push(point)
    const topic = 'later'
    const ns = `floodsub:${topic}`

    const early = await Promise.all(Array.from({ length: 7 }, async () => peer({ points: [point], discovery: { ttl: 30 } })))
    early.forEach(node => { node.services.pubsub.subscribe(topic) })
    await Promise.all(early.map(async node => registered(node, ns)))

    const late = await peer({ points: [point], discovery: { ttl: 30 } })
    await delay(300)
    expect(connectedTopicPeers(late, topic)).to.equal(0)
    late.services.pubsub.subscribe(topic)

    expect(await waitFor(() => connectedTopicPeers(late, topic) >= 6, 10_000)).to.be.true()
    expect(await registered(late, ns)).to.be.true()

    const seesLate = async (): Promise<boolean> => (await early[0].services.rendezvous.discover(ns)).some(r => r.peerId.equals(late.peerId))
    expect(await seesLate()).to.be.true()

    const tagged = async (): Promise<number> => {
      let count = 0

      for (const node of early) {
        if ((await late.peerStore.get(node.peerId)).tags.has(TAG_NAMES.topic)) {
          count++
        }
      }

      return count
    }
    expect(await waitFor(async () => (await tagged()) === 6, 3000)).to.be.true('six topic peers are tagged')

    // with a 30 s TTL only an UNREGISTER removes it this fast
    late.services.pubsub.unsubscribe(topic)
    expect(await waitFor(async () => !(await seesLate()), 3000, 200)).to.be.true()
    expect(late.services.rendezvous.status.namespaces.some(s => s.ns === ns)).to.be.false()
    expect(await waitFor(async () => (await tagged()) === 0, 3000)).to.be.true('the tags go with the topic')
  })

  it('finds a relay, reserves a slot on it, and lets another node dial through the relay address it registered', async () => {
    const point = await createPoint()
    points.push(point)
    // circuit addresses built on memory addresses trip libp2p's address manager, so the relay listens on TCP
    const relay = await peer({ points: [point], relayServer: true, pubsub: false, tcp: true, listen: ['/ip4/127.0.0.1/tcp/0'] })
    expect(await registered(relay, '/libp2p/relay')).to.be.true('the relay registers under /libp2p/relay')

    const behindNat = await peer({ points: [point], relayTransport: true, tcp: true, pubsub: false, discovery: { relay: 'always', dapp: 'relayed' } })
    const relayService = (relay as any).services.relay

    expect(await waitFor(() => relayService.reservations.has(behindNat.peerId), 10_000)).to.be.true('a reservation is made')
    expect(await waitFor(() => behindNat.getMultiaddrs().some(ma => Circuit.matches(ma)), 5000)).to.be.true('a circuit address appears')
    // one relay known, so one /p2p-circuit slot (more would make the relay transport dial every peer discovered)
    expect(behindNat.services.rendezvous.status.relayListenersAdded).to.equal(1)

    // the dialer looks itself up by the dapp namespace only, so the connection is the one dialed below
    const dialer = await peer({ points: [point], relayTransport: true, tcp: true, pubsub: false })
    let circuitAddr: ReturnType<typeof multiaddr> | undefined

    expect(await waitFor(async () => {
      const found = await dialer.services.rendezvous.discover('/dapp/relayed')
      circuitAddr = found.find(r => r.peerId.equals(behindNat.peerId))?.multiaddrs.find(ma => Circuit.matches(ma))
      return circuitAddr != null
    }, 10_000, 200)).to.be.true('the circuit address is registered')

    const target = circuitAddr?.toString().includes('/p2p/' + behindNat.peerId.toString()) === true ? circuitAddr : circuitAddr?.encapsulate(`/p2p/${behindNat.peerId.toString()}`)
    const connection = await dialer.dial(target ?? multiaddr('/memory/none'))
    expect(connection.remotePeer.equals(behindNat.peerId)).to.be.true()
    expect(connection.limits).to.exist()
    expect(Circuit.matches(connection.remoteAddr)).to.be.true()
  })

  it('reserves a slot on a rendezvous point that is also a relay as soon as it learns that, not at the next state poll', async () => {
    // `rendezvous-server --relay` as deployed: the node is connected to it (as its point) before it learns, from the
    // /libp2p/relay page, that it is a relay; the listener that makes the reservation must not wait for the poll
    const dir = await mkdtemp(join(tmpdir(), 'rdv-relay-point-'))
    const request = parseCli(['--listen', '/ip4/127.0.0.1/tcp/0', '--identity', join(dir, 'id.key'), '--relay'], {}, path => readFileSync(path, 'utf8'))
    if (request.action !== 'run') {
      throw new Error('the command line did not parse to a run')
    }
    const server = await runServer(request.config, { stderr: () => {} })

    try {
      // no listen address, as in a browser: no address change reports anything to the module before the reservation
      const behindNat = await peer({ points: [server.multiaddrs[0]], listen: [], relayTransport: true, tcp: true, pubsub: false, discovery: { relay: 'always', pollInterval: 60_000 } })
      const relayService = server.rendezvous.node.services.relay

      expect(await waitFor(() => relayService?.reservations.has(behindNat.peerId) === true, 10_000)).to.be.true('a reservation is made well before the 60 s poll')
      expect(behindNat.services.rendezvous.status.relayListenersAdded).to.equal(1)
    } finally {
      await stopAll(peers.splice(0))
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('never takes a node past maxConnections, stopping short of it by the headroom', async () => {
    const point = await createPoint()
    points.push(point)
    const topic = 'crowded'

    // ten peers that register but never dial (quota 0), so every connection of the constrained node is its own
    const others = await Promise.all(Array.from({ length: 10 }, async () => peer({ points: [point], discovery: { quotas: { topic: 0 } } })))
    others.forEach(node => { node.services.pubsub.subscribe(topic) })
    await Promise.all(others.map(async node => registered(node, `floodsub:${topic}`)))

    const constrained = await peer({ points: [point], maxConnections: 6 })
    let most = 0
    let pruned = 0
    constrained.addEventListener('connection:open', () => { most = Math.max(most, constrained.getConnections().length) })
    constrained.addEventListener('connection:prune', () => { pruned++ })
    constrained.services.pubsub.subscribe(topic)

    const limit = constrained.services.rendezvous.status.dialer.connectionLimit
    expect(limit).to.equal(4)
    expect(await waitFor(() => constrained.getPeers().length >= limit, 8000)).to.be.true()
    await delay(1500)

    expect(most).to.be.at.most(limit)
    expect(constrained.getPeers().length).to.be.at.most(limit)
    expect(pruned).to.equal(0)
  })

  it('skips a dead rendezvous point while a second one serves', async () => {
    const dead = await createPoint()
    const deadAddr = dead.getMultiaddrs()[0]
    await dead.stop()
    const live = await createPoint()
    points.push(live)

    const a = await peer({ points: [deadAddr, live], pubsub: false, discovery: { dapp: 'two-points' } })
    const b = await peer({ points: [deadAddr, live], pubsub: false, discovery: { dapp: 'two-points' } })

    expect(await waitFor(() => a.getPeers().some(p => p.equals(b.peerId)), 8000)).to.be.true()

    const status = a.services.rendezvous.status.scheduler
    const deadState = status.points.find(p => p.id === dead.peerId.toString())
    expect(deadState?.failures).to.be.greaterThan(0)
    expect(deadState?.down).to.be.true()
    expect(status.points.find(p => p.id === live.peerId.toString())?.down).to.be.false()
    expect(status.registrations.some(r => r.point === live.peerId.toString() && r.registered)).to.be.true()
  })

  it('registers again at a point that comes back after a restart with an empty store', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const listen = [memoryAddress('restarting')]
    const first = await createPoint({}, { privateKey, listen })
    const ns = '/dapp/restart'
    const a = await peer({ points: [first], pubsub: false, discovery: { dapp: 'restart', ttl: 30 } })
    expect(await registered(a, ns)).to.be.true()
    await first.stop()

    // same identity, same address, nothing stored; with a 30 s TTL no refresh is due for a long while
    const second = await createPoint({}, { privateKey, listen })
    points.push(second)
    const b = await peer({ points: [second], pubsub: false })

    expect(await waitFor(async () => (await b.services.rendezvous.discover(ns)).some(r => r.peerId.equals(a.peerId)), 10_000, 250)).to.be.true()
  })

  it('registers again when the node\'s addresses change, and others see the new address', async () => {
    const point = await createPoint()
    points.push(point)
    const ns = '/dapp/moving'
    const a = await peer({ points: [point], pubsub: false, discovery: { dapp: 'moving', ttl: 30 } })
    const b = await peer({ points: [point], pubsub: false })
    expect(await registered(a, ns)).to.be.true()

    const extra = memoryAddress('moved')
    await (a as any).components.transportManager.listen([multiaddr(extra)])

    expect(await waitFor(async () => {
      const found = await b.services.rendezvous.discover(ns)
      return found.some(r => r.peerId.equals(a.peerId) && r.multiaddrs.some(ma => ma.toString().startsWith(extra)))
    }, 5000, 200)).to.be.true()
  })

  it('unregisters on stop and sends nothing more, leaving no timers behind', async () => {
    const { store, calls } = countingStore()
    const point = await createPoint({ store })
    points.push(point)
    const ns = '/dapp/stopping'
    const a = await peer({ points: [point], pubsub: false, discovery: { dapp: 'stopping', ttl: 30 } })
    const b = await peer({ points: [point], pubsub: false })
    expect(await registered(a, ns)).to.be.true()
    expect((await b.services.rendezvous.discover(ns)).some(r => r.peerId.equals(a.peerId))).to.be.true()

    // stop only the module: the node, and so its connection to the point, stays up
    const module = a.services.rendezvous
    await stop(module)
    expect(calls.unregister).to.be.greaterThan(0)
    expect((await b.services.rendezvous.discover(ns)).some(r => r.peerId.equals(a.peerId))).to.be.false()

    // b keeps querying; count a's requests by stopping b too
    await stop(b.services.rendezvous)
    const before = { ...calls }
    await delay(1500)
    expect(calls).to.deep.equal(before)
    expect((module as any).registrations.pendingTimers + (module as any).queries.pendingTimers).to.equal(0)
    expect((module as any).watcher.timers.size).to.equal(0)
    expect(module.status.dialer.queued + module.status.dialer.dialing).to.equal(0)

    // and it can start again
    await start(module)
    expect(await registered(a, ns)).to.be.true()
  })
})
