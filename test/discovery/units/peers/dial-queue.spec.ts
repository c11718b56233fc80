import { expect } from 'aegir/chai'
import { resolveOptions } from '../../../../src/discovery/config.ts'
import { DIAL_QUEUE_METRIC, DialQueue } from '../../../../src/discovery/peers/dial-queue.ts'
import { deferred } from '../stubs/fake-client.ts'
import { fakeRuntime } from '../stubs/fake-clock.ts'
import { StubNode } from '../stubs/node.ts'
import { peerIds } from '../stubs/peers.ts'
import type { RendezvousDiscoveryInit } from '../../../../src/discovery/options.ts'
import type { DialJob, DialOutcome } from '../../../../src/discovery/peers/dial-queue.ts'
import type { PeerId } from '@libp2p/interface'

describe('dial queue', () => {
  let self: PeerId
  let others: PeerId[]

  before(async () => {
    [self, ...others] = await peerIds(12)
  })

  function setup (init: RendezvousDiscoveryInit = {}): { queue: DialQueue, node: StubNode, runtime: ReturnType<typeof fakeRuntime>, done: Array<[DialJob, DialOutcome]> } {
    const runtime = fakeRuntime()
    const node = new StubNode(self, runtime.clock)
    const done: Array<[DialJob, DialOutcome]> = []
    const queue = new DialQueue(node, resolveOptions(init), runtime, { onDone: (job, outcome) => done.push([job, outcome]) })
    queue.start()
    return { queue, node, runtime, done }
  }

  const job = (peerId: PeerId, priority = 1): DialJob => ({ peerId, ns: 'ns', kind: 'topic', priority })

  it('runs at most maxParallelDials at once, the highest priority first', async () => {
    const { queue, node, runtime } = setup({ maxParallelDials: 2 })
    const held = deferred()
    node.dial = async () => held.promise

    queue.add(job(others[0], 1))
    queue.add(job(others[1], 1))
    queue.add(job(others[2], 1))
    queue.add(job(others[3], 3))
    await runtime.clock.tick(0)
    expect(node.dialed.map(String)).to.deep.equal([others[0], others[1]].map(String))
    expect(queue.queued).to.equal(2)

    node.dial = () => {}
    held.resolve()
    await runtime.clock.tick(0)
    expect(node.dialed.map(String)).to.deep.equal([others[0], others[1], others[3], others[2]].map(String), 'the relay-priority dial went first')
    queue.stop()
  })

  it('refuses a peer already queued and a job past maxQueuedDials', async () => {
    const { queue, node, runtime } = setup({ maxParallelDials: 1, maxQueuedDials: 2 })
    node.dial = async () => deferred().promise
    expect(queue.add(job(others[0]))).to.be.true()
    expect(queue.add(job(others[0]))).to.be.false()
    expect(queue.add(job(others[1]))).to.be.true()
    expect(queue.add(job(others[2]))).to.be.true()
    expect(queue.add(job(others[3]))).to.be.false()
    await runtime.clock.tick(0)
    queue.stop()
  })

  it('gives up on a dial after dialTimeout and backs the peer off', async () => {
    const { queue, node, runtime, done } = setup({ dialTimeout: 3000, peerBackoff: { initial: 5000, max: 5000 } })
    node.dial = async (_peer, options) => new Promise((resolve, reject) => {
      options.signal?.addEventListener('abort', () => { reject(new Error('aborted')) })
    })
    queue.add(job(others[0]))
    await runtime.clock.tick(2999)
    expect(done).to.have.lengthOf(0)
    await runtime.clock.tick(1)
    expect(done.map(([, outcome]) => outcome)).to.deep.equal(['failure'])
    expect(queue.backoff.isBackedOff(others[0], runtime.clock.now())).to.be.true()
    expect(queue.backoff.isBackedOff(others[0], runtime.clock.now() + 5000)).to.be.false()
    queue.stop()
  })

  it('skips a dial that would take the node past its connection limit, or to a peer connected meanwhile', async () => {
    const { queue, node, runtime, done } = setup({ connectionHeadroom: 0 })
    node.maxConnections = 1
    node.connect(others[5])
    expect(queue.budget(node.connections.length)).to.equal(0)
    queue.add(job(others[0]))
    await runtime.clock.tick(0)
    queue.add(job(others[5]))
    await runtime.clock.tick(0)
    expect(done.map(([, outcome]) => outcome)).to.deep.equal(['skipped', 'skipped'])
    expect(node.dialed).to.have.lengthOf(0)
    queue.stop()
  })

  it('reports its dials queued and running on components.metrics', async () => {
    const runtime = fakeRuntime()
    const node = new StubNode(self, runtime.clock)
    const groups = new Map<string, () => unknown>()
    const metrics = { registerMetricGroup: (name: string, options: { calculate(): unknown }) => { groups.set(name, options.calculate) } }
    const queue = new DialQueue({ connectionManager: node.connectionManager, logger: node.logger, metrics: metrics as any }, resolveOptions({ maxParallelDials: 1 }), runtime)
    queue.start()
    node.dial = async () => deferred().promise
    queue.add(job(others[0]))
    queue.add(job(others[1]))
    expect(groups.get(DIAL_QUEUE_METRIC)?.()).to.deep.equal({ size: 2, running: 1, queued: 1 })
    queue.stop()
    await runtime.clock.tick(0)
    expect(groups.get(DIAL_QUEUE_METRIC)?.()).to.deep.equal({ size: 0, running: 0, queued: 0 })
  })

  it('drops what waits on stop and reports nothing after', async () => {
    const { queue, node, runtime, done } = setup({ maxParallelDials: 1 })
    const held = deferred()
    node.dial = async () => held.promise
    queue.add(job(others[0]))
    queue.add(job(others[1]))
    await runtime.clock.tick(0)
    queue.stop()
    held.resolve()
    await runtime.clock.tick(0)
    expect(done).to.have.lengthOf(0)
    expect(node.dialed).to.have.lengthOf(1)
  })
})
