import { TypedEventEmitter } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { resolveOptions } from '../../../../src/discovery/config.ts'
import { StateWatcher } from '../../../../src/discovery/state/watcher.ts'
import { fakeRuntime, settle } from '../stubs/fake-clock.ts'
import { StubNode } from '../stubs/node.ts'
import { peerIds } from '../stubs/peers.ts'
import type { NodeState } from '../../../../src/discovery/options.ts'
import type { PeerId } from '@libp2p/interface'

/** What gossipsub looks like to the watcher: topics, subscribers, and events for remote peers only */
class StubPubSub extends TypedEventEmitter<any> {
  readonly topics = new Set<string>()

  subscribe (topic: string): void {
    this.topics.add(topic)
  }

  unsubscribe (topic: string): void {
    this.topics.delete(topic)
  }

  getTopics (): string[] {
    return [...this.topics]
  }

  getSubscribers (): PeerId[] {
    return []
  }
}

describe('state watcher', () => {
  let self: PeerId

  before(async () => {
    [self] = await peerIds(1)
  })

  function setup (): { watcher: StateWatcher, node: StubNode, pubsub: StubPubSub, states: NodeState[], remote: number[], runtime: ReturnType<typeof fakeRuntime> } {
    const runtime = fakeRuntime()
    const node = new StubNode(self, runtime.clock)
    node.addresses = [multiaddr('/memory/a')]
    const pubsub = new StubPubSub()
    const states: NodeState[] = []
    const remote: number[] = []
    const watcher = new StateWatcher(node, resolveOptions({ relay: 'never', pollInterval: 5000 }), runtime, () => pubsub)
    watcher.addEventListener('state', (evt) => states.push(evt.detail))
    watcher.addEventListener('subscription-change', () => remote.push(runtime.clock.now()))
    return { watcher, node, pubsub, states, remote, runtime }
  }

  it('reads the state at start, and again at once when the node subscribes or unsubscribes locally', async () => {
    const { watcher, pubsub, states } = setup()
    watcher.start()
    expect(states).to.have.lengthOf(1)
    expect(states[0].topics).to.deep.equal([])

    pubsub.subscribe('a')
    pubsub.subscribe('b')
    await settle()
    expect(states).to.have.lengthOf(2, 'both subscriptions in one read')
    expect(states[1].topics).to.deep.equal(['a', 'b'])

    pubsub.unsubscribe('a')
    await settle()
    expect(states[2].topics).to.deep.equal(['b'])
    watcher.stop()
  })

  it('reads again when a listener starts or closes, and when the node\'s peer record changes', async () => {
    const { watcher, node, states } = setup()
    watcher.start()

    node.addresses = [multiaddr('/memory/a'), multiaddr('/memory/b')]
    node.events.safeDispatchEvent('transport:listening', { detail: {} as any })
    await settle()
    expect(states[states.length - 1].addresses).to.have.lengthOf(2)

    for (const event of ['transport:close', 'self:peer:update'] as const) {
      const before = states.length
      node.events.safeDispatchEvent(event, { detail: {} as any })
      await settle()
      expect(states.length).to.equal(before + 1, event)
    }

    watcher.stop()
  })

  it('passes on remote subscription changes, and polls slowly as a fallback', async () => {
    const { watcher, pubsub, states, remote, runtime } = setup()
    watcher.start()
    pubsub.safeDispatchEvent('subscription-change', { detail: {} })
    expect(remote).to.have.lengthOf(1)

    await runtime.clock.tick(5000)
    expect(states).to.have.lengthOf(2)
    watcher.stop()
  })

  it('puts the pubsub methods back and hears nothing more once stopped', async () => {
    const { watcher, node, pubsub, states, remote, runtime } = setup()
    const subscribe = pubsub.subscribe
    watcher.start()
    expect(Object.prototype.hasOwnProperty.call(pubsub, 'subscribe')).to.be.true()
    watcher.stop()

    expect(Object.prototype.hasOwnProperty.call(pubsub, 'subscribe')).to.be.false()
    expect(pubsub.subscribe).to.equal(subscribe)
    pubsub.subscribe('a')
    pubsub.safeDispatchEvent('subscription-change', { detail: {} })
    node.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    await runtime.clock.tick(60_000)
    expect(states).to.have.lengthOf(1)
    expect(remote).to.have.lengthOf(0)
    expect(runtime.clock.pending).to.equal(0)
  })
})
