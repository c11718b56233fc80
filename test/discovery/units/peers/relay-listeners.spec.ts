import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { RelayListeners } from '../../../../src/discovery/peers/relay-listeners.ts'
import { fakeRuntime, settle } from '../stubs/fake-clock.ts'
import { StubNode } from '../stubs/node.ts'
import { peerIds } from '../stubs/peers.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const circuitTransport = { listenFilter: (addrs: Multiaddr[]) => addrs.filter(ma => ma.toString() === '/p2p-circuit') }

describe('relay listeners (issue 12, item 4)', () => {
  let self: PeerId

  before(async () => {
    [self] = await peerIds(1)
  })

  function setup (): { listeners: RelayListeners, node: StubNode, unsupported: unknown[] } {
    const node = new StubNode(self, fakeRuntime().clock)
    node.transports = [circuitTransport]
    const unsupported: unknown[] = []
    const listeners = new RelayListeners(node)
    listeners.addEventListener('unsupported', (evt) => unsupported.push(evt.detail))
    listeners.start()
    return { listeners, node, unsupported }
  }

  it('listens on /p2p-circuit once per relay wanted, and not again for those it has', async () => {
    const { listeners, node } = setup()
    listeners.update(true, 1)
    await settle()
    listeners.update(true, 1)
    listeners.update(true, 2)
    await settle()
    expect(node.listeners).to.have.lengthOf(2)
    expect(listeners.added).to.equal(2)
  })

  it('listens again after a restart in which libp2p closed its listeners', async () => {
    const { listeners, node } = setup()
    listeners.update(true, 1)
    await settle()
    expect(listeners.added).to.equal(1)

    // the node stops: libp2p closes every listener; then it starts again
    await Promise.all(node.listeners.map(async l => l.close()))
    listeners.start()
    expect(listeners.added).to.equal(0)
    listeners.update(true, 1)
    await settle()
    expect(node.listeners.filter(l => !l.closed)).to.have.lengthOf(1)
    expect(listeners.added).to.equal(1)
  })

  it('keeps a listener whose relay went away while a relay is still needed, for the next relay', async () => {
    const { listeners, node } = setup()
    listeners.update(true, 1)
    await settle()
    listeners.update(true, 0)
    await settle()
    expect(node.listeners.filter(l => !l.closed)).to.have.lengthOf(1)
    expect(listeners.added).to.equal(1)
  })

  it('closes its listeners when no relay is needed any more, and on stop', async () => {
    const { listeners, node } = setup()
    listeners.update(true, 2)
    await settle()
    listeners.update(false, 0)
    await settle()
    expect(node.listeners.every(l => l.closed)).to.be.true()
    expect(listeners.added).to.equal(0)

    listeners.update(true, 1)
    await settle()
    await listeners.stop()
    expect(node.listeners.every(l => l.closed)).to.be.true()
  })

  it('leaves its listeners open when the node has /p2p-circuit listen addresses of its own (closing one cancels every reservation)', async () => {
    const { listeners, node } = setup()
    node.listenAddrs = [multiaddr('/p2p-circuit')]
    listeners.update(true, 2)
    await settle()
    expect(listeners.added).to.equal(1, 'one configured, one added')
    listeners.update(false, 0)
    await settle()
    expect(listeners.added).to.equal(1)
  })

  it('says once that no transport can listen on /p2p-circuit, and stops trying', async () => {
    const { listeners, node, unsupported } = setup()
    node.transports = []
    listeners.update(true, 1)
    await settle()
    listeners.update(true, 1)
    await settle()
    expect(unsupported).to.have.lengthOf(1)
  })
})
